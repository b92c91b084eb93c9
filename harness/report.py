"""``tabnas report``: one self-contained HTML file with everything a reviewer asks for.

The file embeds its figures (base64 PNG), so it can be mailed or attached to a
submission as it is. Beside it the same figures are written under ``figures/`` as
PNG, and as PDF and SVG when asked (``formats``), and the tables as Markdown, CSV
and LaTeX under ``tables/``.

Everything is computed before anything is written: bad input (no finished runs,
unpaired seed sets, a budget beyond the runs) is one clear error and leaves no
empty figure or half a report behind.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tabnas.cache import atomic_write_bytes
from tabnas.errors import BadConfiguration, UserError, os_reason

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The figure files a report writes beside the page by default (the page embeds PNG).
REPORT_FORMATS = ("png",)
#: Fractions of the evaluation budget at which the anytime table is reported.
ANYTIME_FRACTIONS = (0.1, 0.25, 0.5, 1.0)


@dataclass
class Report:
    """Computed content of a report, before anything is written."""

    title: str
    manifest: dict
    budget_text: str
    figures: dict[str, object] = field(default_factory=dict)  # stem -> matplotlib Figure
    captions: dict[str, str] = field(default_factory=dict)
    tables: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # md, csv, tex
    html_tables: dict[str, str] = field(default_factory=dict)
    tests_html: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: (heading, HTML) sections a caller adds, e.g. a comparison with published numbers.
    extra_sections: list[tuple[str, str]] = field(default_factory=list)
    #: The tests' description, e.g. "paired Wilcoxon signed-rank tests, alpha = 0.05, ...".
    test_text: str = ""
    pairs_html: str = ""
    best_lines: list[str] = field(default_factory=list)
    hyperparameters: dict[str, dict[str, object]] = field(default_factory=dict)
    #: The figure files written beside the page (set when written).
    formats: tuple[str, ...] = REPORT_FORMATS


#: What every column of the report's tables means (shown beside them).
COLUMNS = {
    "runs": "seeds (runs) of the strategy on the benchmark; summaries use all of them",
    "mean ± s.e.": "mean over seeds of the test regret of the incumbent, ± its standard "
                   "error (sd / sqrt(runs)); lower is better",
    "median [IQR]": "median over seeds, with the 25th and 75th percentiles",
    "95% CI of mean": "bootstrap BCa interval of the mean (2000 resamples, fixed seed)",
    "val. regret": "validation regret: the same incumbent's regret on the value the "
                   "strategy searched on (validation), beside the test regret",
    "test value": "the incumbent's reported value (e.g. test accuracy), mean ± standard "
                  "deviation and median over seeds",
    "avg rank": "rank of the strategy within each seed (1 = lowest regret, ties averaged), "
                "averaged over the seeds every strategy ran",
    "n": "pairs of runs (seeds both strategies ran) in the test",
    "median_diff": "median over the pairs of the difference (first minus second)",
    "statistic": "Wilcoxon signed-rank statistic min(R+, R-) over non-zero differences",
    "p": "two-sided p-value of the signed-rank test (how: the method column)",
    "p_holm": "p-value adjusted by Holm's step-down method over the test's family",
    "significant": "p_holm < alpha",
    "rank_biserial": "matched-pairs rank-biserial correlation (R+ - R-) / (R+ + R-) of "
                     "the difference, in [-1, 1]; negative: the first strategy is lower",
    "A": "Vargha-Delaney A: the probability that a random run of the better-placed "
         "strategy (the best, or the first of a pair) has lower regret than a random run "
         "of the other (0.5 none; 0.56, 0.64, 0.71: small, medium, large effect)",
    "method": "how p was computed: exact (the exact distribution of R+ given the ranks, "
              "valid with ties) or asymptotic (normal approximation with tie correction)",
    "seeds (architectures)": "how many seeds ended with that architecture as incumbent",
}


#: The columns of the test tables, in the order they are explained.
TEST_COLUMNS = ("n", "median_diff", "statistic", "p", "p_holm", "significant", "rank_biserial",
                "A", "method")


def compute_report(exp_dir: Path, *, evals: int | None = None, cost: float | None = None,
                   alpha: float = 0.05, seeds: list[int] | None = None,
                   method: str = "auto", blocks: str = "auto",
                   rope: float | None = None,
                   data: tuple[pd.DataFrame, dict] | None = None,
                   figures: dict[str, Figure] | None = None,
                   benches: list | None = None) -> Report:
    """Everything in the report, computed in memory (validates the input first).

    Every frame is built once: the rows at the budget, the paired tests of each
    benchmark (both families from one test per pair) and the curves by evaluations.
    ``data``: the experiment's rows and manifest as
    :func:`tabnas.statistics.load_for_statistics` returned them (with these ``seeds``),
    when the caller has read them already (stats and plots in the same process).
    ``figures``: what :func:`tabnas.plots.plot_figures` drew from that ``data``; its
    regret figures of the default options are embedded as they are, not drawn again
    (:func:`tabnas.plots.default_regret_figures`; written inside
    :func:`tabnas.plots.rendered_once`, their files are not drawn again either).
    ``benches``: the multi-objective benchmarks, when the caller has loaded them.
    """
    from tabnas import plots, statistics, tables
    from tabnas.pvalue_figure import pvalue_heatmap
    from tabnas.significance import bayesian_control, friedman_nemenyi

    if evals is not None and cost is not None:
        raise BadConfiguration("give one budget: evals or cost, not both")
    if not 0 < alpha < 1:
        raise BadConfiguration(f"alpha must be between 0 and 1, got {alpha}")
    df, manifest = data if data is not None else statistics.load_for_statistics(exp_dir,
                                                                                seeds=seeds)
    rows = statistics.budget_rows(df, evals=evals, cost=cost)  # checks the budget
    long = rows[["benchmark", "strategy", "seed"]].assign(value=rows["regret_test"])
    comps = tables.comparisons(long, alpha, method)  # checks every benchmark has paired seeds

    budget_text = tables.budget_text(evals, cost)
    rep = Report(title=f"tabnas report: {exp_dir.name}", manifest=manifest,
                 budget_text=budget_text,
                 notes=[*manifest.get("notes", []), *statistics.pairing_notes(long)])
    colours = plots.strategy_colours(df["strategy"].unique())
    _add_curve_figures(rep, df, long, colours, plots.default_regret_figures(figures or {}, df))

    used = sorted({m for c in comps.values() for m in c.pairs["method"]})
    rep.test_text = (f"paired Wilcoxon signed-rank tests, alpha = {alpha:g}, p-values "
                     f"{', '.join(used) or 'not needed'} (--wilcoxon {method})")
    final = tables.final_results(df, evals=evals, cost=cost, rows=rows, comps=comps,
                                 alpha=alpha)
    regret = plots.regret_name(df["benchmark"])  # "test regret", or the hypervolume's
    caption = tables.caption(final, f"{_first_up(regret)} {budget_text}, mean ± s.e. over seeds")
    rep.tables["final"] = (tables.to_markdown(final, caption=caption),
                           tables.to_csv_text(final), tables.to_latex(final, caption=caption))
    if final.attrs.get("note"):
        rep.notes.append(f"Marks: {final.attrs['note']}.")
    rep.html_tables["final"] = _final_html(final)
    archs = tables.architectures(rows)
    rep.tables["architectures"] = (_frame_md(archs), tables.to_csv_text(archs),
                                   _frame_tex(archs, "Final incumbents over seeds"))
    rep.html_tables["architectures"] = _archs_html(archs)
    rep.best_lines = tables.best_lines(archs, plots.value_units(manifest))

    top = int(df["step"].max())
    budgets = sorted({max(1, int(round(f * top))) for f in ANYTIME_FRACTIONS})
    budgets = [b for b in budgets if b <= min(statistics.budget_limits(df)[x][0]
                                              for x in df["benchmark"].unique())]
    anytime = tables.anytime_results(df, axis="evals", budgets=budgets, alpha=alpha,
                                     method=method)
    any_caption = tables.caption(anytime, f"{_first_up(regret)} by evaluations (columns), "
                                          "mean ± s.e. over seeds")
    md_parts, tex_parts, html_parts = [tables.md_caption(any_caption)], [], []
    for bench, ab in anytime.groupby("benchmark", sort=True):
        ab = ab.rename(columns={"budget": "evaluations"})
        md_parts.append(f"**{bench}** (columns: evaluations)\n\n"
                        + tables.to_markdown(ab, column="evaluations"))
        tex_parts.append(tables.to_latex(ab, column="evaluations",
                                         caption=f"{bench}: {any_caption}"))
        html_parts.append(f"<h4>{html.escape(bench)}</h4>"
                          + _wide_html(ab, "evaluations"))
    rep.tables["anytime"] = ("\n\n".join(md_parts), tables.to_csv_text(anytime),
                             "\n\n".join(tex_parts))
    rep.html_tables["anytime"] = "".join(html_parts)

    pairs = {b: c.pairs for b, c in comps.items() if len(c.pairs)}
    control = pd.concat([c.control.assign(benchmark=b, best=c.best) for b, c in comps.items()],
                        ignore_index=True)
    all_pairs = pd.concat([t.assign(benchmark=b) for b, t in pairs.items()], ignore_index=True) \
        if pairs else pd.DataFrame()
    for name, frame, what in (("control", control, "The best strategy against each other one"),
                              ("pairs", all_pairs, "Every pair of strategies")):
        frame.attrs = tables.stat_choices(comps, name)
        text = f"{what} ({tables.choices_text(frame.attrs)})." if frame.attrs else what
        text += f" Note: {frame.attrs['note']}." if frame.attrs.get("note") else ""
        rep.tables[name] = (tables.md_caption(text) + "\n\n" + _frame_md(frame),
                            tables.to_csv_text(frame), _frame_tex(frame, text))
    for bench, c in comps.items():
        n = int(c.control["n"].max()) if len(c.control) else 0
        rep.tests_html.append(
            f"<h4>{html.escape(bench)}: {html.escape(c.best)} (best mean) against each other "
            f"strategy, Holm over k - 1 = {len(c.control)} ({n} paired seeds)</h4>"
            + _frame_html(c.control))
    if rope is not None:
        bayes = pd.concat([bayesian_control(c, rope).assign(benchmark=b, best=c.best)
                           for b, c in comps.items()], ignore_index=True)
        what = (f"Bayesian signed-rank test (Benavoli et al. 2017, baycomp), region of "
                f"practical equivalence ±{rope:g} regret, the best against each other strategy")
        rep.tables["bayes"] = (_frame_md(bayes), tables.to_csv_text(bayes),
                               _frame_tex(bayes, what))
        rep.tests_html.append(
            f"<h4>{html.escape(what)}</h4><p>Posterior probabilities that the best is lower "
            "by more than the rope, that the two are practically equivalent, and that the "
            "other strategy is lower by more than the rope (20,000 samples, fixed seed). "
            "Unlike a p-value, a high p_equivalent says the difference does not matter."
            "</p>" + _frame_html(bayes))
    if pairs:
        rep.figures["pvalues"] = pvalue_heatmap(pairs, alpha)
        rep.captions["pvalues"] = (
            f"All pairs: Holm-adjusted p-values (over k(k-1)/2 pairs per benchmark) of the "
            f"{rep.test_text}. '<': the row strategy is significantly lower (better) than "
            "the column strategy; '>': higher. The numbers are in tables/pairs.csv.")
        rep.pairs_html = "".join(
            f"<h4>{html.escape(b)}: every pair, Holm over {len(t)}</h4>" + _frame_html(t)
            for b, t in pairs.items())
    k = long["strategy"].nunique()
    if k >= 3:
        wide_blocks, label = statistics.friedman_blocks(long, blocks)
        if len(wide_blocks) >= 2:
            fr = friedman_nemenyi(wide_blocks, alpha, blocks=label)
            caution = "".join(f" Caution: {full}." for _, full in fr.cautions())
            if fr.cautions():
                rep.notes.append("Friedman/Nemenyi: " + "; ".join(
                    full for _, full in fr.cautions()) + ".")
            rep.figures["cd"] = plots.cd_figure(fr, colours, title=f"{regret} {budget_text}")
            rep.captions["cd"] = (f"Critical-difference diagram: average ranks over blocks = "
                                  f"{fr.blocks}; strategies joined by a bar are not "
                                  f"significantly different (Nemenyi, alpha = {alpha:g}, "
                                  f"CD = {fr.cd:.3f}).{caution}")
            friedman = pd.DataFrame({"strategy": list(fr.names), "avg_rank": fr.avg_ranks})
            head = (f"Friedman test, blocks = {fr.blocks}: chi² = {fr.chi2:.4g}, p = "
                    f"{fr.p:.3g}; Iman-Davenport F = {fr.f_iman_davenport:.4g}, p = "
                    f"{fr.p_iman_davenport:.3g}; Nemenyi CD at alpha = {alpha:g}: "
                    f"{fr.cd:.4f}.{caution}")
            rep.tables["friedman"] = (tables.md_caption(head) + "\n\n" + _frame_md(friedman),
                                      tables.to_csv_text(friedman.assign(
                                          blocks=fr.blocks, n_blocks=fr.n_blocks, chi2=fr.chi2,
                                          p=fr.p, cd=fr.cd, note="; ".join(
                                              full for _, full in fr.cautions()))),
                                      _frame_tex(friedman, head))
            rep.tests_html.append(
                f"<h4>Friedman test over {fr.n_blocks} blocks: {html.escape(fr.blocks)}</h4>"
                f"<p>chi² = {fr.chi2:.4g}, p = {fr.p:.3g}; Iman-Davenport F = "
                f"{fr.f_iman_davenport:.4g}, p = {fr.p_iman_davenport:.3g}. Nemenyi critical "
                f"difference at alpha = {alpha:g}: {fr.cd:.4f}. Blocks: --blocks {blocks} "
                "(auto: benchmarks when there are several, as in Demšar 2006; seeds when "
                f"there is one benchmark).{html.escape(caution)}</p>"
                "<details><summary>Nemenyi p-values</summary>" + _frame_html(
                    fr.nemenyi_p.reset_index(names="strategy")) + "</details>")
        else:
            rep.notes.append(f"Friedman/Nemenyi need at least 2 blocks; blocks = {label}.")
    else:
        rep.notes.append(f"Friedman/Nemenyi and the critical-difference diagram need at least "
                         f"3 strategies; this experiment has {k}.")
    rep.hyperparameters = resolved_hyperparameters(manifest)
    from tabnas.mo_report import add_multi_objective

    benches = add_multi_objective(rep, df, evals=evals, cost=cost, alpha=alpha,
                                  benches=benches)
    if benches:  # the best fronts' extreme points need the loaded benchmarks
        rep.best_lines = tables.best_lines(archs, plots.value_units(manifest),
                                           {b.name: b for b in benches})
    return rep


def _add_curve_figures(rep: Report, df: pd.DataFrame, long: pd.DataFrame,
                       colours: dict[str, str], drawn: dict[str, Figure]) -> None:
    """The regret, rank, ECDF, validation-beside-test and pooled figures, with captions.

    Every regret axis carries the regret's unit (from the manifest's metric labels);
    the curves by evaluations are aggregated once and shared by the figures that use them.
    ``drawn``: regret figures already drawn from ``df`` as these are (by ``tabnas plot``).
    """
    from tabnas import plots, statistics
    from tabnas.figure_layout import FLOOR_NOTE

    manifest, budget_text = rep.manifest, rep.budget_text
    benchmarks = sorted(df["benchmark"].unique())
    # "test regret", or the hypervolume regret of multi-objective benchmarks, named as such.
    regret, value_regret = (plots.regret_name(benchmarks, m) for m in ("regret_test",
                                                                        "regret_value"))
    incumbent = "the incumbent" + (" front" if "hypervolume" in regret else "")
    # Every benchmark named, those whose labels name no unit with the stated fallback.
    units, value_units = ({b: known.get(b, plots.regret_unit(None)) for b in benchmarks}
                          for known in (plots.regret_units(manifest),
                                        plots.regret_units(manifest, "regret_value")))
    by_evals = statistics.curves(df, "evals")
    figures = plots.regret_figures(df, colours, manifest.get("cost_labels", {}),
                                   by_evals=by_evals, units=units,
                                   axes=tuple(a for a in ("evals", "cost")
                                              if f"regret_{a}" not in drawn),
                                   config=manifest.get("config")) | drawn
    rep.figures["regret_evals"] = figures["regret_evals"]
    rep.captions["regret_evals"] = (f"{_first_up(regret)} of {incumbent} (chosen on the "
                                    "searched values) vs evaluations: mean ± standard error "
                                    f"over seeds. {FLOOR_NOTE}")
    ylabel = {b: f"{plots.regret_name([b])} ({units[b]})" for b in benchmarks}
    rep.figures["regret_evals_median"] = plots.curves_figure(
        by_evals, colours, xlabel="evaluations", ylabel=ylabel, band="iqr")
    rep.captions["regret_evals_median"] = ("The same runs: median and interquartile range. "
                                           + FLOOR_NOTE)
    if "regret_cost" in figures:
        rep.figures["regret_cost"] = figures["regret_cost"]
        rep.captions["regret_cost"] = (f"{_first_up(regret)} vs cumulative simulated cost "
                                       "(step interpolation onto a common grid), mean ± s.e.; "
                                       f"{plots.cost_model(manifest.get('config'))[0]}. "
                                       + FLOOR_NOTE)
    if df["regret_value"].notna().any():
        rep.figures["value_test_evals"] = plots.value_test_figure(
            statistics.curves(df, "evals", metric="regret_value"), by_evals, colours,
            xlabel="evaluations", value_units=value_units, test_units=units)
        rep.captions["value_test_evals"] = (
            f"{_first_up(value_regret)} (of the value the strategies searched on) beside "
            f"{regret} of the same incumbents vs evaluations, mean ± s.e. over seeds, one row "
            f"per benchmark on one y scale: {value_regret} falling while {regret} does not "
            f"shows overfitting of the validation split. {FLOOR_NOTE}")
    else:
        rep.notes.append("No validation-regret figure: no run records a validation regret.")
    n_bench = len(benchmarks)
    if n_bench >= 2:
        rep.figures["pooled_evals"] = plots.pooled_figure(
            plots.normalised_curves(df), colours, metric_name=regret)
        rep.captions["pooled_evals"] = (
            f"{_first_up(regret)} pooled over the {n_bench} benchmarks vs evaluations. "
            "Left: each "
            "benchmark's regret is divided by the largest incumbent regret of any run on it "
            "(the worst first evaluation), so 0 is the optimum and 1 the worst start seen; "
            "the seed mean of each benchmark is averaged over the benchmarks (each counts "
            "once; band: standard error over benchmarks). Right: the average rank over time, the "
            "strategies ranked on that seed mean within each benchmark (1 = best, ties "
            f"averaged), averaged over the benchmarks. {FLOOR_NOTE}")
    ranks = statistics.anytime_ranks(df, "evals")
    rep.figures["rank_evals"] = plots.rank_figure(ranks, colours, xlabel="evaluations")
    rep.captions["rank_evals"] = ("Anytime average rank: strategies ranked within each seed "
                                  "at every evaluation count, averaged over the seeds every "
                                  "strategy ran.")
    rep.figures["ecdf"] = plots.ecdf_figure(long, colours, units=units,
                                            xlabel=f"{regret} {budget_text}")
    rep.captions["ecdf"] = (f"Empirical CDF over seeds of the {regret} {budget_text} "
                            f"(log x axis). {FLOOR_NOTE}")


def resolved_hyperparameters(manifest: dict) -> dict[str, dict[str, object]]:
    """Strategy -> every hyperparameter it ran with: the declared defaults, then overrides."""
    from tabnas.strategy import STRATEGIES

    config = manifest.get("config", {})
    given = config.get("hyperparameters", {})
    out: dict[str, dict[str, object]] = {}
    for name in config.get("strategies", []):
        try:
            declared = STRATEGIES.get(name).hyperparameters
        except (UserError, ImportError):  # a plugin no longer installed: its overrides only
            declared = {}
        values = {k: hp.default for k, hp in declared.items()}
        values.update(given.get(name, {}))
        out[name] = values
    return out


def write_report(rep: Report, exp_dir: Path, output: Path | None = None,
                 formats: tuple[str, ...] = REPORT_FORMATS) -> Path:
    """Write figures, tables and the HTML file (each atomically); returns the HTML path.

    The page embeds every figure as PNG; ``formats`` are the files written beside it
    under ``figures/`` (PDF and SVG for papers only when asked: drawing them was most
    of the time a report took).
    """
    from tabnas.plots import check_formats, pyplot, render_figure

    check_formats(formats)
    rep.formats = tuple(formats)
    pngs: dict[str, bytes] = {}
    for stem, fig in rep.figures.items():
        try:
            # Each format drawn once: the page's PNG is also a file when png is asked.
            files = {fmt: render_figure(fig, fmt) for fmt in dict.fromkeys(("png", *formats))}
        finally:
            pyplot().close(fig)
        pngs[stem] = files["png"]
        for fmt in formats:
            atomic_write_bytes(exp_dir / "figures" / f"{stem}.{fmt}",
                               lambda tmp, data=files[fmt]: tmp.write_bytes(data))
    for name, (md, csv, tex) in rep.tables.items():
        for ext, text in (("md", md + "\n"), ("csv", csv), ("tex", tex + "\n")):
            atomic_write_bytes(exp_dir / "tables" / f"{name}.{ext}",
                               lambda tmp, text=text: tmp.write_text(text))
    out = output or exp_dir / "report.html"
    page = render_html(rep, pngs)
    try:
        atomic_write_bytes(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot write {out}: {os_reason(exc)}") from None
    return out


def build_report(exp_dir: Path, *, evals: int | None = None, cost: float | None = None,
                 alpha: float = 0.05, output: Path | None = None,
                 seeds: list[int] | None = None, method: str = "auto",
                 blocks: str = "auto", rope: float | None = None,
                 formats: tuple[str, ...] = REPORT_FORMATS) -> Path:
    return write_report(compute_report(exp_dir, evals=evals, cost=cost, alpha=alpha,
                                       seeds=seeds, method=method, blocks=blocks, rope=rope),
                        exp_dir, output, formats)


# --- HTML -------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border-top:1px solid #ddd;border-bottom:1px solid #ddd;padding:.25em .6em;
text-align:right}th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #444}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}dl.glossary{font-size:.85em;color:#333}
dl.glossary dt{font-weight:600;float:left;clear:left;margin-right:.5em}
dl.glossary dd{margin:0 0 .2em 0}nav.toc{font-size:.95em}
pre{background:#f6f6f6;padding:.8em;overflow:auto;
font-size:.8em}code{font-size:.9em}
"""


