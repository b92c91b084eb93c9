"""``import tabnas`` as a user meets it: the README's example, the Experiment, study files, replay."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import tabnas
from tabnas.config import run_study_file
from tabnas.errors import UserError
from tabnas.records import HOST_TIME_COLUMNS
from tests.conftest import REPO, run_cli


def _readme() -> str:
    return (REPO / "README.md").read_text()


def documented_columns() -> list[str]:
    """The per-evaluation columns, in order, from the README's Results table."""
    text = _readme()
    table = text[text.index("| column | meaning |"):]
    table = table[:table.index("\n\n")]
    out: list[str] = []
    for row in table.splitlines()[2:]:
        out += re.findall(r"`([a-z_]+)`", row.split("|")[1])
    return out


def test_readme_python_example_runs_in_a_fresh_process(tmp_path):
    """From a folder with its own ``strategies/`` and ``harness/``, as a user's project has."""
    text = _readme()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert text.index(example) < text.index("## Commands"), "the example is on the first screen"
    assert len(example.strip().splitlines()) <= 5
    for name in ("harness", "strategies"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('user folder')\n")
    check = ("\nimport json\n"
             "print('COLUMNS', json.dumps(list(exp.df.columns)))\n"
             "print('ROWS', len(exp.df), exp.df.groupby(['strategy', 'seed']).ngroups)\n")
    (tmp_path / "example.py").write_text(example + check)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    columns = json.loads(proc.stdout.split("COLUMNS ")[1].splitlines()[0])
    assert columns == documented_columns()
    rows, runs = map(int, proc.stdout.split("ROWS ")[1].split())
    assert (rows, runs) == (2 * 5 * 100, 2 * 5)
    assert "rea" in proc.stdout and "random" in proc.stdout  # the stats table was printed


def test_import_is_light_and_exports_are_curated():
    code = ("import sys, tabnas\n"
            "heavy = [m for m in ('pandas', 'numpy', 'pyarrow', 'matplotlib') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "print(sorted(tabnas.__all__))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("run", "load", "benchmark", "Experiment", "strategies", "testing"):
        assert name in tabnas.__all__ and getattr(tabnas, name) is not None
    assert tabnas.strategies.__name__ == "tabnas.strategies"
    with pytest.raises(AttributeError):
        tabnas.no_such_name  # noqa: B018


def test_run_returns_an_experiment_that_summarises_itself(tmp_path):
    exp = tabnas.run("toy", ["random", "rea"], seeds=[0, 1, 2], budget={"evals": 15},
                     experiment="api", results_dir=tmp_path / "res",
                     hyperparameters={"rea": {"population": 6}})
    assert exp.path == tmp_path / "res" / "api"
    assert exp.counts == {"ran": 6, "skipped": 0, "failed": 0}
    df = exp.df
    assert list(df.columns) == documented_columns() and len(df) == 6 * 15
    stats = exp.stats()
    assert sorted(stats["strategy"]) == ["random", "rea"] and set(stats["runs"]) == {3}
    # The frame names the choices behind its marks; 3 seeds cannot reach alpha, and it says so.
    assert stats.attrs["correction"].startswith("Holm over k - 1")
    assert stats.attrs["alpha"] == 0.05 and "Wilcoxon" in stats.attrs["test"]
    assert stats.attrs["note"].startswith("with n = 3 paired seeds the smallest possible p of "
                                          "the exact signed-rank test is 0.25")
    assert exp.stats(alpha=0.3).attrs["note"] == ""  # 0.25 < 0.3: reachable
    winners = exp.winners()
    assert list(winners.columns) == ["benchmark", "strategy", "arch", "seeds", "runs",
                                     "searched", "reported", "val_regret", "best"]
    final = df[df["step"] == 15]
    for strategy, rows in winners.groupby("strategy"):
        ended = final[final["strategy"] == strategy]["incumbent_arch"]
        assert set(rows["runs"]) == {3} and rows["best"].sum() == 1
        assert rows["seeds"].iloc[0] == ended.value_counts().max()  # most frequent first
        for row in rows.itertuples():
            assert (ended == row.arch).sum() == row.seeds
    assert set(exp.plot()) >= {"regret_evals"}
    # The manifest holds every hyperparameter, defaults included.
    assert exp.config["hyperparameters"]["rea"] == {"population": 6, "sample": 5}
    again = tabnas.run("toy", ["random", "rea"], seeds=[0, 1, 2], budget=15, experiment="api",
                       results_dir=tmp_path / "res", hyperparameters={"rea": {"population": 6}})
    assert again.counts == {"ran": 0, "skipped": 6, "failed": 0}
    loaded = tabnas.load("api", results_dir=tmp_path / "res")
    pd.testing.assert_frame_equal(loaded.df, df)
    assert tabnas.load(tmp_path / "res" / "api" / "manifest.json").path == exp.path
    with pytest.raises(UserError, match="no experiment"):
        tabnas.load("nothing-here", results_dir=tmp_path / "res")


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"seeds": 0}, "seeds must be a positive integer"),
    ({"seeds": [1, 1]}, "twice"),
    ({"budget": {"evals": 5, "time": 3}}, "unknown key(s) time"),
    ({"hyperparameters": {"bo": {"xi": 0.1}}}, "not among the strategies"),
    ({"strategies": 3}, "expected a name or a list of names"),
])
def test_bad_api_input_is_a_user_error(tmp_path, kwargs, needle):
    args = {"benchmarks": "toy", "strategies": ["random"], "seeds": 2, "budget": 5,
            "results_dir": tmp_path, **kwargs}
    with pytest.raises(UserError) as err:
        tabnas.run(**args)
    assert needle in str(err.value)
    assert not list(tmp_path.iterdir())


