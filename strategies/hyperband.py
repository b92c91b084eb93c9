"""Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018).

Cycles successive-halving brackets from the most aggressive (many samples at
the lowest fidelity) to plain random search at the highest, hedging against
low fidelities that rank architectures badly. Needs a multi-fidelity
benchmark; each suggestion names its fidelity, and a promotion the trial it continues.

Hyperparameters (defaults): ``eta`` 3, ``max_rungs`` 5.
"""

from __future__ import annotations

from tabnas.strategies._brackets import BRACKET_HYPERPARAMETERS, BracketStrategy
from tabnas.strategy import register


@register("hyperband")
class Hyperband(BracketStrategy):
    hyperparameters = dict(BRACKET_HYPERPARAMETERS)

    def bracket_size(self, count: int) -> int:
        return self.s_max - count % (self.s_max + 1)
