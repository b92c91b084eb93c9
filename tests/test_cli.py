"""The command line as a user runs it: the default job, every command, and bad input."""

import json
import os
import re

import pandas as pd
import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli")
    env = {"TABNAS_CACHE": str(tmp_path_factory.getbasetemp() / "tabnas-cache")}
    proc = run_cli("run", cwd=cwd, env=env)
    return cwd, proc, env


def test_default_job(default_run):
    cwd, proc, _ = default_run
    assert proc.returncode == 0, proc.stderr
    assert "40 runs done" in proc.stdout
    exp = cwd / "results" / "default"
    for name in ("manifest.json", "stats.csv", "stats.md", "figures/regret_evals.png",
                 "figures/regret_evals.pdf", "figures/regret_cost.png"):
        assert (exp / name).stat().st_size > 0, name
    mask = os.umask(0o022)
    os.umask(mask)
    for path in (exp / "manifest.json", exp / "stats.csv", next((exp / "runs").rglob("*.parquet"))):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path  # as plain open() would
    manifest = json.loads((exp / "manifest.json").read_text())
    assert manifest["config"]["budget"] == {"evals": 200, "cost": None}
    assert manifest["config"]["strategies"] == ["random", "rea"]
    assert manifest["packages"]["analog-nasbench"] == "0.1.3"
    assert len(next(iter(manifest["checksums"].values()))) == 64
    stats = pd.read_csv(exp / "stats.csv")
    assert set(stats["strategy"]) == {"random", "rea"} and (stats["runs"] == 20).all()
    # The marks' test, correction, alpha and blocks, in the CSV and heading stats.md.
    assert list(stats.columns[-5:]) == ["test", "correction", "alpha", "blocks", "note"]
    assert stats["test"].str.contains("Wilcoxon signed-rank").all()
    caption = (exp / "stats.md").read_text().splitlines()[0]
    assert caption.startswith("Table: Test regret at the end of each run") and \
        "Holm over k - 1" in caption and "alpha = 0.05" in caption and "Note:" not in caption
    # A plain table in the terminal: no Markdown or HTML marks; rea has the best mean.
    table = [x for x in proc.stdout.splitlines() if x.startswith("nb201-analog  ")]
    assert len(table) == 2 and "<u>" not in proc.stdout and "**" not in proc.stdout
    assert not any("|" in x for x in table)
    rea = next(line for line in proc.stdout.splitlines() if line.startswith("nb201-analog  rea"))
    assert rea.split()[2] == "20" and rea.endswith("best")
    # The incumbents' test values beside the regret, and the architecture found.
    assert (stats["reported_mean"] > 90).all() and (stats["reported_sd"] > 0).all()
    assert (stats["val_mean"] >= 0).all()
    best = re.search(r"^nb201-analog rea best: (\|\S+\|), validation ([\d.]+) %, test ([\d.]+) "
                     r"% \(final incumbent of (\d+) of 20 seeds\)$", proc.stdout, re.M)
    assert best, proc.stdout
    archs = pd.read_csv(exp / "architectures.csv")
    row = archs[(archs["strategy"] == "rea") & archs["best"]].iloc[0]
    assert row["arch"] == best.group(1) and row["seeds"] == int(best.group(4))
    assert archs.groupby("strategy")["seeds"].sum().le(20).all()


