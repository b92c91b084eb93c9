"""The NAS-Bench-201 protocol reproduction script, small, on the shipped table."""

import json
import os
import subprocess
import sys

import pandas as pd

from harness.benchmarks import BENCHMARKS
from harness.errors import UserError
from harness.strategy import STRATEGIES
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


def test_unknown_benchmark_is_one_line(tmp_path):
    proc = run_script("--benchmark", "nope", "--results-dir", str(tmp_path / "r"),
                      cwd=tmp_path, env={"TABNAS_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "valid names" in proc.stderr
