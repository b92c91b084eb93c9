"""The ``tabnas`` command line.

Heavy libraries are imported inside the command functions, so ``tabnas --help``
answers in a fraction of a second. A :class:`~tabnas.errors.UserError`
becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabnas.errors import UserError, os_error_line, os_reason

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_BENCHMARK = "nb201-analog"
DEFAULT_STRATEGIES = "random,rea"
DEFAULT_SEEDS = 20
DEFAULT_EVALS = 200
DEFAULT_EXPERIMENT = "default"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _seed_selection(text: str) -> list[int]:
    """``--seeds`` of stats/report: N (seeds 0..N-1, as ``tabnas run --seeds N``), or
    seeds and ranges such as ``0-9,20`` (one seed alone: ``5-5``)."""
    try:
        if "," not in text and "-" not in text:
            n = int(text)
            if n <= 0:
                raise ValueError
            return list(range(n))
        seeds: set[int] = set()
        for part in filter(None, (p.strip() for p in text.split(","))):
            lo, dash, hi = part.partition("-")
            a, b = int(lo), int(hi) if dash else int(lo)
            if a < 0 or b < a:
                raise ValueError
            seeds.update(range(a, b + 1))
        if not seeds:
            raise ValueError
        return sorted(seeds)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected N (seeds 0..N-1) or seeds and ranges like 0-9,20, got {text!r}"
        ) from None


def _stats_args(p: argparse.ArgumentParser) -> None:
    """Options that stats and report share (checked where used: see :func:`_check_stats_args`)."""
    p.add_argument("--seeds", type=_seed_selection, default=None, metavar="N|LIST",
                   help="use only these seeds: N (seeds 0..N-1) or a list like 0-9,20 "
                        "(default: every seed that ran)")
    p.add_argument("--wilcoxon", default="auto", metavar="METHOD",
                   help="p-values of the signed-rank test: exact, asymptotic (normal "
                        "approximation), or auto (exact up to 50 seeds; default)")
    p.add_argument("--alpha", type=_positive_float, default=0.05,
                   help="significance level of the tests (default: 0.05)")


def _check_stats_args(args: argparse.Namespace) -> None:
    from tabnas.significance import WILCOXON_METHODS
    from tabnas.statistics import BLOCK_CHOICES

    if not 0 < args.alpha < 1:
        raise UserError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if args.wilcoxon not in WILCOXON_METHODS:
        raise UserError(f"--wilcoxon {args.wilcoxon}: use one of {', '.join(WILCOXON_METHODS)}")
    if getattr(args, "blocks", "auto") not in BLOCK_CHOICES:
        raise UserError(f"--blocks {args.blocks}: use one of {', '.join(BLOCK_CHOICES)}")


def _option_value(text: str) -> Any:
    """A ``--option`` value: an int, float or bool where the text looks like one, else text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if value == value and abs(value) != float("inf"):  # "nan"/"inf" stay text
            return value
    return text


def _option_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="benchmark loader option, e.g. --option epochs=2 for mnist-mlp "
                        "(repeatable; a KEY the benchmark lacks is an error listing its options)")


def _benchmark_options(args: argparse.Namespace) -> dict[str, Any]:
    """Loader options from ``--option KEY=VALUE`` and the dedicated flags (``--schedule``, ...).

    The loader checks them: an unknown option is a one-line error naming the valid ones.
    """
    from tabnas.strategy import parse_hyperparameters

    options = {key: _option_value(value)
               for key, value in parse_hyperparameters(args.option, what="--option").items()}
    if "data" in options:
        raise UserError("--option data=...: give the data path with --data")
    for key in ("objective", "seed_mode", "schedule"):
        value = getattr(args, key, None)
        if value is None or (key == "objective" and "," in value):
            continue  # several objectives name a multi-objective benchmark: _benchmark_names
        if key in options:
            flag = "--" + key.replace("_", "-")
            raise UserError(f"{key} is given twice ({flag} and --option {key}=...); give it once")
        options[key] = value
    return options


def _benchmark_names(args: argparse.Namespace, names: list[str]) -> list[str]:
    """``--objective A,B`` (two or more) turns each benchmark into ``NAME:A+B``."""
    objective = getattr(args, "objective", None)
    if objective is None or "," not in objective:
        return names
    from tabnas.objectives import split_name, with_objectives

    for name in names:
        if split_name(name) is not None:
            raise UserError(f"--objective {objective} and {name} both name "
                            "objectives; give them once")
    return with_objectives(names, objective)


