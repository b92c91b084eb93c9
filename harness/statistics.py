"""Statistics over seeds: regret curves on common grids, values at a budget, ranks, CIs.

Regret is the reported (test) regret of the incumbent, which is chosen on the
searched value. Curves are step functions: between evaluations a run's regret
is that of its last evaluation, and runs that stopped early (space exhausted,
cost budget reached) keep their last value.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

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


#: The columns statistics, tables, plots and the report read (nothing else is loaded).
STATS_COLUMNS = ("benchmark", "strategy", "seed", "step", "cum_cost", "incumbent_arch",
                 "incumbent_value", "incumbent_test", "regret_value", "regret_test",
                 "stop_reason", "hypervolume", "igd_plus", "pareto_found", "front_size")
_RUN_KEY = ["benchmark", "strategy", "seed"]


def load_for_statistics(exp_dir, seeds: list[int] | None = None) -> tuple[pd.DataFrame, dict]:
    """An experiment's rows and manifest with only :data:`STATS_COLUMNS` read.

    ``seeds`` restricts the study to those seeds (``--seeds`` of stats and report);
    a seed no run has is refused, and the manifest's notes say which were used.
    """
    from tabnas.results import load_experiment

    df, manifest = load_experiment(exp_dir, columns=list(STATS_COLUMNS))
    for c in ("benchmark", "strategy"):
        # Names as plain Python strings (taken from the few categories, not converted row
        # by row); the architecture strings stay categorical.
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            cat = df[c].array
            df[c] = pd.Series(np.asarray(cat.categories, dtype=object).take(cat.codes),
                              index=df.index, dtype=object)
    if seeds is not None:
        have = set(df["seed"].unique().tolist())
        missing = sorted(set(seeds) - have)
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
            raise BadConfiguration(f"seeds: no run of experiment {exp_dir.name!r} has seed(s) "
                                   f"{shown}; its seeds are {_seed_text(have)}")
        df = df[df["seed"].isin(seeds)].reset_index(drop=True)
        manifest["notes"] = [*manifest.get("notes", []),
                             f"restricted to seeds {_seed_text(set(seeds))} (--seeds)."]
    return df, manifest


@dataclass(frozen=True)
class Layout:
    """A study's rows in run and step order, with where each run starts.

    Run ``i`` (``keys`` row i: benchmark, strategy, seed) is rows
    ``bounds[i]:bounds[i + 1]`` of ``df``. Computed once per frame
    (:func:`layout`) and shared by every curve, budget and rank, instead of a pandas
    group per run, which is what made thousands of runs slow.
    """

    df: pd.DataFrame
    keys: pd.DataFrame
    bounds: np.ndarray

    def runs_of(self, benchmark: str) -> np.ndarray:
        """Indices of the runs of one benchmark (consecutive: benchmark sorts first)."""
        return np.flatnonzero(self.keys["benchmark"].to_numpy() == benchmark)

    def rows(self, runs: np.ndarray) -> pd.DataFrame:
        """The rows of consecutive ``runs``, as a view."""
        return self.df.iloc[self.bounds[runs[0]]:self.bounds[runs[-1] + 1]]

    def matrix(self, runs, column: str, metric: str, grid: np.ndarray) -> np.ndarray:
        """Runs x grid step interpolation of ``metric`` by ``column`` (NaN before a run's
        first point; a run that stopped keeps its last value)."""
        x = self.df[column].to_numpy(dtype=float)
        y = self.df[metric].to_numpy(dtype=float)
        out = np.full((len(runs), len(grid)), np.nan)
        for row, i in enumerate(runs):
            lo, hi = self.bounds[i], self.bounds[i + 1]
            pos = np.searchsorted(x[lo:hi], grid, side="right") - 1
            ok = pos >= 0
            out[row, ok] = y[lo:hi][pos[ok]]
        return out


_LAYOUTS: dict[int, tuple[weakref.ref, int, Layout]] = {}


def layout(df: pd.DataFrame) -> Layout:
    """The :class:`Layout` of ``df``, computed once while the frame lives."""
    hit = _LAYOUTS.get(id(df))
    if hit is not None and hit[0]() is df and hit[1] == len(df):
        return hit[2]
    result = _make_layout(df)
    for key in [k for k, (ref, _, _) in _LAYOUTS.items() if ref() is None]:
        del _LAYOUTS[key]
    _LAYOUTS[id(df)] = (weakref.ref(df), len(df), result)
    return result


def _make_layout(df: pd.DataFrame) -> Layout:
    n = len(df)
    if n == 0:
        return Layout(df, pd.DataFrame(columns=_RUN_KEY), np.zeros(1, dtype=np.int64))
    codes = [pd.factorize(df[c], sort=True)[0] for c in _RUN_KEY]
    step = df["step"].to_numpy()
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for c in codes:
        change[1:] |= np.diff(c) != 0
    # Sorted iff the (benchmark, strategy, seed, step) tuples never decrease: the sign
    # of the first key that differs between neighbours is never negative.
    first = np.zeros(n - 1, dtype=np.int8)
    for c in (*codes, step):
        first = np.where(first == 0, np.sign(np.diff(c)).astype(np.int8), first)
    if (first < 0).any():
        order = np.lexsort((step, *reversed(codes)))
        return _make_layout(df.iloc[order])
    starts = np.flatnonzero(change)
    keys = df.iloc[starts][_RUN_KEY].reset_index(drop=True)
    keys["seed"] = keys["seed"].astype(int)
    return Layout(df, keys, np.r_[starts, n])


def _runs(df: pd.DataFrame):
    """(benchmark, strategy, seed, rows) for every run, in a stable order."""
    lay = layout(df)
    for i, (bench, strat, seed) in enumerate(lay.keys.itertuples(index=False)):
        yield bench, strat, int(seed), lay.df.iloc[lay.bounds[i]:lay.bounds[i + 1]]


def budget_limits(df: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """Per benchmark: the largest evaluation count and cumulative cost any run reached.

    From the frame's :func:`layout` (per-run maxima, then per benchmark), not a group-by
    over every row: a report asks once per budget it checks.
    """
    lay = layout(df)
    if not len(lay.keys):
        return {}
    starts = lay.bounds[:-1]
    steps = np.maximum.reduceat(lay.df["step"].to_numpy(), starts)
    costs = np.fmax.reduceat(lay.df["cum_cost"].to_numpy(dtype=float), starts)
    benches = lay.keys["benchmark"].to_numpy()
    return {b: (int(steps[benches == b].max()), float(np.nanmax(costs[benches == b])))
            for b in sorted(set(benches))}


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
    lay = layout(df)
    runs = np.arange(len(lay.keys))
    keys = [(b, s, int(n)) for b, s, n in lay.keys.itertuples(index=False)]
    return keys, lay.matrix(runs, column, metric, grid)


def summarise_columns(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per column over runs: n, mean, standard error, median and quartiles (NaN ignored)."""
    import warnings

    mean, se = mean_se(matrix)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # nanquantile goes column by column; without NaN one vectorised call does.
        quantile = np.quantile if not np.isnan(matrix).any() else np.nanquantile
        q25, median, q75 = quantile(matrix, [0.25, 0.5, 0.75], axis=0) if matrix.size else (
            np.full(matrix.shape[1], np.nan) for _ in range(3))
    return {"n": np.sum(np.isfinite(matrix), axis=0), "mean": mean, "se": se,
            "median": median, "q25": q25, "q75": q75}


