"""A full disk mid-command: one line, exit code 2, claims released, nothing half-written.

The limit is a file-size limit (``RLIMIT_FSIZE``, which needs no privileges):
a write past it fails with ``EFBIG`` ("File too large"), as a write to a full
disk fails with ``ENOSPC``; both take the same path through tabnas.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tabnas.cli import main
from tests.conftest import REPO

RUN = ["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
       "--budget-evals", "4", "--experiment", "e"]


def _limited(args: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess:
    """``tabnas ARGS`` in a fresh process that may not write files beyond ``limit`` bytes."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "tabnas", *args], cwd=cwd, env=env,
                          preexec_fn=cap, capture_output=True, text=True, timeout=300)


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _assert_one_line(proc: subprocess.CompletedProcess) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("tabnas: error: "), proc.stderr
    assert "File too large (free some space" in lines[0]
    assert ".tmp" not in lines[0]  # the file being written is named, not its temporary


@pytest.fixture
def finished(tmp_path, capsys) -> Path:
    assert main([*RUN, "--no-report", "--results-dir", str(tmp_path / "results")]) == 0
    capsys.readouterr()
    return tmp_path


@pytest.mark.parametrize("command", [["stats", "e"], ["plot", "e"], ["report", "e"]])
def test_stats_plot_report_on_a_full_disk(finished, command):
    before = _files(finished / "results")
    proc = _limited(command, finished, limit=1)
    _assert_one_line(proc)
    assert _files(finished / "results") == before  # no temporary, no half a file


def test_run_on_a_full_disk_releases_its_claims(tmp_path):
    proc = _limited([*RUN, "--no-report"], tmp_path, limit=3000)  # the manifest fits, runs do not
    _assert_one_line(proc)
    exp = tmp_path / "results" / "e"
    assert json.loads((exp / "manifest.json").read_text())["config"]["seeds"] == [0, 1]
    left = [p for p in exp.rglob("*") if p.is_file() and p.name not in ("manifest.json", ".lock")]
    assert left == []  # no run, no temporary, no claim, no owner file
    # With room again, the same command completes the study.
    assert main([*RUN, "--no-report", "--results-dir", str(tmp_path / "results")]) == 0


def test_run_whose_report_hits_a_full_disk(tmp_path):
    proc = _limited(RUN, tmp_path, limit=12_000)  # runs and stats fit, figures do not
    _assert_one_line(proc)
    exp = tmp_path / "results" / "e"
    assert len(list((exp / "runs").rglob("seed-*.parquet"))) == 2
    assert not list(exp.rglob("*.tmp"))
    assert not [p for p in (exp / ".claims").rglob("*") if p.is_file()]


def test_export_and_prepare_on_a_full_disk(finished):
    before = _files(finished)
    _assert_one_line(_limited(["export", "e", "-o", "rows.csv"], finished, limit=1))
    env_cache = finished / "cache"
    proc = subprocess.run(
        [sys.executable, "-m", "tabnas", "prepare", "nb201-analog"], cwd=finished,
        env=dict(os.environ, TABNAS_CACHE=str(env_cache),
                 PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000)),
        capture_output=True, text=True, timeout=300)
    _assert_one_line(proc)
    assert "cannot write the cache" in proc.stderr
    assert _files(finished) == before  # no rows.csv, no cache file, no temporary
