"""A study: every (benchmark, strategy, seed) run of an experiment, run and stored.

Runs are independent and each is stored atomically when it finishes, so a
study that is stopped (even by SIGKILL) is resumed by running the same command
again: runs already on disk are skipped, runs claimed by a dead process are
taken over, and the result equals an uninterrupted study.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabnas.benchmarks import (
    TABLE_PREFIX,
    Benchmark,
    canonical_benchmark_name,
    resolve_benchmark,
)
from tabnas.errors import BadConfiguration, DamagedData, IncompatibleExperiment, UserError
from tabnas.executors import Executor, Job, Outcome, RunKey, chunk_size_for, make_executor
from tabnas.experiment import Experiment
from tabnas.locks import Claims
from tabnas.objectives import check_objectives
from tabnas.plugins import is_reference
from tabnas.progress import progress_bar
from tabnas.results import (
    check_names,
    check_run_files,
    claim_parts,
    clear_failure,
    damaged_message,
    ensure_writable,
    experiment_dir,
    failed_since,
    failure_path,
    open_experiment,
    read_manifest,
    record_history,
    run_path,
    set_aside,
    update_failures,
    write_failure,
    write_run_bytes,
)
from tabnas.runner import Budget, check_mf_cost
from tabnas.strategy import STRATEGIES

#: How often a process waiting on runs held by another process looks again.
_POLL_S = 0.2
#: Most seeds, and most runs (benchmarks x strategies x seeds), in one study.
MAX_SEEDS = 100_000
MAX_RUNS = 1_000_000


@dataclass
class Study:
    """What to run. ``hyperparameters`` maps strategy name -> {name: value}."""

    experiment: str
    benchmarks: list[str]
    strategies: list[str]
    seeds: list[int]
    budget: Budget
    results_dir: Path = Path("results")
    hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    benchmark_options: dict[str, Any] = field(default_factory=dict)
    data: str | None = None
    #: Simulated asynchronous workers per search (1: sequential).
    sim_workers: int = 1
    #: What a promotion pays: ``restart`` (full cost) or ``continue`` (what it adds).
    mf_cost: str = "restart"
    #: Host seconds after which a run is stopped and recorded as failed.
    run_timeout: float | None = None

    def __post_init__(self) -> None:
        if not self.strategies:
            raise BadConfiguration("strategies is empty: give at least one strategy")
        if not self.benchmarks:
            raise BadConfiguration("benchmarks is empty: give at least one benchmark")
        self.benchmarks = [canonical_benchmark_name(n) for n in self.benchmarks]
        for what, names in (("strategies", self.strategies), ("benchmarks", self.benchmarks)):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise BadConfiguration(f"{what} name {', '.join(twice)} twice; give each once")
        if not self.seeds:
            raise BadConfiguration("seeds must be a positive integer or a non-empty list")
        if len(self.seeds) > MAX_SEEDS:
            raise BadConfiguration(f"seeds: {len(self.seeds):,} seeds, at most {MAX_SEEDS:,} "
                                   "per study")
        runs = len(self.seeds) * len(self.strategies) * len(self.benchmarks)
        if runs > MAX_RUNS:
            raise BadConfiguration(f"this study has {runs:,} runs (benchmarks x strategies x "
                                   f"seeds); at most {MAX_RUNS:,} per study: split it into "
                                   "several experiments")
        if not isinstance(self.sim_workers, int) or self.sim_workers < 1:
            raise BadConfiguration(f"sim_workers must be a positive integer, got "
                                   f"{self.sim_workers!r}")
        check_mf_cost(self.mf_cost)
        if self.run_timeout is not None and not self.run_timeout > 0:
            raise BadConfiguration(f"run_timeout must be > 0 seconds, got {self.run_timeout!r}")
        for name in self.benchmarks:
            resolve_benchmark(name)
        for name in self.strategies:
            STRATEGIES.get(name)
        check_names(self.benchmarks, self.strategies)
        self.exp_dir = experiment_dir(self.results_dir, self.experiment)

    def config(self) -> dict[str, Any]:
        """The study as the manifest records it, and as ``tabnas run --config`` reads it back.

        ``hyperparameters`` are complete once :func:`run_study` has resolved them
        (every declared hyperparameter, defaults included); ``strategy_sources``
        holds the file and SHA-256 of each strategy named by its file or module.
        """
        from tabnas.plugins import strategy_source

        sources = {name: src for name in self.strategies
                   if (src := strategy_source(name, STRATEGIES.get(name))) is not None}
        return {
            "experiment": self.experiment,
            "benchmarks": list(self.benchmarks),
            "strategies": list(self.strategies),
            "seeds": list(self.seeds),
            "budget": self.budget.as_dict(),
            "hyperparameters": {s: dict(self.hyperparameters.get(s, {}))
                                for s in self.strategies},
            "benchmark_options": dict(self.benchmark_options),
            "data": self.data,
            "sim_workers": self.sim_workers,
            "mf_cost": self.mf_cost,
            "run_timeout": self.run_timeout,
            "strategy_sources": sources,
        }


def load_benchmarks(study: Study) -> dict[str, Benchmark]:
    return {name: resolve_benchmark(name).load(data=study.data, **study.benchmark_options)
            for name in study.benchmarks}


def run_study(
    study: Study,
    *,
    progress: bool | None = None,
    workers: int = 1,
    dask: str | None = None,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    redo_damaged: bool = False,
) -> Experiment:
    """Run every missing run of ``study``; returns the :class:`~tabnas.experiment.Experiment`.

    Its ``counts`` say how many runs were done now, skipped (already complete)
    and failed.

    Runs execute on ``executor`` (default: made from ``workers``/``dask``, see
    :mod:`tabnas.executors`). Before a run is handed out it is claimed
    (:mod:`tabnas.locks`), so several processes can work on one study at once;
    when this process has nothing left to claim it waits for runs other live
    processes hold, and takes over those whose holder died. Each finished run
    is written atomically by this process; a run that raised or timed out is
    recorded as failed and retried when the study is run again.

    A run file that is damaged or foreign (:mod:`tabnas.runfile`) stops the
    study with one line, unless ``redo_damaged``: then it is moved to
    ``<experiment>/damaged/`` and the run computed again.
    """
    own_executor = executor is None
    if executor is None:  # made first: its workers start while the study prepares
        executor = make_executor(workers, dask)
    try:
        benchmarks = load_benchmarks(study)
        _check_costs(study, benchmarks)
        strategy_classes = {name: STRATEGIES.get(name) for name in study.strategies}
        for bench in benchmarks.values():
            for cls in strategy_classes.values():
                cls.check_supported(bench.space, bench.fidelities)
                check_objectives(cls, bench)
        _validate_hyperparameters(study, benchmarks, strategy_classes)
        # An incompatible folder is refused before anything is written.
        _check_identities(study, benchmarks, read_manifest(study.exp_dir))
        executor.ready()
        ensure_writable(study.exp_dir)
        from tabnas.provenance import used_package_versions

        checksums = {k: v for b in benchmarks.values() for k, v in b.checksums.items()}
        config = study.config()
        config["executor"] = {"name": executor.name, "workers": workers, "dask": dask,
                              "chunk_size": chunk_size}
        packages = used_package_versions([*map(resolve_benchmark, study.benchmarks),
                                          *benchmarks.values(), *strategy_classes.values()])
        # Keyed by the name the records carry, which is what stats and plots look up.
        manifest = open_experiment(study.exp_dir, config, checksums,
                                   {b.name: b.cost_label for b in benchmarks.values()},
                                   {b.name: b.maximize for b in benchmarks.values()},
                                   {b.name: {"value": b.value_label, "test": b.test_label}
                                    for b in benchmarks.values()},
                                   names={n: b.name for n, b in benchmarks.items()},
                                   packages=packages)
        job = Job(
            experiment=study.experiment, budget=study.budget,
            hyperparameters={s: dict(study.hyperparameters.get(s, {}))
                             for s in study.strategies},
            benchmark_options=dict(study.benchmark_options), data=study.data,
            strategy_modules={n: c.__module__ for n, c in strategy_classes.items()
                              if not is_reference(n)},  # a reference is found by its name
            sim_workers=study.sim_workers, mf_cost=study.mf_cost,
            run_timeout=study.run_timeout,
        )
        keys = [(b, s, seed) for s in study.strategies for b in study.benchmarks
                for seed in study.seeds]
        done, bad = check_run_files(study.exp_dir, manifest["config"], keys)
        if bad and not redo_damaged:
            first = next(iter(bad.values()))
            more = f" ({len(bad)} such files; 'tabnas status' lists them)" if len(bad) > 1 else ""
            raise DamagedData(damaged_message(UserError(first)) + more)
        for key, reason in bad.items():
            moved = set_aside(study.exp_dir, run_path(study.exp_dir, *key))
            print(f"tabnas: {reason}; moved to {moved}, computing that run again",
                  file=sys.stderr)
        counts = _drive(study, job, keys, done, executor, chunk_size, progress)
        record_history(study.exp_dir, manifest["history"][-1]["id"], counts)
        return Experiment(study.exp_dir, counts)
    finally:
        if own_executor:
            executor.close()


def _check_costs(study: Study, benchmarks: dict[str, Benchmark]) -> None:
    """A cost-only budget on evaluations that cost nothing would never end: refuse it."""
    import numpy as np

    if study.budget.cost is None or study.budget.evals is not None:
        return  # no cost budget, or capped by --budget-evals
    for name, bench in benchmarks.items():
        costs = getattr(bench, "costs", None)
        if costs is not None and np.size(costs) and np.nanmin(costs) <= 0:
            raise BadConfiguration(f"{name} has evaluations that cost {np.nanmin(costs):g}, "
                                   "so a run under budget cost alone might never end; cap "
                                   "each run with budget evals too")


def _drive(study: Study, job: Job, keys: list[RunKey], done: set, executor: Executor,
           chunk_size: int | None, progress: bool | None) -> dict[str, int]:
    exp = study.exp_dir
    started = time.time()
    todo = deque(k for k in keys if k not in done)
    counts = {"ran": 0, "skipped": len(keys) - len(todo), "failed": 0}
    leftovers = _leftover_temporaries(exp)
    bar = progress_bar(len(todo), progress, study.experiment)
    with Claims(exp) as claims:
        in_flight: dict[Any, list[RunKey]] = {}
        waiting: deque[RunKey] = deque()  # held by another live process when last looked at
        while todo or in_flight or waiting:
            while todo and len(in_flight) < 2 * executor.slots:
                size = chunk_size or chunk_size_for(len(todo), executor.slots)
                chunk = _claim_chunk(exp, claims, todo, waiting, size, counts, bar, started,
                                     leftovers)
                if chunk:
                    in_flight[executor.submit(job, chunk)] = chunk
            if not in_flight:
                if waiting:
                    time.sleep(_POLL_S)
                    todo, waiting = waiting, deque()
                continue
            handle = executor.next_done(timeout=_POLL_S)
            if handle is None:
                continue
            chunk = in_flight.pop(handle)
            try:
                outcomes = executor.result(handle)
            except Exception as exc:  # the worker itself was lost; its runs fail
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
                outcomes = [Outcome(k, error=f"worker lost: {reason}") for k in chunk]
            for outcome in outcomes:
                _store(exp, claims, outcome, counts)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    update_failures(exp)
    return counts


def _leftover_temporaries(exp: Path) -> dict[Path, list[Path]]:
    """Temporary files of run and failure records, by the file they were to become.

    Only the holder of a run's claim writes its records, so once this process
    holds the claim, any temporary file for that run was left by a writer that
    was killed mid-write and can go.
    """
    out: dict[Path, list[Path]] = {}
    for pattern in ("runs/*/*/.seed-*.tmp", "failures/*/*/.seed-*.tmp"):
        for tmp in exp.glob(pattern):
            target = tmp.parent / tmp.name[1:].rsplit(".", 2)[0]
            out.setdefault(target, []).append(tmp)
    return out


def _claim_chunk(exp: Path, claims: Claims, todo: deque[RunKey], waiting: deque[RunKey],
                 size: int, counts: dict[str, int], bar, started: float,
                 leftovers: dict[Path, list[Path]]) -> list[RunKey]:
    """Claim up to ``size`` runs from the front of ``todo`` (which it consumes).

    A run another process finished meanwhile is skipped; one it recorded as
    failed since this study started is not retried here (rerunning the study
    retries it). This and :func:`_store` are the parent's work per run, so each
    path is built once and each check is one system call.
    """
    chunk: list[RunKey] = []
    while todo and len(chunk) < size:
        key = todo.popleft()
        done = run_path(exp, *key)
        path = claims.path(claim_parts(*key))
        if done.exists():
            skipped = True
        elif not claims.try_claim(path):
            waiting.append(key)
            continue
        elif done.exists():  # finished by another process meanwhile
            claims.release(path)
            skipped = True
        elif failed_since(exp, key, started):
            claims.release(path)
            counts["failed"] += 1
            skipped = False
        else:
            if leftovers:
                for target in (done, failure_path(exp, *key)):
                    for tmp in leftovers.pop(target, ()):
                        tmp.unlink(missing_ok=True)
            chunk.append(key)
            continue
        if skipped:
            counts["skipped"] += 1
        if bar is not None:
            bar.update(1)
    return chunk


def _store(exp: Path, claims: Claims, outcome: Outcome, counts: dict[str, int]) -> None:
    """Write one finished run (or its failure record) and release its claim."""
    if outcome.parquet is not None:
        write_run_bytes(run_path(exp, *outcome.key), outcome.parquet)
        clear_failure(exp, *outcome.key)
        counts["ran"] += 1
    else:
        write_failure(exp, *outcome.key, error=outcome.error or "unknown error",
                      traceback=outcome.traceback, timed_out=outcome.timed_out)
        counts["failed"] += 1
    claims.release(claims.path(claim_parts(*outcome.key)))


def _check_identities(study: Study, benchmarks: dict[str, Benchmark],
                      manifest: dict | None) -> None:
    """Refuse two benchmarks whose records would carry one name, and a user table that
    changed since the experiment ran on it (its runs would no longer mean the same)."""
    names = dict((manifest or {}).get("benchmark_names", {}))
    for key, bench in benchmarks.items():
        other = next((k for k, n in names.items() if n == bench.name and k != key), None)
        if other is not None:
            raise IncompatibleExperiment(
                f"experiment {study.experiment!r}: {key} and {other} are both named "
                f"{bench.name!r} in the results; give one table another name = \"...\" in "
                "its spec, or use a new experiment name")
        names[key] = bench.name
    old = (manifest or {}).get("checksums", {})
    for key, bench in benchmarks.items():
        if not key.startswith(TABLE_PREFIX):
            continue
        for path, digest in bench.checksums.items():
            if old.get(path, digest) != digest:
                raise IncompatibleExperiment(
                    f"{path} changed since experiment {study.experiment!r} ran on it (sha256 "
                    f"{old[path][:12]}... then, {digest[:12]}... now); restore it, or use a "
                    "new experiment name")


def _validate_hyperparameters(study, benchmarks, strategy_classes) -> None:
    """Check (and type) every hyperparameter before anything is written, and resolve them all.

    The study then holds every declared hyperparameter, defaults included, so the
    manifest says exactly what ran, and a later default change cannot alter a rerun.
    """
    import numpy as np

    from tabnas.trials import History

    bench = next(iter(benchmarks.values()))
    for name, cls in strategy_classes.items():
        given = study.hyperparameters.get(name, {})
        strategy = cls(bench.space, rng=np.random.default_rng(0), history=History(),
                       fidelities=bench.fidelities, **given)
        study.hyperparameters[name] = {k: getattr(strategy, k) for k in cls.hyperparameters}
