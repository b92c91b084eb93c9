"""REA variants with other hyperparameters, registered under their own names.

The executor benchmark's five model-free strategies are random, rea,
local-search, reinforce and ``rea-p10`` from here. They live in an importable
module (not the benchmark script itself) because worker processes import a
strategy's module by name.
"""

from __future__ import annotations

from tabnas.strategies.rea import RegularizedEvolution
from tabnas.strategy import STRATEGIES, Hyperparameter, register

#: name -> (population, tournament size)
VARIANTS = {"rea-p10": (10, 3), "rea-p50": (50, 10), "rea-t2": (20, 2)}

for _name, (_pop, _sample) in VARIANTS.items():
    if _name not in STRATEGIES:
        register(_name)(type(f"REA_{_name.replace('-', '_')}", (RegularizedEvolution,), {
            "__module__": __name__,
            "__doc__": f"Regularized evolution, population={_pop}, sample={_sample}.",
            "hyperparameters": {
                "population": Hyperparameter(_pop, "population size", low=2),
                "sample": Hyperparameter(_sample, "tournament size", low=1),
            },
        }))
