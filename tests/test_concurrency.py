"""Processes that start one experiment together, and studies killed with their workers busy."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tabnas.results import experiment_status, load_results
from tests.conftest import REPO

PROCESSES = 8
ROUNDS = 20
SEEDS = 4


def _starter(root: str, barrier, out) -> None:
    """One process: for each round, wait for the others, then run the round's experiment."""
    from tabnas.executors import InProcessExecutor
    from tabnas.runner import Budget
    from tabnas.study import Study, run_study

    for r in range(ROUNDS):
        barrier.wait()
        study = Study(experiment=f"c{r}", benchmarks=["toy"], strategies=["random"],
                      seeds=list(range(SEEDS)), budget=Budget(evals=3), results_dir=Path(root))
        try:
            counts = run_study(study, executor=InProcessExecutor(), progress=False).counts
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            counts = {"error": f"{type(exc).__name__}: {exc}"}
        out.put((r, counts))


def test_eight_processes_start_one_experiment_together_twenty_times(tmp_path):
    ctx = mp.get_context("forkserver")  # processes of their own, forked from a clean server
    ctx.set_forkserver_preload(["tabnas.study", "tabnas.executors", "tabnas.results"])
    barrier, out = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_starter, args=(str(tmp_path), barrier, out))
             for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [out.get(timeout=300) for _ in range(PROCESSES * ROUNDS)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    for r in range(ROUNDS):
        counts = [c for rr, c in results if rr == r]
        assert len(counts) == PROCESSES and not [c for c in counts if "error" in c], counts
        assert sum(c["ran"] for c in counts) == SEEDS  # each run computed exactly once
        assert all(c["failed"] == 0 and c["ran"] + c["skipped"] == SEEDS for c in counts)
        exp = tmp_path / f"c{r}"
        assert experiment_status(exp)["done"] == SEEDS
        assert sorted(load_results(exp)["seed"].unique()) == list(range(SEEDS))


def _session_processes(sid: int) -> list[int]:
    """Live (non-zombie) processes of session ``sid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            out.append(int(entry))
    return out


def test_killed_workers_study_leaves_no_process_behind(tmp_path):
    """SIGKILL the study while its pool workers sleep in a run; drain its pipes, then reap."""
    code = ("import sys, tests.faulty_strategies; from tabnas.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "run", "--no-report", "--benchmark", "toy",
         "--strategy", "sleepy", "--seeds", "2", "--budget-evals", "3", "--workers", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    claims = tmp_path / "results" / "default" / ".claims"
    deadline = time.monotonic() + 120

    def running() -> bool:  # the study, its forkserver and two workers, and a run claimed
        return (len(_session_processes(proc.pid)) >= 4
                and any(p.is_file() for p in claims.rglob("seed-*")))

    while time.monotonic() < deadline and not running():
        time.sleep(0.2)
    assert running(), "the runs never started"
    os.kill(proc.pid, signal.SIGKILL)
    # communicate() reads the pipes to their end: a worker still alive holds them open.
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_processes(proc.pid) == []
