"""Figures and tables from aggregated results: formats, colours, marks, the CD diagram."""

import numpy as np
import pandas as pd

from tabnas import plots, tables
from tabnas.significance import friedman_nemenyi
from tabnas.statistics import curves, values_at
from tests.test_significance import demsar_wide


def synthetic(benchmarks=("b1", "b2", "b3", "b4"), seeds=12, steps=30):
    """Results-format rows: 'good' converges fastest; 'twin' is 'good' shifted by +0.012 or -0.01,
    up on even seeds and down on odd ones, so no paired test can tell the two apart."""
    rng = np.random.default_rng(0)
    rows = []
    for bench in benchmarks:
        for seed in range(seeds):
            start = rng.uniform(5, 10)
            noise = 0.012 if seed % 2 == 0 else -0.01
            for strat, rate in (("good", 0.1), ("twin", 0.1), ("slow", 0.01)):
                reg = start * np.exp(-rate * np.arange(steps))
                if strat == "twin":
                    reg = reg + noise
                for step in range(steps):
                    rows.append({"benchmark": bench, "strategy": strat, "seed": seed,
                                 "step": step + 1, "cum_cost": 2.0 * (step + 1),
                                 "regret_test": reg[step]})
    return pd.DataFrame(rows)


def test_final_table_marks_best_and_statistical_ties():
    df = synthetic()
    final = tables.final_results(df)
    marks = final.set_index(["benchmark", "strategy"])["mark"]
    for bench in ("b1", "b2", "b3", "b4"):
        assert {marks[(bench, "good")], marks[(bench, "twin")]} == {"best", "tied"}
        assert marks[(bench, "slow")] == ""
    assert (final["ci_lo"] <= final["mean"]).all() and (final["mean"] <= final["ci_hi"]).all()
    md = tables.to_markdown(final)
    assert md.splitlines()[0] == "| strategy | b1 | b2 | b3 | b4 |"
    assert md.count("**") == 8 and md.count("<u>") == 4
    tex = tables.to_latex(final, caption="regret_test at 30 evaluations")
    assert tex.count(r"\textbf{") == 4 and tex.count(r"\underline{") == 4
    assert r"\caption{regret\_test at 30 evaluations}" in tex
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")
    back = pd.read_csv(__import__("io").StringIO(tables.to_csv_text(final)))
    assert len(back) == 12 and set(back["mark"].fillna("")) == {"best", "tied", ""}


def test_anytime_table_budgets():
    df = synthetic(benchmarks=("b1",))
    any_t = tables.anytime_results(df, axis="evals", budgets=[1, 10, 30])
    assert sorted(any_t["budget"].unique()) == [1, 10, 30]
    at1 = any_t[any_t["budget"] == 1].set_index("strategy")["mean"]
    assert at1["good"] == at1["slow"]  # same start, before any progress
    md = tables.to_markdown(any_t, column="budget")
    assert md.splitlines()[0] == "| strategy | 1 | 10 | 30 |"


