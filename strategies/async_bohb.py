"""Asynchronous BOHB: asynchronous Hyperband with new architectures from BOHB's TPE model.

Falkner, Klein & Hutter (ICML 2018) for the model; Li et al. (MLSys 2020) for
the asynchronous promotions; Syne Tune's ``BOHB`` scheduler is the same
combination. Brackets and promotions as in ``async-hyperband`` (with
``brackets=1``: ASHA); each new architecture is, with probability
``random_fraction``, a uniform sample, otherwise a TPE proposal fitted on the
highest fidelity with at least ``min_points`` results that have arrived.
Needs a multi-fidelity benchmark and the space's categorical view.

Hyperparameters (defaults): ``eta`` 3, ``max_rungs`` 5, ``brackets`` 0 (one
per rung), ``random_fraction`` 1/3, ``min_points`` 0 (= positions + 1),
``gamma`` 0.15, ``candidates`` 24, ``prior_weight`` 1.0.
"""

from __future__ import annotations

from tabnas.strategies._async_brackets import (
    ASYNC_HYPERPARAMETERS,
    BRACKETS_HYPERPARAMETER,
    AsyncBracketStrategy,
)
from tabnas.strategies.bohb import TPE_PROPOSAL_HYPERPARAMETERS, TPEProposals
from tabnas.strategy import register


@register("async-bohb")
class AsyncBOHB(TPEProposals, AsyncBracketStrategy):
    hyperparameters = {**ASYNC_HYPERPARAMETERS, **BRACKETS_HYPERPARAMETER,
                       **TPE_PROPOSAL_HYPERPARAMETERS}

    brackets: int
