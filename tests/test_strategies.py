"""Strategies as users meet them: the command line, Optuna, entry points, the tutorial, results."""

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.stats import wilcoxon

from tabnas.errors import UserError
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES
from tests.conftest import REPO, run_cli

SMALL = ("--seeds", "1", "--budget-evals", "5", "--no-report")


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_cli_unknown_hyperparameter_is_exit_2(name, tmp_path):
    # A benchmark the strategy serves, so the hyperparameter is what is refused.
    cls = STRATEGIES.get(name)
    multi = cls.objectives == "multi"
    if multi:
        bench = ("toy-fidelities:score-size" if "fidelities" in cls.requires
                 else "nb201-analog:baseline-analog")
    else:
        bench = "toy-fidelities"
    proc = run_cli("run", "--benchmark", bench, "--strategy", name,
                   "--hp", f"{name}.no_such_knob=1", *SMALL, cwd=tmp_path)
    line = _one_error_line(proc)
    assert "no_such_knob" in line and name in line
    assert not (tmp_path / "results").exists()


def test_cli_out_of_range_and_wrong_type_name_the_range(tmp_path):
    line = _one_error_line(run_cli("run", "--benchmark", "toy", "--strategy", "tpe",
                                   "--hp", "tpe.gamma=2", *SMALL, cwd=tmp_path))
    assert "gamma=2.0" in line and "[0.01, 0.99]" in line
    line = _one_error_line(run_cli("run", "--benchmark", "toy", "--strategy", "bo",
                                   "--hp", "bo.initial=ten", *SMALL, cwd=tmp_path))
    assert "initial='ten'" in line and "int in [2" in line
    for bad in ("nan", "inf", "-inf"):  # nan would pass every range check
        line = _one_error_line(run_cli("run", "--benchmark", "nb201-analog", "--strategy",
                                       "bananas-published", "--hp",
                                       f"bananas-published.perfect_score={bad}", *SMALL,
                                       cwd=tmp_path))
        assert f"perfect_score={float(bad)!r}: expected a finite number" in line, line
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("name", [n for n in STRATEGIES.names()
                                  if "fidelities" in STRATEGIES.get(n).requires])
