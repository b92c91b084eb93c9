"""Shared machinery of surrogate-model strategies (``bo``, ``smac``, ``bananas``).

One loop, three models. After ``initial`` uniform samples, every
``refit_every`` evaluations the model is refitted on everything seen and the
``refit_every`` unseen candidates with the highest acquisition are queued.
Proposing a small batch per fit is what keeps the overhead per evaluation
below a millisecond (fitting is the expensive part); with ``refit_every=1``
this is the textbook one-fit-per-proposal loop.

The acquisition is maximised by local search, as SMAC does (Hutter et al.,
LION 2011; SMAC3's ``LocalAndSortedRandomSearch``) and as NASLib's local
search over the predictor does: walkers start from the ``parents`` best
architectures observed and from the best of ``random_candidates`` uniform
samples, and each moves to the best unevaluated member of its full
``neighbours`` set while the acquisition improves (at most ``local_steps``
moves). The walkers move in lock-step, so every step is one batched model
prediction. Everything scored on the way is a candidate. A few random
mutations per parent (NASLib's and BANANAS' mutation optimiser) miss the
neighbour that matters most of the time: the whole neighbourhood of a good
architecture is a few dozen cells, cheap to score. Spaces without
``neighbours`` use ``mutations`` random mutations per walker instead.
Architectures already proposed (finished or pending in the run's history)
are never candidates: on a table the same cell gives the same number, so a
repeat is a wasted evaluation.

Model fitting runs with the BLAS thread pool limited to one thread: the
matrices here are small (hundreds of rows), where a multi-threaded BLAS only
adds synchronisation, and on a busy machine it spins: measured 10x slower
per evaluation than one thread on two shared cores.

Scores reach models through :func:`model_targets`: NaN and -inf count as the
worst value seen, +inf as the best, so degenerate results never poison a fit.
Models are then fitted on the Gaussian-copula transform of the scores (ranks
mapped through the normal quantile function; Salinas, Shen & Perrone, ICML
2020; HEBO, Cowen-Rivers et al., JAIR 2022): NAS accuracies have a long tail
of broken architectures (10 % accuracy next to 94 %), which otherwise
dominates a regression fit and its uncertainty. On nb201-analog this halves
the regret of ``bo`` and ``bananas`` at 100 evaluations.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager

import numpy as np

from tabnas.strategies._sampling import unseen_sample
from tabnas.strategy import Hyperparameter, Strategy
from tabnas.trials import Suggestion
from tabnas.types import Arch

SURROGATE_HYPERPARAMETERS = {
    "initial": Hyperparameter(10, "uniform samples before the first model fit", low=2),
    "refit_every": Hyperparameter(4, "evaluations between model fits (proposals per fit)",
                                  low=1, high=100),
    "parents": Hyperparameter(10, "local searches started from the best architectures seen",
                              low=1),
    "random_candidates": Hyperparameter(50, "uniform samples scored (the best one also walks)",
                                        low=0),
    "local_steps": Hyperparameter(3, "moves per local search of the acquisition", low=0),
    "mutations": Hyperparameter(10, "random mutations per walker and step, on spaces "
                                "without neighbours", low=1),
}


_BLAS: list = []


def one_blas_thread() -> AbstractContextManager:
    """A context limiting every loaded BLAS (numpy's and scipy's) to one thread."""
    if not _BLAS:
        import scipy.linalg  # noqa: F401 (loads scipy's own BLAS before the controller looks)
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def model_targets(scores: np.ndarray) -> np.ndarray:
    """Finite regression targets: NaN/-inf -> worst finite, +inf -> best finite."""
    y = np.asarray(scores, dtype=float).copy()
    finite = np.isfinite(y)
    if not finite.any():
        return np.zeros_like(y)
    lo, hi = y[finite].min(), y[finite].max()
    spread = hi - lo if hi > lo else 1.0
    y[np.isnan(y) | (y == -math.inf)] = lo - 0.1 * spread
    y[y == math.inf] = hi + 0.1 * spread
    return y


def copula_targets(scores: np.ndarray) -> np.ndarray:
    """Gaussian-copula transform of :func:`model_targets`: ``Phi^-1((rank - 1/2) / n)``."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    y = model_targets(scores)
    return ndtri((rankdata(y) - 0.5) / len(y))


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float,
                         xi: float = 0.0) -> np.ndarray:
    """EI for maximisation (Jones et al. 1998); zero where the model is certain."""
    from scipy.special import ndtr

    std = np.maximum(std, 1e-12)
    z = (mean - best - xi) / std
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (mean - best - xi) * ndtr(z) + std * pdf


