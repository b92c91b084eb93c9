"""``tabnas report`` end to end: the default experiment, a real headless browser, bad input."""

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from tests.conftest import run_cli

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
FIGURES = ("regret_evals", "regret_evals_median", "regret_cost", "value_test_evals", "rank_evals",
           "ecdf")

#: Marks every image's decoded size on <body> once the page has loaded.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  document.body.setAttribute('data-figs', JSON.stringify(
    imgs.map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight, i.width, i.height])));
});
</script></body>"""


@pytest.fixture(scope="module")
def default_report(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("report")
    env = {"TABNAS_CACHE": str(tmp_path_factory.getbasetemp() / "tabnas-cache")}
    proc = run_cli("run", "--no-report", cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("report", "default", "--format", "png,pdf,svg", cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "note: Figure files under figures/: PNG, PDF, SVG." in proc.stdout
    return cwd, cwd / "results" / "default", env


def svg_text(path) -> str:
    """The text of an SVG figure (matplotlib writes each text line in a comment), wrapped
    lines joined by spaces."""
    return " ".join(html.unescape(t) for t in re.findall(r"<!-- (.*?) -->", path.read_text()))


def chromium(*args, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is needed for this test: apt-get install -y chromium"
    profile = tmp_path / "chromium-profile"
    return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)


def test_report_files(default_report):
    _, exp, _ = default_report
    page = (exp / "report.html").read_text()
    for stem in FIGURES:
        for fmt in ("png", "pdf", "svg"):
            assert (exp / "figures" / f"{stem}.{fmt}").stat().st_size > 5_000, (stem, fmt)
        assert f'id="fig-{stem}"' in page
    # Self-contained: every image is inline (the p-value heat map too), nothing is fetched.
    assert page.count('src="data:image/png;base64,') == len(FIGURES) + 1
    assert 'id="fig-pvalues"' in page
    # Regret carries its unit; log-scale regret figures say where zero regret is drawn.
    from tabnas.figure_layout import FLOOR_NOTE

    for stem in ("regret_evals", "regret_evals_median", "value_test_evals", "ecdf"):
        assert "accuracy points" in svg_text(exp / "figures" / f"{stem}.svg"), stem
    caption = re.search(r'id="fig-regret_evals".*?<figcaption>(.*?)</figcaption>', page).group(1)
    assert html.escape(FLOOR_NOTE) in caption
    assert "Validation regret (of the value the strategies searched on) beside test" in page
    assert 'id="fig-pooled_evals"' not in page  # one benchmark: nothing to pool
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    # A table of contents whose every entry has its section.
    toc = re.search(r'<nav class="toc">(.*?)</nav>', page).group(1)
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert len(anchors) >= 8 and all(f'id="{a}"' in page for a in anchors)
    # Every column is explained, the Vargha-Delaney A among them.
    assert "<dt>A</dt><dd>Vargha-Delaney A" in page and "<dt>val. regret</dt>" in page
    # Resolved hyperparameters: rea's declared defaults though the study gave none.
    from tabnas.strategy import STRATEGIES

    for name, hp in STRATEGIES.get("rea").hyperparameters.items():
        assert html.escape(f"{name} = {hp.default!r}") in page
    assert "nb201-analog rea best: |" in page and "(final incumbent of" in page
    manifest = json.loads((exp / "manifest.json").read_text())
    for sha in manifest["checksums"].values():
        assert sha in page
    assert "analog-nasbench" in page and manifest["packages"]["scipy"] in page
    assert "against each other strategy, Holm over k - 1 = 1 (20 paired seeds)" in page
    assert "p-values exact (--wilcoxon auto)" in page
    assert "need at least 3 strategies; this experiment has 2" in page
    md = (exp / "tables" / "final.md").read_text()
    assert md.count("**") == 2 and md.splitlines()[2].startswith("| strategy | nb201-analog |")
    tex = (exp / "tables" / "final.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\textbf{" in tex
    # Each Markdown table opens with its caption, the LaTeX caption's text, naming the test,
    # its p-values, alpha, the Holm family and the blocks; 20 seeds can reach alpha: no note.
    from tabnas.tables import _tex

    caption = md.splitlines()[0]
    assert caption.startswith("Table: Test regret at the end of each run, mean ± s.e. over "
                              "seeds; bold: best mean, underlined: not significantly worse")
    for needle in ("paired Wilcoxon signed-rank tests (two-sided)", "p-values exact "
                   "(--wilcoxon auto)", "alpha = 0.05", "Holm over k - 1", "blocks: the seeds"):
        assert needle in caption, needle
    assert r"\caption{" + _tex(caption.removeprefix("Table: ")) + "}" in tex
    assert "Note:" not in md and "smallest possible p" not in page
    for name, family in (("anytime", "Holm over k - 1"), ("control", "Holm over k - 1"),
                         ("pairs", "Holm over k(k - 1)/2")):
        first = (exp / "tables" / f"{name}.md").read_text().splitlines()[0]
        assert first.startswith("Table: ") and "Wilcoxon" in first and family in first, name
        assert _tex(first.removeprefix("Table: ")) in (exp / "tables" / f"{name}.tex").read_text()
    # CSV readers see the same choices as constant last columns.
    import pandas as pd

    final_csv = pd.read_csv(exp / "tables" / "final.csv")
    assert list(final_csv.columns[:10]) == ["benchmark", "strategy", "runs", "mean", "se",
                                            "median", "q25", "q75", "ci_lo", "ci_hi"]
    assert list(final_csv.columns[-5:]) == ["test", "correction", "alpha", "blocks", "note"]
    assert len(final_csv) == 2 and (final_csv["alpha"] == 0.05).all()
    assert final_csv["correction"].str.startswith("Holm over k - 1").all()
    assert final_csv["note"].isna().all()
    pairs_csv = pd.read_csv(exp / "tables" / "pairs.csv")
    assert pairs_csv["correction"].str.startswith("Holm over k(k - 1)/2").all()
    anytime = (exp / "tables" / "anytime.md").read_text()
    assert "| strategy | 20 | 50 | 100 | 200 |" in anytime
    # The cost model is named in the summary and the cost caption; defaults leave the axis.
    assert "Cost model: 1 worker (sequential: the cost axis is the sum of evaluation costs); " \
           "promotions pay: restart" in page
    cost = re.search(r'id="fig-regret_cost".*?<figcaption>(.*?)</figcaption>', page).group(1)
    assert "1 worker (sequential" in cost and "promotions pay: restart" in cost
    assert "simulated workers" not in svg_text(exp / "figures" / "regret_cost.svg")
    # The one-seed line carries the table's unit.
    assert re.search(r"nb201-analog rea best: \|\S+\|, validation [\d.]+ %, test [\d.]+ % "
                     r"\(final incumbent of", page)


def test_report_renders_in_headless_chromium(default_report, tmp_path):
    _, exp, _ = default_report
    probe = tmp_path / "probe.html"
    probe.write_text((exp / "report.html").read_text().replace("</body>", PROBE))
    proc = chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri(),
                    tmp_path=tmp_path)
    match = re.search(r'data-figs="([^"]*)"', proc.stdout)
    assert match, proc.stderr[-2000:]
    figs = json.loads(html.unescape(match.group(1)))
    assert [f[0] for f in figs] == [*FIGURES, "pvalues"]
    for alt, complete, nat_w, nat_h, w, h in figs:
        assert complete and nat_w > 300 and nat_h > 200 and w > 300 and h > 150, alt

    shot = tmp_path / "report.png"
    proc = chromium("--window-size=1200,6400", "--hide-scrollbars", f"--screenshot={shot}",
                    (exp / "report.html").as_uri(), tmp_path=tmp_path)
    assert shot.exists(), proc.stderr[-2000:]
    import matplotlib.image

    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).round().astype(int)
    def count(rgb):
        return int(np.all(np.abs(pixels - np.array(rgb)) <= 12, axis=-1).sum())
    # Both strategies' Okabe-Ito colours are drawn in the rendered page: the figures show.
    assert count((0x00, 0x72, 0xB2)) > 2_000  # random, blue
    assert count((0xE6, 0x9F, 0x00)) > 2_000  # rea, orange
    # Each figure occupies its own band of the page: the rows holding blue or orange
    # pixels form as many separate runs as there are figures with curves.
    rows = np.any(np.all(np.abs(pixels - np.array((0x00, 0x72, 0xB2))) <= 12, axis=-1), axis=1)
    starts = np.flatnonzero(rows[1:] & ~rows[:-1])
    bands = [s for i, s in enumerate(starts) if i == 0 or s - starts[i - 1] > 120]
    assert len(bands) >= len(FIGURES), bands


def test_report_at_budget_and_output_path(default_report, tmp_path):
    cwd, exp, env = default_report
    out = tmp_path / "r50.html"
    proc = run_cli("report", "default", "--at-evals", "50", "-o", str(out), cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert "after 50 evaluations" in page
    # By default the figure files are the PNGs the page embeds, and both say how to get
    # the paper formats.
    note = ("Figure files under figures/: PNG only; for PDF and SVG as well (papers), run "
            "tabnas report with --format png,pdf,svg.")
    assert f"note: {note}" in proc.stdout and html.escape(note) in page
    assert "(files: figures/regret_evals.png)" in page


def _bad(cwd, env, *args):
    proc = run_cli(*args, cwd=cwd, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_budget_beyond_the_runs(default_report):
    cwd, exp, env = default_report
    before = sorted(p.name for p in (exp / "figures").iterdir())
    assert "outside nb201-analog's runs (1..200)" in _bad(cwd, env, "report", "default",
                                                          "--at-evals", "500")
    assert "--at-cost between" in _bad(cwd, env, "report", "default", "--at-cost", "1e12")
    assert "one budget" in _bad(cwd, env, "report", "default", "--at-evals", "5",
                                "--at-cost", "9")
    assert sorted(p.name for p in (exp / "figures").iterdir()) == before


def test_experiment_without_finished_runs(tmp_path):
    env = {"TABNAS_CACHE": str(tmp_path / "cache")}
    assert "no experiment" in _bad(tmp_path, env, "report", "nothing")
    (tmp_path / "results" / "bare" / "runs").mkdir(parents=True)
    assert "no finished runs" in _bad(tmp_path, env, "report", "bare")
    # Runs that ended before their first evaluation (cost budget below one evaluation).
    proc = run_cli("run", "--experiment", "tiny", "--seeds", "2", "--budget-cost", "1e-6",
                   "--no-report", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "ended before its first evaluation" in _bad(tmp_path, env, "report", "tiny")
    for command in ("stats", "plot"):  # the same message, not an empty table or figure
        assert "ended before its first evaluation" in _bad(tmp_path, env, command, "tiny")
    exp = tmp_path / "results" / "tiny"
    assert not (exp / "figures").exists() and not (exp / "report.html").exists()


def test_unequal_seed_sets_and_the_seeds_option(tmp_path):
    env = {"TABNAS_CACHE": str(tmp_path / "cache")}
    for strat, seeds in (("random", "3"), ("rea", "2")):
        proc = run_cli("run", "--experiment", "unequal", "--strategy", strat, "--seeds", seeds,
                       "--budget-evals", "10", "--no-report", cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
    note = ("nb201-analog: strategies ran different seeds (random 3, rea 2); per-strategy "
            "summaries use all of a strategy's seeds, paired tests and ranks the 2 seeds every "
            "strategy ran.")
    proc = run_cli("stats", "unequal", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"note: {note}" in proc.stdout
    runs = {line.split()[1]: line.split()[2] for line in proc.stdout.splitlines()
            if line.startswith("nb201-analog ") and "best:" not in line}
    assert runs == {"random": "3", "rea": "2"}
    proc = run_cli("report", "unequal", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "results" / "unequal" / "report.html").read_text()
    assert __import__("html").escape(note) in page
    # --seeds restricts both: then the seed sets are equal and nothing needs saying.
    proc = run_cli("stats", "unequal", "--seeds", "2", cwd=tmp_path, env=env)
    assert proc.returncode == 0 and "different seeds" not in proc.stdout
    assert "note: restricted to seeds 0, 1 (--seeds)." in proc.stdout
    line = _bad(tmp_path, env, "stats", "unequal", "--seeds", "1,7-9")
    assert line == ("tabnas: error: --seeds: no run of experiment 'unequal' has seed(s) 7, 8, 9; "
                    "its seeds are 0, 1, 2")


def test_multi_benchmark_report_has_cd_diagram_and_panels(tmp_path):
    """Three strategies on four benchmarks, stored in the results format: CD diagram, Friedman."""

    from tabnas.records import STOP_EVALS, RunRecords
    from tabnas.report import build_report
    from tabnas.results import run_path, write_json_atomic, write_run
    from tabnas.runfile import config_settings_digest, identity
    from tests.test_figures_tables import synthetic

    df = synthetic(seeds=6, steps=15)
    exp = tmp_path / "multi"
    config = {"experiment": "multi", "benchmarks": sorted(df["benchmark"].unique()),
              "strategies": sorted(df["strategy"].unique()),
              "seeds": sorted(int(x) for x in df["seed"].unique()),
              "budget": {"evals": 15, "cost": None}, "hyperparameters": {},
              "benchmark_options": {}, "sim_workers": 1}
    for (bench, strat, seed), g in df.groupby(["benchmark", "strategy", "seed"]):
        n = len(g)
        value = (-g["regret_test"]).tolist()
        records = RunRecords("multi", bench, strat, int(seed), stop_reason=STOP_EVALS)
        records.columns.update({
            "step": g["step"].tolist(), "arch": ["a"] * n, "fidelity": [None] * n,
            "value": value, "test_value": value, "cost": [2.0] * n,
            "cum_cost": g["cum_cost"].tolist(), "incumbent_arch": ["a"] * n,
            "incumbent_value": value, "incumbent_test": value,
            "regret_value": g["regret_test"].tolist(), "regret_test": g["regret_test"].tolist(),
            "overhead_s": [0.0] * n, "trial": list(range(n)), "continues": [None] * n})
        write_run(run_path(exp, bench, strat, seed), records.to_arrow(),
                  identity("multi", bench, strat, seed, config_settings_digest(config, strat)))
    write_json_atomic(exp / "manifest.json", {"format": __import__("tabnas").RESULTS_FORMAT,
                                              "config": config,
                                              "cost_labels": {"b1": "GPU-hours"},
                                              "metric_labels": {"b1": {
                                                  "value": "valid accuracy (%)",
                                                  "test": "test accuracy (%)"}}})
    page = build_report(exp, formats=("png", "pdf", "svg")).read_text()
    assert 'id="fig-cd"' in page and "Friedman test over 4 blocks: benchmarks" in page
    friedman_tex = (exp / "tables" / "friedman.tex").read_text()
    assert "blocks = benchmarks (4 blocks" in friedman_tex
    # Four benchmarks as blocks: too few, and every output of the test says so.
    assert "Caution: the Friedman test ranks only N = 4 blocks (blocks = benchmarks)" \
        in friedman_tex
    cd_text = svg_text(exp / "figures" / "cd.svg")
    assert "blocks = benchmarks, N = 4" in cd_text and "caution: only N = 4 blocks" in cd_text
    assert "Friedman/Nemenyi: the Friedman test ranks only N = 4 blocks" in page
    seeds_page = build_report(exp, blocks="seeds", output=tmp_path / "s.html",
                              rope=0.05, formats=("png", "svg")).read_text()
    assert "Friedman test over 24 blocks: (benchmark, seed) pairs" in seeds_page
    assert "Caution" not in (exp / "tables" / "friedman.tex").read_text()
    assert "blocks = (benchmark, seed) pairs, N = 24" in svg_text(exp / "figures" / "cd.svg")
    assert "region of practical equivalence ±0.05" in seeds_page
    bayes = __import__("pandas").read_csv(exp / "tables" / "bayes.csv")
    assert len(bayes) == 4 * 2 and ((bayes["p_best_better"] + bayes["p_equivalent"]
                                     + bayes["p_strategy_better"]).round(6) == 1).all()
    assert (exp / "figures" / "cd.svg").stat().st_size > 5_000
    assert "cumulative cost: GPU-hours" in (exp / "figures" / "regret_cost.svg").read_text()
    md = (exp / "tables" / "final.md").read_text()
    assert md.splitlines()[2] == "| strategy | b1 | b2 | b3 | b4 |"
    # The pooled figure and validation beside test regret, embedded with their captions.
    for stem in ("pooled_evals", "value_test_evals"):
        assert f'id="fig-{stem}"' in page and (exp / "figures" / f"{stem}.pdf").exists()
    assert "pooled over the 4 benchmarks" in page and "0 is the optimum and 1 the worst" in page
    assert "average rank over 4 benchmarks" in svg_text(exp / "figures" / "pooled_evals.svg")
    # Units: b1 names accuracy in %, the others name none.
    for stem in ("regret_evals", "regret_evals_median", "ecdf", "value_test_evals"):
        text = svg_text(exp / "figures" / f"{stem}.svg")
        assert "accuracy points" in text and "the table's units" in text, stem


def test_a_study_too_small_to_reach_alpha_says_so(tmp_path):
    """Five seeds, three strategies, two benchmarks: no mark can be significant, Friedman ranks
    two blocks; the terminal, every caption, the CSVs, the CD figure and the API say so."""
    import pandas as pd

    import tabnas
    from tabnas.tables import _tex

    env = {"TABNAS_CACHE": str(tmp_path / "cache")}
    proc = run_cli("run", "--benchmark", "nbgraph-cora,nbgraph-citeseer", "--strategy",
                   "random,rea,local-search", "--seeds", "5", "--budget-evals", "30",
                   "--experiment", "small", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    note = ("with n = 5 paired seeds the smallest possible p of the exact signed-rank test is "
            "0.0625 (0.125 after Holm over k - 1 = 2): no difference can be significant at "
            "alpha = 0.05 (run more seeds)")
    assert f"\nnote: {note}\n" in proc.stdout
    assert "Holm over k - 1 (the best against each other strategy); blocks: the seeds" \
        in proc.stdout
    exp = tmp_path / "results" / "small"
    stats_md = (exp / "stats.md").read_text().splitlines()
    assert stats_md[0].startswith("Table: Test regret at the end of each run") \
        and stats_md[0].endswith(f"Note: {note}.") and stats_md[2].startswith("| benchmark |")
    stats_csv = pd.read_csv(exp / "stats.csv")
    assert (stats_csv["note"] == note).all() and (stats_csv["alpha"] == 0.05).all()
    # No strategy can be marked worse than the best, and that is what the marks show.
    assert set(stats_csv["mark"]) == {"best", "tied"}

    proc = run_cli("report", "small", "--format", "png,svg", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    final_md = (exp / "tables" / "final.md").read_text().splitlines()[0]
    assert final_md == stats_md[0]  # one caption, from one function
    assert r"\caption{" + _tex(final_md.removeprefix("Table: ")) + "}" in (
        exp / "tables" / "final.tex").read_text()
    pairs_md = (exp / "tables" / "pairs.md").read_text().splitlines()[0]
    assert "0.188 after Holm over k(k - 1)/2 = 3" in pairs_md
    friedman = (exp / "tables" / "friedman.md").read_text().splitlines()[0]
    assert "Caution: the Friedman test ranks only N = 2 blocks (blocks = benchmarks)" in friedman
    assert "is at least the largest possible difference of average ranks (k - 1 = 2)" in friedman
    assert pd.read_csv(exp / "tables" / "friedman.csv")["note"].str.contains("N = 2 blocks").all()
    cd_text = svg_text(exp / "figures" / "cd.svg")
    assert "blocks = benchmarks, N = 2" in cd_text and "caution: only N = 2 blocks" in cd_text
    page = html.unescape((exp / "report.html").read_text())
    assert f"Marks: {note}." in page and "Friedman/Nemenyi: the Friedman test ranks only" in page

    stats = tabnas.load("small", results_dir=tmp_path / "results").stats()
    assert stats.attrs["test"] == ("paired Wilcoxon signed-rank tests (two-sided), p-values "
                                   "exact (--wilcoxon auto)")
    assert stats.attrs["correction"].startswith("Holm over k - 1")
    assert stats.attrs["alpha"] == 0.05 and stats.attrs["note"] == note
    assert stats.attrs["blocks"].startswith("the seeds every strategy of a benchmark ran")
    assert stats.attrs["budget"] == "at the end of each run"


def test_simulated_workers_and_promotion_costs_are_named(tmp_path):
    """Four simulated workers whose promotions continue: the cost axis and caption say so."""
    env = {"TABNAS_CACHE": str(tmp_path / "cache")}
    proc = run_cli("run", "--benchmark", "toy-fidelities", "--strategy", "asha,random",
                   "--sim-workers", "4", "--mf-cost", "continue", "--budget-cost", "500",
                   "--seeds", "2", "--experiment", "mf", "--no-report", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("report", "mf", "--format", "png,svg", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    exp = tmp_path / "results" / "mf"
    page = html.unescape((exp / "report.html").read_text())
    model = ("4 simulated asynchronous workers (the cost axis is simulated time); promotions "
             "pay: continue (only what its fidelity adds to the trial it continues)")
    assert f"Cost model: {model}." in page
    cost = re.search(r'id="fig-regret_cost".*?<figcaption>(.*?)</figcaption>', page, re.S)
    assert model in cost.group(1)
    axis = svg_text(exp / "figures" / "regret_cost.svg")
    assert "simulated time: toy cost" in axis
    assert "(4 simulated workers; promotions pay: continue)" in axis
    # The one-seed line names the table's own unit where it is not a percentage.
    assert re.search(r"toy-fidelities asha best: \S+, validation [\d.]+ \(toy validation "
                     r"score\), test [\d.]+ \(toy test score\)", page)


@pytest.fixture(scope="module")
def run_with_html(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("run-html")
    env = {"TABNAS_CACHE": str(tmp_path_factory.getbasetemp() / "tabnas-cache")}
    proc = run_cli("run", "--experiment", "h", "--strategy", "random,rea", "--seeds", "3",
                   "--budget-evals", "30", "--html", cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    return cwd, cwd / "results" / "h", env, proc.stdout


def test_run_html_is_the_report_of_tabnas_report(run_with_html):
    """``tabnas run --html`` embeds the regret figures ``tabnas plot`` drew in the same
    process; the report is byte for byte the one ``tabnas report`` draws on its own."""
    cwd, exp, env, out = run_with_html
    assert f"report: {exp.relative_to(cwd) / 'report.html'}" in out
    assert "plots: " in out and "saved " in out  # the stats table and plots, as before
    files = sorted(p for p in exp.glob("figures/*") if p.suffix == ".png")
    assert {"regret_evals.png", "regret_cost.png", "ecdf.png"} <= {p.name for p in files}

    def made() -> dict[str, bytes]:  # the page without the time it was generated
        page = re.sub(rb"Generated [0-9T:+-]+;", b"", (exp / "report.html").read_bytes())
        return {"report.html": page, **{p.name: p.read_bytes() for p in files}}

    first = made()
    proc = run_cli("report", "h", cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    again = made()
    assert [n for n in first if first[n] != again[n]] == []


def test_run_html_on_a_multi_objective_benchmark(tmp_path):
    """The fronts' benchmarks `tabnas run` loaded are the report's too: same page."""
    proc = run_cli("run", "--experiment", "mo", "--benchmark", "nb201-analog:baseline-analog",
                   "--strategy", "random,mo-rea", "--seeds", "2", "--budget-evals", "20",
                   "--html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "results" / "mo" / "report.html"
    first = re.sub(rb"Generated [0-9T:+-]+;", b"", page.read_bytes())
    assert b"Multi-objective" in first
    proc = run_cli("report", "mo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.sub(rb"Generated [0-9T:+-]+;", b"", page.read_bytes()) == first


def test_only_figures_of_the_default_options_and_frame_are_reused(run_with_html):
    from tabnas import plots
    from tabnas.statistics import load_for_statistics

    _, exp, _, _ = run_with_html
    df, manifest = load_for_statistics(exp)
    drawn, _ = plots.plot_figures(df, manifest)
    assert set(plots.default_regret_figures(drawn, df)) == {"regret_evals", "regret_cost"}
    assert plots.default_regret_figures(drawn, df.copy()) == {}  # another frame
    for options in ({"log": False}, {"band": "iqr"}, {"style": "single"},
                    {"strategies": ["rea"]}, {"metric": "value"}):
        other, _ = plots.plot_figures(df, manifest, **options)
        assert plots.default_regret_figures(other, df) == {}, options
        for fig in [*other.values(), *drawn.values()]:
            plots.pyplot().close(fig)


def test_the_report_embeds_the_plots_figures_and_renders_them_once(run_with_html):
    from tabnas import plots, report
    from tabnas.statistics import load_for_statistics

    _, exp, _, _ = run_with_html
    loaded = load_for_statistics(exp)
    drawn, _ = plots.plot_figures(*loaded)
    rep = report.compute_report(exp, data=loaded, figures=drawn)
    assert rep.figures["regret_evals"] is drawn["regret_evals"]
    assert rep.figures["regret_cost"] is drawn["regret_cost"]
    other, _ = plots.plot_figures(*loaded, log=False)
    rep = report.compute_report(exp, data=loaded, figures=other)
    assert rep.figures["regret_evals"] is not other["regret_evals"]

    fig = drawn["regret_evals"]
    draws = []
    fig.canvas.mpl_connect("draw_event", lambda event: draws.append(event))
    with plots.rendered_once():
        first = plots.render_figure(fig, "png")
        assert plots.render_figure(fig, "png") is first and len(draws) == 1
    fig.suptitle("changed after rendering")  # outside the block: drawn as it is now
    assert plots.render_figure(fig, "png") != first and len(draws) == 2
    for f in [*drawn.values(), *other.values(), *rep.figures.values()]:
        plots.pyplot().close(f)


def test_html_without_the_stats_and_plots_is_refused(tmp_path):
    proc = run_cli("run", "--no-report", "--html", "--seeds", "1", cwd=tmp_path)
    assert proc.returncode == 2 and "--html cannot be combined with --no-report" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "results").exists()
