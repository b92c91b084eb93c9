"""Aggregation over seeds: common grids, step interpolation, summaries, bootstrap CIs."""

import numpy as np
import pandas as pd
import pytest

from tabnas.errors import UserError
from tabnas.statistics import (
    anytime_ranks,
    bootstrap_ci,
    check_budget,
    cost_grid,
    curves,
    final_rows,
    normalised_regret,
    paired_wide,
    pairing_notes,
    run_matrix,
    step_values,
    values_at,
)


def make_runs(spec):
    """Rows in the results format from {(bench, strategy, seed): [(cum_cost, regret), ...]}."""
    rows = []
    for (bench, strat, seed), points in spec.items():
        for step, (cum, reg) in enumerate(points, start=1):
            rows.append({"benchmark": bench, "strategy": strat, "seed": seed, "step": step,
                         "cum_cost": float(cum), "regret_test": float(reg)})
    return pd.DataFrame(rows)


RUNS = make_runs({
    ("b", "a", 0): [(1, 5), (3, 2), (6, 1)],
    ("b", "a", 1): [(2, 4), (4, 4), (5, 0)],
    ("b", "z", 0): [(1, 6), (2, 3)],          # stopped early after 2 evaluations
    ("b", "z", 1): [(3, 2), (7, 2), (8, 1)],
})


def test_step_values_take_last_point_at_or_before():
    x = np.array([1.0, 3.0, 6.0])
    y = np.array([5.0, 2.0, 1.0])
    got = step_values(x, y, np.array([0.5, 1, 2.9, 3, 5.99, 6, 100]))
    np.testing.assert_array_equal(got, [np.nan, 5, 5, 2, 2, 1, 1])


