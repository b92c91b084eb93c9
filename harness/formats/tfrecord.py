"""TFRecord files without TensorFlow: the framing, with both CRCs checked.

Each record is::

    uint64 length (little-endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

where ``masked(c) = ((c >> 15 | c << 17) + 0xA282EAD8) mod 2**32`` over the
CRC-32C (Castagnoli) checksum. The checksum comes from the ``crc32c`` package
(hardware CRC32C where the CPU has it, ~GB/s); the framing is a dozen lines, so
it is written here rather than taken from the ``tfrecord`` package, whose reader
is built around ``tf.train.Example`` protobufs and does not check the CRCs by
default. A corrupted or truncated file is a one-line :class:`UserError` naming
the record and byte offset; the reader streams, holding one record at a time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from crc32c import crc32c

from tabnas.errors import DamagedData

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """``data`` as one framed TFRecord record (for writing files)."""
    length = struct.pack("<Q", len(data))
    return length + _FOOTER.pack(masked_crc(length)) + data + _FOOTER.pack(masked_crc(data))


def read_records(path: Path, *, progress: Callable[[int], None] | None = None,
                 buffer_size: int = 1 << 20) -> Iterator[bytes]:
    """Yield the data of each record of ``path`` in order, checking both CRCs.

    ``progress(n)`` is called with the number of bytes consumed by each record.
    """
    path = Path(path)
    try:
        f = open(path, "rb", buffering=buffer_size)
    except OSError as exc:
        raise DamagedData(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        offset = 0
        number = 0
        hint = "the file is damaged; download it again"
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise DamagedData(f"{path}: truncated at record {number} (byte {offset}): "
                                  f"{len(header)} of 12 header bytes; {hint}")
            length, length_crc = _HEADER.unpack(header)
            if masked_crc(header[:8]) != length_crc:
                raise DamagedData(f"{path}: length CRC mismatch in record {number} "
                                  f"(byte {offset}); {hint}")
            body = f.read(length + 4)
            if len(body) < length + 4:
                raise DamagedData(f"{path}: truncated at record {number} (byte {offset}): "
                                  f"{len(body)} of {length + 4} bytes; {hint}")
            data = body[:length]
            if masked_crc(data) != _FOOTER.unpack_from(body, length)[0]:
                raise DamagedData(f"{path}: data CRC mismatch in record {number} "
                                  f"(byte {offset}); {hint}")
            yield data
            size = 16 + length
            offset += size
            number += 1
            if progress is not None:
                progress(size)
