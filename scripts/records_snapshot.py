"""Snapshot the records of every registered strategy, or compare against a snapshot.

A change to the harness's internals (runner, strategy contract, benchmark
queries) must not change what a study records. This script runs a short study
of every registered strategy (and two Optuna samplers through the bridge) on
``nb201-analog``, ``toy-fidelities`` and ``nbgraph-cora``, one simulated
worker, three seeds, and writes each run's records as Parquet::

    python scripts/records_snapshot.py write /tmp/before     # on the old revision
    python scripts/records_snapshot.py compare /tmp/before   # on the new one

``compare`` checks every column the snapshot has (``overhead_s``, host time,
excepted) for equality, value for value, and ignores columns added since: the
record schema grows only at its end. It exits 1 naming the first runs that
differ, and prints how many runs were equal. Strategies a benchmark cannot
serve (a multi-fidelity strategy on a single-fidelity table) are listed as
not applicable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BENCHMARKS = ("nb201-analog", "toy-fidelities", "nbgraph-cora")
EXTRA = ("optuna:TPESampler(n_startup_trials=5)", "optuna:RandomSampler")
SEEDS = (0, 1, 2)
EVALS = 60


def runs():
    """(file stem, arrow table) of every applicable run; prints what does not apply."""
    from tabnas.benchmarks import load_benchmark
    from tabnas.errors import UserError
    from tabnas.objectives import check_objectives
    from tabnas.results import safe_part
    from tabnas.runner import Budget, run_search
    from tabnas.strategy import STRATEGIES

    for bname in BENCHMARKS:
        bench = load_benchmark(bname)
        for sname in (*STRATEGIES.names(), *EXTRA):
            cls = STRATEGIES.get(sname)
            try:
                cls.check_supported(bench.space, bench.fidelities)
                check_objectives(cls, bench)
            except UserError:
                print(f"not applicable: {sname} on {bname}")
                continue
            for seed in SEEDS:
                records = run_search(bench, cls, seed, Budget(evals=EVALS))
                yield f"{safe_part(bname)}__{safe_part(sname)}__{seed}", records.to_arrow()


def main() -> int:
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("write", "compare"))
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.mode == "write":
        args.folder.mkdir(parents=True, exist_ok=True)
        n = 0
        for stem, table in runs():
            pq.write_table(table, args.folder / f"{stem}.parquet")
            n += 1
        print(f"wrote {n} runs to {args.folder}")
        return 0
    equal, differ, seen = 0, [], set()
    for stem, table in runs():
        seen.add(stem)
        path = args.folder / f"{stem}.parquet"
        if not path.exists():
            differ.append(f"{stem}: not in the snapshot")
            continue
        old = pq.read_table(path)
        cols = [c for c in old.column_names if c != "overhead_s"]
        missing = [c for c in cols if c not in table.column_names]
        if missing:
            differ.append(f"{stem}: columns {missing} are gone")
        elif table.select(cols).equals(old.select(cols)):
            equal += 1
        else:
            bad = [c for c in cols if not table[c].equals(old[c])]
            differ.append(f"{stem}: columns {bad} differ")
    gone = sorted(p.stem for p in args.folder.glob("*.parquet") if p.stem not in seen)
    differ += [f"{stem}: in the snapshot, not run now" for stem in gone]
    print(f"{equal} runs equal in every recorded column, {len(differ)} differ")
    for line in differ[:20]:
        print(f"  {line}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
