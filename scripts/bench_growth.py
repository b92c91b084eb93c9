"""How the per-evaluation cost of the model-based strategies grows with the search.

Each (seed, strategy) pair runs once for the longest budget it is given on
``nb201-analog`` (15,625 cells, so 5000 evaluations never exhaust it); seeds
are the outer loop and strategies the inner one, so machine drift is shared by
all strategies of a seed. The runner times every ``ask`` and ``tell``
(``overhead_s``: model fits and acquisition included), so one run answers every
checkpoint:

- ``mean``: the strategy's time over the first N evaluations divided by N
  (what a user pays per evaluation in a run of N);
- ``marginal``: the mean over the evaluations since the previous checkpoint
  (what the N-th evaluation costs; flat means the cost does not grow).

Peers whose cost grows past practical (Optuna's ``GPSampler`` is already
about 0.1 s per evaluation at 200) are capped with ``--cap NAME=EVALS`` and
their longer checkpoints printed as ``-``. Cells are mean ± standard error over
seeds, in milliseconds.

Usage: ``python scripts/bench_growth.py [--seeds 3] [--evals 200,500,1000,2000,5000]
[--strategies bo,smac,tpe,bananas,optuna:TPESampler,optuna:GPSampler]
[--cap optuna:GPSampler=500]`` (the Optuna rows need Optuna).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

from tabnas.benchmarks import load_benchmark
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES

DEFAULT_CAPS = {"optuna:GPSampler": 500, "optuna:TPESampler": 2000}


def parse_caps(items: list[str]) -> dict[str, int]:
    caps = dict(DEFAULT_CAPS)
    for item in items:
        name, _, evals = item.rpartition("=")
        caps[name] = int(evals)
    return caps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--evals", default="200,500,1000,2000,5000")
    parser.add_argument("--benchmark", default="nb201-analog")
    parser.add_argument("--strategies",
                        default="bo,smac,tpe,bananas,optuna:TPESampler,optuna:GPSampler")
    parser.add_argument("--cap", action="append", default=[],
                        help="NAME=EVALS: run NAME for at most EVALS evaluations")
    args = parser.parse_args()
    checkpoints = sorted(int(e) for e in args.evals.split(","))
    caps = parse_caps(args.cap)
    names = args.strategies.split(",")
    bench = load_benchmark(args.benchmark)
    budget = {n: max([c for c in checkpoints if c <= caps.get(n, checkpoints[-1])],
                     default=checkpoints[0]) for n in names}
    mean = {n: np.full((args.seeds, len(checkpoints)), np.nan) for n in names}
    marginal = {n: np.full((args.seeds, len(checkpoints)), np.nan) for n in names}
    # Imports and first-call set-up (scikit-learn, SciPy, Optuna) are not search cost.
    for name in names:
        run_search(bench, STRATEGIES.get(name), 10**6, Budget(evals=40))
    start = time.perf_counter()
    for i, seed in enumerate(range(args.first_seed, args.first_seed + args.seeds)):
        for name in names:
            t = time.perf_counter()
            cols = run_search(bench, STRATEGIES.get(name), seed,
                              Budget(evals=budget[name])).columns
            print(f"seed {seed} {name}: {budget[name]} evaluations, "
                  f"{time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
            cum = np.concatenate([[0.0], np.cumsum(cols["overhead_s"])])
            prev = 0
            for j, c in enumerate(checkpoints):
                if c <= budget[name]:
                    mean[name][i, j] = cum[c] / c
                    marginal[name][i, j] = (cum[c] - cum[prev]) / (c - prev)
                prev = c
    wall = time.perf_counter() - start
    print(f"# {args.benchmark}, seeds {args.first_seed}..{args.first_seed + args.seeds - 1}; "
          f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{wall:.0f} s in all")
    for title, table in (("mean ms per evaluation over the first N", mean),
                         ("marginal ms per evaluation (since the previous N)", marginal)):
        print(f"\n{title}\n")
        print("| strategy | " + " | ".join(f"N={c}" for c in checkpoints) + " |")
        print("|---|" + "---:|" * len(checkpoints))
        for name in names:
            cells = []
            for j in range(len(checkpoints)):
                col = 1e3 * table[name][:, j]
                if np.isnan(col).all():
                    cells.append("-")
                elif len(col) > 1:
                    cells.append(f"{col.mean():.2f} ± {col.std(ddof=1) / np.sqrt(len(col)):.2f}")
                else:
                    cells.append(f"{col.mean():.2f}")
            print(f"| `{name}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
