"""NAS-Bench-101 from official-format tfrecord files: framing, CRCs, protobuf, golden values."""

import json
import math

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.errors import UserError
from tabnas.formats.model_metrics import decode_model_metrics
from tabnas.formats.tfrecord import frame, masked_crc, read_records
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES
from tests.conftest import run_cli
from tests.nb101_fixture import (
    README_PARAMS,
    README_RUNS,
    ModelMetrics,
    build_nb101_file,
    metrics_bytes,
    record_bytes,
    write_tfrecord,
)

README_KEY = "28cfc7874f6d200472e1a9dcd8650aa0"


@pytest.fixture(scope="module")
def full_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb101") / "fixture_full.tfrecord"
    return path, build_nb101_file(path)


@pytest.fixture(scope="module")
def bench(full_file):
    return load_benchmark("nb101", data=str(full_file[0]), seed_mode="sample")


def test_crc32c_and_mask():
    from crc32c import crc32c

    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    c = 0xE3069283
    assert masked_crc(b"123456789") == (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def test_model_metrics_decoding():
    half = {"training_time": 1.5, "train_accuracy": 0.25, "validation_accuracy": 0.5,
            "test_accuracy": 0.75}
    final = {"training_time": 3.0, "train_accuracy": 1.0, "validation_accuracy": 0.9,
             "test_accuracy": 0.8}
    m = decode_model_metrics(metrics_bytes(2694282, 108, half, final))
    assert m.trainable_parameters == 2694282 and m.total_time == pytest.approx(3.3)
    assert len(m.evaluation_data) == 3
    assert m.evaluation_data[1].validation_accuracy == 0.5
    assert m.evaluation_data[2].test_accuracy == 0.8 and m.evaluation_data[1].current_epoch == 54
    assert m.evaluation_data[2].checkpoint_path == "gs://bucket/model.ckpt-42120"
    neg = ModelMetrics(trainable_parameters=-5).SerializeToString()  # 10-byte varint
    assert decode_model_metrics(neg).trainable_parameters == -5
    # an unknown field (number 9, varint) before the known ones is skipped
    assert decode_model_metrics(b"\x48\x07" + neg).trainable_parameters == -5


def test_reads_every_record(full_file):
    path, info = full_file
    payloads = list(read_records(path))
    assert len(payloads) == info["records"] == len(info["cells"]) * 4 * 3
    key, epochs, adjacency, ops, _ = json.loads(payloads[0])
    assert key == README_KEY and epochs == 4 and len(adjacency) == 49
    assert ops.split(",")[0] == "input"


def test_golden_values(bench, full_file):
    _, info = full_file
    space = bench.space
    readme = space.from_string(README_KEY)
    assert space.size == len(info["cells"])
    assert bench.fidelities == (4, 12, 36, 108)
    cell = space.index(readme)
    for f, e in enumerate((4, 12, 36, 108)):
        for r in range(3):
            t, tr, va, te, ht, hv, hte = README_RUNS[e][r]
            assert bench.values[cell, r, f] == va * 100  # float32 storage is lossless here
            assert bench.tests[cell, r, f] == te * 100
            assert bench.costs[cell, r, f] == t
    extras = bench.extras(readme)
    assert extras["trainable_parameters"] == README_PARAMS
    assert extras["halfway_validation_accuracy"][0][3] == README_RUNS[108][0][5] * 100
    assert extras["train_accuracy"][2][3] == 100.0
    # the stored module is the first record's spelling
    matrix, ops = space.cell(readme)
    assert ops == ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3",
                   "conv3x3-bn-relu", "conv3x3-bn-relu", "output"]
    # regret reference: the best 3-run mean test accuracy at 108 epochs
    means = np.mean(bench.tests[:, :, -1], axis=1)
    assert bench.optimum().test_value == means.max()
    assert bench.truth(readme)[1] == pytest.approx(
        np.mean([README_RUNS[108][r][3] for r in range(3)]) * 100)


def test_query_semantics(bench, full_file):
    readme = bench.space.from_string(README_KEY)
    key = 0
    ev = bench.query(readme, 108, run_key=key)
    runs = {(round(r[2] * 100, 9), round(r[3] * 100, 9), r[0]) for r in README_RUNS[108]}
    assert (round(ev.value, 9), round(ev.test_value, 9), ev.cost) in runs
    assert bench.query(readme, 108, run_key=key) == ev  # the same run whenever asked again
    low = bench.query(readme, 4, run_key=key)
    assert low.cost < 100 and low.value < 60
    with pytest.raises(UserError, match="not in nb101's fidelities"):
        bench.query(readme, 50, run_key=key)
    mean = load_benchmark("nb101", data=str(full_file[0]), seed_mode="mean")
    ev = mean.query(readme, 12, run_key=key)
    assert ev.value == pytest.approx(np.mean([r[2] for r in README_RUNS[12]]) * 100)
    assert ev.cost == pytest.approx(np.mean([r[0] for r in README_RUNS[12]]))


