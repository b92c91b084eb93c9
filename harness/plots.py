"""Regret curves, ranks, ECDFs and the critical-difference diagram, for screens or paper.

One colour per strategy from a colour-blind-safe palette (Okabe-Ito), assigned
by the strategy's position in the sorted list of all strategies in the
experiment, so a strategy keeps its colour across every figure of a study.

Log axes have a *floor*: a round value (1, 2 or 5 x 10^k) at most two thirds
of the smallest positive value a panel's curves and band edges take, band
edges counting only down to about two decades below the lowest curve.
Whatever is at or below it (zero regret, i.e. the optimum found, and band
edges, mean - s.e. or a quartile, that reach zero or come within rounding of
it) is drawn on a dotted line at the floor whose tick reads "0", and nothing
is drawn below it. So bands stay inside the panel, a
quartile of 0 draws no diagonal wedge (points masked on a log axis make
``fill_between`` join their neighbours), and a run that found the optimum still
shows its curve. On linear axes bands are clipped at 0 (regret is never
negative).

Figures use constrained layout, labels wrapped to the width they have, one
legend above the panels, and one of three sizes (:data:`STYLES`): ``default``
for screens and the HTML report, ``single`` (3.5 in wide) and ``double``
(7.16 in) for one- and two-column papers. PDFs embed TrueType (Type 42) fonts,
which IEEE and ACM checkers require; the setting applies while a figure is
saved, not to matplotlib at large.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tabnas.errors import UserError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")


def strategy_colours(strategies) -> dict[str, str]:
    """Strategy -> colour; ``strategies`` may be a whole results column (unique-d first)."""
    names = sorted(set(pd.unique(pd.Series(list(strategies) if isinstance(strategies, (set, dict))
                                           else strategies))))
    return {s: OKABE_ITO[i % len(OKABE_ITO)] for i, s in enumerate(names)}


LINESTYLES = ("-", "--", "-.", ":")
FORMATS = ("png", "pdf", "svg")
#: What a caption says about the floor of log axes.
FLOOR_NOTE = ("Log axes: values at or below the dotted floor line, zero regret included, "
              "are drawn on it; its tick reads 0.")
#: Figure-wide settings while saving: TrueType fonts in PDF/PS, stable SVG element ids.
SAVE_RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "tabnas"}
_FLOOR_COLOUR = "#555555"


@dataclass(frozen=True)
class FigureStyle:
    """Size and type of a figure: ``width`` in inches (``None``: ``panel_width`` per column)."""

    name: str
    width: float | None
    panel_width: float
    aspect: float  # panel height / panel width
    max_cols: int
    font_size: float
    dpi: int


STYLES = {
    "default": FigureStyle("default", None, 4.2, 0.76, 3, 10.0, 150),
    "single": FigureStyle("single", 3.5, 3.5, 0.7, 2, 7.0, 300),
    "double": FigureStyle("double", 7.16, 7.16 / 3, 0.78, 3, 7.0, 300),
}


def get_style(style: str | FigureStyle) -> FigureStyle:
    if isinstance(style, FigureStyle):
        return style
    if style not in STYLES:
        raise UserError(f"unknown figure style {style!r}; choose one of {', '.join(STYLES)}")
    return STYLES[style]


def regret_unit(label: str | None) -> str:
    """The unit of a regret on a metric named ``label`` (a benchmark's value or test label).

    Accuracy in percent gives "accuracy points"; a fraction stays a fraction; any other
    metric is measured in its own units.
    """
    if not label:
        return "the table's units"
    low = label.lower()
    if "%" in low:
        return "accuracy points" if "accuracy" in low else "percentage points"
    if "fraction" in low:
        return "fraction"
    return f"units of {label}"


def regret_units(manifest: dict, metric: str = "regret_test") -> dict[str, str]:
    """Benchmark -> unit of ``metric``, from the labels the experiment's manifest records.

    A label that names no unit takes the other label's (the searched and the reported
    value are the same metric on different splits; some tables say the unit once).
    """
    own, other = ("test", "value") if metric == "regret_test" else ("value", "test")
    out = {}
    for bench, labels in manifest.get("metric_labels", {}).items():
        unit = regret_unit(labels.get(own))
        fallback = regret_unit(labels.get(other))
        named = ("accuracy points", "percentage points", "fraction")
        out[bench] = fallback if unit not in named and fallback in named else unit
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(colours: dict[str, str], name: str) -> dict:
    i = sorted(colours).index(name) if name in colours else 0
    return {"color": colours.get(name, "#000000"), "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def _rc(style: FigureStyle) -> dict:
    fs = style.font_size
    return {"font.size": fs, "axes.titlesize": fs, "axes.labelsize": fs,
            "xtick.labelsize": fs * 0.9, "ytick.labelsize": fs * 0.9,
            "legend.fontsize": fs * 0.9, "legend.title_fontsize": fs * 0.9,
            "figure.titlesize": fs * 1.1, "lines.linewidth": 1.5 if fs >= 9 else 1.1,
            "axes.linewidth": 0.8 if fs >= 9 else 0.6}


def _wrap(text: str, width_in: float, font_size: float) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at ``font_size`` points."""
    chars = max(12, int(width_in * 72 / (0.6 * font_size)))
    return "\n".join(textwrap.fill(part, chars) for part in text.split("\n"))


