"""Multi-objective runs end to end: records against an independent recomputation, the CLI's
bad-input lines, and the report's multi-objective section."""

from __future__ import annotations

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.mo_records import FRONT_SEPARATOR
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES
from tests.conftest import run_cli


def _hv_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by minimisation points up to ``ref``, by a sweep written here."""
    pts = sorted(p for p in points.tolist() if p[0] < ref[0] and p[1] < ref[1])
    area, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return area


def _nondominated_rows(points: np.ndarray) -> list[int]:
    keep = []
    for i, p in enumerate(points):
        if np.isnan(p).any():
            continue
        dom = np.all(points <= p, axis=1) & np.any(points < p, axis=1)
        earlier_equal = [j for j in keep if np.array_equal(points[j], p)]
        if not dom.any() and not earlier_equal:
            keep.append(i)
    return keep


@pytest.fixture(scope="module")
def cora():
    return load_benchmark("nbgraph-cora:acc-latency")


@pytest.mark.parametrize("strategy", ["random", "mo-rea"])
def test_records_match_an_independent_recomputation(cora, strategy):
    rec = run_search(cora, STRATEGIES.get(strategy), 3, Budget(evals=60))
    cols = rec.columns
    space = cora.space
    cells = [space.index(space.from_string(a)) for a in cols["arch"]]
    base = cora.base
    valid = np.array([base.truth(space.arch_at(c))[0] for c in cells])
    latency = base.extra_arrays["latency"][cells]
    assert np.array_equal(np.array(cols["objective_values"]),
                          np.column_stack([np.array(cols["value"]), latency]))
    assert np.array_equal(np.array(cols["objective_tests"]),
                          np.column_stack([np.array(cols["test_value"]), latency]))
    assert np.array_equal(np.array(cols["value"]), valid)  # one seed: searched = its truth
    searched = cora.normalise(np.array(cols["objective_values"]))
    reported = cora.normalise(cora.reported_truth[cells])
    ref = cora.reference_normalised
    true_front = cora.normalise(cora.reported_truth[cora.fronts["test"].cells])
    true_hv = _hv_2d(true_front, ref)
    pareto = set(cora.fronts["test"].cells.tolist())
    for step in (1, 10, 30, 60):
        rows = _nondominated_rows(searched[:step])
        front_archs = {cols["arch"][i] for i in rows}
        assert set(cols["incumbent_arch"][step - 1].split(FRONT_SEPARATOR)) == front_archs
        hv = _hv_2d(reported[rows], ref)
        assert cols["hypervolume"][step - 1] == pytest.approx(hv, abs=1e-12)
        assert cols["regret_test"][step - 1] == pytest.approx(true_hv - hv, abs=1e-12)
        assert cols["regret_test"][step - 1] >= 0
        assert cols["pareto_found"][step - 1] == len(pareto & set(cells[:step]))
        assert cols["front_size"][step - 1] == len(rows)
    assert all(v != v for v in cols["incumbent_test"])  # a front has no single value


def test_mo_rea_beats_random_on_hypervolume_regret(cora):
    """The search uses what it is told: over 8 paired seeds MO-REA ends below random."""
    def final(strategy, seed):
        return run_search(cora, STRATEGIES.get(strategy), seed,
                          Budget(evals=150)).columns["regret_test"][-1]

    diffs = [final("random", s) - final("mo-rea", s) for s in range(8)]
    assert np.mean(diffs) > 0 and sum(d > 0 for d in diffs) >= 6


def _one_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "words"), [
    (["--benchmark", "nbgraph-cora", "--objective", "accuracy,speed"],
     ["unknown objective 'speed'", "accuracy, latency, params"]),
    (["--benchmark", "nbgraph-cora", "--strategy", "mo-rea"],
     ["'mo-rea' is multi-objective", "single objective"]),
    (["--benchmark", "nbgraph-cora:acc-latency", "--option", "reference=0.99,0.0001"],
     ["reference point 0.99,0.0001", "not dominated by any point"]),
    (["--benchmark", "nbgraph-cora:acc-latency", "--strategy", "rea"],
     ["'rea' optimises one objective"]),
    (["--benchmark", "nbgraph-cora:accuracy"], ["names one objective"]),
])
def test_bad_multi_objective_input_is_one_line(tmp_path, args, words):
    proc = run_cli("run", *args, "--seeds", "1", "--budget-evals", "5", "--results-dir",
                   str(tmp_path / "res"), cwd=tmp_path)
    line = _one_line(proc)
    for w in words:
        assert w in line
    assert not (tmp_path / "res").exists() or not any((tmp_path / "res").rglob("*.parquet"))


def test_run_stats_and_report_on_presets(tmp_path):
    res = str(tmp_path / "res")
    proc = run_cli("run", "--benchmark", "nbgraph-cora,nb201-analog:baseline-analog",
                   "--objective", "accuracy,latency", "--strategy", "random,mo-rea",
                   "--seeds", "3", "--budget-evals", "30", "--results-dir", res,
                   "--experiment", "mo", cwd=tmp_path)
    assert proc.returncode == 2 and "nb201-analog:baseline-analog both name" in proc.stderr
    proc = run_cli("run", "--benchmark", "nbgraph-cora:acc-latency,nb201-analog:baseline-analog",
                   "--strategy", "random,mo-rea", "--seeds", "3", "--budget-evals", "30",
                   "--results-dir", res, "--experiment", "mo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "regret is the hypervolume regret" in proc.stdout
    assert (tmp_path / "res" / "mo" / "figures" / "mo_fronts.pdf").stat().st_size > 0
    _check_best_front_lines(proc.stdout, tmp_path / "res" / "mo" / "architectures.csv")
    proc = run_cli("report", "mo", "--results-dir", res, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    exp = tmp_path / "res" / "mo"
    tex = (exp / "tables" / "multi_objective.tex").read_text()
    assert r"\toprule" in tex and "mo-rea" in tex and "nbgraph-cora:acc-latency" in tex
    md = (exp / "tables" / "multi_objective.md").read_text()
    assert len(md.strip().splitlines()) == 2 + 4  # header, rule, 2 benchmarks x 2 strategies
    for stem in ("mo_fronts", "mo_hv_regret_evals", "mo_attainment_nbgraph_cora_acc_latency"):
        assert (exp / "figures" / f"{stem}.png").stat().st_size > 0
    page = (exp / "report.html").read_text()
    assert "Multi-objective indicators" in page and "hypervolume regret" in page
    # The generic figures' captions name the metric they show: the hypervolume regret.
    assert "Test hypervolume regret of the incumbent front (chosen on the searched" in page
    assert "Empirical CDF over seeds of the test hypervolume regret" in page
    import re

    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    assert captions and not [c for c in captions if re.search("(?i)test regret", c)]
    assert "highest accuracy: " in page and "the whole front in architectures.csv" in page


def _check_best_front_lines(stdout: str, archs_csv) -> None:
    """Each best line of a multi-objective run: the front's size and its extreme points
    (checked against the table's seed-mean values), never the whole front."""
    import pandas as pd

    lines = [ln for ln in stdout.splitlines() if " best front: " in ln]
    assert len(lines) == 4, stdout  # 2 benchmarks x 2 strategies
    archs = pd.read_csv(archs_csv)
    best = archs[archs["best"]]
    bench = load_benchmark("nbgraph-cora:acc-latency")
    space = bench.space
    for line in lines:
        name, strategy = line.split(" ")[:2]
        assert FRONT_SEPARATOR not in line and line.endswith("the whole front in "
                                                             "architectures.csv"), line
        front = best[(best["benchmark"] == name) & (best["strategy"] == strategy)]["arch"]
        members = front.iloc[0].split(FRONT_SEPARATOR)
        assert f" best front: {len(members)} architecture" in line
        if name != bench.name:
            continue
        cells = [space.index(space.from_string(a)) for a in members]
        top = members[int(np.argmax(bench.searched_truth[cells, 0]))]  # accuracy: maximised
        fast = members[int(np.argmin(bench.searched_truth[cells, 1]))]  # latency: minimised
        assert f"; highest accuracy: {top} (accuracy " in line, line
        assert f"; lowest latency: {fast} (latency " in line, line


def test_regret_is_named_by_the_kind_of_benchmark():
    from tabnas.plots import regret_name

    assert regret_name(["nb201-analog"]) == "test regret"
    assert regret_name(["toy:score-size"], "regret_value") == "validation hypervolume regret"
    assert regret_name(["toy", "toy:score-size"]) == ("test regret (hypervolume regret on "
                                                       "toy:score-size)")


def test_objective_flag_builds_the_multi_objective_name(tmp_path):
    proc = run_cli("info", "nbgraph-cora", "--objective", "accuracy,params", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "nbgraph-cora:accuracy+params" in proc.stdout
    assert "reference point: accuracy=" in proc.stdout
    # One name keeps its old meaning: nb201-analog's searched metric.
    proc = run_cli("info", "nb201-analog", "--objective", "analog_accuracy", cwd=tmp_path)
    assert proc.returncode == 0 and "analog_accuracy (CIFAR-10" in proc.stdout


def test_mo_rea_selection_ranks_and_crowding_by_hand():
    from tabnas.strategies.mo_rea import crowding_distance, nondominated_ranks

    points = np.array([[0.0, 3.0], [1.0, 1.0], [3.0, 0.0], [2.0, 3.0], [np.nan, 0.0]])
    ranks = nondominated_ranks(points)
    assert ranks[:4].tolist() == [0, 0, 0, 1] and ranks[4] > 1  # a failed training: last
    # (1, 1) between (0, 3) and (3, 0): (3 - 0) / 3 on each objective
    crowd = crowding_distance(np.nan_to_num(points[:4]), ranks[:4])
    assert crowd.tolist() == [np.inf, 2.0, np.inf, np.inf]


def test_same_records_in_process_and_on_worker_processes(tmp_path):
    from tabnas.records import HOST_TIME_COLUMNS
    from tabnas.results import load_results

    res = tmp_path / "res"
    frames = []
    for exp, workers in (("one", "1"), ("two", "2")):
        proc = run_cli("run", "--benchmark", "nbgraph-cora:acc-latency", "--strategy",
                       "mo-rea,random", "--seeds", "2", "--budget-evals", "40", "--workers",
                       workers, "--no-report", "--results-dir", str(res), "--experiment", exp,
                       cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        df = load_results(res / exp).drop(columns=[*HOST_TIME_COLUMNS, "experiment"])
        frames.append(df.sort_values(["strategy", "seed", "step"]).reset_index(drop=True))
    assert frames[0]["objective_values"].map(len).eq(2).all()
    assert frames[0].astype(str).equals(frames[1].astype(str))
