"""Regret against simulated time for K simulated asynchronous workers (K = 1, 4, 16).

    python scripts/sim_workers_curves.py [--seeds 50] [--evals 400] [--out FIGURE.png]

Each search has the same number of evaluations; with K workers they overlap on
the simulated clock, so a search reaches a given regret sooner in simulated
time, at the price of deciding with fewer results in hand (REA's population
fills from K-1 fewer observations at each step). Mean over seeds with standard
errors; the x axis is the benchmark's modelled cost (MFLOPs on nb201-analog).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from tabnas.benchmarks import load_benchmark  # noqa: E402
from tabnas.runner import Budget, run_search  # noqa: E402
from tabnas.strategy import STRATEGIES  # noqa: E402

KS = (1, 4, 16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--evals", type=int, default=400)
    ap.add_argument("--out", type=Path, default=Path("docs/figures/sim-workers.png"))
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bench = load_benchmark("nb201-analog")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    print("| strategy | K | simulated time to finish (median) | final test regret (mean) |")
    print("|---|---|---|---|")
    for ax, name in zip(axes, ("random", "rea"), strict=True):
        cls = STRATEGIES.get(name)
        runs = {k: [run_search(bench, cls, s, Budget(evals=args.evals), sim_workers=k).columns
                    for s in range(args.seeds)] for k in KS}
        stop = max(r["cum_cost"][-1] for r in runs[KS[0]])
        # Start where every run has a result, so each mean is over all seeds.
        start = max(r["cum_cost"][0] for rs in runs.values() for r in rs)
        grid = np.geomspace(start, stop, 300)
        for k, rs in runs.items():
            m = np.array([np.asarray(r["regret_test"])[
                np.searchsorted(r["cum_cost"], grid, side="right") - 1] for r in rs])
            mean = m.mean(axis=0)
            se = m.std(axis=0, ddof=1) / np.sqrt(len(rs))
            ax.plot(grid, mean, label=f"K = {k}", drawstyle="steps-post")
            ax.fill_between(grid, mean - se, mean + se, alpha=0.2, lw=0, step="post")
            ends = [r["cum_cost"][-1] for r in rs]
            finals = [r["regret_test"][-1] for r in rs]
            print(f"| {name} | {k} | {np.median(ends):.0f} | {np.mean(finals):.3f} |")
        ax.set(xscale="log", yscale="log", title=f"{name}: {args.evals} evaluations, "
               f"{args.seeds} seeds", xlabel=f"simulated time ({bench.cost_label})")
        ax.legend()
    axes[0].set_ylabel("test regret of incumbent")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