# --- Log axes with a floor -------------------------------------------------------------

def floor_of(values) -> float | None:
    """The largest of 1, 2 or 5 x 10^k at most 2/3 of the smallest positive finite value.

    ``None`` when no value is positive. Every positive value then lies at least a
    factor 1.5 above the floor, so nothing but zero (or less) is drawn on it.
    """
    arr = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if values \
        else np.array([])
    positive = arr[np.isfinite(arr) & (arr > 0)]
    if not len(positive):
        return None
    limit = float(positive.min()) / 1.5
    decade = 10.0 ** math.floor(math.log10(limit) + 1e-12)
    return max(m * decade for m in (1, 2, 5) if m * decade <= limit * (1 + 1e-12))


def _floor_locator(floor: float | None, minor: bool, room=None):
    from matplotlib import ticker

    class FloorLocator(ticker.LogLocator):
        """Log ticks above the floor; the major ticks include the floor itself and leave
        out those too close to it for a label (``room``)."""

        def tick_values(self, vmin, vmax):
            ticks = np.asarray(super().tick_values(vmin, vmax), dtype=float)
            if floor is None:
                return ticks
            ticks = ticks[ticks > floor * (1 + 1e-9)]
            if minor:
                return ticks
            if room is not None:
                ticks = np.array([t for t in ticks if room(t, floor)])
            return np.r_[floor, ticks]

    return FloorLocator(subs="auto" if minor else (1.0,))


def log_axis(ax: Axes, which: str, floor: float | None = None, *,
             zero_at_floor: bool = False) -> None:
    """Log scale with plain tick labels (0.5, 2, 300; not 5x10^-1).

    Minor ticks are labelled only on axes spanning two decades or less, and where the
    panel leaves room for them (judged from its size in points when drawn, so narrow
    paper panels drop them). With
    ``zero_at_floor`` the floor's tick reads "0".
    """
    from matplotlib import ticker

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log", nonpositive="mask")
    size = axis.get_major_ticks()[0].label1.get_fontsize() if axis.get_major_ticks() else 9.0

    def room(v: float, w: float) -> bool:
        """Whether labels at ``v`` and ``w`` are far enough apart not to overlap."""
        lo, hi = axis.get_view_interval()
        if lo <= 0 or hi <= lo:
            return True
        length = (ax.bbox.width if which == "x" else ax.bbox.height) * 72 / ax.figure.dpi
        need = (0.64 * size * max(len(f"{v:g}"), len(f"{w:g}")) + 4) if which == "x" \
            else 1.8 * size
        return abs(math.log10(v / w)) * length / math.log10(hi / lo) >= need

    def major(v: float, _pos) -> str:
        if floor is not None and abs(v - floor) <= 1e-9 * floor:
            return "0" if zero_at_floor else f"{v:g}"
        if floor is not None and not room(v, floor):
            return ""  # the floor's label is the one that must stay
        return f"{v:g}"

    def minor(v: float, _pos) -> str:
        lo, hi = axis.get_view_interval()
        if v <= 0 or lo <= 0 or hi <= lo or hi / lo > 100 or (
                floor is not None and not room(v, floor)):
            return ""  # more than two decades: the decades alone are labelled
        length = (ax.bbox.width if which == "x" else ax.bbox.height) * 72 / ax.figure.dpi
        per_decade = length / math.log10(hi / lo)
        need = (0.64 * size * max(len(f"{v:g}"), 3) + 4) if which == "x" else 1.4 * size
        mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9))
        if per_decade * math.log10(1.5) >= need:
            shown = (2, 3, 5)
        elif per_decade * math.log10(2) >= need:
            shown = (2, 5)
        else:
            shown = ()
        return f"{v:g}" if mantissa in shown else ""

    axis.set_major_locator(_floor_locator(floor, minor=False, room=room))
    axis.set_minor_locator(_floor_locator(floor, minor=True))
    axis.set_major_formatter(ticker.FuncFormatter(major))
    axis.set_minor_formatter(ticker.FuncFormatter(minor))
    axis.set_tick_params(which="minor", labelsize=size * 0.85)


