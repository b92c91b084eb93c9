"""BOHB: Hyperband with new architectures from a TPE model.

Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter
Optimization at Scale", ICML 2018.

Brackets as in Hyperband; each new architecture is, with probability
``random_fraction``, a uniform sample, otherwise a TPE proposal (categorical
Parzen estimators, ``strategies/tpe.py``) fitted on the highest fidelity that
has at least ``min_points`` observations (read from the run's history, in the
order the results arrived). Needs a multi-fidelity benchmark and
the space's categorical view. :class:`TPEProposals` is the model part, shared
with ``async-bohb``.

Hyperparameters (defaults): ``eta`` 3, ``max_rungs`` 5, ``random_fraction``
1/3, ``min_points`` 0 (= positions + 1, as in the paper), ``gamma`` 0.15,
``candidates`` 24, ``prior_weight`` 1.0.
"""

from __future__ import annotations

from collections.abc import Container

import numpy as np

from tabnas.strategies._brackets import BRACKET_HYPERPARAMETERS, BracketStrategy
from tabnas.strategies._sampling import unseen_sample
from tabnas.strategies.tpe import TPE_MODEL_HYPERPARAMETERS, tpe_propose
from tabnas.strategy import Hyperparameter, register
from tabnas.types import Arch

#: The model's hyperparameters, as BOHB declares them.
TPE_PROPOSAL_HYPERPARAMETERS = {
    "random_fraction": Hyperparameter(1 / 3, "share of uniform samples", low=0.0, high=1.0),
    "min_points": Hyperparameter(0, "observations a fidelity needs to be modelled "
                                    "(0: positions + 1)", low=0),
    **TPE_MODEL_HYPERPARAMETERS,
}


class TPEProposals:
    """BOHB's ``new_arch``: a TPE proposal on the highest fidelity with enough results.

    Mixed into a bracket strategy (synchronous or asynchronous) ahead of it.
    """

    requires = frozenset({"fidelities", "cardinalities"})

    random_fraction: float
    min_points: int
    gamma: float
    candidates: int
    prior_weight: float

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._choices = tuple(space.cardinalities())

    def new_arch(self, seen: Container[Arch]) -> Arch:
        need = self.min_points or len(self._choices) + 1
        if self.rng.random() >= self.random_fraction:
            for fid in sorted(self.fidelities, reverse=True):
                finished = self.history.at_fidelity(fid)
                if len(finished) >= need:
                    return tpe_propose(self.space, np.array([o.arch for _, o in finished]),
                                       np.array([o.score for _, o in finished]),
                                       self.rng, gamma=self.gamma, candidates=self.candidates,
                                       prior_weight=self.prior_weight, seen=seen)
        return unseen_sample(self.space, self.rng, seen)


@register("bohb")
class BOHB(TPEProposals, BracketStrategy):
    hyperparameters = {**BRACKET_HYPERPARAMETERS, **TPE_PROPOSAL_HYPERPARAMETERS}

    def bracket_size(self, count: int) -> int:
        return self.s_max - count % (self.s_max + 1)
