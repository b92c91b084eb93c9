"""Damage on disk is detected, never used: bit rot in run files, broken caches, lost manifests."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.cli import main
from tabnas.errors import UserError
from tabnas.results import experiment_status, load_results, run_files
from tests.official_fixtures import build_nats

RUN = ["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
       "--experiment", "e", "--no-report"]


@pytest.fixture
def results(tmp_path, capsys):
    out = tmp_path / "results"
    assert main([*RUN, "--budget-evals", "4", "--results-dir", str(out)]) == 0
    capsys.readouterr()
    return out


def test_every_sampled_bit_flip_in_a_run_file_is_detected_or_harmless(results):
    exp = results / "e"
    run = run_files(exp)[0]
    original = run.read_bytes()
    reference = load_results(exp)
    rng = np.random.default_rng(2024)
    positions = rng.choice(len(original), size=min(200, len(original)), replace=False)
    detected = 0
    for pos in sorted(positions.tolist()):
        flipped = bytearray(original)
        flipped[pos] ^= 1 << (pos % 8)
        run.write_bytes(bytes(flipped))
        (exp / ".combined.parquet").unlink(missing_ok=True)
        try:
            df = load_results(exp)
        except UserError as exc:
            assert "is damaged" in str(exc) or "is foreign" in str(exc), exc
            assert experiment_status(exp)["done"] == 1  # the flipped run does not count
            detected += 1
        else:  # harmless: exactly the same records
            pd.testing.assert_frame_equal(df, reference)
    run.write_bytes(original)
    assert detected == len(positions)  # a whole-file SHA-256: every flip is caught
    pd.testing.assert_frame_equal(load_results(exp), reference)


def test_a_run_file_moved_to_another_seed_is_foreign(results, capsys):
    exp = results / "e"
    seed0, seed1 = sorted(run_files(exp))
    seed1.write_bytes(seed0.read_bytes())
    status = experiment_status(exp)
    assert (status["done"], status["damaged"]) == (1, 1)
    code = main([*RUN, "--budget-evals", "4", "--results-dir", str(results)])
    err = capsys.readouterr().err
    assert code == 2 and "is foreign" in err and "--redo-damaged" in err
    assert main([*RUN, "--budget-evals", "4", "--redo-damaged",
                 "--results-dir", str(results)]) == 0
    assert experiment_status(exp)["done"] == 2
    assert (exp / "damaged" / "toy" / "random" / "seed-1.parquet").exists()


def test_a_deleted_manifest_with_runs_present_is_refused(results, capsys):
    exp = results / "e"
    before = {p: p.read_bytes() for p in run_files(exp)}
    (exp / "manifest.json").unlink()
    code = main([*RUN, "--budget-evals", "6", "--results-dir", str(results)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no manifest.json" in err[0]
    assert not (exp / "manifest.json").exists()
    assert {p: p.read_bytes() for p in run_files(exp)} == before
    # The same settings vouch for every run present: the manifest is made again.
    assert main([*RUN, "--budget-evals", "4", "--results-dir", str(results)]) == 0
    assert "2 already complete" in capsys.readouterr().out


def test_truncated_and_bit_flipped_caches_are_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TABNAS_CACHE", str(tmp_path / "cache"))
    single = build_nats(tmp_path / "one", "tss", fast=False)
    ref = load_benchmark("nats-tss/cifar100", data=str(single))
    cache = tmp_path / "cache" / "nats-tss.npz"
    whole = cache.read_bytes()
    for damage in ("truncate", "flip"):
        data = bytearray(whole)
        if damage == "truncate":
            data = data[: len(data) // 2]
        else:  # inside an array this load reads: its CRC-32 no longer matches
            with zipfile.ZipFile(cache) as z:
                info = z.getinfo("cifar100/200/valid_acc.npy")
            data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            data[data_start + 200] ^= 0x10
        cache.write_bytes(bytes(data))
        again = load_benchmark("nats-tss/cifar100", data=str(single))
        assert np.array_equal(again.values, ref.values, equal_nan=True), damage
        assert np.array_equal(again.tests, ref.tests, equal_nan=True), damage
        with np.load(cache, allow_pickle=False) as z:  # rebuilt whole
            assert all(z[k] is not None for k in z.files)


def test_every_run_setting_is_in_the_settings_hash(tmp_path):
    """Workers and the manifest hash a run's settings alike, each setting included."""
    from tabnas.executors import InProcessExecutor
    from tabnas.runfile import SETTINGS_DEFAULTS, settings_digest
    from tabnas.runner import Budget
    from tabnas.study import Study, run_study

    study = Study(experiment="m", benchmarks=["toy-fidelities"], strategies=["hyperband"],
                  seeds=[0, 1], budget=Budget(evals=6), results_dir=tmp_path,
                  sim_workers=2, mf_cost="continue")
    run_study(study, executor=InProcessExecutor(), progress=False)
    assert experiment_status(study.exp_dir)["done"] == 2  # the manifest vouches for both
    base = {"budget": {"evals": 6, "cost": None}}
    for key, other in (("budget", {"evals": 7, "cost": None}), ("benchmark_options", {"a": 1}),
                       ("sim_workers", 2), ("mf_cost", "continue")):
        assert key in SETTINGS_DEFAULTS
        assert settings_digest({**base, key: other}, {}) != settings_digest(base, {})
    assert settings_digest(base, {"x": 1}) != settings_digest(base, {})


def test_run_files_dictionary_encode_only_the_columns_that_repeat(results):
    """A run's architectures are mostly distinct: a dictionary would only cost time and
    bytes there; the names and the incumbent, which repeat, keep theirs."""
    import pyarrow.parquet as pq

    from tabnas.records import arrow_schema
    from tabnas.runfile import RUN_DICTIONARY

    assert set(RUN_DICTIONARY) <= set(arrow_schema().names)
    meta = pq.ParquetFile(run_files(results / "e")[0]).metadata.row_group(0)
    encoded = {meta.column(i).path_in_schema: meta.column(i).encodings
               for i in range(meta.num_columns)}
    for name in RUN_DICTIONARY:
        assert "RLE_DICTIONARY" in encoded[name], (name, encoded[name])
    for name in ("arch", "step", "value"):
        assert "RLE_DICTIONARY" not in encoded[name], (name, encoded[name])
