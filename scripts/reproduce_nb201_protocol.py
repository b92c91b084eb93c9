#!/usr/bin/env python3
"""Reproduce the NAS-Bench-201 paper's comparison of random search, REA, REINFORCE and BOHB.

Protocol (Dong & Yang, ICLR 2020, section 5 and its scripts): each search runs
on a simulated clock of 12,000 seconds (CIFAR-10), searches on validation
accuracy, and reports the test accuracy of the architecture it returns; 500
runs per strategy; REA with population 10 and tournament size 3. The published
mean ± std over runs are in ``results/published/nb201_table5.json``.

On the official file (``--benchmark nb201/cifar10-valid --data FILE``, or a
``nats-tss/*`` benchmark) the search runs on the 12-epoch schedule (its
validation accuracy, fidelities 1..12 for BOHB, and its training time as the
cost) and reports the 200-epoch seed-averaged test accuracy of the returned
architecture, as the paper does (options ``schedule=12``,
``report_schedule=200``; ``--option`` overrides them); the budget is the
paper's 12,000 s of recorded training time. On the shipped ``nb201-analog``
table there is no training time: the cost is modelled (forward MFLOPs), and
the budget is ``--evals-equivalent``
(default 100) times the table's mean cost per evaluation, i.e. the spend that
allows that many average architectures. Its accuracies are a different
training of the same 15,625 cells, so compare the *gap to the table's optimum*
as well as the raw accuracies (the report prints both).

Any benchmark runs the protocol, a user table (``table:PATH``) included: a
NAS-Bench-201 table brought as CSV with ``space = "nb201"`` in its spec is
searched in the real cell space. ``--strategy`` adds strategies beyond the
paper's four (``all``: every registered one); ``--expensive-runs`` gives the
strategies other than random search, REA and REINFORCE fewer runs, as the
paper did for its expensive methods. Strategies that are not registered in
this installation, or that need what the benchmark lacks (BOHB needs
fidelities, which ``nb201-analog`` does not have), are skipped with a note. The script writes
``results/<experiment>/report.html`` (``tabnas report``) with the published
comparison added, and
``results/<experiment>/published_comparison.{md,csv}``.

    python scripts/reproduce_nb201_protocol.py                       # nb201-analog, 500 runs
    python scripts/reproduce_nb201_protocol.py --benchmark nb201/cifar10-valid --data FILE
    python scripts/reproduce_nb201_protocol.py --benchmark table:my-nb201 --strategy all \
        --expensive-runs 100
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tabnas.errors import UserError  # noqa: E402

PUBLISHED = REPO / "results" / "published" / "nb201_table5.json"
PAPER_STRATEGIES = ("random", "rea", "reinforce", "bohb")
#: The paper ran 500 searches of these cheap methods; ``--expensive-runs`` is for the rest.
CHEAP_STRATEGIES = ("random", "rea", "reinforce")
#: Hyperparameters the paper's scripts used, applied where the strategy declares them.
PAPER_HYPERPARAMETERS = {"rea": {"population": 10, "sample": 3},
                         "reinforce": {"learning_rate": 0.001, "baseline_momentum": 0.9}}
PAPER_BUDGET_SECONDS = 12_000.0
#: The paper searches on the 12-epoch schedule and reports the 200-epoch one.
PAPER_SCHEDULES = {"schedule": 12, "report_schedule": 200}
#: Benchmark families whose official files hold both schedules.
PAPER_FAMILIES = ("nb201", "nats-tss")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--benchmark", default="nb201-analog")
    p.add_argument("--data", default=None, help="the benchmark's data file (official tables)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="benchmark option, e.g. --option schedule=200 (repeatable)")
    p.add_argument("--runs", type=int, default=500, help="seeds per strategy (paper: 500)")
    p.add_argument("--strategy", default=",".join(PAPER_STRATEGIES),
                   help="comma-separated strategies (default: the paper's four; 'all': every "
                        "registered strategy)")
    p.add_argument("--expensive-runs", type=int, default=None,
                   help="seeds for strategies other than " + ", ".join(CHEAP_STRATEGIES)
                        + " (default: --runs)")
    p.add_argument("--budget-cost", type=float, default=None,
                   help="simulated cost per run (default: 12000 s on measured-time tables, "
                        "--evals-equivalent x mean cost on modelled-cost tables)")
    p.add_argument("--evals-equivalent", type=float, default=100.0,
                   help="modelled-cost tables: budget = this many evaluations of mean cost")
    p.add_argument("--experiment", default=None,
                   help="default: nb201-protocol-<benchmark name, as a folder name>")
    p.add_argument("--results-dir", type=Path, default=REPO / "results")
    return p.parse_args(argv)


def default_budget(bench, evals_equivalent: float) -> tuple[float, str]:
    """The paper's 12,000 s where cost is measured time, else a modelled equivalent."""
    import numpy as np

    if "modelled" not in bench.cost_label.lower():
        return PAPER_BUDGET_SECONDS, f"{PAPER_BUDGET_SECONDS:g} ({bench.cost_label}; the paper's)"
    costs = getattr(bench, "costs", None)
    if costs is None:
        raise UserError(f"{bench.name} has a modelled cost and no cost table; give --budget-cost")
    mean = float(np.nanmean(np.asarray(costs)[..., -1]))
    budget = evals_equivalent * mean
    return budget, (f"{budget:.6g} {bench.cost_label} = {evals_equivalent:g} x the mean cost "
                    f"of one evaluation ({mean:.4g})")


