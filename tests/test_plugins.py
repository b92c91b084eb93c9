"""Strategies from a file or a module, without packaging; broken plugins; the how-to-add error."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from tabnas.errors import UserError
from tabnas.strategy import STRATEGIES
from tests.conftest import REPO, run_cli

WALK = textwrap.dedent('''
    """Random walk: mutate the last suggestion, restart every few steps."""
    from tabnas.strategy import Hyperparameter, Strategy
    from tabnas.trials import WAIT, Suggestion


    class Walk(Strategy):
        hyperparameters = {"restart": Hyperparameter(10, "steps between restarts", low=1)}
        requires = frozenset({"mutate"})

        def ask(self):
            last = getattr(self, "last", None)
            for _ in range(10):  # not what is being evaluated
                if last is None or self.history.asked % self.restart == 0:
                    arch = self.space.sample(self.rng)
                else:
                    arch = self.space.mutate(last, self.rng)
                if not self.history.is_pending(arch):
                    self.last = arch
                    return Suggestion(arch)
            return WAIT
    ''')

SMALL = ("--benchmark", "toy", "--seeds", "2", "--budget-evals", "8", "--no-report")


def _without_pythonpath() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_file_strategy_passes_the_whole_conformance_suite_uninstalled(tmp_path):
    """The file is neither installed nor importable by module name: only its path finds it."""
    code = tmp_path / "elsewhere" / "walk.py"
    code.parent.mkdir()
    code.write_text(WALK)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_walk.py").write_text(textwrap.dedent(f'''
        import pytest

        from tabnas.strategy import STRATEGIES
        from tabnas.testing import StrategyConformance


        class TestWalk(StrategyConformance):
            @pytest.fixture
            def strategy_cls(self):
                return STRATEGIES.get({f"{code}:Walk"!r})
        '''))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                           "test_walk.py"], cwd=suite, env=_without_pythonpath(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert int(re.search(r"(\d+) passed", proc.stdout).group(1)) >= 20
    assert "failed" not in proc.stdout
    assert re.search(r"test_same_seed_same_run_in_a_fresh_process PASSED", proc.stdout)


def test_file_and_module_references_run_on_the_command_line(tmp_path):
    (tmp_path / "walk.py").write_text(WALK)
    proc = run_cli("run", "--strategy", "walk.py,walk.py:Walk", "--hp", "walk.py.restart=3",
                   *SMALL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = tmp_path / "results" / "default" / "runs" / "toy"
    assert sorted(p.name for p in runs.iterdir()) == ["walk.py", "walk.py+Walk"]
    manifest = json.loads((tmp_path / "results/default/manifest.json").read_text())
    cfg = manifest["config"]
    assert cfg["hyperparameters"] == {"walk.py": {"restart": 3}, "walk.py:Walk": {"restart": 10}}
    src = cfg["strategy_sources"]["walk.py:Walk"]
    assert src["path"] == str((tmp_path / "walk.py").resolve()) and len(src["sha256"]) == 64
    # A module on PYTHONPATH, run on two worker processes (which find it by the same name).
    proc = run_cli("run", "--strategy", "walk:Walk", "--workers", "2", "--experiment", "mod",
                   *SMALL, cwd=tmp_path, env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"})
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "results/mod/runs/toy/walk+Walk").iterdir())) == 2


def test_a_changed_strategy_file_is_refused_not_mixed(tmp_path):
    (tmp_path / "walk.py").write_text(WALK)
    args = ("run", "--strategy", "walk.py", *SMALL)
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    (tmp_path / "walk.py").write_text(WALK.replace("Hyperparameter(10", "Hyperparameter(11"))
    runs = sorted((tmp_path / "results/default/runs").rglob("*.parquet"))
    proc = run_cli(*args[:-1], "--seeds", "3", cwd=tmp_path)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and "walk.py" in line and "new --experiment" in line, line
    assert sorted((tmp_path / "results/default/runs").rglob("*.parquet")) == runs


@pytest.mark.parametrize(("spec", "needle"), [
    ("missing.py:Walk", "no file"),
    ("walk.py:Nope", "no Strategy subclass 'Nope'"),
    ("no_such_module_xyz:Walk", "no module named 'no_such_module_xyz'"),
    ("broken.py", "importing"),
    ("two.py", "exactly one Strategy subclass"),
])
def test_bad_references_are_one_line_errors(tmp_path, monkeypatch, spec, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "walk.py").write_text(WALK)
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "two.py").write_text(WALK + WALK.replace("class Walk", "class Walk2"))
    with pytest.raises(UserError) as err:
        STRATEGIES.get(spec)
    assert needle in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_unknown_strategy_says_how_to_add_one(tmp_path):
    proc = run_cli("run", "--strategy", "no-such-strategy", *SMALL, cwd=tmp_path)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and "unknown strategy 'no-such-strategy'" in line
    for how in ("path/to/my_strategy.py", "package.module:Class", "'tabnas.strategies' entry"):
        assert how in line, line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_broken_plugin_is_one_warning_and_the_rest_works(tmp_path, workers):
    """A real installed entry point whose module raises on import (worker processes stay quiet)."""
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('needs libfoo 9')\n")
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tabnas.strategies]\nbroken = broken_plugin\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    proc = run_cli("run", "--strategy", "rea", "--workers", workers, *SMALL, cwd=tmp_path,
                   env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tabnas: warning: strategy plugin 'broken'")
    assert "broken_plugin" in lines[0] and "needs libfoo 9" in lines[0]
    assert "2 runs done" in proc.stdout
    proc = run_cli("list", cwd=tmp_path, env=env)
    assert proc.returncode == 0 and re.search(r"^\s+rea\s", proc.stdout, re.M), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
