"""Regret curves: over evaluations and over cumulative (simulated) cost, log axes.

One colour per strategy from a colour-blind-safe palette (Okabe-Ito), assigned
by the strategy's position in the sorted list of all strategies in the
experiment, so a strategy keeps its colour across every figure of a study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tabnas.errors import DataMissing

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")


def strategy_colours(strategies) -> dict[str, str]:
    names = sorted(set(strategies))
    return {s: OKABE_ITO[i % len(OKABE_ITO)] for i, s in enumerate(names)}


LINESTYLES = ("-", "--", "-.", ":")
FORMATS = ("png", "pdf", "svg")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(colours: dict[str, str], name: str) -> dict:
    i = sorted(colours).index(name) if name in colours else 0
    return {"color": colours.get(name, "#000000"), "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def log_axis(ax, which: str) -> None:
    """Log scale with plain tick labels (0.5, 2, 300; not 5x10^-1); minor ticks are
    labelled only where the axis spans two decades or less (otherwise they overlap)."""
    from matplotlib import ticker

    axis = ax.xaxis if which == "x" else ax.yaxis
    if not (ax.dataLim.x1 if which == "x" else ax.dataLim.y1) > 0:
        return  # nothing positive (every run found the optimum): a log axis would be empty
    (ax.set_xscale if which == "x" else ax.set_yscale)("log", nonpositive="mask")
    def minor(v: float, _pos) -> str:
        lo, hi = axis.get_view_interval()
        if v <= 0 or lo <= 0 or hi / lo > 100:
            return ""
        mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9))
        return f"{v:g}" if mantissa in ((2, 3, 5) if hi / lo <= 10 else (2, 5)) else ""

    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.FuncFormatter(minor))
    axis.set_tick_params(which="minor", labelsize="x-small")


def panel_grid(n: int, *, width: float = 4.2, height: float = 3.2, max_cols: int = 3):
    """A figure with ``n`` panels in rows of at most ``max_cols`` (extra axes hidden)."""
    plt = _pyplot()
    if n == 1:
        width, height = 6.0, 3.8
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def curves_figure(curves: pd.DataFrame, colours: dict[str, str], *, xlabel: str | dict,
                  ylabel: str = "test regret of incumbent", band: str = "se",
                  log_x: bool = True, log_y: bool = True, title: str = "") -> Figure:
    """Aggregated curves (:func:`tabnas.statistics.curves`), one panel per benchmark.

    ``band`` = "se" draws mean ± standard error, "iqr" median with interquartile range.
    ``xlabel`` may map benchmark -> label (cost units differ between benchmarks).
    """
    if curves.empty:
        raise DataMissing("nothing to plot: no curve has any point")
    benches = sorted(curves["benchmark"].unique())
    fig, axes = panel_grid(len(benches))
    centre, lo, hi = ("mean", None, None) if band == "se" else ("median", "q25", "q75")
    for ax, bench in zip(axes, benches, strict=True):
        cb = curves[curves["benchmark"] == bench]
        for strat, cs in cb.groupby("strategy", sort=True):
            x = cs["x"].to_numpy(float)
            y = cs[centre].to_numpy(float)
            if band == "se":
                low, high = y - cs["se"].to_numpy(float), y + cs["se"].to_numpy(float)
            else:
                low, high = cs[lo].to_numpy(float), cs[hi].to_numpy(float)
            style = _style(colours, strat)
            n = int(cs["n"].max()) if len(cs) else 0
            ax.plot(x, y, drawstyle="steps-post", label=f"{strat} (n={n})", **style)
            ax.fill_between(x, low, high, step="post", color=style["color"], alpha=0.18, lw=0)
        label = xlabel.get(bench, "cumulative cost") if isinstance(xlabel, dict) else xlabel
        ax.set_xlabel(label, fontsize="small")
        ax.set_ylabel(ylabel)
        ax.set_title(bench)
        if log_x:
            log_axis(ax, "x")
        if log_y:
            log_axis(ax, "y")
        ax.grid(True, which="both", alpha=0.3)
    what = "mean ± s.e." if band == "se" else "median, IQR"
    axes[0].legend(title=f"{what} over seeds", fontsize="small", title_fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def rank_figure(ranks: pd.DataFrame, colours: dict[str, str], *, xlabel: str,
                log_x: bool = True) -> Figure:
    """Anytime average rank (1 = best) per strategy; ``ranks``: benchmark, strategy, x, rank."""
    if ranks.empty:
        raise DataMissing("nothing to plot: no ranks")
    benches = sorted(ranks["benchmark"].unique())
    fig, axes = panel_grid(len(benches))
    k = ranks["strategy"].nunique()
    for ax, bench in zip(axes, benches, strict=True):
        rb = ranks[ranks["benchmark"] == bench]
        for strat, rs in rb.groupby("strategy", sort=True):
            ax.plot(rs["x"], rs["rank"], drawstyle="steps-post", label=strat,
                    **_style(colours, strat))
        ax.set(xlabel=xlabel, ylabel="average rank (1 = best)", title=bench,
               ylim=(k + 0.2, 0.8))
        if log_x:
            log_axis(ax, "x")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def ecdf_figure(values: pd.DataFrame, colours: dict[str, str], *,
                xlabel: str = "final test regret") -> Figure:
    """Empirical CDF over seeds of a budget's regret; ``values``: benchmark, strategy, value."""
    if values.empty:
        raise DataMissing("nothing to plot: no final values")
    benches = sorted(values["benchmark"].unique())
    fig, axes = panel_grid(len(benches))
    for ax, bench in zip(axes, benches, strict=True):
        vb = values[values["benchmark"] == bench]
        positive = vb["value"][vb["value"] > 0]
        floor = float(positive.min()) / 2 if len(positive) else 1e-3
        for strat, vs in vb.groupby("strategy", sort=True):
            x = np.sort(np.maximum(vs["value"].to_numpy(float), floor))
            y = np.arange(1, len(x) + 1) / len(x)
            ax.step(np.r_[floor, x], np.r_[0, y], where="post", label=f"{strat} (n={len(x)})",
                    **_style(colours, strat))
        ax.set(xlabel=xlabel + (" (0 drawn at the left edge)" if (vb["value"] <= 0).any()
                                else ""),
               ylabel="fraction of seeds ≤ x", title=bench, ylim=(0, 1.02))
        log_axis(ax, "x")
        ax.xaxis.label.set_fontsize("small")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def cd_figure(result, colours: dict[str, str], *, title: str = "") -> Figure:
    """Critical-difference diagram (Demšar 2006) of a :class:`FriedmanResult`.

    Strategies sit at their average rank on an axis from 1 (best, left) to k; a bar
    joins each group whose ranks differ by less than the Nemenyi CD, drawn to scale
    above the axis.
    """
    plt = _pyplot()
    names = list(result.names)
    ranks = dict(zip(names, result.avg_ranks, strict=True))
    k = len(names)
    order = sorted(names, key=lambda s: ranks[s])
    half = math.ceil(k / 2)
    left, right = order[:half], order[half:]
    cliques = result.cliques()
    height = 1.6 + 0.32 * max(len(left), len(right)) + 0.2 * len(cliques)
    fig, ax = plt.subplots(figsize=(3.5 + 0.9 * k, height))
    lowest = -0.45 - 0.25 * len(cliques) - 0.45 * (max(len(left), len(right)) - 1)
    ax.set_ylim(lowest - 0.3, 1.6)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.12, color="black", lw=1)
        ax.text(r, 0.2, str(r), ha="center", va="bottom", fontsize="small")
    cd = result.cd
    ax.hlines(1.1, 1, 1 + cd, color="black", lw=1.5)
    ax.vlines([1, 1 + cd], 1.0, 1.2, color="black", lw=1.5)
    ax.text(1 + cd / 2, 1.25, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize="small")
    for j, group in enumerate(cliques):
        y = -0.25 - 0.25 * j
        lo, hi = ranks[group[0]], ranks[group[-1]]
        ax.hlines(y, lo - 0.03, hi + 0.03, color="black", lw=3)
    base = -0.45 - 0.25 * len(cliques)
    for i, s in enumerate(left):
        y = base - 0.45 * i
        c = colours.get(s, "#000000")
        ax.plot([ranks[s], ranks[s], 0.9], [0, y, y], color=c, lw=1.2)
        ax.text(0.85, y, f"{s} ({ranks[s]:.2f})", ha="right", va="center", color=c,
                fontsize="small")
    for i, s in enumerate(reversed(right)):
        y = base - 0.45 * i
        c = colours.get(s, "#000000")
        ax.plot([ranks[s], ranks[s], k + 0.1], [0, y, y], color=c, lw=1.2)
        ax.text(k + 0.15, y, f"({ranks[s]:.2f}) {s}", ha="left", va="center", color=c,
                fontsize="small")
    ax.set_xlim(-1.2, k + 2.2)
    sub = (f"Friedman p = {result.p:.3g}, N = {result.n_blocks} blocks, "
           f"Nemenyi alpha = {result.alpha:g}")
    ax.set_title((title + "\n" if title else "") + sub, fontsize="small")
    fig.tight_layout()
    return fig


