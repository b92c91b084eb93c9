"""Camera-ready checks of the figures: log floors, layout, fonts, sizes, the one-seed case."""

import itertools
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tabnas import figure_layout, plots  # noqa: E402
from tabnas.errors import UserError  # noqa: E402
from tabnas.significance import friedman_nemenyi  # noqa: E402
from tabnas.statistics import anytime_ranks, curves, values_at  # noqa: E402
from tests.conftest import run_cli  # noqa: E402

LONG_COST = {  # cost labels as long as the shipped benchmarks' own
    "b1": "latency: seconds of inference (measured by NAS-Bench-Graph; no training time is "
          "recorded)",
    "b2": "MFLOPs (modelled, not measured time)",
    "b3": "training time in seconds of the 12-epoch schedule, as recorded by the table",
}


def runs_reaching_zero(benchmarks=("b1", "b2", "b3"), seeds=6, steps=40):
    """Results-format rows where all seeds but one find the optimum (regret 0) a third of
    the way in, so mean - s.e. (to rounding: the issue's 1e-18) and the lower quartile
    reach 0 while the mean stays positive."""
    rng = np.random.default_rng(1)
    rows = []
    for b_i, bench in enumerate(benchmarks):
        scale = 10.0 ** (1 - 2 * b_i)  # different units per benchmark: 10, 0.1, 0.001
        for seed in range(seeds):
            for strat, rate in (("fast", 0.25), ("slow", 0.05)):
                reg = scale * rng.uniform(0.5, 1.0) * np.exp(-rate * np.arange(steps))
                if seed < seeds - 1:
                    reg[steps // 3:] = 0.0  # this seed found the optimum
                costs = np.cumsum(rng.uniform(1, 3, steps)) * (b_i + 1)
                for step in range(steps):
                    rows.append({"benchmark": bench, "strategy": strat, "seed": seed,
                                 "step": step + 1, "cum_cost": costs[step],
                                 "regret_test": reg[step], "regret_value": reg[step] * 0.8})
    return pd.DataFrame(rows)


def drawn_texts(fig):
    """Every non-empty text the renderer drew: tick labels inside the view, axis labels,
    titles, legend entries, figure-wide labels."""
    fig.canvas.draw()
    texts = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis) if ax.axison else ():
            lo, hi = sorted(axis.get_view_interval())
            for locs, get in ((axis.get_majorticklocs(), axis.get_major_ticks),
                              (axis.get_minorticklocs(), axis.get_minor_ticks)):
                for loc, tick in zip(locs, get(len(locs)), strict=True):
                    inside = lo - 1e-9 * abs(lo) <= loc <= hi + 1e-9 * abs(hi)
                    if inside and tick.label1.get_visible() and tick.label1.get_text():
                        texts.append(tick.label1)
            if axis.label.get_text():
                texts.append(axis.label)
        texts += [t for t in (ax.title, ax._left_title, ax._right_title) if t.get_text()]
        texts += [t for t in ax.texts if t.get_text()]
    for legend in fig.legends:
        texts += [t for t in legend.get_texts() if t.get_text()]
        if legend.get_title().get_text():
            texts.append(legend.get_title())
    for name in ("_suptitle", "_supxlabel", "_supylabel"):
        t = getattr(fig, name, None)
        if t is not None and t.get_text():
            texts.append(t)
    return texts


def assert_no_overlap(fig):
    renderer = fig.canvas.get_renderer()
    texts = drawn_texts(fig)
    assert len(texts) > 8
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, \
            f"{text!r} runs off the figure: {box}"
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
        overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{ta!r} overlaps {tb!r}"


def band_vertices(ax):
    """Display coordinates of every vertex of the axes' filled bands."""
    out = []
    for coll in ax.collections:
        if type(coll).__name__ in ("PolyCollection", "FillBetweenPolyCollection"):
            for path in coll.get_paths():
                out.append(ax.transData.transform(path.vertices))
    return out


