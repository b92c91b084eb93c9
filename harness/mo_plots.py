"""Multi-objective figures: Pareto fronts with the true front drawn, and attainment surfaces.

Fronts are drawn in the objectives' own units (accuracy in %, latency in
seconds), on the *reported* side: each run's final incumbent front (chosen on
the searched values) placed at its architectures' seed-averaged reported
values, which is what its hypervolume is computed from. The table's exact
Pareto front is drawn in black in every panel.

Empirical attainment surfaces (``moocore.eaf`` over the runs' final fronts):
the 50% surface (median) bounds what at least half of the seeds attained, the
25% and 75% surfaces the optimistic and pessimistic quartiles. Surfaces are
staircases, drawn as such. Only two-objective benchmarks are drawn; with more
objectives the figures say so instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tabnas.plots import _style, panel_grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tabnas.objectives import MultiObjectiveBenchmark

#: Attainment percentiles drawn: the lower quartile, the median, the upper quartile.
PERCENTILES = (25.0, 50.0, 75.0)


def final_fronts(df: pd.DataFrame, bench: MultiObjectiveBenchmark) -> dict[str, list[np.ndarray]]:
    """Strategy -> one array per run of its final front's reported values (raw units)."""
    from tabnas.mo_records import FRONT_SEPARATOR

    rows = df[df["benchmark"] == bench.name]
    last = rows.loc[rows.groupby(["strategy", "seed"], sort=True)["step"].idxmax()]
    space = bench.space
    out: dict[str, list[np.ndarray]] = {}
    for r in last.itertuples(index=False):
        front = r.incumbent_arch or ""
        cells = [space.index(space.from_string(a)) for a in front.split(FRONT_SEPARATOR) if a]
        out.setdefault(r.strategy, []).append(bench.reported_truth[cells])
    return out


def surfaces(bench: MultiObjectiveBenchmark, fronts: list[np.ndarray],
             percentiles: tuple[float, ...] = PERCENTILES) -> dict[float, np.ndarray]:
    """Attainment surfaces of raw-unit fronts, returned in raw units."""
    from tabnas.pareto import attainment

    oriented = [f * bench.sign for f in fronts]
    return {p: s * bench.sign if s.size else s
            for p, s in attainment(oriented, percentiles).items()}


def _staircase(points: np.ndarray, bench: MultiObjectiveBenchmark) -> tuple[np.ndarray, ...]:
    """x, y of the attained region's boundary through ``points`` (two objectives)."""
    z = points * bench.sign  # minimisation
    z = z[np.argsort(z[:, 0], kind="stable")]
    xs, ys = [z[0, 0]], [z[0, 1]]
    for a, b in zip(z[:-1], z[1:], strict=True):
        xs += [b[0], b[0]]
        ys += [a[1], b[1]]
    return np.array(xs) * bench.sign[0], np.array(ys) * bench.sign[1]


def _axes_labels(ax, bench: MultiObjectiveBenchmark) -> None:
    o = bench.objectives
    arrow = {True: "(higher is better)", False: "(lower is better)"}
    ax.set_xlabel(f"{o[0].name} {arrow[o[0].maximize]}", fontsize="small")
    ax.set_ylabel(f"{o[1].name} {arrow[o[1].maximize]}", fontsize="small")
    ax.grid(True, alpha=0.3)


def _true_front(ax, bench: MultiObjectiveBenchmark) -> None:
    pts = bench.reported_truth[bench.fronts["test"].cells]
    x, y = _staircase(pts, bench)
    ax.plot(x, y, color="black", lw=1.0, label=f"true front ({len(pts)} archs)")
    ax.scatter(pts[:, 0], pts[:, 1], color="black", s=12, zorder=3)


def _zoom(ax, bench: MultiObjectiveBenchmark, drawn: list[np.ndarray]) -> None:
    """Limit the axes to what was drawn (the table's tail of broken architectures is not)."""
    pts = np.vstack([bench.reported_truth[bench.fronts["test"].cells], *drawn])
    pts = pts[np.isfinite(pts).all(axis=1)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.where(hi > lo, hi - lo, 1.0) * 0.05
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])


def _unsupported(ax, bench: MultiObjectiveBenchmark) -> None:
    ax.axis("off")
    ax.text(0.5, 0.5, f"{bench.name}: {len(bench.objectives)} objectives; fronts are drawn "
            "for two", ha="center", va="center", fontsize="small")


def fronts_figure(df: pd.DataFrame, benches: list[MultiObjectiveBenchmark],
                  colours: dict[str, str]) -> Figure:
    """One panel per benchmark: the true front and each strategy's median attainment surface."""
    fig, axes = panel_grid(len(benches), width=4.6, height=3.8)
    for ax, bench in zip(axes, benches, strict=True):
        if len(bench.objectives) != 2:
            _unsupported(ax, bench)
            continue
        _true_front(ax, bench)
        drawn = []
        for strat, fronts in sorted(final_fronts(df, bench).items()):
            s = surfaces(bench, fronts, (50.0,))[50.0]
            if s.size:
                x, y = _staircase(s, bench)
                ax.plot(x, y, label=f"{strat} (n={len(fronts)})", **_style(colours, strat))
                drawn.append(s)
        _zoom(ax, bench, drawn)
        _axes_labels(ax, bench)
        ax.set_title(bench.name, fontsize="small")
        ax.legend(title="median attainment surface", fontsize="x-small",
                  title_fontsize="x-small")
    return fig


def attainment_figure(df: pd.DataFrame, bench: MultiObjectiveBenchmark,
                      colours: dict[str, str]) -> Figure:
    """One panel per strategy: its 25/50/75% attainment surfaces over seeds, the true front."""
    fronts = final_fronts(df, bench)
    fig, axes = panel_grid(len(fronts), width=4.2, height=3.5)
    for ax, (strat, runs) in zip(axes, sorted(fronts.items()), strict=True):
        if len(bench.objectives) != 2:
            _unsupported(ax, bench)
            continue
        _true_front(ax, bench)
        colour = _style(colours, strat)["color"]
        drawn = []
        for p, s in surfaces(bench, runs).items():
            if s.size:
                x, y = _staircase(s, bench)
                ax.plot(x, y, color=colour, lw=2.0 if p == 50 else 0.9,
                        linestyle={25.0: ":", 50.0: "-"}.get(p, "--"),
                        label=f"{p:g}% of seeds attained")
                drawn.append(s)
        _zoom(ax, bench, drawn)
        _axes_labels(ax, bench)
        ax.set_title(f"{strat} (n={len(runs)} seeds)", fontsize="small")
        ax.legend(fontsize="x-small")
    fig.suptitle(f"{bench.name}: empirical attainment surfaces of the final fronts",
                 fontsize="small")
    return fig