def _grid(ax: Axes) -> None:
    ax.grid(True, which="major", alpha=0.3, linewidth=0.6)
    ax.grid(True, which="minor", alpha=0.12, linewidth=0.5)


def _log_limits(ax: Axes, which: str, floor: float, top: float) -> None:
    """Limits from just below the floor to just above ``top``: the data's range."""
    top = top if top > floor else floor * 10
    pad = 10 ** (0.04 * math.log10(top / floor))
    (ax.set_xlim if which == "x" else ax.set_ylim)(floor / pad, top * pad)


def _floor_line(ax: Axes, which: str, floor: float) -> None:
    """The dotted line zero is drawn on (a collection, not a curve: legends skip it)."""
    if which == "y":
        ax.hlines(floor, 0, 1, transform=ax.get_yaxis_transform(), colors=_FLOOR_COLOUR,
                  linestyles=":", linewidth=0.9, zorder=1.5)
    else:
        ax.vlines(floor, 0, 1, transform=ax.get_xaxis_transform(), colors=_FLOOR_COLOUR,
                  linestyles=":", linewidth=0.9, zorder=1.5)


# --- Figure frames ---------------------------------------------------------------------

def panel_grid(n: int, style: str | FigureStyle = "default", *, cols: int | None = None,
               header_lines: int = 0):
    """A constrained-layout figure with ``n`` panels in rows of at most ``cols`` columns.

    ``header_lines`` reserves height for a legend and title above the panels.
    """
    plt = _pyplot()
    st = get_style(style)
    cols = min(n, cols or st.max_cols)
    rows = math.ceil(n / cols)
    if st.width is None:
        panel_w = 6.0 if n == 1 else st.panel_width
        width = panel_w * cols
    else:
        width, panel_w = st.width, st.width / cols
    panel_h = max(panel_w * st.aspect, 1.6 if st.width else 2.4)
    if n == 1 and st.width is None:
        panel_h = 3.8
    height = rows * panel_h + header_lines * st.font_size * 1.45 / 72 + 0.1
    with plt.rc_context(_rc(st)):
        fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False,
                                 layout="constrained", dpi=st.dpi)
    fig.get_layout_engine().set(h_pad=0.03, w_pad=0.03, hspace=0.04, wspace=0.04)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    for ax in flat[:n]:
        ax.tick_params(which="major", labelsize=st.font_size * 0.9)
    return fig, flat[:n]


def _legend(fig: Figure, handles: dict, style: FigureStyle, title: str = "") -> int:
    """One legend above the panels, in as many columns as the figure's width holds."""
    if not handles:
        return 0
    fs = style.font_size * 0.9
    longest = max(len(label) for label in handles)
    per_entry = (0.6 * fs * longest + 3.2 * fs) / 72
    ncols = max(1, min(len(handles), int(fig.get_figwidth() / per_entry)))
    fig.legend(list(handles.values()), list(handles), loc="outside upper center", ncols=ncols,
               title=title or None, fontsize=fs, title_fontsize=fs, frameon=False,
               handlelength=2.2, columnspacing=1.2)
    return math.ceil(len(handles) / ncols) + (1 if title else 0)


def _header_lines(n_entries: int, longest: int, width_in: float, style: FigureStyle,
                  title: bool) -> int:
    fs = style.font_size * 0.9
    per_entry = (0.6 * fs * longest + 3.2 * fs) / 72
    ncols = max(1, min(n_entries, int(width_in / per_entry)))
    return math.ceil(n_entries / ncols) + (1 if title else 0) + 1


def _figure_width(n: int, style: FigureStyle, cols: int | None = None) -> float:
    cols = min(n, cols or style.max_cols)
    if style.width is not None:
        return style.width
    return (6.0 if n == 1 else style.panel_width) * cols


def _axis_labels(fig: Figure, axes: list, xlabels: list[str], ylabels: list[str],
                 style: FigureStyle, cols: int) -> None:
    """Labels wrapped to their panel; one figure-wide label where every panel shares it."""
    fs = style.font_size
    fw, fh = fig.get_size_inches()
    rows = math.ceil(len(axes) / cols)
    # The axes get the column less the room of the y label and tick labels.
    room = max(fw / cols - 5.5 * fs / 72, 0.5 * fw / cols)
    for ax in axes:
        ax.set_title(_wrap(ax.get_title(), room, fs), fontsize=fs)
    if len(axes) > 1 and len(set(xlabels)) == 1:
        fig.supxlabel(_wrap(xlabels[0], fw * 0.9, fs), fontsize=fs)
    else:
        for ax, label in zip(axes, xlabels, strict=True):
            ax.set_xlabel(_wrap(label, room, fs), fontsize=fs)
    shared_y = len(axes) > 1 and len(set(ylabels)) == 1
    for i, (ax, label) in enumerate(zip(axes, ylabels, strict=True)):
        if (shared_y and i % cols) or not label:
            continue
        ax.set_ylabel(_wrap(label, fh / rows * 0.8, fs), fontsize=fs)


