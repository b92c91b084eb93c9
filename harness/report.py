"""``tabnas report``: one self-contained HTML file with everything a reviewer asks for.

The file embeds its figures (base64 PNG), so it can be mailed or attached to a
submission as it is. Beside it the same figures are written as PNG, PDF and SVG
under ``figures/`` and the tables as Markdown, CSV and LaTeX under ``tables/``.

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

import numpy as np
import pandas as pd

from tabnas.cache import atomic_write_bytes
from tabnas.errors import BadConfiguration, UserError, os_reason

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


def compute_report(exp_dir: Path, *, evals: int | None = None, cost: float | None = None,
                   alpha: float = 0.05) -> Report:
    """Everything in the report, computed in memory (validates the input first)."""
    from tabnas import plots, statistics, tables
    from tabnas.results import load_experiment
    from tabnas.significance import friedman_nemenyi, pairwise_wilcoxon

    if evals is not None and cost is not None:
        raise BadConfiguration("give one budget: evals or cost, not both")
    if not 0 < alpha < 1:
        raise BadConfiguration(f"alpha must be between 0 and 1, got {alpha}")
    df, manifest = load_experiment(exp_dir)
    long = statistics.values_at(df, evals=evals, cost=cost)  # checks the budget
    for bench in sorted(long["benchmark"].unique()):
        statistics.paired_wide(long, bench)  # checks the seed sets are paired

    budget_text = (f"after {evals} evaluations" if evals is not None else
                   f"at cumulative cost {cost:g}" if cost is not None else "at the end of each run")
    rep = Report(title=f"tabnas report: {exp_dir.name}", manifest=manifest,
                 budget_text=budget_text, notes=list(manifest.get("notes", [])))
    colours = plots.strategy_colours(df["strategy"].unique())
    by_evals = statistics.curves(df, "evals")
    regret = plots.regret_figures(df, colours, manifest.get("cost_labels", {}),
                                  by_evals=by_evals)
    rep.figures["regret_evals"] = regret["regret_evals"]
    rep.captions["regret_evals"] = ("Test regret of the incumbent (chosen on the searched "
                                    "value) vs evaluations: mean ± standard error over seeds.")
    rep.figures["regret_evals_median"] = plots.curves_figure(by_evals, colours,
                                                             xlabel="evaluations", band="iqr")
    rep.captions["regret_evals_median"] = "The same runs: median and interquartile range."
    if "regret_cost" in regret:
        rep.figures["regret_cost"] = regret["regret_cost"]
        rep.captions["regret_cost"] = ("Test regret vs cumulative simulated cost (step "
                                       "interpolation onto a common grid), mean ± s.e.")
    ranks = statistics.anytime_ranks(df, "evals")
    rep.figures["rank_evals"] = plots.rank_figure(ranks, colours, xlabel="evaluations")
    rep.captions["rank_evals"] = ("Anytime average rank: strategies ranked within each seed "
                                  "at every evaluation count, averaged over seeds.")
    rep.figures["ecdf"] = plots.ecdf_figure(long, colours,
                                            xlabel=f"test regret {budget_text}")
    rep.captions["ecdf"] = f"Empirical CDF over seeds of the test regret {budget_text}."

    final = tables.final_results(df, evals=evals, cost=cost, alpha=alpha)
    rep.tables["final"] = (tables.to_markdown(final), tables.to_csv_text(final),
                           tables.to_latex(final, caption=f"Test regret {budget_text}, "
                                           "mean ± s.e. over seeds"))
    rep.html_tables["final"] = _final_html(final)
    top = int(df["step"].max())
    budgets = sorted({max(1, int(round(f * top))) for f in ANYTIME_FRACTIONS})
    budgets = [b for b in budgets if b <= min(statistics.budget_limits(df)[x][0]
                                              for x in df["benchmark"].unique())]
    anytime = tables.anytime_results(df, axis="evals", budgets=budgets, alpha=alpha)
    md_parts, tex_parts, html_parts = [], [], []
    for bench, ab in anytime.groupby("benchmark", sort=True):
        ab = ab.rename(columns={"budget": "evaluations"})
        md_parts.append(f"**{bench}** (columns: evaluations)\n\n"
                        + tables.to_markdown(ab, column="evaluations"))
        tex_parts.append(tables.to_latex(ab, column="evaluations",
                                         caption=f"{bench}: test regret by evaluations"))
        html_parts.append(f"<h4>{html.escape(bench)}</h4>"
                          + _wide_html(ab, "evaluations"))
    rep.tables["anytime"] = ("\n\n".join(md_parts), tables.to_csv_text(anytime),
                             "\n\n".join(tex_parts))
    rep.html_tables["anytime"] = "".join(html_parts)

    for bench in sorted(long["benchmark"].unique()):
        wide = statistics.paired_wide(long, bench)
        if wide.shape[1] >= 2:
            tests = pairwise_wilcoxon(wide, alpha)
            rep.tests_html.append(
                f"<h4>{html.escape(bench)}: paired Wilcoxon signed-rank, Holm-corrected "
                f"({len(wide)} seeds, alpha = {alpha:g})</h4>" + _frame_html(tests))
    k = long["strategy"].nunique()
    wide_all = statistics.paired_wide(long)
    if k >= 3 and len(wide_all) >= 2:
        fr = friedman_nemenyi(wide_all, alpha)
        rep.figures["cd"] = plots.cd_figure(fr, colours, title=f"test regret {budget_text}")
        rep.captions["cd"] = (f"Critical-difference diagram: average ranks over "
                              f"{fr.n_blocks} blocks (one per benchmark and seed); strategies "
                              f"joined by a bar are not significantly different (Nemenyi, "
                              f"CD = {fr.cd:.3f}).")
        rep.tests_html.append(
            f"<h4>Friedman test over {fr.n_blocks} blocks (benchmark x seed)</h4>"
            f"<p>chi² = {fr.chi2:.4g}, p = {fr.p:.3g}; Iman-Davenport F = "
            f"{fr.f_iman_davenport:.4g}, p = {fr.p_iman_davenport:.3g}. Nemenyi critical "
            f"difference at alpha = {alpha:g}: {fr.cd:.4f}.</p>"
            "<p>Nemenyi p-values:</p>" + _frame_html(fr.nemenyi_p.reset_index(
                names="strategy")))
    else:
        rep.notes.append(f"Friedman/Nemenyi and the critical-difference diagram need at least "
                         f"3 strategies; this experiment has {k}.")
    from tabnas.mo_report import add_multi_objective

    add_multi_objective(rep, df, evals=evals, cost=cost, alpha=alpha)
    return rep


def write_report(rep: Report, exp_dir: Path, output: Path | None = None) -> Path:
    """Write figures, tables and the HTML file (each atomically); returns the HTML path."""
    from tabnas.plots import save_figure

    pngs: dict[str, bytes] = {}
    for stem, fig in rep.figures.items():
        paths = save_figure(fig, exp_dir / "figures", stem)
        pngs[stem] = paths["png"].read_bytes()
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
                 alpha: float = 0.05, output: Path | None = None) -> Path:
    return write_report(compute_report(exp_dir, evals=evals, cost=cost, alpha=alpha),
                        exp_dir, output)


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
figcaption{font-size:.9em;color:#444}pre{background:#f6f6f6;padding:.8em;overflow:auto;
font-size:.8em}code{font-size:.9em}
"""


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
    cols = ["benchmark", "strategy", "runs", "mean ± s.e.", "median [IQR]", "95% CI of mean",
            "avg rank"]
    rows = []
    for r in final.itertuples(index=False):
        cells = [html.escape(r.benchmark), html.escape(r.strategy), str(r.runs),
                 _marked(f"{r.mean:.4f} ± {r.se:.4f}", r.mark),
                 f"{r.median:.4f} [{r.q25:.4f}, {r.q75:.4f}]",
                 f"[{r.ci_lo:.4f}, {r.ci_hi:.4f}]", f"{r.avg_rank:.2f}"]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{c}</th>" for c in cols)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


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


