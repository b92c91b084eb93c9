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


def _cli_line(capsys, *args: str) -> str:
    """``tabnas ARGS`` must fail with exit code 2 and one line on stderr; that line."""
    capsys.readouterr()
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tabnas: error: "), err
    assert "Traceback" not in err
    return err.strip()


def _zero_cost_table(folder) -> str:
    """A user table (four architectures) whose first evaluation costs nothing."""
    folder.mkdir()
    (folder / "t.csv").write_text("width,acc,seconds\n1,0.5,0\n2,0.6,1\n3,0.7,2\n4,0.8,3\n")
    (folder / "spec.toml").write_text('table = "t.csv"\nvalue = "acc"\ncost = "seconds"\n'
                                      "[variables]\nwidth = [1, 2, 3, 4]\n")
    return f"table:{folder}"


def test_multi_objective_errors_name_the_benchmark_option(capsys):
    """objectives.py: a reference point is a benchmark option, ``--option`` on the CLI."""
    with pytest.raises(errors.BadConfiguration) as err:
        tabnas.benchmark("toy:score-size", reference="1,x")
    assert str(err.value).startswith("benchmark option reference=1,x: give 2 finite numbers")
    line = _cli_line(capsys, "info", "toy:score-size", "--option", "reference=1,x")
    assert line.startswith("tabnas: error: --option reference=1,x: give 2 finite numbers")
    with pytest.raises(errors.BadConfiguration) as err:  # not dominated by the front
        tabnas.benchmark("toy:score-size", reference="1000,0")
    assert "or omit benchmark option reference" in str(err.value)
    assert "--" not in str(err.value)
    line = _cli_line(capsys, "info", "toy:score-size", "--option", "reference=1000,0")
    assert "or omit --option reference for the default" in line
    with pytest.raises(errors.BadConfiguration, match="drop benchmark option objective"):
        tabnas.benchmark("toy:score-size", objective="score")
    line = _cli_line(capsys, "info", "toy:score-size", "--option", "objective=score")
    assert "drop --objective/--option objective" in line


def test_objective_mismatch_is_bad_configuration_without_flags(tmp_path, capsys):
    with pytest.raises(errors.BadConfiguration) as err:
        tabnas.run("toy", "mo-rea", seeds=1, budget=3, results_dir=tmp_path)
    assert "e.g. toy:A+B or a preset such as toy:PRESET" in str(err.value)
    assert "--" not in str(err.value)
    with pytest.raises(errors.BadConfiguration, match="unknown objective 'nope'"):
        tabnas.benchmark("toy:score+nope")
    line = _cli_line(capsys, "run", "--benchmark", "toy:score-size", "--objective", "score,size",
                     "--results-dir", str(tmp_path))
    assert "--objective score,size and toy:score-size both name objectives" in line


def test_user_table_errors_have_their_kinds_and_name_benchmark_options(tmp_path, capsys):
    """custom.py: a missing spec, an option a table does not take, a damaged table."""
    with pytest.raises(errors.DataMissing, match="table spec .* not found"):
        tabnas.benchmark(f"table:{tmp_path / 'absent.toml'}")
    name = _zero_cost_table(tmp_path / "t")
    with pytest.raises(errors.BadConfiguration) as err:
        tabnas.benchmark(name, epochs=2)
    assert "table benchmarks take no benchmark option(s) epochs" in str(err.value)
    line = _cli_line(capsys, "info", name, "--option", "epochs=2")
    assert "table benchmarks take no --option(s) epochs" in line
    (tmp_path / "t" / "t.csv").write_text("width,acc,seconds\n1,0.5,0\n2,,1\n3,0.7,2\n4,0.8,3\n")
    with pytest.raises(errors.DamagedData, match="column 'acc' has 1 NaN"):
        tabnas.benchmark(name)


def test_a_cost_budget_on_free_evaluations_names_both_budgets(tmp_path, capsys):
    """study.py: the API speaks of budget cost and evals, the CLI of its two flags."""
    name = _zero_cost_table(tmp_path / "t")
    with pytest.raises(errors.BadConfiguration) as err:
        tabnas.run(name, "random", seeds=1, budget={"cost": 5}, results_dir=tmp_path)
    assert ("so a run under budget cost alone might never end; cap each run with budget "
            "evals too") in str(err.value)
    line = _cli_line(capsys, "run", "--benchmark", name, "--strategy", "random", "--seeds", "1",
                     "--budget-cost", "5", "--results-dir", str(tmp_path), "--no-report")
    assert "under --budget-cost alone might never end; cap each run with --budget-evals" in line