@pytest.mark.parametrize("band", ["se", "iqr"])
def test_log_bands_stay_on_the_floor_with_no_wedges(band):
    df = runs_reaching_zero()
    cv = curves(df, "evals")
    fig = plots.curves_figure(cv, plots.strategy_colours(df["strategy"]), xlabel="evaluations",
                              band=band)
    for ax in (a for a in fig.axes if a.get_visible()):
        cb = cv[cv["benchmark"] == ax.get_title()]
        centre = cb["mean" if band == "se" else "median"].to_numpy(float)
        low = (cb["mean"] - cb["se"] if band == "se" else cb["q25"]).to_numpy(float)
        high = (cb["mean"] + cb["se"] if band == "se" else cb["q75"]).to_numpy(float)
        assert (low <= 0).any() and (centre > 0).any()  # the case the floor is for
        lowest = centre[centre > 0].min()
        labels = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
        floor = labels["0"]  # zero stays visible, on the floor marked 0
        bottom, top = ax.get_ylim()
        # The limits are the data's range after the floor: a little below the floor (not
        # 1e-18), at most two decades (and a rounding step) below the lowest curve, and a
        # little above the highest band edge.
        assert lowest / 100 / 3 < floor <= lowest / 1.5
        pad = 10 ** (0.05 * np.log10(high.max() / floor))
        assert floor / pad < bottom < floor
        assert high.max() < top < high.max() * pad
        assert ((low >= floor) | (low < lowest / 60)).all()  # only edges near 0 are clipped
        verts = band_vertices(ax)
        assert verts
        y_floor = ax.transData.transform((1.0, floor))[1]
        for v in verts:
            assert np.isfinite(v).all()
            assert (v[:, 1] >= y_floor - 0.01).all()  # nothing below the floor
            # A step band has only horizontal and vertical edges; a masked point on a
            # log axis would join its neighbours by a diagonal (the wedge).
            d = np.abs(np.diff(v, axis=0))
            assert ((d[:, 0] < 1e-6) | (d[:, 1] < 1e-6)).all()


def test_one_seed_draws_a_visible_curve_including_zero(tmp_path):
    steps = 20
    reg = np.r_[np.geomspace(3.0, 0.4, 8), np.zeros(steps - 8)]  # the optimum at step 9
    df = pd.DataFrame({"benchmark": "b1", "strategy": "only", "seed": 0,
                       "step": np.arange(1, steps + 1), "cum_cost": np.arange(1, steps + 1.0),
                       "regret_test": reg})
    colours = plots.strategy_colours(df["strategy"])
    fig = plots.curves_figure(curves(df, "evals"), colours, xlabel="evaluations")
    ax = fig.axes[0]
    fig.canvas.draw()
    (line,) = ax.get_lines()
    xy = ax.transData.transform(line.get_xydata())
    assert np.isfinite(xy).all()
    box = ax.bbox
    assert (xy[:, 1] >= box.y0).all() and (xy[:, 1] <= box.y1).all()
    zero_y = xy[-1, 1]
    assert zero_y > box.y0  # the zero part sits above the bottom spine, on the floor line
    assert [t.get_text() for t in ax.get_yticklabels() if t.get_text()][0] == "0"
    png = plots.save_figure(fig, tmp_path, "one", formats=("png",))["png"]
    img = matplotlib.image.imread(png)[..., :3]
    rgb = np.array([int(colours["only"][i:i + 2], 16) for i in (1, 3, 5)]) / 255
    assert np.all(np.abs(img - rgb) < 0.05, axis=-1).sum() > 200


def test_a_run_that_starts_at_the_optimum_is_still_drawn():
    df = pd.DataFrame({"benchmark": "b1", "strategy": "only", "seed": 0, "step": [1, 2, 3],
                       "cum_cost": [1.0, 2.0, 3.0], "regret_test": 0.0})
    fig = plots.curves_figure(curves(df, "evals"), plots.strategy_colours(["only"]),
                              xlabel="evaluations")
    ax = fig.axes[0]
    fig.canvas.draw()
    xy = ax.transData.transform(ax.get_lines()[0].get_xydata())
    assert np.isfinite(xy).all() and (xy[:, 1] > ax.bbox.y0).all()
    assert "all 0" in ax.get_ylabel()  # the fallback to a linear axis is said


@pytest.mark.parametrize("style", ["default", "single", "double"])
def test_no_two_labels_overlap(style):
    df = runs_reaching_zero()
    colours = plots.strategy_colours(df["strategy"])
    units = {"b1": "accuracy points", "b2": "fraction", "b3": "units of toy test score"}
    figs = plots.regret_figures(df, colours, LONG_COST, units=units, style=style)
    assert set(figs) == {"regret_evals", "regret_cost"}
    figs["pooled"] = plots.pooled_figure(plots.normalised_curves(df), colours, style=style)
    figs["value_test"] = plots.value_test_figure(
        curves(df, "cost", metric="regret_value"), curves(df, "cost"), colours,
        xlabel={b: f"cumulative cost: {c}" for b, c in LONG_COST.items()}, style=style)
    figs["rank"] = plots.rank_figure(anytime_ranks(df, "evals"), colours,
                                     xlabel="evaluations", style=style)
    figs["ecdf"] = plots.ecdf_figure(values_at(df), colours, units=units, style=style)
    # The critical-difference diagram follows the styles too: a column's width in paper.
    eight = ["random", "rea", "local-search", "reinforce", "tpe", "smac", "bo", "bananas"]
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 8)) + np.linspace(0, 1, 8),
                        columns=eight)
    figs["cd"] = plots.cd_figure(friedman_nemenyi(wide), plots.strategy_colours(eight),
                                 title="test regret at the end of each run", style=style)
    width = figure_layout.STYLES[style].width
    if width is not None:
        assert figs["cd"].get_figwidth() == pytest.approx(width)
        assert figs["cd"].dpi == figure_layout.STYLES[style].dpi
    for name, fig in figs.items():
        try:
            assert_no_overlap(fig)
        except AssertionError as e:
            raise AssertionError(f"{name} ({style}): {e}") from None
        finally:
            plt.close(fig)


