"""Small helpers several strategies share: unseen samples, categorical draws, score order."""

from __future__ import annotations

import math
from collections.abc import Callable, Container

import numpy as np

from tabnas.spaces.base import SearchSpace
from tabnas.types import Arch


def unseen_sample(space: SearchSpace, rng: np.random.Generator, seen: Container[Arch],
                  tries: int = 100) -> Arch:
    """A uniform sample not in ``seen`` (after ``tries`` misses, any sample).

    ``seen`` is usually the run's history (``arch in history``: ever suggested).
    """
    arch = space.sample(rng)
    for _ in range(tries):
        if arch not in seen:
            break
        arch = space.sample(rng)
    return arch


def draw_arch(space: SearchSpace, draw: Callable[[], Arch], rng: np.random.Generator,
              tries: int = 100) -> Arch:
    """An architecture from a per-position choice sampler ``draw``.

    On a constrained space (``from_choices`` may answer ``None``) draws are
    repeated until one stands for an architecture; after ``tries`` misses, a
    uniform sample. On a product space the first draw is it.
    """
    for _ in range(tries):
        arch = space.from_choices(draw())
        if arch is not None:
            return arch
    return space.sample(rng)


def rank_key(score: float) -> float:
    """Sort key for scores: NaN ranks below everything, even -inf."""
    return -math.inf if score != score else score
