"""Bayesian optimisation with a Gaussian process and expected improvement.

Jones, Schonlau & Welch, "Efficient Global Optimization of Expensive Black-Box
Functions", J. Global Optim. 1998; for NAS, the GP-BO baseline of White et al.,
"BANANAS", AAAI 2021 and of NASLib. The model is an exact Gaussian process
(``strategies/_gp.py``: scikit-learn's ``ConstantKernel * RBF + WhiteKernel``
on the space's ``encode`` features, targets normalised, the same fit to 1e-6
without scikit-learn's per-call overhead) and the acquisition, expected
improvement, is maximised by local search over ``neighbours`` from the best
architectures seen (see ``strategies/_surrogate.py``).
On one-hot features the squared-exponential kernel is the categorical overlap
(Hamming) kernel, ``exp(-h / l^2)`` for ``h`` differing positions (as in
CoCaBO, Ru et al., ICML 2020): similarity depends only on how many choices two
architectures share, which is what a categorical encoding can say.

Kernel hyperparameters are re-optimised (marginal likelihood, L-BFGS) when the
data has grown by ``reoptimise_growth`` since the last optimisation; in
between the GP is refitted with the kernel fixed, which costs one Cholesky.

Complexity: past ``max_train`` observations the GP is fitted on the best half
of ``max_train`` and a uniform sample of the rest (``strategies/_training_set.py``),
so a fit is ``O(max_train^3)`` and scoring ``m`` candidates ``O(m max_train^2)``
whatever the number of evaluations ``N``; with ``O(log N)`` kernel
optimisations the cost per evaluation is flat in ``N`` (about 1 ms on one
core; ``BENCHMARKS.md``). Up to ``max_train`` evaluations the model sees every
observation, as before.

Hyperparameters (defaults): ``initial`` 10, ``refit_every`` 5, ``parents`` 10,
``random_candidates`` 50, ``local_steps`` 3, ``mutations`` 10 (spaces without
``neighbours`` only), ``xi`` 0.0 (EI exploration margin,
in normalised units), ``reoptimise_growth`` 1.5, ``max_train`` 256.
"""

from __future__ import annotations

import numpy as np

from tabnas.strategies._gp import ExactGP
from tabnas.strategies._surrogate import (
    SURROGATE_HYPERPARAMETERS,
    SurrogateStrategy,
    expected_improvement,
)
from tabnas.strategies._training_set import bounded_subset
from tabnas.strategy import Hyperparameter, register


@register("bo")
class GaussianProcessBO(SurrogateStrategy):
    hyperparameters = {
        **SURROGATE_HYPERPARAMETERS,
        "refit_every": Hyperparameter(5, "evaluations between model fits (proposals per fit)",
                                      low=1, high=100),
        "xi": Hyperparameter(0.0, "EI exploration margin (normalised units)", low=0.0),
        "reoptimise_growth": Hyperparameter(
            1.5, "re-optimise kernel hyperparameters when the data grew by this factor",
            low=1.0),
        "max_train": Hyperparameter(
            256, "most observations the GP is fitted on (best half + random rest)", low=4),
    }

    xi: float
    reoptimise_growth: float
    max_train: int

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._gp = ExactGP()
        self._optimised_at = 0
        self._y_scale = (0.0, 1.0)

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        seen = len(y)
        rows = bounded_subset(y, self.max_train, self.rng)
        x, y = x[rows], y[rows]
        mu, sd = float(y.mean()), float(y.std()) or 1.0
        self._y_scale = (mu, sd)
        optimise = self._optimised_at == 0 or seen >= self.reoptimise_growth * self._optimised_at
        self._gp.fit(x, (y - mu) / sd, optimise)
        if optimise:
            self._optimised_at = seen

    def acquisition(self, x: np.ndarray, best: float) -> np.ndarray:
        mu, sd = self._y_scale
        mean, std = self._gp.predict(x)
        return expected_improvement(mean, std, (best - mu) / sd, self.xi)
