"""Statistics over seeds: final-regret tables, average ranks, and regret curves.

Regret is the reported (test) regret of the incumbent, which is chosen on the
searched value. Curves are step functions: between evaluations a run's regret
is that of its last evaluation, and runs that stopped early (space exhausted,
cost budget reached) keep their last value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.errors import UserError


def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The last evaluation of every run."""
    idx = df.groupby(["benchmark", "strategy", "seed"], sort=True)["step"].idxmax()
    return df.loc[idx.to_numpy()].reset_index(drop=True)


def average_ranks(final: pd.DataFrame, metric: str = "regret_test") -> pd.Series:
    """Mean rank per strategy (1 = best, ties averaged) over the seeds all strategies share."""
    from scipy.stats import rankdata

    wide = final.pivot_table(index="seed", columns="strategy", values=metric, aggfunc="first")
    wide = wide.dropna()
    if wide.empty:
        return pd.Series(np.nan, index=sorted(final["strategy"].unique()))
    ranks = rankdata(wide.to_numpy(), axis=1, method="average")
    return pd.Series(ranks.mean(axis=0), index=wide.columns)


def final_table(df: pd.DataFrame, metric: str = "regret_test") -> pd.DataFrame:
    """Per benchmark and strategy: final regret mean, standard error, median, IQR, rank."""
    if df.empty:
        raise UserError("no evaluations to summarise: the experiment's runs are empty")
    rows = []
    final = final_rows(df)
    for bench, fb in final.groupby("benchmark", sort=True):
        ranks = average_ranks(fb, metric)
        for strat, fs in fb.groupby("strategy", sort=False):
            x = fs[metric].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            n = len(x)
            rows.append({
                "benchmark": bench,
                "strategy": strat,
                "runs": n,
                "evals (median)": float(fs["step"].median()),
                "mean": float(x.mean()) if n else np.nan,
                "se": float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                "median": float(np.median(x)) if n else np.nan,
                "q25": float(np.quantile(x, 0.25)) if n else np.nan,
                "q75": float(np.quantile(x, 0.75)) if n else np.nan,
                "avg_rank": float(ranks.get(strat, np.nan)),
            })
    out = pd.DataFrame(rows)
    return out.sort_values(["benchmark", "mean"], kind="stable").reset_index(drop=True)


def regret_matrix_by_step(runs: pd.DataFrame, metric: str = "regret_test") -> np.ndarray:
    """Runs x steps matrix of regret; a run that stopped early keeps its last value."""
    max_step = int(runs["step"].max())
    groups = list(runs.groupby("seed", sort=True))
    out = np.full((len(groups), max_step), np.nan)
    for r, (_, g) in enumerate(groups):
        steps = g["step"].to_numpy() - 1
        out[r, steps] = g[metric].to_numpy(dtype=float)
        last = steps.max() if len(steps) else -1
        if last >= 0:
            out[r, last + 1:] = out[r, last]
    return out


def regret_matrix_by_cost(
    runs: pd.DataFrame, grid: np.ndarray, metric: str = "regret_test"
) -> np.ndarray:
    """Runs x grid matrix: regret of the last evaluation finished by each cost on ``grid``."""
    groups = list(runs.groupby("seed", sort=True))
    out = np.full((len(groups), len(grid)), np.nan)
    for r, (_, g) in enumerate(groups):
        cum = g["cum_cost"].to_numpy(dtype=float)
        reg = g[metric].to_numpy(dtype=float)
        pos = np.searchsorted(cum, grid, side="right") - 1
        ok = pos >= 0
        out[r, ok] = reg[pos[ok]]
    return out


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


def format_table(table: pd.DataFrame) -> str:
    """A Markdown table of :func:`final_table` (also what ``tabnas stats`` prints)."""
    lines = ["| benchmark | strategy | runs | evals | mean ± se | median [IQR] | avg rank |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.benchmark} | {r.strategy} | {r.runs} | {r._3:g} | {r.mean:.4f} ± {r.se:.4f} "
            f"| {r.median:.4f} [{r.q25:.4f}, {r.q75:.4f}] | {r.avg_rank:.2f} |"
        )
    return "\n".join(lines)
