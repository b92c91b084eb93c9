"""BANANAS: an ensemble of neural predictors on the path encoding, with Thompson sampling.

White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search", AAAI 2021. Two variants, each
registered under its own name so that both run in one experiment (the
``variant`` hyperparameter, recorded in the manifest, says which):

- ``bananas-published`` (``variant=published``): the method as its code runs
  it (naszilla's defaults, ``strategies/_naszilla.py``): 5 networks of 10 ReLU layers x 20 units,
  retrained from scratch at every fit for 150 epochs on the mean absolute
  error of the validation error ``perfect_score - score`` (naszilla's
  ``val_loss``, 100 minus the accuracy in percent), on the truncated path
  encoding (naszilla's ``trunc_path``); 100 mutations of the best
  architectures as candidates; independent Thompson sampling; 10 proposals
  per fit after 10 uniform samples. Cost: a fit is ``O(150 * N / 32)``
  minibatch steps, so the cost per evaluation grows linearly with the number
  of evaluations ``N`` (about 22 ms per evaluation at 200, on shared cores). A
  paper that reports "BANANAS" from tabnas runs this variant.
- ``bananas`` (``variant=light``, its default): a variant of the method, not the method itself.
  ``ensemble`` two-layer networks of ``hidden`` units, warm-started: each fit
  continues from the previous weights with ``steps`` minibatch Adam steps on
  the squared error of the Gaussian-copula targets (``strategies/_surrogate.py``),
  and the acquisition (ITS) is maximised by local search over ``neighbours``
  from the best architectures seen, which scores the whole neighbourhoods the
  paper's mutations sample from. Cost per evaluation is flat in ``N`` (a fixed
  number of steps per fit; under 1 ms per evaluation). On nb201-analog it
  matches or beats ``published`` at 100 evaluations (``BENCHMARKS.md``).

``light`` uses the full path encoding (``space.path_encode``; spaces without
paths use ``space.encode``), ``published`` naszilla's truncation of it on
NAS-Bench-101 and -201 (the full one elsewhere). The networks are written in numpy with the members
stacked into batched tensors, so training all of them is a handful of matrix
products per step.

Hyperparameters (defaults): ``variant`` light, ``initial`` 10, ``refit_every``
4 (10 with ``published``), ``parents`` 10, ``random_candidates`` 50,
``local_steps`` 3, ``mutations`` 10 (spaces without ``neighbours`` only),
``ensemble`` 5, ``hidden`` 16, ``steps`` 10, ``first_steps`` 100, ``batch`` 32,
``learning_rate`` 0.01; ``perfect_score`` 100 (``published`` only: the score
of a perfect architecture, 100 for accuracies in percent as on NAS-Bench-101
and -201; 1 for fractions). Each variant refuses the other's settings with a
one-line error rather than ignore them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tabnas.errors import BadConfiguration
from tabnas.strategies._naszilla import (
    PUBLISHED,
    DeepEnsemble,
    mutation_candidates,
    truncated_path_encoding,
)
from tabnas.strategies._surrogate import (
    SURROGATE_HYPERPARAMETERS,
    SurrogateStrategy,
    model_targets,
)
from tabnas.strategy import Hyperparameter, register
from tabnas.types import Arch


class _Ensemble:
    """``members`` two-hidden-layer ReLU networks trained together with Adam on MSE."""

    def __init__(self, n_in: int, members: int, hidden: int, rng: np.random.Generator):
        shapes = [(members, n_in, hidden), (members, 1, hidden), (members, hidden, hidden),
                  (members, 1, hidden), (members, hidden, 1), (members, 1, 1)]
        self._shapes = shapes
        # One flat buffer with the layers as views: Adam is then a few vector ops.
        self.flat = np.zeros(sum(int(np.prod(s)) for s in shapes))
        self._make_views()
        for view, shape in zip(self.params, shapes, strict=True):
            if shape[1] != 1:  # weights (He initialisation); biases start at zero
                view[...] = rng.normal(0.0, np.sqrt(2.0 / shape[1]), shape)
        self._m = np.zeros_like(self.flat)
        self._v = np.zeros_like(self.flat)
        self._t = 0

    def _make_views(self) -> None:
        self.params = []
        start = 0
        for shape in self._shapes:
            size = int(np.prod(shape))
            self.params.append(self.flat[start:start + size].reshape(shape))
            start += size

    def __getstate__(self) -> dict:
        # Pickle copies views as separate arrays; keep only the buffer and rebuild them.
        state = dict(self.__dict__)
        del state["params"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._make_views()

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = np.maximum(x @ w1 + b1, 0.0)
        h2 = np.maximum(h1 @ w2 + b2, 0.0)
        return (h2 @ w3 + b3)[..., 0], [h1, h2]

    def train(self, x_all: np.ndarray, y_all: np.ndarray, steps: int, lr: float,
              batch: int, rng: np.random.Generator) -> None:
        w1, b1, w2, b2, w3, b3 = self.params
        for _ in range(steps):
            if len(y_all) > batch:
                rows = rng.choice(len(y_all), size=batch, replace=False)
                x, y = x_all[rows], y_all[rows]
            else:
                x, y = x_all, y_all
            n = len(y)
            out, (h1, h2) = self.forward(x)
            g_out = (2.0 / n) * (out - y)[..., None]  # (E, n, 1)
            g_w3 = h2.transpose(0, 2, 1) @ g_out
            g_b3 = g_out.sum(1, keepdims=True)
            g_h2 = (g_out @ w3.transpose(0, 2, 1)) * (h2 > 0)
            g_w2 = h1.transpose(0, 2, 1) @ g_h2
            g_b2 = g_h2.sum(1, keepdims=True)
            g_h1 = (g_h2 @ w2.transpose(0, 2, 1)) * (h1 > 0)
            g_w1 = x.T @ g_h1
            g_b1 = g_h1.sum(1, keepdims=True)
            self._adam([g_w1, g_b1, g_w2, g_b2, g_w3, g_b3], lr)

    def _adam(self, grads: list[np.ndarray], lr: float, b1: float = 0.9,
              b2: float = 0.999) -> None:
        g = np.concatenate([x.ravel() for x in grads])
        self._t += 1
        self._m *= b1
        self._m += (1 - b1) * g
        self._v *= b2
        self._v += (1 - b2) * (g * g)
        step = lr * np.sqrt(1 - b2**self._t) / (1 - b1**self._t)
        self.flat -= step * self._m / (np.sqrt(self._v) + 1e-8)


#: Hyperparameters of the light variant's predictor and local search, unused by ``published``.
_LIGHT_ONLY = ("hidden", "steps", "first_steps", "batch", "learning_rate", "parents",
               "random_candidates", "local_steps", "mutations")
#: The published predictor's target, unused by ``light`` (which fits Gaussian-copula ranks).
_PUBLISHED_ONLY = ("perfect_score",)


@register("bananas")
class Bananas(SurrogateStrategy):
    hyperparameters = {
        **SURROGATE_HYPERPARAMETERS,
        "variant": Hyperparameter("light", "light: small warm-started ensemble, local-search "
                                  "acquisition; published: naszilla's predictor and "
                                  "mutation acquisition", choices=("light", "published")),
        "ensemble": Hyperparameter(5, "networks in the ensemble", low=2, high=50),
        "hidden": Hyperparameter(16, "units per hidden layer", low=1, high=1024),
        "steps": Hyperparameter(10, "Adam steps per fit (continuing from the last fit)",
                                low=1),
        "first_steps": Hyperparameter(100, "Adam steps of the first fit", low=1),
        "batch": Hyperparameter(32, "minibatch size", low=1),
        "learning_rate": Hyperparameter(0.01, "Adam learning rate", low=1e-6, high=1.0),
        "perfect_score": Hyperparameter(100.0, "published only: the score of a perfect "
                                        "architecture; the predictor fits perfect_score - "
                                        "score, naszilla's validation error (100 for "
                                        "accuracies in percent)"),
    }

    variant: str
    ensemble: int
    hidden: int
    steps: int
    first_steps: int
    batch: int
    learning_rate: float
    perfect_score: float

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._paths = space.supports("path_encode")
        self._net: _Ensemble | None = None
        self._scale = (0.0, 1.0)
        self._published = self.variant == "published"
        other = _LIGHT_ONLY if self._published else _PUBLISHED_ONLY
        given = sorted(k for k in set(hyperparameters) & set(other)
                       if getattr(self, k) != self.hyperparameters[k].default)
        if given:
            applies = "light" if self._published else "published"
            raise BadConfiguration(f"hyperparameter(s) {', '.join(given)} of {self.name} "
                                   f"apply to variant={applies} only"
                                   + ("; variant=published uses naszilla's settings"
                                      if self._published else ""))
        if self._published:
            if "refit_every" not in hyperparameters:
                self.refit_every = PUBLISHED["k"]
            if "initial" not in hyperparameters:
                self.initial = PUBLISHED["initial"]

    def encode(self, arch: Arch) -> np.ndarray:
        x = self._features.get(arch)
        if x is None:
            if self._published:
                x = truncated_path_encoding(self.space, arch)
            else:
                x = self.space.path_encode(arch) if self._paths else self.space.encode(arch)
            self._features[arch] = x
        return x

    def targets(self, observations) -> np.ndarray:
        # naszilla fits the validation error, 100 - accuracy (%), and minimises it. Its
        # negation, score - perfect_score, is the same fit (Glorot-uniform weights, zero
        # biases, MAE and Adam are all symmetric under a sign flip of the output layer)
        # and keeps higher-is-better for the acquisition.
        if self._published:
            return model_targets(np.array([o.score for o in observations])) - self.perfect_score
        return super().targets(observations)

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        if self._published:
            net = DeepEnsemble(x.shape[1], self.rng, members=self.ensemble,
                               layers=PUBLISHED["layers"], width=PUBLISHED["width"])
            net.train(x, y, self.rng, epochs=PUBLISHED["epochs"], batch=PUBLISHED["batch"],
                      learning_rate=PUBLISHED["learning_rate"], beta1=PUBLISHED["beta1"],
                      beta2=PUBLISHED["beta2"], eps=PUBLISHED["eps"])
            self._deep = net
            return
        mu, sd = float(y.mean()), float(y.std()) or 1.0
        self._scale = (mu, sd)
        steps = self.steps
        if self._net is None:
            self._net = _Ensemble(x.shape[1], self.ensemble, self.hidden, self.rng)
            steps = self.first_steps
        self._net.train(x, (y - mu) / sd, steps, self.learning_rate, self.batch, self.rng)

    def acquisition(self, x: np.ndarray, best: float) -> np.ndarray:
        if self._published:
            preds, _ = self._deep.forward(x)
        else:
            assert self._net is not None
            preds, _ = self._net.forward(x)
        mean, std = preds.mean(0), preds.std(0)
        return mean + std * self.rng.standard_normal(len(mean))

    def optimise_acquisition(self, archs: list[Arch],
                             y: np.ndarray) -> tuple[list[Arch], np.ndarray]:
        if not self._published:
            return super().optimise_acquisition(archs, y)
        ranked = [archs[i] for i in np.argsort(-y, kind="stable")]
        pool = mutation_candidates(self.space, ranked, self.history, self.rng,
                                   candidates=PUBLISHED["candidates"],
                                   parents=PUBLISHED["parents"])
        if not pool:
            return [], np.empty(0)
        return pool, self.acquisition(np.array([self.encode(a) for a in pool]), float(y.max()))


@register("bananas-published")
class BananasPublished(Bananas):
    """BANANAS as published: ``bananas`` with ``variant=published`` as its only variant.

    Its own name, so the published method and the light variant run side by
    side in one experiment and the records say which is which. Its declared
    hyperparameters are the ones the published method uses, with naszilla's
    values as defaults (``initial`` 10, ``refit_every`` 10 proposals per fit,
    ``ensemble`` 5, ``perfect_score`` 100), so the manifest records what ran; the
    light variant's predictor and local-search settings are not among them.
    """

    hyperparameters = {
        **{k: v for k, v in Bananas.hyperparameters.items() if k not in _LIGHT_ONLY},
        "variant": Hyperparameter("published", "naszilla's predictor and mutation acquisition",
                                  choices=("published",)),
        "initial": replace(SURROGATE_HYPERPARAMETERS["initial"], default=PUBLISHED["initial"]),
        "refit_every": replace(SURROGATE_HYPERPARAMETERS["refit_every"],
                               default=PUBLISHED["k"]),
        "ensemble": replace(Bananas.hyperparameters["ensemble"], default=PUBLISHED["members"]),
    }
