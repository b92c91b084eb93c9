"""The installed import name is ``tabnas`` alone: nothing generic at the top level.

The repository keeps its layout (``harness/``, ``strategies/``); ``pyproject.toml``
maps them to ``tabnas`` and ``tabnas.strategies``. These tests fail if a new
subpackage is left out of that mapping, if code imports the folder names, or if a
user's own ``strategies/`` or ``harness/`` folder can shadow tabnas's.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def test_every_subpackage_is_installed():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {name: REPO / path for name, path in cfg["package-dir"].items()}
    expected = set()
    for name, root in roots.items():
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            expected.add(".".join((name, *rel)))
    assert set(cfg["packages"]) == expected, (
        f"pyproject.toml packages differ from the folders: missing "
        f"{sorted(expected - set(cfg['packages']))}, extra {sorted(set(cfg['packages']) - expected)}"
    )


def test_no_code_imports_the_folder_names():
    pattern = re.compile(r"^\s*(from|import)\s+(harness|strategies)\b", re.MULTILINE)
    offenders = []
    for folder in ("harness", "strategies", "scripts", "tests"):
        for path in (REPO / folder).rglob("*.py"):
            if pattern.search(path.read_text()):
                offenders.append(str(path.relative_to(REPO)))
    assert not offenders, f"import tabnas.* instead of the folder names in {offenders}"


def test_user_folders_named_like_the_layout_do_not_shadow_tabnas(tmp_path):
    for name in ("harness", "strategies"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('user folder imported')\n")
    code = (
        "import tabnas, tabnas.strategies\n"
        "from tabnas.strategy import STRATEGIES\n"
        "assert 'rea' in STRATEGIES.names(), STRATEGIES.names()\n"
        "print(tabnas.__file__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path) not in proc.stdout
