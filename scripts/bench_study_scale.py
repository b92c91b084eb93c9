"""A study of thousands of runs: memory over time, kill and resume, the load cache, --workers.

    python scripts/bench_study_scale.py study   [--seeds 185] [--workers 2]
    python scripts/bench_study_scale.py speedup [--seeds 19] [--workers 2] [--rounds 3]
    python scripts/bench_study_scale.py cache EXPERIMENT_DIR

Both use the nine NAS-Bench-Graph tables the package ships and, by default, six
strategies cheap enough for a study of 10,000 runs (``random``, ``rea``,
``local-search``, ``reinforce``, ``tpe``, ``bananas``) at 100 evaluations.

``study`` runs ``tabnas run --no-report --workers N`` as a user would, samples
the study process's and its workers' resident memory (``/proc``) every half
second, kills it with SIGKILL at a third of the runs and with SIGINT (a Ctrl-C
to its process group) at two thirds, and runs the same command again each
time. It then checks that every run is present exactly once, that nothing
(temporary files, claims, worker processes) was left behind, and that a sample
of runs equals the same runs computed here without interruption. Last, it
measures the ``.combined.parquet`` load cache on the first N runs for growing
N (bytes per run, build time and peak memory, each in a fresh process), and
the same cache grown in steps as a resumed study adds runs.

``cache`` measures the load cache alone, on the run files of an experiment
folder a study wrote (``results/NAME``).

``speedup`` runs a smaller study in this machine's processes, in-process and
on ``--workers N``, alternated for ``--rounds`` rounds (each in a fresh process
and a fresh results folder), and prints the wall time, the study process's CPU
and the workers' CPU of each, and the speed-up of each pair. On shared cores
the ratio of each adjacent pair is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TABLES = ("arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "proteins",
          "pubmed")
DEFAULT_BENCHMARKS = ",".join(f"nbgraph-{t}" for t in TABLES)
DEFAULT_STRATEGIES = "random,rea,local-search,reinforce,tpe,bananas"
SCRIPT = Path(__file__).resolve()


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in kB (empty once it is gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out


def _descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (the pool's forkserver and its workers)."""
    parent_of = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parent_of[int(entry.name)] = int(fields[1])
    found, frontier = [], {pid}
    while frontier:
        frontier = {p for p, pp in parent_of.items() if pp in frontier}
        found += sorted(frontier)
    return found


def _runs_done(exp: Path) -> int:
    total = 0
    try:
        for bench in os.scandir(exp / "runs"):
            for strat in os.scandir(bench.path):
                total += sum(1 for e in os.scandir(strat.path) if e.name.endswith(".parquet"))
    except FileNotFoundError:
        pass
    return total


