"""User tables that name their search space: official strings, real moves, no silent downgrade."""

import itertools

import numpy as np
import pandas as pd
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.errors import UserError
from tabnas.records import HOST_TIME_COLUMNS
from tabnas.runner import Budget, run_search
from tabnas.spaces.named import SPACES
from tabnas.spaces.nbgraph import LINKS
from tabnas.strategy import STRATEGIES
from tests.conftest import run_cli

ROUND_TRIP = ("random", "rea", "local-search", "bo", "bananas", "reinforce")


def _records(bench, strategy: str, seed: int, evals: int) -> dict:
    """A run's records without the benchmark name and the host-time column."""
    table = run_search(bench, STRATEGIES.get(strategy), seed, Budget(evals=evals)).to_arrow()
    return table.drop_columns(["benchmark", *HOST_TIME_COLUMNS]).to_pydict()


def _export(bench, folder, value="acc", cost="mflops", extra_spec="", drop=(), shuffle=True):
    """``bench`` as a CSV of official strings (one row per cell) and its spec."""
    space = bench.space
    df = pd.DataFrame({"arch_str": [space.to_string(space.arch_at(i)) for i in range(space.size)],
                       value: bench.values[:, 0, 0], "test": bench.tests[:, 0, 0],
                       cost: bench.costs[:, 0, 0]})
    df = df.drop(index=list(drop))
    if shuffle:
        df = df.sample(frac=1.0, random_state=1)  # row order must not matter
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "table.csv", index=False)
    (folder / "spec.toml").write_text(
        f'table = "table.csv"\narch = "arch_str"\nvalue = "{value}"\ntest = "test"\n'
        f'cost = "{cost}"\ncost_label = "MFLOPs of the export"\n{extra_spec}')
    return folder


def test_nb201_round_trip_gives_identical_records(analog, tmp_path):
    folder = _export(analog, tmp_path / "t", extra_spec='space = "nb201"')
    bench = load_benchmark(f"table:{folder}")
    assert bench.space.name == "nb201" and bench.space.supports("path_encode")
    for strategy in ROUND_TRIP:
        evals = 25 if strategy in ("bo", "bananas") else 60
        for seed in (0, 1):
            assert _records(bench, strategy, seed, evals) == _records(analog, strategy, seed,
                                                                      evals), strategy
    rec = _records(bench, "rea", 0, 5)
    assert all(a.startswith("|") and a.count("~") == 6 for a in rec["arch"])  # official strings
    proc = run_cli("info", f"table:{folder}", cwd=tmp_path)
    assert "space: nb201" in proc.stdout
    assert "operations: sample, mutate, neighbours, encode, path_encode, cardinalities" \
        in proc.stdout


def test_nbgraph_round_trip_merges_isomorphic_spellings(tmp_path):
    cora = load_benchmark("nbgraph-cora")
    folder = _export(cora, tmp_path / "t", value="valid", cost="lat",
                     extra_spec='space = "nbgraph"')
    bench = load_benchmark(f"table:{folder}")
    assert bench.space.size == cora.space.size
    for strategy in ROUND_TRIP:
        evals = 20 if strategy in ("bo", "bananas") else 50
        assert _records(bench, strategy, 3, evals) == _records(cora, strategy, 3, evals), strategy
    # Another spelling of a stored cell names the same architecture: it is a duplicate row.
    space = bench.space
    raw, arch = next((raw, space.canonical(raw)) for raw in itertools.product(
        range(len(LINKS)), *[range(space.n_ops)] * 4) if space.canonical(raw) not in (None, raw))
    other = ",".join(map(str, LINKS[raw[0]])) + "|" + ",".join(space.ops[o] for o in raw[1:])
    assert space.from_string(other) == arch
    df = pd.read_csv(tmp_path / "t" / "table.csv")
    row = df[df["arch_str"] == space.to_string(arch)].iloc[0]
    pd.concat([df, pd.DataFrame([{**row.to_dict(), "arch_str": other}])]).to_csv(
        tmp_path / "t" / "table.csv", index=False)
    with pytest.raises(UserError, match="spellings of one cell, which space 'nbgraph' merges"):
        load_benchmark(f"table:{tmp_path / 't'}")


