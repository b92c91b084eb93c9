"""SMAC-style search: random-forest surrogate, expected improvement, local-search acquisition.

Hutter, Hoos & Leyton-Brown, "Sequential Model-Based Optimization for General
Algorithm Configuration", LION 2011. The surrogate is a scikit-learn
``RandomForestRegressor`` on the space's ``encode`` features; mean and spread
of the per-tree predictions give expected improvement. As in SMAC, EI is
maximised by local search: from the ``starts`` best candidates of the pool
(mutations of the best seen plus uniform samples), move to the best
``neighbours`` by EI while EI improves, at most ``local_steps`` moves.

Hyperparameters (defaults): ``initial`` 10, ``refit_every`` 8, ``parents`` 10,
``mutations`` 10, ``random_candidates`` 50, ``trees`` 10, ``min_samples_leaf``
3, ``starts`` 5, ``local_steps`` 5, ``xi`` 0.0.
"""

from __future__ import annotations

import numpy as np

from harness.strategy import Hyperparameter, register
from harness.types import Arch
from strategies._surrogate import (
    SURROGATE_HYPERPARAMETERS,
    SurrogateStrategy,
    expected_improvement,
)


@register("smac")
class SMAC(SurrogateStrategy):
    hyperparameters = {
        **SURROGATE_HYPERPARAMETERS,
        "refit_every": Hyperparameter(8, "evaluations between forest fits (proposals per fit)",
                                      low=1, high=100),
        "trees": Hyperparameter(10, "trees in the random forest", low=1, high=1000),
        "min_samples_leaf": Hyperparameter(3, "minimum samples per leaf", low=1),
        "starts": Hyperparameter(5, "local searches per acquisition", low=0),
        "local_steps": Hyperparameter(5, "moves per local search", low=0),
        "xi": Hyperparameter(0.0, "EI exploration margin", low=0.0),
    }
    requires = frozenset({"mutate", "encode", "neighbours"})

    trees: int
    min_samples_leaf: int
    starts: int
    local_steps: int
    xi: float

    def __init__(self, space, *, rng, fidelities=None, **hyperparameters) -> None:
        super().__init__(space, rng=rng, fidelities=fidelities, **hyperparameters)
        self._forest = None
        self._best = 0.0

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        # The forest's bootstrap draws come from the strategy's stream.
        seed = int(self.rng.integers(2**31))
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

    def candidates(self, y: np.ndarray) -> list[Arch]:
        pool = super().candidates(y)
        if not pool or not self.starts:
            return pool
        ei = self._ei(np.array([self.encode(a) for a in pool]))
        found: dict[Arch, None] = dict.fromkeys(pool)
        # All local searches move in lock-step so each step is one forest prediction.
        walkers = [(pool[i], ei[i]) for i in np.argsort(-ei, kind="stable")[: self.starts]]
        for _ in range(self.local_steps):
            nbrs = [[a for a in self.space.neighbours(w) if a not in self._seen]
                    for w, _ in walkers]
            flat = [a for group in nbrs for a in group]
            if not flat:
                break
            flat_ei = self._ei(np.array([self.encode(a) for a in flat]))
            moved, start = [], 0
            for (_, current_ei), group in zip(walkers, nbrs, strict=True):
                if group:
                    j = start + int(np.argmax(flat_ei[start:start + len(group)]))
                    if flat_ei[j] > current_ei:
                        moved.append((flat[j], flat_ei[j]))
                        found[flat[j]] = None
                start += len(group)
            if not moved:
                break
            walkers = moved
        return list(found)
