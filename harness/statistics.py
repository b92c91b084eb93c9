"""Statistics over seeds: regret curves on common grids, values at a budget, ranks, CIs.

Regret is the reported (test) regret of the incumbent, which is chosen on the
searched value. Curves are step functions: between evaluations a run's regret
is that of its last evaluation, and runs that stopped early (space exhausted,
cost budget reached) keep their last value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabnas.errors import BadConfiguration, UnpairedSeeds


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


def _runs(df: pd.DataFrame):
    """(benchmark, strategy, seed, rows) for every run, in a stable order."""
    for (bench, strat, seed), g in df.groupby(["benchmark", "strategy", "seed"], sort=True):
        yield bench, strat, int(seed), g.sort_values("step", kind="stable")


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
            raise BadConfiguration(
                f"budget of {evals} evaluations is outside {bench}'s runs (1..{max_evals}); "
                f"choose evals between 1 and {max_evals}"
            )
        if cost is not None:
            low = first_cost(df).get(bench, 0.0)
            if not (low <= cost <= max_cost):
                raise BadConfiguration(
                    f"budget of cost {cost:g} is outside {bench}'s runs (every run has one "
                    f"evaluation by {low:g}; they reach at most {max_cost:g}); choose "
                    f"cost between {low:g} and {max_cost:g}"
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
    keys, rows = [], []
    for bench, strat, seed, g in _runs(df):
        keys.append((bench, strat, seed))
        rows.append(step_values(g[column].to_numpy(dtype=float),
                                g[metric].to_numpy(dtype=float), grid))
    matrix = np.vstack(rows) if rows else np.empty((0, len(grid)))
    return keys, matrix


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


def values_at(df: pd.DataFrame, *, evals: int | None = None, cost: float | None = None,
              metric: str = "regret_test") -> pd.DataFrame:
    """Long table (benchmark, strategy, seed, value) of every run's ``metric`` at a budget.

    With neither budget given, each run's final value. The budget is checked first
    (:func:`check_budget`).
    """
    check_budget(df, evals=evals, cost=cost)
    rows = []
    for bench, strat, seed, g in _runs(df):
        if evals is not None:
            v = step_values(g["step"].to_numpy(float), g[metric].to_numpy(float),
                            np.array([evals], float))[0]
        elif cost is not None:
            v = step_values(g["cum_cost"].to_numpy(float), g[metric].to_numpy(float),
                            np.array([cost], float))[0]
        else:
            v = float(g[metric].iloc[-1])
        rows.append((bench, strat, seed, v))
    return pd.DataFrame(rows, columns=["benchmark", "strategy", "seed", "value"])


def paired_wide(long: pd.DataFrame, benchmark: str | None = None) -> pd.DataFrame:
    """Seeds x strategies of one benchmark (or (benchmark, seed) blocks of all of them).

    Paired tests need every strategy run on the same seeds (the same benchmark noise);
    a study whose strategies ran different seed sets is refused with the seeds that
    differ rather than silently compared on the intersection.
    """
    sub = long if benchmark is None else long[long["benchmark"] == benchmark]
    seeds = {s: set(zip(g["benchmark"], g["seed"], strict=True))
             for s, g in sub.groupby("strategy", sort=True)}
    names = sorted(seeds)
    union = set().union(*seeds.values()) if seeds else set()
    for s in names:
        missing = union - seeds[s]
        if missing:
            some = ", ".join(f"{b} seed {n}" for b, n in sorted(missing)[:3])
            raise UnpairedSeeds(
                f"strategies ran different seeds ({s} lacks {len(missing)} run(s), e.g. "
                f"{some}): paired comparisons need the same seeds for every strategy; "
                "run the missing seeds for the same experiment"
            )
    wide = sub.pivot_table(index=["benchmark", "seed"], columns="strategy", values="value",
                           aggfunc="first")
    return wide[names]


def anytime_ranks(df: pd.DataFrame, axis: str, grid: np.ndarray | None = None,
                  metric: str = "regret_test") -> pd.DataFrame:
    """Average rank (1 = best, ties averaged) of each strategy at every grid point.

    Ranks are taken within each seed of a benchmark (paired runs see the same noise)
    and averaged over seeds; the seed sets must match (:func:`paired_wide`).
    Columns: benchmark, strategy, x, rank.
    """
    from scipy.stats import rankdata

    parts = []
    for bench, db in df.groupby("benchmark", sort=True):
        g = grid if grid is not None else (evals_grid(db) if axis == "evals" else cost_grid(db))
        keys, m = run_matrix(db, axis, g, metric)
        long = pd.DataFrame({"benchmark": [k[0] for k in keys], "strategy": [k[1] for k in keys],
                             "seed": [k[2] for k in keys], "value": 0.0})
        paired_wide(long)  # refuses unpaired seed sets with a clear message
        names = sorted(set(long["strategy"]))
        seeds = sorted(set(long["seed"]))
        cube = np.full((len(seeds), len(names), len(g)), np.nan)
        for (_, strat, seed), row in zip(keys, m, strict=True):
            cube[seeds.index(seed), names.index(strat)] = row
        # Before a run's first evaluation its regret is unknown: rank it last there.
        filled = np.where(np.isnan(cube), np.inf, cube)
        ranks = rankdata(filled, axis=1, method="average").mean(axis=0)
        for i, strat in enumerate(names):
            parts.append(pd.DataFrame({"benchmark": bench, "strategy": strat, "x": g,
                                       "rank": ranks[i]}))
    return pd.concat(parts, ignore_index=True)
