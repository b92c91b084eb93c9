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
from collections.abc import Container

from tabnas.errors import BadConfiguration
from tabnas.strategies._sampling import rank_key, unseen_sample
from tabnas.strategy import Hyperparameter, Strategy
from tabnas.trials import WAIT, History, Suggestion, Wait
from tabnas.types import Arch

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


class _SeenOrMember(Container):
    """Architectures suggested in the run, or already drawn into the current bracket."""

    __slots__ = ("history", "members")

    def __init__(self, history: History, members: list[Arch]) -> None:
        self.history, self.members = history, members

    def __contains__(self, arch: object) -> bool:
        return arch in self.history or arch in self.members


class BracketStrategy(Strategy):
    """Runs brackets one after another; subclasses choose brackets and new architectures."""

    requires = frozenset({"fidelities"})

    eta: int
    max_rungs: int

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        if not fidelities or len(fidelities) < 2:
            raise BadConfiguration(f"strategy {self.name!r} needs a multi-fidelity benchmark; "
                                   "this one has a single fidelity")
        self.rungs = rung_fidelities(tuple(fidelities), self.eta, self.max_rungs)
        self.s_max = len(self.rungs) - 1
        self._bracket_count = 0
        self._rung = 0
        self._members: list[Arch] = []
        #: Per member: the trial it continues (``None`` on the bracket's first rung).
        self._parents: list[int | None] = []
        #: Trial ids of the current rung's members suggested so far, in member order.
        self._rung_trials: list[int] = []

    # -- what subclasses choose --------------------------------------------------
    def bracket_size(self, count: int) -> int:
        """The ``s`` of bracket number ``count``: it starts at rung ``s_max - s``."""
        raise NotImplementedError

    def new_arch(self, seen: Container[Arch]) -> Arch:
        """A new architecture for the bracket, preferably not in ``seen``."""
        return unseen_sample(self.space, self.rng, seen)

    # -- the bracket loop ----------------------------------------------------------
    def _start_bracket(self) -> None:
        s = self.bracket_size(self._bracket_count)
        self._bracket_count += 1
        n = math.ceil((self.s_max + 1) / (s + 1) * self.eta**s)
        self._rung = self.s_max - s
        self._members = []
        seen = _SeenOrMember(self.history, self._members)
        for _ in range(n):
            arch = self.new_arch(seen)
            # Where the space is used up a draw may repeat a member: evaluating it twice
            # at once at one rung would be a wasted evaluation, so the bracket is smaller.
            if arch not in self._members:
                self._members.append(arch)
        self._parents = [None] * len(self._members)
        self._rung_trials = []

    def ask(self) -> Suggestion | Wait:
        if not self._members:
            self._start_bracket()
        if len(self._rung_trials) >= len(self._members):
            scores = [self.history.observation(t) for t in self._rung_trials]
            if any(o is None for o in scores):
                return WAIT  # the rung is ranked only on results that have arrived
            keep = len(self._members) // self.eta
            if self._rung >= self.s_max or keep < 1:
                self._start_bracket()
            else:
                order = sorted(range(len(self._members)),
                               key=lambda i: (-rank_key(scores[i].score), i))[:keep]
                self._members = [self._members[i] for i in order]
                self._parents = [self._rung_trials[i] for i in order]
                self._rung += 1
                self._rung_trials = []
        i = len(self._rung_trials)
        self._rung_trials.append(self.history.asked)  # the id this suggestion will get
        return Suggestion(self._members[i], self.rungs[self._rung], self._parents[i])