class Sampler(threading.Thread):
    """Samples runs done and the memory of a study process and its workers."""

    def __init__(self, pid: int, exp: Path, session: int, interval_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.exp, self.session, self.interval_s = pid, exp, session, interval_s
        self.samples: list[dict] = []
        self.seen: set[int] = set()  # every worker process seen
        self.stop = threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self.stop.is_set():
            parent = _status(self.pid)
            if not parent:
                break
            pids = _descendants(self.pid)
            self.seen.update(pids)
            workers = [_status(p).get("VmRSS", 0) for p in pids]
            self.samples.append({"session": self.session, "t": time.perf_counter() - self.t0,
                                 "runs": _runs_done(self.exp), "rss": parent.get("VmRSS", 0),
                                 "hwm": parent.get("VmHWM", 0),
                                 "worker_rss": max(workers, default=0),
                                 "processes": len(workers)})
            self.stop.wait(self.interval_s)


def _tabnas(args: argparse.Namespace, root: Path) -> list[str]:
    cmd = [sys.executable, "-m", "tabnas", "run", "--no-report", "--experiment", "scale",
           "--results-dir", str(root), "--benchmark", args.benchmarks,
           "--strategy", args.strategies, "--seeds", str(args.seeds),
           "--budget-evals", str(args.evals)]
    return cmd + (["--workers", str(args.workers)] if args.workers > 1 else [])


def _session(cmd: list[str], exp: Path, number: int, stop_at: int | None, sig: int | None
             ) -> tuple[dict, list[dict]]:
    """One ``tabnas run``, stopped with ``sig`` once ``stop_at`` runs are on disk."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler = Sampler(proc.pid, exp, number)
    sampler.start()
    sent = False
    while proc.poll() is None:
        if stop_at is not None and not sent and _runs_done(exp) >= stop_at:
            if sig == signal.SIGINT:
                os.killpg(proc.pid, signal.SIGINT)  # a Ctrl-C reaches the whole group
            else:
                proc.send_signal(sig)
            sent = True
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    time.sleep(1.5)  # pool workers end within a second of the study process
    orphans = [p for p in sampler.seen if _status(p)]
    return ({"session": number, "rc": proc.returncode, "wall_s": wall,
             "runs_after": _runs_done(exp), "signal": None if sig is None else
             signal.Signals(sig).name, "orphans": len(orphans),
             "stderr": err.strip().splitlines()[-1:], "stdout": out.strip().splitlines()[-1:]},
            sampler.samples)


def _check_study(args: argparse.Namespace, exp: Path, keys: list[tuple]) -> dict:
    """Every run present once, nothing left behind, and a sample equal to fresh runs."""
    import pyarrow.parquet as pq

    from tabnas.benchmarks import load_benchmark
    from tabnas.records import HOST_TIME_COLUMNS
    from tabnas.results import load_results, read_manifest, run_files, run_path
    from tabnas.runner import Budget, run_search
    from tabnas.strategy import STRATEGIES

    files = run_files(exp)
    df = load_results(exp, columns=["benchmark", "strategy", "seed", "step"])
    sizes = df.groupby(["benchmark", "strategy", "seed"], observed=True).size()
    dup_steps = int(df.duplicated(["benchmark", "strategy", "seed", "step"]).sum())
    leftovers = [p for p in exp.rglob("*") if p.name.endswith(".tmp")]
    claims = [p for p in (exp / ".claims").rglob("*") if p.is_file()]
    manifest = read_manifest(exp)
    hps = manifest["config"]["hyperparameters"]
    rng = random.Random(0)
    sample = rng.sample(keys, min(args.sample, len(keys)))
    equal = 0
    for bench_name, strat, seed in sample:
        records = run_search(load_benchmark(bench_name), STRATEGIES.get(strat), seed,
                             Budget(evals=args.evals), hyperparameters=hps[strat],
                             experiment="scale", strategy_name=strat)
        fresh = records.to_arrow().drop_columns(list(HOST_TIME_COLUMNS))
        stored = pq.read_table(run_path(exp, bench_name, strat, seed)).replace_schema_metadata(
            None).drop_columns(list(HOST_TIME_COLUMNS))
        equal += bool(stored.equals(fresh.replace_schema_metadata(None)))
    return {"expected": len(keys), "files": len(files), "runs_loaded": int(len(sizes)),
            "rows_per_run": sorted(set(sizes.tolist())), "duplicate_steps": dup_steps,
            "temporaries_left": len(leftovers), "claims_left": len(claims),
            "sample": len(sample), "sample_equal": equal}


# Peak memory is VmHWM, this process image's own high-water mark (``ru_maxrss`` would
# carry over the peak of the process that started it).
_LOAD_CHILD = """
import json, sys, time
from pathlib import Path
from tabnas.results import load_results
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
base = hwm()
t0 = time.perf_counter()
df = load_results(Path(sys.argv[1]))
wall = time.perf_counter() - t0
print(json.dumps({"load_s": wall, "rows": len(df), "peak_rss_mb": hwm(),
                  "before_mb": base}))
"""


def _load_in_child(exp: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _LOAD_CHILD, str(exp)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def _partial(src: Path, dst: Path, files: list[Path]) -> None:
    """An experiment folder holding ``files`` of ``src`` (hard links: same bytes, mtime)."""
    (dst / "runs").mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "manifest.json", dst / "manifest.json")
    for f in files:
        target = dst / f.relative_to(src)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(f, target)


def _measure_cache(exp: Path, points: list[int], steps: int) -> dict:
    """The load cache built fresh on the first N runs, and grown in ``steps`` additions."""
    from tabnas.results import run_files

    files = run_files(exp)
    random.Random(1).shuffle(files)  # the runs a partly done study holds are any runs
    base = Path(tempfile.mkdtemp(prefix="tabnas-cache-", dir=exp.parent))
    fresh, grown = [], []
    for n in [p for p in points if p <= len(files)]:
        folder = base / f"fresh-{n}"
        _partial(exp, folder, files[:n])
        built = _load_in_child(folder)
        again = _load_in_child(folder)
        size = (folder / ".combined.parquet").stat().st_size
        run_bytes = sum(f.stat().st_size for f in files[:n])
        fresh.append({"runs": n, "cache_bytes": size, "bytes_per_run": size / n,
                      "run_file_bytes_per_run": run_bytes / n, "build_s": built["load_s"],
                      "build_peak_mb": built["peak_rss_mb"], "before_mb": built["before_mb"],
                      "cached_load_s": again["load_s"],
                      "cached_peak_mb": again["peak_rss_mb"]})
        shutil.rmtree(folder)
    folder = base / "grown"
    total = len(files)
    for i in range(1, steps + 1):
        n = total * i // steps
        _partial(exp, folder, files[:n])
        step = _load_in_child(folder)
        size = (folder / ".combined.parquet").stat().st_size
        grown.append({"runs": n, "cache_bytes": size, "bytes_per_run": size / n,
                      "update_s": step["load_s"], "update_peak_mb": step["peak_rss_mb"]})
    shutil.rmtree(base)
    return {"fresh": fresh, "grown": grown}


def cmd_cache(args: argparse.Namespace) -> dict:
    """The load cache measured on the run files of an existing experiment folder."""
    from tabnas.results import run_files

    exp = args.experiment_dir
    total = len(run_files(exp))
    points = sorted({int(p) for p in args.cache_points.split(",") if int(p) < total} | {total})
    out = {"experiment": str(exp), "runs": total,
           "cache": _measure_cache(exp, points, args.cache_steps)}
    _print_cache(out["cache"])
    return out


def cmd_study(args: argparse.Namespace) -> dict:
    from tabnas.benchmarks import load_benchmark

    benchmarks = args.benchmarks.split(",")
    strategies = args.strategies.split(",")
    for name in benchmarks:
        load_benchmark(name)  # convert each table into the cache once, untimed
    keys = [(b, s, seed) for s in strategies for b in benchmarks for seed in range(args.seeds)]
    root = Path(tempfile.mkdtemp(prefix="tabnas-scale-"))
    exp = root / "scale"
    cmd = _tabnas(args, root)
    print(" ".join(cmd[1:]), flush=True)
    total = len(keys)
    load_before = os.getloadavg()[0]
    sessions, samples = [], []
    plan = [(total // 3, signal.SIGKILL), (2 * total // 3, signal.SIGINT), (None, None)]
    for number, (stop_at, sig) in enumerate(plan, 1):
        info, got = _session(cmd, exp, number, stop_at, sig)
        sessions.append(info)
        samples += got
        print(f"session {number}: {info['signal'] or 'to the end'}, rc {info['rc']}, "
              f"{info['runs_after']} runs on disk, {info['wall_s']:.1f} s, "
              f"{info['orphans']} worker processes left", flush=True)
    check = _check_study(args, exp, keys)
    out = {"runs": total, "benchmarks": benchmarks, "strategies": strategies,
           "seeds": args.seeds, "evals": args.evals, "workers": args.workers,
           "cpus": os.cpu_count(), "load_before": load_before,
           "load_after": os.getloadavg()[0], "sessions": sessions, "samples": samples,
           "check": check}
    points = sorted({int(p) for p in args.cache_points.split(",")} | {total})
    out["cache"] = _measure_cache(exp, points, args.cache_steps)
    shutil.rmtree(root)
    _print_study(out)
    return out


def _print_study(out: dict) -> None:
    print(f"\n{out['runs']} runs ({len(out['benchmarks'])} tables x {len(out['strategies'])} "
          f"strategies x {out['seeds']} seeds x {out['evals']} evaluations), "
          f"--workers {out['workers']}, {out['cpus']} CPUs, load average "
          f"{out['load_before']:.2f} before, {out['load_after']:.2f} after the sessions")
    print("\n| session | stopped by | exit code | runs on disk after | wall (s) "
          "| study peak RSS (MiB) | worker processes left |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for s in out["sessions"]:
        peak = max((x["hwm"] for x in out["samples"] if x["session"] == s["session"]),
                   default=0)
        print(f"| {s['session']} | {s['signal'] or '(ran to the end)'} | {s['rc']} | "
              f"{s['runs_after']} | {s['wall_s']:.1f} | {peak / 1024:.0f} | {s['orphans']} |")
    print("\nmemory (MiB): the study process's and its largest worker's resident set, the "
          "most sampled while the runs on disk were in each range (every session)")
    print("\n| runs on disk | samples | study RSS | largest worker RSS |")
    print("|---:|---:|---:|---:|")
    step = max(1, out["runs"] // 10)
    for low in range(0, out["runs"], step):
        high = min(out["runs"], low + step)
        got = [s for s in out["samples"] if low < s["runs"] <= high or (low == 0 == s["runs"])]
        if got:
            print(f"| {low}-{high} | {len(got)} | {max(s['rss'] for s in got) / 1024:.0f} | "
                  f"{max(s['worker_rss'] for s in got) / 1024:.0f} |")
    c = out["check"]
    print(f"\ncheck: {c['files']} run files of {c['expected']} expected, {c['runs_loaded']} "
          f"runs loaded with {c['rows_per_run']} rows each, {c['duplicate_steps']} duplicate "
          f"rows, {c['temporaries_left']} temporary files and {c['claims_left']} claims left; "
          f"{c['sample_equal']} of {c['sample']} sampled runs equal to the same runs computed "
          "without interruption")
    _print_cache(out["cache"])


def _print_cache(cache: dict) -> None:
    print("\nload cache (.combined.parquet), built fresh on the first N runs (each in a "
          "fresh process; peak RSS includes the ~{:.0f} MiB of the process before the load)"
          .format(cache["fresh"][0]["before_mb"] if cache["fresh"] else 0))
    print("\n| runs held | cache (MB) | cache bytes per run | run file bytes per run "
          "| build (s) | build peak RSS (MiB) | cached load (s) | cached load peak (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in cache["fresh"]:
        print(f"| {r['runs']} | {r['cache_bytes'] / 1e6:.2f} | {r['bytes_per_run']:.0f} | "
              f"{r['run_file_bytes_per_run']:.0f} | {r['build_s']:.2f} | "
              f"{r['build_peak_mb']:.0f} | {r['cached_load_s']:.2f} | "
              f"{r['cached_peak_mb']:.0f} |")
    print("\nthe same cache grown as runs are added (one load after each addition)")
    print("\n| runs held | cache (MB) | cache bytes per run | update (s) "
          "| update peak RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|")
    for r in cache["grown"]:
        print(f"| {r['runs']} | {r['cache_bytes'] / 1e6:.2f} | {r['bytes_per_run']:.0f} | "
              f"{r['update_s']:.2f} | {r['update_peak_mb']:.0f} |")


_ONE_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {scripts!r})
from bench_study_scale import one_study
print(json.dumps(one_study(*json.loads(sys.argv[1]))))
"""


def one_study(root: str, benchmarks: list[str], strategies: list[str], seeds: int, evals: int,
              workers: int) -> dict:
    """One study in this (fresh) process: wall, this process's CPU, the workers' run CPU."""
    from tabnas.executors import make_executor
    from tabnas.runner import Budget
    from tabnas.study import Study, run_study

    study = Study(experiment="s", benchmarks=benchmarks, strategies=strategies,
                  seeds=list(range(seeds)), budget=Budget(evals=evals), results_dir=Path(root))
    t0, cpu0 = time.perf_counter(), time.process_time()
    executor = make_executor(workers)
    run_cpu = 0.0
    inner = executor.result

    def result(handle):
        nonlocal run_cpu
        outcomes = inner(handle)
        run_cpu += sum(o.cpu_s for o in outcomes)
        return outcomes

    executor.result = result
    counts = run_study(study, executor=executor).counts
    executor.close()
    wall = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "parent_cpu_s": time.process_time() - cpu0, "run_cpu_s": run_cpu,
            "children_cpu_s": children.ru_utime + children.ru_stime, "ran": counts["ran"]}


