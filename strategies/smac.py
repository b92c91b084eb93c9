"""SMAC-style search: random-forest surrogate, expected improvement, local-search acquisition.

Hutter, Hoos & Leyton-Brown, "Sequential Model-Based Optimization for General
Algorithm Configuration", LION 2011. The surrogate is a scikit-learn
``RandomForestRegressor`` on the space's ``encode`` features; mean and spread
of the per-tree predictions give expected improvement. As in SMAC, EI is
maximised by local search over ``neighbours`` from the best architectures seen
and the best random sample (see ``strategies/_surrogate.py``). The forest
follows SMAC3's hyperparameter-optimisation defaults: 10 trees, leaves of one
sample. Larger leaves average good architectures with broken ones (10 %
accuracy), so the spread between trees is largest exactly there and expected
improvement chases broken cells: on nb201-analog leaves of three samples left
``smac`` worse than random search at 25 evaluations.

Complexity: past ``max_train`` observations the forest is fitted on the best
half of ``max_train`` and a uniform sample of the rest
(``strategies/_training_set.py``), so a fit costs ``O(trees * max_train log
max_train)`` and the cost per evaluation is flat in the number of evaluations
(about 1 ms; ``BENCHMARKS.md``). Unbounded, fitting on all ``N`` observations
made it grow as ``N log N`` per fit.

Hyperparameters (defaults): ``initial`` 10, ``refit_every`` 10, ``parents`` 10,
``random_candidates`` 50, ``local_steps`` 3, ``mutations`` 10 (spaces without
``neighbours`` only), ``trees`` 10, ``min_samples_leaf`` 1, ``xi`` 0.0, ``max_train`` 500.
"""

from __future__ import annotations

import numpy as np

from tabnas.strategies._surrogate import (
    SURROGATE_HYPERPARAMETERS,
    SurrogateStrategy,
    expected_improvement,
)
from tabnas.strategies._training_set import bounded_subset
from tabnas.strategy import Hyperparameter, register


@register("smac")
class SMAC(SurrogateStrategy):
    hyperparameters = {
        **SURROGATE_HYPERPARAMETERS,
        "refit_every": Hyperparameter(10, "evaluations between forest fits (proposals per fit)",
                                      low=1, high=100),
        "trees": Hyperparameter(10, "trees in the random forest", low=1, high=1000),
        "min_samples_leaf": Hyperparameter(1, "minimum samples per leaf", low=1),
        "xi": Hyperparameter(0.0, "EI exploration margin", low=0.0),
        "max_train": Hyperparameter(
            500, "most observations the forest is fitted on (best half + random rest)", low=4),
    }
    requires = frozenset({"mutate", "encode", "neighbours"})

    trees: int
    min_samples_leaf: int
    xi: float
    max_train: int

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        self._forest = None
        self._best = 0.0

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        # The forest's bootstrap draws come from the strategy's stream.
        seed = int(self.rng.integers(2**31))
        rows = bounded_subset(y, self.max_train, self.rng)
        x, y = x[rows], y[rows]
        forest = RandomForestRegressor(n_estimators=self.trees, max_features=5 / 6,
                                       min_samples_leaf=self.min_samples_leaf,
                                       random_state=seed)
        forest.fit(x.astype(np.float32), y)
        self._forest = forest
        self._best = float(y.max())

    def _ei(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        preds = np.stack([t.predict(x, check_input=False) for t in self._forest.estimators_])
        return expected_improvement(preds.mean(0), preds.std(0), self._best, self.xi)

    def acquisition(self, x: np.ndarray, best: float) -> np.ndarray:
        return self._ei(x)
