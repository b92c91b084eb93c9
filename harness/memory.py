"""How many bytes of numpy arrays an object holds, each buffer counted once.

Why: a benchmark promises to use at most about twice the memory of its
arrays, and a hidden full-size copy (a float64 expansion kept beside its
float32 source, a seed mean nobody asked for) is exactly what breaks that.
Walking the object graph and counting every distinct buffer once (views count
as their base) gives a number that does not depend on the allocator or the
operating system, so tests can assert on it and ``scripts/bench_loading.py``
can set it against the measured peak RSS.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
           types.MethodType, np.random.Generator, np.random.BitGenerator, str, bytes, int,
           float, complex)


def _owner(a: np.ndarray) -> tuple[int, int]:
    """(identity, bytes) of the buffer behind ``a``: its base array, or ``a`` if it owns it."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    if a.base is None:
        return id(a), a.nbytes
    return id(a.base), a.nbytes  # a view of a foreign buffer (memory map, bytes)


def held_arrays(*roots: Any) -> dict[int, int]:
    """Every distinct array buffer reachable from ``roots``: identity -> bytes.

    Follows attributes, dict keys and values, items of lists, tuples and sets,
    and what a memoryview views; does not descend into classes, modules,
    functions or random generators.
    """
    buffers: dict[int, int] = {}
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            key, size = _owner(obj)
            buffers[key] = max(size, buffers.get(key, 0))
        elif isinstance(obj, memoryview):
            stack.append(obj.obj)
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return buffers


def array_bytes(*roots: Any) -> int:
    """Total bytes of the distinct array buffers reachable from ``roots``."""
    return sum(held_arrays(*roots).values())
