"""NAS-Bench-101 tfrecord files in the official format, written for the tests.

Records are framed with real masked CRC-32C checksums, and each metrics blob is
a real ``nasbench.ModelMetrics`` protobuf serialized by the ``protobuf`` package
from a descriptor of the official ``model_metrics.proto`` written here, apart
from the reader's, so a wrong field number or type on either side fails the
golden-value tests.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from tabnas.formats.tfrecord import frame
from tabnas.spaces.nb101 import OPS, cell_hash, check_cell, pad, prune

CONV3, CONV1, POOL = OPS
FIDELITIES = (4, 12, 36, 108)

#: The Inception-like cell of the official README, as a user writes it ...
README_MATRIX = np.array([[0, 1, 1, 1, 0, 1, 0],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 1, 0, 0],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 0, 0, 0]])
README_OPS = ["input", CONV1, CONV3, CONV3, CONV3, POOL, "output"]
#: ... and as the official file stores it (the colab's query output): isomorphic.
STORED_MATRIX = np.array([[0, 1, 1, 1, 1, 0, 0],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 0, 1, 0],
                          [0, 0, 0, 0, 0, 0, 1],
                          [0, 0, 0, 0, 0, 0, 0]])
STORED_OPS = ["input", CONV3, CONV1, POOL, CONV3, CONV3, "output"]
#: The README cell's 12 recorded runs in the official NAS-Bench-101 data, per epoch
#: budget and repeat: (final training_time, train, validation, test accuracy,
#: halfway training_time, validation, test accuracy). Repeat 0 at 108 epochs is
#: the run the official colab prints; all of them are the official API's
#: ``computed_stats`` for hash 28cfc7874f6d200472e1a9dcd8650aa0 as recorded in
#: google-research/unified_functional_hashing's test data.
README_PARAMS = 2694282
README_RUNS = {
    4: [(71.65800476074219, 0.5406650900840759, 0.5259414911270142, 0.518629789352417,
         36.06700134277344, 0.15294471383094788, 0.1521434336900711),
        (68.0260009765625, 0.5392628312110901, 0.5325520634651184, 0.5253405570983887,
         33.891998291015625, 0.13832131028175354, 0.1343149095773697),
        (68.13600158691406, 0.5677083134651184, 0.5564903616905212, 0.5504807829856873,
         33.98699951171875, 0.12590144574642181, 0.12279647588729858)],
    12: [(150.13999938964844, 0.8274238705635071, 0.7819511294364929, 0.7741386294364929,
          75.8499984741211, 0.3667868673801422, 0.3563701808452606),
         (146.16400146484375, 0.8718950152397156, 0.8304286599159241, 0.8217147588729858,
          72.93499755859375, 0.5556890964508057, 0.5462740659713745),
         (148.1439971923828, 0.8600761294364929, 0.8198117017745972, 0.8067908883094788,
          74.10299682617188, 0.47215545177459717, 0.47085335850715637)],
    36: [(397.8139953613281, 0.9988982081413269, 0.91796875, 0.9130609035491943,
          198.87899780273438, 0.6790865659713745, 0.6795873641967773),
         (396.6240234375, 0.9993990659713745, 0.9226762652397156, 0.9146634340286255,
          198.26800537109375, 0.7320713400840759, 0.7284655570983887),
         (396.5670166015625, 0.996995210647583, 0.907151460647583, 0.9017428159713745,
          198.31900024414062, 0.4789663553237915, 0.47065305709838867)],
    108: [(1155.85302734375, 1.0, 0.9376001358032227, 0.9311898946762085,
           577.0859985351562, 0.825120210647583, 0.8106971383094788),
          (1157.675048828125, 1.0, 0.9378004670143127, 0.932692289352417,
           577.8309936523438, 0.8104968070983887, 0.796875),
          (1154.361083984375, 1.0, 0.9336938858032227, 0.9286859035491943,
           575.739013671875, 0.8225160241127014, 0.8215144276618958)],
}


def _metrics_class():
    fdp = descriptor_pb2.FileDescriptorProto(name="nasbench/model_metrics.proto",
                                             package="nasbench", syntax="proto2")
    f = descriptor_pb2.FieldDescriptorProto
    mm = fdp.message_type.add(name="ModelMetrics")
    mm.field.add(name="evaluation_data", number=1, label=f.LABEL_REPEATED,
                 type=f.TYPE_MESSAGE, type_name=".nasbench.EvaluationData")
    mm.field.add(name="trainable_parameters", number=2, label=f.LABEL_OPTIONAL,
                 type=f.TYPE_INT32)
    mm.field.add(name="total_time", number=3, label=f.LABEL_OPTIONAL, type=f.TYPE_DOUBLE)
    ed = fdp.message_type.add(name="EvaluationData")
    for number, name in enumerate(("current_epoch", "training_time", "train_accuracy",
                                   "validation_accuracy", "test_accuracy"), start=1):
        ed.field.add(name=name, number=number, label=f.LABEL_OPTIONAL, type=f.TYPE_DOUBLE)
    ed.field.add(name="checkpoint_path", number=6, label=f.LABEL_OPTIONAL, type=f.TYPE_STRING)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))


ModelMetrics = _metrics_class()


def metrics_bytes(params: int, epochs: int, half: dict, final: dict) -> bytes:
    """A serialized ModelMetrics: evaluations at start, halfway and end of training."""
    m = ModelMetrics(trainable_parameters=params, total_time=final["training_time"] * 1.1)
    m.evaluation_data.add(current_epoch=0.0, training_time=0.0, train_accuracy=0.1,
                          validation_accuracy=0.1, test_accuracy=0.1,
                          checkpoint_path="gs://bucket/model.ckpt-0")
    m.evaluation_data.add(current_epoch=epochs / 2, **half)
    m.evaluation_data.add(current_epoch=float(epochs), **final,
                          checkpoint_path=f"gs://bucket/model.ckpt-{epochs * 390}")
    return m.SerializeToString()


def record_bytes(module_hash: str, epochs: int, matrix: np.ndarray, ops: list[str],
                 metrics: bytes) -> bytes:
    """The JSON payload of one record, as the official file spells it."""
    adjacency = "".join(str(int(b)) for b in np.asarray(matrix).ravel())
    return json.dumps([module_hash, epochs, adjacency, ",".join(ops),
                       base64.b64encode(metrics).decode("ascii")]).encode("utf-8")


def write_tfrecord(path: Path, payloads: list[bytes]) -> Path:
    path.write_bytes(b"".join(frame(p) for p in payloads))
    return path


def fixture_cells() -> list[tuple[np.ndarray, list[str]]]:
    """The stored README cell, every distinct cell one move from it, and two tiny cells."""
    cells: dict[str, tuple[np.ndarray, list[str]]] = {}

    def add(matrix, ops):
        key = cell_hash(matrix, ops)
        if key is not None and key not in cells:
            cells[key] = prune(matrix, ops)  # type: ignore[assignment]

    add(STORED_MATRIX, STORED_OPS)
    full, ops = pad(STORED_MATRIX, STORED_OPS)
    rows, cols = np.triu_indices(7, 1)
    for r, c in zip(rows, cols, strict=True):
        m = full.copy()
        m[r, c] = 1 - m[r, c]
        add(m, ops)
    for v in range(1, 6):
        for op in OPS:
            add(full, ops[:v] + [op] + ops[v + 1:])
    add(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), ["input", CONV3, "output"])
    add(np.array([[0, 1], [0, 0]]), ["input", "output"])
    for m, o in cells.values():
        assert check_cell(m, o) is None
    return list(cells.values())


def run_metrics(cell_no: int, repeat: int, epochs: int) -> tuple[int, dict, dict]:
    """Deterministic, float32-exact metrics of one run; cell 0 (the README cell)
    gets its real recorded runs."""
    rng = np.random.default_rng([cell_no, repeat, epochs])

    def f32(x: float) -> float:
        return float(np.float32(x))

    base = 0.80 + 0.12 * (1 - np.exp(-epochs / 20)) - 0.004 * (cell_no % 7)
    final = {"training_time": f32(10.0 * epochs * (1 + 0.1 * (cell_no % 5)) + rng.random()),
             "train_accuracy": f32(min(1.0, base + 0.05)),
             "validation_accuracy": f32(base + 0.01 * rng.standard_normal()),
             "test_accuracy": f32(base - 0.005 + 0.01 * rng.standard_normal())}
    half = {k: f32(v * (0.5 if k == "training_time" else 0.95)) for k, v in final.items()}
    params = 100_000 + 1000 * cell_no
    if cell_no == 0:
        t, tr, va, te, ht, hv, hte = README_RUNS[epochs][repeat]
        params = README_PARAMS
        final = {"training_time": t, "train_accuracy": tr, "validation_accuracy": va,
                 "test_accuracy": te}
        half = {"training_time": ht, "train_accuracy": 0.5, "validation_accuracy": hv,
                "test_accuracy": hte}
    return params, half, final


def build_nb101_file(path: Path, epochs: tuple[int, ...] = FIDELITIES) -> dict:
    """Write a fixture file; returns what was written, for golden-value checks.

    Records are ordered as in the official file (each cell's runs together).
    One run of the README cell is stored under the README's own spelling,
    which is isomorphic to the stored one: the same key must group them.
    """
    cells = fixture_cells()
    payloads = []
    runs = {}
    for no, (matrix, ops) in enumerate(cells):
        key = cell_hash(matrix, ops)
        for e in epochs:
            for r in range(3):
                params, half, final = run_metrics(no, r, e)
                spelled = (README_MATRIX, README_OPS) if (no, r, e) == (0, 2, epochs[-1]) \
                    else (matrix, ops)
                payloads.append(record_bytes(key, e, *spelled,
                                             metrics_bytes(params, e, half, final)))
                runs[key, r, e] = (params, half, final)
    write_tfrecord(path, payloads)
    return {"cells": cells, "runs": runs, "records": len(payloads),
            "readme_key": cell_hash(STORED_MATRIX, STORED_OPS)}
