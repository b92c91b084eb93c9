"""Tree-structured Parzen estimator with categorical Parzen estimators.

Bergstra, Bardenet, Bengio & Kégl, "Algorithms for Hyper-Parameter
Optimization", NeurIPS 2011. Observations are split into the best ``gamma``
fraction ("good") and the rest; each position of the architecture gets two
categorical densities, l (good) and g (rest), smoothed by ``prior_weight``
pseudo-counts spread uniformly over its choices. ``candidates`` samples are
drawn from l and the one maximising l(x)/g(x) is proposed (unseen candidates
first, so a small space is not re-evaluated). Needs the space's categorical
view (``cardinalities``). NaN scores count as the worst.

Complexity: a proposal counts choices over all ``N`` observations, ``O(N *
positions)`` with a small constant (vectorised ``bincount``), so the cost per
evaluation grows linearly (under 2 ms up to 2000 evaluations on a loaded
core; ``BENCHMARKS.md``); no model is fitted.

Hyperparameters (defaults): ``initial`` 10, ``gamma`` 0.15, ``candidates`` 24,
``prior_weight`` 1.0.
"""

from __future__ import annotations

from collections.abc import Container

import numpy as np

from tabnas.spaces.base import SearchSpace
from tabnas.strategies._sampling import not_pending, unseen_sample
from tabnas.strategies._surrogate import model_targets
from tabnas.strategy import Hyperparameter, Strategy, register
from tabnas.trials import WAIT, Suggestion, Wait
from tabnas.types import Arch


def tpe_propose(space: SearchSpace, archs: np.ndarray, scores: np.ndarray,
                rng: np.random.Generator, *, gamma: float, candidates: int,
                prior_weight: float, seen: Container[Arch]) -> Arch:
    """One TPE proposal from integer ``archs`` (n, positions) and their ``scores``.

    Candidates are drawn per position over the space's categorical view; on a
    constrained space each is mapped with ``from_choices`` and those standing
    for no architecture are dropped (if none is left: an unseen uniform sample).
    """
    choices = space.cardinalities()
    y = model_targets(scores)
    n = len(y)
    n_good = max(1, int(np.ceil(gamma * n)))
    order = np.argsort(-y, kind="stable")
    good, bad = archs[order[:n_good]], archs[order[n_good:]]
    draws = np.empty((candidates, len(choices)), dtype=np.int64)
    log_ratio = np.zeros(candidates)
    for p, k in enumerate(choices):
        l_p = np.bincount(good[:, p], minlength=k) + prior_weight / k
        g_p = np.bincount(bad[:, p], minlength=k) + prior_weight / k
        l_p /= l_p.sum()
        g_p /= g_p.sum()
        draws[:, p] = np.minimum(np.searchsorted(np.cumsum(l_p), rng.random(candidates),
                                                 side="right"), k - 1)
        log_ratio += np.log(l_p[draws[:, p]]) - np.log(g_p[draws[:, p]])
    mapped = [space.from_choices(tuple(d)) for d in draws.tolist()]
    valid = np.array([a is not None for a in mapped])
    if not valid.any():
        return unseen_sample(space, rng, seen)
    fresh = valid & np.array([a not in seen for a in mapped])
    log_ratio = np.where(fresh if fresh.any() else valid, log_ratio, -np.inf)
    return mapped[int(np.argmax(log_ratio))]


#: The model's hyperparameters, shared with BOHB (``tpe_propose``'s keyword arguments).
TPE_MODEL_HYPERPARAMETERS = {
    "gamma": Hyperparameter(0.15, "fraction of observations counted as good",
                            low=0.01, high=0.99),
    "candidates": Hyperparameter(24, "samples from l(x) scored per proposal", low=1),
    "prior_weight": Hyperparameter(1.0, "pseudo-counts of the uniform prior", low=1e-6),
}


@register("tpe")
class TPE(Strategy):
    hyperparameters = {
        "initial": Hyperparameter(10, "uniform samples before the first model", low=1),
        **TPE_MODEL_HYPERPARAMETERS,
    }
    requires = frozenset({"cardinalities"})

    initial: int
    gamma: float
    candidates: int
    prior_weight: float

    def ask(self) -> Suggestion | Wait:
        history = self.history

        def fresh() -> Arch:
            return unseen_sample(self.space, self.rng, history)

        if len(history) < self.initial:
            arch = fresh()
        else:
            observations = history.observations
            arch = tpe_propose(
                self.space, np.array([o.arch for o in observations]),
                np.array([o.score for o in observations]), self.rng, gamma=self.gamma,
                candidates=self.candidates, prior_weight=self.prior_weight, seen=history)
        # Proposals avoid what was ever suggested; where the space is nearly used up
        # they may not: a pending one is then replaced by a uniform sample, or waited on.
        arch = not_pending(history, arch, fresh, 10)
        return WAIT if arch is None else Suggestion(arch)