def test_unparsable_rows_and_missing_cells_are_refused_or_partial(analog, tmp_path):
    folder = _export(analog, tmp_path / "t", extra_spec='space = "nb201"\n', drop=(7, 8))
    with pytest.raises(UserError, match=r"2 of the 15625 architectures of space 'nb201' "
                                        r"have no row.*partial = true"):
        load_benchmark(f"table:{folder}")
    (folder / "spec.toml").write_text((folder / "spec.toml").read_text() + "partial = true\n")
    bench = load_benchmark(f"table:{folder}")
    ev = bench.query(bench.space.arch_at(7), run_key=0)
    assert np.isnan(ev.value) and ev.cost == pytest.approx(np.nanmean(bench.costs))
    assert any("2 of 15625 architectures have no row" in n for n in bench.notes)

    df = pd.read_csv(folder / "table.csv")
    df.loc[df.index[0], "arch_str"] = "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    df.to_csv(folder / "table.csv", index=False)
    (folder / "spec.toml").write_text((folder / "spec.toml").read_text()
                                      .replace("partial = true\n", ""))
    with pytest.raises(UserError, match=r"row 2 of column 'arch_str': bad edge 'conv~0'"):
        load_benchmark(f"table:{folder}")
    proc = run_cli("info", f"table:{folder}", cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_bare_column_is_refused_for_structured_strategies_unless_opted_in(analog, tmp_path):
    folder = _export(analog, tmp_path / "t")
    bench = load_benchmark(f"table:{folder}")
    assert bench.space.size == 15625 and not bench.space.supports("mutate")
    with pytest.raises(UserError, match=r"needs the space operation 'mutate', but .* one bare "
                                        r"column of 15625 .*space = \"nb201\".*unstructured"):
        run_search(bench, STRATEGIES.get("rea"), 0, Budget(evals=5))
    run_search(bench, STRATEGIES.get("random"), 0, Budget(evals=5))  # needs no structure
    proc = run_cli("run", "--benchmark", f"table:{folder}", "--strategy", "rea", "--seeds", "1",
                   "--budget-evals", "5", "--no-report", cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "unstructured = true" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("info", f"table:{folder}", cwd=tmp_path)
    assert "operations: sample (not: mutate, neighbours, encode, path_encode, " in proc.stdout

    (folder / "spec.toml").write_text((folder / "spec.toml").read_text() + "unstructured = true\n")
    proc = run_cli("run", "--benchmark", f"table:{folder}", "--strategy", "rea", "--seeds", "1",
                   "--budget-evals", "5", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("info", f"table:{folder}", cwd=tmp_path)
    assert "operations: sample, mutate, neighbours, encode, cardinalities" in proc.stdout
    assert "unstructured = true" in proc.stdout


def test_spaces_are_listed_and_an_unknown_space_is_named(tmp_path, analog):
    assert {"nb201", "nb101", "nbgraph", "nbgraph-proteins", "mnist-mlp"} <= set(SPACES.names())
    proc = run_cli("list", cwd=tmp_path)
    assert "spaces" in proc.stdout and "nbgraph-cora" in proc.stdout
    folder = _export(analog, tmp_path / "t", extra_spec='space = "nb202"\n')
    with pytest.raises(UserError, match="unknown space 'nb202'; spaces: mnist-mlp"):
        load_benchmark(f"table:{folder}")


def test_forgotten_seed_column_is_named(tmp_path):
    rows = [{"arch": a, "seed": s, "acc": 0.5 + 0.1 * i + 0.01 * s}
            for i, a in enumerate("abc") for s in (0, 1)]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "spec.toml").write_text('table = "t.csv"\narch = "arch"\nvalue = "acc"\n')
    with pytest.raises(UserError, match=r"differ only in column\(s\) 'seed': is a seed = "):
        load_benchmark(f"table:{tmp_path}")


def test_nb101_table_merges_isomorphic_spellings(tmp_path):
    from tabnas.spaces.nb101 import example_strings, parse_table

    small = "010001000 input,conv3x3-bn-relu,output"
    texts = [t for t in example_strings()
             if parse_table([t]).space.hashes[0] != parse_table([small]).space.hashes[0]]
    texts.append(small)
    # The same 3-vertex cell written with an unused vertex: it prunes to one cell.
    texts.append("0100000100000000 input,conv3x3-bn-relu,maxpool3x3,output")
    rows = [{"arch": t, "acc": 0.1 * i} for i, t in enumerate(texts)]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "spec.toml").write_text('table = "t.csv"\narch = "arch"\nvalue = "acc"\n'
                                        'space = "nb101"\n')
    with pytest.raises(UserError, match="spellings of one cell, which space 'nb101' merges"):
        load_benchmark(f"table:{tmp_path}")
    pd.DataFrame(rows[:-1]).to_csv(tmp_path / "t.csv", index=False)
    bench = load_benchmark(f"table:{tmp_path}")
    assert bench.space.size == len(texts) - 1
    rec = _records(bench, "rea", 0, 10)
    assert all(len(a) == 32 for a in rec["arch"])  # the official hash


def test_one_table_from_two_working_dirs_is_one_benchmark(tmp_path):
    import json

    from tabnas.results import load_results

    rows = [{"arch": a, "acc": 0.5 + 0.1 * i, "t": 1.0 + i} for i, a in enumerate("abcd")]
    (tmp_path / "proj" / "tab").mkdir(parents=True)
    (tmp_path / "proj" / "sub").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "proj" / "tab" / "t.csv", index=False)
    (tmp_path / "proj" / "tab" / "spec.toml").write_text(
        'name = "mine"\ntable = "t.csv"\narch = "arch"\nvalue = "acc"\ncost = "t"\n'
        'cost_label = "GPU-minutes (mine)"\n')
    common = ("--strategy", "random", "--budget-evals", "3", "--experiment", "e")
    first = run_cli("run", "--benchmark", "table:tab", "--seeds", "2", *common,
                    "--results-dir", "results", cwd=tmp_path / "proj")
    assert first.returncode == 0, first.stderr
    again = run_cli("run", "--benchmark", "table:../tab/spec.toml", "--seeds", "3", *common,
                    "--results-dir", "../results", cwd=tmp_path / "proj" / "sub")
    assert again.returncode == 0, again.stderr
    assert "1 runs done, 2 already complete" in again.stdout
    exp = tmp_path / "proj" / "results" / "e"
    manifest = json.loads((exp / "manifest.json").read_text())
    assert manifest["config"]["benchmarks"] == [
        "table:" + (tmp_path / "proj" / "tab" / "spec.toml").resolve().as_posix()]
    df = load_results(exp)
    assert sorted(df.groupby(["benchmark", "seed"]).size().items()) == [
        (("mine", 0), 3), (("mine", 1), 3), (("mine", 2), 3)]
    assert manifest["cost_labels"] == {"mine": "GPU-minutes (mine)"}  # what stats look up
    from tabnas import plots
    from tabnas.results import load_experiment

    frame, loaded = load_experiment(exp)
    fig = plots.regret_figures(frame, plots.strategy_colours(["random"]),
                               loaded["cost_labels"])["regret_cost"]
    assert [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()] == [
        "cumulative cost: GPU-minutes (mine)"]
    first_cmd, second_cmd = manifest["history"]  # every command that added to it
    assert first_cmd["added"]["seeds"] == [0, 1] and second_cmd["added"]["seeds"] == [2]
    assert second_cmd["added"]["benchmarks"] == [] and "../results" in second_cmd["argv"]
    assert second_cmd["runs"] == {"ran": 1, "skipped": 2, "failed": 0}

    (tmp_path / "proj" / "tab" / "t.csv").write_text("arch,acc,t\na,0.1,1\n")
    changed = run_cli("run", "--benchmark", "table:tab", "--seeds", "4", *common,
                      "--results-dir", "results", cwd=tmp_path / "proj")
    assert changed.returncode == 2 and "changed since experiment 'e' ran on it" in changed.stderr


