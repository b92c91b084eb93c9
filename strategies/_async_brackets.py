"""Asynchronous successive halving, shared by ``asha``, ``async-hyperband`` and ``async-bohb``.

Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht & Talwalkar,
"A System for Massively Parallel Hyperparameter Tuning", MLSys 2020.

Synchronous successive halving (``_brackets.py``) waits until a rung's results
have all arrived before it ranks them; with many workers that leaves workers
idle. ASHA never waits: whenever a worker is free it promotes a trial from
rung ``k`` to rung ``k + 1`` if the trial is in the top ``1/eta`` of the
results *that have arrived* at rung ``k`` and was not promoted before
(looking from the highest rung down), and otherwise starts a new architecture
at the bracket's lowest rung. A promotion is a ``Suggestion`` that names the
trial it continues, so it can only rank results the history holds.

Rungs are the benchmark's fidelities spaced by about ``eta``
(:func:`~tabnas.strategies._brackets.rung_fidelities`), as in ``sh``. With
``brackets`` B > 1 (asynchronous Hyperband) bracket ``b`` starts its
architectures at rung ``b`` and ranks only its own members; each time a
worker is free a bracket is drawn with Hyperband's weights (bracket ``b``
with ``R`` rungs in all is drawn in proportion to ``R / (R - b) * eta**(R - b - 1)``,
the number of architectures synchronous Hyperband starts in it), and that
bracket promotes or starts, as Syne Tune's promotion-type Hyperband does.
Ties keep the result that arrived first; NaN ranks last.

When every architecture of the space has been suggested and nothing can be
promoted, the strategy answers ``WAIT`` while results are pending (one may
make a promotion possible) and ``DONE`` once nothing is pending. A new
architecture is always one never suggested before, so an architecture has one
chain of trials, one rung after another, and nothing pending is suggested again.
"""

from __future__ import annotations

import bisect
from collections.abc import Container

import numpy as np

from tabnas.errors import BadConfiguration
from tabnas.strategies._brackets import rung_fidelities
from tabnas.strategies._sampling import rank_key, unseen_sample
from tabnas.strategy import Hyperparameter, Strategy
from tabnas.trials import DONE, WAIT, Done, Suggestion, Trial, Wait
from tabnas.types import Arch, Observation

ASYNC_HYPERPARAMETERS = {
    "eta": Hyperparameter(3, "promote the top 1/eta of the results arrived at a rung",
                          low=2, high=100),
    "max_rungs": Hyperparameter(5, "at most this many rungs (the lowest are dropped)",
                                low=1, high=50),
}

BRACKETS_HYPERPARAMETER = {
    "brackets": Hyperparameter(0, "brackets to draw from (0: one per rung, as Hyperband)",
                               low=0, high=50),
}


class _Rung:
    """The results arrived at one rung of one bracket, best first, and who was promoted."""

    __slots__ = ("ranked", "promoted")

    def __init__(self) -> None:
        #: (-score, arrival, trial id), kept sorted: best first, ties by arrival.
        self.ranked: list[tuple[float, int, int]] = []
        self.promoted: set[int] = set()

    def add(self, observation: Observation, arrival: int, trial_id: int) -> None:
        bisect.insort(self.ranked, (-rank_key(observation.score), arrival, trial_id))

    def promotable(self, eta: int) -> int | None:
        """The best trial in the top ``1/eta`` of the arrived results not yet promoted."""
        for _, _, trial_id in self.ranked[:len(self.ranked) // eta]:
            if trial_id not in self.promoted:
                return trial_id
        return None


class AsyncBracketStrategy(Strategy):
    """ASHA over ``brackets`` brackets; subclasses choose how new architectures are made."""

    requires = frozenset({"fidelities"})

    eta: int
    max_rungs: int
    #: How many brackets to draw from (0: one per rung); subclasses without the
    #: hyperparameter run plain ASHA.
    brackets: int = 1
    #: How a rung ranks the results arrived there (MO-ASHA ranks score vectors).
    rung_type: type[_Rung] = _Rung

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        if not fidelities or len(fidelities) < 2:
            raise BadConfiguration(f"strategy {self.name!r} needs a multi-fidelity benchmark; "
                                   "this one has a single fidelity")
        self.rungs = rung_fidelities(tuple(fidelities), self.eta, self.max_rungs)
        n_rungs = len(self.rungs)
        if self.brackets > n_rungs:
            raise BadConfiguration(f"hyperparameter brackets={self.brackets}: this benchmark "
                                   f"gives {n_rungs} rungs ({', '.join(map(str, self.rungs))}), "
                                   f"so at most {n_rungs} brackets (0: one per rung)")
        n_brackets = n_rungs if self.brackets == 0 else self.brackets
        weights = np.array([n_rungs / (n_rungs - b) * float(self.eta) ** (n_rungs - b - 1)
                            for b in range(n_brackets)])
        self.bracket_weights = weights / weights.sum()
        #: Per bracket, per rung index: the results arrived there.
        self._rungs = [[self.rung_type() for _ in range(n_rungs)] for _ in range(n_brackets)]
        #: Trial id -> (bracket, rung index), for every trial suggested.
        self._placed: dict[int, tuple[int, int]] = {}
        self._arrived = 0

    def new_arch(self, seen: Container[Arch]) -> Arch:
        """A new architecture, preferably not in ``seen`` (the run's history)."""
        return unseen_sample(self.space, self.rng, seen)

    def _bracket(self) -> int:
        if len(self._rungs) == 1:
            return 0
        return int(self.rng.choice(len(self._rungs), p=self.bracket_weights))

    def _promotion(self, b: int) -> Suggestion | None:
        """Bracket ``b``'s promotion, from the highest rung that has one down; or None."""
        rungs = self._rungs[b]
        for k in range(len(self.rungs) - 2, b - 1, -1):
            parent = rungs[k].promotable(self.eta)
            if parent is not None:
                rungs[k].promoted.add(parent)
                self._placed[self.history.asked] = (b, k + 1)
                return Suggestion(self.history.trial(parent).arch, self.rungs[k + 1], parent)
        return None

    def ask(self) -> Suggestion | Wait | Done:
        history = self.history
        b = self._bracket()
        promotion = self._promotion(b)
        if promotion is not None:
            return promotion
        if len(history.archs) >= self.space.size:
            # Nothing new to start: another bracket may promote, or a pending result may.
            for other in range(len(self._rungs)):
                promotion = self._promotion(other) if other != b else None
                if promotion is not None:
                    return promotion
            return WAIT if history.pending else DONE
        arch = self.new_arch(history)
        if arch in history:  # the sampler gave up: draw among the unseen exactly
            space = self.space
            unseen = [i for i in range(space.size) if space.arch_at(i) not in history]
            arch = space.arch_at(unseen[int(self.rng.integers(len(unseen)))])
        self._placed[history.asked] = (b, b)
        return Suggestion(arch, self.rungs[b])

    def tell(self, trial: Trial, observation: Observation) -> None:
        b, k = self._placed[trial.id]
        self._rungs[b][k].add(observation, self._arrived, trial.id)
        self._arrived += 1
