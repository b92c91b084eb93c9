"""What an attacker can plant: data files that would run code, a cluster to join, symlinks.

Each crafted file here really runs code under a plain ``pickle.load`` (the
test checks that first, with a marker file), and must be refused by tabnas
without the marker appearing.
"""

from __future__ import annotations

import bz2
import gc
import json
import os
import pickle
import urllib.error
import urllib.request

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.cli import main
from tabnas.errors import UserError
from tests.conftest import one_line_error
from tests.official_fixtures import build_nats

RUN = ["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
       "--budget-evals", "4", "--experiment", "e", "--no-report"]


class _RunsCode:
    """Unpickling this runs ``touch MARKER``."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def _crafted(obj, path, marker) -> None:
    """Write ``obj`` as a NATS-Bench ``.pickle.pbz2`` and prove that a plain load runs it."""
    data = pickle.dumps(obj, protocol=4)
    pickle.loads(data)  # the payload is live: a plain unpickler creates the marker
    assert marker.exists()
    marker.unlink()
    path.write_bytes(bz2.compress(data))


def test_crafted_nats_single_file_runs_no_code(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "NATS-tss-v1_0-3ffb9-full.pickle.pbz2"
    _crafted({"meta_archs": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
              "arch2infos": {0: {"12": _RunsCode(marker)}}, "evaluated_indexes": [0]},
             path, marker)
    with pytest.raises(UserError, match="refusing global posix.system"):
        load_benchmark("nats-tss/cifar10-valid", data=str(path))
    assert not marker.exists()


@pytest.mark.parametrize("member", ["meta.pickle.pbz2", "000001.pickle.pbz2"])
def test_crafted_nats_fast_mode_folder_runs_no_code(tmp_path, member):
    """The meta file is read on opening; a cell's file lazily, while converting."""
    marker = tmp_path / "marker"
    folder = build_nats(tmp_path / "NATS-sss-v1_0-50262-simple", "sss", fast=True)
    payload = ({"meta_archs": _RunsCode(marker)} if member.startswith("meta")
               else {"90": _RunsCode(marker)})
    _crafted(payload, folder / member, marker)
    with pytest.raises(UserError, match="refusing global posix.system"):
        load_benchmark("nats-sss/cifar100", data=str(folder))
    assert not marker.exists()


def test_nats_files_with_numpy_scalars_and_ordered_dicts_load(tmp_path):
    """The allow-list admits exactly what such files hold: both forms still load."""
    single = build_nats(tmp_path / "one", "tss", fast=False, numpy_scalars=True)
    folder = build_nats(tmp_path / "fast", "tss", fast=True, numpy_scalars=True)
    a = load_benchmark("nats-tss/cifar100", data=str(single))
    b = load_benchmark("nats-tss/cifar100", data=str(folder))
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert np.isfinite(a.extra_arrays["latency"]).sum() == 4


def test_crafted_cache_runs_no_code_and_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TABNAS_CACHE", str(tmp_path / "cache"))
    single = build_nats(tmp_path / "one", "tss", fast=False)
    good = load_benchmark("nats-tss/cifar10-valid", data=str(single))
    cache = tmp_path / "cache" / "nats-tss.npz"
    with np.load(cache) as z:
        meta = json.loads(str(z["__tabnas_meta__"]))
    marker = tmp_path / "marker"
    evil = np.array([_RunsCode(marker)], dtype=object)
    np.savez(cache, **{"__tabnas_meta__": np.array(json.dumps(meta)),
                       "cifar10-valid/12/valid_acc": evil})
    with np.load(cache, allow_pickle=True) as z:  # the payload is live
        z["cifar10-valid/12/valid_acc"]
    assert marker.exists()
    marker.unlink()
    again = load_benchmark("nats-tss/cifar10-valid", data=str(single), schedule="12")
    assert not marker.exists()
    with np.load(cache, allow_pickle=False) as z:  # rebuilt: plain arrays again
        assert z["cifar10-valid/12/valid_acc"].dtype == np.float64
    ref = load_benchmark("nats-tss/cifar10-valid", data=str(single), schedule="12")
    assert np.array_equal(again.values, ref.values, equal_nan=True)
    assert good.space.size == again.space.size


def test_local_dask_cluster_refuses_clients_without_its_credentials():
    from distributed import Client
    from distributed.security import Security

    from tabnas.executors import DaskExecutor

    with DaskExecutor("local:1") as ex:
        address = ex.client.scheduler.address
        assert address.startswith("tls://")
        assert ex.client.submit(sum, [1, 2]).result() == 3  # the study itself gets through
        attempts = [dict(address=address),  # TLS without credentials
                    dict(address="tcp://" + address.removeprefix("tls://")),  # plain TCP
                    dict(address=address, security=Security.temporary())]  # another CA
        for kwargs in attempts:
            with pytest.raises(Exception) as refused:  # noqa: B017 - each has its own type
                Client(timeout=3, **kwargs).close()
            # A Client that failed to start closes itself in __del__. Collected here,
            # not whenever a later allocation triggers the collector: inside the next
            # Client's start that close waits on the lock the start holds, for ever.
            del refused
            gc.collect()
        # No dashboard or HTTP API: the scheduler's HTTP port serves no route.
        ports = [s.getsockname()[1] for s in ex._cluster.scheduler.http_server._sockets.values()]
        assert ports and 8787 not in ports
        for route in ("/", "/status", "/health", "/api/v1/retire_workers"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}{route}", timeout=5)