def default_experiment(bench_name: str, benchmark: str) -> str:
    """``nb201-protocol-<name>``, valid for any benchmark: a user table by its spec name."""
    name = ("table-" + bench_name) if benchmark.startswith("table:") else benchmark
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "benchmark"
    return ("nb201-protocol-" + name)[:100]


def paper_options(benchmark: str, given: dict) -> dict:
    """The paper's schedules on the official NAS-Bench-201 / NATS-Bench topology files.

    Options the user gave win; other benchmarks (``nb201-analog``) keep theirs.
    """
    if benchmark.split("/", 1)[0] not in PAPER_FAMILIES:
        return given
    return {**PAPER_SCHEDULES, **given}


def comparison(df, published: dict, optimum: float):
    """Side by side: published mean ± std and this reproduction's, and both gaps to optimum."""
    import pandas as pd

    from tabnas.statistics import final_rows

    final = final_rows(df)
    rows = []
    others = sorted(set(final["strategy"]) - set(PAPER_STRATEGIES))
    for strat in (*PAPER_STRATEGIES, *others):
        pub = published["results"].get(strat)
        got = final[final["strategy"] == strat]["incumbent_test"].to_numpy(float)
        rows.append({
            "strategy": strat,
            "published mean": pub["mean"] if pub else None,
            "published std": pub["std"] if pub else None,
            "published gap to optimum": (round(published["optimum"] - pub["mean"], 2)
                                         if pub else None),
            "runs": len(got),
            "reproduced mean": round(float(got.mean()), 2) if len(got) else None,
            "reproduced std": round(float(got.std(ddof=1)), 2) if len(got) > 1 else None,
            "reproduced gap to optimum": round(optimum - float(got.mean()), 2)
            if len(got) else None,
        })
    return pd.DataFrame(rows)