def curves(df: pd.DataFrame, axis: str, grid: np.ndarray | None = None,
           metric: str = "regret_test") -> pd.DataFrame:
    """Long table of aggregated curves: benchmark, strategy, x and :data:`CURVE_STATS`.

    Without ``grid`` each benchmark gets its own (:func:`evals_grid` or :func:`cost_grid`).
    """
    column = {"evals": "step", "cost": "cum_cost"}.get(axis)
    if column is None:
        raise ValueError(f"axis must be 'evals' or 'cost', not {axis!r}")
    lay = layout(df)
    parts = []
    strategies = lay.keys["strategy"].to_numpy()
    for bench in sorted(set(lay.keys["benchmark"])):
        runs = lay.runs_of(bench)
        db = lay.rows(runs)
        g = grid if grid is not None else (evals_grid(db) if axis == "evals" else cost_grid(db))
        m = lay.matrix(runs, column, metric, g)
        for strat in sorted(set(strategies[runs])):
            stats = summarise_columns(m[strategies[runs] == strat])
            parts.append(pd.DataFrame({"benchmark": bench, "strategy": strat, "x": g, **stats}))
    columns = ["benchmark", "strategy", "x", *CURVE_STATS]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


#: Bootstrap resamples drawn (and jackknife rows made) at a time by :func:`bootstrap_ci`.
BOOTSTRAP_BATCH = 256


