"""An allow-list unpickler for benchmark files that are pickles of plain data.

``pickle.load`` runs whatever a file asks for: any importable callable, with
any arguments. Official benchmark files (NATS-Bench's ``.pickle.pbz2``) hold
only containers, numbers and strings, which the pickle opcodes build without
any global, plus at most three globals: ``collections.OrderedDict``, and the
numpy scalar constructor with its ``numpy.dtype``. This reader allows exactly
those (numeric dtypes only) and refuses every other global before it is
imported or called, so a crafted file fails with :class:`pickle.UnpicklingError`
instead of running code.
"""

from __future__ import annotations

import collections
import pickle
from typing import IO, Any

import numpy as np

#: The dtypes a numpy scalar in a benchmark file may have (never ``object``).
NUMERIC_DTYPES = frozenset({"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
                            "b1"})


def _numeric_dtype(spec: Any, *args: Any) -> np.dtype:
    """``numpy.dtype`` as a pickle calls it (``dtype('f8', False, True)``), numeric only."""
    if not isinstance(spec, str) or spec not in NUMERIC_DTYPES:
        raise pickle.UnpicklingError(f"refusing numpy dtype {spec!r} (only numbers are allowed)")
    return np.dtype(spec, *args)


def _numeric_scalar(dtype: Any, data: Any = None) -> Any:
    """numpy's scalar constructor for a numeric dtype and its raw bytes."""
    from numpy._core.multiarray import scalar

    if not isinstance(dtype, np.dtype) or dtype.str[1:] not in NUMERIC_DTYPES \
            or not isinstance(data, bytes):
        raise pickle.UnpicklingError("refusing a numpy scalar that is not a number")
    return scalar(dtype, data)


ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("numpy", "dtype"): _numeric_dtype,
    ("numpy.core.multiarray", "scalar"): _numeric_scalar,
    ("numpy._core.multiarray", "scalar"): _numeric_scalar,
}


class AllowListUnpickler(pickle.Unpickler):
    """Unpickles containers, numbers, strings and the :data:`ALLOWED` globals only."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}: a benchmark "
                                         "file holds only numbers, strings and "
                                         "containers") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing a persistent id")


def load(file: IO[bytes]) -> Any:
    return AllowListUnpickler(file).load()
