"""Simulated asynchronous workers: an event queue on the benchmark's simulated clock."""

import heapq

import numpy as np
import pytest

from tabnas.records import HOST_TIME_COLUMNS
from tabnas.runner import Budget, run_search
from tabnas.strategies.rea import RegularizedEvolution
from tabnas.strategy import STRATEGIES


def strip(records):
    return records.to_arrow().drop(list(HOST_TIME_COLUMNS))


@pytest.mark.parametrize("name", ["random", "rea"])
def test_one_worker_is_the_sequential_search(analog, name):
    cls = STRATEGIES.get(name)
    for budget in (Budget(evals=80), Budget(cost=1500.0)):
        assert strip(run_search(analog, cls, 5, budget, sim_workers=1)).equals(
            strip(run_search(analog, cls, 5, budget)))


@pytest.mark.parametrize("k", [2, 4, 16])
def test_clock_matches_an_independent_schedule(analog, k):
    """Random search ignores what it is told, so its K-worker schedule can be rebuilt:
    the proposals in ask order are the sequential run's, each starts when a worker frees."""
    cls = STRATEGIES.get("random")
    seq = run_search(analog, cls, 3, Budget(evals=100)).columns
    par = run_search(analog, cls, 3, Budget(evals=100), sim_workers=k).columns
    free = [0.0] * k
    finishes = []
    for arch, cost in zip(seq["arch"], seq["cost"], strict=True):
        start = heapq.heappop(free)
        finishes.append((start + cost, arch))
        heapq.heappush(free, start + cost)
    finishes.sort(key=lambda t: t[0])
    assert par["cum_cost"] == pytest.approx([t for t, _ in finishes], rel=1e-12)
    assert sorted(par["arch"]) == sorted(seq["arch"])
    assert par["step"] == list(range(1, 101))
    assert par["cum_cost"][-1] < seq["cum_cost"][-1]


def test_more_workers_finish_sooner_and_cost_budget_is_simulated_time(analog):
    cls = STRATEGIES.get("rea")
    ends = [run_search(analog, cls, 0, Budget(evals=200), sim_workers=k).columns["cum_cost"][-1]
            for k in (1, 4, 16)]
    assert ends[0] > ends[1] > ends[2]
    r = run_search(analog, cls, 0, Budget(cost=500.0), sim_workers=8).columns
    assert max(r["cum_cost"]) <= 500.0 and np.all(np.diff(r["cum_cost"]) >= 0)
    assert sum(r["cost"]) > 500.0  # eight workers do more work than the clock shows


def test_same_seed_same_records_with_workers(analog):
    cls = STRATEGIES.get("rea")
    a = run_search(analog, cls, 11, Budget(evals=120), sim_workers=6)
    b = run_search(analog, cls, 11, Budget(evals=120), sim_workers=6)
    assert strip(a).equals(strip(b))


class WatchedREA(RegularizedEvolution):
    """REA that counts proposals which were already pending, and the pending sizes seen."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = {"clashes": 0, "sizes": []}
        WatchedREA.last = self

    def ask(self):
        suggestion = super().ask()
        pending = [t.arch for t in self.history.pending]
        self.log["sizes"].append(len(pending))
        self.log["clashes"] += suggestion.arch in pending
        return suggestion


def test_strategy_sees_pending_and_rea_avoids_it(analog):
    run_search(analog, WatchedREA, 2, Budget(evals=300), sim_workers=8)
    log = WatchedREA.last.log
    assert log["sizes"][:8] == list(range(8))  # filling the idle workers at time 0
    assert max(log["sizes"]) == 7 and min(log["sizes"][8:]) == 7
    assert log["clashes"] == 0
    run_search(analog, WatchedREA, 2, Budget(evals=50))
    assert set(WatchedREA.last.log["sizes"]) == {0}  # sequential: nothing pending
