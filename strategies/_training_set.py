"""Bounded training sets: what keeps a surrogate's cost flat as a search grows.

Past ``limit`` observations a model is fitted on the best half of ``limit``
and a uniform sample (from the strategy's generator) of the rest, redrawn at
every fit. The acquisition (expected improvement, Thompson sampling) matters
near the best observations, which are all kept; the random rest keeps the
model's view of the whole space, and its uncertainty away from the incumbent,
honest. Fitting on ``limit`` rows instead of ``n`` caps a Gaussian-process fit
at ``O(limit^3)`` and a random forest's at ``O(limit log limit)`` per tree,
whatever the number of evaluations.
"""

from __future__ import annotations

import numpy as np


def bounded_subset(y: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices to fit on: all if ``len(y) <= limit``, else best half plus a random rest."""
    n = len(y)
    if n <= limit:
        return np.arange(n)
    order = np.argsort(-y, kind="stable")
    best = order[: limit // 2]
    rest = rng.choice(order[limit // 2:], size=limit - len(best), replace=False)
    return np.sort(np.concatenate([best, rest]))
