"""What checking run files costs: a first load with every file checked vs an unchecked scan.

A study of R runs (nb201-analog, random search, E evaluations) is run once into
a temporary folder. Then, interleaved over several rounds (so drifting load on
shared cores hits both alike), each timing from a cold ``.combined.parquet``:

- ``checked``: what ``load_results`` does now, per run file: read the bytes,
  verify the SHA-256 and the identity, decode (``tabnas.results._checked_tables``);
- ``unchecked``: one multi-threaded ``pyarrow.dataset`` scan of the same files,
  which reads them without any check (how run files were loaded before they
  carried checksums);
- ``status``: ``check_run_files`` over every run, with no load cache (each file
  checked) and with a load cache that vouches for every file (stat calls only).

    python scripts/bench_results_check.py --runs 1000 --evals 200 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--evals", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import pyarrow.dataset as ds

    from tabnas.executors import InProcessExecutor
    from tabnas.results import (
        _COMBINED,
        _checked_tables,
        check_run_files,
        load_results,
        read_manifest,
        run_files,
    )
    from tabnas.runner import Budget
    from tabnas.study import Study, run_study

    root = Path(tempfile.mkdtemp(prefix="tabnas-bench-check-"))
    study = Study(experiment="b", benchmarks=["nb201-analog"], strategies=["random"],
                  seeds=list(range(args.runs)), budget=Budget(evals=args.evals),
                  results_dir=root)
    run_study(study, executor=InProcessExecutor(), progress=False)
    exp = study.exp_dir
    files = run_files(exp)
    config = read_manifest(exp)["config"]
    keys = [("nb201-analog", "random", s) for s in study.seeds]
    size = sum(f.stat().st_size for f in files)

    def checked() -> None:
        _checked_tables(exp, files, config)

    def unchecked() -> None:
        ds.dataset([str(f) for f in files], format="parquet").to_table()

    def status_cold() -> None:
        (exp / _COMBINED).unlink(missing_ok=True)
        check_run_files(exp, config, keys)

    def status_cached() -> None:
        check_run_files(exp, config, keys)

    times: dict[str, list[float]] = {n: [] for n in ("checked", "unchecked", "status, no cache",
                                                     "status, cache vouches")}
    for r in range(args.rounds):
        order = [("checked", checked), ("unchecked", unchecked)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        status_cold()
        times["status, no cache"].append(time.perf_counter() - t0)
        load_results(exp)  # builds the cache
        t0 = time.perf_counter()
        status_cached()
        times["status, cache vouches"].append(time.perf_counter() - t0)
    base = statistics.median(times["unchecked"])
    print(f"{len(files)} run files, {size / 1e6:.2f} MB, {args.evals} rows each; "
          f"median of {args.rounds} interleaved rounds")
    print("| what | median (s) | min (s) | vs unchecked scan |")
    print("|---|---:|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.3f} | {min(ts):.3f} | {med / base:.2f}x |")


if __name__ == "__main__":
    main()
