"""Result tables at a budget: final and anytime, as Markdown, CSV, LaTeX and plain text.

Each cell is mean ± standard error over seeds of the test regret (lower is
better). In every benchmark the best strategy (lowest mean) is bold, and the
strategies that the paired Wilcoxon test of the best against each other
strategy (Holm over those k - 1 tests) cannot tell apart from it are
underlined: "tied with the best" is a statistical statement, not a rounding
accident. LaTeX uses booktabs rules; the terminal gets plain text, no markup.

Per-strategy summaries use every seed a strategy ran; the paired tests behind
the marks use the seeds all strategies of a benchmark ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tabnas.significance import Comparisons, compare
from tabnas.statistics import bootstrap_ci, budget_rows, paired_wide, values_at


def comparisons(long: pd.DataFrame, alpha: float = 0.05,
                method: str = "auto") -> dict[str, Comparisons]:
    """Benchmark -> both families of paired tests at one budget (each pair tested once)."""
    return {str(b): compare(paired_wide(long, b), alpha, method)
            for b in sorted(long["benchmark"].unique())}


#: The statistical choices a table of marks or tests carries in ``DataFrame.attrs``, and
#: the constant columns its CSV ends with (:func:`to_csv_text`), in this order.
CHOICES = ("test", "correction", "alpha", "blocks", "note")

#: What the Holm correction runs over, per family of tests.
CORRECTIONS = {"control": "Holm over k - 1 (the best against each other strategy)",
               "pairs": "Holm over k(k - 1)/2 (every pair)"}


def stat_choices(comps: dict[str, Comparisons] | list[dict[str, Comparisons]],
                 family: str = "control") -> dict[str, object]:
    """The choices behind one family of tests over ``comps``, for ``DataFrame.attrs``.

    ``test`` (the test and how its p-values were computed), ``correction``,
    ``alpha``, ``blocks`` (what is paired) and ``note``: where no test of the
    family can reach alpha with the seeds there are, one line saying so
    (:func:`~tabnas.significance.power_note`), else empty. ``comps`` may be a list
    (the tests at several budgets): each method and each note is named once.
    Alpha and the ``--wilcoxon`` option are the tests' own; no tests, no choices.
    """
    from tabnas.significance import power_note

    sets = comps if isinstance(comps, list) else [comps]
    first = next((c for cs in sets for c in cs.values()), None)
    if first is None:
        return {}
    alpha, method = first.alpha, first.method
    used = sorted({m for cs in sets for c in cs.values() for m in getattr(c, family)["method"]})
    lines: dict[str, None] = {}
    for cs in sets:
        notes: dict[str, list[str]] = {}
        for bench, comp in cs.items():
            note = power_note(comp, family)
            if note:
                notes.setdefault(note, []).append(bench)
        lines.update((text if len(benches) == len(cs) else f"{', '.join(benches)}: {text}",
                      None) for text, benches in notes.items())
    return {"test": f"paired Wilcoxon signed-rank tests (two-sided), p-values "
                    f"{', '.join(used) or 'not needed'} (--wilcoxon {method})",
            "correction": CORRECTIONS[family], "alpha": float(alpha),
            "blocks": "the seeds every strategy of a benchmark ran, paired by seed",
            "note": "; ".join(lines)}


def budget_text(evals: int | None, cost: float | None) -> str:
    """The budget a table or report is at, in words: "after 50 evaluations", ..."""
    if evals is not None:
        return f"after {evals} evaluations"
    return f"at cumulative cost {cost:g}" if cost is not None else "at the end of each run"


def choices_text(attrs: dict) -> str:
    """The choices of :func:`stat_choices` in words, as every caption and the terminal say them."""
    return (f"{attrs['test']}, alpha = {attrs['alpha']:g}, {attrs['correction']}; "
            f"blocks: {attrs['blocks']}")


def caption(table: pd.DataFrame, what: str | None = None) -> str:
    """The caption of a table of marks (final or anytime), from its ``attrs``.

    The same text heads the Markdown file and is the LaTeX caption; a table whose
    tests cannot reach alpha says so in it. ``what`` defaults to the final table's
    "Test regret <budget>, mean ± s.e. over seeds".
    """
    attrs = table.attrs
    budget = attrs.get("budget", budget_text(None, None))
    what = what or f"Test regret {budget}, mean ± s.e. over seeds"
    text = (f"{what}; bold: best mean, underlined: not significantly worse than the best "
            f"({choices_text(attrs)}).")
    return text + (f" Note: {attrs['note']}." if attrs.get("note") else "")


def _marks(long: pd.DataFrame, comps: dict[str, Comparisons]) -> dict[tuple[str, str], str]:
    """(benchmark, strategy) -> "best", "tied" or "" from the control-versus-best tests."""
    marks: dict[tuple[str, str], str] = {}
    for bench in sorted(long["benchmark"].unique()):
        comp = comps[str(bench)]
        wide = comp.wide
        best, tied = comp.best, (comp.tied if wide.shape[0] >= 1 else set())
        means = wide.mean(axis=0)
        for s in wide.columns:
            # Equal means are equally best (e.g. every strategy found the optimum).
            is_best = s == best or (best and means[s] == means[best])
            marks[(bench, s)] = "best" if is_best else ("tied" if s in tied else "")
    return marks


def _mean_sd(x: np.ndarray) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if not len(x):
        return np.nan, np.nan, np.nan
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else np.nan, float(np.median(x))


def final_results(df: pd.DataFrame, *, evals: int | None = None, cost: float | None = None,
                  alpha: float = 0.05, metric: str = "regret_test", level: float = 0.95,
                  method: str = "auto", rows: pd.DataFrame | None = None,
                  comps: dict[str, Comparisons] | None = None) -> pd.DataFrame:
    """Per benchmark and strategy at a budget (default: each run's end).

    Columns: benchmark, strategy, runs, mean, se, median, q25, q75, ci_lo, ci_hi
    (bootstrap BCa interval of the mean at ``level``), avg_rank (within the common
    seeds), mark; and where the rows carry them, val_mean and val_se (validation
    regret: the regret of the incumbent's searched value), reported_mean,
    reported_sd and reported_median (the incumbent's reported value, e.g. test
    accuracy). ``rows`` (:func:`~tabnas.statistics.budget_rows`) and ``comps``
    (:func:`comparisons`) are taken when the caller has them already.
    """
    from tabnas.significance import block_ranks

    if rows is None:
        rows = budget_rows(df, evals=evals, cost=cost)
    long = rows[["benchmark", "strategy", "seed"]].copy()
    long["value"] = rows[metric].to_numpy(float)
    comps = comps if comps is not None else comparisons(long, alpha, method)
    marks = _marks(long, comps)
    out = []
    for bench, lb in long.groupby("benchmark", sort=True):
        ranks = block_ranks(comps[str(bench)].wide).mean(axis=0)
        for strat, ls in lb.groupby("strategy", sort=True):
            x = ls["value"].to_numpy(float)
            x = x[np.isfinite(x)]
            n = len(x)
            lo, hi = bootstrap_ci(x, level=level)
            mine = rows.loc[ls.index]
            row = {
                "benchmark": bench, "strategy": strat, "runs": n,
                "mean": float(x.mean()) if n else np.nan,
                "se": float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                "median": float(np.median(x)) if n else np.nan,
                "q25": float(np.quantile(x, 0.25)) if n else np.nan,
                "q75": float(np.quantile(x, 0.75)) if n else np.nan,
                "ci_lo": lo, "ci_hi": hi,
                "avg_rank": float(ranks[strat]),
                "mark": marks.get((bench, strat), ""),
            }
            if "regret_value" in rows:
                v = mine["regret_value"].to_numpy(float)
                v = v[np.isfinite(v)]
                row["val_mean"] = float(v.mean()) if len(v) else np.nan
                row["val_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else np.nan
            if "incumbent_test" in rows:
                m, sd, med = _mean_sd(mine["incumbent_test"].to_numpy(float))
                row.update(reported_mean=m, reported_sd=sd, reported_median=med)
            out.append(row)
    table = pd.DataFrame(out)
    table.attrs = {**stat_choices(comps), "budget": budget_text(evals, cost)}
    return table


def architectures(rows: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The architectures the strategies ended with: how often each, and their values.

    ``rows``: one row per run at the budget (:func:`~tabnas.statistics.budget_rows`).
    Per benchmark and strategy, the ``top`` most frequent final incumbents over
    seeds, most frequent first. Columns: benchmark, strategy, arch, seeds (runs
    that ended with it), runs, searched (its searched value, mean over those
    runs), reported (its reported value), val_regret, best (the architecture with
    the lowest validation regret, the one a user would pick without looking at
    test data; ties go to the more frequent, then the lower seed).
    """
    keys = ["benchmark", "strategy"]
    agg = rows.groupby([*keys, "incumbent_arch"], sort=False, observed=True).agg(
        seeds=("seed", "size"), first_seed=("seed", "min"),
        searched=("incumbent_value", "mean"), reported=("incumbent_test", "mean"),
        val_regret=("regret_value", "min")).reset_index()
    agg = agg.rename(columns={"incumbent_arch": "arch"})
    agg["arch"] = agg["arch"].astype(object).astype(str)
    agg["runs"] = agg.groupby(keys)["seeds"].transform("sum")
    by_val = agg.sort_values([*keys, "val_regret", "seeds", "first_seed"],
                             ascending=[True, True, True, False, True], kind="stable")
    best = by_val.groupby(keys, sort=False).head(1)
    agg["best"] = agg.index.isin(best.index)
    agg = agg.sort_values([*keys, "seeds", "val_regret", "first_seed"],
                          ascending=[True, True, False, True, True], kind="stable")
    shown = agg[(agg.groupby(keys).cumcount() < top) | agg["best"]]
    return shown[["benchmark", "strategy", "arch", "seeds", "runs", "searched", "reported",
                  "val_regret", "best"]].reset_index(drop=True)


def best_lines(archs: pd.DataFrame, units: dict[str, tuple[str, str]] | None = None,
               benchmarks: Mapping[str, Any] | None = None) -> list[str]:
    """One line per benchmark and strategy naming the architecture it found.

    "best: ARCH, validation 93.1 %, test 92.6 %" (searched and reported value), with
    how many seeds ended there when there are several. ``units`` maps benchmark ->
    (searched, reported) unit suffix (:func:`tabnas.plots.value_units`). A
    multi-objective run ends with a front, which can hold dozens of architectures:
    its line gives the front's size and, for a benchmark in ``benchmarks`` (name ->
    loaded multi-objective benchmark), the front's extreme points (its best
    architecture on each objective); the whole front is a row of ``archs``
    (architectures.csv).
    """
    from tabnas.objectives import split_name

    lines = []
    for r in archs[archs["best"]].itertuples(index=False):
        seeds = f" (final incumbent of {r.seeds} of {r.runs} seeds)" if r.runs > 1 else ""
        if split_name(r.benchmark) is not None:
            lines.append(_front_line(r, (benchmarks or {}).get(r.benchmark)))
            continue
        val, test = (units or {}).get(r.benchmark, ("", ""))
        lines.append(f"{r.benchmark} {r.strategy} best: {r.arch}, validation "
                     f"{_g(r.searched)}{val}, test {_g(r.reported)}{test}{seeds}")
    return lines


def _front_line(r: Any, bench: Any) -> str:
    """The best line of a multi-objective run: front size, extreme points, where the rest is."""
    from tabnas.mo_records import FRONT_SEPARATOR

    members = [a for a in str(r.arch).split(FRONT_SEPARATOR) if a]
    seeds = f", final front of {r.seeds} of {r.runs} seeds" if r.runs > 1 else ""
    line = (f"{r.benchmark} {r.strategy} best front: {len(members)} "
            f"architecture{'s' if len(members) != 1 else ''} (lowest validation hypervolume "
            f"regret, {_g(r.val_regret)}{seeds})")
    if bench is not None and members:
        space = bench.space
        cells = [space.index(space.from_string(a)) for a in members]
        searched, reported = bench.searched_truth[cells], bench.reported_truth[cells]
        for j, o in enumerate(bench.objectives):
            column = searched[:, j]
            if np.isnan(column).all():
                continue
            i = int(np.nanargmax(column) if o.maximize else np.nanargmin(column))
            sv, rv = searched[i, j], reported[i, j]
            value = (f"{o.name} {_g(sv)}" if sv == rv or not np.isfinite(rv) else
                     f"{o.name} {_g(sv)} validation, {_g(rv)} test")
            line += f"; {'highest' if o.maximize else 'lowest'} {o.name}: {members[i]} ({value})"
    return line + "; the whole front in architectures.csv"


def _g(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.4g}"


def anytime_results(df: pd.DataFrame, *, axis: str, budgets, alpha: float = 0.05,
                    metric: str = "regret_test", method: str = "auto") -> pd.DataFrame:
    """Mean ± s.e. and marks at several budgets; columns: budget, benchmark, strategy, ..."""
    parts, comp_sets = [], []
    for b in budgets:
        kw = {"evals": int(b)} if axis == "evals" else {"cost": float(b)}
        long = values_at(df, metric=metric, **kw)
        comps = comparisons(long, alpha, method)
        comp_sets.append(comps)
        marks = _marks(long, comps)
        agg = long.groupby(["benchmark", "strategy"], sort=True)["value"].agg(
            runs="count", mean="mean", se=lambda v: v.std(ddof=1) / np.sqrt(v.count()))
        agg = agg.reset_index()
        agg.insert(0, "budget", b)
        agg["mark"] = [marks.get((r.benchmark, r.strategy), "") for r in agg.itertuples()]
        parts.append(agg)
    table = pd.concat(parts, ignore_index=True)
    table.attrs = stat_choices(comp_sets)
    return table


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


def md_caption(text: str) -> str:
    """A Markdown table's caption line (pandoc's ``Table:`` form), put first in the file."""
    return f"Table: {text}"


def to_markdown(table: pd.DataFrame, column: str = "benchmark", digits: int = 3,
                caption: str = "") -> str:
    """Strategies x ``column`` (benchmark, or budget); **best**, <u>tied with best</u>.

    ``caption`` (:func:`caption`, the LaTeX caption too) comes first, on its own line.
    """
    wide = _wide_cells(table, column, digits)
    head = "| strategy | " + " | ".join(str(c) for c in wide.columns) + " |"
    lines = [md_caption(caption), ""] if caption else []
    lines += [head, "|---|" + "---:|" * len(wide.columns)]
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
    """The long table as CSV (every number, full precision).

    A table whose ``attrs`` name its statistical choices (:data:`CHOICES`) ends with
    one column per choice, the same on every row, so a CSV read on its own still
    says which test, correction, alpha and blocks its marks come from.
    """
    named = {k: table.attrs[k] for k in CHOICES if k in table.attrs}
    if named and not table.empty:
        table = table.assign(**{k: [v] * len(table) for k, v in named.items()})
    return table.to_csv(index=False)


#: Columns of the summary ``tabnas stats`` prints and saves (header, cell of a row).
def _summary_cells(r, ci: bool = True) -> list[tuple[str, str]]:
    cells = [("benchmark", str(r.benchmark)), ("strategy", str(r.strategy)),
             ("runs", str(r.runs)), ("test regret mean ± s.e.", _pm(r.mean, r.se)),
             ("median [IQR]", f"{_f(r.median)} [{_f(r.q25)}, {_f(r.q75)}]")]
    if ci:
        cells.append(("95% CI of mean", f"[{_f(r.ci_lo)}, {_f(r.ci_hi)}]"))
    if hasattr(r, "val_mean"):
        cells.append(("val. regret ± s.e.", _pm(r.val_mean, r.val_se)))
    if hasattr(r, "reported_mean"):
        cells += [("test value mean ± std", _pm(r.reported_mean, r.reported_sd)),
                  ("test value median", _f(r.reported_median))]
    cells.append(("avg rank", f"{r.avg_rank:.2f}"))
    return cells


def _f(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.4f}"


def _pm(mean: float, spread: float) -> str:
    return _f(mean) if not np.isfinite(spread) else f"{_f(mean)} ± {_f(spread)}"


def summary_markdown(final: pd.DataFrame) -> str:
    """One row per benchmark and strategy of :func:`final_results` (``stats.md``).

    **best** mean in bold, <u>not significantly worse than the best</u> underlined;
    the first line is the table's :func:`caption`, which names the tests.
    """
    rows = [_summary_cells(r) for r in final.itertuples(index=False)]
    if not rows:
        return ""
    lines = [md_caption(caption(final)), ""] if "test" in final.attrs else []
    lines += ["| " + " | ".join(h for h, _ in rows[0]) + " |",
              "|---|---|" + "---:|" * (len(rows[0]) - 2)]
    for r, cells in zip(final.itertuples(index=False), rows, strict=True):
        texts = [c for _, c in cells]
        texts[3] = (f"**{texts[3]}**" if r.mark == "best" else
                    f"<u>{texts[3]}</u>" if r.mark == "tied" else texts[3])
        lines.append("| " + " | ".join(texts) + " |")
    return "\n".join(lines)


def summary_text(final: pd.DataFrame) -> str:
    """The same summary as aligned plain text for a terminal: no markup.

    The last column says ``best`` (lowest mean) or ``tied`` (not significantly
    worse than the best); the bootstrap interval is left to ``stats.md``.
    """
    rows = [_summary_cells(r, ci=False) + [("mark", r.mark)]
            for r in final.itertuples(index=False)]
    if not rows:
        return ""
    table = [[h for h, _ in rows[0]]] + [[c for _, c in cells] for cells in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 or i == len(row) - 1 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return "\n".join([line(table[0]), "  ".join("-" * w for w in widths)]
                     + [line(row) for row in table[1:]])
