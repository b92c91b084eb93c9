"""Random search without replacement (Bergstra & Bengio, JMLR 2012).

The standard baseline of every NAS comparison. Without replacement, so no
evaluation is wasted on a repeat; when the space is exhausted it stops. An
architecture counts as seen when it is asked, so with simulated parallel
workers nothing pending is ever proposed again.
No hyperparameters.
"""

from __future__ import annotations

from tabnas.strategy import Strategy, register
from tabnas.types import Arch, Observation

_BATCH = 64


@register("random")
class RandomSearch(Strategy):
    def __init__(self, space, *, rng, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, fidelities=fidelities, **hyperparameters)
        self._seen: set[int] = set()
        self._batch: list[int] = []
        self._order: list[int] | None = None

    def ask(self) -> Arch:
        size = self.space.size
        if len(self._seen) >= size:
            raise StopIteration
        if self._order is None and len(self._seen) * 2 >= size:
            # Dense regime: rejection would spin; shuffle what is left instead.
            rest = [i for i in range(size) if i not in self._seen]
            self._order = [rest[i] for i in self.rng.permutation(len(rest))][::-1]
        if self._order is not None:
            index = self._order.pop()
        else:
            while True:
                if not self._batch:
                    self._batch = self.rng.integers(size, size=_BATCH).tolist()[::-1]
                index = self._batch.pop()
                if index not in self._seen:
                    break
        self._seen.add(index)
        return self.space.arch_at(index)

    def tell(self, observation: Observation) -> None:
        pass