def test_only108_file(tmp_path):
    path = tmp_path / "fixture_only108.tfrecord"
    build_nb101_file(path, epochs=(108,))
    b = load_benchmark("nb101", data=str(path))
    assert b.fidelities == (108,) and b.values.shape[2] == 1
    readme = b.space.from_string(README_KEY)
    assert b.values[b.space.index(readme), 0, 0] == README_RUNS[108][0][2] * 100


def _one_line_error(path) -> str:
    with pytest.raises(UserError) as err:
        load_benchmark("nb101", data=str(path))
    message = str(err.value)
    assert "\n" not in message
    return message


def test_corrupted_byte_is_a_crc_error(tmp_path, full_file):
    data = bytearray(full_file[0].read_bytes())
    length = int.from_bytes(data[:8], "little")
    bad = tmp_path / "corrupt_data.tfrecord"
    data[16 + length + 12 + 40] ^= 0x01  # a byte inside record 1's data
    bad.write_bytes(bytes(data))
    msg = _one_line_error(bad)
    assert "data CRC mismatch in record 1" in msg and "download it again" in msg
    data = bytearray(full_file[0].read_bytes())
    data[3] ^= 0x10  # record 0's length field
    bad = tmp_path / "corrupt_length.tfrecord"
    bad.write_bytes(bytes(data))
    assert "length CRC mismatch in record 0" in _one_line_error(bad)


def test_truncated_file(tmp_path, full_file):
    data = full_file[0].read_bytes()
    bad = tmp_path / "truncated.tfrecord"
    bad.write_bytes(data[:-7])
    assert "truncated at record" in _one_line_error(bad)
    bad.write_bytes(data + b"\x01\x02")
    assert "2 of 12 header bytes" in _one_line_error(bad)


def test_record_whose_hash_does_not_match_its_graph(tmp_path):
    half = {"training_time": 1.0, "train_accuracy": 0.5, "validation_accuracy": 0.5,
            "test_accuracy": 0.5}
    blob = metrics_bytes(10, 108, half, half)
    chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    bad = write_tfrecord(tmp_path / "wrong_hash.tfrecord", [
        record_bytes(README_KEY, 108, chain, ["input", "conv3x3-bn-relu", "output"], blob)])
    assert "does not match its graph" in _one_line_error(bad)
    bad = write_tfrecord(tmp_path / "not_json.tfrecord", [b"not json"])
    assert "record 0 is not a NAS-Bench-101 record" in _one_line_error(bad)
    bad = write_tfrecord(tmp_path / "bad_epochs.tfrecord", [
        record_bytes(README_KEY, 7, chain, ["input", "conv3x3-bn-relu", "output"], blob)])
    assert "epochs 7" in _one_line_error(bad)


def test_missing_data_is_a_user_error(monkeypatch, tmp_path):
    monkeypatch.delenv("TABNAS_NB101", raising=False)
    with pytest.raises(UserError, match="TABNAS_NB101"):
        load_benchmark("nb101")
    with pytest.raises(UserError, match="does not exist"):
        load_benchmark("nb101", data=str(tmp_path / "nope.tfrecord"))


def test_environment_variable_and_cache(monkeypatch, full_file, tmp_path):
    monkeypatch.setenv("TABNAS_NB101", str(full_file[0]))
    monkeypatch.setenv("TABNAS_CACHE", str(tmp_path / "cache"))
    a = load_benchmark("nb101")
    assert (tmp_path / "cache" / "nb101-fixture_full.npz").is_file()
    b = load_benchmark("nb101")  # from the cache
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert np.array_equal(a.space.hashes, b.space.hashes)
    assert list(a.checksums.values())[0] == list(b.checksums.values())[0]


@pytest.mark.parametrize("name", ["random", "rea"])
def test_strategies_run_on_nb101(bench, name):
    cls = STRATEGIES.get(name)
    hps = {"population": 5, "sample": 2} if name == "rea" else {}
    r = run_search(bench, cls, 3, Budget(evals=15), hyperparameters=hps).columns
    assert len(r["step"]) == 15
    assert all(len(a) == 32 for a in r["arch"])  # official hashes in the results
    assert min(r["regret_test"]) >= 0 and math.isfinite(r["regret_test"][-1])
    again = run_search(bench, cls, 3, Budget(evals=15), hyperparameters=hps).columns
    assert again["arch"] == r["arch"] and again["value"] == r["value"]


def test_cli_runs_nb101(full_file, tmp_path):
    proc = run_cli("run", "--benchmark", "nb101", "--data", str(full_file[0]),
                   "--strategy", "random,rea", "--hp", "rea.population=5", "--hp",
                   "rea.sample=2", "--seeds", "2", "--budget-evals", "12", "--no-report",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "4 runs done" in proc.stdout
    info = run_cli("info", "nb101", "--data", str(full_file[0]), cwd=tmp_path)
    assert info.returncode == 0 and "4, 12, 36, 108" in info.stdout
    bad = run_cli("info", "nb101", "--data", str(tmp_path / "missing.tfrecord"), cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_frame_layout():
    framed = frame(b"abc")
    assert framed[:8] == (3).to_bytes(8, "little") and framed[12:15] == b"abc"
    assert len(framed) == 3 + 16
