"""Bayesian optimisation with a Gaussian process and expected improvement.

Jones, Schonlau & Welch, "Efficient Global Optimization of Expensive Black-Box
Functions", J. Global Optim. 1998; for NAS, the GP-BO baseline of White et al.,
"BANANAS", AAAI 2021 and of NASLib. The model is scikit-learn's
``GaussianProcessRegressor`` (a squared-exponential kernel on the space's
``encode`` features, plus a white-noise term, targets normalised) and the
acquisition, expected improvement, is maximised by local search over
``neighbours`` from the best architectures seen (see ``strategies/_surrogate.py``).
On one-hot features the squared-exponential kernel is the categorical overlap
(Hamming) kernel, ``exp(-h / l^2)`` for ``h`` differing positions (as in
CoCaBO, Ru et al., ICML 2020): similarity depends only on how many choices two
architectures share, which is what a categorical encoding can say.

Kernel hyperparameters are re-optimised (marginal likelihood, L-BFGS) when the
data has grown by ``reoptimise_growth`` since the last optimisation; in
between the GP is refitted with the kernel fixed, which costs one Cholesky.

Hyperparameters (defaults): ``initial`` 10, ``refit_every`` 5, ``parents`` 10,
``random_candidates`` 50, ``local_steps`` 3, ``mutations`` 10 (spaces without
``neighbours`` only), ``xi`` 0.0 (EI exploration margin,
in normalised units), ``reoptimise_growth`` 1.5.
"""

from __future__ import annotations

import warnings

import numpy as np

from tabnas.strategies._surrogate import (
    SURROGATE_HYPERPARAMETERS,
    SurrogateStrategy,
    expected_improvement,
)
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
    }

    xi: float
    reoptimise_growth: float

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._gp = None
        self._kernel = None
        self._optimised_at = 0
        self._y_scale = (0.0, 1.0)

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        mu, sd = float(y.mean()), float(y.std()) or 1.0
        self._y_scale = (mu, sd)
        optimise = self._kernel is None or len(y) >= self.reoptimise_growth * self._optimised_at
        kernel = self._kernel
        if kernel is None:
            kernel = (ConstantKernel(1.0, (1e-2, 1e2))
                      * RBF(length_scale=2.0, length_scale_bounds=(0.1, 50.0))
                      + WhiteKernel(0.1, (1e-5, 1.0)))
        # The optimiser's start is fixed, so the fit draws nothing random.
        gp = GaussianProcessRegressor(kernel=kernel, optimizer="fmin_l_bfgs_b" if optimise
                                      else None, normalize_y=False, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter at bounds is expected
            gp.fit(x, (y - mu) / sd)
        if optimise:
            self._kernel = gp.kernel_
            self._optimised_at = len(y)
        self._gp = gp

    def acquisition(self, x: np.ndarray, best: float) -> np.ndarray:
        mu, sd = self._y_scale
        mean, std = self._gp.predict(x, return_std=True)
        return expected_improvement(mean, std, (best - mu) / sd, self.xi)
