"""Successive halving, repeated (Jamieson & Talwalkar, AISTATS 2016; Karnin et al., ICML 2013).

Every bracket starts ``eta**s_max`` uniform samples at the lowest rung and
keeps the best ``1/eta`` at each higher fidelity until one architecture is
trained at the highest; then a new bracket starts. Needs a multi-fidelity
benchmark; each suggestion names its fidelity, and a promotion the trial it continues.

Hyperparameters (defaults): ``eta`` 3, ``max_rungs`` 5.
"""

from __future__ import annotations

from tabnas.strategies._brackets import BRACKET_HYPERPARAMETERS, BracketStrategy
from tabnas.strategy import register


@register("sh")
class SuccessiveHalving(BracketStrategy):
    hyperparameters = dict(BRACKET_HYPERPARAMETERS)

    def bracket_size(self, count: int) -> int:
        return self.s_max
