"""Every registered strategy (no hand-kept list) through the conformance suite.

The strategies come from the registry at collection time, so a strategy added
to ``strategies/`` (or through the ``tabnas.strategies`` entry-point group) is
tested without editing this file. They run on the toy tables and on every
shipped table (live benchmarks, which train networks, have their own tests), and on the
multi-objective presets of the shipped tables and of the generated multi-fidelity toy table,
where single-objective strategies must refuse and multi-objective ones run. The Optuna bridge is checked through two of its samplers, and
through its multi-objective samplers (NSGA-II, NSGA-III, MOTPE) on the presets.
"""

import pytest

from tabnas.strategy import STRATEGIES
from tabnas.testing import (
    CONFORMANCE_BENCHMARKS,
    MULTI_FIDELITY_MULTI_OBJECTIVE_BENCHMARKS,
    MULTI_OBJECTIVE_BENCHMARKS,
    StrategyConformance,
    shipped_tables,
)


@pytest.fixture(params=STRATEGIES.names())
def strategy_cls(request):
    return STRATEGIES.get(request.param)


class TestEveryRegisteredStrategy(StrategyConformance):
    benchmarks = tuple(dict.fromkeys((*CONFORMANCE_BENCHMARKS, *shipped_tables(),
                                      *MULTI_OBJECTIVE_BENCHMARKS,
                                      *MULTI_FIDELITY_MULTI_OBJECTIVE_BENCHMARKS)))


class TestOptunaBridge(StrategyConformance):
    @pytest.fixture(params=["optuna:TPESampler(n_startup_trials=5)", "optuna:RandomSampler"])
    def strategy_cls(self, request):
        return STRATEGIES.get(request.param)


class TestOptunaMultiObjective(StrategyConformance):
    benchmarks = MULTI_OBJECTIVE_BENCHMARKS

    @pytest.fixture(params=["optuna:NSGAIISampler(population_size=10)", "optuna:NSGAIIISampler",
                            "optuna:TPESampler(n_startup_trials=5)"])
    def strategy_cls(self, request):
        return STRATEGIES.get(request.param)
