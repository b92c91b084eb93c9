"""ParEGO: random scalarisations of the objectives, on the Gaussian-process BO of ``bo``.

Knowles, "ParEGO: A Hybrid Algorithm With On-Line Landscape Approximation for
Expensive Multiobjective Optimization Problems", IEEE TEC 2006. Each model fit
draws a weight vector uniformly from the simplex (from the strategy's
generator), scales every objective to [0, 1] over the scores observed so far
(0 = best), and fits ``bo``'s model to the augmented Chebyshev scalarisation
``max_j w_j z_j + rho * sum_j w_j z_j`` (negated: higher is better; a failed
training scores worst). The acquisition (expected improvement) and its local
search are ``bo``'s, so the ``refit_every`` proposals of one fit share one
weight vector.

Hyperparameters: those of ``bo``, and ``rho`` (augmentation, default 0.05, as
in the paper).
"""

from __future__ import annotations

import numpy as np

from tabnas.strategies._surrogate import copula_targets
from tabnas.strategies.bo import GaussianProcessBO
from tabnas.strategy import Hyperparameter, register


def chebyshev(scores: np.ndarray, weights: np.ndarray, rho: float) -> np.ndarray:
    """Augmented Chebyshev scalarisation of oriented scores (rows); higher is better."""
    s = np.asarray(scores, float)
    with np.errstate(all="ignore"):
        hi, lo = np.nanmax(s, axis=0), np.nanmin(s, axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    z = np.nan_to_num((hi - s) / span, nan=1.0)  # 0 = best seen, 1 = worst
    wz = z * weights
    return -(wz.max(axis=1) + rho * wz.sum(axis=1))


@register("parego")
class ParEGO(GaussianProcessBO):
    hyperparameters = {
        **GaussianProcessBO.hyperparameters,
        "rho": Hyperparameter(0.05, "augmentation of the Chebyshev scalarisation", low=0.0),
    }
    objectives = "multi"

    rho: float

    def targets(self, observations) -> np.ndarray:
        scores = np.array([o.scores for o in observations], float)
        weights = self.rng.dirichlet(np.ones(scores.shape[1]))
        return copula_targets(chebyshev(scores, weights, self.rho))
