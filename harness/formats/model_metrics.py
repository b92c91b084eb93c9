"""NAS-Bench-101's ``ModelMetrics`` protobuf, decoded by the ``protobuf`` package
from a descriptor built at run time (no generated ``_pb2`` module, no ``protoc``).

Why the package and not a hand-written wire decoder: decoding is the inner loop
of a 5-million-record conversion, and the package's C (upb) parser does it in
~0.5 us per message against ~18 us for a pure-Python decoder of the same
message (``scripts/bench_nb101.py``); the descriptor below is the official
``nasbench/lib/model_metrics.proto`` (proto2) field for field::

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

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

__all__ = ["DecodeError", "ModelMetrics", "decode_model_metrics"]


def _build() -> type[Message]:
    f = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="tabnas/nasbench_model_metrics.proto", package="nasbench", syntax="proto2")
    metrics = proto.message_type.add(name="ModelMetrics")
    metrics.field.add(name="evaluation_data", number=1, label=f.LABEL_REPEATED,
                      type=f.TYPE_MESSAGE, type_name=".nasbench.EvaluationData")
    metrics.field.add(name="trainable_parameters", number=2, label=f.LABEL_OPTIONAL,
                      type=f.TYPE_INT32)
    metrics.field.add(name="total_time", number=3, label=f.LABEL_OPTIONAL, type=f.TYPE_DOUBLE)
    data = proto.message_type.add(name="EvaluationData")
    for number, name in enumerate(("current_epoch", "training_time", "train_accuracy",
                                   "validation_accuracy", "test_accuracy"), start=1):
        data.field.add(name=name, number=number, label=f.LABEL_OPTIONAL, type=f.TYPE_DOUBLE)
    data.field.add(name="checkpoint_path", number=6, label=f.LABEL_OPTIONAL,
                   type=f.TYPE_STRING)
    pool = descriptor_pool.DescriptorPool()  # private pool: no clash with other nasbench protos
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))


ModelMetrics = _build()


def decode_model_metrics(buf: bytes) -> Message:
    """Parse a serialized ``nasbench.ModelMetrics``; raises :class:`DecodeError` if invalid."""
    return ModelMetrics.FromString(buf)