def test_rerun_skips_complete_runs(default_run):
    cwd, _, env = default_run
    before = {p: p.stat().st_mtime_ns for p in (cwd / "results/default/runs").rglob("*.parquet")}
    proc = run_cli("run", "--no-report", cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "0 runs done, 40 already complete" in proc.stdout
    after = {p: p.stat().st_mtime_ns for p in (cwd / "results/default/runs").rglob("*.parquet")}
    assert before == after


def test_export_columns(default_run, tmp_path):
    cwd, _, env = default_run
    out = tmp_path / "rows.csv"
    proc = run_cli("export", "default", "-o", str(out), cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == [
        "experiment", "benchmark", "strategy", "seed", "step", "arch", "fidelity", "value",
        "test_value", "cost", "cum_cost", "incumbent_arch", "incumbent_value", "incumbent_test",
        "regret_value", "regret_test", "overhead_s", "trial", "continues", "stop_reason",
        "objective_values", "objective_tests", "hypervolume", "igd_plus", "pareto_found",
        "front_size",
    ]
    assert df["hypervolume"].isna().all()  # multi-objective columns: empty on one objective
    assert len(df) == 40 * 200
    assert df.groupby(["strategy", "seed"]).size().eq(200).all()
    pq = tmp_path / "rows.parquet"
    assert run_cli("export", "default", "-o", str(pq), cwd=cwd, env=env).returncode == 0
    assert len(pd.read_parquet(pq)) == len(df)


def test_stats_and_plot_commands(default_run):
    cwd, _, env = default_run
    proc = run_cli("stats", "default", cwd=cwd, env=env)
    assert proc.returncode == 0 and "avg rank" in proc.stdout
    assert "p-values exact" in proc.stdout
    proc = run_cli("stats", "default", "--wilcoxon", "asymptotic", "--seeds", "1", cwd=cwd,
                   env=env)
    assert proc.returncode == 0, proc.stderr
    assert "p-values asymptotic" in proc.stdout or "p-values not needed" in proc.stdout
    # One seed: the architecture found, its validation and test value, on one line.
    line = next(x for x in proc.stdout.splitlines() if x.startswith("nb201-analog rea best:"))
    assert re.fullmatch(r"nb201-analog rea best: \|\S+\|, validation [\d.]+ %, test [\d.]+ %",
                        line), line
    # One seed cannot make any difference significant, and the output says why.
    assert ("note: with n = 1 paired seed the smallest possible p of the asymptotic "
            "signed-rank test is 0.317: no difference can be significant at alpha = 0.05"
            in proc.stdout), proc.stdout
    bad = run_cli("stats", "default", "--wilcoxon", "permutation", cwd=cwd, env=env)
    assert bad.returncode == 2 and "use one of auto, exact, asymptotic" in bad.stderr
    (cwd / "results/default/figures/regret_evals.png").unlink()
    assert run_cli("plot", "default", cwd=cwd, env=env).returncode == 0
    assert (cwd / "results/default/figures/regret_evals.png").stat().st_size > 10_000


def test_list_and_info(tmp_path):
    proc = run_cli("list", cwd=tmp_path)
    assert proc.returncode == 0
    assert "nb201-analog" in proc.stdout and "random" in proc.stdout and "rea" in proc.stdout
    proc = run_cli("info", "nb201-analog", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "15625" in proc.stdout and "no validation split" in proc.stdout
    assert "modelled" in proc.stdout and "94.0664" in proc.stdout


def test_help_does_not_import_heavy_libraries(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from tabnas.cli import build_parser; build_parser(); "
            "heavy = [m for m in ('pandas', 'matplotlib', 'pyarrow', 'scipy') if m in sys.modules];"
            "print(heavy); raise SystemExit(bool(heavy))")
    env = dict(os.environ, PYTHONPATH=str(__import__("tests.conftest").conftest.REPO))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout
    assert run_cli("--help", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--benchmark", "nope"], "valid names: "),
        (["run", "--strategy", "random,nope"], "valid names: "),
        (["run", "--budget-evals", "0"], "must be > 0"),
        (["run", "--budget-evals", "-3"], "must be > 0"),
        (["run", "--budget-cost", "0"], "must be a finite number > 0"),
        (["run", "--experiment", "../x"], "not allowed"),
        (["run", "--hp", "rea.population=abc"], "population"),
        (["run", "--hp", "rea.bogus=1"], "bogus"),
        (["run", "--option", "nope=1"], "has no option nope"),
        (["run", "--option", "epochs"], "--option 'epochs': write it as NAME=VALUE"),
        (["run", "--schedule", "12", "--option", "schedule=12"], "given twice"),
        (["info", "nb201-analog", "--option", "data=x"], "with --data"),
        (["run", "--benchmark", "mnist-mlp-shared", "--option", "epochs=0"], "epochs=0"),
        (["info", "nope"], "valid names: "),
        (["info", "mnist-mlp", "--option", "colour=red"], "no option(s) colour"),
        (["prepare", "nb201-analog", "--option", "seed_mode=median"], "seed mode"),
        (["stats", "missing"], "no experiment"),
        (["export", "missing", "-o", "x.txt"], ".csv or .parquet"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, args, needle):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert needle in lines[0]
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*"))
    assert not (tmp_path.parent / "x").exists()


def test_unwritable_results_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run_cli("run", "--results-dir", str(blocker / "sub"), "--seeds", "1",
                   "--budget-evals", "5", cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "cannot write results" in proc.stderr
    assert blocker.read_text() == "not a folder"


def test_changed_budget_refused(default_run):
    cwd, _, env = default_run
    proc = run_cli("run", "--budget-evals", "50", "--no-report", cwd=cwd, env=env)
    assert proc.returncode == 2 and "already exists with budget" in proc.stderr


def test_options_without_a_command_mean_run(tmp_path):
    proc = run_cli("--seeds", "1", "--budget-evals", "5", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 runs done" in proc.stdout
