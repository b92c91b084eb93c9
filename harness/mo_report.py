"""The multi-objective part of ``tabnas report``: indicator table, fronts, attainment, curves.

On a multi-objective benchmark the report's regret *is* the hypervolume regret
of the incumbent front (see :mod:`tabnas.mo_records`), so its regret figures,
tables and tests (paired Wilcoxon + Holm, Friedman/Nemenyi) cover it as they
cover single-objective regret. This section adds what only a front has: a
table of the indicators at the report's budget (hypervolume regret with the
same best/tied marks, hypervolume, IGD+, true Pareto-optimal architectures
found, front size; Markdown, CSV and LaTeX), hypervolume-regret curves by
evaluations and cost, the final fronts against the true front, and the
attainment surfaces over seeds.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from tabnas.report import Report

#: Indicator columns of the table, with their headings.
INDICATORS = (("hypervolume", "hypervolume"), ("igd_plus", "IGD+"),
              ("pareto_found", "Pareto-optimal found"), ("front_size", "front size"))


def multi_objective_benchmarks(df: pd.DataFrame, manifest: dict) -> list:
    """The experiment's multi-objective benchmarks, loaded (their true fronts are needed)."""
    from tabnas.benchmarks import load_benchmark
    from tabnas.objectives import split_name

    names = [b for b in sorted(df["benchmark"].unique()) if split_name(b) is not None]
    config = manifest.get("config", {})
    options = config.get("benchmark_options", {}) or {}
    return [load_benchmark(n, data=config.get("data"), **options) for n in names]


