"""Time ``tabnas tabulate mnist-mlp`` (81 MLPs, 1 seed, 5 epochs) and report the best MLP.

Runs the real command in a fresh process (as a user would) into a temporary
folder, then reads the table back and reports: wall seconds of the whole
tabulation, the summed training seconds it recorded, the best architecture by
validation accuracy at the last epoch with its test accuracy, and, side by side
in the same run, what answering all 81 architectures costs from the written
table versus training them (the ratio a tabular benchmark buys).

    python scripts/bench_tabulate.py                      # the shipped 5,000 digits
    python scripts/bench_tabulate.py --data ../shared/data/mnist   # full MNIST

The load average is printed before and after: on a shared machine other
processes compete for the cores and the wall time moves with them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder of MNIST IDX files (default: 5k subset)")
    ap.add_argument("--epochs", default="1-5")
    ap.add_argument("--seeds", default="1")
    args = ap.parse_args()

    import pandas as pd

    from tabnas.benchmarks import load_benchmark

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "table"
        cmd = [sys.executable, "-m", "tabnas", "tabulate", "mnist-mlp", "--seeds", args.seeds,
               "--epochs", args.epochs, "-o", str(out)]
        if args.data:
            cmd += ["--data", args.data]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        load_before = os.getloadavg()
        t0 = perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        wall = perf_counter() - t0
        load_after = os.getloadavg()

        df = pd.read_parquet(out / "table.parquet")
        last = df[df["epoch"] == df["epoch"].max()]
        mean = last.groupby("arch")[["valid_acc", "test_acc", "time_s"]].mean()
        best = mean["valid_acc"].idxmax()
        best_test = mean["test_acc"].idxmax()

        table = load_benchmark(f"table:{out}")
        key = 0
        t0 = perf_counter()
        for arch in table.space.all_archs():
            table.query(arch, run_key=key)
        query_s = perf_counter() - t0

    train_s = float(mean["time_s"].sum())
    print(f"command: tabnas tabulate mnist-mlp --seeds {args.seeds} --epochs {args.epochs}"
          + (f" --data {args.data}" if args.data else ""))
    print(f"load average before/after (1 min): {load_before[0]:.2f} / {load_after[0]:.2f} "
          f"on {os.cpu_count()} cores")
    print(f"wall time of the tabulation: {wall:.1f} s ({len(mean)} architectures)")
    print(f"training seconds recorded (sum over architectures): {train_s:.1f} s")
    print(f"best by validation: {best}: valid {mean.loc[best, 'valid_acc']:.2f}%, "
          f"test {mean.loc[best, 'test_acc']:.2f}%")
    print(f"best by test (for reference): {best_test}: test "
          f"{mean.loc[best_test, 'test_acc']:.2f}%")
    print(f"worst by validation: {mean['valid_acc'].idxmin()}: valid "
          f"{mean['valid_acc'].min():.2f}%")
    print(f"answering all 81 from the table: {query_s * 1e3:.2f} ms; training them: "
          f"{train_s:.1f} s; ratio {train_s / query_s:,.0f}x")


if __name__ == "__main__":
    main()
