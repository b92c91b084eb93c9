"""The runner's statistics: exact expectations, paired comparisons, reproducibility."""

import random

import numpy as np
import pytest
from scipy.special import gammaln
from scipy.stats import wilcoxon

from tabnas.records import HOST_TIME_COLUMNS
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES


def expected_max_without_replacement(values: np.ndarray, n: int) -> float:
    """E[max of n draws without replacement]: P(max = v_(k)) = C(k-1, n-1) / C(N, n)."""
    v = np.sort(values)
    big_n = len(v)
    k = np.arange(n, big_n + 1)
    log_p = (gammaln(k) - gammaln(n) - gammaln(k - n + 1)) - (
        gammaln(big_n + 1) - gammaln(n + 1) - gammaln(big_n - n + 1)
    )
    p = np.exp(log_p)
    assert p.sum() == pytest.approx(1.0)
    return float(np.dot(p, v[n - 1:]))


def test_random_matches_order_statistics(analog):
    seeds = range(120)
    runs = [run_search(analog, STRATEGIES.get("random"), s, Budget(evals=200)) for s in seeds]
    values = analog.tests[:, 0, 0]
    opt = values.max()
    for n in (10, 50, 200):
        regrets = np.array([r.columns["regret_test"][n - 1] for r in runs])
        expected = opt - expected_max_without_replacement(values, n)
        se = regrets.std(ddof=1) / np.sqrt(len(regrets))
        assert abs(regrets.mean() - expected) < 3 * se, (n, regrets.mean(), expected, se)


def test_rea_beats_random(analog):
    finals = {}
    for name in ("random", "rea"):
        cls = STRATEGIES.get(name)
        finals[name] = np.array([
            run_search(analog, cls, s, Budget(evals=200)).columns["regret_test"][-1]
            for s in range(100)
        ])
    assert finals["rea"].mean() < finals["random"].mean()
    p = wilcoxon(finals["rea"], finals["random"], alternative="less").pvalue
    assert p < 0.01


def _strip(records):
    cols = dict(records.columns)
    for name in HOST_TIME_COLUMNS:
        cols.pop(name)
    return cols


@pytest.mark.parametrize("name", ["random", "rea"])
def test_same_seed_same_records_and_no_global_rng(analog, name):
    cls = STRATEGIES.get(name)
    np_state = np.random.get_state()  # noqa: NPY002 (checking the legacy global state)
    py_state = random.getstate()
    a = run_search(analog, cls, 7, Budget(evals=120))
    b = run_search(analog, cls, 7, Budget(evals=120))
    c = run_search(analog, cls, 8, Budget(evals=120))
    assert _strip(a) == _strip(b)
    host = list(HOST_TIME_COLUMNS)
    assert a.to_arrow().drop(host).equals(b.to_arrow().drop(host))
    assert _strip(a)["arch"] != _strip(c)["arch"]
    new_np = np.random.get_state()  # noqa: NPY002
    assert new_np[0] == np_state[0] and np.array_equal(new_np[1], np_state[1])
    assert new_np[2:] == np_state[2:]
    assert random.getstate() == py_state


def test_incumbent_chosen_on_value_and_regret_monotone(analog):
    r = run_search(analog, STRATEGIES.get("rea"), 3, Budget(evals=150)).columns
    best = -np.inf
    for v, iv in zip(r["value"], r["incumbent_value"], strict=True):
        best = max(best, v)
        assert iv == best
    assert all(x >= y for x, y in zip(r["regret_test"], r["regret_test"][1:], strict=False))
    assert min(r["regret_test"]) >= 0
    assert r["step"] == list(range(1, 151))


def test_cost_budget_is_respected(analog):
    r = run_search(analog, STRATEGIES.get("random"), 0, Budget(cost=2000.0)).columns
    assert r["cum_cost"][-1] <= 2000.0
    assert np.allclose(np.cumsum(r["cost"]), r["cum_cost"])
    assert len(r["step"]) > 5


def test_random_exhausts_a_space_without_repeats():
    from tabnas.benchmarks.base import TableBenchmark
    from tabnas.spaces.nb201 import NB201Space

    space = NB201Space()
    vals = np.arange(space.size, dtype=float).reshape(-1, 1, 1)
    bench = TableBenchmark(name="toy", space=space, values=vals, tests=vals,
                           costs=np.ones_like(vals))
    r = run_search(bench, STRATEGIES.get("random"), 0, Budget(evals=20000)).columns
    assert len(r["arch"]) == space.size == len(set(r["arch"]))
    assert r["regret_test"][-1] == 0.0
