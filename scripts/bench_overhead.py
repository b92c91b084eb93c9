"""Per-evaluation overhead of the harness, side by side with Optuna and a bare loop.

Four loops answer the same 200-evaluation search on nb201-analog
(baseline accuracy), interleaved round by round in one process so machine
drift hits all of them alike:

- ``tabnas``: ``run_search`` with the ``random`` strategy (proposal, trial
  and history bookkeeping, table query, incumbent and regret bookkeeping,
  records), and with ``rea``;
- ``optuna``: Optuna's ``RandomSampler`` through ask/tell, six categorical
  parameters, the value looked up in the same table (Optuna is needed by this
  script only: ``pip install optuna``);
- ``bare``: a Python loop drawing a random cell index and reading the array.

Times are CPU seconds of the measuring thread (``time.thread_time``): on
shared cores, wall time also counts the time the process waits for a core.
Prints the median microseconds per evaluation over rounds and the ratios.
Usage: ``python scripts/bench_overhead.py [--rounds 30] [--evals 200]``.

``--tabnas-only`` times only the two ``run_search`` loops and prints one line
``random=US rea=US``. It uses nothing but ``run_search``, so the same file run
in a checkout of an earlier revision measures that revision: alternating the
two checkouts, run by run, compares them on the same machine state.
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


def tabnas_loop(bench, seed: int, evals: int, strategy: str = "random") -> float:
    cls = STRATEGIES.get(strategy)
    t = time.thread_time()
    run_search(bench, cls, seed, Budget(evals=evals))
    return time.thread_time() - t


def rea_loop(bench, seed: int, evals: int) -> float:
    return tabnas_loop(bench, seed, evals, "rea")


def optuna_loop(bench, seed: int, evals: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dist = optuna.distributions.CategoricalDistribution(list(range(len(OPS))))
    t = time.thread_time()
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(evals):
        trial = study.ask({f"e{i}": dist for i in range(N_EDGES)})
        arch = tuple(trial.params[f"e{i}"] for i in range(N_EDGES))
        study.tell(trial, bench.query(arch, run_key=seed).value)
    return time.thread_time() - t


def bare_loop(bench, seed: int, evals: int) -> float:
    values = bench.values[:, 0, 0]
    rng = np.random.default_rng(seed)
    t = time.thread_time()
    best = -np.inf
    for i in rng.integers(len(values), size=evals).tolist():
        v = float(values[i])
        if v > best:
            best = v
    return time.thread_time() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--evals", type=int, default=200)
    parser.add_argument("--tabnas-only", action="store_true",
                        help="time only tabnas random and rea; print one line")
    args = parser.parse_args()
    bench = load_benchmark("nb201-analog")
    loops = {"tabnas random": tabnas_loop, "tabnas rea": rea_loop}
    if not args.tabnas_only:
        loops.update({"optuna RandomSampler": optuna_loop, "bare lookup loop": bare_loop})
    for fn in loops.values():  # warm-up: imports, caches
        fn(bench, 10_000, args.evals)
    per_eval: dict[str, list[float]] = {k: [] for k in loops}
    for r in range(args.rounds):
        for name, fn in loops.items():
            per_eval[name].append(fn(bench, r, args.evals) / args.evals * 1e6)
    med = {k: statistics.median(v) for k, v in per_eval.items()}
    if args.tabnas_only:
        print(f"random={med['tabnas random']:.3f} rea={med['tabnas rea']:.3f}")
        return
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{args.rounds} rounds x {args.evals} evaluations")
    print("| loop | median µs / evaluation | min | max | ratio to tabnas |")
    print("|---|---:|---:|---:|---:|")
    for k, v in per_eval.items():
        print(f"| {k} | {med[k]:.2f} | {min(v):.2f} | {max(v):.2f} | "
              f"{med[k] / med['tabnas random']:.2f} |")


if __name__ == "__main__":
    main()
