"""Every registered strategy (no hand-kept list) through the conformance suite.

The strategies come from the registry at collection time, so a strategy added
to ``strategies/`` (or through the ``tabnas.strategies`` entry-point group) is
tested without editing this file. They run on the toy tables and on every
shipped table (live benchmarks, which train networks, have their own tests). The Optuna bridge is checked through two of its samplers.
"""

import pytest

from tabnas.strategy import STRATEGIES
from tabnas.testing import CONFORMANCE_BENCHMARKS, StrategyConformance, shipped_tables


@pytest.fixture(params=STRATEGIES.names())
def strategy_cls(request):
    return STRATEGIES.get(request.param)


class TestEveryRegisteredStrategy(StrategyConformance):
    benchmarks = tuple(dict.fromkeys((*CONFORMANCE_BENCHMARKS, *shipped_tables())))


class TestOptunaBridge(StrategyConformance):
    @pytest.fixture(params=["optuna:TPESampler(n_startup_trials=5)", "optuna:RandomSampler"])
    def strategy_cls(self, request):
        return STRATEGIES.get(request.param)
