"""REINFORCE as NAS-Bench-201 and NATS-Bench run it: a softmax policy per edge, Adam, EMA baseline.

Williams, "Simple Statistical Gradient-Following Algorithms for Connectionist
Reinforcement Learning", Machine Learning 1992, in the form of the reference
implementation of NAS-Bench-201 (Dong & Yang, ICLR 2020) and NATS-Bench (Dong
et al., TPAMI 2021; ``exps/NATS-algos/reinforce.py`` in D-X-Y/AutoDL-Projects):

- the policy is one vector of logits per position of the space's categorical
  view (an edge of the cell), initialised to ``1e-3 * N(0, 1)``; positions are
  sampled independently from their softmax;
- after each evaluation the baseline, an exponential moving average of the
  reward with momentum ``baseline_momentum`` and bias correction (the
  reference's ``numerator / denominator``), is updated with the reward first,
  then the loss ``-log pi(arch) * (reward - baseline)`` takes one Adam step
  (PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8) on the logits;
- the reward is the score as it comes (validation accuracy in percent on the
  NAS-Bench-201 tables, as in the reference); Adam's step does not depend on
  the reward's scale.

The default ``learning_rate`` 0.01 is NATS-Bench's (its scripts run
``--learning_rate 0.01 --EMA_momentum 0.9``); the NAS-Bench-201 paper's
scripts ran 0.001 (``scripts/reproduce_nb201_protocol.py`` uses that). A
non-finite reward leaves the policy and the baseline unchanged. Needs the
space's categorical view. Cost per evaluation: O(sum of the cardinalities),
flat in the number of evaluations.

Hyperparameters (defaults): ``learning_rate`` 0.01, ``baseline_momentum`` 0.9.
"""

from __future__ import annotations

import math

import numpy as np

from tabnas.strategies._sampling import draw_arch, not_pending
from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.trials import WAIT, Suggestion, Trial, Wait
from tabnas.types import Arch, Observation

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


#: How often a draw that is still pending is redrawn before waiting for a result.
_REDRAWS = 100


@register("reinforce")
class Reinforce(Strategy):
    hyperparameters = {
        "learning_rate": Hyperparameter(0.01, "Adam step size on the logits",
                                        low=0.0, high=100.0),
        "baseline_momentum": Hyperparameter(0.9, "momentum of the reward's moving average",
                                            low=0.0, high=0.999),
    }
    requires = frozenset({"cardinalities"})

    learning_rate: float
    baseline_momentum: float

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        sizes = space.cardinalities()
        self._splits = np.cumsum(sizes)[:-1]
        self._logits = 1e-3 * rng.standard_normal(int(sum(sizes)))
        self._m = np.zeros_like(self._logits)
        self._v = np.zeros_like(self._logits)
        self._t = 0
        self._numerator = 0.0
        self._denominator = 0.0

    def _probs(self) -> list[np.ndarray]:
        out = []
        for z in np.split(self._logits, self._splits):
            e = np.exp(z - z.max())
            out.append(e / e.sum())
        return out

    def ask(self) -> Suggestion | Wait:
        probs = self._probs()

        def draw() -> Arch:
            u = self.rng.random(len(probs))
            return tuple(min(int(np.searchsorted(np.cumsum(p), x, side="right")), len(p) - 1)
                         for p, x in zip(probs, u, strict=True))

        def sample() -> Arch:
            return draw_arch(self.space, draw, self.rng)

        # A policy that has converged keeps drawing the architecture being evaluated:
        # redrawn, and if every draw is pending, wait for its result (the policy learns).
        arch = not_pending(self.history, sample(), sample, _REDRAWS)
        return WAIT if arch is None else Suggestion(arch)

    def tell(self, trial: Trial, observation: Observation) -> None:
        self._learn(observation.arch, observation.score)

    def _learn(self, arch: Arch, reward: float) -> None:
        """One policy-gradient step, in the reference's order: baseline first, then Adam."""
        if not math.isfinite(reward):
            return
        m = self.baseline_momentum
        self._numerator = m * self._numerator + (1 - m) * reward
        self._denominator = m * self._denominator + (1 - m)
        advantage = reward - self._numerator / self._denominator
        # d(-log pi * A)/dz = -(onehot - p) * A, position by position (the
        # architecture tuple is its choices, as in the categorical view).
        grad = np.concatenate(self._probs()) * advantage
        offsets = np.concatenate([[0], self._splits]).astype(int)
        grad[offsets + np.asarray(arch, dtype=int)] -= advantage
        self._t += 1
        self._m = _BETA1 * self._m + (1 - _BETA1) * grad
        self._v = _BETA2 * self._v + (1 - _BETA2) * grad * grad
        step = self.learning_rate / (1 - _BETA1**self._t)
        denom = np.sqrt(self._v) / math.sqrt(1 - _BETA2**self._t) + _EPS
        self._logits -= step * self._m / denom