# --- Curves ----------------------------------------------------------------------------

@dataclass
class _Panel:
    title: str
    frame: pd.DataFrame  # one benchmark's curves: strategy, x, CURVE_STATS
    xlabel: str
    ylabel: str
    group: str  # panels of one group share their y limits


def _arrays(cs: pd.DataFrame, band: str):
    x = cs["x"].to_numpy(float)
    if band == "se":
        y = cs["mean"].to_numpy(float)
        se = cs["se"].to_numpy(float)
        return x, y, y - se, y + se
    return (x, cs["median"].to_numpy(float), cs["q25"].to_numpy(float),
            cs["q75"].to_numpy(float))


def _draw_panels(fig: Figure, axes: list, panels: list[_Panel], colours: dict[str, str], *,
                 band: str, log_x: bool, log_y: bool) -> dict:
    """Draw every panel's curves and bands; returns legend handles (label -> line)."""
    data = []
    for p in panels:
        data.append({s: _arrays(cs, band) for s, cs in p.frame.groupby("strategy", sort=True)})
    floors, tops = {}, {}
    for p, d in zip(panels, data, strict=True):
        centre_high = [a[1] for a in d.values()] + [a[3] for a in d.values()]
        finite = np.concatenate(centre_high) if centre_high else np.array([])
        finite = finite[np.isfinite(finite)]
        if len(finite):
            tops[p.group] = max(float(finite.max()), tops.get(p.group, -np.inf))
        # Band edges count for the floor down to two decades below the lowest curve;
        # further down (mean - s.e. of 0 and 1e-18 from rounding) they lie on the floor.
        lowest = floor_of([a[1] for a in d.values()])
        reach = 0.015 * lowest if lowest is not None else 0.0
        lows = [np.where(a[2] >= reach, a[2], np.nan) for a in d.values()]
        f = floor_of(centre_high + lows)
        if f is not None:
            floors[p.group] = min(f, floors.get(p.group, f))
    n_by_strategy: dict[str, set[int]] = {}
    lines: dict[str, object] = {}
    for ax, p, d in zip(axes, panels, data, strict=True):
        floor = floors.get(p.group) if log_y else None
        on_floor = False
        for strat, (x, y, low, high) in d.items():
            lo_clip = 0.0 if floor is None else floor
            if floor is not None:
                on_floor |= bool(np.any(y[np.isfinite(y)] <= floor)
                                 or np.any(low[np.isfinite(low)] <= floor))
            y_d, low_d, high_d = (np.maximum(v, lo_clip) for v in (y, low, high))
            style = _style(colours, strat)
            (line,) = ax.plot(x, y_d, drawstyle="steps-post", label=strat, **style)
            lines.setdefault(strat, line)
            ok = np.isfinite(low_d) & np.isfinite(high_d)
            if ok.any():
                ax.fill_between(x, low_d, high_d, where=ok, step="post", color=style["color"],
                                alpha=0.18, lw=0)
            n = p.frame.loc[p.frame["strategy"] == strat, "n"]
            n_by_strategy.setdefault(strat, set()).add(int(n.max()) if len(n) else 0)
        ax.set_title(p.title)
        if log_x:
            log_axis(ax, "x")
        if log_y and floor is not None:
            log_axis(ax, "y", floor, zero_at_floor=on_floor)
            _log_limits(ax, "y", floor, tops.get(p.group, floor * 10))
            if on_floor:
                _floor_line(ax, "y", floor)
        elif log_y:  # nothing positive: every curve is 0, drawn on a linear axis
            ax.set_ylim(-0.05, 1.0)
            p.ylabel += " (all 0: linear axis)"
        else:
            top = tops.get(p.group, 1.0)
            ax.set_ylim(-0.03 * top if top > 0 else -0.05, top * 1.05 if top > 0 else 1.0)
        _grid(ax)
    handles = {}
    for strat, line in lines.items():
        ns = n_by_strategy[strat]
        n_text = str(min(ns)) if len(ns) == 1 else f"{min(ns)}-{max(ns)}"
        handles[f"{strat} (n={n_text})"] = line
    return handles


