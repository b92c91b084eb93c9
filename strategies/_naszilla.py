"""The published BANANAS predictor and acquisition optimiser (naszilla's defaults), in numpy.

White, Neiswanger & Savani, "BANANAS", AAAI 2021, as its code runs it
(github.com/naszilla/naszilla: ``params.py`` ``meta_neuralnet_params('standard')``,
``meta_neural_net.py``, ``nas_benchmarks.py`` ``get_candidates``,
``acquisition_functions.py``):

- **encoding**: the truncated path encoding, ``bananas()``'s default
  ``predictor_encoding='trunc_path'`` (:func:`truncated_path_encoding`);
- **predictor**: an ensemble of 5 fully connected networks, each 10 hidden
  ReLU layers of 20 units and a linear output, Glorot-uniform weights and zero
  biases (Keras' defaults), trained from scratch at every fit on the mean
  absolute error of the validation error in percent (``100 - accuracy``, naszilla's
  ``val_loss``), 150 epochs of shuffled minibatches of 32,
  Adam with learning rate 0.01, betas 0.9 and 0.99, epsilon 1e-7. The members
  are stacked into batched tensors, each with its own initialisation and its
  own shuffle per epoch, as five separate Keras models would be;
- **candidates**: 100 unseen, distinct mutations of the best architecture
  (then of the next best, up to 5, while fewer than 100 are found). A mutation
  resamples each position of the categorical view to another choice with
  probability ``1 / (positions - 2)`` (naszilla's NAS-Bench-201 rate 1, "kept
  consistent with NAS-Bench-101"); spaces without that view use ``mutate``;
- **acquisition**: independent Thompson sampling, one normal draw per
  candidate from the ensemble's mean and standard deviation; the ``k`` = 10
  best are evaluated before the next fit.

A fit costs ``O(epochs * n / 32)`` minibatch steps, so a run of ``N``
evaluations costs ``O(N^2)`` steps in all: this is the published method's
cost, not a property of the harness.
"""

from __future__ import annotations

import math
from collections.abc import Container

import numpy as np

from tabnas.spaces.base import SearchSpace
from tabnas.spaces.nb101 import NB101Space
from tabnas.spaces.nb201 import OPS as NB201_OPS
from tabnas.spaces.nb201 import NB201Space
from tabnas.types import Arch

#: naszilla's ``meta_neuralnet_params('standard')`` and ``bananas()`` defaults.
PUBLISHED = {"members": 5, "layers": 10, "width": 20, "epochs": 150, "batch": 32,
             "learning_rate": 0.01, "beta1": 0.9, "beta2": 0.99, "eps": 1e-7,
             "initial": 10, "k": 10, "candidates": 100, "parents": 5}


#: naszilla's ``Cell201.OPS``: the op order its NAS-Bench-201 path indices use.
_NASZILLA_201_OPS = ("avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3", "none", "skip_connect")
_TO_NASZILLA_201 = tuple(_NASZILLA_201_OPS.index(op) for op in NB201_OPS)
#: ``trunc_path``'s default cutoffs: ``Cell101`` keeps the first 40 path bits (the
#: paths through 0-3 ops), ``Cell201`` the first 30 (the routes of 1 and 2 edges).
TRUNCATED_PATHS = {"nb101": 40, "nb201": 30}


def truncated_path_encoding(space: SearchSpace, arch: Arch) -> np.ndarray:
    """naszilla's ``trunc_path`` encoding, the one its ``bananas()`` trains on by default.

    NAS-Bench-101: the first 40 bits of the path encoding, whose bits are
    ordered by path length (naszilla's and :meth:`NB101Space.encode_path` alike),
    so the paths through at most 3 ops. NAS-Bench-201 (``Cell201.encode_freq_paths``):
    bit ``o`` for the op ``o`` on the edge 0-3, and bit ``5 + a + 5 b`` for each of
    the routes 0-1-3 and 0-2-3 with ops ``a``, ``b`` (naszilla's op order, ``none``
    included); the route 0-1-2-3 lies past the cutoff, so the edge 1-2 is not
    encoded. Other spaces have no published truncation and get the full path
    encoding, or :meth:`~SearchSpace.encode` where they have no paths.
    """
    if isinstance(space, NB201Space):
        x = np.zeros(TRUNCATED_PATHS["nb201"])
        op = _TO_NASZILLA_201
        x[op[arch[3]]] = 1.0
        for first, second in ((0, 4), (1, 5)):
            x[5 + op[arch[first]] + 5 * op[arch[second]]] = 1.0
        return x
    if isinstance(space, NB101Space):
        return space.encode_path(arch)[:TRUNCATED_PATHS["nb101"]]
    return space.path_encode(arch) if space.supports("path_encode") else space.encode(arch)


