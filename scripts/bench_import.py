"""Start-up cost of ``import tabnas`` and ``tabnas --help``, against bare Python and pandas.

``import tabnas`` must stay light (its public names load on first use), so that
``tabnas --help`` answers at once and a script pays only for what it uses. Each
command is a fresh process; the commands run interleaved, round by round, and
the figures are medians of each process's CPU seconds (user + system, from
``getrusage``) and wall seconds, with the ratio to bare ``python -c pass``.

    python scripts/bench_import.py --rounds 20
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import tabnas": [sys.executable, "-c", "import tabnas"],
    "import tabnas; tabnas.run": [sys.executable, "-c", "import tabnas; tabnas.run"],
    "tabnas --help": [shutil.which("tabnas") or "tabnas", "--help"],
    "import pandas": [sys.executable, "-c", "import pandas"],
}


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    cpu: dict[str, list[float]] = {k: [] for k in COMMANDS}
    wall: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(args.rounds + 1):  # the first round warms the file cache and is dropped
        for name, cmd in COMMANDS.items():
            c0, w0 = child_cpu(), time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            cpu[name].append(child_cpu() - c0)
            wall[name].append(time.perf_counter() - w0)
    base_cpu = statistics.median(cpu["python -c pass"][1:])
    base_wall = statistics.median(wall["python -c pass"][1:])
    print("| command | CPU ms | x bare python | wall ms | x bare python |")
    print("|---|---:|---:|---:|---:|")
    for name in COMMANDS:
        c, w = statistics.median(cpu[name][1:]), statistics.median(wall[name][1:])
        print(f"| `{name}` | {c * 1e3:.0f} | {c / base_cpu:.2f} | {w * 1e3:.0f} | "
              f"{w / base_wall:.2f} |")


if __name__ == "__main__":
    main()
