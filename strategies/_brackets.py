"""Successive-halving brackets, shared by ``sh``, ``hyperband`` and ``bohb``.

A bracket starts ``n`` architectures at a low fidelity and, rung by rung,
keeps the best ``1/eta`` of them for the next fidelity (Jamieson & Talwalkar
2016). Rungs are the benchmark's fidelities spaced by a factor of about
``eta``, counted down from the highest: with fidelities 1, 3, 9, 27 and
``eta=3`` every fidelity is a rung. Evaluation is sequential (ask, then tell),
so a rung is promoted once all its members have been told; ties keep the
earlier member and NaN ranks last.
"""

from __future__ import annotations

import math

from tabnas.errors import UserError
from tabnas.strategies._sampling import rank_key, unseen_sample
from tabnas.strategy import Hyperparameter, Strategy
from tabnas.types import Arch, Observation

BRACKET_HYPERPARAMETERS = {
    "eta": Hyperparameter(3, "keep the best 1/eta of each rung", low=2, high=100),
    "max_rungs": Hyperparameter(5, "at most this many rungs (the lowest are dropped)",
                                low=1, high=50),
}


def rung_fidelities(fidelities: tuple[int, ...], eta: int, max_rungs: int) -> tuple[int, ...]:
    """Fidelities spaced by about ``eta``, highest first found, returned ascending."""
    fids = sorted(set(fidelities))
    rungs = [fids[-1]]
    while len(rungs) < max_rungs:
        target = rungs[-1] / eta
        below = [f for f in fids if f <= target]
        if not below:
            break
        rungs.append(below[-1])
    return tuple(reversed(rungs))


class BracketStrategy(Strategy):
    """Runs brackets one after another; subclasses choose brackets and new architectures."""

    requires = frozenset({"fidelities"})

    eta: int
    max_rungs: int

    def __init__(self, space, *, rng, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, fidelities=fidelities, **hyperparameters)
        if not fidelities or len(fidelities) < 2:
            raise UserError(f"strategy {self.name!r} needs a multi-fidelity benchmark; "
                            "this one has a single fidelity")
        self.rungs = rung_fidelities(tuple(fidelities), self.eta, self.max_rungs)
        self.s_max = len(self.rungs) - 1
        self._bracket_count = 0
        self._rung = 0
        self._members: list[Arch] = []
        self._next = 0
        self._results: dict[Arch, float] = {}
        self._seen: set[Arch] = set()

    # -- what subclasses choose --------------------------------------------------
    def bracket_size(self, count: int) -> int:
        """The ``s`` of bracket number ``count``: it starts at rung ``s_max - s``."""
        raise NotImplementedError

    def new_arch(self) -> Arch:
        return unseen_sample(self.space, self.rng, self._seen)

    def observe(self, observation: Observation) -> None:
        """Hook for model-based subclasses; called on every tell."""

    # -- the bracket loop ----------------------------------------------------------
    def _start_bracket(self) -> None:
        s = self.bracket_size(self._bracket_count)
        self._bracket_count += 1
        n = math.ceil((self.s_max + 1) / (s + 1) * self.eta**s)
        self._rung = self.s_max - s
        self._members = []
        for _ in range(n):
            arch = self.new_arch()
            self._seen.add(arch)
            self._members.append(arch)
        self._next = 0
        self._results = {}

    def ask(self) -> tuple[Arch, int]:
        if not self._members:
            self._start_bracket()
        if self._next >= len(self._members):
            keep = len(self._members) // self.eta
            if self._rung >= self.s_max or keep < 1:
                self._start_bracket()
            else:
                order = sorted(range(len(self._members)),
                               key=lambda i: (-rank_key(self._results.get(self._members[i],
                                                                         math.nan)), i))
                self._members = [self._members[i] for i in order[:keep]]
                self._rung += 1
                self._next = 0
                self._results = {}
        arch = self._members[self._next]
        self._next += 1
        return arch, self.rungs[self._rung]

    def tell(self, observation: Observation) -> None:
        if observation.fidelity == self.rungs[self._rung]:
            self._results[observation.arch] = observation.score
        self.observe(observation)
