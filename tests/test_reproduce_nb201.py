"""The NAS-Bench-201 protocol reproduction script, small: on the shipped table and on the official format."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tabnas.benchmarks import BENCHMARKS
from tabnas.errors import UserError
from tabnas.strategy import STRATEGIES
from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "reproduce_nb201_protocol.py"
PUBLISHED = REPO / "results" / "published" / "nb201_table5.json"


def run_script(*args, cwd, env):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=600)


def test_published_numbers_carry_their_citation():
    pub = json.loads(PUBLISHED.read_text())
    assert "NAS-Bench-201" in pub["citation"] and "Table 5" in pub["table"]
    assert pub["results"]["random"] == {"mean": 93.70, "std": 0.36}
    assert set(pub["results"]) == {"random", "rea", "reinforce", "bohb"}
    assert pub["protocol"]["time_budget_seconds"] == 12000 and pub["optimum"] == 94.37


def test_small_reproduction_end_to_end(tmp_path):
    env = {"TABNAS_CACHE": str(tmp_path / "cache")}
    proc = run_script("--runs", "4", "--evals-equivalent", "15", "--results-dir",
                      str(tmp_path / "results"), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    registered = set(STRATEGIES.names())
    for s in ("random", "rea", "reinforce", "bohb"):
        note = f"note: strategy {s!r} is not registered in this installation; skipped"
        assert (note in proc.stdout) == (s not in registered), s
    exp = tmp_path / "results" / "nb201-protocol-nb201-analog"
    manifest = json.loads((exp / "manifest.json").read_text())
    assert manifest["config"]["budget"]["evals"] is None
    assert manifest["config"]["budget"]["cost"] > 0
    if "rea" in registered:
        assert manifest["config"]["hyperparameters"]["rea"] == {"population": 10, "sample": 3}
    table = pd.read_csv(exp / "published_comparison.csv")
    assert table["strategy"].tolist() == ["random", "rea", "reinforce", "bohb"]
    ran = table[table["runs"] > 0]
    bench = BENCHMARKS.get("nb201-analog").load()
    applicable = set()
    for s in registered & {"random", "rea", "reinforce", "bohb"}:
        try:
            STRATEGIES.get(s).check_supported(bench.space, bench.fidelities)
            applicable.add(s)
        except UserError:
            assert f"note: strategy {s!r} cannot run on nb201-analog" in proc.stdout
    assert set(ran["strategy"]) == applicable
    assert ((ran["reproduced mean"] > 80) & (ran["reproduced mean"] <= 94.07)).all()
    page = (exp / "report.html").read_text()
    assert "Comparison with the published numbers" in page and "93.70 ± 0.36" in page
    # A second run finds every run on disk and only rebuilds the report.
    again = run_script("--runs", "4", "--evals-equivalent", "15", "--results-dir",
                       str(tmp_path / "results"), cwd=tmp_path, env=env)
    assert again.returncode == 0 and "0 runs done" in again.stdout


def test_paper_protocol_on_official_format_fixture(tmp_path):
    """nb201/*: search the 12-epoch schedule on 12,000 s, report the 200-epoch test accuracy."""
    import numpy as np

    from tabnas.benchmarks import load_benchmark
    from tabnas.results import load_results
    from tests.official_fixtures import build_nb201_searchable

    data = str(build_nb201_searchable(tmp_path / "NAS-Bench-201-v1_1-096897.pth", cells=400))
    env = {"TABNAS_CACHE": str(tmp_path / "cache"), "TABNAS_NB201": ""}
    proc = run_script("--benchmark", "nb201/cifar10-valid", "--data", data, "--runs", "3",
                      "--results-dir", str(tmp_path / "results"), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "budget 12000 (seconds" in proc.stdout
    assert "reported: test accuracy (%): cifar10-valid ori-test, final epoch of the " \
           "200-epoch schedule" in proc.stdout
    exp = tmp_path / "results" / "nb201-protocol-nb201-cifar10-valid"
    config = json.loads((exp / "manifest.json").read_text())["config"]
    assert config["budget"]["cost"] == 12000
    assert config["benchmark_options"] == {"schedule": 12, "report_schedule": 200}
    strategies = ["random", "rea", "reinforce", "bohb"]
    assert set(strategies) <= set(STRATEGIES.names())
    table = pd.read_csv(exp / "published_comparison.csv")
    assert table["runs"].tolist() == [3, 3, 3, 3]  # BOHB runs on fidelities 1..12
    df = load_results(exp)
    assert set(df["strategy"]) == set(strategies)
    bohb = df[df["strategy"] == "bohb"]["fidelity"].dropna()
    assert bohb.min() >= 1 and bohb.max() == 12 and bohb.nunique() > 1
    assert df[df["strategy"] != "bohb"]["fidelity"].isna().all()
    assert df.groupby(["strategy", "seed"])["cum_cost"].max().le(12000).all()
    bench = load_benchmark("nb201/cifar10-valid", data=data, schedule=12,
                           report_schedule=200)
    twelve = load_benchmark("nb201/cifar10-valid", data=data, schedule=12)
    optimum = bench.optimum().test_value
    assert optimum > twelve.optimum().test_value
    final = df.sort_values("step").groupby(["strategy", "seed"]).tail(1)
    assert final["incumbent_arch"].notna().all()
    for row in final.itertuples():
        arch = bench.space.from_string(row.incumbent_arch)
        assert row.incumbent_test == bench.truth(arch)[1]  # 200-epoch seed mean
        assert row.regret_test == pytest.approx(optimum - row.incumbent_test)
    assert (df["regret_test"].dropna() >= 0).all()
    assert np.allclose(table["reproduced gap to optimum"],
                       optimum - table["reproduced mean"], atol=0.011)


def test_unknown_benchmark_is_one_line(tmp_path):
    proc = run_script("--benchmark", "nope", "--results-dir", str(tmp_path / "r"),
                      cwd=tmp_path, env={"TABNAS_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "valid names" in proc.stderr


def test_protocol_on_a_user_table_with_fewer_runs_for_expensive_strategies(analog, tmp_path):
    from tests.test_table_spaces import _export

    folder = _export(analog, tmp_path / "my nb201", extra_spec='space = "nb201"\n')
    env = {"TABNAS_CACHE": str(tmp_path / "cache")}
    proc = run_script("--benchmark", "table:my nb201", "--strategy", "random,rea,local-search",
                      "--runs", "4", "--expensive-runs", "2", "--evals-equivalent", "10",
                      "--results-dir", str(tmp_path / "results"), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    exp = tmp_path / "results" / "nb201-protocol-table-my-nb201"  # a valid folder name
    table = pd.read_csv(exp / "published_comparison.csv").set_index("strategy")
    assert table.loc["random", "runs"] == 4 and table.loc["rea", "runs"] == 4
    assert table.loc["local-search", "runs"] == 2
    assert pd.isna(table.loc["local-search", "published mean"])
    assert table.loc["rea", "published mean"] == 93.92
    assert "table:my nb201" in proc.stdout and (exp / "report.html").exists()
    assert folder.is_dir()


def test_hp_for_a_strategy_not_in_the_run_is_a_warning(tmp_path):
    from tests.conftest import run_cli

    proc = run_cli("run", "--strategy", "random", "--hp", "rea.population=10", "--seeds", "1",
                   "--budget-evals", "3", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning: --hp rea.population=10: strategy 'rea' is not in this run" in proc.stderr
