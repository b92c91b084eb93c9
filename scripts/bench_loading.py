"""Loading speed and memory: every benchmark from the cache, and conversion vs the official API.

Each measurement runs in a fresh Python process (so imports, caches in memory
and peak RSS are its own). The official files cannot be downloaded here, so the
official-API comparison uses the test fixtures (tests/official_fixtures.py),
built once into a temp folder.

Speed table: peak RSS is the whole process's ``ru_maxrss`` (imports included).

Memory table (the "at most twice the memory of its arrays" promise): a fresh
process imports everything the load needs (the modules a first probe saw the
load import are imported up front in a second probe), resets the kernel's
peak-RSS counter (``/proc/self/clear_refs`` = 5), reads ``VmRSS``, loads the
benchmark from the cache, and reads ``VmHWM``: their difference is the peak RSS
the load itself added. It is set against the bytes of the benchmark's data
arrays (values, tests, costs, extra arrays, reporting arrays and the space's
arrays; each buffer once, :mod:`tabnas.memory`). Besides the shipped tables
and the 4-cell fixtures, two caches are measured at the official files' scale:
NAS-Bench-201 records of 15,625 cells x 3 seeds x 200 epochs (one dataset) and
a NAS-Bench-101 cache of 423,624 cells x 3 runs x 4 budgets, both with
synthetic numbers written through ``cached_convert``; a user table of 187,500
rows (Parquet) is loaded through a spec.

    python scripts/bench_loading.py            # prints both Markdown tables
    python scripts/bench_loading.py --memory   # only the memory table
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
exec(sys.argv[1])
dt = time.perf_counter() - t0
print(json.dumps({"s": dt, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(code: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, code], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def shipped_tables() -> list[str]:
    """Tables whose data ships with tabnas' dependencies (not nb101's file, not live MNIST)."""
    from tabnas.benchmarks import BENCHMARKS

    return [n for n in BENCHMARKS.names() if "/" not in n and n != "nb101"
            and not n.startswith("mnist")]


def speed_table(tmp: Path, env: dict, fixtures: dict[str, str]) -> None:
    official = {
        "nb201": "import torch; from nas_201_api import NASBench201API as A; "
                 "api = A('{p}', verbose=False); "
                 "[api.get_more_info(i, 'cifar100', hp='200', is_random=777) for i in range(4)]",
        "nats-tss": "import nats_bench; api = nats_bench.create('{p}', 'tss', False, False); "
                    "[api.get_more_info(i, 'cifar100', hp='200', is_random=777) for i in range(4)]",
        "nats-sss": "import nats_bench; api = nats_bench.create('{p}', 'sss', True, False); "
                    "[api.get_more_info(i, 'cifar100', hp='90', is_random=777) for i in range(4)]",
    }
    print("| benchmark | first load (convert) s | peak RSS MB | cached load s | peak RSS MB "
          "| official API load + 4 queries s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for family, path in fixtures.items():
        load = (f"from tabnas.benchmarks import load_benchmark; "
                f"load_benchmark('{family}/cifar100', data='{path}')")
        first = measure(load, env)
        again = measure(load, env)
        api = measure(official[family].format(p=path), env)
        print(f"| {family}/cifar100 (fixture) | {first['s']:.2f} | {first['rss_mb']:.0f} | "
              f"{again['s']:.3f} | {again['rss_mb']:.0f} | {api['s']:.2f} | {api['rss_mb']:.0f} |")
    for name in shipped_tables():
        load = f"from tabnas.benchmarks import load_benchmark; load_benchmark('{name}')"
        first = measure(load, env)
        again = measure(load, env)
        print(f"| {name} | {first['s']:.2f} | {first['rss_mb']:.0f} | {again['s']:.3f} | "
              f"{again['rss_mb']:.0f} | - | - |")



_MEMORY_PROBE = r"""
import gc, importlib, json, sys, time
name, data, options, preload = json.loads(sys.argv[1])
for module in preload:
    try:
        importlib.import_module(module)
    except ImportError:  # an extension's internal module, imported by its parent
        pass