def test_curve_figures_one_panel_per_benchmark_and_consistent_colours(tmp_path):
    df = synthetic()
    colours = plots.strategy_colours(df["strategy"])
    assert colours == {"good": plots.OKABE_ITO[0], "slow": plots.OKABE_ITO[1],
                       "twin": plots.OKABE_ITO[2]}
    fig = plots.curves_figure(curves(df, "evals"), colours, xlabel="evaluations")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["b1", "b2", "b3", "b4"]
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in visible)
    for ax in visible:
        lines = {ln.get_label().split(" ")[0]: ln.get_color() for ln in ax.get_lines()}
        assert lines == colours
    ecdf = plots.ecdf_figure(values_at(df), colours)
    ecdf_lines = {ln.get_label().split(" ")[0]: ln.get_color() for ln in ecdf.axes[0].get_lines()}
    assert ecdf_lines == colours
    written = plots.save_figure(fig, tmp_path, "curves")
    assert sorted(written) == ["pdf", "png", "svg"]
    assert written["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written["pdf"].read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in written["svg"].read_bytes()[:500]


def test_same_results_give_the_same_figure_bytes(tmp_path):
    df = synthetic(benchmarks=("b1",))
    colours = plots.strategy_colours(df["strategy"])
    a = plots.save_figure(plots.curves_figure(curves(df, "cost"), colours, xlabel="cost"),
                          tmp_path / "a", "c", formats=("pdf", "svg"))
    b = plots.save_figure(plots.curves_figure(curves(df, "cost"), colours, xlabel="cost"),
                          tmp_path / "b", "c", formats=("pdf", "svg"))
    for fmt in ("pdf", "svg"):
        assert a[fmt].read_bytes() == b[fmt].read_bytes()


def test_cd_diagram_of_demsar_example(tmp_path):
    result = friedman_nemenyi(demsar_wide())
    colours = plots.strategy_colours(result.names)
    fig = plots.cd_figure(result, colours)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "CD = 1.25" in texts
    for name, rank in zip(result.names, result.avg_ranks, strict=True):
        assert any(name in t and f"{rank:.2f}" in t for t in texts), name
    # One clique bar (all four), drawn thick from the best to the worst rank.
    thick = [c for c in fig.axes[0].collections if max(c.get_linewidths()) >= 3]
    assert len(thick) == 1
    seg = thick[0].get_segments()[0]
    assert seg[0][0] < 1.97 and seg[1][0] > 3.14
    path = plots.save_figure(fig, tmp_path, "cd", formats=("png",))["png"]
    import matplotlib.image

    img = matplotlib.image.imread(path)[..., :3]
    for colour in colours.values():
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
        assert np.all(np.abs(img - rgb) < 0.05, axis=-1).sum() > 50, colour


def test_rank_figure_multi_benchmark():
    from tabnas.statistics import anytime_ranks

    df = synthetic(benchmarks=("b1", "b2"))
    r = anytime_ranks(df, "evals")
    last = r[r["x"] == 30].groupby("strategy")["rank"].mean()
    assert last["slow"] == 3.0 and last["good"] + last["twin"] == 3.0
    fig = plots.rank_figure(r, plots.strategy_colours(df["strategy"]), xlabel="evaluations")
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["b1", "b2"]


def test_architectures_found_counts_final_incumbents_and_picks_on_validation():
    rows = pd.DataFrame({
        "benchmark": "b", "strategy": ["s"] * 5 + ["t"],
        "seed": [0, 1, 2, 3, 4, 0],
        "incumbent_arch": ["x", "x", "x", "y", "z", "y"],
        # "y" has the best searched value (validation regret 0.1) though "x" is more frequent;
        # "z" has the best test value, which must not decide.
        "incumbent_value": [90.0, 90.0, 90.0, 93.0, 91.0, 93.0],
        "incumbent_test": [89.0, 89.0, 89.0, 92.0, 95.0, 92.0],
        "regret_value": [3.1, 3.1, 3.1, 0.1, 2.1, 0.1],
    })
    archs = tables.architectures(rows)
    s = archs[archs["strategy"] == "s"]
    assert s["arch"].tolist() == ["x", "y", "z"] and s["seeds"].tolist() == [3, 1, 1]
    assert (s["runs"] == 5).all() and s.loc[s["best"], "arch"].tolist() == ["y"]
    lines = tables.best_lines(archs)
    assert lines == ["b s best: y, validation 93, test 92 (final incumbent of 1 of 5 seeds)",
                     "b t best: y, validation 93, test 92"]
    # With the benchmark's labels the values carry its unit; an unlabelled test value takes
    # the searched value's (the same metric on another split).
    units = plots.value_units({"metric_labels": {"b": {"value": "valid accuracy (%)",
                                                       "test": "test value"}}})
    assert units == {"b": (" %", " %")}
    assert tables.best_lines(archs, units)[1] == "b t best: y, validation 93 %, test 92 %"
    assert plots.value_units({"metric_labels": {"b": {"value": "valid_perf (fraction)",
                                                      "test": "perf"}}}) == {
        "b": (" (fraction)", " (fraction)")}
    assert plots.value_units({"metric_labels": {"b": {"value": "MAE", "test": "test MAE"}}}) \
        == {"b": (" (MAE)", " (test MAE)")}
    assert len(tables.architectures(rows, top=1)) == 3  # x (most frequent) + y (best) + t's y


def test_summary_text_is_plain_and_marks_in_words():
    final = tables.final_results(synthetic(benchmarks=("b1",)))
    text = tables.summary_text(final)
    assert "<u>" not in text and "**" not in text and "|" not in text
    marks = {line.split()[1]: line.split()[-1] for line in text.splitlines()[2:]}
    assert marks["slow"] not in ("best", "tied") and {marks["good"], marks["twin"]} == {
        "best", "tied"}
    md = tables.summary_markdown(final)
    assert md.count("**") == 2 and md.count("<u>") == 1


def test_unequal_seeds_summaries_use_all_seeds_and_marks_the_common_ones():
    df = synthetic(benchmarks=("b1",), seeds=12)
    df = df[~((df["strategy"] == "slow") & (df["seed"] >= 8))]
    final = tables.final_results(df).set_index("strategy")
    assert final.loc["slow", "runs"] == 8 and final.loc["good", "runs"] == 12
    assert final.loc["slow", "mark"] == "" and {final.loc["good", "mark"],
                                                 final.loc["twin", "mark"]} == {"best", "tied"}


def test_pvalue_heatmap_matrix_and_figure():
    from tabnas.pvalue_figure import pvalue_heatmap, pvalue_matrix
    from tabnas.significance import pairwise_wilcoxon

    pairs = pairwise_wilcoxon(demsar_wide().iloc[:, :3] * 0 + np.arange(3) + np.linspace(
        0, 0.5, 14)[:, None] * np.array([1.0, -1.0, 0.3]))
    names = ["C4.5", "C4.5+m", "C4.5+cf"]
    p, sign = pvalue_matrix(pairs, names)
    assert np.isnan(np.diag(p)).all() and np.allclose(p, p.T, equal_nan=True)
    for r in pairs.itertuples():
        i, j = names.index(r.a), names.index(r.b)
        assert p[i, j] == r.p_holm
        assert sign[i, j] == (0 if not r.significant else -1 if r.better == r.a else 1)
    assert (sign != 0).any()
    fig = pvalue_heatmap({"b1": pairs, "b2": pairs}, alpha=0.05)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3  # two panels, one colour bar