def indicator_table(df: pd.DataFrame, *, evals: int | None = None, cost: float | None = None,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Per MO benchmark and strategy at the budget: HV regret (with marks) and indicators."""
    from tabnas.statistics import values_at
    from tabnas.tables import final_results

    final = final_results(df, evals=evals, cost=cost, alpha=alpha)
    parts = []
    for column, _ in INDICATORS:
        long = values_at(df, evals=evals, cost=cost, metric=column)
        agg = long.groupby(["benchmark", "strategy"], sort=True)["value"].mean()
        parts.append(agg.rename(column))
    table = final.set_index(["benchmark", "strategy"])[["runs", "mean", "se", "mark"]]
    return table.join(pd.concat(parts, axis=1)).reset_index()


def _markdown(table: pd.DataFrame) -> str:
    heads = ["benchmark", "strategy", "runs", "HV regret (mean ± s.e.)"] + [
        h + " (mean)" for _, h in INDICATORS]
    lines = ["| " + " | ".join(heads) + " |", "|---|---|" + "---:|" * (len(heads) - 2)]
    for r in table.itertuples(index=False):
        cell = f"{r.mean:.4f} ± {r.se:.4f}"
        cell = f"**{cell}**" if r.mark == "best" else f"<u>{cell}</u>" if r.mark == "tied" else cell
        rest = [f"{getattr(r, c):.4f}" if c in ("hypervolume", "igd_plus")
                else f"{getattr(r, c):.1f}" for c, _ in INDICATORS]
        lines.append(f"| {r.benchmark} | {r.strategy} | {r.runs} | {cell} | "
                     + " | ".join(rest) + " |")
    return "\n".join(lines)


def _latex(table: pd.DataFrame, caption: str) -> str:
    from tabnas.tables import _tex

    lines = [r"\begin{table}[t]", r"\centering", r"\caption{" + _tex(caption) + "}",
             r"\begin{tabular}{llrrrrr}", r"\toprule",
             r"benchmark & strategy & HV regret & HV & IGD+ & Pareto found & front \\",
             r"\midrule"]
    for r in table.itertuples(index=False):
        cell = f"{r.mean:.4f} $\\pm$ {r.se:.4f}"
        cell = (r"\textbf{" + cell + "}" if r.mark == "best" else
                r"\underline{" + cell + "}" if r.mark == "tied" else cell)
        lines.append(f"{_tex(r.benchmark)} & {_tex(r.strategy)} & {cell} & "
                     f"{r.hypervolume:.4f} & {r.igd_plus:.4f} & {r.pareto_found:.1f} & "
                     f"{r.front_size:.1f} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def _html(table: pd.DataFrame) -> str:
    rows = []
    for r in table.itertuples(index=False):
        cell = html.escape(f"{r.mean:.4f} ± {r.se:.4f}")
        cell = f"<b>{cell}</b>" if r.mark == "best" else f"<u>{cell}</u>" if r.mark == "tied" \
            else cell
        rows.append(f"<tr><td>{html.escape(r.benchmark)}</td><td>{html.escape(r.strategy)}"
                    f"</td><td>{r.runs}</td><td>{cell}</td><td>{r.hypervolume:.4f}</td>"
                    f"<td>{r.igd_plus:.4f}</td><td>{r.pareto_found:.1f}</td>"
                    f"<td>{r.front_size:.1f}</td></tr>")
    return ("<table><tr><th>benchmark</th><th>strategy</th><th>runs</th><th>HV regret</th>"
            "<th>hypervolume</th><th>IGD+</th><th>Pareto-optimal found</th><th>front size</th>"
            "</tr>" + "".join(rows) + "</table>")


def front_figures(df: pd.DataFrame, benches: list, colours: dict[str, str]
                  ) -> dict[str, tuple[object, str]]:
    """stem -> (figure, caption): the fronts against the true front, the attainment surfaces."""
    from tabnas import mo_plots

    out: dict[str, tuple[object, str]] = {
        "mo_fronts": (mo_plots.fronts_figure(df, benches, colours),
                      "Final fronts (reported values) against the table's true Pareto front "
                      "(black): each strategy's median (50%) attainment surface over seeds.")}
    for b in benches:
        stem = "mo_attainment_" + "".join(c if c.isalnum() else "_" for c in b.name)
        out[stem] = (mo_plots.attainment_figure(df, b, colours),
                     f"{b.name}: 25%, 50% (median, bold) and 75% empirical attainment "
                     "surfaces of the final fronts over seeds, with the true front (black).")
    return out


def add_multi_objective(rep: Report, df: pd.DataFrame, *, evals: int | None = None,
                        cost: float | None = None, alpha: float = 0.05,
                        benches: list | None = None) -> list:
    """Add the section to ``rep`` if the experiment has multi-objective benchmarks.

    Returns those benchmarks, loaded (none: an empty list); ``benches``: the same,
    when the caller has loaded them already (``tabnas run --html``).
    """
    from tabnas import plots, statistics
    from tabnas.tables import to_csv_text

    if benches is None:
        benches = multi_objective_benchmarks(df, rep.manifest)
    if not benches:
        return benches
    names = [b.name for b in benches]
    mo = df[df["benchmark"].isin(names)]
    colours = plots.strategy_colours(df["strategy"].unique())
    refs = "; ".join(f"{b.name}: " + ", ".join(f"{o.name}={r:.6g}" for o, r in
                                                zip(b.objectives, b.reference, strict=True))
                     + f" ({b.reference_source})" for b in benches)
    rep.notes.append(
        f"Multi-objective benchmarks ({', '.join(names)}): regret is the hypervolume regret "
        "of the incumbent front (the non-dominated set on searched values, scored on "
        "reported values) against the table's exact Pareto front, in the objective space "
        "min-max normalised over the table. Reference points: " + refs + ".")
    table = indicator_table(mo, evals=evals, cost=cost, alpha=alpha)
    caption = f"Multi-objective indicators {rep.budget_text}, over seeds"
    rep.tables["multi_objective"] = (_markdown(table), to_csv_text(table),
                                     _latex(table, caption))
    rep.figures["mo_hv_regret_evals"] = plots.curves_figure(
        statistics.curves(mo, "evals"), colours, xlabel="evaluations",
        ylabel="hypervolume regret")
    rep.captions["mo_hv_regret_evals"] = ("Hypervolume regret of the incumbent front vs "
                                          "evaluations, mean ± s.e. over seeds.")
    by_cost = statistics.curves(mo, "cost")
    if by_cost["x"].nunique() > 1:
        config = rep.manifest.get("config")
        rep.figures["mo_hv_regret_cost"] = plots.curves_figure(
            by_cost, colours, ylabel="hypervolume regret",
            xlabel=plots.cost_axis_labels(mo, rep.manifest.get("cost_labels", {}), config))
        rep.captions["mo_hv_regret_cost"] = ("Hypervolume regret vs cumulative simulated "
                                             "cost, mean ± s.e. over seeds; "
                                             f"{plots.cost_model(config)[0]}.")
    for stem, (fig, caption) in front_figures(mo, benches, colours).items():
        rep.figures[stem] = fig
        rep.captions[stem] = caption
    rep.extra_sections.append((
        "Multi-objective indicators",
        _html(table) + "<p>HV regret: <b>bold</b> best mean, <u>underlined</u> not "
        f"significantly worse (paired Wilcoxon + Holm, alpha = {alpha:g}). Files: "
        "tables/multi_objective.md, .csv, .tex.</p>"))
    return benches

