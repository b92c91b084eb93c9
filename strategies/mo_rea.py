"""Multi-objective regularized evolution, MO-REA, with NSGA-II selection.

Regularized evolution (Real, Aggarwal, Huang & Le, AAAI 2019) with the
tournament decided as in NSGA-II (Deb, Pratap, Agarwal & Meyarivan, IEEE TEC
2002): the population is the ``population`` most recent finished trials; each
proposal mutates the winner of ``sample`` members drawn at random, the member
of the lowest non-dominated rank within the population, ties broken by the
larger crowding distance, then by draw order. The oldest member leaves as a new
one arrives (age-based removal, as in REA and Syne Tune's MOREA, which ranks by
non-dominated sorting too). The first ``population`` trials are uniform samples.

Scores are the searched objective values (``Observation.scores``); a failed
training (NaN) ranks last. With simulated parallel workers a proposal still
pending is redrawn (up to ten times).

Hyperparameters: ``population`` (default 20), ``sample`` (tournament size,
default 5).
"""

from __future__ import annotations

import numpy as np

from tabnas.errors import BadConfiguration
from tabnas.strategies._sampling import not_pending
from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.trials import WAIT, Suggestion, Wait
from tabnas.types import Arch

#: How often a proposal that is still pending is redrawn before waiting for a result.
_REDRAWS = 10


def nondominated_ranks(points: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank of each row (0 = front; minimisation; NaN rows last)."""
    import moocore

    points = np.asarray(points, float)
    ranks = np.full(len(points), len(points) + 1)
    ok = ~np.isnan(points).any(axis=1)
    if ok.any():
        ranks[ok] = moocore.pareto_rank(points[ok])
    return ranks


def crowding_distance(points: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row within its rank (boundary points: inf).

    Per objective, rows are sorted by (rank, value); a row's neighbours in that
    order are the closest of its rank below and above, and the ends of each
    rank are boundaries.
    """
    n, m = points.shape
    dist = np.zeros(n)
    for j in range(m):
        order = np.lexsort((points[:, j], ranks))
        r, c = ranks[order], points[order, j]
        change = r[1:] != r[:-1]
        first, last = np.r_[True, change], np.r_[change, True]
        group = np.cumsum(first) - 1
        span = (c[last] - c[first])[group]
        gap = np.zeros(n)
        gap[1:-1] = c[2:] - c[:-2]
        with np.errstate(invalid="ignore", divide="ignore"):
            part = np.where(span > 0, gap / np.where(span > 0, span, 1.0), 0.0)
        dist[order] += np.where(first | last, np.inf, part)
    return dist


@register("mo-rea")
class MultiObjectiveREA(Strategy):
    hyperparameters = {
        "population": Hyperparameter(20, "population size (age-based removal)", low=2),
        "sample": Hyperparameter(5, "tournament size", low=1),
    }
    requires = frozenset({"mutate"})
    objectives = "multi"

    population: int
    sample: int

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        if self.sample > self.population:
            raise BadConfiguration(f"hyperparameter sample={self.sample}: must be <= population "
                                   f"({self.population})")

    def ask(self) -> Suggestion | Wait:
        arch = not_pending(self.history, self._propose(), self._propose, _REDRAWS)
        return WAIT if arch is None else Suggestion(arch)

    def _propose(self) -> Arch:
        history = self.history
        observations = history.observations
        size = min(len(observations), self.population)
        if history.asked < self.population or size < self.sample:
            return self.space.sample(self.rng)
        pop = observations[len(observations) - size:]
        points = -np.array([o.scores for o in pop], float)  # minimisation
        ranks = nondominated_ranks(points)
        crowd = crowding_distance(np.nan_to_num(points, nan=0.0), ranks)  # NaN rows rank last
        members = self.rng.choice(size, size=self.sample, replace=False).tolist()
        best = min(members, key=lambda m: (ranks[m], -crowd[m]))  # min keeps the first drawn
        return self.space.mutate(pop[best].arch, self.rng)