STUDY = textwrap.dedent('''
    experiment = "toml-study"
    benchmarks = ["toy-fidelities"]
    strategies = ["random", "rea", "hyperband", "walk.py:Walk"]
    seeds = 3
    budget = { evals = 25 }
    mf_cost = "continue"

    [hyperparameters.rea]
    population = 8

    [executor]
    workers = 2
    ''')

WALK = textwrap.dedent('''
    from tabnas.strategy import Strategy
    from tabnas.trials import Suggestion


    class Walk(Strategy):
        requires = frozenset({"mutate"})

        def ask(self):
            last = getattr(self, "last", None)
            self.last = self.space.sample(self.rng) if last is None else \\
                self.space.mutate(last, self.rng)
            return Suggestion(self.last)
    ''')


def test_a_study_file_replays_from_its_own_manifest(tmp_path):
    (tmp_path / "study.toml").write_text(STUDY)
    (tmp_path / "walk.py").write_text(WALK)
    proc = run_cli("run", "--config", "study.toml", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "experiment 'toml-study': 12 runs done" in proc.stdout
    first = tmp_path / "results" / "toml-study"
    manifest = json.loads((first / "manifest.json").read_text())
    cfg = manifest["config"]
    assert cfg["hyperparameters"]["rea"] == {"population": 8, "sample": 5}
    assert cfg["hyperparameters"]["hyperband"] == {"eta": 3, "max_rungs": 5}
    assert cfg["executor"]["workers"] == 2 and cfg["seeds"] == [0, 1, 2]
    assert cfg["mf_cost"] == "continue"
    assert manifest["config"]["strategy_sources"]["walk.py:Walk"]["sha256"]
    proc = run_cli("run", "--config", str(first / "manifest.json"), "--experiment", "again",
                   "--results-dir", "elsewhere", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "experiment 'again': 12 runs done" in proc.stdout
    drop = ["experiment", *HOST_TIME_COLUMNS]
    a = tabnas.load(first).df.drop(columns=drop)
    b = tabnas.load(tmp_path / "elsewhere" / "again").df.drop(columns=drop)
    pd.testing.assert_frame_equal(a, b)
    assert json.loads((tmp_path / "elsewhere/again/manifest.json").read_text())["config"][
        "hyperparameters"] == cfg["hyperparameters"]
    # The same replay from Python, in this process.
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        third = run_study_file(first / "manifest.json", experiment="third", workers=1)
    finally:
        os.chdir(here)
    pd.testing.assert_frame_equal(third.df.drop(columns=drop), a)
    # A strategy file changed since the manifest: the replay is refused, nothing written.
    (tmp_path / "walk.py").write_text(WALK + "\n# edited\n")
    proc = run_cli("run", "--config", str(first / "manifest.json"), "--experiment", "fourth",
                   "--no-report", cwd=tmp_path)
    assert proc.returncode == 2
    assert "changed since" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results" / "fourth").exists()


@pytest.mark.parametrize(("text", "args", "needle"), [
    ('benchmarks = ["toy"]\nstrategies = ["random"]\n', ("--seeds", "3"),
     "--seeds cannot be combined with --config"),
    ('benchmarks = ["toy"]\nstrategies = ["random"]\nbudgets = 3\n', (),
     "unknown key(s) budgets"),
    ('benchmarks = ["toy"]\n', (), "names no strategies"),
    ("benchmarks = [", (), "not valid TOML"),
])
def test_bad_study_files_are_one_line_errors(tmp_path, text, args, needle):
    (tmp_path / "study.toml").write_text(text)
    proc = run_cli("run", "--config", "study.toml", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "results").exists()


def test_manifest_names_the_packages_the_code_imports(tmp_path):
    """scikit-learn (imported lazily by smac), Optuna, nas-bench-graph: read from the code."""
    exp = tabnas.run("nbgraph-cora", ["smac", "optuna:RandomSampler"], seeds=1, budget=2,
                     results_dir=tmp_path)
    packages = exp.manifest["packages"]
    for dist in ("scikit-learn", "optuna", "nas-bench-graph", "numpy", "python", "tabnas"):
        assert dist in packages, (dist, packages)
    from importlib.metadata import version

    assert packages["scikit-learn"] == version("scikit-learn")
    assert "torch" not in packages  # nothing in this study imports it
    # A multi-objective view of the same table: moocore, and the table's own package.
    packages = tabnas.run("nbgraph-cora:acc-latency", "mo-rea", seeds=1, budget=2,
                          experiment="mo", results_dir=tmp_path).manifest["packages"]
    assert "moocore" in packages and "nas-bench-graph" in packages, packages


SESSION = textwrap.dedent('''
    import tabnas
    from tabnas.strategy import Hyperparameter, Strategy
    from tabnas.trials import Suggestion

    class Walk(Strategy):
        hyperparameters = {"restart": Hyperparameter(10, "steps between restarts", low=1)}
        requires = frozenset({"mutate"})

        def ask(self):
            last = getattr(self, "last", None)
            self.last = self.space.sample(self.rng) if last is None else \\
                self.space.mutate(last, self.rng)
            return Suggestion(self.last)

    exp = tabnas.run("toy", [Walk, "random"], seeds=2, budget=5)
    print("RAN", exp.counts["ran"], sorted(exp.df["strategy"].unique()))
    try:
        tabnas.run("toy", [Walk], seeds=2, budget=5, experiment="pool", workers=2)
    except tabnas.UserError as exc:
        print("REFUSED", exc)
    ''')


def test_a_class_defined_in_the_session_runs_in_process(tmp_path):
    """As in a notebook: no file, so it runs here only, fingerprinted by its code."""
    def run(code):
        return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)

    proc = run(SESSION)
    assert proc.returncode == 0, proc.stderr
    assert "RAN 4 ['__main__:Walk', 'random']" in proc.stdout
    refused = proc.stdout.split("REFUSED ")[1]
    assert "defined in this session" in refused and "workers=1" in refused
    assert not (tmp_path / "results" / "pool").exists()
    source = json.loads((tmp_path / "results/default/manifest.json").read_text())[
        "config"]["strategy_sources"]["__main__:Walk"]
    assert source["path"] == "<session>" and len(source["sha256"]) == 64
    assert "RAN 0" in run(SESSION).stdout  # the same code again: resumed, nothing rerun
    proc = run(SESSION.replace("low=1", "low=2"))  # changed code: refused, never mixed
    assert proc.returncode == 1 and "__main__:Walk" in proc.stderr
    assert "but that code is now" in proc.stderr


def _python_api_blocks() -> list[str]:
    """The code blocks of the README's "Python API" section, in order."""
    text = _readme()
    section = text[text.index("## Python API"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def _strategy_file() -> str:
    """``hill_climb.py`` as the README's "Add a strategy in one file" shows it."""
    return next(b for b in re.findall(r"```python\n(.*?)```", _readme(), re.S)
                if "class HillClimb" in b)


def test_readme_python_api_section_runs_as_written(tmp_path):
    """Each block of the section, saved as a script and run in a fresh process, in order."""
    first, later = _python_api_blocks()
    assert "workers=2" in first and 'if __name__ == "__main__":' in first
    for name in ("harness", "strategies"):  # a user's project with folders of these names
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('user folder')\n")
    (tmp_path / "hill_climb.py").write_text(_strategy_file())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def script(name: str, code: str):
        (tmp_path / name).write_text(code)
        return subprocess.run([sys.executable, name], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)

    check = textwrap.indent(textwrap.dedent("""
        print("COUNTS", json.dumps(exp.counts))
        print("RUNS", exp.df.groupby(["benchmark", "strategy", "seed"]).ngroups)
        print("FIGURES", json.dumps(sorted(exp.plot())))
        """), "    ")
    proc = script("first_look.py", "import json\n" + first + check)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.split("COUNTS ")[1].splitlines()[0]) == {
        "ran": 30, "skipped": 0, "failed": 0}
    assert int(proc.stdout.split("RUNS ")[1].split()[0]) == 2 * 3 * 5
    figures = json.loads(proc.stdout.split("FIGURES ")[1].splitlines()[0])
    assert {"regret_evals", "pooled_evals"} <= set(figures)
    results = tmp_path / "results" / "first-look"
    assert (results / "report.html").is_file() and not (results / "failures").exists()

    proc = script("later.py", later + "\nprint('BENCH', bench.name)\n")
    assert proc.returncode == 0, proc.stderr
    assert "BENCH nb201-analog" in proc.stdout
    written = sorted(p.name for p in (results / "figures").iterdir()
                     if p.suffix in (".pdf", ".svg") and p.stem.startswith("value_test"))
    assert written == ["value_test_evals.pdf", "value_test_evals.svg"]

    # The same study without the guard: refused with one line, nothing written.
    unguarded = first.replace('if __name__ == "__main__":', "if True:")
    proc = script("unguarded.py", unguarded.replace('experiment="first-look"',
                                                    'experiment="unguarded"'))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tabnas.errors.BadConfiguration: unguarded.py starts worker "
                           "processes (workers=2)") and "__main__" in last
    assert "bootstrapping" not in proc.stderr
    assert not (tmp_path / "results" / "unguarded").exists()


def test_workers_that_refuse_while_starting_leave_nothing_behind(tmp_path):
    """Where the script's own test of ``__name__`` hides what it does from the check,
    the workers themselves refuse as they re-import it: one line each, no run recorded."""
    (tmp_path / "study.py").write_text(textwrap.dedent("""
        import tabnas

        if __name__ == "not-this":
            pass
        tabnas.run("toy", ["random"], seeds=4, budget=10, workers=2)
        """))
    proc = subprocess.run([sys.executable, "study.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert "study.py starts worker processes (workers=2) from its top-level code" in lines[0]
    assert lines[-1].startswith("tabnas.errors.BadConfiguration: the worker processes "
                                "(workers=2) ended while starting")
    assert "bootstrapping" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_plot_takes_the_options_of_tabnas_plot(tmp_path):
    """``Experiment.plot`` draws what ``tabnas plot`` writes, option for option."""
    exp = tabnas.run(["toy", "toy-fidelities"], ["random", "rea"], seeds=3, budget=15,
                     experiment="figs", results_dir=tmp_path / "results")
    assert {"regret_evals", "pooled_evals"} <= set(exp.plot())
    both = exp.plot(metric="both", x="evals")
    assert set(both) == {"value_test_evals", "pooled_evals", "value_pooled_evals"}
    one = exp.plot(strategies="rea", benchmarks=["toy"], x=["evals"])
    assert set(one) == {"regret_evals"}  # one benchmark: nothing pooled
    labels = {label for ax in one["regret_evals"].axes
              for label in ax.get_legend_handles_labels()[1]}
    labels |= {t.get_text() for fig_legend in one["regret_evals"].legends
               for t in fig_legend.get_texts()}
    assert labels and all(label.startswith("rea") for label in labels)  # "rea (n=3)"
    linear = exp.plot(scale="linear", x="evals")["regret_evals"]
    assert {ax.get_yscale() for ax in linear.axes if ax.has_data()} == {"linear"}
    assert exp.plot(x="evals")["regret_evals"].axes[0].get_yscale() == "log"
    single = exp.plot(style="single", x="evals")["regret_evals"]
    assert single.get_size_inches()[0] == pytest.approx(3.5)
    with pytest.raises(UserError, match="unknown scale"):
        exp.plot(scale="cubic")
    with pytest.raises(UserError, match="unknown metric"):
        exp.plot(metric="train")
    # Written as the command line writes them: the same files for the same options.
    api = tmp_path / "api"
    exp.plot(metric="both", formats="svg", output=api)
    cli = tmp_path / "cli"
    proc = run_cli("plot", "figs", "--metric", "both", "--format", "svg", "-o", str(cli),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in api.iterdir()) == sorted(p.name for p in cli.iterdir())
    assert all(p.suffix == ".svg" for p in api.iterdir())


@pytest.mark.parametrize(("source", "guarded"), [
    ('import tabnas\nif __name__ == "__main__":\n    tabnas.run(workers=2)  # here\n', True),
    ("import tabnas\ntabnas.run(workers=2)  # here\n", False),
    ("import tabnas\ndef main():\n    tabnas.run(workers=2)\n\n\nmain()  # here\n", False),
    ('try:\n    if __name__ == "__main__":\n        main()  # here\nexcept KeyError:\n    pass\n',
     True),
    ("try:\n    main()  # here\nexcept KeyError:\n    pass\n", False),
    ("with open('x') as f:\n    main()  # here\n", False),
    ('import sys\nif __name__ != "__main__":\n    sys.exit()\nmain()  # here\n', True),  # its own
])
def test_the_guard_check_reads_where_the_call_is(source, guarded):
    """Where the module-level statement running the study sits decides (``# here``)."""
    import ast

    from tabnas.main_guard import _guarded

    line = next(i for i, text in enumerate(source.splitlines(), 1) if text.endswith("# here"))
    assert _guarded(ast.parse(source).body, line) is guarded
