"""Error kinds, and wording: the library speaks of its parameters, the CLI of its flags."""

from __future__ import annotations

import pytest

import tabnas
from tabnas import errors
from tabnas.cli import main
from tabnas.runner import Budget
from tabnas.study import Study


@pytest.mark.parametrize("kind", [errors.DataMissing, errors.DamagedData,
                                  errors.BadConfiguration, errors.IncompatibleExperiment,
                                  errors.UnpairedSeeds])
def test_every_kind_is_a_user_error_with_exit_code_2(kind):
    assert issubclass(kind, errors.UserError) and kind.exit_code == 2
    assert kind.__doc__


def test_budget_message_is_phrased_for_python():
    with pytest.raises(errors.BadConfiguration) as err:
        Budget(evals=0)
    assert str(err.value) == "budget evals must be a positive integer, got 0"


def test_the_cli_names_its_flags_for_the_same_problem(tmp_path, capsys):
    with pytest.raises(errors.BadConfiguration, match="^sim_workers must be") as err:
        Study(experiment="e", benchmarks=["toy"], strategies=["random"], seeds=[0],
              budget=Budget(evals=3), results_dir=tmp_path, sim_workers=0)
    assert "--" not in str(err.value)
    args = ["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2", "--no-report",
            "--results-dir", str(tmp_path)]
    assert main([*args, "--budget-evals", "3"]) == 0
    capsys.readouterr()
    # Same experiment, other budget: the API says "experiment name", the CLI "--experiment".
    with pytest.raises(errors.IncompatibleExperiment) as err:
        tabnas.run("toy", "random", seeds=2, budget=4, results_dir=tmp_path)
    assert "use a new experiment name" in str(err.value) and "--" not in str(err.value)
    assert main([*args, "--budget-evals", "4"]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "use a new --experiment name" in line, line


def test_missing_data_and_unknown_names_have_their_kinds(tmp_path):
    with pytest.raises(errors.DataMissing):
        tabnas.load("nothing", results_dir=tmp_path)
    with pytest.raises(errors.BadConfiguration):
        tabnas.run("toy", "no-such-strategy", seeds=1, budget=2, results_dir=tmp_path)
    with pytest.raises(errors.BadConfiguration):
        tabnas.benchmark("no-such-benchmark")


def test_study_file_errors_keep_the_files_words(tmp_path):
    """With --config the settings are the file's keys, so no flag names are put in."""
    from tests.conftest import run_cli

    (tmp_path / "study.toml").write_text('benchmarks = ["toy"]\nstrategies = ["random"]\n'
                                         "seeds = 2\nbudget = 3\nsim_workers = 0\n")
    proc = run_cli("run", "--config", "study.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("tabnas: error: sim_workers must be a positive integer, "
                                   "got 0")


def test_unpaired_seeds_have_their_kind(tmp_path):
    tabnas.run("toy", "random", seeds=[0, 1], budget=3, results_dir=tmp_path)
    tabnas.run("toy", "rea", seeds=[2, 3], budget=3, results_dir=tmp_path)
    with pytest.raises(errors.UnpairedSeeds, match="no seed was run by every strategy"):
        tabnas.load("default", results_dir=tmp_path).stats()


def _first_line_then_close(*args: str) -> tuple[bytes, int, str]:
    """Run ``tabnas ARGS`` into a real pipe, read its first line, close the pipe.

    The pipe holds one page, so the command is still writing when the reader goes
    away (``tabnas list`` prints more than that), as with ``| head -1``.
    """
    import fcntl
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    read_fd, write_fd = os.pipe()
    fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 4096)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tabnas", *args], stdout=write_fd,
                            stderr=subprocess.PIPE, env=env)
    os.close(write_fd)
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(read_fd, 1)
        if not byte:
            break
        line += byte
    os.close(read_fd)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return line, proc.wait(timeout=120), err


def test_a_closed_stdout_stops_the_command_quietly():
    """``tabnas list | head -1``: no message, exit status 141 (128 + SIGPIPE)."""
    line, code, err = _first_line_then_close("list")
    assert line == b"benchmarks:\n"
    assert err == "", err
    assert code == 141


def test_a_broken_pipe_elsewhere_is_still_one_error_line(tmp_path):
    """A strategy that talks to a process that has exited: one line, exit 2, stdout open."""
    from tests.conftest import run_cli

    (tmp_path / "piped.py").write_text(
        '"""A strategy that talks to a helper process, which has already exited."""\n'
        "import subprocess\nimport sys\n\n"
        "from tabnas.strategies.random_search import RandomSearch\n\n\n"
        "class Piped(RandomSearch):\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        super().__init__(*args, **kwargs)\n"
        "        helper = subprocess.Popen([sys.executable, '-c', ''], "
        "stdin=subprocess.PIPE)\n"
        "        helper.wait()\n"
        "        helper.stdin.write(b'x' * 65536)\n"
        "        helper.stdin.flush()\n")
    proc = run_cli("run", "--benchmark", "toy", "--strategy", "piped.py:Piped", "--seeds", "1",
                   "--budget-evals", "3", "--no-report", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "tabnas: error: Broken pipe", proc.stderr