def render_html(rep: Report, pngs: dict[str, bytes]) -> str:
    """The report page; ``pngs`` maps figure stem -> PNG bytes to embed."""
    m = rep.manifest
    figures = []
    for stem, data in pngs.items():
        b64 = base64.b64encode(data).decode("ascii")
        figures.append(
            f'<figure id="fig-{stem}"><img class="figure" alt="{html.escape(stem)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>{html.escape(rep.captions[stem])}'
            f" (files: figures/{stem}.png, .pdf, .svg)</figcaption></figure>")
    notes = "".join(f"<p><em>{html.escape(n)}</em></p>" for n in rep.notes)
    extra = "".join(f"<h2>{html.escape(h)}</h2>{body}" for h, body in rep.extra_sections)
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(rep.title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(rep.title)}</h1>
<p>Regret is the reported (test) regret of the incumbent, which each strategy chose on the
value it searched on; lower is better. Tables and tests are {html.escape(rep.budget_text)}.
In tables, <b>bold</b> is the best mean per benchmark and <u>underlined</u> the strategies
the Holm-corrected paired Wilcoxon test cannot tell apart from it.</p>
<p>Generated {generated}; command: <code>{html.escape(str(m.get('command', '')))}</code>;
git revision <code>{html.escape(str(m.get('git_revision')))}</code>.</p>
<h2>Figures</h2>
{''.join(figures)}
<h2>Final results</h2>
{rep.html_tables.get('final', '')}
<p>Files: tables/final.md, tables/final.csv, tables/final.tex.</p>
<h2>Anytime results</h2>
{rep.html_tables.get('anytime', '')}
<p>Files: tables/anytime.md, tables/anytime.csv, tables/anytime.tex.</p>
<h2>Statistical tests</h2>
{''.join(rep.tests_html)}{notes}
{extra}
<h2>Configuration</h2>
<pre>{html.escape(json.dumps(m.get('config', {}), indent=2, sort_keys=True))}</pre>
<h3>Cost units</h3>{_kv_html(m.get('cost_labels', {}))}
<h2>Package versions</h2>{_kv_html(m.get('packages', {}))}
<h2>Data checksums (SHA-256)</h2>{_kv_html(m.get('checksums', {}))}
</body></html>
"""