from tabnas.benchmarks import BENCHMARKS, resolve_benchmark
from tabnas.memory import array_bytes
BENCHMARKS.names()  # imports every registered table module
entry = resolve_benchmark(name)

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

gc.collect()
modules = set(sys.modules)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current RSS
before = status("VmRSS")
t0 = time.perf_counter()
b = entry.load(data=data, **options)
dt = time.perf_counter() - t0
peak, after = status("VmHWM"), status("VmRSS")
arrays = array_bytes(b.values, b.tests, b.costs, b.extra_arrays, b.report_values,
                     b.report_tests, b.space)
print(json.dumps({"s": dt, "peak": peak - before, "kept": after - before, "arrays": arrays,
                  "held": array_bytes(b), "imported": sorted(set(sys.modules) - modules)}))
"""


def measure_memory(name: str, data: str | None, env: dict, **options) -> dict:
    """The load's peak RSS growth; a second probe pre-imports what the first saw imported."""
    def probe(preload: list[str]) -> dict:
        arg = json.dumps([name, data, options, preload])
        out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, arg], env=env, cwd=REPO,
                             capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"memory probe of {name} failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = probe([])
    return probe(first["imported"]) if first["imported"] else first


_NB201_FULL = r"""
import sys
from pathlib import Path
import numpy as np
from tabnas.cache import cached_convert
src = Path(sys.argv[1])
src.write_bytes(b"synthetic stand-in for NAS-Bench-201-v1_1-096897.pth")

def synthetic():
    rng = np.random.default_rng(0)
    cells, seeds, epochs = 15_625, (777, 888, 999), 200
    prefix = "cifar100/200"
    cell = np.repeat(np.arange(cells), len(seeds))
    out = {f"{prefix}/cell": cell, f"{prefix}/seed": np.tile(seeds, cells)}
    for f in ("valid_acc", "valid_loss", "test_acc", "test_loss", "cost"):
        out[f"{prefix}/{f}"] = rng.uniform(0, 100, (len(cell), epochs))
    for f in ("flops", "params", "latency"):
        out[f"{prefix}/{f}"] = rng.uniform(0, 1, len(cell))
    return out, {"root": str(src.resolve()), "family": "nb201", "available": [prefix]}

cached_convert("nb201", [src], synthetic)
"""

_NB101_FULL = r"""
import os, sys
from pathlib import Path
import numpy as np
from tabnas.benchmarks.tables.nb101 import METRICS
from tabnas.cache import cached_convert
n, src = 423_624, Path(sys.argv[1])
src.write_bytes(b"synthetic stand-in for nasbench_full.tfrecord")

def synthetic():
    rng = np.random.default_rng(0)
    hashes = np.sort(np.array([os.urandom(16).hex() for _ in range(n)], dtype="S32"))
    arrays = {m: rng.random((n, 3, 4), dtype=np.float32) for m in METRICS}
    arrays.update(hashes=hashes, matrices=np.zeros((n, 7, 7), np.uint8),
                  ops=np.full((n, 7), -3, np.int8), n_vertices=np.full(n, 2, np.uint8),
                  params=np.zeros(n, np.int64), epochs=np.array([4, 12, 36, 108]))
    return arrays, {"records": 12 * n, "cells": n, "source": "synthetic"}

cached_convert("nb101-" + src.stem, [src], synthetic)
"""

_USER_TABLE = r"""
import sys
from pathlib import Path
import numpy as np, pandas as pd
from tabnas.spaces.nb201 import OPS
folder = Path(sys.argv[1])
folder.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
cells, seeds, fids = 15_625, 3, (12, 36, 108, 200)
idx = np.arange(cells * seeds * len(fids))
cell, rest = np.divmod(idx, seeds * len(fids))
seed, fid = np.divmod(rest, len(fids))
df = pd.DataFrame({f"edge{e}": np.array(OPS)[(cell // 5 ** (5 - e)) % 5] for e in range(6)})
df["seed"], df["epochs"] = seed, np.array(fids)[fid]
df["valid"], df["test"] = rng.uniform(0, 100, len(df)), rng.uniform(0, 100, len(df))
df["seconds"] = df["epochs"] * rng.uniform(5, 7, len(df))
df.to_parquet(folder / "table.parquet")
spec = dict(table="table.parquet", value="valid", test="test", cost="seconds", seed="seed",
            fidelity="epochs")
text = "".join(f"{k} = {v!r}" + chr(10) for k, v in spec.items()) + "[variables]" + chr(10)
text += "".join(f"edge{e} = {list(OPS)!r}" + chr(10) for e in range(6))
(folder / "spec.toml").write_text(text.replace(chr(39), chr(34)))
"""


