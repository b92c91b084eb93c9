"""Per-evaluation overhead of the harness, side by side with Optuna and a bare loop.

Three loops answer the same 200-evaluation random search on nb201-analog
(baseline accuracy), interleaved round by round in one process so machine
drift hits all three alike:

- ``tabnas``: ``run_search`` with the ``random`` strategy (proposal, table
  query, incumbent and regret bookkeeping, records);
- ``optuna``: Optuna's ``RandomSampler`` through ask/tell, six categorical
  parameters, the value looked up in the same table (Optuna is needed by this
  script only: ``pip install optuna``);
- ``bare``: a Python loop drawing a random cell index and reading the array.

Prints the median microseconds per evaluation over rounds and the ratios.
Usage: ``python scripts/bench_overhead.py [--rounds 30] [--evals 200]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from tabnas.benchmarks import load_benchmark
from tabnas.runner import Budget, run_search
from tabnas.spaces.nb201 import N_EDGES, OPS
from tabnas.strategy import STRATEGIES


def tabnas_loop(bench, seed: int, evals: int) -> float:
    t = time.perf_counter()
    run_search(bench, STRATEGIES.get("random"), seed, Budget(evals=evals))
    return time.perf_counter() - t


def optuna_loop(bench, seed: int, evals: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dist = optuna.distributions.CategoricalDistribution(list(range(len(OPS))))
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(evals):
        trial = study.ask({f"e{i}": dist for i in range(N_EDGES)})
        arch = tuple(trial.params[f"e{i}"] for i in range(N_EDGES))
        study.tell(trial, bench.query(arch, rng=rng).value)
    return time.perf_counter() - t


def bare_loop(bench, seed: int, evals: int) -> float:
    values = bench.values[:, 0, 0]
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    best = -np.inf
    for i in rng.integers(len(values), size=evals).tolist():
        v = float(values[i])
        if v > best:
            best = v
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--evals", type=int, default=200)
    args = parser.parse_args()
    bench = load_benchmark("nb201-analog")
    loops = {"tabnas random": tabnas_loop, "optuna RandomSampler": optuna_loop,
             "bare lookup loop": bare_loop}
    for fn in loops.values():  # warm-up: imports, caches
        fn(bench, 10_000, args.evals)
    per_eval: dict[str, list[float]] = {k: [] for k in loops}
    for r in range(args.rounds):
        for name, fn in loops.items():
            per_eval[name].append(fn(bench, r, args.evals) / args.evals * 1e6)
    med = {k: statistics.median(v) for k, v in per_eval.items()}
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{args.rounds} rounds x {args.evals} evaluations")
    print("| loop | median µs / evaluation | min | max | ratio to tabnas |")
    print("|---|---:|---:|---:|---:|")
    for k, v in per_eval.items():
        print(f"| {k} | {med[k]:.2f} | {min(v):.2f} | {max(v):.2f} | "
              f"{med[k] / med['tabnas random']:.2f} |")


if __name__ == "__main__":
    main()
