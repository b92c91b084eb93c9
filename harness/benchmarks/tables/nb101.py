"""NAS-Bench-101 (``nb101``) read from the official tfrecord files, without TensorFlow.

Source: ``nasbench_only108.tfrecord`` (108 epochs only, ~499 MB) or
``nasbench_full.tfrecord`` (4, 12, 36 and 108 epochs, ~1.95 GB), from the links
in google-research/nasbench's README; ``--data PATH`` or ``$TABNAS_NB101``.
Each TFRecord record is one training run: a JSON list
``[module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]`` with the
adjacency as a row-major 0/1 string, the ops comma-separated and the metrics a
base64 ``ModelMetrics`` protobuf whose ``evaluation_data`` holds the evaluations
at the start (0), halfway (1) and end (2) of training (the official API reads
[1] and [2]; so does this reader).

Conversion streams the file once (one record in memory at a time, output arrays
grown in chunks) into dense arrays ``(cells, 3 repeats, epochs)``, checks both
CRCs of every record, and recomputes the official hash of every cell's graph:
a record whose key does not match its graph is an error, so the keys used
here are proven equal to the official ones on the user's own file. Metrics are
kept as float32, which is lossless: the file's doubles are float32 values.
Later loads read the cache (well under a second).

Semantics (as in the NAS-Bench-101 paper): fidelity = epoch budget; the value a
strategy sees is the validation accuracy (%) of one of the 3 repeats, picked per
cell by the run's benchmark stream (``seed_mode="sample"``) or the repeat mean
(``"mean"``); the reported value is the test accuracy (%) of the same repeat;
the cost is that run's training time in seconds (measured on TPU v2, a run at
each epoch budget is a separate training with its own schedule). Regret is
against the best cell's mean test accuracy over its 3 repeats at the largest
epoch budget in the file.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

from tabnas.benchmarks import BENCHMARKS
from tabnas.benchmarks.base import BenchmarkEntry, TableBenchmark
from tabnas.cache import cached_convert
from tabnas.errors import DamagedData, DataMissing
from tabnas.formats.model_metrics import DecodeError, decode_model_metrics
from tabnas.formats.tfrecord import read_records
from tabnas.spaces.nb101 import N_VERTICES, NO_OP, NB101Space, cell_hash, check_cell

ENV = "TABNAS_NB101"
FIDELITIES = (4, 12, 36, 108)
REPEATS = 3
#: Per-run metrics kept, shape (cells, repeats, epochs); names in the cache.
METRICS = ("valid", "test", "time", "train", "half_valid", "half_test", "half_time")
_FID = {e: i for i, e in enumerate(FIDELITIES)}
_LABEL = {"input": -1, "output": -2, "conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1,
          "maxpool3x3": 2}
HOW_TO_GET = (f"download nasbench_only108.tfrecord or nasbench_full.tfrecord "
              f"(https://storage.googleapis.com/nasbench/) and pass data=PATH or set {ENV}")


class _Columns:
    """Per-cell output arrays, grown in chunks as new cells arrive."""

    def __init__(self, chunk: int = 1 << 16) -> None:
        self.chunk = chunk
        self.n = 0
        self.cap = 0
        self.arrays: dict[str, np.ndarray] = {}
        self._spec = {
            **{m: ((REPEATS, len(FIDELITIES)), np.float32, np.nan) for m in METRICS},
            "counts": ((len(FIDELITIES),), np.uint8, 0),
            "matrices": ((N_VERTICES, N_VERTICES), np.uint8, 0),
            "ops": ((N_VERTICES,), np.int8, NO_OP),
            "n_vertices": ((), np.uint8, 0),
            "params": ((), np.int64, 0),
        }

    def add(self) -> int:
        if self.n == self.cap:
            new_cap = self.cap + max(self.chunk, self.cap // 2)
            for name, (shape, dtype, fill) in self._spec.items():
                new = np.full((new_cap, *shape), fill, dtype=dtype)
                if name in self.arrays:
                    new[: self.n] = self.arrays[name][: self.n]
                self.arrays[name] = new
            self.cap = new_cap
        self.n += 1
        return self.n - 1

    def trimmed(self) -> dict[str, np.ndarray]:
        return {k: v[: self.n] for k, v in self.arrays.items()}


def convert(path: Path, *, progress: bool | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Stream ``path`` into the cache arrays (see the module docstring)."""
    path = Path(path)
    total = path.stat().st_size
    if progress is None:
        progress = sys.stderr.isatty()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"converting {path.name}",
                   file=sys.stderr, dynamic_ncols=True)
    slots: dict[str, int] = {}
    hashes: list[str] = []
    cols = _Columns()
    n_records = 0
    try:
        for data in read_records(path, progress=bar.update if bar else None):
            _add_record(path, n_records, data, slots, hashes, cols)
            n_records += 1
    finally:
        if bar is not None:
            bar.close()
    if not slots:
        raise DamagedData(f"{path} holds no NAS-Bench-101 records; {HOW_TO_GET}")
    arrays = cols.trimmed()
    order = np.argsort(np.array(hashes, dtype="S32"), kind="stable")
    arrays = {k: v[order] for k, v in arrays.items()}
    present = arrays.pop("counts").any(axis=0)
    fids = np.flatnonzero(present)
    for m in METRICS:
        arrays[m] = np.ascontiguousarray(arrays[m][:, :, fids])
    arrays["hashes"] = np.array(hashes, dtype="S32")[order]
    arrays["epochs"] = np.array(FIDELITIES)[fids]
    return arrays, {"records": n_records, "cells": len(hashes),
                    "source": f"NAS-Bench-101 {path.name}"}


