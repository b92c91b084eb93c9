"""The code base stays ruff-clean (a failing lint fails the suite, not only a hook)."""

import shutil
import subprocess

from tests.conftest import REPO


def test_ruff_clean():
    ruff = shutil.which("ruff")
    assert ruff, "ruff is part of the test extra: pip install -e '.[test]'"
    proc = subprocess.run([ruff, "check", str(REPO)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