def test_cli_multi_fidelity_strategy_refuses_single_fidelity_table(name, tmp_path):
    preset = ":score-size" if STRATEGIES.get(name).objectives == "multi" else ""
    line = _one_error_line(run_cli("run", "--benchmark", f"toy{preset}", "--strategy", name,
                                   *SMALL, cwd=tmp_path))
    assert "multi-fidelity" in line and repr(name) in line
    assert not (tmp_path / "results").exists()
    proc = run_cli("run", "--benchmark", f"toy-fidelities{preset}", "--strategy", name, *SMALL,
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_optuna_strategies_through_the_cli(tmp_path):
    spec = "optuna:TPESampler(n_startup_trials=3, multivariate=True)"
    proc = run_cli("run", "--benchmark", "toy", "--strategy", f"random,{spec}",
                   "--hp", "optuna:RandomSampler.no=1", *SMALL, "--experiment", "hp",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # a strategy not in the run: warned, not refused
    assert "warning: --hp optuna:RandomSampler.no=1: strategy 'optuna:RandomSampler' is not " \
        "in this run" in proc.stderr
    proc = run_cli("run", "--benchmark", "toy", "--strategy", f"random,{spec}",
                   "--seeds", "2", "--budget-evals", "12", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "4 runs done" in proc.stdout and "Trial" not in proc.stderr
    runs = list((tmp_path / "results/default/runs/toy").iterdir())
    assert len(runs) == 2
    proc = run_cli("run", "--benchmark", "toy", "--strategy", "optuna:TPESampler",
                   "--hp", "optuna:TPESampler.n_startup_trials=-2.5", *SMALL, cwd=tmp_path)
    assert "n_startup_trials" in _one_error_line(proc)
    proc = run_cli("run", "--benchmark", "toy", "--strategy", "optuna:RandomSampler",
                   "--hp", "optuna:RandomSampler.seed=1", *SMALL, cwd=tmp_path)
    assert "--seeds" in _one_error_line(proc)


@pytest.mark.parametrize("name, words", [
    ("optuna:NoSuchSampler", ["NoSuchSampler", "TPESampler"]),
    ("optuna:TPESampler(bogus=1)", ["bogus", "n_startup_trials"]),
    ("optuna:TPESampler(seed=3)", ["seed", "the run's seeds"]),
    ("optuna:GridSampler", ["search_space"]),
    ("optuna:TPESampler(", ["optuna:SamplerClass"]),
])
def test_bad_optuna_names_are_one_line_errors(name, words):
    with pytest.raises(UserError) as err:
        STRATEGIES.get(name)
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_optuna_absent_gives_a_clear_message(tmp_path):
    # sys.modules[name] = None is Python's documented way to make an import fail.
    code = ("import sys; sys.modules['optuna'] = None\n"
            "from tabnas.cli import main\n"
            "raise SystemExit(main(sys.argv[1:]))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code, "run", "--benchmark", "toy",
                           "--strategy", "optuna:TPESampler", *SMALL], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    line = _one_error_line(proc)
    assert "needs Optuna" in line and "pip install optuna" in line
    proc = subprocess.run([sys.executable, "-c", code, "run", "--benchmark", "toy",
                           "--strategy", "tpe", *SMALL], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def _dist_info(folder, dist, entry_points):
    info = folder / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tabnas.strategies]\n" + entry_points)


def test_entry_point_strategy_is_listed_and_runs(tmp_path):
    (tmp_path / "ext_walk.py").write_text(textwrap.dedent('''
        """Random walk: mutate the last proposal."""
        from tabnas.strategy import Strategy
        from tabnas.trials import Suggestion

        class RandomWalk(Strategy):
            requires = frozenset({"mutate"})

            def ask(self):
                archs = self.history.archs
                last = list(archs)[-1] if archs else None
                return Suggestion(self.space.sample(self.rng) if last is None
                                  else self.space.mutate(last, self.rng))
        '''))
    _dist_info(tmp_path, "ext_walk", "random-walk = ext_walk:RandomWalk\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    proc = run_cli("list", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\s+random-walk\s+Random walk", proc.stdout, re.M), proc.stdout
    proc = run_cli("run", "--benchmark", "toy", "--strategy", "random-walk,random", "--seeds",
                   "2", "--budget-evals", "8", "--no-report", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "results/default/runs/toy/random-walk").iterdir())) == 2


def _tutorial_blocks():
    text = (REPO / "README.md").read_text()
    start = text.index("## Add a strategy in one file")
    tutorial = text[start:text.index("\n## ", start + 1)]
    return re.findall(r"```(\w+)\n(.*?)```", tutorial, re.S)


def test_readme_tutorial_runs_as_written(tmp_path):
    """The one-file flow: run the file as it is, pass the conformance suite uninstalled,
    then publish it as an entry point and run it by its name."""
    blocks = _tutorial_blocks()
    assert [lang for lang, _ in blocks] == ["python", "bash", "python", "toml"]
    strategy_code, command, test_code, toml = (code for _, code in blocks)
    name, _, target = toml.strip().splitlines()[-1].partition(" = ")
    module = json.loads(target)
    (tmp_path / f"{module}.py").write_text(strategy_code)
    (tmp_path / f"test_{module}.py").write_text(test_code)
    args = shlex.split(command.strip())
    assert args[:2] == ["tabnas", "run"] and f"{module}.py:HillClimb,rea" in args
    proc = run_cli(*args[1:], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "6 runs done" in proc.stdout, proc.stdout
    assert len(list((tmp_path / f"results/default/runs/toy/{module}.py+HillClimb").iterdir())) == 3
    # Not installed, not on PYTHONPATH: pytest finds the module next to the test file.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"test_{module}.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed = int(re.search(r"(\d+) passed", proc.stdout).group(1))
    assert passed >= 20 and "failed" not in proc.stdout
    _dist_info(tmp_path, module, f"{name} = {module}\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    proc = run_cli("run", "--benchmark", "toy", "--strategy", f"{name},rea", "--seeds", "3",
                   "--budget-evals", "20", "--no-report", "--experiment", "published",
                   cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "6 runs done" in proc.stdout


@pytest.mark.parametrize("name", ["rea", "bo", "bananas", "tpe"])
def test_beats_random_at_100_evaluations(analog, name):
    """Paired over seeds (same benchmark stream per seed): Wilcoxon, p < 0.01."""
    seeds = range(20)
    regrets = {}
    for strategy in ("random", name):
        cls = STRATEGIES.get(strategy)
        regrets[strategy] = np.array([
            run_search(analog, cls, s, Budget(evals=100)).columns["regret_test"][-1]
            for s in seeds])
    assert regrets[name].mean() < regrets["random"].mean()
    assert wilcoxon(regrets[name], regrets["random"], alternative="less").pvalue < 0.01
