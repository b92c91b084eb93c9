"""Core value types shared by spaces, benchmarks, strategies and the runner.

The split between :class:`Evaluation` (what a benchmark answers, including the
test value) and :class:`Observation` (what a strategy is told) is the structural
guarantee that strategies never see test metrics: ``Observation`` has no field
that could carry one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: A canonical, hashable architecture: a tuple of small integers whose meaning
#: the search space defines.
Arch = tuple[int, ...]


class Evaluation(NamedTuple):
    """A benchmark's answer to one query.

    ``value`` is the metric a search may see (validation where the table has a
    split), ``test_value`` the metric that is reported and never shown to the
    strategy. ``cost`` is the price of this evaluation in the benchmark's cost
    unit (see ``Benchmark.cost_label``). ``extras`` holds further metrics.
    """

    value: float
    test_value: float
    cost: float
    extras: dict[str, Any] | None = None


class Observation(NamedTuple):
    """What a strategy is told after an evaluation, and nothing more.

    ``score`` is oriented so that higher is always better: it is the benchmark's
    value for maximised objectives and its negation for minimised ones.
    On a multi-objective benchmark ``scores`` holds one such oriented score per
    objective (searched values, in the benchmark's objective order) and
    ``score`` is the first of them; on a single-objective one it is ``None``.
    """

    arch: Arch
    fidelity: int | None
    score: float
    cost: float
    scores: tuple[float, ...] | None = None
