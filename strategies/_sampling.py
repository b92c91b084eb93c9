"""Small helpers several strategies share: unseen samples, categorical draws, score order."""

from __future__ import annotations

import math
from collections.abc import Callable, Container

import numpy as np

from tabnas.spaces.base import SearchSpace
from tabnas.trials import History
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


def not_pending(history: History, arch: Arch, redraw: Callable[[], Arch],
                tries: int) -> Arch | None:
    """``arch``, or while it is being evaluated one of up to ``tries`` redraws that is not.

    Suggesting an architecture that is pending is a wasted evaluation (its
    result is already on the way). ``None`` when every redraw is pending: the
    caller answers ``WAIT`` (something is pending, so a result will arrive).
    With nothing pending (one worker) nothing is redrawn, so the run is the same.
    """
    pending = history.pending
    if not pending:
        return arch
    busy = {t.arch for t in pending}
    for _ in range(tries):
        if arch not in busy:
            return arch
        arch = redraw()
    return None if arch in busy else arch


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
