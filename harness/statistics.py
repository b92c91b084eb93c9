"""Statistics over seeds: regret curves on common grids, values at a budget, ranks, CIs.

Regret is the reported (test) regret of the incumbent, which is chosen on the
searched value. Curves are step functions: between evaluations a run's regret
is that of its last evaluation, and runs that stopped early (space exhausted,
cost budget reached) keep their last value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabnas.errors import UserError


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The last evaluation of every run."""
    idx = df.groupby(["benchmark", "strategy", "seed"], sort=True)["step"].idxmax()
    return df.loc[idx.to_numpy()].reset_index(drop=True)


def mean_se(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and standard error over runs, ignoring NaN (not-yet-defined) entries."""
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n = np.sum(np.isfinite(matrix), axis=0)
        mean = np.nanmean(matrix, axis=0) if matrix.size else np.array([])
        sd = np.nanstd(matrix, axis=0, ddof=1) if matrix.size else np.array([])
        se = np.where(n > 1, sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return mean, se


# --- Common grids, aggregation over seeds, bootstrap intervals, normalised regret ---------
#
# Every run is a step function of the budget: its regret at budget ``b`` is the regret of
# the last evaluation finished by ``b``. Runs are put on one grid (evaluations or
# cumulative cost) before anything is averaged, so strategies whose evaluations cost
# different amounts are compared at equal spend, not at equal evaluation counts.

#: The statistics a curve carries at every grid point.
CURVE_STATS = ("n", "mean", "se", "median", "q25", "q75")


#: The columns statistics, tables, plots and the report read (nothing else is loaded).
STATS_COLUMNS = ("benchmark", "strategy", "seed", "step", "cum_cost", "incumbent_arch",
                 "incumbent_value", "incumbent_test", "regret_value", "regret_test")
_RUN_KEY = ["benchmark", "strategy", "seed"]


def load_for_statistics(exp_dir, seeds: list[int] | None = None) -> tuple[pd.DataFrame, dict]:
    """An experiment's rows and manifest with only :data:`STATS_COLUMNS` read.

    ``seeds`` restricts the study to those seeds (``--seeds`` of stats and report);
    a seed no run has is refused, and the manifest's notes say which were used.
    """
    from tabnas.results import load_experiment

    df, manifest = load_experiment(exp_dir, columns=list(STATS_COLUMNS))
    if seeds is not None:
        have = set(df["seed"].unique().tolist())
        missing = sorted(set(seeds) - have)
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
            raise UserError(f"--seeds: no run of experiment {exp_dir.name!r} has seed(s) "
                            f"{shown}; its seeds are {_seed_text(have)}")
        df = df[df["seed"].isin(seeds)].reset_index(drop=True)
        manifest["notes"] = [*manifest.get("notes", []),
                             f"restricted to seeds {_seed_text(set(seeds))} (--seeds)."]
    return df, manifest


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` in run and step order (a loaded study already is: then no copy is made)."""
    keys = df[_RUN_KEY + ["step"]]
    codes = [pd.factorize(keys[c], sort=True)[0] for c in _RUN_KEY]
    order = np.lexsort((keys["step"].to_numpy(), *reversed(codes)))
    if np.all(order[1:] > order[:-1]):
        return df
    return df.iloc[order]


def _run_bounds(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Run keys (benchmark, strategy, seed) and row offsets of each run in sorted ``df``.

    Run ``i`` is rows ``bounds[i]:bounds[i + 1]``. One pass over the key columns
    replaces a pandas group per run, which is what made thousands of runs slow.
    """
    n = len(df)
    if n == 0:
        return pd.DataFrame(columns=_RUN_KEY), np.zeros(1, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for c in _RUN_KEY:
        v = df[c].to_numpy()
        change[1:] |= v[1:] != v[:-1]
    starts = np.flatnonzero(change)
    keys = df.iloc[starts][_RUN_KEY].reset_index(drop=True)
    keys["seed"] = keys["seed"].astype(int)
    return keys, np.r_[starts, n]


def _runs(df: pd.DataFrame):
    """(benchmark, strategy, seed, rows) for every run, in a stable order."""
    df = _sorted(df)
    keys, bounds = _run_bounds(df)
    for i, (bench, strat, seed) in enumerate(keys.itertuples(index=False)):
        yield bench, strat, int(seed), df.iloc[bounds[i]:bounds[i + 1]]


def budget_limits(df: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """Per benchmark: the largest evaluation count and cumulative cost any run reached."""
    out = {}
    for bench, db in df.groupby("benchmark", sort=True):
        out[bench] = (int(db["step"].max()), float(db["cum_cost"].max()))
    return out


def first_cost(df: pd.DataFrame) -> dict[str, float]:
    """Per benchmark: the cost by which every run has finished its first evaluation."""
    firsts = df[df["step"] == 1]
    return {b: float(g["cum_cost"].max()) for b, g in firsts.groupby("benchmark", sort=True)}


def check_budget(df: pd.DataFrame, *, evals: int | None = None,
                 cost: float | None = None) -> None:
    """Refuse a budget no run of some benchmark reached: its statistics would be made up."""
    for bench, (max_evals, max_cost) in budget_limits(df).items():
        if evals is not None and (evals < 1 or evals > max_evals):
            raise UserError(
                f"budget of {evals} evaluations is outside {bench}'s runs (1..{max_evals}); "
                f"choose --at-evals between 1 and {max_evals}"
            )
        if cost is not None:
            low = first_cost(df).get(bench, 0.0)
            if not (low <= cost <= max_cost):
                raise UserError(
                    f"budget of cost {cost:g} is outside {bench}'s runs (every run has one "
                    f"evaluation by {low:g}; they reach at most {max_cost:g}); choose "
                    f"--at-cost between {low:g} and {max_cost:g}"
                )


def evals_grid(df: pd.DataFrame, points: int | None = None) -> np.ndarray:
    """Evaluation counts 1..max over all runs (``points`` log-spaced values when given)."""
    top = int(df["step"].max())
    if points is None or points >= top:
        return np.arange(1, top + 1, dtype=float)
    return np.unique(np.round(np.geomspace(1, top, points))).astype(float)


def cost_grid(df: pd.DataFrame, points: int = 200) -> np.ndarray:
    """Log-spaced costs from where every run has finished one evaluation to the largest spend.

    Starting at the latest first evaluation means every run is defined at every grid
    point, so no mean is taken over a subset of the runs (no survivor artefacts).
    """
    firsts = df.loc[df["step"] == 1, "cum_cost"].to_numpy(dtype=float)
    start = float(firsts.max()) if len(firsts) else 0.0
    stop = float(df["cum_cost"].max())
    if not (0 < start < stop):
        return np.array([start]) if start > 0 else np.array([])
    return np.geomspace(start, stop, points)


def step_values(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Step interpolation: ``y`` of the last ``x <= g`` for every ``g``; NaN before the first."""
    pos = np.searchsorted(x, grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    ok = pos >= 0
    out[ok] = y[pos[ok]]
    return out


def run_matrix(df: pd.DataFrame, axis: str, grid: np.ndarray,
               metric: str = "regret_test") -> tuple[list[tuple[str, str, int]], np.ndarray]:
    """Runs x grid matrix of ``metric`` by ``axis`` ("evals" or "cost"), with run keys.

    A run that stopped early (space exhausted, cost budget reached) keeps its last value:
    its incumbent does not get worse after it stops.
    """
    column = {"evals": "step", "cost": "cum_cost"}.get(axis)
    if column is None:
        raise ValueError(f"axis must be 'evals' or 'cost', not {axis!r}")
    df = _sorted(df)
    keys, bounds = _run_bounds(df)
    x = df[column].to_numpy(dtype=float)
    y = df[metric].to_numpy(dtype=float)
    matrix = np.full((len(keys), len(grid)), np.nan)
    for i in range(len(keys)):
        lo, hi = bounds[i], bounds[i + 1]
        pos = np.searchsorted(x[lo:hi], grid, side="right") - 1
        ok = pos >= 0
        matrix[i, ok] = y[lo:hi][pos[ok]]
    return [(b, s, int(n)) for b, s, n in keys.itertuples(index=False)], matrix


def summarise_columns(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per column over runs: n, mean, standard error, median and quartiles (NaN ignored)."""
    import warnings

    mean, se = mean_se(matrix)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q25, median, q75 = (np.nanquantile(matrix, q, axis=0) for q in (0.25, 0.5, 0.75))
    return {"n": np.sum(np.isfinite(matrix), axis=0), "mean": mean, "se": se,
            "median": median, "q25": q25, "q75": q75}


def curves(df: pd.DataFrame, axis: str, grid: np.ndarray | None = None,
           metric: str = "regret_test") -> pd.DataFrame:
    """Long table of aggregated curves: benchmark, strategy, x and :data:`CURVE_STATS`.

    Without ``grid`` each benchmark gets its own (:func:`evals_grid` or :func:`cost_grid`).
    """
    parts = []
    for bench, db in df.groupby("benchmark", sort=True):
        g = grid if grid is not None else (evals_grid(db) if axis == "evals" else cost_grid(db))
        for strat, ds in db.groupby("strategy", sort=True):
            _, m = run_matrix(ds, axis, g, metric)
            stats = summarise_columns(m)
            part = pd.DataFrame({"benchmark": bench, "strategy": strat, "x": g, **stats})
            parts.append(part)
    columns = ["benchmark", "strategy", "x", *CURVE_STATS]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def bootstrap_ci(x, statistic=np.mean, *, level: float = 0.95, n_resamples: int = 2000,
                 rng: np.random.Generator | None = None,
                 method: str = "BCa") -> tuple[float, float]:
    """Bootstrap confidence interval of ``statistic`` over the runs in ``x`` (scipy).

    BCa by default (second-order accurate); samples that are constant or too small for
    an interval give a degenerate interval (the value itself) or NaN, never an error.
    ``rng`` defaults to a fixed generator so a report is reproducible.
    """
    import warnings

    from scipy.stats import bootstrap

    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return (np.nan, np.nan)
    if len(x) == 1 or np.all(x == x[0]):
        v = float(statistic(x))
        return (v, v)
    rng = rng if rng is not None else np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap((x,), statistic, confidence_level=level, n_resamples=n_resamples,
                        method=method, random_state=rng, vectorized=True, axis=-1)
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)) and method != "percentile":
        return bootstrap_ci(x, statistic, level=level, n_resamples=n_resamples, rng=rng,
                            method="percentile")
    return (lo, hi)


def normalised_regret(df: pd.DataFrame, metric: str = "regret_test") -> pd.Series:
    """``metric`` divided by the largest value it takes on the same benchmark in ``df``.

    Regrets of different benchmarks are in different units (accuracy points, error,
    MAE); pooled curves and ranks need one scale. The largest incumbent regret in the
    experiment is the worst first evaluation any run made, so 1 is "as bad as the worst
    start seen" and 0 is the table's optimum. A benchmark whose runs all found the
    optimum (largest regret 0) is 0 throughout.
    """
    scale = df.groupby("benchmark")[metric].transform("max").to_numpy(dtype=float)
    values = df[metric].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(scale > 0, values / np.where(scale > 0, scale, 1.0), 0.0)
    return pd.Series(out, index=df.index, name=f"normalised_{metric}")


def budget_rows(df: pd.DataFrame, *, evals: int | None = None,
                cost: float | None = None) -> pd.DataFrame:
    """The row in effect at a budget for every run (its last evaluation by then).

    With neither budget given, each run's final row. The budget is checked first
    (:func:`check_budget`), so every run has a row.
    """
    check_budget(df, evals=evals, cost=cost)
    df = _sorted(df)
    _, bounds = _run_bounds(df)
    if evals is None and cost is None:
        idx = bounds[1:] - 1
    else:
        x = df["step" if evals is not None else "cum_cost"].to_numpy(dtype=float)
        budget = float(evals if evals is not None else cost)
        idx = np.array([lo + max(0, np.searchsorted(x[lo:hi], budget, side="right") - 1)
                        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)], dtype=np.int64)
    return df.iloc[idx].reset_index(drop=True)


def values_at(df: pd.DataFrame, *, evals: int | None = None, cost: float | None = None,
              metric: str = "regret_test") -> pd.DataFrame:
    """Long table (benchmark, strategy, seed, value) of every run's ``metric`` at a budget.

    With neither budget given, each run's final value (see :func:`budget_rows`).
    """
    rows = budget_rows(df, evals=evals, cost=cost)
    out = rows[_RUN_KEY].copy()
    out["seed"] = out["seed"].astype(int)
    out["value"] = rows[metric].to_numpy(dtype=float)
    return out


def seed_sets(long: pd.DataFrame) -> dict[str, dict[str, set[int]]]:
    """Benchmark -> strategy -> the seeds it has a value for."""
    out: dict[str, dict[str, set[int]]] = {}
    for (bench, strat), g in long.groupby(["benchmark", "strategy"], sort=True, observed=True):
        out.setdefault(str(bench), {})[str(strat)] = set(g["seed"].astype(int))
    return out


def common_seeds(long: pd.DataFrame, benchmark: str) -> list[int]:
    """The seeds every strategy of ``benchmark`` ran (what paired tests use)."""
    sets = seed_sets(long).get(benchmark, {})
    return sorted(set.intersection(*sets.values())) if sets else []


def pairing_notes(long: pd.DataFrame) -> list[str]:
    """One line per benchmark whose strategies ran different seed sets, for the output."""
    notes = []
    for bench, sets in seed_sets(long).items():
        counts = {s: len(v) for s, v in sets.items()}
        if len(set(counts.values())) > 1 or len(set(map(frozenset, sets.values()))) > 1:
            common = set.intersection(*sets.values())
            each = ", ".join(f"{s} {n}" for s, n in counts.items())
            notes.append(f"{bench}: strategies ran different seeds ({each}); per-strategy "
                         f"summaries use all of a strategy's seeds, paired tests and ranks "
                         f"the {len(common)} seeds every strategy ran.")
    return notes


def paired_wide(long: pd.DataFrame, benchmark: str | None = None) -> pd.DataFrame:
    """Seeds x strategies of one benchmark (or (benchmark, seed) blocks of all of them).

    Paired tests need every strategy run on the same seeds (the same benchmark
    noise), so only the seeds every strategy of a benchmark ran are kept
    (:func:`pairing_notes` says so in the output). A benchmark where no seed is
    common to all strategies is refused.
    """
    sub = long if benchmark is None else long[long["benchmark"] == benchmark]
    sets = seed_sets(sub)
    keep = []
    for bench, by_strategy in sets.items():
        common = set.intersection(*by_strategy.values())
        if not common:
            each = ", ".join(f"{s}: {_seed_text(v)}" for s, v in by_strategy.items())
            raise UserError(
                f"{bench}: no seed was run by every strategy ({each}), so no paired "
                "comparison is possible; run common seeds with 'tabnas run --seeds N' for "
                "the same experiment"
            )
        keep.append(sub[(sub["benchmark"] == bench) & sub["seed"].isin(common)])
    names = sorted({s for v in sets.values() for s in v})
    if not keep:
        return pd.DataFrame(columns=names)
    sub = pd.concat(keep) if len(keep) > 1 else keep[0]
    wide = sub.pivot_table(index=["benchmark", "seed"], columns="strategy", values="value",
                           aggfunc="first", observed=True)
    wide.columns = [str(c) for c in wide.columns]
    return wide[names]


def _seed_text(seeds: set[int]) -> str:
    s = sorted(seeds)
    return f"{s[0]}..{s[-1]} ({len(s)})" if len(s) > 3 else ", ".join(map(str, s))


#: Friedman/Nemenyi block choices (``auto``: see :func:`friedman_blocks`).
BLOCK_CHOICES = ("auto", "benchmarks", "seeds")


def friedman_blocks(long: pd.DataFrame, blocks: str = "auto") -> tuple[pd.DataFrame, str]:
    """The blocks x strategies table the Friedman test ranks, and what a block is.

    ``benchmarks``: one block per benchmark, the value of each strategy its mean
    over the common seeds (Demšar 2006's convention, one row per data set, and
    autorank's). ``seeds``: one block per (benchmark, seed) pair. ``auto`` takes
    benchmarks when the study has several and seeds when it has one (then the
    seeds are the only replication there is).
    """
    if blocks not in BLOCK_CHOICES:
        raise UserError(f"unknown block choice {blocks!r}: use one of "
                        f"{', '.join(BLOCK_CHOICES)}")
    wide = paired_wide(long)
    n_bench = long["benchmark"].nunique()
    if blocks == "auto":
        blocks = "benchmarks" if n_bench > 1 else "seeds"
    if blocks == "seeds":
        return wide, (f"(benchmark, seed) pairs ({len(wide)} blocks)" if n_bench > 1
                      else f"seeds ({len(wide)} blocks)")
    means = wide.groupby(level="benchmark", sort=True).mean()
    return means, f"benchmarks ({len(means)} blocks, each the mean over its common seeds)"


def anytime_ranks(df: pd.DataFrame, axis: str, grid: np.ndarray | None = None,
                  metric: str = "regret_test") -> pd.DataFrame:
    """Average rank (1 = best, ties averaged) of each strategy at every grid point.

    Ranks are taken within each seed of a benchmark (paired runs see the same noise)
    and averaged over the seeds every strategy ran (:func:`common_seeds`).
    Columns: benchmark, strategy, x, rank.
    """
    from scipy.stats import rankdata

    parts = []
    for bench, db in df.groupby("benchmark", sort=True, observed=True):
        g = grid if grid is not None else (evals_grid(db) if axis == "evals" else cost_grid(db))
        keys, m = run_matrix(db, axis, g, metric)
        long = pd.DataFrame({"benchmark": [k[0] for k in keys], "strategy": [k[1] for k in keys],
                             "seed": [k[2] for k in keys], "value": 0.0})
        seeds = common_seeds(long, str(bench))
        paired_wide(long)  # refuses a benchmark with no common seed
        names = sorted(set(long["strategy"]))
        where = {seed: i for i, seed in enumerate(seeds)}
        cube = np.full((len(seeds), len(names), len(g)), np.nan)
        for (_, strat, seed), row in zip(keys, m, strict=True):
            if seed in where:
                cube[where[seed], names.index(strat)] = row
        # Before a run's first evaluation its regret is unknown: rank it last there.
        filled = np.where(np.isnan(cube), np.inf, cube)
        ranks = rankdata(filled, axis=1, method="average").mean(axis=0)
        for i, strat in enumerate(names):
            parts.append(pd.DataFrame({"benchmark": bench, "strategy": strat, "x": g,
                                       "rank": ranks[i]}))
    return pd.concat(parts, ignore_index=True)
