"""Regret curves: over evaluations and over cumulative (simulated) cost, log axes.

One colour per strategy from a colour-blind-safe palette (Okabe-Ito), assigned
by the strategy's position in the sorted list of all strategies in the
experiment, so a strategy keeps its colour across every figure of a study.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.statistics import mean_se, regret_matrix_by_cost, regret_matrix_by_step

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")


def strategy_colours(strategies) -> dict[str, str]:
    names = sorted(set(strategies))
    return {s: OKABE_ITO[i % len(OKABE_ITO)] for i, s in enumerate(names)}


def plot_experiment(df: pd.DataFrame, out_dir: Path, *, cost_label: dict[str, str] | None = None,
                    formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write ``regret.<fmt>``: per benchmark, regret vs evaluations and vs cost."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = strategy_colours(df["strategy"].unique())
    benches = sorted(df["benchmark"].unique())
    fig, axes = plt.subplots(len(benches), 2, figsize=(11, 4 * len(benches)), squeeze=False)
    for row, bench in zip(axes, benches, strict=True):
        db = df[df["benchmark"] == bench]
        # Start the cost axis where every run has finished its first evaluation, so
        # the mean is over all runs at every point (no survivor artefacts).
        firsts = db.loc[db["step"] == 1, "cum_cost"].to_numpy(dtype=float)
        start = firsts.max() if len(firsts) else 0.0
        stop = db["cum_cost"].max()
        grid = (np.geomspace(start, stop, 200) if 0 < start < stop else np.array([]))
        for strat, ds in db.groupby("strategy", sort=True):
            colour = colours[strat]
            m = regret_matrix_by_step(ds)
            mean, se = mean_se(m)
            x = np.arange(1, len(mean) + 1)
            row[0].plot(x, mean, color=colour, label=f"{strat} (n={m.shape[0]})")
            row[0].fill_between(x, mean - se, mean + se, color=colour, alpha=0.2, lw=0)
            if len(grid):
                mc = regret_matrix_by_cost(ds, grid)
                mean_c, se_c = mean_se(mc)
                row[1].plot(grid, mean_c, color=colour, label=strat, drawstyle="steps-post")
                row[1].fill_between(grid, mean_c - se_c, mean_c + se_c, color=colour,
                                    alpha=0.2, lw=0, step="post")
        label = (cost_label or {}).get(bench, "cumulative cost")
        row[0].set(xlabel="evaluations", ylabel="test regret of incumbent",
                   title=f"{bench}: regret vs evaluations")
        row[1].set(xlabel=f"cumulative cost: {label}",
                   ylabel="test regret of incumbent", title=f"{bench}: regret vs cost")
        regret = db["regret_test"].to_numpy(dtype=float)
        for ax in row:
            if np.isfinite(regret).any():
                ax.set_xscale("log")
                if (regret > 0).any():
                    ax.set_yscale("log", nonpositive="mask")
            else:  # e.g. a live benchmark: no optimum, so no regret to draw
                ax.text(0.5, 0.5, "regret unknown: the benchmark's optimum is unknown",
                        transform=ax.transAxes, ha="center", va="center")
            ax.grid(True, which="both", alpha=0.3)
        row[0].legend(title="mean ± s.e. over seeds", fontsize="small")
        row[1].xaxis.label.set_fontsize("small")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / f"regret.{fmt}"
        from harness.cache import atomic_write_bytes

        atomic_write_bytes(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=150))
        written.append(path)
    plt.close(fig)
    return written
