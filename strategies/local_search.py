"""Local search: best-improvement hill climbing with random restarts (NASLib style).

White, Zela, Ru, Liu & Hutter, "Exploring the Loss Landscape in Neural
Architecture Search", UAI 2021 (the local search of NASLib). Start from the
best of ``initial`` uniform samples; evaluate every neighbour of the current
architecture (in random order, skipping ones already evaluated); move to the
best neighbour if it is strictly better, otherwise restart from a fresh
uniform sample. NaN counts as worse than anything.

Hyperparameters (defaults): ``initial`` 10.
"""

from __future__ import annotations

from tabnas.strategies._sampling import rank_key, unseen_sample
from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.types import Arch, Observation


@register("local-search")
class LocalSearch(Strategy):
    hyperparameters = {
        "initial": Hyperparameter(10, "uniform samples before climbing", low=1),
    }
    requires = frozenset({"neighbours"})

    initial: int

    def __init__(self, space, *, rng, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, fidelities=fidelities, **hyperparameters)
        self._scores: dict[Arch, float] = {}
        self._seen: set[Arch] = set()
        self._current: Arch | None = None
        self._queue: list[Arch] = []

    def _key(self, arch: Arch) -> float:
        return rank_key(self._scores.get(arch, float("nan")))

    def _climb_from(self, arch: Arch) -> None:
        self._current = arch
        nbrs = list(self.space.neighbours(arch))
        self._queue = [nbrs[i] for i in self.rng.permutation(len(nbrs)).tolist()]

    def _propose(self, arch: Arch) -> Arch:
        self._seen.add(arch)
        return arch

    def ask(self) -> Arch:
        if len(self._seen) >= self.space.size:
            raise StopIteration
        if len(self._seen) < self.initial or not self._scores:
            return self._propose(unseen_sample(self.space, self.rng, self._seen))
        if self._current is None:
            self._climb_from(max(self._scores, key=self._key))
        while True:
            while self._queue:
                arch = self._queue.pop()
                if arch not in self._seen:
                    return self._propose(arch)
            assert self._current is not None
            best = max(self.space.neighbours(self._current), key=self._key)
            if self._key(best) > self._key(self._current):
                self._climb_from(best)
                continue
            # A local optimum: restart from a fresh sample and climb from there.
            restart = unseen_sample(self.space, self.rng, self._seen, tries=1000)
            self._climb_from(restart)
            if restart not in self._seen:
                return self._propose(restart)

    def tell(self, observation: Observation) -> None:
        self._scores[observation.arch] = observation.score
