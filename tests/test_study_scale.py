"""A study over several tables: stopped twice (SIGKILL, then Ctrl-C) and resumed, it equals
the uninterrupted study; chunks shrink to single runs at its end; the load cache holds each
run once and grows no faster than the runs it holds."""

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from tabnas.executors import InProcessExecutor, ProcessExecutor, chunk_size_for
from tabnas.records import HOST_TIME_COLUMNS
from tabnas.results import load_results, run_files
from tabnas.runner import Budget
from tabnas.study import Study, run_study
from tests.conftest import REPO

TABLES = ["nbgraph-cora", "nbgraph-citeseer"]
STRATEGIES = ["random", "tpe"]
SEEDS = 20
EVALS = 100
TOTAL = len(TABLES) * len(STRATEGIES) * SEEDS


def study(root, experiment="s", seeds=SEEDS):
    return Study(experiment=experiment, benchmarks=TABLES, strategies=STRATEGIES,
                 seeds=list(range(seeds)), budget=Budget(evals=EVALS), results_dir=root)


def records(exp):
    return load_results(exp).drop(columns=[*HOST_TIME_COLUMNS, "experiment"])


def session(tmp_path, exp, stop_at=None, sig=None):
    """``tabnas run --workers 2``, sent ``sig`` once ``stop_at`` runs are on disk."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # An ignored Ctrl-C (pytest started in the background) would stay ignored in the
    # study; a handled one is reset to the default on exec.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tabnas", "run", "--no-report", "--experiment", exp.name,
             "--benchmark", ",".join(TABLES), "--strategy", ",".join(STRATEGIES),
             "--seeds", str(SEEDS), "--budget-evals", str(EVALS), "--workers", "2"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if stop_at is not None and (exp / "runs").exists() and len(run_files(exp)) >= stop_at:
            if sig == signal.SIGINT:
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group
            else:
                proc.kill()
            break
        time.sleep(0.01)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_killed_then_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    ref = study(tmp_path / "ref")
    run_study(ref, executor=InProcessExecutor())
    exp = tmp_path / "results" / "scale"

    rc, _ = session(tmp_path, exp, TOTAL // 4, signal.SIGKILL)
    first = len(run_files(exp))
    assert rc == -signal.SIGKILL and first < TOTAL
    rc, err = session(tmp_path, exp, TOTAL // 2, signal.SIGINT)
    second = len(run_files(exp))
    assert rc == 130 or (rc == 0 and second == TOTAL), err  # 0: done before the Ctrl-C
    assert first <= second
    rc, err = session(tmp_path, exp)
    assert rc == 0, err

    assert len(run_files(exp)) == TOTAL
    assert not list(exp.rglob("*.tmp")), "a temporary file was left behind"
    assert not [p for p in (exp / ".claims").rglob("*") if p.is_file()], "claims left behind"
    got = records(exp)
    assert not got.duplicated(["benchmark", "strategy", "seed", "step"]).any()
    assert got.equals(records(ref.exp_dir))
    history = json.loads((exp / "manifest.json").read_text())["history"]
    assert len(history) == 3 and "runs" not in history[0] and history[2]["runs"]["ran"] > 0


class Recording:
    """A process pool that also records the runs of every chunk it is given."""

    def __init__(self, inner):
        self.inner, self.chunks = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def submit(self, job, keys):
        self.chunks.append(list(keys))
        return self.inner.submit(job, keys)


def test_chunks_shrink_to_single_runs_and_hand_out_each_run_once(tmp_path):
    s = study(tmp_path)
    with ProcessExecutor(2) as pool:
        ex = Recording(pool)
        assert run_study(s, executor=ex).counts["ran"] == TOTAL
    sizes = [len(c) for c in ex.chunks]
    handed = sorted(k for c in ex.chunks for k in c)
    assert handed == sorted((b, st, seed) for b in TABLES for st in STRATEGIES
                            for seed in range(SEEDS))
    assert sizes[0] == chunk_size_for(TOTAL, 2) > 1
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1


def _holding(src, dst, files):
    """An experiment folder holding ``files`` of ``src`` (hard links: the same files)."""
    (dst / "runs").mkdir(parents=True)
    (dst / "manifest.json").write_bytes((src / "manifest.json").read_bytes())
    for f in files:
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(f, target)


def test_load_cache_holds_each_run_once_and_grows_linearly(tmp_path):
    s = study(tmp_path / "src")
    run_study(s, executor=InProcessExecutor())
    files = run_files(s.exp_dir)
    sizes = {}
    for n in (TOTAL // 4, TOTAL // 2, TOTAL):
        folder = tmp_path / f"fresh-{n}"
        _holding(s.exp_dir, folder, files[:n])
        assert len(load_results(folder)) == n * EVALS
        cache = folder / ".combined.parquet"
        stamps = json.loads(pq.read_metadata(cache).metadata[b"tabnas.files"])
        assert len(stamps) == n
        sizes[n] = cache.stat().st_size
    # Twice the runs, at most about twice the bytes (metadata per run included).
    assert sizes[TOTAL // 2] <= 2.1 * sizes[TOTAL // 4]
    assert sizes[TOTAL] <= 2.1 * sizes[TOTAL // 2]

    grown = tmp_path / "grown"  # the cache of a study resumed three times
    for n in (TOTAL // 4, TOTAL // 2, 3 * TOTAL // 4, TOTAL):
        if grown.exists():
            for f in files[:n]:
                target = grown / f.relative_to(s.exp_dir)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(f, target)
        else:
            _holding(s.exp_dir, grown, files[:n])
        load_results(grown)
    fresh = pq.read_table(tmp_path / f"fresh-{TOTAL}" / ".combined.parquet")
    assert pq.read_table(grown / ".combined.parquet").equals(fresh)
    assert (grown / ".combined.parquet").stat().st_size <= 1.05 * sizes[TOTAL]