def memory_table(tmp: Path, env: dict, fixtures: dict[str, str]) -> None:
    for code, arg in ((_NB101_FULL, tmp / "nb101.tfrecord"), (_USER_TABLE, tmp / "user-table")):
        subprocess.run([sys.executable, "-c", code, str(arg)], env=env, cwd=REPO, check=True)
    full_env = dict(env, TABNAS_CACHE=str(tmp / "cache-full"))  # its own "nb201" cache
    subprocess.run([sys.executable, "-c", _NB201_FULL, str(tmp / "nb201-full.pth")],
                   env=full_env, cwd=REPO, check=True)
    rows: list[tuple[str, str, str | None, dict, dict]] = []
    for family, path in fixtures.items():
        rows.append((f"{family}/cifar100 (4-cell fixture)", f"{family}/cifar100", path, {}, env))
    rows.append(("nb201/cifar100 (fixture) seed_mode=mean", "nb201/cifar100",
                 fixtures["nb201"], {"seed_mode": "mean"}, env))
    rows.append(("nb201/cifar100 (fixture) schedule=12, report_schedule=200", "nb201/cifar100",
                 fixtures["nb201"], {"schedule": 12, "report_schedule": 200}, env))
    rows.append(("nb201/cifar100 (full scale, synthetic)", "nb201/cifar100",
                 str(tmp / "nb201-full.pth"), {}, full_env))
    rows.append(("nb101 (full scale, synthetic)", "nb101", str(tmp / "nb101.tfrecord"), {}, env))
    rows += [(n, n, None, {}, env) for n in shipped_tables()]
    rows.append(("table: (187,500-row Parquet, not cached)", f"table:{tmp / 'user-table'}",
                 None, {}, env))
    print("| benchmark | arrays MB | all arrays held MB | load peak RSS growth MB "
          "| kept after load MB | peak / arrays | load s |")
    print("|---|---|---|---|---|---|---|")
    mb = 2**20
    for label, name, data, options, row_env in rows:
        load = ("from tabnas.benchmarks import load_benchmark; "
                f"load_benchmark({name!r}, data={data!r}, **{options!r})")
        subprocess.run([sys.executable, "-c", load], env=row_env, cwd=REPO, check=True)  # cache
        m = measure_memory(name, data, row_env, **options)
        print(f"| {label} | {m['arrays'] / mb:.2f} | {m['held'] / mb:.2f} | "
              f"{m['peak'] / mb:.2f} | {m['kept'] / mb:.2f} | "
              f"{m['peak'] / max(m['arrays'], 1):.2f} | {m['s']:.3f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memory", action="store_true", help="only the memory table")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tabnas-bench-"))
    env = dict(os.environ, TABNAS_CACHE=str(tmp / "cache"), PYTHONPATH=str(REPO))
    build = ("from pathlib import Path; from tests.official_fixtures import *; "
             f"build_nb201(Path('{tmp}/nb201.pth')); build_nats(Path('{tmp}/tss'), 'tss', False); "
             f"build_nats(Path('{tmp}/sss'), 'sss', True)")
    subprocess.run([sys.executable, "-c", build], env=env, cwd=REPO, check=True)
    fixtures = {"nb201": f"{tmp}/nb201.pth", "nats-tss": f"{tmp}/tss.pickle.pbz2",
                "nats-sss": f"{tmp}/sss"}
    if not args.memory:
        speed_table(tmp, env, fixtures)
        print()
    memory_table(tmp, env, fixtures)


if __name__ == "__main__":
    main()
