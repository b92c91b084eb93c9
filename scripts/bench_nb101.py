"""NAS-Bench-101 conversion speed: records/s, peak memory, and load time from the cache.

Writes ~100,000 records in the official tfrecord format (real CRCs, real
``ModelMetrics`` protobufs from the ``protobuf`` package, distinct valid cells
with their official hashes) in two layouts: the full file's (12 runs per cell:
4 epoch budgets x 3 repeats) and the only108 file's (3 runs per cell). Each
conversion runs in a fresh process, so its peak RSS is the conversion's own.
Side by side, it decodes the same metrics blobs with the ``protobuf`` package
(what the reader uses) and with a minimal pure-Python wire decoder (the
alternative to a protobuf dependency), to show why the package is used.

Usage: python scripts/bench_nb101.py [--records 100000] [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tabnas.formats.model_metrics import decode_model_metrics  # noqa: E402
from tabnas.formats.tfrecord import read_records  # noqa: E402
from tabnas.spaces.nb101 import OPS, cell_hash, prune  # noqa: E402
from tests.nb101_fixture import (  # noqa: E402
    metrics_bytes,
    record_bytes,
    write_tfrecord,
)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def pure_python_decode(buf: bytes) -> tuple[list[list[float]], int]:
    """ModelMetrics by hand: doubles of each EvaluationData, and trainable_parameters."""
    evals: list[list[float]] = []
    params = pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == 0:
            params, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            sub, pos = buf[pos:pos + size], pos + size
            values, p = [0.0] * 5, 0
            while p < len(sub):
                k, p = _varint(sub, p)
                if k & 7 == 1:
                    values[(k >> 3) - 1] = struct.unpack_from("<d", sub, p)[0]
                    p += 8
                else:
                    n, p = _varint(sub, p)
                    p += n
            evals.append(values)
    return evals, params


def distinct_cells(n: int, rng: np.random.Generator):
    seen: dict[str, tuple] = {}
    while len(seen) < n:
        m = np.triu(rng.random((7, 7)) < 0.3, 1).astype(np.int8)
        ops = ["input"] + [OPS[i] for i in rng.integers(0, 3, 5)] + ["output"]
        key = cell_hash(m, ops)
        if key is not None and key not in seen:
            seen[key] = prune(m, ops)
    return seen


def build(path: Path, cells: dict, epochs: tuple[int, ...]) -> tuple[int, list[bytes]]:
    rng = np.random.default_rng(1)
    payloads, blobs = [], []
    for key, (m, ops) in cells.items():
        for e in epochs:
            for _ in range(3):
                acc = [float(np.float32(x)) for x in rng.uniform(0.1, 0.95, 4)]
                final = {"training_time": float(np.float32(e * 11 * rng.uniform(0.8, 1.2))),
                         "train_accuracy": acc[0], "validation_accuracy": acc[1],
                         "test_accuracy": acc[2]}
                half = {k: v * 0.5 for k, v in final.items()}
                blob = metrics_bytes(int(rng.integers(1e5, 5e7)), e, half, final)
                blobs.append(blob)
                payloads.append(record_bytes(key, e, m, ops, blob))
    write_tfrecord(path, payloads)
    return len(payloads), blobs


CHILD = r"""
import json, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from tabnas.benchmarks.tables.nb101 import convert, load
import numpy as np

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak-RSS counter (VmHWM) after imports
before = status("VmRSS")
t = time.perf_counter()
arrays, meta = convert(Path({path!r}), progress=False)
dt = time.perf_counter() - t
peak = status("VmHWM")
load(data={path!r})  # fills the cache
loads = []
for _ in range(5):
    t = time.perf_counter(); load(data={path!r}); loads.append(time.perf_counter() - t)
print(json.dumps({{"records": meta["records"], "cells": meta["cells"], "seconds": dt,
  "rss_before_mb": before, "rss_peak_mb": peak,
  "output_mb": sum(a.nbytes for a in arrays.values()) / 2**20,
  "load_median_s": sorted(loads)[2]}}))
"""


FULL_SIZE = r"""
import json, os, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
import numpy as np
from tabnas.benchmarks.tables.nb101 import METRICS, load
from tabnas.cache import cached_convert

n, src = 423_624, Path({path!r})
src.write_bytes(b"synthetic stand-in for nasbench_full.tfrecord")

