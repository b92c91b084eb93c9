"""MNIST data for the live trainer: the shipped subset's split, IDX files, malformed files."""

import gzip

import numpy as np
import pytest

from tabnas.errors import UserError
from tabnas.live.data import SPLIT_SEED, load_idx_folder, load_subset
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def subset():
    return load_subset()


def test_subset_split_is_stratified_and_disjoint(subset):
    s = subset
    assert (len(s.y_train), len(s.y_valid), len(s.y_test)) == (3000, 1000, 1000)
    assert np.bincount(s.y_train).tolist() == [300] * 10
    assert np.bincount(s.y_valid).tolist() == [100] * 10
    assert np.bincount(s.y_test).tolist() == [100] * 10
    assert s.x_train.dtype == np.uint8 and s.x_train.shape[1] == 784 and s.x_train.max() == 255
    rows = {r.tobytes() for r in s.x_valid}
    assert not rows & {r.tobytes() for r in s.x_test}
    again = load_subset()
    assert np.array_equal(again.x_valid, s.x_valid) and np.array_equal(again.y_train, s.y_train)
    assert len(next(iter(s.checksums.values()))) == 64


def write_idx(path, array: np.ndarray, magic: bytes | None = None) -> None:
    """An IDX file of unsigned bytes, as the MNIST distribution writes them."""
    head = magic if magic is not None else bytes([0, 0, 8, array.ndim])
    raw = head + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if path.name.endswith(".gz") else raw)


def write_folder(folder, subset, sep="-", gz=".gz", n_train=600, n_test=100):
    folder.mkdir(parents=True, exist_ok=True)
    images = subset.x_train[:n_train].reshape(-1, 28, 28)
    parts = {"train-images": images, "train-labels": subset.y_train[:n_train].astype(np.uint8),
             "t10k-images": subset.x_test[:n_test].reshape(-1, 28, 28),
             "t10k-labels": subset.y_test[:n_test].astype(np.uint8)}
    paths = {}
    for stem, arr in parts.items():
        kind = "idx3" if arr.ndim == 3 else "idx1"
        paths[stem] = folder / f"{stem}{sep}{kind}-ubyte{gz}"
        write_idx(paths[stem], arr)
    return paths


@pytest.mark.parametrize(("sep", "gz"), [("-", ".gz"), ("-", ""), (".", ".gz"), (".", "")])
def test_idx_folder_round_trip(tmp_path, subset, sep, gz):
    write_folder(tmp_path, subset, sep, gz)
    s = load_idx_folder(tmp_path)
    assert (len(s.y_train), len(s.y_valid), len(s.y_test)) == (500, 100, 100)
    assert np.array_equal(s.x_test, subset.x_test[:100])
    assert np.array_equal(s.y_test, subset.y_test[:100])
    perm = np.random.default_rng(SPLIT_SEED).permutation(600)
    assert np.array_equal(s.x_valid, subset.x_train[:600][perm[:100]])
    assert np.array_equal(s.y_train, subset.y_train[:600][perm[100:]])
    assert len(s.checksums) == 4


def _corrupt(paths, case):
    images, labels = paths["train-images"], paths["train-labels"]
    raw = gzip.decompress(images.read_bytes())
    if case == "bad magic":
        images.write_bytes(gzip.compress(b"\x00\x00\x09\x03" + raw[4:]))
        return "bad magic number"
    if case == "wrong dimensions":
        labels.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + gzip.decompress(labels.read_bytes())[4:]))
        return "bad magic number"
    if case == "truncated":
        images.write_bytes(gzip.compress(raw[:-500]))
        return "is truncated"
    if case == "too long":
        images.write_bytes(gzip.compress(raw + b"\x00" * 7))
        return "longer than its header says"
    if case == "counts disagree":
        lab = gzip.decompress(labels.read_bytes())
        labels.write_bytes(gzip.compress(lab[:4] + (599).to_bytes(4, "big") + lab[8:-1]))
        return "600 images but"
    if case == "label out of range":
        lab = bytearray(gzip.decompress(labels.read_bytes()))
        lab[-1] = 12
        labels.write_bytes(gzip.compress(bytes(lab)))
        return "label 12"
    if case == "not gzip":
        images.write_bytes(b"this is not gzip data")
        return "cannot read"
    if case == "missing":
        labels.unlink()
        return "has no train-labels-idx1-ubyte"
    if case == "empty file":
        images.write_bytes(gzip.compress(b""))
        return "bad magic number none"
    raise AssertionError(case)


CASES = ["bad magic", "wrong dimensions", "truncated", "too long", "counts disagree",
         "label out of range", "not gzip", "missing", "empty file"]


@pytest.mark.parametrize("case", CASES)
def test_malformed_idx_is_one_line_error(tmp_path, subset, case):
    paths = write_folder(tmp_path, subset)
    needle = _corrupt(paths, case)
    with pytest.raises(UserError) as err:
        load_idx_folder(tmp_path)
    message = str(err.value)
    assert needle in message and "\n" not in message, message


def test_malformed_idx_through_the_cli(tmp_path, subset):
    data = tmp_path / "data"
    _corrupt(write_folder(data, subset), "truncated")
    for args in (["info", "mnist-mlp", "--data", str(data)],
                 ["run", "--benchmark", "mnist-mlp", "--data", str(data), "--seeds", "1",
                  "--budget-evals", "1"],
                 ["tabulate", "mnist-mlp-shared", "--data", str(data), "-o", "table"]):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "is truncated" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "table").exists()