def test_a_plugin_space_is_listed_and_names_a_table_space(tmp_path):
    import os
    import textwrap

    from tests.conftest import REPO

    (tmp_path / "ext_ring.py").write_text(textwrap.dedent('''
        """A ring of 100 cells; a move goes one step either way."""
        from tabnas.spaces.base import SearchSpace
        from tabnas.spaces.named import register_fixed

        class Ring(SearchSpace):
            name = "ring"
            size = 100

            def index(self, arch):
                (i,) = arch
                if not 0 <= i < self.size:
                    raise ValueError(f"{i} is not on the ring")
                return i

            def arch_at(self, index):
                if not 0 <= index < self.size:
                    raise ValueError(f"{index} is not on the ring")
                return (index,)

            def neighbours(self, arch):
                return [((arch[0] - 1) % 100,), ((arch[0] + 1) % 100,)]

            def mutate(self, arch, rng):
                return self.neighbours(arch)[int(rng.integers(2))]

            def to_string(self, arch):
                return f"r{self.index(arch)}"

            def from_string(self, text):
                if not text.startswith("r") or not text[1:].isdigit():
                    raise ValueError(f"{text!r} is not r<number>")
                return (self.index((int(text[1:]),)),)

        register_fixed("ring", "a ring of 100 cells (plugin)", Ring)
        '''))
    info = tmp_path / "ext_ring-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ext_ring\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tabnas.spaces]\nring = ext_ring\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    proc = run_cli("list", cwd=tmp_path, env=env)
    assert "a ring of 100 cells (plugin)" in proc.stdout, proc.stderr
    pd.DataFrame({"a": [f"r{i}" for i in range(100)], "acc": np.arange(100) % 17}).to_csv(
        tmp_path / "t.csv", index=False)
    (tmp_path / "spec.toml").write_text('table = "t.csv"\narch = "a"\nvalue = "acc"\n'
                                        'space = "ring"\n')
    proc = run_cli("run", "--benchmark", f"table:{tmp_path}", "--strategy", "rea", "--seeds",
                   "1", "--budget-evals", "12", "--no-report", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr


def test_two_tables_with_one_name_are_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        pd.DataFrame({"arch": list("xyz"), "acc": [0.1, 0.2, 0.3]}).to_csv(
            tmp_path / folder / "t.csv", index=False)
        (tmp_path / folder / "spec.toml").write_text(
            'name = "mine"\ntable = "t.csv"\narch = "arch"\nvalue = "acc"\n')
    proc = run_cli("run", "--benchmark", "table:a", "--strategy", "random", "--seeds", "1",
                   "--budget-evals", "2", "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("run", "--benchmark", "table:b", "--strategy", "random", "--seeds", "1",
                   "--budget-evals", "2", "--no-report", cwd=tmp_path)
    assert proc.returncode == 2 and "are both named 'mine' in the results" in proc.stderr


@pytest.mark.parametrize(("extra", "needle"), [
    ('space = "nb201"\nunstructured = true\n', "unstructured = true is for a bare arch column"),
    ('space = "nb201"\npartial = "yes"\n', "'partial' must be true or false"),
])
def test_contradictory_space_keys_are_one_line_errors(tmp_path, extra, needle):
    pd.DataFrame({"arch": ["a"], "acc": [0.5]}).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "spec.toml").write_text('table = "t.csv"\narch = "arch"\nvalue = "acc"\n' + extra)
    with pytest.raises(UserError, match=needle):
        load_benchmark(f"table:{tmp_path}")
    (tmp_path / "spec.toml").write_text('table = "t.csv"\nvalue = "acc"\nspace = "nb201"\n'
                                        '[variables]\narch = ["a"]\n')
    with pytest.raises(UserError, match="names the space of an arch"):
        load_benchmark(f"table:{tmp_path}")