def cmd_speedup(args: argparse.Namespace) -> dict:
    from tabnas.benchmarks import load_benchmark

    benchmarks = args.benchmarks.split(",")
    strategies = args.strategies.split(",")
    for name in benchmarks:
        load_benchmark(name)
    runs = len(benchmarks) * len(strategies) * args.seeds
    child = _ONE_CHILD.format(scripts=str(SCRIPT.parent))
    labels = {1: "in-process", args.workers: f"--workers {args.workers}"}
    rounds = []
    load_before = os.getloadavg()
    for r in range(args.rounds):
        order = [1, args.workers] if r % 2 == 0 else [args.workers, 1]
        got = {}
        for w in order:
            root = tempfile.mkdtemp(prefix="tabnas-speedup-")
            spec = [root, benchmarks, strategies, args.seeds, args.evals, w]
            proc = subprocess.run([sys.executable, "-c", child, json.dumps(spec)],
                                  capture_output=True, text=True, check=True)
            got[w] = json.loads(proc.stdout)
            shutil.rmtree(root)
        got["load"] = os.getloadavg()[0]
        rounds.append(got)
        print(f"round {r + 1}: in-process {got[1]['wall_s']:.2f} s, {labels[args.workers]} "
              f"{got[args.workers]['wall_s']:.2f} s: "
              f"{got[1]['wall_s'] / got[args.workers]['wall_s']:.2f}x "
              f"(load average {got['load']:.2f})", flush=True)
    out = {"runs": runs, "evals": args.evals, "benchmarks": benchmarks,
           "strategies": strategies, "workers": args.workers, "cpus": os.cpu_count(),
           "load_before": load_before[0], "load_after": os.getloadavg()[0], "rounds": rounds}
    ratios = [g[1]["wall_s"] / g[args.workers]["wall_s"] for g in rounds]
    print(f"\n{runs} runs ({len(benchmarks)} tables x {len(strategies)} strategies x "
          f"{args.seeds} seeds x {args.evals} evaluations), {os.cpu_count()} CPUs, load "
          f"average {load_before[0]:.2f} before, {out['load_after']:.2f} after; each study "
          "in a fresh process and results folder, in-process and pool alternated")
    print("\n| round | executor | wall (s) | study process CPU (s) | run CPU in workers (s) "
          "| speed-up |")
    print("|---:|---|---:|---:|---:|---:|")
    for i, g in enumerate(rounds, 1):
        for w in (1, args.workers):
            speed = f"{g[1]['wall_s'] / g[w]['wall_s']:.2f}x" if w != 1 else ""
            run_cpu = g[w]["run_cpu_s"] if w != 1 else 0.0
            print(f"| {i} | {labels[w]} | {g[w]['wall_s']:.2f} | {g[w]['parent_cpu_s']:.2f} | "
                  f"{run_cpu:.2f} | {speed} |")
    print(f"\nspeed-up of --workers {args.workers}: median {statistics.median(ratios):.2f}x, "
          f"best {max(ratios):.2f}x, worst {min(ratios):.2f}x over {len(ratios)} pairs")
    out["speedup_median"] = statistics.median(ratios)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name, seeds in (("study", 185), ("speedup", 19)):
        p = sub.add_parser(name)
        p.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS)
        p.add_argument("--strategies", default=DEFAULT_STRATEGIES)
        p.add_argument("--seeds", type=int, default=seeds)
        p.add_argument("--evals", type=int, default=100)
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    study = sub.choices["study"]
    study.add_argument("--sample", type=int, default=40,
                       help="runs recomputed here and compared with the stored ones")
    sub.choices["speedup"].add_argument("--rounds", type=int, default=3)
    cache = sub.add_parser("cache")
    cache.add_argument("experiment_dir", type=Path, help="an experiment folder with run files")
    for p in (study, cache):
        p.add_argument("--cache-points", default="1000,2500,5000",
                       help="numbers of runs the load cache is measured at (and all of them)")
        p.add_argument("--cache-steps", type=int, default=4,
                       help="additions in which the grown cache reaches all runs")
    cache.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()
    # Started in the background, this process may ignore Ctrl-C, and an ignored signal
    # stays ignored in the studies it starts; a handled one is reset on exec.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out = {"study": cmd_study, "speedup": cmd_speedup, "cache": cmd_cache}[args.command](args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
