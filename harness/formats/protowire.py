"""A minimal protobuf wire-format decoder, and NAS-Bench-101's ``ModelMetrics`` message.

Why not the ``protobuf`` package: without generated code it needs a descriptor
built at run time, a large dependency for one two-level message of doubles
and a varint. The wire format of those is small (varints, 64-bit fixed,
length-delimited), so it is decoded here; unknown fields are skipped as the
format requires. The tests encode messages with the real ``protobuf`` package
from the official ``model_metrics.proto`` and check this decoder against it.

``model_metrics.proto`` (google-research/nasbench, proto2)::

    message ModelMetrics {
      repeated EvaluationData evaluation_data = 1;
      optional int32 trainable_parameters = 2;
      optional double total_time = 3;
    }
    message EvaluationData {
      optional double current_epoch = 1;
      optional double training_time = 2;
      optional double train_accuracy = 3;
      optional double validation_accuracy = 4;
      optional double test_accuracy = 5;
      optional string checkpoint_path = 6;
    }
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

_F64 = struct.Struct("<d")


class DecodeError(ValueError):
    """The bytes are not a valid message of the expected type."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise DecodeError("varint longer than 10 bytes")


def fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """Yield ``(field number, wire type, value)``: int for varint, bytes otherwise."""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise DecodeError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise DecodeError(f"unsupported wire type {wire}")
        if pos > end:
            raise DecodeError("message truncated")
        yield number, wire, value


class EvaluationData(NamedTuple):
    current_epoch: float = 0.0
    training_time: float = 0.0
    train_accuracy: float = 0.0
    validation_accuracy: float = 0.0
    test_accuracy: float = 0.0
    checkpoint_path: str = ""


class ModelMetrics(NamedTuple):
    evaluation_data: list[EvaluationData]
    trainable_parameters: int = 0
    total_time: float = 0.0


def _double(number: int, wire: int, value: object) -> float:
    if wire != 1:
        raise DecodeError(f"field {number}: expected a double, got wire type {wire}")
    return _F64.unpack(value)[0]  # type: ignore[arg-type]


def decode_evaluation_data(buf: bytes) -> EvaluationData:
    values: list = [0.0, 0.0, 0.0, 0.0, 0.0, ""]
    for number, wire, value in fields(buf):
        if 1 <= number <= 5:
            values[number - 1] = _double(number, wire, value)
        elif number == 6 and wire == 2:
            values[5] = bytes(value).decode("utf-8")  # type: ignore[arg-type]
    return EvaluationData(*values)


def decode_model_metrics(buf: bytes) -> ModelMetrics:
    """Decode a serialized ``nasbench.ModelMetrics``."""
    evals: list[EvaluationData] = []
    params = 0
    total = 0.0
    for number, wire, value in fields(buf):
        if number == 1 and wire == 2:
            evals.append(decode_evaluation_data(value))  # type: ignore[arg-type]
        elif number == 2 and wire == 0:
            params = value - (1 << 64) if value >= 1 << 63 else value  # type: ignore[operator]
        elif number == 3:
            total = _double(number, wire, value)
    return ModelMetrics(evals, int(params), total)
