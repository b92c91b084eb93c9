"""Durability: SIGKILL at a random point then rerun loses and duplicates nothing, and
two processes on one study at once share the work without corrupting it."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tabnas.executors import InProcessExecutor
from tabnas.records import HOST_TIME_COLUMNS
from tabnas.results import load_results, run_files
from tabnas.runner import Budget
from tabnas.study import Study, run_study
from tests.conftest import REPO, run_cli

STRATEGIES = "random,rea"
SEEDS = 60
EVALS = 150
ARGS = ("run", "--no-report", "--strategy", STRATEGIES, "--seeds", str(SEEDS),
        "--budget-evals", str(EVALS))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted study, run once in this process."""
    root = tmp_path_factory.mktemp("ref") / "results"
    study = Study(experiment="ref", benchmarks=["nb201-analog"], strategies=STRATEGIES.split(","),
                  seeds=list(range(SEEDS)), budget=Budget(evals=EVALS), results_dir=root)
    run_study(study, executor=InProcessExecutor())
    return load_results(study.exp_dir).drop(columns=[*HOST_TIME_COLUMNS, "experiment"])


def start_cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "tabnas", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_complete(exp, reference):
    files = run_files(exp)
    assert len(files) == 2 * SEEDS
    assert not list(exp.rglob("*.tmp")), "a temporary file was left behind"
    assert not [p for p in (exp / ".claims").rglob("*") if p.is_file()], "claims left behind"
    df = load_results(exp).drop(columns=[*HOST_TIME_COLUMNS, "experiment"])
    assert not df.duplicated(["strategy", "seed", "step"]).any()
    assert df.equals(reference)


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = (entry / "stat").read_text().split(") ")[-1][:1]
            except OSError:
                continue
            if text in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("executor", [[], ["--workers", "2", "--chunk-size", "3"]],
                         ids=["in-process", "workers-2"])
def test_sigkill_at_random_point_then_rerun(tmp_path, reference, executor):
    total = 2 * SEEDS
    target = random.Random().randint(1, total // 2)  # a random point in the study
    proc = start_cli(*ARGS, "--experiment", "k", *executor, cwd=tmp_path)
    exp = tmp_path / "results" / "k"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (exp / "runs").exists() and len(run_files(exp)) >= target:
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)  # from this process, while it is running
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # No worker outlives the killed study (pool processes carry its folder in their
    # command line): they notice the parent is gone and exit.
    deadline = time.monotonic() + 20
    while _processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(tmp_path)) == []
    done_before = len(run_files(exp))
    assert target <= done_before < total, (target, done_before)
    # What a kill during a write leaves (atomic_write_bytes's temporary), for a run not done:
    missing = next(s for s in range(SEEDS) if not (exp / "runs/nb201-analog/rea" /
                                                   f"seed-{s}.parquet").exists())
    (exp / "runs/nb201-analog/rea").mkdir(parents=True, exist_ok=True)
    (exp / f"runs/nb201-analog/rea/.seed-{missing}.parquet.k1ll3d_x.tmp").write_bytes(b"PAR1")

    again = run_cli(*ARGS, "--experiment", "k", *executor, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    ran = int(again.stdout.split("experiment 'k': ")[1].split(" runs done")[0])
    assert ran == total - done_before  # nothing redone, nothing lost
    check_complete(exp, reference)


def test_two_processes_on_the_same_study(tmp_path, reference):
    procs = [start_cli(*ARGS, "--experiment", "shared", cwd=tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    ran = [int(out.split("experiment 'shared': ")[1].split(" runs done")[0]) for out, _ in outs]
    assert sum(ran) == 2 * SEEDS  # every run computed exactly once between them
    exp = tmp_path / "results" / "shared"
    manifest = json.loads((exp / "manifest.json").read_text())
    assert manifest["config"]["seeds"] == list(range(SEEDS))
    check_complete(exp, reference)


def test_when_a_claim_is_stale(tmp_path):
    from tabnas.locks import LEASE_S, Claims, claim_is_stale, claim_owner

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = dict(claim_owner())
    cases = {
        "alive": (here, 0),
        "dead-pid": ({**here, "pid": dead.pid, "start": None}, 0),
        "other-host-fresh": ({**here, "host": "elsewhere"}, 0),
        "other-host-old": ({**here, "host": "elsewhere"}, LEASE_S + 60),
    }
    for name, (info, age) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(info))
        os.utime(path, (time.time() - age, time.time() - age))
    assert not claim_is_stale(tmp_path / "alive")
    assert claim_is_stale(tmp_path / "dead-pid")
    assert not claim_is_stale(tmp_path / "other-host-fresh")
    assert claim_is_stale(tmp_path / "other-host-old")

    exp = tmp_path / "exp"
    with Claims(exp) as mine:
        target = mine.path(("b", "s", "seed-0"))
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps({**here, "pid": dead.pid, "start": None}))
        assert mine.try_claim(target)  # taken over from the dead process
        assert json.loads(target.read_text())["pid"] == os.getpid()
        with Claims(exp) as other:  # a live holder's claim is respected
            assert not other.try_claim(target)
    assert not target.exists()
