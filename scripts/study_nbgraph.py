#!/usr/bin/env python3
"""Every strategy on all 9 NAS-Bench-Graph datasets: a multi-benchmark study with a CD diagram.

The study: each registered strategy that can run on the NAS-Bench-Graph space
(single fidelity: ``sh``, ``hyperband`` and ``bohb`` cannot, and are listed
as skipped) x the 9 ``nbgraph-<dataset>`` benchmarks x ``--seeds`` seeds x
``--evals`` evaluations. Strategies search on ``valid_perf`` and are reported
on ``perf`` (test), as the NAS-Bench-Graph paper (Qin et al., NeurIPS 2022
Datasets and Benchmarks) does. The study runs on ``--workers`` local
processes, is resumable like any study, and ends in ``tabnas report``: curves
per dataset, tables, Holm-corrected paired Wilcoxon tests per dataset, and a
Friedman test with Nemenyi post-hoc and a critical-difference diagram. Its
blocks are ``--blocks`` (default ``seeds``: all 450 (dataset, seed) pairs, as
the committed report has them; ``benchmarks`` takes the 9 datasets, Demšar's
convention and ``tabnas report``'s default for several benchmarks).

    python scripts/study_nbgraph.py                  # 50 seeds x 100 evaluations, 2 workers
    python scripts/study_nbgraph.py --seeds 5 --evals 20 --experiment nbgraph-small

Writes ``results/<experiment>/report.html`` with ``figures/`` and ``tables/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tabnas.errors import UserError  # noqa: E402

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv",
            "proteins")


def runnable_strategies(benchmarks) -> tuple[list[str], dict[str, str]]:
    """Strategies every benchmark supports, and why each other one is skipped."""
    from tabnas.strategy import STRATEGIES

    keep, skipped = [], {}
    for name in STRATEGIES.names():
        try:
            for bench in benchmarks:
                STRATEGIES.get(name).check_supported(bench.space, bench.fidelities)
        except UserError as exc:
            skipped[name] = str(exc)
        else:
            keep.append(name)
    return keep, skipped


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--evals", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--experiment", default="nbgraph-study")
    p.add_argument("--blocks", choices=("seeds", "benchmarks"), default="seeds",
                   help="Friedman/Nemenyi blocks (default: seeds, (dataset, seed) pairs)")
    p.add_argument("--results-dir", type=Path, default=REPO / "results")
    args = p.parse_args(argv)
    try:
        from tabnas.benchmarks import load_benchmark
        from tabnas.report import build_report
        from tabnas.runner import Budget
        from tabnas.study import Study, run_study

        names = [f"nbgraph-{d}" for d in DATASETS]
        strategies, skipped = runnable_strategies([load_benchmark(n) for n in names])
        for name, why in skipped.items():
            print(f"note: {name} skipped: {why}")
        study = Study(experiment=args.experiment, benchmarks=names, strategies=strategies,
                      seeds=list(range(args.seeds)), budget=Budget(evals=args.evals),
                      results_dir=args.results_dir)
        print(f"{args.experiment}: {len(strategies)} strategies x {len(names)} datasets x "
              f"{args.seeds} seeds x {args.evals} evaluations")
        counts = run_study(study, workers=args.workers).counts
        print(f"{counts['ran']} runs done, {counts['skipped']} already complete, "
              f"{counts['failed']} failed")
        print(f"report: {build_report(study.exp_dir, blocks=args.blocks)}")
    except UserError as exc:
        print(f"study_nbgraph: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
