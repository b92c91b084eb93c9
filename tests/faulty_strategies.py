"""Strategies that misbehave on purpose, for the durability tests.

Imported only inside the subprocesses those tests start (never by pytest
itself), so they never appear in the registry that other tests enumerate.
Worker processes import this module by name, as they would a user's module.
"""

from __future__ import annotations

import time

from tabnas.strategy import Strategy, register
from tabnas.trials import Suggestion


@register("explode")
class Explode(Strategy):
    """Random proposals; in about half of the seeds the third ``ask`` raises."""

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._doomed = bool(self.rng.random() < 0.5)

    def ask(self):
        if self._doomed and self.history.asked == 2:
            raise ValueError("boom at the third proposal")
        return Suggestion(self.space.sample(self.rng))


@register("sleepy")
class Sleepy(Strategy):
    """Sleeps a minute inside its first ``ask``: only a run timeout stops it."""

    def ask(self):
        time.sleep(60)
        return Suggestion(self.space.sample(self.rng))
