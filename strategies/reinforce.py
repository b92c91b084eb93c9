"""REINFORCE with a categorical policy per position and a moving-average baseline.

Williams, "Simple Statistical Gradient-Following Algorithms for Connectionist
Reinforcement Learning", Machine Learning 1992, in the form the NAS-Bench-201
paper (Dong & Yang, ICLR 2020) benchmarks: one softmax over the choices of
every edge, sampled independently; after each evaluation the logits move
along ``advantage * grad log pi(arch)`` with the advantage taken against an
exponential moving average of the reward (``baseline_momentum``). Unlike the
paper, the advantage is divided by a moving estimate of its spread, so one
``learning_rate`` suits accuracies in percent and losses alike. Non-finite
rewards leave the policy unchanged. Needs the space's categorical view.

Hyperparameters (defaults): ``learning_rate`` 0.1, ``baseline_momentum`` 0.9.
"""

from __future__ import annotations

import math

import numpy as np

from tabnas.strategies._sampling import draw_arch
from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.trials import Suggestion, Trial
from tabnas.types import Arch, Observation


@register("reinforce")
class Reinforce(Strategy):
    hyperparameters = {
        "learning_rate": Hyperparameter(0.1, "step size on the logits", low=0.0, high=100.0),
        "baseline_momentum": Hyperparameter(0.9, "moving-average factor of the baseline",
                                            low=0.0, high=0.999),
    }
    requires = frozenset({"cardinalities"})

    learning_rate: float
    baseline_momentum: float

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._logits = [np.zeros(k) for k in space.cardinalities()]
        self._baseline: float | None = None
        self._spread: float | None = None

    def _probs(self) -> list[np.ndarray]:
        out = []
        for z in self._logits:
            e = np.exp(z - z.max())
            out.append(e / e.sum())
        return out

    def ask(self) -> Suggestion:
        probs = self._probs()

        def draw() -> Arch:
            u = self.rng.random(len(probs))
            return tuple(min(int(np.searchsorted(np.cumsum(p), x, side="right")), len(p) - 1)
                         for p, x in zip(probs, u, strict=True))

        return Suggestion(draw_arch(self.space, draw, self.rng))

    def tell(self, trial: Trial, observation: Observation) -> None:
        reward = observation.score
        if not math.isfinite(reward):
            return
        if self._baseline is None:
            self._baseline = reward
        advantage = reward - self._baseline
        m = self.baseline_momentum
        self._spread = (abs(advantage) if self._spread is None
                        else m * self._spread + (1 - m) * abs(advantage))
        if self._spread > 0:
            step = self.learning_rate * advantage / self._spread
            for z, p, a in zip(self._logits, self._probs(), observation.arch, strict=True):
                grad = -p
                grad[a] += 1.0
                z += step * grad
        self._baseline = m * self._baseline + (1 - m) * reward
