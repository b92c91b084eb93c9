"""Executors: the same study in-process, on a real process pool and on a real Dask
LocalCluster gives the same records; bad executor input fails cleanly."""

import json
import os
import socket
import subprocess
import sys

import pytest

from tabnas.executors import DaskExecutor, InProcessExecutor, ProcessExecutor
from tabnas.records import HOST_TIME_COLUMNS
from tabnas.results import load_results
from tabnas.runner import Budget
from tabnas.study import Study, run_study
from tests.conftest import REPO, run_cli


def small_study(root, name, **kw):
    return Study(experiment=name, benchmarks=["nb201-analog"], strategies=["random", "rea"],
                 seeds=list(range(6)), budget=Budget(evals=40), results_dir=root, **kw)


def records(study):
    return load_results(study.exp_dir).drop(columns=[*HOST_TIME_COLUMNS, "experiment"])


def test_same_records_on_every_executor(tmp_path):
    ref = small_study(tmp_path, "inproc")
    assert run_study(ref, executor=InProcessExecutor()).counts == {"ran": 12, "skipped": 0, "failed": 0}
    expected = records(ref)
    assert len(expected) == 12 * 40

    pool = small_study(tmp_path, "pool")
    with ProcessExecutor(2) as ex:
        assert run_study(pool, executor=ex, chunk_size=2).counts["ran"] == 12
    assert records(pool).equals(expected)

    dask = small_study(tmp_path, "dask")
    with DaskExecutor("local:2") as ex:
        pids = set(ex.client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids  # two real worker processes
        assert ex.slots == 2
        assert run_study(dask, executor=ex, chunk_size=3).counts["ran"] == 12
    assert records(dask).equals(expected)


def test_cli_workers_flag_and_sim_workers_on_a_pool(tmp_path):
    a = run_cli("run", "--no-report", "--seeds", "3", "--budget-evals", "30",
                "--sim-workers", "4", "--experiment", "a", cwd=tmp_path)
    b = run_cli("run", "--no-report", "--seeds", "3", "--budget-evals", "30",
                "--sim-workers", "4", "--experiment", "b", "--workers", "2", cwd=tmp_path)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert "6 runs done" in b.stdout
    da = load_results(tmp_path / "results/a").drop(columns=[*HOST_TIME_COLUMNS, "experiment"])
    db = load_results(tmp_path / "results/b").drop(columns=[*HOST_TIME_COLUMNS, "experiment"])
    assert da.equals(db)
    manifest = json.loads((tmp_path / "results/b/manifest.json").read_text())
    assert manifest["config"]["sim_workers"] == 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_exit_2_nothing_written(tmp_path):
    port = _free_port()  # nothing listens there any more
    proc = run_cli("run", "--dask", f"tcp://127.0.0.1:{port}", "--seeds", "2",
                   "--budget-evals", "5", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "no Dask scheduler answered" in lines[0] and str(port) in lines[0]
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["--dask", "local:0"], "local:N"),
    (["--dask", "local:2", "--workers", "2"], "not both"),
    (["--workers", "0"], "must be > 0"),
    (["--sim-workers", "0"], "must be > 0"),
    (["--run-timeout", "-1"], "must be a finite number > 0"),
])
def test_bad_executor_options(tmp_path, args, needle):
    proc = run_cli("run", "--seeds", "1", "--budget-evals", "5", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.parquet"))


def test_incompatible_results_folder_untouched(tmp_path):
    exp = tmp_path / "results" / "old"
    (exp / "runs" / "x").mkdir(parents=True)
    manifest = json.dumps({"format": 999, "config": {}})
    (exp / "manifest.json").write_text(manifest)
    (exp / "runs" / "x" / "data.bin").write_bytes(b"keep me")
    before = sorted(p.relative_to(exp) for p in exp.rglob("*"))
    proc = run_cli("run", "--experiment", "old", "--seeds", "1", "--budget-evals", "5",
                   "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 2
    assert "incompatible tabnas results format" in proc.stderr and "nothing was changed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (exp / "manifest.json").read_text() == manifest
    assert (exp / "runs" / "x" / "data.bin").read_bytes() == b"keep me"
    assert sorted(p.relative_to(exp) for p in exp.rglob("*")) == before


def run_with_faulty(*args, cwd):
    """The CLI in a fresh process that also registers tests/faulty_strategies.py."""
    code = ("import sys, tests.faulty_strategies; from tabnas.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_failing_runs_recorded_others_go_on(tmp_path):
    proc = run_with_faulty("run", "--no-report", "--strategy", "random,explode", "--seeds", "8",
                           "--budget-evals", "20", "--experiment", "f", "--workers", "2",
                           cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    exp = tmp_path / "results" / "f"
    manifest = json.loads((exp / "manifest.json").read_text())
    failed = manifest["failed"]
    assert failed and all(v == "ValueError: boom at the third proposal" for v in failed.values())
    assert all(k.startswith("nb201-analog/explode/seed-") for k in failed)
    n_failed = len(failed)
    assert f"{16 - n_failed} runs done" in proc.stdout and f"{n_failed} failed" in proc.stdout
    df = load_results(exp)
    assert (df[df.strategy == "random"].groupby("seed").size() == 20).all()
    assert df[df.strategy == "explode"]["seed"].nunique() == 8 - n_failed
    record = json.loads(next((exp / "failures").rglob("seed-*.json")).read_text())
    assert record["kind"] == "error" and "Traceback" in record["traceback"]

    status = run_cli("status", "f", cwd=tmp_path)
    assert status.returncode == 0
    assert f"16 runs: {16 - n_failed} done, {n_failed} failed, 0 running, 0 missing" in status.stdout
    assert status.stdout.count("boom at the third proposal") == n_failed


def test_run_timeout_records_a_failure(tmp_path):
    proc = run_with_faulty("run", "--no-report", "--strategy", "sleepy,random", "--seeds", "1",
                           "--budget-evals", "5", "--experiment", "t", "--run-timeout", "0.5",
                           cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 runs done" in proc.stdout and "1 failed" in proc.stdout
    status = run_cli("status", "t", cwd=tmp_path)
    assert "1 done, 1 failed" in status.stdout and "[timeout]" in status.stdout
    assert "time limit of 0.5 s" in status.stdout


def test_status_counts_missing(tmp_path):
    proc = run_cli("run", "--no-report", "--seeds", "2", "--budget-evals", "5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    next((tmp_path / "results/default/runs").rglob("seed-1.parquet")).unlink()
    status = run_cli("status", "default", cwd=tmp_path)
    assert "4 runs: 3 done, 0 failed, 0 running, 1 missing" in status.stdout
    assert run_cli("status", "nope", cwd=tmp_path).returncode == 2




def test_one_benchmark_answers_each_run_alike_from_many_threads():
    # A Dask worker with several threads runs chunks concurrently on the one benchmark
    # object it caches (executors._BENCHMARKS): which recorded seed answers a query must
    # still depend on its run key alone, or records differ between executors.
    import threading

    from tabnas.benchmarks import load_benchmark
    from tabnas.runner import run_seeds

    bench = load_benchmark("toy")
    cells = [bench.space.arch_at(i) for i in range(bench.space.size)] * 10

    def answers(seed):
        key = run_seeds(seed)[1]
        return [bench.query(a, run_key=key) for a in cells]

    expected = [answers(seed) for seed in range(8)]
    assert expected[0] != expected[1]  # the seeds pick different recorded seeds
    got: list = [None] * 40
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, answers(i % 8)))
                   for i in range(len(got))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    differ = [i for i, g in enumerate(got) if g != expected[i % 8]]
    assert not differ, f"{len(differ)} of {len(got)} threads got other answers"