def bootstrap_ci(x, statistic=np.mean, *, level: float = 0.95, n_resamples: int = 2000,
                 rng: np.random.Generator | None = None,
                 method: str = "BCa") -> tuple[float, float]:
    """Bootstrap confidence interval of ``statistic`` over the runs in ``x`` (scipy).

    BCa by default (second-order accurate); samples that are constant or too small for
    an interval give a degenerate interval (the value itself) or NaN, never an error.
    ``rng`` defaults to a fixed generator so a report is reproducible. Resamples are
    drawn in scipy's batches of :data:`BOOTSTRAP_BATCH`: the same interval as one draw
    of all of them (the tests check it), without a resample matrix of 2000 x runs
    (16 MB at 1000 seeds, whose first touch alone cost more than the arithmetic).
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
                        method=method, random_state=rng, vectorized=True, axis=-1,
                        batch=BOOTSTRAP_BATCH)
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
    lay = layout(df)
    df, bounds = lay.df, lay.bounds
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
    for bench, strat, seed in sorted(zip(long["benchmark"], long["strategy"],
                                         long["seed"].astype(int), strict=True)):
        out.setdefault(str(bench), {}).setdefault(str(strat), set()).add(int(seed))
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
            raise UnpairedSeeds(
                f"{bench}: no seed was run by every strategy ({each}), so no paired "
                "comparison is possible; run common seeds for the same experiment"
            )
        keep.append(sub[(sub["benchmark"] == bench) & sub["seed"].isin(common)])
    names = sorted({s for v in sets.values() for s in v})
    if not keep:
        return pd.DataFrame(columns=names)
    sub = pd.concat(keep) if len(keep) > 1 else keep[0]
    sub = sub.drop_duplicates(["benchmark", "seed", "strategy"])
    wide = sub.set_index(["benchmark", "seed", "strategy"])["value"].unstack("strategy")
    wide.columns = [str(c) for c in wide.columns]
    return wide[names].sort_index()


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
        raise BadConfiguration(f"unknown block choice {blocks!r}: use one of "
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

    column = {"evals": "step", "cost": "cum_cost"}.get(axis)
    if column is None:
        raise ValueError(f"axis must be 'evals' or 'cost', not {axis!r}")
    lay = layout(df)
    parts = []
    for bench in sorted(set(lay.keys["benchmark"])):
        runs = lay.runs_of(bench)
        db = lay.rows(runs)
        g = grid if grid is not None else (evals_grid(db) if axis == "evals" else cost_grid(db))
        long = lay.keys.iloc[runs].assign(value=0.0)
        seeds = common_seeds(long, str(bench))
        paired_wide(long)  # refuses a benchmark with no common seed
        names = sorted(set(long["strategy"]))
        where = {seed: i for i, seed in enumerate(seeds)}
        chosen = [(i, where[seed], names.index(strat)) for i, strat, seed in
                  zip(runs, long["strategy"], long["seed"], strict=True) if seed in where]
        m = lay.matrix([c[0] for c in chosen], column, metric, g)
        cube = np.full((len(seeds), len(names), len(g)), np.nan)
        for row, (_, si, ni) in zip(m, chosen, strict=True):
            cube[si, ni] = row
        # Before a run's first evaluation its regret is unknown: rank it last there.
        filled = np.where(np.isnan(cube), np.inf, cube)
        ranks = rankdata(filled, axis=1, method="average").mean(axis=0)
        for i, strat in enumerate(names):
            parts.append(pd.DataFrame({"benchmark": bench, "strategy": strat, "x": g,
                                       "rank": ranks[i]}))
    return pd.concat(parts, ignore_index=True)