def _add_record(path: Path, number: int, data: bytes, slots: dict[str, int],
                hashes: list[str], cols: _Columns) -> None:
    def bad(why: str) -> DamagedData:
        return DamagedData(f"{path}: record {number} is not a NAS-Bench-101 record: {why}")

    try:
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(data)
        metrics = decode_model_metrics(base64.b64decode(raw_metrics, validate=True))
    except (ValueError, TypeError, binascii.Error, DecodeError) as exc:
        raise bad(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    f = _FID.get(epochs)
    if f is None:
        raise bad(f"epochs {epochs!r} not one of {list(FIDELITIES)}")
    if len(metrics.evaluation_data) < 3:
        raise bad(f"{len(metrics.evaluation_data)} evaluations, need start, halfway and end")
    slot = slots.get(module_hash)
    if slot is None:
        slot = _add_cell(module_hash, raw_adjacency, raw_operations, bad, cols)
        slots[module_hash] = slot
        hashes.append(module_hash)
        cols.arrays["params"][slot] = metrics.trainable_parameters
    a = cols.arrays
    r = int(a["counts"][slot, f])
    if r >= REPEATS:
        raise bad(f"more than {REPEATS} runs of cell {module_hash} at {epochs} epochs")
    a["counts"][slot, f] = r + 1
    half, final = metrics.evaluation_data[1], metrics.evaluation_data[2]
    a["valid"][slot, r, f] = final.validation_accuracy
    a["test"][slot, r, f] = final.test_accuracy
    a["time"][slot, r, f] = final.training_time
    a["train"][slot, r, f] = final.train_accuracy
    a["half_valid"][slot, r, f] = half.validation_accuracy
    a["half_test"][slot, r, f] = half.test_accuracy
    a["half_time"][slot, r, f] = half.training_time


def _add_cell(module_hash, raw_adjacency, raw_operations, bad, cols: _Columns) -> int:
    if not isinstance(module_hash, str) or not re.fullmatch(r"[0-9a-f]{32}", module_hash):
        raise bad(f"module hash {module_hash!r} is not 32 hex digits")
    if not isinstance(raw_adjacency, str) or not isinstance(raw_operations, str):
        raise bad("adjacency and operations must be strings")
    dim = int(round(len(raw_adjacency) ** 0.5))
    if dim * dim != len(raw_adjacency) or set(raw_adjacency) - {"0", "1"} or dim > N_VERTICES:
        raise bad(f"adjacency {raw_adjacency!r} is not a square 0/1 matrix of at most "
                  f"{N_VERTICES} vertices")
    matrix = np.frombuffer(raw_adjacency.encode(), dtype=np.uint8).reshape(dim, dim) - 48
    ops = raw_operations.split(",")
    why = check_cell(matrix, ops)
    if why is not None:
        raise bad(f"cell {module_hash}: {why}")
    key = cell_hash(matrix, ops)
    if key != module_hash:
        raise bad(f"module hash {module_hash} does not match its graph (hash {key})")
    slot = cols.add()
    a = cols.arrays
    a["matrices"][slot, :dim, :dim] = matrix
    a["ops"][slot, :dim] = [_LABEL[op] for op in ops]
    a["n_vertices"][slot] = dim
    return slot


def data_path(data: str | None = None) -> Path | None:
    text = data or os.environ.get(ENV)
    return Path(text).expanduser() if text else None


def load(data: str | None = None, seed_mode: str = "sample",
         encoding: str = "adjacency") -> TableBenchmark:
    path = data_path(data)
    if path is None or not path.is_file():
        where = "" if path is None else (f"{path} is a folder, not a .tfrecord file; "
                                         if path.is_dir() else f"{path} does not exist; ")
        raise DataMissing(f"nb101 needs the official data: {where}{HOW_TO_GET}")
    name = "nb101-" + re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)
    arrays, meta = cached_convert(name, [path], lambda: convert(path))
    space = NB101Space(arrays["hashes"], arrays["matrices"], arrays["ops"],
                       arrays["n_vertices"], encoding=encoding)
    epochs = tuple(int(e) for e in arrays["epochs"])

    def pct(name: str) -> np.ndarray:
        out = arrays.pop(name).astype(np.float64)  # drop the float32 source as it is widened
        out *= 100.0
        return out

    extras = {"trainable_parameters": arrays["params"], "train_accuracy": pct("train"),
              "halfway_validation_accuracy": pct("half_valid"),
              "halfway_test_accuracy": pct("half_test"),
              "halfway_training_time": arrays.pop("half_time").astype(np.float64)}
    return TableBenchmark(
        name="nb101",
        space=space,
        values=pct("valid"),
        tests=pct("test"),
        costs=arrays.pop("time").astype(np.float64),
        fidelities=epochs,
        maximize=True,
        value_label="CIFAR-10 validation accuracy (%) of one of 3 training runs",
        test_label="CIFAR-10 test accuracy (%) of the same run",
        cost_label="training time in seconds (measured, TPU v2)",
        notes=(f"{space.size} cells from {path.name}; fidelity = epoch budget {list(epochs)}.",
               "seed_mode 'sample' answers each cell with one of its 3 runs, fixed per run "
               "seed; 'mean' with the 3-run mean.",
               "Regret is against the best cell's 3-run mean test accuracy at "
               f"{epochs[-1]} epochs.",
               "Each epoch budget is a separate training run (its own learning-rate "
               "schedule), not a checkpoint of the 108-epoch run."),
        extra_arrays=extras,
        checksums={s["path"]: s["sha256"] for s in meta["sources"]},
        seed_mode=seed_mode,
    )


def _status() -> tuple[bool, str]:
    path = data_path()
    if path is not None and path.is_file():
        return True, f"{path} (${ENV})"
    return False, HOW_TO_GET


BENCHMARKS.add("nb101", BenchmarkEntry(
    name="nb101",
    summary="NAS-Bench-101: 423,624 cells, CIFAR-10, 4/12/36/108 epochs x 3 runs "
            "(official tfrecord, read without TensorFlow)",
    loader=load,
    data_status=_status,
))
