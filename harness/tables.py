"""Result tables at a budget: final and anytime, as Markdown, CSV and LaTeX.

Each cell is mean ± standard error over seeds of the test regret (lower is
better). In every benchmark the best strategy (lowest mean) is bold, and the
strategies that the Holm-corrected paired Wilcoxon test cannot tell apart from
it are underlined: "tied with the best" is a statistical statement, not a
rounding accident. LaTeX uses booktabs rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabnas.significance import tied_with_best
from tabnas.statistics import bootstrap_ci, paired_wide, values_at


def _marks(long: pd.DataFrame, alpha: float) -> dict[tuple[str, str], str]:
    """(benchmark, strategy) -> "best", "tied" or "" from paired tests at one budget."""
    marks: dict[tuple[str, str], str] = {}
    for bench in sorted(long["benchmark"].unique()):
        wide = paired_wide(long, bench)
        if wide.shape[1] < 2 or wide.shape[0] < 1:
            best, tied = (str(wide.columns[0]), set()) if wide.shape[1] else ("", set())
        else:
            best, tied = tied_with_best(wide, alpha)
        means = wide.mean(axis=0)
        for s in wide.columns:
            # Equal means are equally best (e.g. every strategy found the optimum).
            is_best = s == best or (best and means[s] == means[best])
            marks[(bench, s)] = "best" if is_best else ("tied" if s in tied else "")
    return marks


def final_results(df: pd.DataFrame, *, evals: int | None = None, cost: float | None = None,
                  alpha: float = 0.05, metric: str = "regret_test",
                  level: float = 0.95) -> pd.DataFrame:
    """Per benchmark and strategy at a budget (default: each run's end).

    Columns: benchmark, strategy, runs, mean, se, median, q25, q75, ci_lo, ci_hi
    (bootstrap BCa interval of the mean at ``level``), avg_rank (within seeds), mark.
    """
    from tabnas.significance import block_ranks

    long = values_at(df, evals=evals, cost=cost, metric=metric)
    marks = _marks(long, alpha)
    rows = []
    for bench, lb in long.groupby("benchmark", sort=True):
        ranks = block_ranks(paired_wide(lb)).mean(axis=0)
        for strat, ls in lb.groupby("strategy", sort=True):
            x = ls["value"].to_numpy(float)
            x = x[np.isfinite(x)]
            n = len(x)
            lo, hi = bootstrap_ci(x, level=level)
            rows.append({
                "benchmark": bench, "strategy": strat, "runs": n,
                "mean": float(x.mean()) if n else np.nan,
                "se": float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                "median": float(np.median(x)) if n else np.nan,
                "q25": float(np.quantile(x, 0.25)) if n else np.nan,
                "q75": float(np.quantile(x, 0.75)) if n else np.nan,
                "ci_lo": lo, "ci_hi": hi,
                "avg_rank": float(ranks[strat]),
                "mark": marks.get((bench, strat), ""),
            })
    return pd.DataFrame(rows)


def anytime_results(df: pd.DataFrame, *, axis: str, budgets, alpha: float = 0.05,
                    metric: str = "regret_test") -> pd.DataFrame:
    """Mean ± s.e. and marks at several budgets; columns: budget, benchmark, strategy, ..."""
    parts = []
    for b in budgets:
        kw = {"evals": int(b)} if axis == "evals" else {"cost": float(b)}
        long = values_at(df, metric=metric, **kw)
        marks = _marks(long, alpha)
        agg = long.groupby(["benchmark", "strategy"], sort=True)["value"].agg(
            runs="count", mean="mean", se=lambda v: v.std(ddof=1) / np.sqrt(v.count()))
        agg = agg.reset_index()
        agg.insert(0, "budget", b)
        agg["mark"] = [marks.get((r.benchmark, r.strategy), "") for r in agg.itertuples()]
        parts.append(agg)
    return pd.concat(parts, ignore_index=True)


def _cell(mean: float, se: float, digits: int) -> str:
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f} ± {se:.{digits}f}" if np.isfinite(se) else f"{mean:.{digits}f}"


def _wide_cells(table: pd.DataFrame, column: str, digits: int) -> pd.DataFrame:
    """Rows = strategies, columns = ``column`` values, cells = (text, mark)."""
    cells = {}
    for r in table.itertuples(index=False):
        cells.setdefault(r.strategy, {})[getattr(r, column)] = (
            _cell(r.mean, r.se, digits), r.mark)
    cols = list(dict.fromkeys(table[column]))
    return pd.DataFrame.from_dict(cells, orient="index")[cols].sort_index()


def to_markdown(table: pd.DataFrame, column: str = "benchmark", digits: int = 3) -> str:
    """Strategies x ``column`` (benchmark, or budget); **best**, <u>tied with best</u>."""
    wide = _wide_cells(table, column, digits)
    head = "| strategy | " + " | ".join(str(c) for c in wide.columns) + " |"
    lines = [head, "|---|" + "---:|" * len(wide.columns)]
    for strat, row in wide.iterrows():
        out = []
        for cell in row:
            text, mark = cell if isinstance(cell, tuple) else ("–", "")
            out.append(f"**{text}**" if mark == "best" else
                       f"<u>{text}</u>" if mark == "tied" else text)
        lines.append(f"| {strat} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"),
                 ("#", r"\#"), ("~", r"\textasciitilde{}"), ("±", r"$\pm$")):
        text = text.replace(a, b)
    return text


def to_latex(table: pd.DataFrame, column: str = "benchmark", digits: int = 3,
             caption: str = "") -> str:
    """A booktabs ``tabular``: \\textbf for the best, \\underline for tied with the best."""
    wide = _wide_cells(table, column, digits)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + _tex(caption) + "}")
    lines += [r"\begin{tabular}{l" + "r" * len(wide.columns) + "}", r"\toprule",
              "strategy & " + " & ".join(_tex(str(c)) for c in wide.columns) + r" \\",
              r"\midrule"]
    for strat, row in wide.iterrows():
        out = []
        for cell in row:
            text, mark = cell if isinstance(cell, tuple) else ("--", "")
            text = text.replace("±", r"$\pm$").replace("–", "--")
            out.append(r"\textbf{" + text + "}" if mark == "best" else
                       r"\underline{" + text + "}" if mark == "tied" else text)
        lines.append(_tex(str(strat)) + " & " + " & ".join(out) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def to_csv_text(table: pd.DataFrame) -> str:
    """The long table as CSV (every number, full precision)."""
    return table.to_csv(index=False)


def summary_markdown(final: pd.DataFrame) -> str:
    """One row per benchmark and strategy of :func:`final_results` (what ``tabnas stats`` prints).

    **best** mean in bold, <u>statistically tied with the best</u> underlined.
    """
    lines = ["| benchmark | strategy | runs | mean ± s.e. | 95% CI | median [IQR] | avg rank |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in final.itertuples(index=False):
        cell = f"{r.mean:.4f} ± {r.se:.4f}"
        cell = f"**{cell}**" if r.mark == "best" else f"<u>{cell}</u>" if r.mark == "tied" else cell
        lines.append(
            f"| {r.benchmark} | {r.strategy} | {r.runs} | {cell} | [{r.ci_lo:.4f}, {r.ci_hi:.4f}] "
            f"| {r.median:.4f} [{r.q25:.4f}, {r.q75:.4f}] | {r.avg_rank:.2f} |"
        )
    return "\n".join(lines)
