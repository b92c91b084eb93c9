"""A small exact Gaussian process for ``bo``, with a bounded training set.

The kernel is ``c * exp(-|x - x'|^2 / (2 l^2)) + w * [x == x']`` (constant
times squared exponential plus white noise, scikit-learn's ``ConstantKernel *
RBF + WhiteKernel``) on targets normalised to mean 0 and spread 1. The three
hyperparameters maximise the log marginal likelihood (L-BFGS-B on their
logarithms, analytic gradient, started from the last optimum), and only on a
schedule: when the data has grown by a factor since the last optimisation, so
over a run of ``N`` evaluations there are ``O(log N)`` optimisations.

Why not scikit-learn's ``GaussianProcessRegressor``: at a few hundred rows its
input validation and kernel objects cost more than the linear algebra, and it
keeps no factor between fits. Here a fit is one kernel matrix, one Cholesky
factor and ``K^-1``; a prediction of ``m`` candidates is one ``m x n`` kernel
block and two matrix products, ``O(m n^2)``.

What keeps the cost flat as a search grows is the bounded training set
(``strategies/_training_set.py``): fitted on at most ``max_train`` rows, a fit
costs ``O(max_train^3)`` and a prediction ``O(m max_train^2)`` whatever the
number of evaluations.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_solve, cholesky
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize

#: Bounds of (c, l, w), as in the scikit-learn kernel this replaces.
BOUNDS = ((1e-2, 1e2), (0.1, 50.0), (1e-5, 1.0))
START = (1.0, 2.0, 0.1)


def _sq_dists(a: np.ndarray, b: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    d = a2[:, None] + b2[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0, out=d)


def _inverse(chol: np.ndarray) -> np.ndarray:
    """``K^-1`` from the lower Cholesky factor (LAPACK ``potri``: a third of a solve's flops)."""
    inv, info = dpotri(chol, lower=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed ({info})")
    return np.tril(inv) + np.tril(inv, -1).T


class ExactGP:
    """Fit with :meth:`fit`, predict mean and standard deviation with :meth:`predict`."""

    def __init__(self) -> None:
        self.theta = np.log(START)  # log (c, l, w)
        self._x = np.empty((0, 0))
        self._x2 = np.empty(0)
        self._alpha = np.empty(0)
        self._k_inv = np.empty((0, 0))

    @property
    def hyperparameters(self) -> tuple[float, float, float]:
        c, ell, w = np.exp(self.theta)
        return float(c), float(ell), float(w)

    def _nll(self, theta: np.ndarray, d2: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        c, ell, w = np.exp(theta)
        r = np.exp(-0.5 * d2 / (ell * ell))
        k = c * r
        k[np.diag_indices_from(k)] += w
        try:
            chol = cholesky(k, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros(3)
        alpha = cho_solve((chol, True), y, check_finite=False)
        k_inv = _inverse(chol)
        nll = 0.5 * y @ alpha + np.log(np.diag(chol)).sum() + 0.5 * len(y) * math.log(2 * math.pi)
        inner = np.outer(alpha, alpha) - k_inv  # d nll / d K = -inner / 2
        d_c = c * r
        d_l = d_c * d2 / (ell * ell)
        grad = -0.5 * np.array([(inner * d_c).sum(), (inner * d_l).sum(), w * np.trace(inner)])
        return float(nll), grad

    def fit(self, x: np.ndarray, y: np.ndarray, optimise: bool) -> None:
        """Fit on ``x`` (n, d) and normalised ``y`` (n,); re-optimise the kernel if asked."""
        x = np.ascontiguousarray(x, dtype=float)
        x2 = (x * x).sum(1)
        d2 = _sq_dists(x, x, x2, x2)
        if optimise:
            log_bounds = [(math.log(lo), math.log(hi)) for lo, hi in BOUNDS]
            res = minimize(self._nll, self.theta, args=(d2, y), jac=True, method="L-BFGS-B",
                           bounds=log_bounds)
            if np.isfinite(res.fun) and res.fun < 1e25:
                self.theta = np.asarray(res.x, dtype=float)
        c, ell, w = np.exp(self.theta)
        k = c * np.exp(-0.5 * d2 / (ell * ell))
        k[np.diag_indices_from(k)] += w
        # The white term keeps K positive definite; jitter only guards rounding.
        try:
            chol = cholesky(k, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            k[np.diag_indices_from(k)] += 1e-6
            chol = cholesky(k, lower=True, check_finite=False)
        self._alpha = cho_solve((chol, True), y, check_finite=False)
        self._k_inv = _inverse(chol)
        self._x, self._x2 = x, x2

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation (noise included, as scikit-learn's ``return_std``)."""
        c, ell, w = np.exp(self.theta)
        x = np.asarray(x, dtype=float)
        ks = c * np.exp(-0.5 * _sq_dists(x, self._x, (x * x).sum(1), self._x2) / (ell * ell))
        mean = ks @ self._alpha
        var = (c + w) - np.einsum("ij,ij->i", ks @ self._k_inv, ks)
        return mean, np.sqrt(np.maximum(var, 1e-12))