def _curves_grid(panels: list[_Panel], colours: dict[str, str], *, band: str, log_x: bool,
                 log_y: bool, style: str | FigureStyle, title: str = "",
                 cols: int | None = None) -> Figure:
    st = get_style(style)
    cols = min(len(panels), cols or st.max_cols)
    k = len({s for p in panels for s in p.frame["strategy"].unique()})
    longest = max((len(s) for p in panels for s in p.frame["strategy"].unique()), default=4)
    header = _header_lines(k, longest + 8, _figure_width(len(panels), st, cols), st, True)
    fig, axes = panel_grid(len(panels), st, cols=cols, header_lines=header + (1 if title else 0))
    with _pyplot().rc_context(_rc(st)):
        handles = _draw_panels(fig, axes, panels, colours, band=band, log_x=log_x, log_y=log_y)
        _axis_labels(fig, axes, [p.xlabel for p in panels], [p.ylabel for p in panels], st,
                     cols)
        what = "mean ± s.e." if band == "se" else "median, IQR"
        _legend(fig, handles, st, f"{what} over seeds")
        if title:
            fig.suptitle(_wrap(title, fig.get_figwidth() * 0.9, st.font_size * 1.1))
    return fig


def _label(spec: str | dict, bench: str, default: str) -> str:
    return spec.get(bench, default) if isinstance(spec, dict) else spec


def curves_figure(curves: pd.DataFrame, colours: dict[str, str], *, xlabel: str | dict,
                  ylabel: str | dict = "test regret of incumbent", band: str = "se",
                  log_x: bool = True, log_y: bool = True, title: str = "",
                  style: str | FigureStyle = "default") -> Figure:
    """Aggregated curves (:func:`tabnas.statistics.curves`), one panel per benchmark.

    ``band`` = "se" draws mean ± standard error, "iqr" median with interquartile range.
    ``xlabel`` and ``ylabel`` may map benchmark -> label (cost units and regret units
    differ between benchmarks).
    """
    if curves.empty:
        raise UserError("nothing to plot: no curve has any point")
    panels = [_Panel(bench, cb, _label(xlabel, bench, "cumulative cost"),
                     _label(ylabel, bench, "test regret"), bench)
              for bench, cb in curves.groupby("benchmark", sort=True)]
    return _curves_grid(panels, colours, band=band, log_x=log_x, log_y=log_y, style=style,
                        title=title)


def value_test_figure(value_curves: pd.DataFrame, test_curves: pd.DataFrame,
                      colours: dict[str, str], *, xlabel: str | dict,
                      value_units: dict[str, str] | None = None,
                      test_units: dict[str, str] | None = None, band: str = "se",
                      log_x: bool = True, log_y: bool = True,
                      style: str | FigureStyle = "default") -> Figure:
    """Validation regret (the searched value) beside test regret, one row per benchmark.

    The two panels of a benchmark share their y axis, so overfitting the validation
    split (validation regret falling while test regret does not) shows as a gap.
    """
    if value_curves.empty or test_curves.empty:
        raise UserError("nothing to plot: no curve has any point")
    panels = []
    for bench, vb in value_curves.groupby("benchmark", sort=True):
        tb = test_curves[test_curves["benchmark"] == bench]
        vu = (value_units or {}).get(bench, regret_unit(None))
        tu = (test_units or {}).get(bench, regret_unit(None))
        x = _label(xlabel, bench, "cumulative cost")
        # One y label a row where both regrets have one unit: the pair shares its y axis.
        left = f"regret ({vu})" if vu == tu else f"validation regret ({vu})"
        panels.append(_Panel(f"{bench}: validation", vb, x, left, bench))
        panels.append(_Panel(f"{bench}: test", tb, x, "" if vu == tu else
                             f"test regret ({tu})", bench))
    return _curves_grid(panels, colours, band=band, log_x=log_x, log_y=log_y, style=style,
                        cols=2)


def normalised_curves(df: pd.DataFrame, metric: str = "regret_test",
                      scale_from: pd.DataFrame | None = None) -> pd.DataFrame:
    """Curves of ``metric`` normalised per benchmark, on one evaluation grid for all of them.

    ``scale_from`` (default ``df``) fixes the scale (:func:`tabnas.statistics.
    normalised_regret`): pass the whole experiment so subsets share one scale.
    """
    from tabnas import statistics

    source = df if scale_from is None else scale_from
    column = f"normalised_{metric}"
    norm = statistics.normalised_regret(source, metric)
    frame = df.assign(**{column: norm.reindex(df.index).to_numpy()})
    return statistics.curves(frame, "evals", statistics.evals_grid(frame), metric=column)


