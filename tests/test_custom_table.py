"""User tables: an exported shipped benchmark loads back with identical runs; bad tables fail clearly."""

import numpy as np
import pandas as pd
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.errors import UserError
from tabnas.runner import Budget, run_search
from tabnas.spaces.nb201 import EDGES, OPS
from tabnas.strategy import STRATEGIES
from tests.conftest import run_cli

EDGE_COLS = [f"e{t}{s}" for t, s in EDGES]


def _export_analog(analog, folder, fmt="csv"):
    space = analog.space
    rows = [dict(zip(EDGE_COLS, (OPS[o] for o in space.arch_at(i)), strict=True))
            for i in range(space.size)]
    df = pd.DataFrame(rows)
    df["acc"] = analog.values[:, 0, 0]
    df["mflops"] = analog.costs[:, 0, 0]
    df = df.sample(frac=1.0, random_state=0)  # row order must not matter
    table = folder / f"analog.{fmt}"
    df.to_csv(table, index=False) if fmt == "csv" else df.to_parquet(table, index=False)
    variables = "\n".join(f'{c} = {list(OPS)!r}'.replace("'", '"') for c in EDGE_COLS)
    (folder / "spec.toml").write_text(
        f'name = "analog-export"\ntable = "{table.name}"\nvalue = "acc"\ncost = "mflops"\n'
        f'cost_label = "MFLOPs (modelled)"\n[variables]\n{variables}\n')
    return folder


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_exported_benchmark_gives_identical_runs(analog, tmp_path, fmt):
    bench = load_benchmark(f"table:{_export_analog(analog, tmp_path, fmt)}")
    assert bench.space.size == analog.space.size and bench.name == "analog-export"
    assert np.array_equal(bench.values, analog.values)
    assert bench.optimum().value == analog.optimum().value
    for name in ("random", "rea"):
        for seed in (0, 1):
            a = run_search(analog, STRATEGIES.get(name), seed, Budget(evals=150)).columns
            b = run_search(bench, STRATEGIES.get(name), seed, Budget(evals=150)).columns
            for col in ("value", "test_value", "cost", "cum_cost", "incumbent_value",
                        "regret_value", "regret_test", "step"):
                assert a[col] == b[col], (name, col)
            assert [bench.space.from_string(x) for x in b["arch"]] == [
                analog.space.from_string(x) for x in a["arch"]]


def _multi_table(folder, drop_row=False, nan=False):
    rows = []
    for arch in ("a", "b", "c"):
        for seed in (1, 2):
            for epoch in (1, 3, 9):
                rows.append({"arch": arch, "seed": seed, "epoch": epoch,
                             "val": {"a": 0.5, "b": 0.7, "c": 0.6}[arch] + 0.01 * epoch + 0.001 * seed,
                             "test": {"a": 0.4, "b": 0.65, "c": 0.66}[arch] + 0.01 * epoch,
                             "time": 10.0 * epoch})
    df = pd.DataFrame(rows)
    if drop_row:
        df = df.drop(index=4)
    if nan:
        df.loc[2, "val"] = np.nan
    df.to_csv(folder / "t.csv", index=False)
    spec = folder / "s.toml"
    spec.write_text('table = "t.csv"\nvalue = "val"\ntest = "test"\ncost = "time"\n'
                    'fidelity = "epoch"\nseed = "seed"\narch = "arch"\n')
    return spec


def test_arch_column_seeds_and_fidelities(tmp_path):
    bench = load_benchmark(f"table:{_multi_table(tmp_path)}")
    assert bench.fidelities == (1, 3, 9) and bench.values.shape == (3, 2, 3)
    assert bench.name == "s" and bench.space.to_string((1,)) == "b"
    ev = bench.query((1,), 3, run_key=0)
    assert ev.cost == 30.0 and ev.value in (pytest.approx(0.731), pytest.approx(0.732))
    opt = bench.optimum()
    assert opt.extras["value_arch"] == "b" and opt.extras["test_arch"] == "c"  # separate splits
    mean = load_benchmark(f"table:{tmp_path / 's.toml'}", seed_mode="mean")
    assert mean.query((0,), 9, run_key=0).value == pytest.approx(0.5915)


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("missing", "1 of 18 (architecture, seed, fidelity) rows are missing, e.g. a, seed 2, epoch 3"),
        ("nan", "column 'val' has 1 NaN"),
        ("column", "no column 'nope'"),
    ],
)
def test_bad_tables_are_one_line_errors(tmp_path, kind, needle):
    spec = _multi_table(tmp_path, drop_row=kind == "missing", nan=kind == "nan")
    if kind == "column":
        spec.write_text(spec.read_text().replace('test = "test"', 'test = "nope"'))
    with pytest.raises(UserError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_benchmark(f"table:{spec}")
    proc = run_cli("run", "--benchmark", f"table:{spec}", "--seeds", "1", "--budget-evals", "3",
                   cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr and needle.split(",")[0] in proc.stderr
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.parquet"))


def test_value_outside_choices_and_bad_spec(tmp_path):
    (tmp_path / "t.csv").write_text("w,acc\n64,0.5\n128,0.6\n512,0.7\n")
    (tmp_path / "spec.toml").write_text('table = "t.csv"\nvalue = "acc"\n[variables]\nw = [64, 128]\n')
    with pytest.raises(UserError, match="512.*not among its choices"):
        load_benchmark(f"table:{tmp_path}")
    (tmp_path / "spec.toml").write_text('table = "t.csv"\nvalue = "acc"\nvaule = 3\n')
    with pytest.raises(UserError, match="unknown key"):
        load_benchmark(f"table:{tmp_path}")
    with pytest.raises(UserError, match="not found"):
        load_benchmark(f"table:{tmp_path / 'none.toml'}")


def test_cli_runs_and_describes_a_table(analog, tmp_path):
    (tmp_path / "exp").mkdir()
    folder = _export_analog(analog, tmp_path / "exp")
    proc = run_cli("info", f"table:{folder}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "15625" in proc.stdout and "MFLOPs (modelled)" in proc.stdout
    proc = run_cli("run", "--benchmark", f"table:{folder}", "--seeds", "2", "--budget-evals", "20",
                   "--no-report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "results").rglob("*.parquet"))) == 4