def comparison_markdown(table, published: dict, benchmark: str, optimum: float,
                        budget_text: str, reported_at: str = "") -> str:
    import pandas as pd

    def fmt(v):
        return "–" if pd.isna(v) else f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = [
        f"Published: {published['citation']} ({published['table']}); "
        f"{published['metric']}. Table optimum there: {published['optimum']:.2f}.",
        "",
        f"Reproduced on `{benchmark}` (optimum {optimum:.2f}), budget {budget_text}"
        + (f"; reported: {reported_at}." if reported_at else "."),
        "",
        "| strategy | published | gap (published) | runs | reproduced | gap (reproduced) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in table.itertuples(index=False):
        pub = "–" if pd.isna(r[1]) else f"{r[1]:.2f} ± {r[2]:.2f}"
        rep = ("not run (not registered or not applicable)" if pd.isna(r[5])
               else f"{r[5]:.2f} ± {fmt(r[6])}")
        lines.append(f"| {r[0]} | {pub} | {fmt(r[3])} | {r[4]} | {rep} | {fmt(r[7])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _main(args)
    except UserError as exc:
        print(f"reproduce_nb201_protocol: error: {exc}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    import html

    from tabnas.benchmarks import resolve_benchmark
    from tabnas.cache import atomic_write_bytes
    from tabnas.objectives import check_objectives
    from tabnas.report import compute_report, write_report
    from tabnas.results import load_results
    from tabnas.runner import Budget
    from tabnas.strategy import STRATEGIES, parse_hyperparameters
    from tabnas.study import Study, run_study

    if args.runs < 1:
        raise UserError(f"--runs must be >= 1, got {args.runs}")
    expensive_runs = args.runs if args.expensive_runs is None else args.expensive_runs
    if expensive_runs < 1:
        raise UserError(f"--expensive-runs must be >= 1, got {expensive_runs}")
    published = json.loads(PUBLISHED.read_text())
    registered = set(STRATEGIES.names())
    wanted = (STRATEGIES.names() if args.strategy.strip() == "all"
              else [s.strip() for s in args.strategy.split(",") if s.strip()])
    strategies = [s for s in wanted if s in registered]
    for s in wanted:
        if s not in registered:
            print(f"note: strategy {s!r} is not registered in this installation; skipped")
    options = paper_options(args.benchmark, dict(parse_hyperparameters(args.option)))
    bench = resolve_benchmark(args.benchmark).load(data=args.data, **options)
    if args.budget_cost is not None:
        budget, budget_text = args.budget_cost, f"{args.budget_cost:g} {bench.cost_label}"
    else:
        budget, budget_text = default_budget(bench, args.evals_equivalent)
    for s in list(strategies):
        try:
            STRATEGIES.get(s).check_supported(bench.space, bench.fidelities)
            check_objectives(STRATEGIES.get(s), bench)
        except UserError as exc:
            print(f"note: strategy {s!r} cannot run on {args.benchmark}; skipped ({exc})")
            strategies.remove(s)
    hps = {}
    for s in strategies:
        declared = getattr(STRATEGIES.get(s), "hyperparameters", {})
        given = {k: v for k, v in PAPER_HYPERPARAMETERS.get(s, {}).items() if k in declared}
        if given:
            hps[s] = given
    experiment = args.experiment or default_experiment(bench.name, args.benchmark)
    groups = [([s for s in strategies if s in CHEAP_STRATEGIES], args.runs),
              ([s for s in strategies if s not in CHEAP_STRATEGIES], expensive_runs)]
    if expensive_runs == args.runs:
        groups = [(strategies, args.runs)]
    counts = {"ran": 0, "skipped": 0}
    for group, runs in groups:
        if not group:
            continue
        study = Study(experiment=experiment, benchmarks=[args.benchmark], strategies=group,
                      seeds=list(range(runs)), budget=Budget(cost=budget),
                      results_dir=args.results_dir,
                      hyperparameters={s: h for s, h in hps.items() if s in group},
                      benchmark_options=options, data=args.data)
        print(f"{experiment}: {', '.join(group)} x {runs} runs on {args.benchmark}, "
              f"budget {budget_text}")
        if bench.reported_at:
            print(f"searched: {bench.value_label}, fidelities {bench.info()['fidelities']}; "
                  f"reported: {bench.test_label}, {bench.reported_at}")
        done = run_study(study).counts
        counts = {k: counts[k] + done[k] for k in counts}
    print(f"{counts['ran']} runs done, {counts['skipped']} already complete")

    df = load_results(study.exp_dir)
    optimum = bench.optimum().test_value
    table = comparison(df, published, optimum)
    md = comparison_markdown(table, published, args.benchmark, optimum, budget_text,
                             bench.reported_at)
    atomic_write_bytes(study.exp_dir / "published_comparison.md",
                       lambda tmp: tmp.write_text(md + "\n"))
    atomic_write_bytes(study.exp_dir / "published_comparison.csv",
                       lambda tmp: table.to_csv(tmp, index=False))
    print(md)
    try:
        rep = compute_report(study.exp_dir)
    except UserError as exc:  # e.g. strategies with different numbers of runs
        print(f"note: no HTML report ({exc}); the comparison is in "
              f"{study.exp_dir / 'published_comparison.md'}")
        return 0
    rep.extra_sections.append((
        "Comparison with the published numbers",
        "<pre>" + html.escape(md) + "</pre>",
    ))
    path = write_report(rep, study.exp_dir)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