def pooled_figure(norm_curves: pd.DataFrame, colours: dict[str, str], *,
                  metric_name: str = "test regret", log_x: bool = True, log_y: bool = True,
                  style: str | FigureStyle = "default") -> Figure:
    """Normalised regret pooled over benchmarks, and the average rank over time.

    ``norm_curves``: :func:`normalised_curves`. Each benchmark counts once: its seed
    mean at every evaluation count is averaged over the benchmarks (band: standard
    error over benchmarks), and the strategies are ranked on that seed mean within
    each benchmark (1 = best, ties averaged), the ranks averaged over benchmarks.
    """
    from scipy.stats import rankdata

    if norm_curves.empty:
        raise UserError("nothing to plot: no curve has any point")
    st = get_style(style)
    n_bench = norm_curves["benchmark"].nunique()
    grouped = norm_curves.groupby(["strategy", "x"], sort=True)["mean"]
    pooled = grouped.agg(["mean", "std", "count"]).reset_index()
    se = pooled["std"].to_numpy(float) / np.sqrt(pooled["count"].to_numpy(float))
    pooled = pooled.assign(se=np.where(pooled["count"] > 1, se, np.nan), n=pooled["count"],
                           median=np.nan, q25=np.nan, q75=np.nan)
    wide = norm_curves.pivot_table(index=["benchmark", "x"], columns="strategy",
                                   values="mean", aggfunc="first")
    filled = np.where(np.isnan(wide.to_numpy(float)), np.inf, wide.to_numpy(float))
    ranks = pd.DataFrame(rankdata(filled, axis=1, method="average"), index=wide.index,
                         columns=wide.columns).groupby(level="x").mean()
    k = wide.shape[1]
    longest = max(len(s) for s in wide.columns)
    cols = 1 if st.width is not None and st.width < 5 else 2  # one column: stacked
    header = _header_lines(k, longest, _figure_width(2, st, cols), st, True)
    fig, (ax_r, ax_k) = panel_grid(2, st, cols=cols, header_lines=header)
    with _pyplot().rc_context(_rc(st)):
        panel = _Panel(f"pooled over {n_bench} benchmarks", pooled, "evaluations",
                       f"normalised {metric_name} (0 = optimum, 1 = worst first evaluation)",
                       "pooled")
        handles = _draw_panels(fig, [ax_r], [panel], colours, band="se", log_x=log_x,
                               log_y=log_y)
        for strat in ranks.columns:
            ax_k.plot(ranks.index.to_numpy(float), ranks[strat].to_numpy(float),
                      drawstyle="steps-post", **_style(colours, strat))
        ax_k.set(title=f"average rank over {n_bench} benchmarks", ylim=(k + 0.2, 0.8))
        if log_x:
            log_axis(ax_k, "x")
        _grid(ax_k)
        handles = {label.split(" (n=")[0]: h for label, h in handles.items()}
        _axis_labels(fig, [ax_r, ax_k], ["evaluations", "evaluations"],
                     [panel.ylabel, "average rank (1 = best; ranked on the seed mean)"], st,
                     cols)
        _legend(fig, handles, st, "mean ± s.e. over benchmarks of the seed mean")
    return fig


def rank_figure(ranks: pd.DataFrame, colours: dict[str, str], *, xlabel: str,
                log_x: bool = True, style: str | FigureStyle = "default") -> Figure:
    """Anytime average rank (1 = best) per strategy; ``ranks``: benchmark, strategy, x, rank."""
    if ranks.empty:
        raise UserError("nothing to plot: no ranks")
    st = get_style(style)
    benches = sorted(ranks["benchmark"].unique())
    k = ranks["strategy"].nunique()
    longest = max(len(s) for s in ranks["strategy"].unique())
    header = _header_lines(k, longest, _figure_width(len(benches), st), st, False)
    fig, axes = panel_grid(len(benches), st, header_lines=header)
    handles = {}
    with _pyplot().rc_context(_rc(st)):
        for ax, bench in zip(axes, benches, strict=True):
            rb = ranks[ranks["benchmark"] == bench]
            for strat, rs in rb.groupby("strategy", sort=True):
                (line,) = ax.plot(rs["x"], rs["rank"], drawstyle="steps-post", label=strat,
                                  **_style(colours, strat))
                handles.setdefault(strat, line)
            ax.set(title=bench, ylim=(k + 0.2, 0.8))
            if log_x:
                log_axis(ax, "x")
            _grid(ax)
        cols = min(len(benches), st.max_cols)
        _axis_labels(fig, axes, [xlabel] * len(axes),
                     ["average rank (1 = best)"] * len(axes), st, cols)
        _legend(fig, handles, st)
    return fig