def _first_up(text: str) -> str:
    """``text`` starting a sentence (``str.capitalize`` would lower a benchmark's name)."""
    return text[:1].upper() + text[1:]


def _num(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else ""
    if isinstance(v, (float, np.floating)):
        return "–" if not np.isfinite(v) else f"{v:.4g}"
    return html.escape(str(v))


def _frame_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_num(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _marked(text: str, mark: str) -> str:
    text = html.escape(text)
    return f"<b>{text}</b>" if mark == "best" else f"<u>{text}</u>" if mark == "tied" else text


def _final_html(final: pd.DataFrame) -> str:
    from tabnas.tables import _pm

    cols = ["benchmark", "strategy", "runs", "mean ± s.e.", "median [IQR]", "95% CI of mean",
            "val. regret", "test value", "avg rank"]
    rows = []
    for r in final.itertuples(index=False):
        val = _pm(r.val_mean, r.val_se) if hasattr(r, "val_mean") else "–"
        test = (f"{_pm(r.reported_mean, r.reported_sd)} (median {r.reported_median:.4g})"
                if hasattr(r, "reported_mean") else "–")
        cells = [html.escape(r.benchmark), html.escape(r.strategy), str(r.runs),
                 _marked(f"{r.mean:.4f} ± {r.se:.4f}", r.mark),
                 f"{r.median:.4f} [{r.q25:.4f}, {r.q75:.4f}]",
                 f"[{r.ci_lo:.4f}, {r.ci_hi:.4f}]", html.escape(val), html.escape(test),
                 f"{r.avg_rank:.2f}"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{c}</th>" for c in cols)
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + _glossary(cols[2:]))


def _glossary(columns) -> str:
    """The meaning of each column shown, from :data:`COLUMNS`."""
    items = "".join(f"<dt>{html.escape(c)}</dt><dd>{html.escape(COLUMNS[c])}</dd>"
                    for c in columns if c in COLUMNS)
    return f'<dl class="glossary">{items}</dl>' if items else ""


def _archs_html(archs: pd.DataFrame) -> str:
    cols = ["benchmark", "strategy", "architecture", "seeds (architectures)", "searched",
            "reported", "val. regret"]
    rows = []
    for r in archs.itertuples(index=False):
        arch = f"<b>{html.escape(r.arch)}</b> (best)" if r.best else html.escape(r.arch)
        cells = [html.escape(r.benchmark), html.escape(r.strategy), f"<code>{arch}</code>",
                 f"{r.seeds} of {r.runs}", _num(r.searched), _num(r.reported),
                 _num(r.val_regret)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{c}</th>" for c in cols)
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + _glossary(["seeds (architectures)"])
            + "<p>searched: the architecture's searched (validation) value; reported: its "
            "reported (test) value; best: the lowest validation regret, picked without "
            "looking at test data.</p>")


def _frame_md(frame: pd.DataFrame) -> str:
    """A frame as a Markdown table (numbers to 4 significant digits)."""
    if frame.empty:
        return "(none)"
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    lines = [head, "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_plain(v) for v in row) + " |")
    return "\n".join(lines)


def _frame_tex(frame: pd.DataFrame, caption: str) -> str:
    """A frame as a booktabs LaTeX table with ``caption``."""
    from tabnas.tables import _tex

    lines = [r"\begin{table}[t]", r"\centering", r"\caption{" + _tex(caption) + "}",
             r"\begin{tabular}{" + "l" * len(frame.columns) + "}", r"\toprule",
             " & ".join(_tex(str(c)) for c in frame.columns) + r" \\", r"\midrule"]
    for row in frame.itertuples(index=False):
        lines.append(" & ".join(_tex(_plain(v)) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def _plain(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return "–" if not np.isfinite(v) else f"{v:.4g}"
    return str(v)


def _wide_html(table: pd.DataFrame, column: str) -> str:
    strategies = sorted(table["strategy"].unique())
    keys = list(dict.fromkeys(table[column]))
    head = "<th>strategy</th>" + "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
    rows = []
    for s in strategies:
        ts = table[table["strategy"] == s].set_index(column)
        cells = []
        for k in keys:
            r = ts.loc[k]
            cells.append(_marked(f"{r['mean']:.4f} ± {r['se']:.4f}", r["mark"]))
        rows.append(f"<tr><td>{html.escape(s)}</td>"
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _kv_html(mapping: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td><code>{html.escape(str(v))}"
                   f"</code></td></tr>" for k, v in sorted(mapping.items()))
    return f"<table><tbody>{rows}</tbody></table>"


#: The report's sections in order: (anchor, heading).
SECTIONS = (("summary", "Summary"), ("final", "Final results"),
            ("architectures", "Architectures found"), ("anytime", "Anytime results"),
            ("figures", "Figures"), ("tests", "Statistical tests"),
            ("configuration", "Configuration and hyperparameters"),
            ("packages", "Package versions"), ("checksums", "Data checksums"))


def _hyperparameters_html(hps: dict[str, dict[str, object]]) -> str:
    parts = []
    for name, values in hps.items():
        body = ", ".join(f"{k} = {v!r}" for k, v in values.items()) or "(none declared)"
        parts.append(f"<tr><td>{html.escape(name)}</td><td><code>{html.escape(body)}"
                     "</code></td></tr>")
    return f"<table><tbody>{''.join(parts)}</tbody></table>"


def formats_note(formats: tuple[str, ...]) -> str:
    """What figure files a report wrote, and how to get the others (page and terminal)."""
    from tabnas.plots import FORMATS

    wrote = ", ".join(f.upper() for f in formats)
    missing = [f for f in FORMATS if f not in formats]
    if not missing:
        return f"Figure files under figures/: {wrote}."
    others = " and ".join(m.upper() for m in missing)
    return (f"Figure files under figures/: {wrote} only; for {others} as well (papers), "
            f"run tabnas report with --format {','.join(FORMATS)}.")


def render_html(rep: Report, pngs: dict[str, bytes]) -> str:
    """The report page; ``pngs`` maps figure stem -> PNG bytes to embed."""
    from tabnas.plots import cost_model

    m = rep.manifest
    figures, test_figures = [], []
    files = ", ".join(f".{f}" for f in rep.formats)
    for stem, data in pngs.items():
        b64 = base64.b64encode(data).decode("ascii")
        (test_figures if stem in ("pvalues", "cd") else figures).append(
            f'<figure id="fig-{stem}"><img class="figure" alt="{html.escape(stem)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>{html.escape(rep.captions[stem])}'
            f" (files: figures/{stem}{files})</figcaption></figure>")
    notes = "".join(f"<p><em>{html.escape(n)}</em></p>" for n in rep.notes)
    extra = "".join(f'<h2 id="extra-{i}">{html.escape(h)}</h2>{body}'
                    for i, (h, body) in enumerate(rep.extra_sections))
    toc = "".join(f'<li><a href="#{a}">{html.escape(h)}</a></li>' for a, h in SECTIONS)
    toc += "".join(f'<li><a href="#extra-{i}">{html.escape(h)}</a></li>'
                   for i, (h, _) in enumerate(rep.extra_sections))
    best = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in rep.best_lines)
    pairs = (f"<details><summary>Every pair as a table (tables/pairs.csv)</summary>"
             f"{rep.pairs_html}{_glossary(TEST_COLUMNS)}"
             "</details>") if rep.pairs_html else ""
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(rep.title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(rep.title)}</h1>
<nav class="toc"><strong>Contents</strong><ol>{toc}</ol></nav>
<h2 id="summary">Summary</h2>
<p>Regret is the reported (test) regret of the incumbent, which each strategy chose on the
value it searched on; lower is better. Tables and tests are {html.escape(rep.budget_text)}.
In tables, <b>bold</b> is the best mean per benchmark and <u>underlined</u> the strategies
that are not significantly worse than it: the best against each other strategy,
{html.escape(rep.test_text)}, Holm-corrected over those k - 1 tests.</p>
<p>Cost model: {html.escape(cost_model(m.get('config'))[0])}.</p>
<ul>{best}</ul>
{notes}
<p>Generated {generated}; command: <code>{html.escape(str(m.get('command', '')))}</code>;
git revision <code>{html.escape(str(m.get('git_revision')))}</code>.</p>
<h2 id="final">Final results</h2>
{rep.html_tables.get('final', '')}
<p>Files: tables/final.md, tables/final.csv, tables/final.tex.</p>
<h2 id="architectures">Architectures found</h2>
{rep.html_tables.get('architectures', '')}
<p>Files: tables/architectures.md, .csv, .tex.</p>
<h2 id="anytime">Anytime results</h2>
{rep.html_tables.get('anytime', '')}
<p>Files: tables/anytime.md, tables/anytime.csv, tables/anytime.tex.</p>
<h2 id="figures">Figures</h2>
<p>{html.escape(formats_note(rep.formats))}</p>
{''.join(figures)}
<h2 id="tests">Statistical tests</h2>
{''.join(rep.tests_html)}
{_glossary(TEST_COLUMNS)}
{''.join(test_figures)}
{pairs}
<p>Files: tables/control.*, tables/pairs.*, tables/friedman.*, with --rope tables/bayes.*
(Markdown, CSV, LaTeX).</p>
{extra}
<h2 id="configuration">Configuration and hyperparameters</h2>
<p>Every hyperparameter each strategy ran with: the declared defaults, with the
overrides the study gave.</p>
{_hyperparameters_html(rep.hyperparameters)}
<pre>{html.escape(json.dumps(m.get('config', {}), indent=2, sort_keys=True))}</pre>
<h3>Cost units</h3>{_kv_html(m.get('cost_labels', {}))}
<h2 id="packages">Package versions</h2>{_kv_html(m.get('packages', {}))}
<h2 id="checksums">Data checksums (SHA-256)</h2>{_kv_html(m.get('checksums', {}))}
</body></html>
"""