def test_regret_carries_its_unit():
    assert plots.regret_unit("CIFAR-10 test accuracy (%) of the same run") == "accuracy points"
    assert plots.regret_unit("perf (test accuracy, fraction)") == "fraction"
    assert plots.regret_unit("toy test score") == "units of toy test score"
    assert plots.regret_unit(None) == "the table's units"
    df = runs_reaching_zero(benchmarks=("b1", "b2"))
    figs = plots.regret_figures(df, plots.strategy_colours(df["strategy"]),
                                units={"b1": "accuracy points", "b2": "fraction"})
    ylabels = [ax.get_ylabel().replace("\n", " ") for ax in figs["regret_evals"].axes
               if ax.get_visible()]
    assert ylabels == ["test regret (accuracy points)", "test regret (fraction)"]
    ecdf = plots.ecdf_figure(values_at(df), plots.strategy_colours(df["strategy"]),
                             units={"b1": "accuracy points", "b2": "fraction"})
    assert [ax.get_xlabel().replace("\n", " ") for ax in ecdf.axes if ax.get_visible()] == [
        "final test regret (accuracy points)", "final test regret (fraction)"]


def test_pdf_embeds_truetype_fonts_set_only_while_saving(tmp_path):
    before = dict(matplotlib.rcParams)
    df = runs_reaching_zero(benchmarks=("b1",))
    fig = plots.curves_figure(curves(df, "evals"), plots.strategy_colours(df["strategy"]),
                              xlabel="evaluations ± s.e.", style="single")
    pdf = plots.save_figure(fig, tmp_path, "fonts", formats=("pdf",))["pdf"]
    data = pdf.read_bytes()
    assert b"/Type3" not in data and b"/FontType 3" not in data
    assert b"/CIDFontType2" in data or b"/TrueType" in data  # Type 42: embedded TrueType
    if shutil.which("pdffonts"):  # poppler's own reading of the same file
        listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                                 check=True).stdout
        kinds = [line for line in listing.splitlines()[2:] if line.strip()]
        assert kinds and all("TrueType" in line for line in kinds), listing
        assert "Type 3" not in listing
    assert matplotlib.rcParams["pdf.fonttype"] == before["pdf.fonttype"]
    assert matplotlib.rcParams["font.size"] == before["font.size"]


@pytest.mark.parametrize(("style", "width"), [("single", 3.5), ("double", 7.16)])
def test_paper_styles_have_column_widths(style, width, tmp_path):
    df = runs_reaching_zero()
    colours = plots.strategy_colours(df["strategy"])
    fig = plots.curves_figure(curves(df, "evals"), colours, xlabel="evaluations", style=style)
    assert fig.get_figwidth() == pytest.approx(width)
    png = plots.save_figure(fig, tmp_path, style, formats=("png",))["png"]
    assert matplotlib.image.imread(png).shape[1] == round(width * figure_layout.STYLES[style].dpi)
    with pytest.raises(UserError, match="unknown figure style 'poster'"):
        figure_layout.get_style("poster")


def test_pooled_figure_normalises_and_ranks_over_benchmarks():
    df = runs_reaching_zero()
    norm = plots.normalised_curves(df)
    assert norm["mean"].max() <= 1.0 and norm["mean"].min() >= 0.0
    fig = plots.pooled_figure(norm, plots.strategy_colours(df["strategy"]))
    regret_ax, rank_ax = fig.axes
    assert regret_ax.get_title() == "pooled over 3 benchmarks"
    ranks = {ln.get_color(): ln.get_ydata() for ln in rank_ax.get_lines()}
    colours = plots.strategy_colours(["fast", "slow"])
    # 'fast' converges faster on every benchmark: rank 1 once it has pulled ahead.
    assert ranks[colours["fast"]][-1] == 1.0 and ranks[colours["slow"]][-1] == 2.0
    # Each benchmark counts once, whatever its units (10 vs 0.001): the pooled mean at the
    # first evaluation is the mean of the three benchmarks' normalised seed means.
    first = norm[norm["x"] == 1.0]
    fast_first = first[first["strategy"] == "fast"]["mean"].mean()
    (fast_line,) = [ln for ln in regret_ax.get_lines() if ln.get_color() == colours["fast"]]
    assert fast_line.get_ydata()[0] == pytest.approx(max(fast_first, 0))


