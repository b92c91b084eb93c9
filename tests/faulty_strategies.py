"""Strategies that misbehave on purpose, for the durability tests.

Imported only inside the subprocesses those tests start (never by pytest
itself), so they never appear in the registry that other tests enumerate.
Worker processes import this module by name, as they would a user's module.
"""

from __future__ import annotations

import time

from tabnas.strategy import Strategy, register


@register("explode")
class Explode(Strategy):
    """Random proposals; in about half of the seeds the third ``ask`` raises."""

    def __init__(self, space, *, rng, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, fidelities=fidelities, **hyperparameters)
        self._doomed = bool(self.rng.random() < 0.5)
        self._asked = 0

    def ask(self):
        self._asked += 1
        if self._doomed and self._asked == 3:
            raise ValueError("boom at the third proposal")
        return self.space.sample(self.rng)

    def tell(self, observation) -> None:
        pass


@register("sleepy")
class Sleepy(Strategy):
    """Sleeps a minute inside its first ``ask``: only a run timeout stops it."""

    def ask(self):
        time.sleep(60)
        return self.space.sample(self.rng)

    def tell(self, observation) -> None:
        pass
