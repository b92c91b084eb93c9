#!/usr/bin/env python3
"""What naming a table's space buys: the same CSV searched as NAS-Bench-201 cells and as names.

``nb201-analog`` is exported to one CSV of official architecture strings and
read through two specs: ``space = "nb201"``, and a bare ``arch`` column with
``unstructured = true`` (without the opt-in, REA, BO and BANANAS refuse the
bare column). Measured side by side, the two specs interleaved run by run:

- how many of REA's proposals after its first ``--initial`` evaluations are
  one edge edit away from an architecture it evaluated earlier (a mutation in
  the cell space always is; a "mutation" of a name is a uniform draw);
- REA's final test regret over ``--seeds`` paired seeds (Wilcoxon signed-rank);
- host seconds per run of BO and BANANAS, the model-based strategies whose
  encoding is the space's (30 features against a 15,625-wide one-hot).

    python scripts/bench_table_spaces.py --seeds 100 --evals 200 --timed-seeds 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def export(folder: Path) -> tuple[str, str]:
    """Write the CSV and both specs; returns the two ``table:`` names."""
    import pandas as pd

    from tabnas.benchmarks import load_benchmark

    bench = load_benchmark("nb201-analog")
    space = bench.space
    pd.DataFrame({"arch_str": [space.to_string(space.arch_at(i)) for i in range(space.size)],
                  "acc": bench.values[:, 0, 0], "mflops": bench.costs[:, 0, 0]}
                 ).to_csv(folder / "nb201.csv", index=False)
    common = ('table = "nb201.csv"\narch = "arch_str"\nvalue = "acc"\ncost = "mflops"\n'
              'cost_label = "MFLOPs (modelled)"\n')
    (folder / "named.toml").write_text('name = "named"\nspace = "nb201"\n' + common)
    (folder / "flat.toml").write_text('name = "flat"\nunstructured = true\n' + common)
    return f"table:{folder / 'named.toml'}", f"table:{folder / 'flat.toml'}"


def one_edit_share(archs: list[str], initial: int) -> tuple[int, int]:
    """(proposals one edit from an earlier one, proposals) after the first ``initial``."""
    from tabnas.spaces.nb201 import string_to_arch

    cells = [string_to_arch(a) for a in archs]
    near = 0
    for i in range(initial, len(cells)):
        near += any(sum(x != y for x, y in zip(cells[i], c, strict=True)) == 1
                    for c in cells[:i])
    return near, len(cells) - initial


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from scipy.stats import wilcoxon

    from tabnas.benchmarks import load_benchmark
    from tabnas.runner import Budget, run_search
    from tabnas.strategy import STRATEGIES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--evals", type=int, default=200)
    p.add_argument("--initial", type=int, default=None,
                   help="proposals not counted: REA's random population fill (default: its "
                        "population size)")
    p.add_argument("--timed-seeds", type=int, default=2)
    p.add_argument("--timed-evals", type=int, default=30)
    args = p.parse_args(argv)
    rea = STRATEGIES.get("rea")
    if args.initial is None:
        args.initial = rea.hyperparameters["population"].default
    with tempfile.TemporaryDirectory() as tmp:
        names = export(Path(tmp))
        benches = {n.split("/")[-1].removesuffix(".toml"): load_benchmark(n) for n in names}
    share = {k: [0, 0] for k in benches}
    regret: dict[str, list[float]] = {k: [] for k in benches}
    for seed in range(args.seeds):
        for label, bench in benches.items():  # interleaved: same seed, one then the other
            cols = run_search(bench, rea, seed, Budget(evals=args.evals)).columns
            near, total = one_edit_share(cols["arch"], args.initial)
            share[label][0] += near
            share[label][1] += total
            regret[label].append(cols["regret_test"][-1])
    print(f"REA, {args.seeds} seeds x {args.evals} evaluations, same CSV:")
    for label in benches:
        near, total = share[label]
        r = np.asarray(regret[label])
        print(f"  {label:>5}: {near / total:6.1%} of {total} proposals one edit from an earlier "
              f"one; final test regret {r.mean():.3f} ± {r.std(ddof=1) / np.sqrt(len(r)):.3f}")
    diff = np.asarray(regret["flat"]) - np.asarray(regret["named"])
    if np.any(diff != 0):
        res = wilcoxon(regret["named"], regret["flat"])
        print(f"  paired Wilcoxon named vs flat: p = {res.pvalue:.2g} "
              f"(named better on {(diff > 0).sum()} seeds, worse on {(diff < 0).sum()})")
    if args.timed_seeds < 1:
        return 0
    print(f"host seconds per run, {args.timed_seeds} seeds x {args.timed_evals} evaluations "
          "(interleaved):")
    for strategy in ("bo", "bananas"):
        cls = STRATEGIES.get(strategy)
        spent = {k: [] for k in benches}
        for seed in range(args.timed_seeds):
            for label, bench in benches.items():
                t0 = time.perf_counter()
                run_search(bench, cls, seed, Budget(evals=args.timed_evals))
                spent[label].append(time.perf_counter() - t0)
        named, flat = np.mean(spent["named"]), np.mean(spent["flat"])
        print(f"  {strategy:>8}: named {named:.2f} s, flat {flat:.2f} s ({flat / named:.0f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