def ecdf_figure(values: pd.DataFrame, colours: dict[str, str], *,
                xlabel: str = "final test regret",
                style: str | FigureStyle = "default") -> Figure:
    """Empirical CDF over seeds of a budget's regret; ``values``: benchmark, strategy, value.

    Zero regret is drawn on the floor of the log x axis (its tick reads 0).
    """
    if values.empty:
        raise UserError("nothing to plot: no final values")
    st = get_style(style)
    benches = sorted(values["benchmark"].unique())
    k = values["strategy"].nunique()
    longest = max(len(s) for s in values["strategy"].unique()) + 8
    header = _header_lines(k, longest, _figure_width(len(benches), st), st, False)
    fig, axes = panel_grid(len(benches), st, header_lines=header)
    handles: dict[str, object] = {}
    with _pyplot().rc_context(_rc(st)):
        for ax, bench in zip(axes, benches, strict=True):
            vb = values[values["benchmark"] == bench]
            v_all = vb["value"].to_numpy(float)
            floor = floor_of([v_all])
            floor = floor if floor is not None else 1.0
            for strat, vs in vb.groupby("strategy", sort=True):
                x = np.sort(np.maximum(vs["value"].to_numpy(float), floor))
                y = np.arange(1, len(x) + 1) / len(x)
                (line,) = ax.step(np.r_[floor, x], np.r_[0, y], where="post",
                                  label=f"{strat} (n={len(x)})", **_style(colours, strat))
                handles.setdefault(f"{strat} (n={len(x)})", line)
            on_floor = bool((v_all <= floor).any())
            ax.set(title=bench, ylim=(0, 1.02))
            log_axis(ax, "x", floor, zero_at_floor=on_floor)
            finite = v_all[np.isfinite(v_all)]
            _log_limits(ax, "x", floor, float(finite.max()) if len(finite) else floor * 10)
            if on_floor:
                _floor_line(ax, "x", floor)
            _grid(ax)
        cols = min(len(benches), st.max_cols)
        _axis_labels(fig, axes, [xlabel] * len(axes), ["fraction of seeds ≤ x"] * len(axes),
                     st, cols)
        _legend(fig, handles, st)
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
    fig, ax = plt.subplots(figsize=(3.5 + 0.9 * k, height), dpi=150)
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


# --- The figures of an experiment ------------------------------------------------------

def _cost_axis_labels(df: pd.DataFrame, cost_labels: dict[str, str] | None) -> dict[str, str]:
    labels = cost_labels or {}
    return {b: f"cumulative cost: {labels.get(b, 'simulated cost')}"
            for b in df["benchmark"].unique()}


def regret_figures(df: pd.DataFrame, colours: dict[str, str],
                   cost_labels: dict[str, str] | None = None, *,
                   by_evals: pd.DataFrame | None = None, units: dict[str, str] | None = None,
                   metric: str = "regret_test", band: str = "se", log: bool = True,
                   axes: tuple[str, ...] = ("evals", "cost"),
                   style: str | FigureStyle = "default") -> dict[str, Figure]:
    """Regret vs evaluations and (where costs differ) vs cumulative cost.

    The figures ``tabnas plot`` writes and the report embeds: stems ``regret_evals``
    and ``regret_cost`` (``value_regret_*`` for the validation regret). ``by_evals`` is
    ``statistics.curves(df, "evals", metric=metric)`` when the caller has it already;
    ``units`` maps benchmark -> regret unit (:func:`regret_units`).
    """
    from tabnas import statistics

    prefix = "" if metric == "regret_test" else "value_"
    name = "test regret" if metric == "regret_test" else "validation regret"
    ylabel = {b: f"{name} ({(units or {}).get(b, regret_unit(None))})"
              for b in df["benchmark"].unique()}
    figures = {}
    if "evals" in axes:
        if by_evals is None:
            by_evals = statistics.curves(df, "evals", metric=metric)
        figures[f"{prefix}regret_evals"] = curves_figure(
            by_evals, colours, xlabel="evaluations", ylabel=ylabel, band=band, log_x=log,
            log_y=log, style=style)
    if "cost" in axes:
        by_cost = statistics.curves(df, "cost", metric=metric)
        if by_cost["x"].nunique() > 1:
            figures[f"{prefix}regret_cost"] = curves_figure(
                by_cost, colours, xlabel=_cost_axis_labels(df, cost_labels), ylabel=ylabel,
                band=band, log_x=log, log_y=log, style=style)
    return figures


def _subset(df: pd.DataFrame, column: str, names: list[str] | None, what: str) -> pd.DataFrame:
    if not names:
        return df
    present = sorted(df[column].unique())
    unknown = [n for n in names if n not in present]
    if unknown:
        raise UserError(f"{what} {', '.join(unknown)} not in this experiment; choose from "
                        f"{', '.join(present)}")
    return df[df[column].isin(names)]


