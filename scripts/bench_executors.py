"""Wall time of one study on each executor, the size of its results, and their load time.

    python scripts/bench_executors.py [--seeds 200] [--evals 200] [--workers 2]

The study: five model-free strategies x ``--seeds`` seeds x ``--evals``
evaluations on ``nb201-analog``. It runs in this process, on a local process
pool, and on a local Dask cluster (``LocalCluster``, one thread per worker
process), each into a fresh results folder; the records are checked to be
identical (except ``overhead_s``). Executor start-up is timed separately. The
machine's load average is printed before and after: on shared cores, other
work inflates every wall time and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rea_variants  # noqa: E402,F401  (registers the REA variants)

from tabnas.benchmarks import load_benchmark  # noqa: E402
from tabnas.executors import DaskExecutor, InProcessExecutor, ProcessExecutor  # noqa: E402
from tabnas.records import HOST_TIME_COLUMNS  # noqa: E402
from tabnas.results import load_results, run_files  # noqa: E402
from tabnas.runner import Budget  # noqa: E402
from tabnas.study import Study, run_study  # noqa: E402

DEFAULT_STRATEGIES = "random,rea,local-search,reinforce,rea-p10"


class Metered:
    """An executor that also sums the CPU seconds its workers report per run."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.cpu_s = 0.0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def result(self, handle):
        outcomes = self.inner.result(handle)
        self.cpu_s += sum(o.cpu_s for o in outcomes)
        return outcomes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--strategies", default=DEFAULT_STRATEGIES)
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()

    strategies = args.strategies.split(",")
    load_benchmark("nb201-analog")  # convert the table into the cache once, untimed
    root = Path(tempfile.mkdtemp(prefix="tabnas-bench-"))
    out: dict = {"cpus": os.cpu_count(), "load_before": os.getloadavg(),
                 "runs": len(strategies) * args.seeds, "evals": args.evals,
                 "strategies": strategies}
    makers = {
        "in-process": InProcessExecutor,
        f"--workers {args.workers}": lambda: ProcessExecutor(args.workers),
        f"--dask local:{args.workers}": lambda: DaskExecutor(f"local:{args.workers}"),
    }
    frames = {}
    for label, make in makers.items():
        study = Study(experiment=label.strip("-").replace(" ", "_").replace(":", "_"),
                      benchmarks=["nb201-analog"], strategies=strategies,
                      seeds=list(range(args.seeds)), budget=Budget(evals=args.evals),
                      results_dir=root)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        executor = Metered(make())
        t1 = time.perf_counter()
        counts = run_study(study, executor=executor).counts
        t2 = time.perf_counter()
        executor.close()
        out[label] = {"wall_s": t2 - t0, "startup_s": t1 - t0, "runs_s": t2 - t1,
                      "parent_cpu_s": time.process_time() - cpu0, "ran": counts["ran"],
                      "worker_cpu_s": executor.cpu_s,
                      "cores_used": executor.cpu_s / (t2 - t1)}
        print(f"{label:>20}: {t2 - t0:6.2f} s wall ({t1 - t0:.2f} s start-up), "
              f"run CPU {executor.cpu_s:.2f} s = {out[label]['cores_used']:.2f} cores busy, "
              f"parent CPU {out[label]['parent_cpu_s']:.2f} s", flush=True)
        frames[label] = study.exp_dir

    first = next(iter(frames.values()))
    files = run_files(first)
    out["files"] = len(files)
    out["bytes"] = sum(f.stat().st_size for f in files)
    t0 = time.perf_counter()
    ref = load_results(first)
    out["load_first_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_results(first)
    out["load_cached_s"] = time.perf_counter() - t0
    out["rows"] = len(ref)
    ref = ref.drop(columns=[*HOST_TIME_COLUMNS, "experiment"])
    out["identical"] = all(
        load_results(d).drop(columns=[*HOST_TIME_COLUMNS, "experiment"]).equals(ref)
        for d in frames.values())
    out["load_after"] = os.getloadavg()
    base = out["in-process"]["wall_s"]
    for label in list(makers)[1:]:
        out[label]["speedup"] = base / out[label]["wall_s"]
        out[label]["speedup_excl_startup"] = base / out[label]["runs_s"]
    shutil.rmtree(root)

    print(f"\n{out['runs']} runs x {args.evals} evaluations, {out['cpus']} CPUs, "
          f"load average before {out['load_before'][0]:.2f}, after {out['load_after'][0]:.2f}")
    print("| executor | wall (s) | start-up (s) | speed-up | speed-up excl. start-up "
          "| run CPU (s) | cores busy with runs |")
    print("|---|---|---|---|---|---|---|")
    for label in makers:
        r = out[label]
        print(f"| {label} | {r['wall_s']:.2f} | {r['startup_s']:.2f} | "
              f"{r.get('speedup', 1.0):.2f}x | {r.get('speedup_excl_startup', 1.0):.2f}x | "
              f"{r['worker_cpu_s']:.2f} | {r['cores_used']:.2f} |")
    print(f"\nresults: {out['files']} run files, {out['bytes'] / 1e6:.2f} MB, {out['rows']} rows; "
          f"load {out['load_first_s']:.2f} s first, {out['load_cached_s']:.3f} s cached; "
          f"identical records on every executor: {out['identical']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
