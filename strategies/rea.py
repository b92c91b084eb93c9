"""Regularized evolution, REA (Real, Aggarwal, Huang & Le, AAAI 2019).

A population of the most recent ``population`` evaluations; each new proposal
mutates the best of ``sample`` members drawn at random (tournament selection);
the oldest member dies (age-based removal). The first ``population`` proposals
are uniform samples.

With simulated parallel workers, a proposal that is still being evaluated
(``pending``) is redrawn (up to ten times), so workers rarely duplicate work;
a sequential search has nothing pending and draws exactly as before.

Hyperparameters: ``population`` (default 20), ``sample`` (tournament size,
default 5).
"""

from __future__ import annotations

from collections import deque

from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.types import Arch, Observation

#: How often a proposal that is still pending is redrawn before it is accepted.
_REDRAWS = 10


@register("rea")
class RegularizedEvolution(Strategy):
    hyperparameters = {
        "population": Hyperparameter(20, "population size (age-based removal)", low=2),
        "sample": Hyperparameter(5, "tournament size", low=1),
    }
    requires = frozenset({"mutate"})

    population: int
    sample: int

    def __init__(self, space, *, rng, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, fidelities=fidelities, **hyperparameters)
        if self.sample > self.population:
            from tabnas.errors import UserError

            raise UserError(f"hyperparameter sample={self.sample}: must be <= population "
                            f"({self.population})")
        self._pop: deque[tuple[Arch, float]] = deque()
        self._asked = 0

    def ask(self) -> Arch:
        arch = self._propose()
        if self.pending:
            busy = set(self.pending)
            for _ in range(_REDRAWS):
                if arch not in busy:
                    break
                arch = self._propose(again=True)
        return arch

    def _propose(self, again: bool = False) -> Arch:
        if not again:
            self._asked += 1
        if self._asked <= self.population or len(self._pop) < self.sample:
            return self.space.sample(self.rng)
        members = self.rng.choice(len(self._pop), size=self.sample, replace=False)
        best = None
        for m in members.tolist():
            arch, score = self._pop[m]
            # NaN never wins a tournament; ties keep the first drawn.
            if best is None or score > best[1] or (best[1] != best[1] and score == score):
                best = (arch, score)
        assert best is not None
        return self.space.mutate(best[0], self.rng)

    def tell(self, observation: Observation) -> None:
        self._pop.append((observation.arch, observation.score))
        if len(self._pop) > self.population:
            self._pop.popleft()