@pytest.fixture(scope="module")
def two_benchmark_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("plotcli")
    proc = run_cli("run", "--benchmark", "nbgraph-cora,nb201-analog", "--strategy",
                   "random,rea,local-search", "--seeds", "3", "--budget-evals", "25",
                   "--experiment", "figs", "--no-report", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd


def test_plot_command_options(two_benchmark_run):
    cwd = two_benchmark_run
    out = cwd / "paper"
    proc = run_cli("plot", "figs", "--metric", "both", "--strategy", "rea,random", "--x", "evals",
                   "--style", "double", "--format", "pdf,svg", "-o", str(out), cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["pooled_evals.pdf", "pooled_evals.svg", "value_pooled_evals.pdf",
                       "value_pooled_evals.svg", "value_test_evals.pdf",
                       "value_test_evals.svg"]
    assert b"/Type3" not in (out / "value_test_evals.pdf").read_bytes()
    proc = run_cli("plot", "figs", "--benchmark", "nbgraph-cora", "--scale", "linear",
                   "--band", "iqr", "--format", "png", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    figures = cwd / "results" / "figs" / "figures"
    assert (figures / "regret_evals.png").exists() and (figures / "regret_cost.png").exists()
    assert not (figures / "pooled_evals.png").exists()  # one benchmark: nothing to pool
    for args, needle in ((("--strategy", "bananas"), "strategy(ies) bananas not in this "
                                                      "experiment; choose from local-search"),
                         (("--x", "time"), "expected a comma-separated subset of evals,cost"),
                         (("--format", "jpg"), "subset of png,pdf,svg")):
        proc = run_cli("plot", "figs", *args, cwd=cwd)
        assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr


def test_units_come_from_the_benchmarks_labels(two_benchmark_run):
    import json

    from tabnas.results import load_experiment

    exp = two_benchmark_run / "results" / "figs"
    manifest = json.loads((exp / "manifest.json").read_text())
    assert manifest["metric_labels"]["nbgraph-cora"]["test"] == "perf (test accuracy, fraction)"
    assert plots.regret_units(manifest) == {"nb201-analog": "accuracy points",
                                            "nbgraph-cora": "fraction"}
    df, manifest = load_experiment(exp)
    figs, notes = plots.experiment_figures(df, manifest, axes=("evals",))
    assert notes == [] and set(figs) == {"regret_evals", "pooled_evals"}
    ylabels = [ax.get_ylabel().replace("\n", " ") for ax in figs["regret_evals"].axes]
    assert ylabels == ["test regret (accuracy points)", "test regret (fraction)"]
    for fig in figs.values():
        assert_no_overlap(fig)


def test_validation_beside_test_share_the_y_axis_and_linear_bands_stop_at_zero():
    df = runs_reaching_zero(benchmarks=("b1", "b2"))
    colours = plots.strategy_colours(df["strategy"])
    fig = plots.value_test_figure(curves(df, "evals", metric="regret_value"),
                                  curves(df, "evals"), colours, xlabel="evaluations",
                                  value_units={"b1": "fraction", "b2": "fraction"},
                                  test_units={"b1": "fraction", "b2": "fraction"})
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["b1: validation", "b1: test", "b2: validation",
                                               "b2: test"]
    assert axes[0].get_ylim() == axes[1].get_ylim() and axes[2].get_ylim() == axes[3].get_ylim()
    assert axes[0].get_ylim() != axes[2].get_ylim()  # benchmarks keep their own scales
    assert axes[0].get_ylabel() == "regret (fraction)" and axes[1].get_ylabel() == ""
    lin = plots.curves_figure(curves(df, "evals"), colours, xlabel="evaluations", log_x=False,
                              log_y=False)
    for ax in (a for a in lin.axes if a.get_visible()):
        assert ax.get_yscale() == "linear"
        low = min(v[:, 1].min() for v in band_vertices(ax))
        assert low == pytest.approx(ax.transData.transform((1.0, 0.0))[1])  # clipped at 0
        assert ax.get_ylim()[0] < 0 < ax.get_ylim()[1]