def test_planted_symlinks_are_not_followed(tmp_path, capsys):
    results = tmp_path / "results"
    exp = results / "e"
    exp.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (exp / ".write-probe").symlink_to(victim)  # the old fixed probe name
    assert main([*RUN, "--results-dir", str(results)]) == 0
    capsys.readouterr()
    for name in ("stats.csv", "stats.md"):
        (exp / name).symlink_to(victim)
    line = one_line_error(capsys, ["stats", "e", "--results-dir", str(results)])
    assert "is a symbolic link" in line
    (exp / "stats.csv").unlink()
    (exp / "stats.md").unlink()
    (exp / ".lock").unlink()
    (exp / ".lock").symlink_to(victim)
    line = one_line_error(capsys, [*RUN, "--seeds", "3", "--results-dir", str(results)])
    assert f"{exp / '.lock'}: it is a symbolic link" in line
    assert victim.read_text() == "precious" and (exp / ".lock").is_symlink()


def test_report_onto_a_fifo_is_refused_before_anything_is_written(tmp_path, capsys):
    results = tmp_path / "results"
    assert main([*RUN, "--results-dir", str(results)]) == 0
    capsys.readouterr()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    line = one_line_error(capsys, ["report", "e", "-o", str(fifo), "--results-dir", str(results)])
    assert f"{fifo} is not a regular file" in line
    assert not (results / "e" / "figures").exists() and not (results / "e" / "tables").exists()
    assert fifo.is_fifo()


def test_shipped_data_files_are_checked_against_their_wheel_record(tmp_path, monkeypatch):
    """A package's RECORD holds the SHA-256 of each installed file: a changed file is refused."""
    import base64
    import hashlib
    import sys

    from tabnas.benchmarks.tables.analog import data_file
    from tabnas.formats.package_data import check_shipped, recorded_sha256

    real = data_file()
    assert recorded_sha256(real, "analog-nasbench") is not None
    check_shipped(real, "analog-nasbench")  # the installed table is as its wheel recorded

    site = tmp_path / "site"
    (site / "demo_pkg").mkdir(parents=True)
    payload = b"\x80\x04K\x01."  # pickle of 1
    (site / "demo_pkg" / "table.bench").write_bytes(payload)
    digest = base64.urlsafe_b64encode(hashlib.sha256(payload).digest()).rstrip(b"=").decode()
    info = site / "demo_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n")
    (info / "RECORD").write_text(f"demo_pkg/table.bench,sha256={digest},{len(payload)}\n"
                                 "demo_pkg-1.0.dist-info/RECORD,,\n")
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    check_shipped(site / "demo_pkg" / "table.bench", "demo-pkg")
    (site / "demo_pkg" / "table.bench").write_bytes(b"\x80\x04K\x02.")
    with pytest.raises(UserError, match="does not match the SHA-256 that demo-pkg recorded"):
        check_shipped(site / "demo_pkg" / "table.bench", "demo-pkg")
    check_shipped(tmp_path / "elsewhere.bench", "demo-pkg")  # not a package file: no record


def test_planted_fifos_are_never_waited_on(tmp_path, capsys):
    """Opening a FIFO for reading blocks until someone writes: tabnas never opens one."""
    from tests.conftest import run_cli

    results = tmp_path / "results"
    assert main([*RUN, "--results-dir", str(results)]) == 0
    capsys.readouterr()
    exp = results / "e"
    os.mkfifo(exp / ".combined.parquet")  # the load cache: ignored, and not replaced
    claim = exp / ".claims" / "toy" / "random" / "seed-2"
    claim.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(claim)  # no claim tabnas makes: never read, and taken over at once
    proc = run_cli("stats", "e", "--results-dir", str(results), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (exp / ".combined.parquet").is_fifo()
    proc = run_cli("status", "e", "--results-dir", str(results), cwd=tmp_path)
    assert proc.returncode == 0 and "2 done" in proc.stdout, proc.stderr
    proc = run_cli(*RUN, "--seeds", "3", "--results-dir", str(results), cwd=tmp_path)
    assert proc.returncode == 0 and "1 runs done" in proc.stdout, proc.stderr  # taken over
    (exp / "manifest.json").unlink()
    os.mkfifo(exp / "manifest.json")
    proc = run_cli("status", "e", "--results-dir", str(results), cwd=tmp_path)
    assert proc.returncode == 2 and "manifest.json is unreadable" in proc.stderr
