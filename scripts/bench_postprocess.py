"""Post-processing cost: time and peak memory of ``tabnas stats``, ``plot`` and ``report``.

Two studies, built once under ``--results-dir`` (``tabnas run --no-report``) and
then post-processed, each command in a fresh process (start-up included):

- ``wide``: 1000 seeds x 2 strategies (random, rea) x 200 evaluations on
  nb201-analog (400,000 rows), the study whose post-processing used to cost
  more than its runs;
- ``report``: 8 strategies x 4 benchmarks x 10 seeds x 100 evaluations, where
  the report's statistical tests dominate (28 pairs x 4 benchmarks x 4 budgets).

``--baseline PYTHON`` names the interpreter of another environment with another
tabnas installed (for example the previous release): each command then runs
under both, in turn, and the table shows both and their ratio. Every command
runs ``--repeat`` times, interleaved (stats, plot, report, load, stats, ...), so
machine drift hits them alike; the median wall time, CPU time (user + system:
on shared cores the steadier figure) and peak RSS of the process (``wait4``'s
own accounting) are printed. ``load``
is a process that reads the whole experiment into pandas, nothing else, and
``imports`` one that only imports the libraries: peak RSS minus that of
``imports`` is all the memory post-processing needs, the data included.

``--run-cost`` measures (alone, or with ``--only`` after that study) ``tabnas
run``'s whole-process cost per added evaluation, report included: ``random`` on
nb201-analog, 50 seeds, at 200 and at 2000 evaluations (fresh experiments),
``(T(2000) - T(200)) / (50 x 1800)``.

``run --html`` is the finished study run again with ``--html``: every run is
skipped, so it is stats, plots and the report in one process, the study read once,
the regret figures drawn once.

``--in-process`` times the work itself, after the libraries are imported, in one
process that loads the study once as ``tabnas run`` does: load, the stats
table, the plots, and the report (computed, then written), each the median of
``--repeat`` rounds, with its CPU time.

Usage: ``python scripts/bench_postprocess.py [--results-dir DIR] [--repeat 3]
[--only wide|report] [--run-cost] [--baseline PYTHON] [--in-process]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDIES = {
    "wide": ["--benchmark", "nb201-analog", "--strategy", "random,rea", "--seeds", "1000",
             "--budget-evals", "200"],
    "report": ["--benchmark", "nb201-analog,nbgraph-cora,nbgraph-citeseer,nbgraph-pubmed",
               "--strategy", "random,rea,local-search,reinforce,tpe,smac,bo,bananas",
               "--seeds", "10", "--budget-evals", "100"],
}
LOAD = ("import sys; from pathlib import Path; from tabnas.results import load_experiment; "
        "load_experiment(Path(sys.argv[1]))")
#: The report writing every figure format, as it did by default before ``--format``.
ALL_FORMATS = "report --format png,pdf,svg"
#: Stats, plots and the report in one process: the finished study run again.
RUN_HTML = "run --html (finished study)"
#: The libraries post-processing imports, and nothing read: the floor of every figure.
IMPORTS = "import matplotlib.pyplot, pandas, pyarrow.parquet, scipy.stats, tabnas.results"


def tabnas(*args: str, python: str = sys.executable) -> list[str]:
    return [python, "-m", "tabnas", *args]


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # KiB on Linux


def build(results: Path, name: str) -> None:
    if (results / name / "manifest.json").exists():
        return
    print(f"building study {name!r} ...", flush=True)
    subprocess.run(tabnas("run", "--experiment", name, "--results-dir", str(results),
                          "--no-report", *STUDIES[name]), check=True, stdout=subprocess.DEVNULL)
    # First load writes the combined cache, as the first 'tabnas stats' would.
    subprocess.run([sys.executable, "-c", LOAD, str(results / name)], check=True)


def post_process(results: Path, name: str, repeat: int, baseline: str | None) -> None:
    exp = str(results / name)
    pythons = {"this": sys.executable, **({"baseline": baseline} if baseline else {})}
    cmds = {}
    for label, py in pythons.items():
        cmds[("stats", label)] = tabnas("stats", name, "--results-dir", str(results), python=py)
        cmds[("plot", label)] = tabnas("plot", name, "--results-dir", str(results), python=py)
        cmds[("report", label)] = tabnas("report", name, "--results-dir", str(results),
                                         python=py)
        cmds[("load", label)] = [py, "-c", LOAD, exp]
    # The report's figure files were PNG, PDF and SVG before --format (default png):
    # this revision writing all three is the like-for-like row against the baseline's.
    cmds[(ALL_FORMATS, "this")] = tabnas("report", name, "--results-dir", str(results),
                                         "--format", "png,pdf,svg")
    # The finished study run again with --html: every run is skipped, so this is stats,
    # plots and the report in one process, the study read once (this revision only).
    cmds[(RUN_HTML, "this")] = tabnas("run", "--experiment", name, "--results-dir",
                                      str(results), *STUDIES[name], "--html")
    cmds[("imports", "this")] = [sys.executable, "-c", IMPORTS]
    got: dict[tuple[str, str], list[tuple[float, float, float]]] = {k: [] for k in cmds}
    for _ in range(repeat):
        for key, cmd in cmds.items():
            got[key].append(measure(cmd))
    med = {k: tuple(statistics.median(m[i] for m in v) for i in range(3))
           for k, v in got.items()}
    floor = med[("imports", "this")][1]
    print(f"\nstudy {name!r} ({' '.join(STUDIES[name])}), median of {repeat}; a process "
          f"that only imports the libraries: {med[('imports', 'this')][0]:.2f} s wall, "
          f"{med[('imports', 'this')][2]:.2f} CPU s, peak RSS {floor:.0f} MiB")
    labels = list(pythons)
    head = " | ".join(f"{lab} wall s | {lab} CPU s | {lab} peak MiB | {lab} beyond imports MiB"
                      for lab in labels)
    ratio = " | CPU this/baseline" if baseline else ""
    print(f"| command | {head}{ratio} |")
    print("|---|" + "---:|" * (4 * len(labels) + (1 if baseline else 0)))
    totals = {lab: [0.0, 0.0] for lab in labels}
    for what in ("stats", "plot", "report", ALL_FORMATS, RUN_HTML, "load"):
        cells = []
        for lab in labels:
            if (what, lab) not in med:  # the baseline's report already wrote all three
                cells.append("| | |")
                continue
            wall, rss, cpu = med[(what, lab)]
            if what in ("stats", "plot", "report"):
                totals[lab][0] += wall
                totals[lab][1] += cpu
            cells.append(f"{wall:.2f} | {cpu:.2f} | {rss:.0f} | {rss - floor:.0f}")
        against = "report" if what == ALL_FORMATS else what
        r = (f" | {med[(what, 'this')][2] / med[(against, 'baseline')][2]:.2f}"
             if baseline and (against, "baseline") in med else " |" if baseline else "")
        print(f"| {what} | {' | '.join(cells)}{r} |")
    cells = " | ".join(f"{totals[lab][0]:.2f} | {totals[lab][1]:.2f} | |" for lab in labels)
    r = f" | {totals['this'][1] / totals['baseline'][1]:.2f}" if baseline else ""
    print(f"| stats + plot + report | {cells}{r} |")


def run_cost(repeat: int, pythons: list[str]) -> None:
    """Interleaved: every interpreter at 200 and at 2000 evaluations in each round."""
    got: dict[tuple[str, int], list[tuple[float, float, float]]] = {
        (py, e): [] for py in pythons for e in (200, 2000)}
    base = Path(tempfile.mkdtemp(prefix="tabnas-runcost-"))
    try:
        for i in range(repeat):
            for (py, evals), runs in got.items():
                out = base / f"r{i}-{evals}"
                runs.append(measure(tabnas(
                    "run", "--experiment", "cost", "--results-dir", str(out), "--strategy",
                    "random", "--seeds", "50", "--budget-evals", str(evals), python=py)))
                shutil.rmtree(out)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\ntabnas run random x 50 seeds (report included), median of {repeat}:")
    print("| interpreter | wall s @200 | wall s @2000 | us per added evaluation (wall) "
          "| CPU s @200 | CPU s @2000 | us per added evaluation (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for py in pythons:
        w = [statistics.median(m[0] for m in got[(py, e)]) for e in (200, 2000)]
        c = [statistics.median(m[2] for m in got[(py, e)]) for e in (200, 2000)]
        per = [(b - a) / (50 * 1800) * 1e6 for a, b in (w, c)]
        print(f"| {py} | {w[0]:.2f} | {w[1]:.2f} | {per[0]:.1f} | {c[0]:.2f} | {c[1]:.2f} "
              f"| {per[1]:.1f} |")


def in_process(results: Path, name: str, repeat: int, formats: tuple[str, ...]) -> None:
    """Stats, plots and the report in one process after the imports, the study read once.

    Works with older tabnas revisions too (run this script with their interpreter): a
    revision whose report cannot take the loaded frames or ``formats`` gets neither.
    """
    import contextlib
    import inspect
    import io

    import matplotlib.pyplot  # noqa: F401  (imported before timing, as the floor)

    from tabnas import cli, report
    from tabnas.statistics import load_for_statistics

    exp = results / name
    steps: dict[str, list[tuple[float, float]]] = {}
    takes_data = "data" in inspect.signature(report.compute_report).parameters
    takes_formats = "formats" in inspect.signature(report.write_report).parameters
    takes_figures = "figures" in inspect.signature(report.compute_report).parameters

    def timed(label, fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        steps.setdefault(label, []).append((time.perf_counter() - w, time.process_time() - c))
        return out

    from tabnas import plots

    # As 'tabnas run --html': the plots' figures rendered once for both (where it can).
    once = getattr(plots, "rendered_once", contextlib.nullcontext)
    for _ in range(repeat):
        with contextlib.redirect_stdout(io.StringIO()), once():
            loaded = timed("load", lambda: load_for_statistics(exp))
            timed("stats", lambda loaded=loaded: cli._stats(exp, *loaded))
            drawn = timed("plot", lambda loaded=loaded: cli._plot(exp, *loaded))
            kw = {"data": loaded} if takes_data else {}
            if takes_figures:  # as 'tabnas run --html': the plot's regret figures embedded
                kw["figures"] = drawn
            rep = timed("report: compute", lambda kw=kw: report.compute_report(exp, **kw))
            kw = {"formats": formats} if takes_formats else {}
            timed("report: write", lambda rep=rep, kw=kw: report.write_report(rep, exp, **kw))
    shown = ",".join(formats) if takes_formats else "png,pdf,svg (this revision's only choice)"
    print(f"\nstudy {name!r} in one process (libraries imported), {sys.executable}, report "
          f"figure files {shown}, data {'read once' if takes_data else 'read again by the report'}"
          f", regret figures {'drawn once' if takes_figures else 'drawn again by the report'}"
          f", median of {repeat}:")
    print("| step | wall s | CPU s |")
    print("|---|---:|---:|")
    total = [0.0, 0.0]
    for label, v in steps.items():
        w, c = statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)
        total[0] += w
        total[1] += c
        print(f"| {label} | {w:.2f} | {c:.2f} |")
    print(f"| all | {total[0]:.2f} | {total[1]:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "tabnas-bench-postprocess")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=sorted(STUDIES), default=None)
    ap.add_argument("--run-cost", action="store_true")
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--format", default="png", metavar="FORMATS",
                    help="--in-process: the report's figure files (default png, as "
                         "'tabnas report'; png,pdf,svg as before --format existed)")
    ap.add_argument("--baseline", default=None, metavar="PYTHON",
                    help="interpreter of an environment with another tabnas, run in turn")
    args = ap.parse_args()
    names = [args.only] if args.only else list(STUDIES)
    if args.run_cost and args.only is None:  # the run cost alone: no study to build
        names = []
    for name in names:
        build(args.results_dir, name)
    for name in names:
        if args.in_process:
            in_process(args.results_dir, name, args.repeat, tuple(args.format.split(",")))
        else:
            post_process(args.results_dir, name, args.repeat, args.baseline)
    if args.run_cost:
        run_cost(args.repeat, [sys.executable, *([args.baseline] if args.baseline else [])])


if __name__ == "__main__":
    main()
