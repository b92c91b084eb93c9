"""Bad input a user can type or leave on disk: one line on stderr, exit code 2, nothing lost.

Runs the command line in this process (``tabnas.cli.main``), so an uncaught
exception fails the test with its traceback; each case checks the one line.
"""

import os
import pickle
import signal
import subprocess
import sys
import time

import pytest

from tabnas import RESULTS_FORMAT
from tabnas.cli import main
from tests.conftest import REPO, one_line_error, run_cli


@pytest.fixture
def toy_experiment(tmp_path, capsys):
    """A finished two-run experiment on the toy table."""
    results = tmp_path / "results"
    assert main(["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
                 "--budget-evals", "4", "--experiment", "e", "--no-report",
                 "--results-dir", str(results)]) == 0
    capsys.readouterr()
    return results


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--benchmark", ","], "give at least one benchmark"),
        (["--strategy", "random,rea,random"], "--strategy names random twice"),
        (["--benchmark", "toy,toy"], "--benchmark names toy twice"),
        (["--experiment", "x" * 300], "use at most 100"),
        (["--benchmark", "toy", "--option", "epochs=3"], "toy has no option epochs"),
    ],
)
def test_run_arguments(tmp_path, capsys, args, needle):
    line = one_line_error(capsys, ["run", "--seeds", "1", "--budget-evals", "2", "--no-report",
                              "--results-dir", str(tmp_path / "r"), *args])
    assert needle in line
    assert not (tmp_path / "r").exists()


def test_usage_error_names_the_subcommand_once(capsys):
    assert one_line_error(capsys, ["run", "--seeds", "0"]) == \
        "tabnas: error: run: argument --seeds: must be > 0, got 0"
    assert one_line_error(capsys, ["list", "extra"]) == "tabnas: error: unrecognized arguments: extra"


