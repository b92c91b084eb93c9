"""Loading speed: every benchmark from the cache, and conversion vs the official API on a fixture.

Each measurement runs in a fresh Python process (so imports, caches in memory
and peak RSS are its own); peak RSS is the process's ``ru_maxrss``. The
official files cannot be downloaded here, so the official-API comparison uses
the test fixtures (tests/official_fixtures.py), built once into a temp folder.

    python scripts/bench_loading.py            # prints a Markdown table
"""

from __future__ import annotations

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


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tabnas-bench-"))
    env = dict(os.environ, TABNAS_CACHE=str(tmp / "cache"), PYTHONPATH=str(REPO))
    build = ("from pathlib import Path; from tests.official_fixtures import *; "
             f"build_nb201(Path('{tmp}/nb201.pth')); build_nats(Path('{tmp}/tss'), 'tss', False); "
             f"build_nats(Path('{tmp}/sss'), 'sss', True)")
    subprocess.run([sys.executable, "-c", build], env=env, cwd=REPO, check=True)
    fixtures = {"nb201": f"{tmp}/nb201.pth", "nats-tss": f"{tmp}/tss.pickle.pbz2",
                "nats-sss": f"{tmp}/sss"}
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
        load = (f"from harness.benchmarks import load_benchmark; "
                f"load_benchmark('{family}/cifar100', data='{path}')")
        first = measure(load, env)
        again = measure(load, env)
        api = measure(official[family].format(p=path), env)
        print(f"| {family}/cifar100 (fixture) | {first['s']:.2f} | {first['rss_mb']:.0f} | "
              f"{again['s']:.3f} | {again['rss_mb']:.0f} | {api['s']:.2f} | {api['rss_mb']:.0f} |")
    from harness.benchmarks import BENCHMARKS

    shipped = [n for n in BENCHMARKS.names() if "/" not in n]
    for name in shipped:
        load = f"from harness.benchmarks import load_benchmark; load_benchmark('{name}')"
        first = measure(load, env)
        again = measure(load, env)
        print(f"| {name} | {first['s']:.2f} | {first['rss_mb']:.0f} | {again['s']:.3f} | "
              f"{again['rss_mb']:.0f} | - | - |")


if __name__ == "__main__":
    main()
