"""Local search: best-improvement hill climbing with random restarts (NASLib style).

White, Zela, Ru, Liu & Hutter, "Exploring the Loss Landscape in Neural
Architecture Search", UAI 2021 (the local search of NASLib). Start from the
best of ``initial`` uniform samples; evaluate every neighbour of the current
architecture (in random order, skipping ones already evaluated); move to the
best neighbour if it is strictly better, otherwise restart from a fresh
uniform sample. NaN counts as worse than anything. What was evaluated, and
its score, is read from the run's history.

Hyperparameters (defaults): ``initial`` 10.
"""

from __future__ import annotations

from tabnas.strategies._sampling import rank_key, unseen_sample
from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.trials import DONE, Done, Suggestion
from tabnas.types import Arch


@register("local-search")
class LocalSearch(Strategy):
    hyperparameters = {
        "initial": Hyperparameter(10, "uniform samples before climbing", low=1),
    }
    requires = frozenset({"neighbours"})

    initial: int

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._current: Arch | None = None
        self._queue: list[Arch] = []

    def _key(self, arch: Arch) -> float:
        """Rank by the last score told for ``arch`` (unevaluated: as NaN, last)."""
        latest = self.history.latest(arch)
        return rank_key(float("nan") if latest is None else latest.score)

    def _climb_from(self, arch: Arch) -> None:
        self._current = arch
        nbrs = list(self.space.neighbours(arch))
        self._queue = [nbrs[i] for i in self.rng.permutation(len(nbrs)).tolist()]

    def ask(self) -> Suggestion | Done:
        history = self.history
        if len(history.archs) >= self.space.size:
            return DONE
        if len(history.archs) < self.initial or not len(history):
            return Suggestion(unseen_sample(self.space, self.rng, history))
        if self._current is None:
            self._climb_from(max(history.evaluated_archs(), key=self._key))
        while True:
            while self._queue:
                arch = self._queue.pop()
                if arch not in history:
                    return Suggestion(arch)
            assert self._current is not None
            best = max(self.space.neighbours(self._current), key=self._key)
            if self._key(best) > self._key(self._current):
                self._climb_from(best)
                continue
            # A local optimum: restart from a fresh sample and climb from there.
            restart = unseen_sample(self.space, self.rng, history, tries=1000)
            self._climb_from(restart)
            if restart not in history:
                return Suggestion(restart)
