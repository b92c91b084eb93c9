"""Pareto fronts and the indicators that score them, computed with ``moocore``.

Every point here is in the normalised minimisation space of
:mod:`tabnas.objectives` (each objective min-max scaled over the table, 0 =
best). ``moocore`` does the geometry (non-dominated filtering, exact
hypervolume, IGD+, empirical attainment functions): it was measured faster
than ``pymoo`` on these operations (``scripts/bench_pareto.py``, BENCHMARKS.md).

A run's incumbent is its current non-dominated set, chosen on the values the
search saw and scored on the table's seed-averaged truths: the reported
(test) truths for ``hv_regret_test``, IGD+ and the hypervolume, the searched
ones for ``hv_regret_value``, mirroring the single-objective regrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import moocore
import numpy as np

if TYPE_CHECKING:
    from tabnas.objectives import MultiObjectiveBenchmark


def nondominated(points: np.ndarray) -> np.ndarray:
    """Mask of the rows no other row dominates (minimisation; ties all kept; NaN rows never)."""
    points = np.asarray(points, float)
    ok = ~np.isnan(points).any(axis=1)
    mask = np.zeros(len(points), bool)
    if ok.any():
        mask[ok] = moocore.is_nondominated(points[ok], keep_weakly=True)
    return mask


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Exact hypervolume dominated by ``points`` and bounded by ``reference`` (0 for none)."""
    points = np.asarray(points, float)
    if len(points) == 0:
        return 0.0
    return float(moocore.hypervolume(points, ref=reference))


def igd_plus(points: np.ndarray, front: np.ndarray) -> float:
    """IGD+ of ``points`` to the true ``front`` (0 when the front is reached)."""
    if len(points) == 0:
        return float("nan")
    return float(moocore.igd_plus(np.asarray(points, float), ref=front))


@dataclass(frozen=True)
class TrueFront:
    """The exact Pareto front of a table side: its cells, points and hypervolume."""

    cells: np.ndarray  # every Pareto-optimal cell (cells tied on a front point included)
    points: np.ndarray  # their distinct points, sorted by the first objective
    hypervolume: float

    @classmethod
    def of(cls, points: np.ndarray, reference: np.ndarray) -> TrueFront:
        cells = np.flatnonzero(nondominated(points))
        front = np.unique(points[cells], axis=0)
        return cls(cells, front, hypervolume(front, reference))


def attainment(fronts: list[np.ndarray], percentiles: tuple[float, ...] = (25, 50, 75)
               ) -> dict[float, np.ndarray]:
    """Empirical attainment surfaces of runs' final fronts (minimisation space).

    The ``p``% surface bounds the region attained by at least ``p``% of the
    runs; 50 is the median attainment surface. Returns the surface's points per
    percentile, sorted by the first objective.
    """
    fronts = [np.asarray(f, float) for f in fronts if len(f)]
    if not fronts:
        return {p: np.empty((0, 0)) for p in percentiles}
    pts = np.vstack(fronts)
    sets = np.repeat(np.arange(1, len(fronts) + 1), [len(f) for f in fronts])
    out = moocore.eaf(pts, sets, percentiles=list(percentiles))
    surfaces = {}
    for p in percentiles:
        rows = out[np.isclose(out[:, -1], p)][:, :-1]
        surfaces[p] = rows[np.argsort(rows[:, 0], kind="stable")]
    return surfaces


class FrontTracker:
    """The incumbent non-dominated set of one run, updated one evaluation at a time.

    ``add`` keeps the set non-dominated on the searched values; a point equal
    to one already in the set does not enter it (the earlier one stays, as a
    single-objective incumbent keeps the earlier of two ties). The indicators
    are recomputed only when the set changes.
    """

    def __init__(self, benchmark: MultiObjectiveBenchmark) -> None:
        self.benchmark = benchmark
        self._searched_truth = benchmark.normalise(benchmark.searched_truth)
        self._reported = benchmark.normalise(benchmark.reported_truth)
        self._ref = benchmark.reference_normalised
        self._front_value = benchmark.fronts["value"]
        self._front_test = benchmark.fronts["test"]
        self._pareto = set(self._front_test.cells.tolist())
        self._orientation = benchmark.orientation
        self.found: set[int] = set()
        self.cells: list[int] = []
        self._points: list[tuple[float, ...]] = []  # normalised searched values of ``cells``
        self._metrics = {"hypervolume": 0.0,
                         "hv_regret_value": self._front_value.hypervolume,
                         "hv_regret_test": self._front_test.hypervolume,
                         "igd_plus": float("nan")}

    def add(self, cell: int, searched) -> bool:
        """Offer one evaluation (raw searched values); True if the set changed.

        The set is a few points, so the dominance checks are plain Python: on
        vectors this short numpy's per-call overhead is most of the cost.
        """
        if cell in self._pareto:
            self.found.add(cell)
        p = tuple((v * s - lo) / sp for (s, lo, sp), v in
                  zip(self._orientation, searched, strict=True))
        if any(x != x for x in p):
            return False  # a failed training is never an incumbent
        for q in self._points:
            if all(a <= b for a, b in zip(q, p, strict=True)):
                return False  # dominated by, or equal to, a member
        keep = [not all(b <= a for a, b in zip(q, p, strict=True)) for q in self._points]
        self._points = [q for q, k in zip(self._points, keep, strict=True) if k] + [p]
        self.cells = [c for c, k in zip(self.cells, keep, strict=True) if k] + [cell]
        self._update()
        return True

    def _update(self) -> None:
        rep = self._reported[self.cells]
        hv_t = hypervolume(rep, self._ref)
        hv_v = hypervolume(self._searched_truth[self.cells], self._ref)
        self._metrics = {"hypervolume": hv_t,
                         "hv_regret_value": self._front_value.hypervolume - hv_v,
                         "hv_regret_test": self._front_test.hypervolume - hv_t,
                         "igd_plus": igd_plus(rep, self._front_test.points)}

    def metrics(self) -> dict[str, float]:
        """hypervolume (reported), hv_regret_value, hv_regret_test, igd_plus, pareto_found."""
        return {**self._metrics, "pareto_found": float(len(self.found)),
                "front_size": float(len(self.cells))}
