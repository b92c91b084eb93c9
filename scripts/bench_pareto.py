"""moocore against pymoo on the multi-objective operations tabnas needs, interleaved in one process.

Operations, on the shipped tables in tabnas's normalised minimisation space:

- ``front``: the exact non-dominated set of a whole table (nbgraph-cora
  accuracy/latency, 26,206 cells; nb201-analog baseline-mflops, 15,625 cells);
  pymoo: ``NonDominatedSorting().do(..., only_non_dominated_front=True)``;
- ``hv``: the hypervolume of a 20-point front, as a run computes it whenever
  its incumbent front changes; pymoo: ``HV(ref_point).do``;
- ``igd+``: IGD+ of that front to the table's true front; pymoo: ``IGDPlus``.

(pymoo has no empirical attainment function; moocore's ``eaf`` is the only one
timed.) Each round runs every operation of both libraries in turn, so machine
drift hits both alike; the script prints median microseconds per call over
rounds and the pymoo/moocore ratio, and checks that both give the same answer.
Usage: ``python scripts/bench_pareto.py [--rounds 15]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import moocore
import numpy as np
from pymoo.indicators.hv import HV
from pymoo.indicators.igd_plus import IGDPlus
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from tabnas.benchmarks import load_benchmark


def timed(fn, repeat: int) -> tuple[float, object]:
    t = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t) / repeat * 1e6, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    cases = []
    for name in ("nbgraph-cora:acc-latency", "nb201-analog:baseline-mflops"):
        b = load_benchmark(name)
        pts = b.normalise(b.reported_truth)
        front = b.fronts["test"].points
        rng = np.random.default_rng(0)
        sample = pts[rng.choice(len(pts), 400, replace=False)]
        small = sample[moocore.is_nondominated(sample)][:20]
        while len(small) < 20:  # pad with further random points, as a run's set would have
            small = np.vstack([small, pts[rng.integers(len(pts))]])
        ref = b.reference_normalised
        cases.append((name, pts, front, small, ref))
    nds = NonDominatedSorting()
    ops = {
        "front": (lambda c: np.sort(np.flatnonzero(moocore.is_nondominated(c[1])))),
        "hv": (lambda c: moocore.hypervolume(c[3], ref=c[4])),
        "igd+": (lambda c: moocore.igd_plus(c[3], ref=c[2])),
    }
    peers = {
        "front": (lambda c: np.sort(nds.do(c[1], only_non_dominated_front=True))),
        "hv": (lambda c: HV(ref_point=c[4]).do(c[3])),
        "igd+": (lambda c: IGDPlus(c[2]).do(c[3])),
    }
    repeat = {"front": 3, "hv": 200, "igd+": 200}
    times: dict[tuple[str, str, str], list[float]] = {}
    for _ in range(args.rounds):
        for c in cases:
            for op in ops:
                a, ra = timed(lambda op=op, c=c: ops[op](c), repeat[op])
                b, rb = timed(lambda op=op, c=c: peers[op](c), repeat[op])
                if op == "front":
                    assert np.array_equal(ra, rb), "the two libraries disagree on the front"
                else:
                    assert abs(float(ra) - float(rb)) < 1e-9, f"{op}: {ra} vs {rb}"
                times.setdefault((c[0], op, "moocore"), []).append(a)
                times.setdefault((c[0], op, "pymoo"), []).append(b)
    eaf_t = []
    fronts = [c[3] for c in cases[:1]] * 20
    for _ in range(args.rounds):
        t, _ = timed(lambda: moocore.eaf(np.vstack(fronts), np.repeat(np.arange(20), 20),
                                         percentiles=[25, 50, 75]), 20)
        eaf_t.append(t)
    print(f"python {platform.python_version()}, moocore {moocore.__version__}, "
          f"{args.rounds} interleaved rounds; median us per call")
    print("| table | operation | moocore (us) | pymoo (us) | pymoo / moocore |")
    print("|---|---|---:|---:|---:|")
    for c in cases:
        for op in ops:
            a = statistics.median(times[(c[0], op, "moocore")])
            b = statistics.median(times[(c[0], op, "pymoo")])
            print(f"| {c[0]} | {op} | {a:.1f} | {b:.1f} | {b / a:.1f}x |")
    print(f"moocore eaf (20 runs x 20 points, 3 percentiles): "
          f"{statistics.median(eaf_t):.1f} us; pymoo has none")


if __name__ == "__main__":
    main()