def split_names(text: str) -> list[str]:
    """Split a comma-separated list, keeping commas inside parentheses.

    ``"rea,optuna:TPESampler(gamma=0.1, n_startup_trials=5)"`` is two names.
    """
    names, depth, current = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            names.append("".join(current))
            current = []
        else:
            current.append(ch)
    names.append("".join(current))
    return [n.strip() for n in names if n.strip()]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one line (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # main() prefixes "tabnas: error: "; a subcommand's name stays in front.
        where = self.prog.removeprefix("tabnas").strip()
        raise UserError(f"{where}: {message}" if where else message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tabnas",
        description="Compare NAS search strategies on tabular NAS benchmarks.",
    )
    from tabnas import __version__

    parser.add_argument("--version", action="version", version=f"tabnas {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def results_arg(p, default: Path | None = Path("results")):
        p.add_argument("--results-dir", type=Path, default=default,
                       help="folder holding experiments (default: ./results)")

    p = sub.add_parser("run", help="run a strategy comparison (default: random vs rea on "
                                   "nb201-analog, 20 seeds x 200 evaluations)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="run the study a file describes: a study TOML file, or an "
                        "experiment's manifest.json to replay it (with --experiment NEW)")
    p.add_argument("--benchmark", default=None,
                   help=f"benchmark name(s), comma-separated (default: {DEFAULT_BENCHMARK})")
    p.add_argument("--strategy", default=None,
                   help=f"strategies, comma-separated: names, path/to/file.py[:Class] or "
                        f"package.module:Class (default: {DEFAULT_STRATEGIES})")
    p.add_argument("--seeds", type=_positive_int, default=None,
                   help=f"number of seeds, 0..N-1 (default: {DEFAULT_SEEDS})")
    p.add_argument("--budget-evals", type=_positive_int, default=None,
                   help=f"evaluations per run (default: {DEFAULT_EVALS} unless "
                        "--budget-cost is given)")
    p.add_argument("--budget-cost", type=_positive_float, default=None,
                   help="cumulative simulated cost per run, in the benchmark's cost unit")
    p.add_argument("--experiment", default=None,
                   help=f"experiment name (default: {DEFAULT_EXPERIMENT})")
    p.add_argument("--hp", action="append", default=[], metavar="STRATEGY.NAME=VALUE",
                   help="strategy hyperparameter, e.g. --hp rea.population=50 (repeatable)")
    p.add_argument("--objective", default=None,
                   help="benchmark metric to search on; two or more, comma-separated "
                        "(accuracy,latency), make each benchmark multi-objective "
                        "(same as --benchmark NAME:accuracy+latency)")
    p.add_argument("--seed-mode", choices=("sample", "mean"), default=None,
                   help="multi-seed tables: answer with one recorded seed per cell "
                        "(sample, default) or the seed mean")
    p.add_argument("--data", default=None, help="path to the benchmark's data file or folder")
    p.add_argument("--schedule", default=None,
                   help="training schedule of NAS-Bench-201/NATS-Bench tables, in epochs "
                        "(nb201, nats-tss: 12 or 200; nats-sss: 01, 12 or 90; default longest); "
                        "--option report_schedule=E reports another schedule's final accuracy")
    _option_arg(p)
    p.add_argument("--no-report", action="store_true", help="skip the stats table and plots")
    p.add_argument("--html", action="store_true",
                   help="also write the HTML report (as 'tabnas report' does), from the same "
                        "read of the results and the regret figures already drawn")
    p.add_argument("--redo-damaged", action="store_true",
                   help="move damaged or foreign run files to the experiment's damaged/ "
                        "folder and compute those runs again (without it, such a file stops "
                        "the run with a message naming it)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="run on N local processes (default: 1, in this process)")
    p.add_argument("--dask", default=None, metavar="ADDRESS|local:N",
                   help="run on a Dask cluster: a scheduler address (tcp://host:8786) or "
                        "local:N to start N local worker processes")
    p.add_argument("--chunk-size", type=_positive_int, default=None,
                   help="runs per task sent to a worker (default: about 8 tasks per worker)")
    p.add_argument("--run-timeout", type=_positive_float, default=None, metavar="SECONDS",
                   help="stop a run after this many host seconds and record it as failed")
    p.add_argument("--sim-workers", type=_positive_int, default=None, metavar="K",
                   help="simulate K asynchronous parallel workers per search on the "
                        "benchmark's simulated clock (default: 1, sequential)")
    p.add_argument("--mf-cost", default=None, metavar="restart|continue",
                   help="what a multi-fidelity promotion pays: restart (the full cost of its "
                        "fidelity, default) or continue (resume the continued trial: only "
                        "the cost it adds)")
    results_arg(p, default=None)

    sub.add_parser("list", help="list benchmarks, strategies and search spaces")

    p = sub.add_parser("info", help="describe a benchmark")
    p.add_argument("benchmark")
    p.add_argument("--objective", default=None,
                   help="objectives, comma-separated, for a multi-objective benchmark")
    p.add_argument("--data", default=None, help="path to the benchmark's data")
    p.add_argument("--schedule", default=None, help="training schedule (see run --schedule)")
    p.add_argument("--seed-mode", choices=("sample", "mean"), default=None,
                   help="answer with one recorded seed per cell or the seed mean")
    _option_arg(p)

    p = sub.add_parser("prepare", help="convert a benchmark's official data into the cache")
    p.add_argument("benchmark", help="e.g. nb201/cifar10 (converts every dataset of the file)")
    p.add_argument("--data", default=None, help="path to the official file or folder")
    _option_arg(p)

    p = sub.add_parser("plot", help="plot regret curves of an experiment")
    p.add_argument("experiment")
    _plot_args(p)
    results_arg(p)

    p = sub.add_parser("stats", help="final-regret statistics of an experiment, the "
                                     "architectures found and the test values reached")
    p.add_argument("experiment")
    _stats_args(p)
    results_arg(p)

    p = sub.add_parser("report", help="write one self-contained HTML report of an experiment "
                                      "(figures, tables, statistical tests, configuration)")
    p.add_argument("experiment")
    p.add_argument("--at-evals", type=_positive_int, default=None,
                   help="compare strategies after N evaluations (default: end of each run)")
    p.add_argument("--at-cost", type=_positive_float, default=None,
                   help="compare strategies at this cumulative simulated cost")
    _stats_args(p)
    p.add_argument("--blocks", default="auto", metavar="BLOCKS",
                   help="blocks of the Friedman/Nemenyi test: benchmarks (the mean over "
                        "seeds per benchmark), seeds ((benchmark, seed) pairs), or auto: "
                        "benchmarks when there are several, else seeds (default)")
    p.add_argument("--rope", type=_positive_float, default=None, metavar="R",
                   help="add Bayesian signed-rank tests of the best against each other "
                        "strategy, with differences within +-R regret counted as equivalent "
                        "(needs baycomp: pip install 'tabnas[bayes]')")
    p.add_argument("--format", type=_choices(("png", "pdf", "svg")), default=("png",),
                   metavar="FORMATS",
                   help="figure files written beside the page, comma-separated (default: "
                        "png, which the page embeds; png,pdf,svg for papers)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="HTML file to write (default: results/EXPERIMENT/report.html)")
    results_arg(p)

    p = sub.add_parser("status", help="runs of an experiment that are done, failed, running, "
                                      "missing")
    p.add_argument("experiment")
    results_arg(p)

    p = sub.add_parser("tabulate", help="train every architecture of a live benchmark and "
                                        "write a table (spec.toml + table.parquet)")
    p.add_argument("benchmark", help="a live benchmark: mnist-mlp or mnist-mlp-shared")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="output folder; rerun the same command to resume")
    p.add_argument("--seeds", type=_positive_int, default=3,
                   help="training seeds 0..N-1 per architecture (default: 3)")
    p.add_argument("--epochs", default="1-10",
                   help="epochs the table records, FIRST-LAST or LAST (default: 1-10)")
    p.add_argument("--data", default=None,
                   help="folder of MNIST-format IDX files (default: the shipped 5,000 digits)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")

    p = sub.add_parser("export", help="export an experiment's per-evaluation rows")
    p.add_argument("experiment")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="output file, .csv or .parquet")
    results_arg(p)
    return parser


#: ``tabnas run`` flags that define the study, which ``--config`` defines instead.
_STUDY_FLAGS = ("benchmark", "strategy", "seeds", "budget_evals", "budget_cost", "hp",
                "objective", "seed_mode", "data", "schedule", "option", "sim_workers",
                "mf_cost", "run_timeout")


def cmd_run(args: argparse.Namespace) -> int:
    if args.html and args.no_report:
        raise UserError("--html cannot be combined with --no-report: the report is made "
                        "with the stats table and plots; drop one of them")
    if args.config is not None:
        given = [f for f in _STUDY_FLAGS if getattr(args, f) not in (None, [])]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise UserError(f"{flag} cannot be combined with --config: set it in "
                            f"{args.config} instead")
        from tabnas.config import run_study_file

        try:
            exp = run_study_file(args.config, experiment=args.experiment,
                                 results_dir=args.results_dir, workers=args.workers,
                                 dask=args.dask, chunk_size=args.chunk_size,
                                 redo_damaged=args.redo_damaged)
        except UserError as exc:
            # The study's settings are the file's keys, not flags: keep the library's words.
            exc.in_api_terms = True
            raise
    else:
        exp = _run_from_flags(args)
    counts, where = exp.counts, _shown(exp.path)
    failed = f", {counts['failed']} failed (see 'tabnas status')" if counts["failed"] else ""
    print(f"experiment {exp.name!r}: {counts['ran']} runs done, "
          f"{counts['skipped']} already complete{failed}; results in {where}")
    if not args.no_report:
        from tabnas.plots import rendered_once
        from tabnas.statistics import load_for_statistics

        loaded = load_for_statistics(where)  # read once for all
        benches = _mo_benchmarks(*loaded)
        _stats(where, *loaded, benches=benches)
        with rendered_once():  # the report's regret figures are the plots' own
            figures = _plot(where, *loaded, benches=benches)
            if args.html:
                from tabnas.report import REPORT_FORMATS, compute_report, write_report

                path = write_report(compute_report(where, data=loaded, figures=figures,
                                                   benches=benches), where)
                _report_written(path, where, REPORT_FORMATS)
    return 0


def _report_written(path: Path, exp_dir: Path, formats: tuple[str, ...]) -> None:
    from tabnas.report import formats_note

    print(f"report: {path} (figures in {exp_dir / 'figures'}, tables in {exp_dir / 'tables'})")
    print(f"note: {formats_note(formats)}")


def _shown(path: Path) -> Path:
    """``path`` relative to the current folder where it is inside it (shorter to read)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _run_from_flags(args: argparse.Namespace):
    from tabnas.runner import Budget
    from tabnas.strategy import parse_hyperparameters
    from tabnas.study import MAX_SEEDS, Study, run_study

    if (args.seeds or 0) > MAX_SEEDS:  # before a list of that many seeds is made
        raise UserError(f"--seeds {args.seeds}: at most {MAX_SEEDS:,} seeds per study")
    evals = args.budget_evals
    if evals is None and args.budget_cost is None:
        evals = DEFAULT_EVALS
    strategies = split_names(args.strategy or DEFAULT_STRATEGIES)
    hps: dict[str, dict[str, str]] = {}
    for key, value in parse_hyperparameters(args.hp).items():
        strat, dot, name = key.rpartition(".")
        if not dot or not strat or not name:
            raise UserError(f"--hp {key}={value}: write STRATEGY.NAME=VALUE with STRATEGY one "
                            f"of {', '.join(strategies)}")
        if strat not in strategies:
            # One protocol's command line may set every strategy's hyperparameters.
            print(f"tabnas: warning: --hp {key}={value}: strategy {strat!r} is not in this "
                  f"run ({', '.join(strategies)}); ignored", file=sys.stderr)
            continue
        hps.setdefault(strat, {})[name] = value
    options = _benchmark_options(args)
    study = Study(
        experiment=args.experiment or DEFAULT_EXPERIMENT,
        benchmarks=_benchmark_names(
            args, [b.strip() for b in (args.benchmark or DEFAULT_BENCHMARK).split(",")
                   if b.strip()]),
        strategies=strategies,
        seeds=list(range(args.seeds or DEFAULT_SEEDS)),
        budget=Budget(evals=evals, cost=args.budget_cost),
        results_dir=args.results_dir or Path("results"),
        hyperparameters=hps,
        benchmark_options=options,
        data=args.data,
        sim_workers=args.sim_workers or 1,
        mf_cost=args.mf_cost or "restart",
        run_timeout=args.run_timeout,
    )
    return run_study(study, workers=args.workers or 1, dask=args.dask,
                     chunk_size=args.chunk_size, redo_damaged=args.redo_damaged)


def _mo_benchmarks(df, manifest: dict) -> list | None:
    """The experiment's multi-objective benchmarks, loaded; None if one cannot be (a note
    says why: the best lines then give each front's size without its extreme points)."""
    from tabnas.mo_report import multi_objective_benchmarks

    try:
        return multi_objective_benchmarks(df, manifest)
    except UserError as exc:
        print(f"note: the fronts' extreme points are left out: {cli_message(str(exc))}")
        return None


def _stats(exp_dir: Path, df, manifest: dict, *, alpha: float = 0.05,
           method: str = "auto", benches: list | None = None) -> None:
    from tabnas.cache import atomic_write_bytes
    from tabnas.plots import value_units
    from tabnas.statistics import budget_rows, pairing_notes
    from tabnas.tables import (
        architectures,
        best_lines,
        choices_text,
        comparisons,
        final_results,
        summary_markdown,
        summary_text,
        to_csv_text,
    )

    rows = budget_rows(df)
    long = rows[["benchmark", "strategy", "seed"]].assign(value=rows["regret_test"])
    comps = comparisons(long, alpha, method)
    final = final_results(df, rows=rows, comps=comps, alpha=alpha)
    archs = architectures(rows)
    for note in [*manifest["notes"], *pairing_notes(long)]:
        print(f"note: {note}")
    print("final test regret of the incumbent (chosen on the searched value) over seeds, "
          "and the incumbent's test value; mark: best = lowest mean, tied = not "
          f"significantly worse than the best ({choices_text(final.attrs)}):")
    if final.attrs.get("note"):
        print(f"note: {final.attrs['note']}")
    from tabnas.objectives import split_name

    multi = [b for b in sorted(df["benchmark"].unique()) if split_name(b) is not None]
    if multi:
        print(f"note: on {', '.join(multi)} regret is the hypervolume regret of the incumbent "
              "front (normalised objective space; 'tabnas info NAME' gives its reference point)")
    print(summary_text(final))
    for line in best_lines(archs, value_units(manifest), {b.name: b for b in benches or []}):
        print(line)
    md = summary_markdown(final)
    csv = to_csv_text(final)
    atomic_write_bytes(exp_dir / "stats.csv", lambda tmp: tmp.write_text(csv))
    atomic_write_bytes(exp_dir / "stats.md", lambda tmp: tmp.write_text(md + "\n"))
    arch_csv = to_csv_text(archs)
    atomic_write_bytes(exp_dir / "architectures.csv", lambda tmp: tmp.write_text(arch_csv))
    print(f"saved {exp_dir / 'stats.csv'}, {exp_dir / 'stats.md'} and "
          f"{exp_dir / 'architectures.csv'}")


def _choices(allowed: tuple[str, ...]):
    """An argparse type: a comma-separated subset of ``allowed``, in the order given."""

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
        bad = [t for t in items if t not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(allowed)}, got {text!r}")
        return items

    return parse


def _plot_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metric", choices=("test", "value", "both"), default="test",
                   help="regret of the reported (test) value, of the searched (validation) "
                        "value, or both side by side (default: test)")
    p.add_argument("--strategy", default=None, metavar="NAMES",
                   help="strategies to plot, comma-separated (default: all; colours stay "
                        "the same)")
    p.add_argument("--benchmark", default=None, metavar="NAMES",
                   help="benchmarks to plot, comma-separated (default: all)")
    p.add_argument("--x", type=_choices(("evals", "cost")), default=("evals", "cost"),
                   metavar="AXES",
                   help="x axes: evals, cost or evals,cost (default: both; cost only where "
                        "costs differ)")
    p.add_argument("--scale", choices=("log", "linear"), default="log",
                   help="axis scale (default: log; zero regret on the floor line marked 0)")
    p.add_argument("--band", choices=("se", "iqr"), default="se",
                   help="mean ± standard error or median with interquartile range (default: se)")
    p.add_argument("--style", choices=("default", "single", "double"), default="default",
                   help="figure size: default (screen), single (3.5 in) or double (7.16 in) "
                        "column")
    # plots.FORMATS and plots.PLOT_FORMATS, written out: the parser imports no plotting.
    p.add_argument("--format", type=_choices(("png", "pdf", "svg")), default=("png", "pdf"),
                   metavar="FORMATS",
                   help="output formats, comma-separated (default: png,pdf)")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                   help="folder to write to (default: results/EXPERIMENT/figures)")