class SurrogateStrategy(Strategy):
    """Base class: subclasses implement :meth:`fit` and :meth:`acquisition`."""

    requires = frozenset({"mutate", "encode"})

    initial: int
    refit_every: int
    parents: int
    random_candidates: int
    local_steps: int
    mutations: int

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._queue: list[Arch] = []
        self._features: dict[Arch, np.ndarray] = {}
        self._matrix: np.ndarray | None = None
        self._rows = 0

    # -- what subclasses provide -------------------------------------------------
    def encode(self, arch: Arch) -> np.ndarray:
        x = self._features.get(arch)
        if x is None:
            x = self._features[arch] = self.space.encode(arch)
        return x

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def acquisition(self, x: np.ndarray, best: float) -> np.ndarray:
        """Higher is better; ``best`` is the best (model-target) score so far."""
        raise NotImplementedError

    def targets(self, observations) -> np.ndarray:
        """The model's targets for the observations, higher is better (ParEGO scalarises)."""
        return copula_targets(np.array([o.score for o in observations]))

    def _feature_matrix(self, archs: list[Arch]) -> np.ndarray:
        """Features of ``archs``, the observations in completion order (append-only).

        Rows are kept between fits and only the new observations are encoded,
        in a buffer that doubles when full: the matrix costs ``O(1)`` amortised
        per evaluation instead of ``O(N)`` per fit.
        """
        n, done = len(archs), self._rows
        if n > done:
            new = np.array([self.encode(a) for a in archs[done:]], dtype=float)
            if self._matrix is None or n > len(self._matrix):
                grown = np.empty((max(2 * n, 64), new.shape[1]))
                if self._matrix is not None:
                    grown[:done] = self._matrix[:done]
                self._matrix = grown
            self._matrix[done:n] = new
            self._rows = n
        return self._matrix[:n]

    # -- the loop ----------------------------------------------------------------
    def ask(self) -> Suggestion:
        history = self.history
        while self._queue:
            arch = self._queue.pop()
            if arch not in history:
                return Suggestion(arch)
        if len(history) < self.initial:
            return Suggestion(unseen_sample(self.space, self.rng, history))
        observations = history.observations
        archs = [o.arch for o in observations]
        y = self.targets(observations)
        with one_blas_thread():
            self.fit(self._feature_matrix(archs), y)
            pool, acq = self.optimise_acquisition(archs, y)
        if not pool:
            return Suggestion(unseen_sample(self.space, self.rng, history))
        # Stable order: highest acquisition first, ties by pool position.
        order = np.argsort(-acq, kind="stable")[: self.refit_every]
        self._queue = [pool[i] for i in order[::-1]]
        return Suggestion(self._queue.pop())

    def optimise_acquisition(self, archs: list[Arch],
                             y: np.ndarray) -> tuple[list[Arch], np.ndarray]:
        """Every unseen architecture the local searches scored, with its acquisition.

        ``archs`` are the observed architectures and ``y`` their model targets.
        """
        seen = self.history
        best = float(y.max())
        scored: dict[Arch, float] = {}

        def score(archs: list[Arch]) -> None:
            new = [a for a in dict.fromkeys(archs) if a not in scored]
            if new:
                values = self.acquisition(np.array([self.encode(a) for a in new]), best)
                scored.update(zip(new, np.where(np.isfinite(values), values, -np.inf).tolist(),
                                  strict=True))

        randoms = [a for a in (self.space.sample(self.rng) for _ in range(self.random_candidates))
                   if a not in seen]
        score(randoms)
        # Observed starts are never proposed, so any unseen neighbour is a move up from them.
        walkers = [(archs[i], -np.inf) for i in np.argsort(-y, kind="stable")[: self.parents]]
        if randoms:
            top = max(dict.fromkeys(randoms), key=scored.__getitem__)
            walkers.append((top, scored[top]))
        for _ in range(self.local_steps):
            groups = [[a for a in self._neighbourhood(w) if a not in seen]
                      for w, _ in walkers]
            score([a for group in groups for a in group])
            moved: dict[Arch, float] = {}
            for (_, current), group in zip(walkers, groups, strict=True):
                if group:
                    step = max(group, key=scored.__getitem__)
                    if scored[step] > current:
                        moved[step] = scored[step]
            if not moved:
                break
            walkers = list(moved.items())
        return list(scored), np.array(list(scored.values()), dtype=float)

    def _neighbourhood(self, arch: Arch) -> list[Arch]:
        if self.space.supports("neighbours"):
            return list(self.space.neighbours(arch))
        return [self.space.mutate(arch, self.rng) for _ in range(self.mutations)]