def experiment_figures(df: pd.DataFrame, manifest: dict, *, metric: str = "test",
                       axes: tuple[str, ...] = ("evals", "cost"), log: bool = True,
                       band: str = "se", style: str | FigureStyle = "default",
                       strategies: list[str] | None = None,
                       benchmarks: list[str] | None = None,
                       ) -> tuple[dict[str, Figure], list[str]]:
    """Every figure ``tabnas plot`` writes, with notes on what was left out and why.

    ``metric``: "test" (regret of the reported value), "value" (of the searched,
    validation value) or "both" (validation beside test). With two or more benchmarks
    a pooled figure (normalised regret and average rank over evaluations) is added;
    its scale comes from the whole experiment, so a subset of strategies keeps it.
    Colours come from all the experiment's strategies, so subsets keep them too.
    """
    from tabnas import statistics

    if metric not in ("test", "value", "both"):
        raise UserError(f"unknown metric {metric!r}; choose test, value or both")
    bad = [a for a in axes if a not in ("evals", "cost")]
    if bad or not axes:
        raise UserError(f"unknown x axis {', '.join(bad) or '(none)'}; choose evals, cost "
                        "or evals,cost")
    if band not in ("se", "iqr"):
        raise UserError(f"unknown band {band!r}; choose se (mean ± s.e.) or iqr (median, IQR)")
    st = get_style(style)
    colours = strategy_colours(df["strategy"].unique())
    full = _subset(df, "benchmark", benchmarks, "benchmark(s)")
    sub = _subset(full, "strategy", strategies, "strategy(ies)")
    metrics = {"test": ["regret_test"], "value": ["regret_value"],
               "both": ["regret_value", "regret_test"]}[metric]
    for m in metrics:
        if not sub[m].notna().any():
            other = "value" if m == "regret_test" else "test"
            raise UserError(f"no run of the selection has a {m}; choose --metric {other}")
    cost_labels = manifest.get("cost_labels")
    notes: list[str] = []
    figures: dict[str, Figure] = {}
    kw = {"band": band, "log_x": log, "log_y": log, "style": st}
    for axis in axes:
        cv = {m: statistics.curves(sub, axis, metric=m) for m in metrics}
        if axis == "cost" and cv[metrics[0]]["x"].nunique() <= 1:
            notes.append("no figure over cost: every run reached its first evaluation at the "
                         "largest cost any run spent")
            continue
        xlabel = "evaluations" if axis == "evals" else _cost_axis_labels(sub, cost_labels)
        if metric == "both":
            figures[f"value_test_{axis}"] = value_test_figure(
                cv["regret_value"], cv["regret_test"], colours, xlabel=xlabel,
                value_units=regret_units(manifest, "regret_value"),
                test_units=regret_units(manifest, "regret_test"), **kw)
        else:
            m = metrics[0]
            prefix = "" if m == "regret_test" else "value_"
            name = "test regret" if m == "regret_test" else "validation regret"
            units = regret_units(manifest, m)
            ylabel = {b: f"{name} ({units.get(b, regret_unit(None))})"
                      for b in sub["benchmark"].unique()}
            figures[f"{prefix}regret_{axis}"] = curves_figure(cv[m], colours, xlabel=xlabel,
                                                              ylabel=ylabel, **kw)
    if sub["benchmark"].nunique() >= 2:
        if "evals" not in axes:
            notes.append("the pooled figure is over evaluations: cost units differ between "
                         "benchmarks")
        for m in metrics:
            prefix = "" if m == "regret_test" else "value_"
            name = "test regret" if m == "regret_test" else "validation regret"
            figures[f"{prefix}pooled_evals"] = pooled_figure(
                normalised_curves(sub, m, scale_from=full), colours, metric_name=name,
                log_x=log, log_y=log, style=st)
    if not figures:
        raise UserError("nothing to plot with these options; add --x evals")
    return figures, notes


def save_figure(fig: Figure, out_dir: Path, stem: str,
                formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """Write ``stem.<fmt>`` for each format atomically; closes the figure.

    Saved at the figure's own resolution (its style's), with TrueType fonts in PDF.
    """
    from tabnas.cache import atomic_write_bytes

    plt = _pyplot()
    out: dict[str, Path] = {}
    try:
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            with plt.rc_context(SAVE_RC):
                atomic_write_bytes(path, lambda tmp, fmt=fmt: fig.savefig(
                    tmp, format=fmt, dpi="figure", metadata=_metadata(fmt)))
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