def test_local_worker_limits_name_workers_and_dask(tmp_path, capsys):
    """executors.py: ``workers=N`` / ``dask='local:N'`` in Python, the flags on the CLI."""
    from tabnas.executors import MAX_LOCAL_WORKERS

    many = str(MAX_LOCAL_WORKERS + 1)
    with pytest.raises(errors.BadConfiguration) as err:
        tabnas.run("toy", "random", seeds=1, budget=3, results_dir=tmp_path,
                   workers=int(many))
    assert str(err.value).startswith(f"workers={many}: at most {MAX_LOCAL_WORKERS} local")
    assert "(dask=ADDRESS)" in str(err.value)
    args = ["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "1",
            "--budget-evals", "3", "--results-dir", str(tmp_path), "--no-report"]
    line = _cli_line(capsys, *args, "--workers", many)
    assert line.startswith(f"tabnas: error: --workers {many}: at most")
    assert "(--dask ADDRESS)" in line
    line = _cli_line(capsys, *args, "--dask", f"local:{many}")
    assert line.startswith(f"tabnas: error: --dask 'local:{many}': at most")


def test_plot_options_are_named_as_parameters_and_flags(tmp_path, capsys):
    """plots.py: ``axes``/``metric`` in Python, ``--x``/``--metric`` on the CLI."""
    from tabnas import plots

    free = tmp_path / "free"  # every evaluation costs 0: there is no figure over cost
    free.mkdir()
    (free / "t.csv").write_text("width,acc,seconds\n1,0.5,0\n2,0.6,0\n3,0.7,0\n")
    (free / "spec.toml").write_text('table = "t.csv"\nvalue = "acc"\ncost = "seconds"\n'
                                    "[variables]\nwidth = [1, 2, 3]\n")
    exp = tabnas.run(f"table:{free}", "random", seeds=2, budget=3, results_dir=tmp_path)
    with pytest.raises(errors.BadConfiguration) as err:
        plots.experiment_figures(exp.df, exp.manifest, axes=("cost",))
    assert str(err.value) == "nothing to plot with these options; include evals in axes"
    line = _cli_line(capsys, "plot", "default", "--x", "cost", "--results-dir", str(tmp_path))
    assert line == "tabnas: error: nothing to plot with these options; include evals in --x"
    with pytest.raises(errors.BadConfiguration, match="not in this experiment"):
        plots.experiment_figures(exp.df, exp.manifest, strategies=["rea"])


def test_a_damaged_run_file_names_redo_damaged_as_each_caller_spells_it(tmp_path, capsys):
    """results.py: ``redo_damaged=True`` in Python and a study file's run, the flag on the CLI."""
    from tests.conftest import run_cli

    exp = tabnas.run("toy", "random", seeds=2, budget=3, results_dir=tmp_path)
    run_file = next((exp.path / "runs").rglob("seed-0.parquet"))
    run_file.write_bytes(b"not parquet")
    with pytest.raises(errors.DamagedData) as err:
        tabnas.run("toy", "random", seeds=2, budget=3, results_dir=tmp_path)
    assert "rerun the study with the same settings and redo_damaged=True" in str(err.value)
    assert "--" not in str(err.value)
    (tmp_path / "study.toml").write_text('benchmarks = ["toy"]\nstrategies = ["random"]\n'
                                         "seeds = 2\nbudget = 3\n")
    args = ("run", "--config", "study.toml", "--results-dir", ".", "--no-report")
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "with the same settings and --redo-damaged" in proc.stderr
    proc = run_cli(*args, "--redo-damaged", cwd=tmp_path)  # --config honours it too
    assert proc.returncode == 0, proc.stderr
    assert "1 runs done, 1 already complete" in proc.stdout
    assert tabnas.load("default", results_dir=tmp_path).df["seed"].nunique() == 2