def test_analog_data_that_is_not_the_table(tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    wrong = tmp_path / "wrong.anb"
    wrong.write_bytes(pickle.dumps({1: 2}))
    for data, needle in ((tmp_path / "missing.anb", "is not a file; omit --data"),
                         (folder, "is not a file; omit --data"),
                         (wrong, "it is not analog-nasbench's data.anb")):
        line = one_line_error(capsys, ["info", "nb201-analog", "--data", str(data)])
        assert needle in line and str(data) in line


def test_nb101_data_folder(tmp_path, capsys):
    line = one_line_error(capsys, ["info", "nb101", "--data", str(tmp_path)])
    assert "is a folder, not a .tfrecord file" in line


def test_live_options_beyond_memory(capsys):
    assert "epochs=1000000000.0: at most 10,000" in one_line_error(
        capsys, ["info", "mnist-mlp", "--option", "epochs=1e9"])
    assert "seeds=5000: at most 1,000" in one_line_error(
        capsys, ["info", "mnist-mlp-shared", "--option", "seeds=5000"])


@pytest.mark.parametrize("text", ["[1, 2]", f'{{"format": {RESULTS_FORMAT}}}', "\xff not json"])
def test_damaged_manifest(toy_experiment, capsys, text):
    manifest = toy_experiment / "e" / "manifest.json"
    manifest.write_bytes(text.encode("latin-1"))
    for argv in (["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
                  "--budget-evals", "4", "--experiment", "e"], ["stats", "e"], ["status", "e"]):
        line = one_line_error(capsys, [*argv, "--results-dir", str(toy_experiment)])
        assert str(manifest) in line and "move the folder aside" in line
    assert manifest.read_bytes() == text.encode("latin-1")


def test_damaged_run_file_is_named(toy_experiment, tmp_path, capsys):
    run = toy_experiment / "e" / "runs" / "toy" / "random" / "seed-1.parquet"
    run.write_bytes(run.read_bytes()[:100])
    out = tmp_path / "rows.csv"
    for argv in (["stats", "e"], ["export", "e", "-o", str(out)]):
        line = one_line_error(capsys, [*argv, "--results-dir", str(toy_experiment)])
        assert f"run file {run} is damaged" in line and "--redo-damaged" in line
    assert not out.exists()
    # Doing what the line says repairs the experiment (the damaged file is kept aside).
    damaged = run.read_bytes()
    assert main(["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
                 "--budget-evals", "4", "--experiment", "e", "--no-report", "--redo-damaged",
                 "--results-dir", str(toy_experiment)]) == 0
    assert (toy_experiment / "e" / "damaged" / "toy" / "random" / "seed-1.parquet"
            ).read_bytes() == damaged
    assert main(["export", "e", "-o", str(out), "--results-dir", str(toy_experiment)]) == 0
    assert len(out.read_text().splitlines()) == 1 + 2 * 4


def test_output_under_a_file(toy_experiment, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("keep")
    for argv in (["export", "e", "-o", str(blocker / "rows.csv")],
                 ["report", "e", "-o", str(blocker / "report.html")]):
        line = one_line_error(capsys, [*argv, "--results-dir", str(toy_experiment)])
        assert f"{blocker} is a file, not a folder" in line
    assert blocker.read_text() == "keep"


def test_table_value_not_among_choices_is_shown_plainly(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("w,v\n1,0.5\n2,0.7\n3,0.9\n")
    (tmp_path / "spec.toml").write_text('name = "t"\ntable = "t.csv"\nvalue = "v"\n'
                                        "[variables]\nw = [1, 2]\n")
    line = one_line_error(capsys, ["info", f"table:{tmp_path}"])
    assert "column 'w' holds 3, which is not among its choices [1, 2]" in line


def test_plot_with_zero_regret_everywhere_is_quiet(tmp_path):
    """A one-architecture table: every run finds the optimum, regret is 0 throughout."""
    (tmp_path / "t.csv").write_text("w,v\n1,0.5\n")
    (tmp_path / "spec.toml").write_text('name = "one"\ntable = "t.csv"\nvalue = "v"\n'
                                        "[variables]\nw = [1]\n")
    proc = run_cli("run", "--benchmark", f"table:{tmp_path}", "--strategy", "random",
                   "--seeds", "2", "--budget-evals", "1", "--experiment", "z", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert (tmp_path / "results" / "z" / "figures" / "regret_evals.png").stat().st_size > 0


def _live_processes_in_group(pgid: int) -> list[str]:
    """Command lines of the processes (zombies aside) in process group ``pgid`` (Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115 - one read
            cmdline = open(f"/proc/{entry}/cmdline").read()  # noqa: SIM115
        except (OSError, ValueError):  # not a pid, or gone meanwhile
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(f"{entry}: {cmdline.replace(chr(0), ' ')[:200]}")
    return found


def _wait_for_group_to_end(pgid: int, limit_s: float = 60) -> list[str]:
    """The group's live processes once none is left, or after ``limit_s`` seconds."""
    deadline = time.monotonic() + limit_s
    left = _live_processes_in_group(pgid)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _live_processes_in_group(pgid)
    return left


def _start_dask_study(tmp_path) -> subprocess.Popen:
    """``tabnas run`` on a local Dask cluster in its own process group, as in a terminal.

    A terminal's foreground job takes Ctrl-C; a test runner started in the
    background (``cmd &`` in a script) ignores SIGINT, and a child inherits that,
    so the child puts Python's own Ctrl-C handler back first.
    """
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "import tests.faulty_strategies; from tabnas.cli import main; "
            "raise SystemExit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-c", code, "run", "--no-report", "--strategy", "random,sleepy",
         "--seeds", "1", "--budget-evals", "5", "--experiment", "c", "--dask", "local:1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def _interrupt(proc: subprocess.Popen) -> None:
    """Ctrl-C the whole group; the study must say one line, exit 130 and leave nothing."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("tabnas did not stop after Ctrl-C: "
                             + proc.communicate()[1][-2000:]) from None
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "tabnas: interrupted; finished runs are saved, rerun the command to resume"]
    left = _wait_for_group_to_end(proc.pid)
    assert left == [], left


def test_ctrl_c_on_a_local_dask_cluster_is_one_line(tmp_path):
    """Ctrl-C reaches the terminal's whole process group, Dask's workers included."""
    proc = _start_dask_study(tmp_path)
    done = tmp_path / "results" / "c" / "runs" / "nb201-analog" / "random" / "seed-0.parquet"
    deadline = time.monotonic() + 300  # a TLS cluster starts slowly on busy cores
    while not done.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not done.exists():
        proc.kill()
        raise AssertionError("the first run never finished: " + proc.communicate()[1][-2000:])
    time.sleep(0.5)  # the sleepy run is now in its worker
    _interrupt(proc)
    assert done.stat().st_size > 0


def test_ctrl_c_while_a_local_dask_cluster_starts(tmp_path):
    """A Ctrl-C while the cluster's workers start is acted on, not lost until they are up."""
    proc = _start_dask_study(tmp_path)
    manifest = tmp_path / "results" / "c" / "manifest.json"  # written once the cluster is up
    deadline = time.monotonic() + 300
    starting = False  # multiprocessing's helper or a Dask worker is in the study's group
    while not starting and proc.poll() is None and time.monotonic() < deadline:
        assert not manifest.exists(), "the cluster was up before its start was seen"
        starting = any("multiprocessing" in p for p in _live_processes_in_group(proc.pid))
        time.sleep(0.02)
    assert starting, proc.communicate()[1][-2000:] if proc.poll() is not None else "no start"
    _interrupt(proc)


def test_manifest_without_study_settings(toy_experiment, capsys):
    manifest = toy_experiment / "e" / "manifest.json"
    manifest.write_text(f'{{"format": {RESULTS_FORMAT}, "config": {{"benchmarks": ["toy"]}}}}')
    for argv in (["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
                  "--budget-evals", "4", "--experiment", "e"], ["status", "e"]):
        line = one_line_error(capsys, [*argv, "--results-dir", str(toy_experiment)])
        assert "is damaged (its configuration lacks strategies, seeds, budget" in line
