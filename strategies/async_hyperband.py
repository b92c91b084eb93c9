"""Asynchronous Hyperband: ASHA brackets drawn with Hyperband's weights.

Li et al., MLSys 2020 (section 3.3); Klein, Tiao, Lienart, Archambeau &
Seeger, "Model-based Asynchronous Hyperparameter and Neural Architecture
Search", 2020. Bracket ``b`` starts its architectures at rung ``b``; each time
a worker is free one bracket is drawn in proportion to the number of
architectures synchronous Hyperband starts in it, and that bracket promotes
(ASHA's rule, on its own arrived results) or starts a new uniform sample.
Hedges, as Hyperband does, against low fidelities that rank badly, without
waiting for rungs. Needs a multi-fidelity benchmark.

Hyperparameters (defaults): ``eta`` 3, ``max_rungs`` 5, ``brackets`` 0 (one
per rung).
"""

from __future__ import annotations

from tabnas.strategies._async_brackets import (
    ASYNC_HYPERPARAMETERS,
    BRACKETS_HYPERPARAMETER,
    AsyncBracketStrategy,
)
from tabnas.strategy import register


@register("async-hyperband")
class AsyncHyperband(AsyncBracketStrategy):
    hyperparameters = {**ASYNC_HYPERPARAMETERS, **BRACKETS_HYPERPARAMETER}

    brackets: int