def regret_figures(df: pd.DataFrame, colours: dict[str, str],
                   cost_labels: dict[str, str] | None = None, *,
                   by_evals: pd.DataFrame | None = None) -> dict[str, Figure]:
    """Test regret vs evaluations and (where costs differ) vs cumulative cost, mean ± s.e.

    The figures ``tabnas plot`` writes and the report embeds. ``by_evals`` is
    ``statistics.curves(df, "evals")`` when the caller has it already.
    """
    from tabnas import statistics

    if by_evals is None:
        by_evals = statistics.curves(df, "evals")
    figures = {"regret_evals": curves_figure(by_evals, colours, xlabel="evaluations")}
    by_cost = statistics.curves(df, "cost")
    if by_cost["x"].nunique() > 1:
        labels = cost_labels or {}
        axis = {b: f"cumulative cost: {labels.get(b, 'simulated cost')}"
                for b in df["benchmark"].unique()}
        figures["regret_cost"] = curves_figure(by_cost, colours, xlabel=axis)
    return figures


def save_figure(fig: Figure, out_dir: Path, stem: str,
                formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """Write ``stem.<fmt>`` for each format atomically; closes the figure."""
    from tabnas.cache import atomic_write_bytes

    plt = _pyplot()
    out: dict[str, Path] = {}
    try:
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            with plt.rc_context({"svg.hashsalt": "tabnas"}):  # stable SVG element ids
                atomic_write_bytes(path, lambda tmp, fmt=fmt: fig.savefig(
                    tmp, format=fmt, dpi=150, metadata=_metadata(fmt)))
            out[fmt] = path
    finally:
        plt.close(fig)
    return out


def _metadata(fmt: str) -> dict | None:
    """No creation dates in the files, so the same results give the same bytes."""
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None}
    if fmt == "svg":
        return {"Date": None}
    if fmt == "png":
        return {"Software": None}
    return None
