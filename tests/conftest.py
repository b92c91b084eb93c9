"""Shared fixtures. Every test gets its own cache and results folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


_CACHE = tempfile.mkdtemp(prefix="tabnas-test-cache-")


def pytest_configure(config):
    """Isolate the cache before collection: collecting the conformance suite already loads
    the shipped tables, so a fixture would be too late to keep them out of the user's home."""
    os.environ["TABNAS_CACHE"] = _CACHE


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch):
    """A session-wide cache folder (conversion happens once) outside the user's home."""
    monkeypatch.setenv("TABNAS_CACHE", _CACHE)


@pytest.fixture(scope="session")
def analog():
    from tabnas.benchmarks import load_benchmark

    return load_benchmark("nb201-analog")


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m tabnas ARGS`` in a fresh process, as a user would run ``tabnas``."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "tabnas", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


def one_line_error(capsys, argv: list[str]) -> str:
    """Run ``tabnas ARGV`` in this process; it must fail with one error line and exit 2."""
    from tabnas.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tabnas: error: "), err
    return lines[0]
