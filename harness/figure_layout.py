"""Figure frames for screens and paper: sizes, log axes with a floor, labels that fit.

Log axes have a *floor*: a round value (1, 2 or 5 x 10^k) at most two thirds
of the smallest positive value a panel's curves and band edges take, band
edges counting only down to about two decades below the lowest curve.
Whatever is at or below it (zero regret, i.e. the optimum found, and band
edges, mean - s.e. or a quartile, that reach zero or come within rounding of
it) is drawn on a dotted line at the floor whose tick reads "0", and nothing
is drawn below it. So bands stay inside the panel, a quartile of 0 draws no
diagonal wedge (points masked on a log axis make ``fill_between`` join their
neighbours), and a run that found the optimum still shows its curve.

Figures use constrained layout, labels wrapped to the width they have, one
legend above the panels, and one of three sizes (:data:`STYLES`): ``default``
for screens and the HTML report, ``single`` (3.5 in wide) and ``double``
(7.16 in) for one- and two-column papers.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from tabnas.errors import BadConfiguration

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: What a caption says about the floor of log axes.
FLOOR_NOTE = ("Log axes: values at or below the dotted floor line, zero regret included, "
              "are drawn on it; its tick reads 0.")
#: The floor line's colour: grey, so it reads as an axis mark and not as a strategy.
FLOOR_COLOUR = "#555555"


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
    """The style of that name (a :class:`FigureStyle` passes through); refuses others."""
    if isinstance(style, FigureStyle):
        return style
    if style not in STYLES:
        raise BadConfiguration(f"unknown figure style {style!r}; choose one of {', '.join(STYLES)}")
    return STYLES[style]


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only: no display is needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rc_for(style: FigureStyle) -> dict:
    """matplotlib settings for text and line sizes while a figure of ``style`` is made."""
    fs = style.font_size
    return {"font.size": fs, "axes.titlesize": fs, "axes.labelsize": fs,
            "xtick.labelsize": fs * 0.9, "ytick.labelsize": fs * 0.9,
            "legend.fontsize": fs * 0.9, "legend.title_fontsize": fs * 0.9,
            "figure.titlesize": fs * 1.1, "lines.linewidth": 1.5 if fs >= 9 else 1.1,
            "axes.linewidth": 0.8 if fs >= 9 else 0.6}


def wrap(text: str, width_in: float, font_size: float) -> str:
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


#: Minor positions on log axes: m x 10^k for these m (matplotlib's "auto" subs).
MINOR_SUBS = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)


def _log_positions(lo: float, hi: float, subs) -> np.ndarray:
    """m x 10^k for m in ``subs`` inside [lo, hi] (none beyond ten decades, as matplotlib)."""
    if lo <= 0 or hi <= lo or math.log10(hi / lo) > 10:
        return np.array([])
    decades = 10.0 ** np.arange(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
    values = (decades[:, None] * np.asarray(subs, dtype=float)[None, :]).ravel()
    return values[(values >= lo * (1 - 1e-9)) & (values <= hi * (1 + 1e-9))]


def _floor_locator(floor: float | None, room=None):
    from matplotlib import ticker

    class FloorLocator(ticker.LogLocator):
        """Major log ticks above the floor, the floor itself included, leaving out those
        too close to it for a label (``room``)."""

        def tick_values(self, vmin, vmax):
            ticks = np.asarray(super().tick_values(vmin, vmax), dtype=float)
            if floor is None:
                return ticks
            ticks = ticks[ticks > floor * (1 + 1e-9)]
            if room is not None:
                ticks = np.array([t for t in ticks if room(t, floor)])
            return np.r_[floor, ticks]

    return FloorLocator(subs=(1.0,))


def _labelled_minor_locator(shown):
    """Minor ticks only where a label goes (``shown(lo, hi)``: their positions).

    The unlabelled minor ticks and the minor grid are drawn by :class:`MinorMarks`:
    matplotlib draws each tick as three artists and lays each out, which made the
    minor ticks of log axes most of a figure's drawing time.
    """
    from matplotlib import ticker

    class LabelledMinorLocator(ticker.Locator):
        def __call__(self):
            lo, hi = self.axis.get_view_interval()
            return self.tick_values(lo, hi)

        def tick_values(self, vmin, vmax):
            return shown(*sorted((vmin, vmax)))

    return LabelledMinorLocator()


@cache
def _minor_marks_class():
    """The :class:`MinorMarks` artist class, made on first use (matplotlib loads lazily)."""
    from matplotlib.artist import Artist, allow_rasterization
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import IdentityTransform

    class MinorMarks(Artist):
        """The minor ticks of a log axis that carry no label and, once :func:`grid` turns
        it on, the minor grid at every minor position (2 to 9 x 10^k): two line
        collections made at the axis's limits when drawn."""

        def __init__(self, ax, which: str, floor: float | None, tick_kw: dict):
            super().__init__()
            self.ax, self.which, self.floor, self.tick_kw = ax, which, floor, tick_kw
            self.grid_kw: dict | None = None
            self.set_in_layout(False)
            self.set_zorder(1.5)  # where the axis's own ticks and grid lines are drawn

        def positions(self) -> np.ndarray:
            """Every minor position inside the view, above the floor."""
            axis = self.ax.xaxis if self.which == "x" else self.ax.yaxis
            values = _log_positions(*sorted(axis.get_view_interval()), MINOR_SUBS)
            if self.floor is not None:
                values = values[values > self.floor * (1 + 1e-9)]
            return values

        @allow_rasterization
        def draw(self, renderer):
            if not self.get_visible():
                return
            axis = self.ax.xaxis if self.which == "x" else self.ax.yaxis
            values = self.positions()
            if not len(values):
                return
            box, x = self.ax.bbox, self.which == "x"
            ones = np.ones_like(values)
            at = self.ax.transData.transform(
                np.c_[values, ones] if x else np.c_[ones, values])[:, 0 if x else 1]
            if self.grid_kw is not None:
                lo, hi = (box.y0, box.y1) if x else (box.x0, box.x1)
                self._lines(at, lo, hi, self.grid_kw, clip=True).draw(renderer)
            labelled = np.asarray(axis.get_minorticklocs(), dtype=float)
            if len(labelled):  # those have their own tick
                at = at[np.all(np.abs(values[:, None] / labelled[None, :] - 1) > 1e-9,
                               axis=1)]
            size = self.tick_kw["size"] * self.ax.figure.dpi / 72
            base = box.y0 if x else box.x0
            d0, d1 = {"in": (0.0, size), "inout": (-size / 2, size / 2)}.get(
                self.tick_kw["direction"], (-size, 0.0))
            self._lines(at, base + d0, base + d1,
                        {"colors": self.tick_kw["color"], "linewidths": self.tick_kw["width"]},
                        clip=False).draw(renderer)

        def _lines(self, at, lo, hi, kw, *, clip):
            ends = np.stack([np.c_[at, np.full_like(at, lo)], np.c_[at, np.full_like(at, hi)]],
                            axis=1)
            lines = LineCollection(ends if self.which == "x" else ends[..., ::-1],
                                   transform=IdentityTransform(), **kw)
            lines.set_figure(self.ax.figure)
            if clip:
                lines.set_clip_box(self.ax.bbox)
            return lines

    return MinorMarks


