"""Small helpers several strategies share: unseen samples and score ordering."""

from __future__ import annotations

import math

import numpy as np

from harness.spaces.base import SearchSpace
from harness.types import Arch


def unseen_sample(space: SearchSpace, rng: np.random.Generator, seen: set[Arch],
                  tries: int = 100) -> Arch:
    """A uniform sample not in ``seen`` (after ``tries`` misses, any sample)."""
    arch = space.sample(rng)
    for _ in range(tries):
        if arch not in seen:
            break
        arch = space.sample(rng)
    return arch


def rank_key(score: float) -> float:
    """Sort key for scores: NaN ranks below everything, even -inf."""
    return -math.inf if score != score else score