def _plot(exp_dir: Path, df, manifest: dict, args: argparse.Namespace | None = None,
          benches: list | None = None) -> dict[str, Figure]:
    """Draw and write ``tabnas plot``'s figures; returns them (written and closed)."""
    from tabnas import plots

    opts = {}
    out_dir, formats = exp_dir / "figures", plots.PLOT_FORMATS
    if args is not None:
        opts = {"metric": args.metric, "axes": args.x, "log": args.scale == "log",
                "band": args.band, "style": args.style,
                "strategies": split_names(args.strategy) if args.strategy else None,
                "benchmarks": split_names(args.benchmark) if args.benchmark else None}
        out_dir, formats = args.output or out_dir, args.format
    # All made before writing; the benchmarks `tabnas run` loaded already are reused.
    figures, notes = plots.plot_figures(df, manifest, **opts,
                                        benches=benches if args is None else None)
    written = plots.write_figures(figures, out_dir, formats)
    for note in notes:
        print(f"note: {note}")
    print("plots: " + ", ".join(str(p) for p in written))
    return figures


def cmd_list(args: argparse.Namespace) -> int:
    from tabnas.benchmarks import BENCHMARKS
    from tabnas.strategy import STRATEGIES

    print("benchmarks:")
    for name in BENCHMARKS.names():
        entry = BENCHMARKS.get(name)
        present, how = entry.status()
        mark = "ready" if present else "missing data"
        print(f"  {name:<24} {entry.summary}")
        print(f"  {'':<24} [{mark}] {cli_message(how)}")
    from tabnas.objectives import presets

    print("multi-objective presets (BENCHMARK:PRESET, or --objective A,B):")
    for pattern, preset, names in presets():
        print(f"  {pattern + ':' + preset:<48} {', '.join(names)}")
    print("strategies:")
    for name in STRATEGIES.names():
        cls = STRATEGIES.get(name)
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
        print(f"  {name:<24} {doc[0] if doc else ''}")
    for prefix, resolve in STRATEGIES.prefixes():
        doc = (sys.modules[resolve.__module__].__doc__ or "").strip().splitlines()
        print(f"  {prefix + ':...':<24} {doc[0] if doc else ''}")
    from tabnas.spaces.named import SPACES

    print("spaces (a table spec's space = \"NAME\" for its arch column of official strings):")
    for name in SPACES.names():
        print(f"  {name:<24} {SPACES.get(name).summary}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from tabnas.benchmarks import load_benchmark

    name, = _benchmark_names(args, [args.benchmark])
    bench = load_benchmark(name, data=args.data, **_benchmark_options(args))
    for key, value in bench.info().items():
        print(f"{key:>16}: {value}")
    for note in bench.notes:
        print(f"{'note':>16}: {note}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from tabnas.benchmarks import resolve_benchmark

    entry = resolve_benchmark(args.benchmark)
    options = _benchmark_options(args)
    family = args.benchmark.split("/", 1)[0]
    from tabnas.benchmarks.tables.official import FAMILIES, prepare

    if family in FAMILIES:  # converts every dataset and schedule of the official file
        path, meta = prepare(args.benchmark, args.data)
        _cache_written()
        print(f"{family}: cache ready from {path}")
        print(f"  datasets/schedules: {', '.join(meta.get('available', []))}")
        for source in meta["sources"][:3]:
            print(f"  sha256 {source['sha256']}  {source['path']}")
        if len(meta["sources"]) > 3:
            print(f"  ... and {len(meta['sources']) - 3} more files")
    if family not in FAMILIES or options:
        # Loading fills a shipped table's cache, and checks the options given.
        bench = entry.load(data=args.data, **options)
        _cache_written()
        print(f"{args.benchmark}: ready ({bench.space.size} architectures)")
    return 0


def _cache_written() -> None:
    """``tabnas prepare`` exists to write the cache: a cache it could not save is an error."""
    from tabnas.cache import save_errors

    for path, exc in save_errors()[:1]:
        raise UserError(f"cannot write the cache {path}: {os_reason(exc)}; free some space or "
                        "set TABNAS_CACHE to a writable folder")


def cmd_plot(args: argparse.Namespace) -> int:
    from tabnas.results import experiment_dir
    from tabnas.statistics import load_for_statistics

    exp_dir = experiment_dir(args.results_dir, args.experiment)
    _plot(exp_dir, *load_for_statistics(exp_dir), args)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from tabnas.results import experiment_dir
    from tabnas.statistics import load_for_statistics

    _check_stats_args(args)
    exp_dir = experiment_dir(args.results_dir, args.experiment)
    loaded = load_for_statistics(exp_dir, seeds=args.seeds)
    _stats(exp_dir, *loaded, alpha=args.alpha, method=args.wilcoxon,
           benches=_mo_benchmarks(*loaded))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from tabnas.report import build_report
    from tabnas.results import experiment_dir

    _check_stats_args(args)
    exp_dir = experiment_dir(args.results_dir, args.experiment)
    if args.output is not None:
        _check_output(args.output)  # before any figure or table is written
    path = build_report(exp_dir, evals=args.at_evals, cost=args.at_cost, alpha=args.alpha,
                        output=args.output, seeds=args.seeds, method=args.wilcoxon,
                        blocks=args.blocks, rope=args.rope, formats=args.format)
    _report_written(path, exp_dir, args.format)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from tabnas.results import experiment_dir, experiment_status

    st = experiment_status(experiment_dir(args.results_dir, args.experiment))
    damaged = f", {st['damaged']} damaged" if st["damaged"] else ""
    print(f"experiment {args.experiment!r}: {st['total']} runs: {st['done']} done, "
          f"{st['failed']} failed, {st['running']} running, {st['missing']} missing{damaged}")
    for line in st["bad"]:
        print(f"  damaged: {line} (rerun with --redo-damaged)")
    for who, n in sorted(st["holders"].items()):
        print(f"  running: {n} held by {who}")
    for rec in st["failures"]:
        print(f"  failed: {rec['benchmark']} {rec['strategy']} seed {rec['seed']} "
              f"[{rec['kind']}] {rec['error']}")
    for line in st["early"]:
        print(f"  stopped early: {line}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tabnas.cache import atomic_write_bytes
    from tabnas.results import experiment_dir, load_results

    suffix = args.output.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UserError(f"cannot export to {args.output}: use a .csv or .parquet file name")
    _check_output(args.output)
    df = load_results(experiment_dir(args.results_dir, args.experiment))
    try:
        if suffix == ".csv":
            from tabnas.records import VECTOR_COLUMNS

            for col in VECTOR_COLUMNS:  # objective vectors as "a;b" (CSV has no lists)
                df[col] = [None if v is None else ";".join(repr(float(x)) for x in v)
                           for v in df[col]]
            atomic_write_bytes(args.output, lambda tmp: df.to_csv(tmp, index=False))
        else:
            atomic_write_bytes(args.output, lambda tmp: df.to_parquet(tmp, index=False))
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {os_reason(exc)}") from None
    print(f"wrote {len(df)} rows to {args.output}")
    return 0


def _check_output(path: Path) -> None:
    """Refuse an output path that cannot be written, before any work (one line)."""
    import os

    from tabnas.cache import check_target

    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {path}: {parent} is not writable")
    check_target(path)


def cmd_tabulate(args: argparse.Namespace) -> int:
    from tabnas.live.tabulate import parse_epochs, tabulate

    counts = tabulate(args.benchmark, args.output, seeds=args.seeds,
                      epochs=parse_epochs(args.epochs), data=args.data, device=args.device)
    print(f"tabulated {args.benchmark}: {counts['trained']} runs trained, {counts['found']} "
          f"already done; table in {args.output} (load it as table:{args.output})")
    return 0


COMMANDS = {
    "run": cmd_run,
    "list": cmd_list,
    "info": cmd_info,
    "prepare": cmd_prepare,
    "plot": cmd_plot,
    "stats": cmd_stats,
    "report": cmd_report,
    "status": cmd_status,
    "export": cmd_export,
    "tabulate": cmd_tabulate,
}


#: Library messages name Python API parameters; the command line names its flags instead.
#: Each phrase is replaced where it stands as whole words, longer phrases first. A
#: manifest setting quoted as ``key=value`` keeps its key (it names the manifest's entry).
API_TO_CLI = (
    ("strategies is empty", "--strategy is empty"),
    ("benchmarks is empty", "--benchmark is empty"),
    ("strategies name", "--strategy names"),
    ("benchmarks name", "--benchmark names"),
    ("budget evals", "--budget-evals"),
    ("budget cost", "--budget-cost"),
    ("seeds must", "--seeds must"),
    ("seeds: no run", "--seeds: no run"),
    ("rope needs", "--rope needs"),
    ("sim_workers must", "--sim-workers must"),
    ("mf_cost '", "--mf-cost '"),
    ("run_timeout must", "--run-timeout must"),
    ("results_dir", "--results-dir"),
    ("new experiment name", "new --experiment name"),
    ("another experiment name", "another --experiment name"),
    ("workers or dask", "--workers or --dask"),
    ("dask address", "--dask"),
    ("dask needs", "--dask needs"),
    ("dask='local:N'", "--dask local:N"),
    ("(seeds)", "(--seeds)"),
    ("run's seeds;", "run's --seeds;"),
    ("choose evals between", "choose --at-evals between"),
    ("choose cost between", "choose --at-cost between"),
    ("evals or cost, not both", "--at-evals or --at-cost, not both"),
    ("alpha must", "--alpha must"),
    ("data=", "--data "),
    ("omit data", "omit --data"),
    ("use device cpu", "use --device cpu"),
    ("drop benchmark option objective", "drop --objective/--option objective"),
    ("benchmark option", "--option"),
    ("workers=", "--workers "),
    ("dask=", "--dask "),
    ("metric=", "--metric "),
    ("in axes", "in --x"),
    ("epochs '", "--epochs '"),
    ("redo_damaged=True", "--redo-damaged"),
)

#: The phrases of :data:`API_TO_CLI` that name flags a study file has no key for: with
#: ``--config`` only these are rewritten (the file's keys keep the library's words).
NOT_IN_STUDY_FILES = ("redo_damaged=True",)


def cli_message(message: str, only: tuple[str, ...] | None = None) -> str:
    """A library error message in command-line terms (``budget evals`` -> ``--budget-evals``).

    ``only``: rewrite just these phrases of :data:`API_TO_CLI`.
    """
    import re

    pairs = [(api, flag) for api, flag in API_TO_CLI if only is None or api in only]
    for api, flag in sorted(pairs, key=lambda pair: -len(pair[0])):  # longest first
        message = re.sub(rf"(?<![\w-]){re.escape(api)}(?![\w])" if api[-1].isalnum()
                         else rf"(?<![\w-]){re.escape(api)}", flag, message)
    return message


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """tabnas's own warnings (a broken plugin, ...) as one line on stderr; others as usual."""
    from tabnas.registry import PluginWarning

    if issubclass(category, PluginWarning):
        print(f"tabnas: warning: {message}", file=sys.stderr if file is None else file)
    else:
        _show_warning(message, category, filename, lineno, file, line)


_show_warning = warnings.showwarning


#: Exit status when the reader of stdout went away (``tabnas list | head -1``): 128 +
#: SIGPIPE, what a Unix tool that the signal stops reports, so ``set -o pipefail`` sees it.
EXIT_CLOSED_PIPE = 128 + 13


def stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has closed it.

    Only that broken pipe means "stop quietly": one met talking to a worker or
    another program is an error like any ``OSError``. A flush that fails says so,
    and so does a pipe that polls as errored (Linux and macOS mark a pipe without
    readers so) when nothing is left in the buffer to flush.
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return True
    except (OSError, ValueError):
        return False
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll(), or stdout is not a file
        return False


def _stop_quietly() -> int:
    """End as Unix tools do when their output is closed: no message, exit status 141.

    stdout is pointed at devnull so that the interpreter's last flush of what is
    still buffered does not fail again (Python's docs, "Note on SIGPIPE").
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_CLOSED_PIPE


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _warning_line
    try:
        parser = build_parser()
        argv = sys.argv[1:] if argv is None else list(argv)
        if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
            argv = ["run", *argv]  # `tabnas --seeds 5` means `tabnas run --seeds 5`
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["run"])
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # output still buffered meets a closed pipe here, not at exit
        return code
    except UserError as exc:
        text = cli_message(str(exc), NOT_IN_STUDY_FILES if getattr(exc, "in_api_terms", False)
                           else None)
        print(f"tabnas: error: {text}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a full disk, no inodes, a permission: one line, never a traceback
        if isinstance(exc, BrokenPipeError) and stdout_closed():
            return _stop_quietly()
        print(f"tabnas: error: {os_error_line(exc)}", file=sys.stderr)
        return UserError.exit_code
    except KeyboardInterrupt:
        print("tabnas: interrupted; finished runs are saved, rerun the command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
