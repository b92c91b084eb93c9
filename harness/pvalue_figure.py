"""A p-value heat map of the all-pairs tests: one small figure instead of k(k-1)/2 table rows.

Each panel (one per benchmark) is a k x k grid of strategies. A cell's colour is
its Holm-adjusted p-value in four bands (< 0.001, < 0.01, < alpha, not
significant); a significant cell carries the sign of the comparison, ``<`` where
the row strategy is lower (better) than the column strategy and ``>`` where it
is higher, so the figure reads like a sign table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pvalue_matrix(pairs: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(Holm p, sign) k x k from :func:`tabnas.significance.pairwise_wilcoxon` rows.

    sign[i, j] is -1 where strategy i is significantly lower than j, +1 where higher,
    0 otherwise; the diagonal is NaN / 0.
    """
    k = len(names)
    where = {n: i for i, n in enumerate(names)}
    p = np.full((k, k), np.nan)
    sign = np.zeros((k, k), dtype=int)
    for r in pairs.itertuples(index=False):
        i, j = where[r.a], where[r.b]
        p[i, j] = p[j, i] = r.p_holm
        if r.significant:
            s = -1 if r.better == r.a else 1
            sign[i, j], sign[j, i] = s, -s
    return p, sign


def pvalue_heatmap(pairs: dict[str, pd.DataFrame], alpha: float) -> Figure:
    """Heat maps of all-pairs Holm p-values, one panel per benchmark (``pairs``: bench -> rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    benches = sorted(pairs)
    names = sorted({n for t in pairs.values() for n in (*t["a"], *t["b"])})
    k = len(names)
    cols = min(len(benches), 2)
    rows = math.ceil(len(benches) / cols)
    side = 1.2 + 0.42 * k
    fig, axes = plt.subplots(rows, cols, figsize=(side * cols + 1.2, side * rows),
                             squeeze=False, layout="constrained")
    bounds = sorted({0.0, 0.001, 0.01, alpha, 1.0})
    cmap = ListedColormap(["#08306b", "#2171b5", "#6baed6", "#f0f0f0"][-(len(bounds) - 1):]
                          ).with_extremes(bad="white")
    norm = BoundaryNorm(bounds, cmap.N)
    image = None
    for ax, bench in zip(axes.flat, benches, strict=False):
        p, sign = pvalue_matrix(pairs[bench], names)
        image = ax.imshow(p, cmap=cmap, norm=norm)
        for i in range(k):
            for j in range(k):
                if sign[i, j]:
                    ax.text(j, i, "<" if sign[i, j] < 0 else ">", ha="center", va="center",
                            color="white" if p[i, j] < 0.01 else "black", fontsize="small")
        ax.tick_params(length=0)
        ax.set_xticks(range(k), names, rotation=60, ha="right", fontsize="x-small")
        ax.set_yticks(range(k), names, fontsize="x-small")
        ax.set_title(bench, fontsize="small")
    for ax in list(axes.flat)[len(benches):]:
        ax.set_visible(False)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.8, ticks=bounds)
        bar.ax.set_yticklabels([f"{b:g}" for b in bounds], fontsize="x-small")
        bar.minorticks_off()
        bar.set_label("Holm-adjusted p (all pairs)", fontsize="small")
    fig.suptitle(f"'<': row significantly lower (better) than column, '>': higher "
                 f"(alpha = {alpha:g})", fontsize="small")
    return fig
