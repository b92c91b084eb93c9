"""A study: every (benchmark, strategy, seed) run of an experiment, run and stored.

Runs are independent and each is stored atomically when it finishes, so a
study that is stopped can be resumed by running the same command again: runs
already on disk are skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.benchmarks import Benchmark, resolve_benchmark
from harness.errors import UserError
from harness.results import ensure_writable, experiment_dir, open_experiment, run_path, write_run
from harness.runner import Budget, run_search
from harness.strategy import STRATEGIES


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

    def __post_init__(self) -> None:
        if not self.strategies:
            raise UserError("give at least one strategy with --strategy")
        if not self.seeds:
            raise UserError("--seeds must be a positive integer")
        for name in self.benchmarks:
            resolve_benchmark(name)
        for name in self.strategies:
            STRATEGIES.get(name)
        self.exp_dir = experiment_dir(self.results_dir, self.experiment)

    def config(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "benchmarks": list(self.benchmarks),
            "strategies": list(self.strategies),
            "seeds": list(self.seeds),
            "budget": self.budget.as_dict(),
            "hyperparameters": {s: dict(self.hyperparameters.get(s, {}))
                                for s in self.strategies},
            "benchmark_options": dict(self.benchmark_options),
        }


def load_benchmarks(study: Study) -> dict[str, Benchmark]:
    return {name: resolve_benchmark(name).load(data=study.data, **study.benchmark_options)
            for name in study.benchmarks}


def run_study(study: Study, *, progress: bool | None = None) -> dict[str, int]:
    """Run every missing run of ``study``; returns counts of runs done now and skipped."""
    benchmarks = load_benchmarks(study)
    strategy_classes = {name: STRATEGIES.get(name) for name in study.strategies}
    for bench in benchmarks.values():
        for cls in strategy_classes.values():
            cls.check_supported(bench.space, bench.fidelities)
    _validate_hyperparameters(study, benchmarks, strategy_classes)
    ensure_writable(study.exp_dir)
    checksums = {k: v for b in benchmarks.values() for k, v in b.checksums.items()}
    open_experiment(study.exp_dir, study.config(), checksums,
                    {n: b.cost_label for n, b in benchmarks.items()})

    todo = [
        (b, s, seed)
        for b in study.benchmarks
        for s in study.strategies
        for seed in study.seeds
        if not run_path(study.exp_dir, b, s, seed).exists()
    ]
    skipped = len(study.benchmarks) * len(study.strategies) * len(study.seeds) - len(todo)
    for b, s, seed in _progress(todo, progress, f"{study.experiment}"):
        records = run_search(
            benchmarks[b], strategy_classes[s], seed, study.budget,
            hyperparameters=study.hyperparameters.get(s), experiment=study.experiment,
            strategy_name=s,
        )
        write_run(run_path(study.exp_dir, b, s, seed), records.to_arrow())
    return {"ran": len(todo), "skipped": skipped}


def _validate_hyperparameters(study, benchmarks, strategy_classes) -> None:
    """Check (and type) every hyperparameter before anything is written."""
    import numpy as np

    bench = next(iter(benchmarks.values()))
    for name, cls in strategy_classes.items():
        given = study.hyperparameters.get(name, {})
        strategy = cls(bench.space, rng=np.random.default_rng(0), fidelities=bench.fidelities,
                       **given)
        study.hyperparameters[name] = {k: getattr(strategy, k) for k in given}


def _progress(items: list, enabled: bool | None, desc: str) -> Iterable:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or not items:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="run", file=sys.stderr, dynamic_ncols=True)
