"""Every tabnas strategy and Optuna's TPE and random samplers, side by side on nb201-analog.

One process runs every (seed, strategy) pair on ``nb201-analog`` (baseline
accuracy), seeds in the outer loop so machine drift is shared by all
strategies. Each run uses the harness's paired seeding: for a given seed every
strategy sees the same benchmark stream. Multi-fidelity strategies are listed
as not applicable (the table has one fidelity).

Reported per strategy: mean ± standard error over seeds of the *test* regret
of the incumbent (chosen on the searched value; on nb201-analog the two are
the same number) after 25, 50, 100, 150 (the BANANAS paper's budget) and 200
evaluations; a paired one-sided Wilcoxon test against ``random`` at 100
evaluations; how many runs end at the table's test optimum (regret 0); and the
median over runs of the strategy's overhead per evaluation (time inside
``ask`` and ``tell`` over the whole run divided by its evaluations: model fits
included). Where the searched value differs from the test value
(NAS-Bench-Graph: validation vs test accuracy), a second table gives the
*validation* regret of the same runs.

Usage: ``python scripts/compare_strategies.py [--seeds 50] [--evals 200]
[--benchmark nb201-analog] [--strategies bo,bananas,bananas-published]
[--hp bananas-published.perfect_score=1]``
(registered names, each with its declared defaults unless ``--hp`` sets one, as
``tabnas run --hp`` does; a variant that is to run
beside its method is registered under its own name, as ``bananas-published``
is; needs Optuna for the two Optuna rows: ``pip install optuna``). Another
table (``--benchmark nbgraph-cora``) checks that a change made for one table
carries over; strategies lacking an operation that space provides are listed
as not applicable.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tabnas.benchmarks import load_benchmark  # noqa: E402
from tabnas.errors import UserError  # noqa: E402
from tabnas.runner import Budget, run_search  # noqa: E402
from tabnas.strategy import STRATEGIES, parse_hyperparameters  # noqa: E402

OPTUNA = ("optuna:TPESampler", "optuna:RandomSampler")
CHECKPOINTS = (25, 50, 100, 150, 200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--evals", type=int, default=200)
    parser.add_argument("--benchmark", default="nb201-analog")
    parser.add_argument("--strategies", default=",".join([*STRATEGIES.names(), *OPTUNA]))
    parser.add_argument("--hp", action="append", default=[], metavar="STRATEGY.NAME=VALUE")
    args = parser.parse_args()
    bench = load_benchmark(args.benchmark)
    hps: dict[str, dict[str, str]] = {}
    for key, value in parse_hyperparameters(args.hp).items():
        strat, _, name = key.rpartition(".")
        hps.setdefault(strat, {})[name] = value
    if unknown := sorted(set(hps) - set(args.strategies.split(","))):
        parser.error(f"--hp for {', '.join(unknown) or '(no strategy)'}, not among --strategies; "
                     "write STRATEGY.NAME=VALUE")
    names, skipped = [], []
    for name in args.strategies.split(","):
        cls = STRATEGIES.get(name)
        try:
            cls.check_supported(bench.space, bench.fidelities)
        except UserError:
            skipped.append(name)
            continue
        names.append(name)
    checkpoints = [c for c in CHECKPOINTS if c <= args.evals]
    regret = {n: np.full((args.seeds, len(checkpoints)), np.nan) for n in names}
    regret_value = {n: np.full((args.seeds, len(checkpoints)), np.nan) for n in names}
    overhead = {n: np.full(args.seeds, np.nan) for n in names}
    start = time.perf_counter()
    for seed in range(args.seeds):
        for name in names:
            cols = run_search(bench, STRATEGIES.get(name), seed, Budget(evals=args.evals),
                              hyperparameters=hps.get(name)).columns
            regret[name][seed] = [cols["regret_test"][c - 1] for c in checkpoints]
            regret_value[name][seed] = [cols["regret_value"][c - 1] for c in checkpoints]
            overhead[name][seed] = sum(cols["overhead_s"]) / len(cols["overhead_s"])
    wall = time.perf_counter() - start

    set_hps = "".join(f"; --hp {k}={v}" for k, v in parse_hyperparameters(args.hp).items())
    print(f"# {args.benchmark}, {args.seeds} seeds x {args.evals} evaluations{set_hps}; "
          f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{wall:.0f} s in all")
    print_table("test regret", regret, checkpoints, overhead)
    if any(not np.array_equal(regret[n], regret_value[n]) for n in names):
        print_table("validation (searched value) regret", regret_value, checkpoints, overhead)
    if skipped:
        print(f"\nNot applicable (the table lacks what they need): {', '.join(skipped)}")


def print_table(title: str, regret: dict[str, np.ndarray], checkpoints: list[int],
                overhead: dict[str, np.ndarray]) -> None:
    print(f"\n{title}\n")
    head = " | ".join(f"regret @{c}" for c in checkpoints)
    print(f"| strategy | {head} | p vs random @100 | at optimum @{checkpoints[-1]} "
          "| median overhead ms / eval |")
    print("|---|" + "---:|" * (len(checkpoints) + 3))
    at100 = checkpoints.index(100) if 100 in checkpoints else None
    for name in sorted(regret, key=lambda n: np.mean(regret[n][:, -1])):
        r = regret[name]
        cells = " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in
                           zip(r.mean(0), r.std(0, ddof=1) / np.sqrt(len(r)), strict=True))
        p = "n/a"
        if at100 is not None and name != "random" and "random" in regret:
            mine, base = r[:, at100], regret["random"][:, at100]
            p = "1" if not (mine - base).any() else (
                f"{wilcoxon(mine, base, alternative='less').pvalue:.1e}")
        found = int((r[:, -1] <= 0).sum())
        print(f"| `{name}` | {cells} | {p} | {found}/{len(r)} "
              f"| {1e3 * np.median(overhead[name]):.3f} |")


if __name__ == "__main__":
    main()