def synthetic():
    rng = np.random.default_rng(0)
    hashes = np.sort(np.array([os.urandom(16).hex() for _ in range(n)], dtype="S32"))
    arrays = {{m: rng.random((n, 3, 4), dtype=np.float32) for m in METRICS}}
    arrays.update(hashes=hashes, matrices=np.zeros((n, 7, 7), np.uint8),
                  ops=np.full((n, 7), -3, np.int8), n_vertices=np.full(n, 2, np.uint8),
                  params=np.zeros(n, np.int64), epochs=np.array([4, 12, 36, 108]))
    return arrays, {{"records": 12 * n, "cells": n, "source": "synthetic"}}

cached_convert("nb101-" + src.stem, [src], synthetic)
times = []
for _ in range(5):
    t = time.perf_counter(); load(data=str(src)); times.append(time.perf_counter() - t)
size = sum(p.stat().st_size for p in Path(os.environ["TABNAS_CACHE"]).glob("*.npz"))
print(json.dumps({{"load_median_s": sorted(times)[2], "cache_mb": size / 2**20}}))
"""


def run_child(path: Path, cache: Path) -> dict:
    env = dict(os.environ, TABNAS_CACHE=str(cache))
    out = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO), path=str(path))],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--full-size-only", action="store_true",
                    help="only time loading a cache of the official full file's shape")
    args = ap.parse_args()
    tmp = Path(args.out or tempfile.mkdtemp(prefix="nb101-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    cache = tmp / "cache_full_size"
    env = dict(os.environ, TABNAS_CACHE=str(cache))
    out = subprocess.run([sys.executable, "-c", FULL_SIZE.format(
        repo=str(REPO), path=str(tmp / "synthetic_full.tfrecord"))],
        capture_output=True, text=True, env=env, check=True)
    full = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"load from a cache of the official full file's shape (423,624 cells x 3 x 4, "
          f"{full['cache_mb']:.0f} MiB): {full['load_median_s']:.3f} s (median of 5)")
    if args.full_size_only:
        return
    rng = np.random.default_rng(0)
    layouts = {"full (12 runs/cell)": (4, 12, 36, 108), "only108 (3 runs/cell)": (108,)}
    rows = []
    for name, epochs in layouts.items():
        n_cells = -(-args.records // (3 * len(epochs)))
        path = tmp / f"bench_{len(epochs)}_{args.records}.tfrecord"
        if path.exists():  # reuse a file generated by an earlier run with --out
            all_blobs = [base64.b64decode(json.loads(r)[4]) for r in read_records(path)]
        else:
            t = time.perf_counter()
            cells = distinct_cells(n_cells, rng)
            n, all_blobs = build(path, cells, epochs)
            print(f"generated {name}: {n} records, {n_cells} cells, "
                  f"{path.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)
        cache = tmp / f"cache_{len(epochs)}"
        for old in cache.glob("*.npz"):
            old.unlink()
        r = run_child(path, cache)
        r["layout"] = name
        r["file_mb"] = path.stat().st_size / 2**20
        rows.append(r)
    t = time.perf_counter()
    for b in all_blobs:
        decode_model_metrics(b)
    package = time.perf_counter() - t
    t = time.perf_counter()
    for b in all_blobs:
        pure_python_decode(b)
    python = time.perf_counter() - t
    sample = decode_model_metrics(all_blobs[0])
    final = sample.evaluation_data[2]
    assert pure_python_decode(all_blobs[0])[0][2][3] == final.validation_accuracy

    print("| layout | records | cells | file MiB | convert s | records/s | peak RSS MiB "
          "(after imports) | cache arrays MiB | "
          "load from cache s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['layout']} | {r['records']:,} | {r['cells']:,} | {r['file_mb']:.1f} | "
              f"{r['seconds']:.1f} | {r['records'] / r['seconds']:,.0f} | "
              f"{r['rss_peak_mb']:.0f} ({r['rss_before_mb']:.0f}) | "
              f"{r['output_mb']:.1f} | "
              f"{r['load_median_s']:.3f} |")
    n = len(all_blobs)
    print(f"\nModelMetrics decode, {n:,} blobs: protobuf package {package / n * 1e6:.2f} "
          f"us/blob, pure-Python decoder {python / n * 1e6:.2f} us/blob "
          f"(pure Python / package = {python / package:.1f})")
    import google.protobuf

    print(f"protobuf {google.protobuf.__version__} "
          f"({google.protobuf.internal.api_implementation.Type()} backend)")


if __name__ == "__main__":
    main()
