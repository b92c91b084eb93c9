"""MO-ASHA: asynchronous successive halving on several objectives (Schmucker et al., 2021).

Schmucker, Donini, Zafar, Salinas & Archambeau, "Multi-objective Asynchronous
Successive Halving", arXiv:2106.12639, 2021 (Syne Tune's ``MOASHA``).

ASHA (``asha``, ``_async_brackets.py``) with a rung's results ranked on their
score vectors (``Observation.scores``, the searched objective values) instead of
one score: by non-dominated sorting, ties within a front broken by the larger
NSGA-II crowding distance (Syne Tune offers an epsilon-net instead), then by
arrival. The top ``1/eta`` of the results that have arrived at a rung in that
order are promotable, the best not yet promoted first; a result with a failed
objective (NaN) ranks last. Needs a benchmark with fidelities and two or more
objectives, e.g. ``nb201/<dataset>:acc-flops`` (epochs 1..E of the schedule) or
``toy-fidelities:score-size``.

Hyperparameters (defaults): ``eta`` 3, ``max_rungs`` 5.
"""

from __future__ import annotations

import numpy as np

from tabnas.strategies._async_brackets import ASYNC_HYPERPARAMETERS, AsyncBracketStrategy, _Rung
from tabnas.strategies.mo_rea import crowding_distance, nondominated_ranks
from tabnas.strategy import register
from tabnas.types import Observation


def pareto_order(scores: np.ndarray) -> list[int]:
    """Row indices of ``scores`` (higher is better per column) best first.

    Non-dominated rank first, then the larger crowding distance within the
    rank, then the row's position (arrival); rows holding a NaN come last.
    Infinite scores are ranked as the largest finite ones of their sign.
    """
    points = -np.nan_to_num(np.asarray(scores, float), nan=np.nan,
                            posinf=np.finfo(float).max, neginf=-np.finfo(float).max)
    points[np.isnan(scores).any(axis=1)] = np.nan
    ranks = nondominated_ranks(points)
    with np.errstate(all="ignore"):
        crowd = crowding_distance(np.nan_to_num(points / 2.0, nan=0.0), ranks)
    crowd = np.nan_to_num(crowd, nan=0.0)
    return sorted(range(len(points)), key=lambda i: (ranks[i], -crowd[i], i))


class _ParetoRung(_Rung):
    """The score vectors arrived at one rung, ranked by non-dominated sorting when asked."""

    __slots__ = ("scores", "ids", "_order")

    def __init__(self) -> None:
        super().__init__()
        self.scores: list[tuple[float, ...]] = []
        #: Trial ids in arrival order, one per row of ``scores``.
        self.ids: list[int] = []
        self._order: list[int] | None = None

    def add(self, observation: Observation, arrival: int, trial_id: int) -> None:
        self.scores.append(observation.scores)
        self.ids.append(trial_id)
        self._order = None

    def order(self) -> list[int]:
        """Trial ids best first (see :func:`pareto_order`); recomputed only after an arrival."""
        if self._order is None:
            rows = pareto_order(np.array(self.scores, float)) if self.scores else []
            self._order = [self.ids[i] for i in rows]
        return self._order

    def promotable(self, eta: int) -> int | None:
        n = len(self.ids) // eta
        if n == 0:
            return None
        for trial_id in self.order()[:n]:
            if trial_id not in self.promoted:
                return trial_id
        return None


@register("mo-asha")
class MultiObjectiveASHA(AsyncBracketStrategy):
    hyperparameters = dict(ASYNC_HYPERPARAMETERS)
    objectives = "multi"
    rung_type = _ParetoRung