def test_cost_matrix_and_early_stop_keeps_last_value():
    keys, m = run_matrix(RUNS, "cost", np.array([3.0, 6.0, 8.0]))
    assert keys == [("b", "a", 0), ("b", "a", 1), ("b", "z", 0), ("b", "z", 1)]
    np.testing.assert_array_equal(m, [[2, 1, 1], [4, 0, 0], [3, 3, 3], [2, 2, 1]])
    _, m = run_matrix(RUNS, "evals", np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(m[2], [6, 3, 3])


def test_cost_grid_starts_when_every_run_has_one_evaluation():
    g = cost_grid(RUNS, points=5)
    assert g[0] == 3.0 and g[-1] == 8.0 and np.all(np.diff(g) > 0)


def test_curves_mean_se_median_iqr_by_hand():
    c = curves(RUNS, "cost", grid=np.array([3.0, 8.0]))
    a = c[c["strategy"] == "a"].set_index("x")
    assert a.loc[3.0, "mean"] == 3.0 and a.loc[8.0, "mean"] == 0.5
    assert a.loc[3.0, "se"] == pytest.approx(np.std([2, 4], ddof=1) / np.sqrt(2))
    z = c[c["strategy"] == "z"].set_index("x")
    assert z.loc[8.0, "median"] == 2.0 and z.loc[8.0, "q25"] == 1.5 and z.loc[8.0, "q75"] == 2.5
    assert (c["n"] == 2).all()


def test_values_at_budget_and_final_agree():
    at = values_at(RUNS, evals=3)
    assert at.set_index(["strategy", "seed"])["value"].to_dict() == {
        ("a", 0): 1, ("a", 1): 0, ("z", 0): 3, ("z", 1): 1}
    fin = values_at(RUNS)
    assert fin["value"].tolist() == final_rows(RUNS)["regret_test"].tolist()
    assert values_at(RUNS, cost=4.0)["value"].tolist() == [2, 4, 3, 2]


@pytest.mark.parametrize(("kw", "needle"), [({"evals": 4}, "1..3"), ({"cost": 9.0}, "at most 8"),
                                            ({"cost": 2.0}, "one evaluation by 3")])
def test_budget_beyond_runs_is_refused(kw, needle):
    with pytest.raises(UserError, match=needle):
        check_budget(RUNS, **kw)


def test_unequal_seed_sets_pair_on_the_common_seeds():
    df = RUNS[~((RUNS["strategy"] == "z") & (RUNS["seed"] == 1))]
    long = values_at(df)
    wide = paired_wide(long, "b")
    assert wide.index.get_level_values("seed").tolist() == [0]
    assert wide.loc[("b", 0)].to_dict() == {"a": 1.0, "z": 3.0}
    (note,) = pairing_notes(long)
    assert note.startswith("b: strategies ran different seeds (a 2, z 1)") and "the 1 seeds" in note
    assert pairing_notes(values_at(RUNS)) == []
    # Ranks use the common seed only: at 3 evaluations a (1) beats z (3) on seed 0.
    r = anytime_ranks(df, "evals", grid=np.array([3.0]))
    assert r.set_index("strategy")["rank"].to_dict() == {"a": 1.0, "z": 2.0}
    disjoint = RUNS[~((RUNS["strategy"] == "z") & (RUNS["seed"] == 1))
                    & ~((RUNS["strategy"] == "a") & (RUNS["seed"] == 0))]
    with pytest.raises(UserError, match="b: no seed was run by every strategy"):
        paired_wide(values_at(disjoint), "b")


def test_anytime_ranks_within_seeds():
    r = anytime_ranks(RUNS, "evals", grid=np.array([1.0, 3.0]))
    got = r.set_index(["strategy", "x"])["rank"].to_dict()
    # evals=1: seed0 a5<z6, seed1 a4>z2 -> 1.5 each; evals=3: a(1,0) vs z(3,1) -> a wins both.
    assert got == {("a", 1.0): 1.5, ("z", 1.0): 1.5, ("a", 3.0): 1.0, ("z", 3.0): 2.0}


def test_normalised_regret_pools_benchmarks_on_one_scale():
    df = pd.concat([RUNS, RUNS.assign(benchmark="c", regret_test=RUNS["regret_test"] * 100)])
    n = normalised_regret(df)
    assert n.max() == 1.0 and n.min() == 0.0
    np.testing.assert_allclose(n[df["benchmark"] == "b"].to_numpy(),
                               n[df["benchmark"] == "c"].to_numpy())
    zero = normalised_regret(RUNS.assign(regret_test=0.0))
    assert (zero == 0).all()


def test_bootstrap_ci_matches_scipy_and_handles_degenerate_samples():
    from scipy.stats import bootstrap

    x = np.random.default_rng(1).exponential(size=25)
    lo, hi = bootstrap_ci(x, level=0.9, n_resamples=999, rng=np.random.default_rng(7))
    ref = bootstrap((x,), np.mean, confidence_level=0.9, n_resamples=999, method="BCa",
                    random_state=np.random.default_rng(7))
    assert (lo, hi) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    # 1000 seeds: drawn in batches, the interval is scipy's of one unbatched draw, exactly.
    x = np.random.default_rng(3).integers(0, 30, size=1000) / 7.0  # ties, as tables give
    got = bootstrap_ci(x, n_resamples=2000, rng=np.random.default_rng(11))
    ref = bootstrap((x,), np.mean, n_resamples=2000, method="BCa",
                    random_state=np.random.default_rng(11)).confidence_interval
    assert got == (ref.low, ref.high)
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert np.isnan(bootstrap_ci([np.nan])[0])


def test_bootstrap_ci_covers_truth_at_stated_rate():
    """90% BCa intervals of the mean of skewed samples cover the true mean ~90% of the time."""
    rng = np.random.default_rng(2024)
    trials, hits = 300, 0
    for _ in range(trials):
        x = rng.exponential(scale=2.0, size=40)   # true mean 2
        lo, hi = bootstrap_ci(x, level=0.9, n_resamples=400, rng=rng)
        hits += lo <= 2.0 <= hi
    coverage = hits / trials
    # Binomial s.d. at 0.9 over 300 trials is 0.017; BCa undercovers slightly at n=40.
    assert 0.84 <= coverage <= 0.95, coverage