def minor_marks(ax: Axes) -> list:
    """The :class:`MinorMarks` artists :func:`log_axis` added to ``ax``."""
    return [a for a in ax.artists if isinstance(a, _minor_marks_class())]


def log_axis(ax: Axes, which: str, floor: float | None = None, *,
             zero_at_floor: bool = False) -> None:
    """Log scale with plain tick labels (0.5, 2, 300; not 5x10^-1).

    Minor ticks are labelled only on axes spanning two decades or less, and where the
    panel leaves room for them (judged from its size in points when drawn, so narrow
    paper panels drop them). With ``zero_at_floor`` the floor's tick reads "0".
    Minor ticks without a label are drawn as one :class:`MinorMarks` artist.
    """
    import matplotlib as mpl
    from matplotlib import ticker

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log", nonpositive="mask")
    size = axis.get_major_ticks()[0].label1.get_fontsize() if axis.get_major_ticks() else 9.0

    def length() -> float:
        return (ax.bbox.width if which == "x" else ax.bbox.height) * 72 / ax.figure.dpi

    def room(v: float, w: float) -> bool:
        """Whether labels at ``v`` and ``w`` are far enough apart not to overlap."""
        lo, hi = axis.get_view_interval()
        if lo <= 0 or hi <= lo:
            return True
        need = (0.64 * size * max(len(f"{v:g}"), len(f"{w:g}")) + 4) if which == "x" \
            else 1.8 * size
        return abs(math.log10(v / w)) * length() / math.log10(hi / lo) >= need

    def major(v: float, _pos) -> str:
        if floor is not None and abs(v - floor) <= 1e-9 * floor:
            return "0" if zero_at_floor else f"{v:g}"
        if floor is not None and not room(v, floor):
            return ""  # the floor's label is the one that must stay
        return f"{v:g}"

    def shown(lo: float, hi: float) -> np.ndarray:
        """The minor positions that get a label: 2, 3, 5 (or 2, 5) x 10^k where they fit."""
        if lo <= 0 or hi <= lo or hi / lo > 100:
            return np.array([])  # more than two decades: the decades alone are labelled
        per_decade = length() / math.log10(hi / lo)
        labelled = []
        for v in _log_positions(lo, hi, (2.0, 3.0, 5.0)):
            if floor is not None and (v <= floor * (1 + 1e-9) or not room(v, floor)):
                continue
            need = (0.64 * size * max(len(f"{v:g}"), 3) + 4) if which == "x" else 1.4 * size
            mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9))
            if per_decade * math.log10(1.5) >= need or (
                    per_decade * math.log10(2) >= need and mantissa in (2, 5)):
                labelled.append(v)
        return np.array(labelled)

    axis.set_major_locator(_floor_locator(floor, room=room))
    axis.set_minor_locator(_labelled_minor_locator(shown))
    axis.set_major_formatter(ticker.FuncFormatter(major))
    axis.set_minor_formatter(ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_tick_params(which="minor", labelsize=size * 0.85)
    for old in minor_marks(ax):
        if old.which == which:
            old.remove()
    rc = mpl.rcParams
    ax.add_artist(_minor_marks_class()(ax, which, floor, {
        "size": rc[f"{which}tick.minor.size"], "width": rc[f"{which}tick.minor.width"],
        "color": rc[f"{which}tick.color"], "direction": rc[f"{which}tick.direction"]}))


def grid(ax: Axes) -> None:
    """Major and (fainter) minor grid lines, so many decades do not turn the panel grey."""
    import matplotlib as mpl

    ax.grid(True, which="major", alpha=0.3, linewidth=0.6)
    marks = minor_marks(ax)
    for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        if which not in {m.which for m in marks}:
            axis.grid(True, which="minor", alpha=0.12, linewidth=0.5)
    for m in marks:
        m.grid_kw = {"colors": mpl.rcParams["grid.color"], "alpha": 0.12, "linewidths": 0.5,
                     "linestyles": mpl.rcParams["grid.linestyle"]}


def log_limits(ax: Axes, which: str, floor: float, top: float) -> None:
    """Limits from just below the floor to just above ``top``: the data's range."""
    top = top if top > floor else floor * 10
    pad = 10 ** (0.04 * math.log10(top / floor))
    (ax.set_xlim if which == "x" else ax.set_ylim)(floor / pad, top * pad)


def floor_line(ax: Axes, which: str, floor: float) -> None:
    """The dotted line zero is drawn on (a collection, not a curve: legends skip it)."""
    if which == "y":
        ax.hlines(floor, 0, 1, transform=ax.get_yaxis_transform(), colors=FLOOR_COLOUR,
                  linestyles=":", linewidth=0.9, zorder=1.5)
    else:
        ax.vlines(floor, 0, 1, transform=ax.get_xaxis_transform(), colors=FLOOR_COLOUR,
                  linestyles=":", linewidth=0.9, zorder=1.5)


# --- Figure frames ---------------------------------------------------------------------

def panel_grid(n: int, style: str | FigureStyle = "default", *, cols: int | None = None,
               header_lines: int = 0, width: float | None = None,
               height: float | None = None):
    """A constrained-layout figure with ``n`` panels in rows of at most ``cols`` columns.

    ``header_lines`` reserves height for a legend and title above the panels;
    ``width`` and ``height`` (inches) set one panel's size instead of the style.
    """
    plt = pyplot()
    st = get_style(style)
    cols = min(n, cols or st.max_cols)
    rows = math.ceil(n / cols)
    if width is not None:
        panel_w = width
        width = panel_w * cols
    elif st.width is None:
        panel_w = 6.0 if n == 1 else st.panel_width
        width = panel_w * cols
    else:
        width, panel_w = st.width, st.width / cols
    panel_h = max(panel_w * st.aspect, 1.6 if st.width else 2.4)
    if n == 1 and st.width is None:
        panel_h = 3.8
    panel_h = height if height is not None else panel_h
    height = rows * panel_h + header_lines * st.font_size * 1.45 / 72 + 0.1
    with plt.rc_context(rc_for(st)):
        fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False,
                                 layout="constrained", dpi=st.dpi)
    fig.get_layout_engine().set(h_pad=0.03, w_pad=0.03, hspace=0.04, wspace=0.04)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    for ax in flat[:n]:
        ax.tick_params(which="major", labelsize=st.font_size * 0.9)
    return fig, flat[:n]