class DeepEnsemble:
    """``members`` ReLU networks of ``layers`` x ``width``, trained from scratch on MAE."""

    def __init__(self, n_in: int, rng: np.random.Generator, *, members: int = 5,
                 layers: int = 10, width: int = 20) -> None:
        sizes = [n_in] + [width] * layers + [1]
        self.weights = []
        self.biases = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            limit = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform
            self.weights.append(rng.uniform(-limit, limit, (members, fan_in, fan_out)))
            self.biases.append(np.zeros((members, 1, fan_out)))
        self.members = members

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Predictions (members, n) and activations; ``x`` is (n, d) or (members, n, d)."""
        h = x
        acts = [x]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < last:
                h = np.maximum(h, 0.0)
            acts.append(h)
        return h[..., 0], acts

    def train(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, epochs: int,
              batch: int, learning_rate: float, beta1: float, beta2: float,
              eps: float) -> None:
        params = [*self.weights, *self.biases]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        n = len(y)
        t = 0
        for _ in range(epochs):
            order = np.argsort(rng.random((self.members, n)), axis=1)  # one shuffle per member
            for start in range(0, n, batch):
                rows = order[:, start:start + batch]
                grads = self._gradients(x[rows], y[rows])
                t += 1
                lr_t = learning_rate * math.sqrt(1 - beta2**t) / (1 - beta1**t)
                for p, g, mi, vi in zip(params, grads, m, v, strict=True):
                    mi *= beta1
                    mi += (1 - beta1) * g
                    vi *= beta2
                    vi += (1 - beta2) * (g * g)
                    p -= lr_t * mi / (np.sqrt(vi) + eps)

    def _gradients(self, xb: np.ndarray, yb: np.ndarray) -> list[np.ndarray]:
        out, acts = self.forward(xb)
        # d mean|out - y| / d out, per member over its own minibatch.
        g = (np.sign(out - yb) / yb.shape[1])[..., None]
        g_w, g_b = [], []
        for i in range(len(self.weights) - 1, -1, -1):
            g_w.append(acts[i].transpose(0, 2, 1) @ g)
            g_b.append(g.sum(1, keepdims=True))
            if i:
                g = (g @ self.weights[i].transpose(0, 2, 1)) * (acts[i] > 0)
        return [*g_w[::-1], *g_b[::-1]]


def mutate_like_naszilla(space: SearchSpace, arch: Arch, rng: np.random.Generator) -> Arch:
    """Resample each position to another choice with probability ``1 / (positions - 2)``."""
    if not space.supports("cardinalities"):
        return space.mutate(arch, rng)
    sizes = space.cardinalities()
    p = 1.0 / max(len(sizes) - 2, 1)
    for _ in range(100):
        new = list(arch)
        for i, k in enumerate(sizes):
            if k > 1 and rng.random() < p:
                new[i] = (arch[i] + int(rng.integers(1, k))) % k
        mapped = space.from_choices(tuple(new))
        if mapped is not None:
            return mapped
    return space.mutate(arch, rng)


def mutation_candidates(space: SearchSpace, ranked: list[Arch], seen: Container[Arch],
                        rng: np.random.Generator, *, candidates: int = 100,
                        parents: int = 5) -> list[Arch]:
    """naszilla's ``get_candidates(acq_opt_type='mutation')``: unseen mutations of the best."""
    out: dict[Arch, None] = {}
    for arch in ranked[:parents]:
        if len(out) >= candidates:
            break
        for _ in range(candidates):
            new = mutate_like_naszilla(space, arch, rng)
            if new not in seen and new not in out:
                out[new] = None
    return list(out)
