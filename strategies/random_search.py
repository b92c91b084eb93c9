"""Random search without replacement (Bergstra & Bengio, JMLR 2012).

The standard baseline of every NAS comparison. Without replacement, so no
evaluation is wasted on a repeat; when the space is exhausted it stops. An
architecture counts as seen when it is asked, so with simulated parallel
workers nothing pending is ever proposed again. What was proposed is read
from the run's history (``arch in self.history``), so nothing is recorded
twice. No hyperparameters.
"""

from __future__ import annotations

from tabnas.strategy import Strategy, register
from tabnas.trials import DONE, Done, Suggestion

_BATCH = 64
_new_tuple = tuple.__new__


@register("random")
class RandomSearch(Strategy):
    objectives = "any"  # proposals ignore the results, so any number of objectives

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._batch: list[int] = []
        self._order: list[int] | None = None

    def ask(self) -> Suggestion | Done:
        space = self.space
        proposed = self.history.archs  # a live view: every architecture suggested so far
        size = space.size
        n = len(proposed)
        if n >= size:
            return DONE
        order = self._order
        if order is None and n * 2 >= size:
            # Dense regime: rejection would spin; shuffle what is left instead.
            taken = {space.index(a) for a in proposed}
            rest = [i for i in range(size) if i not in taken]
            order = self._order = [rest[i] for i in self.rng.permutation(len(rest))][::-1]
        if order is not None:
            return Suggestion(space.arch_at(order.pop()))
        arch_at = space.arch_at
        batch = self._batch
        while True:
            if not batch:
                batch = self._batch = self.rng.integers(size, size=_BATCH).tolist()[::-1]
            arch = arch_at(batch.pop())
            if arch not in proposed:
                return _new_tuple(Suggestion, (arch, None, None))  # Suggestion(arch), cheaper
