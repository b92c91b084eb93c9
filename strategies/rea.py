"""Regularized evolution, REA (Real, Aggarwal, Huang & Le, AAAI 2019).

A population of the most recent ``population`` evaluations; each new proposal
mutates the best of ``sample`` members drawn at random (tournament selection);
the oldest member dies (age-based removal). The first ``population`` proposals
are uniform samples.

The population is read from the run's history: the last ``population``
finished trials, in the order their results arrived (age is the order of
arrival, as in the paper's asynchronous setting).

With simulated parallel workers, a proposal that is still being evaluated
(pending in the history) is redrawn (up to ten times), so workers rarely
duplicate work; a sequential search has nothing pending and draws exactly as
before.

Hyperparameters: ``population`` (default 20), ``sample`` (tournament size,
default 5).
"""

from __future__ import annotations

from tabnas.strategies._sampling import not_pending
from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.trials import WAIT, Suggestion, Wait
from tabnas.types import Arch

#: How often a proposal that is still pending is redrawn before waiting for a result.
_REDRAWS = 10
_new_tuple = tuple.__new__


@register("rea")
class RegularizedEvolution(Strategy):
    hyperparameters = {
        "population": Hyperparameter(20, "population size (age-based removal)", low=2),
        "sample": Hyperparameter(5, "tournament size", low=1),
    }
    requires = frozenset({"mutate"})

    population: int
    sample: int

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        if self.sample > self.population:
            from tabnas.errors import BadConfiguration

            raise BadConfiguration(f"hyperparameter sample={self.sample}: must be <= "
                                   f"population ({self.population})")
        # A live view of the history's observations, read once here, not on every ask.
        self._observations = history.observations

    def ask(self) -> Suggestion | Wait:
        arch = not_pending(self.history, self._propose(), self._propose, _REDRAWS)
        if arch is None:
            return WAIT
        return _new_tuple(Suggestion, (arch, None, None))  # Suggestion(arch), cheaper

    def _propose(self) -> Arch:
        observations = self._observations
        population = self.population
        size = min(len(observations), population)
        # The first ``population`` trials asked are uniform samples.
        if self.history.asked < population or size < self.sample:
            return self.space.sample(self.rng)
        pop = observations[-size:]
        members = self.rng.choice(size, size=self.sample, replace=False)
        best = None
        for m in members.tolist():
            obs = pop[m]
            # NaN never wins a tournament; ties keep the first drawn.
            if best is None or obs.score > best.score or (best.score != best.score
                                                          and obs.score == obs.score):
                best = obs
        assert best is not None
        return self.space.mutate(best.arch, self.rng)