def _legend_cols(n_entries: int, longest: int, width_in: float, style: FigureStyle) -> int:
    """Legend columns that fit ``width_in`` inches with labels of ``longest`` characters."""
    fs = style.font_size * 0.9
    per_entry = (0.6 * fs * longest + 3.2 * fs) / 72
    return max(1, min(n_entries, int(width_in / per_entry)))


def legend(fig: Figure, handles: dict, style: FigureStyle, title: str = "") -> None:
    """One legend above the panels, in as many columns as the figure's width holds."""
    if not handles:
        return
    fs = style.font_size * 0.9
    ncols = _legend_cols(len(handles), max(len(label) for label in handles),
                         fig.get_figwidth(), style)
    fig.legend(list(handles.values()), list(handles), loc="outside upper center", ncols=ncols,
               title=title or None, fontsize=fs, title_fontsize=fs, frameon=False,
               handlelength=2.2, columnspacing=1.2)


def header_lines(n_entries: int, longest: int, width_in: float, style: FigureStyle,
                 title: bool) -> int:
    """Text lines the legend above the panels will take (as :func:`legend` lays it out)."""
    ncols = _legend_cols(n_entries, longest, width_in, style)
    return math.ceil(n_entries / ncols) + (1 if title else 0) + 1


def figure_width(n: int, style: FigureStyle, cols: int | None = None) -> float:
    """Width in inches of a figure of ``n`` panels, as :func:`panel_grid` makes it."""
    cols = min(n, cols or style.max_cols)
    if style.width is not None:
        return style.width
    return (6.0 if n == 1 else style.panel_width) * cols


def axis_labels(fig: Figure, axes: list, xlabels: list[str], ylabels: list[str],
                 style: FigureStyle, cols: int) -> None:
    """Labels wrapped to their panel; one figure-wide label where every panel shares it."""
    fs = style.font_size
    fw, fh = fig.get_size_inches()
    rows = math.ceil(len(axes) / cols)
    # The axes get the column less the room of the y label and tick labels.
    room = max(fw / cols - 5.5 * fs / 72, 0.5 * fw / cols)
    for ax in axes:
        ax.set_title(wrap(ax.get_title(), room, fs), fontsize=fs)
    if len(axes) > 1 and len(set(xlabels)) == 1:
        fig.supxlabel(wrap(xlabels[0], fw * 0.9, fs), fontsize=fs)
    else:
        for ax, label in zip(axes, xlabels, strict=True):
            ax.set_xlabel(wrap(label, room, fs), fontsize=fs)
    shared_y = len(axes) > 1 and len(set(ylabels)) == 1
    for i, (ax, label) in enumerate(zip(axes, ylabels, strict=True)):
        if (shared_y and i % cols) or not label:
            continue
        ax.set_ylabel(wrap(label, fh / rows * 0.8, fs), fontsize=fs)
