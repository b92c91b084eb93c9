"""Say where two runs differ, in one line: what a failed check shows instead of ``False``.

The conformance suite compares whole runs (records, proposals, random states);
a bare ``AssertionError`` then tells a strategy's author nothing. These helpers
name the first column and evaluation where two runs part, with both values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

#: Longest rendering of one value in a message.
_WIDTH = 80


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _WIDTH else text[:_WIDTH - 3] + "..."


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays: compare their contents
        return show(a) == show(b)


def first_difference(a: Sequence, b: Sequence, what: str = "item") -> str:
    """``"<what> 3: 'x' vs 'y' (lengths 10 and 10)"``, or ``""`` when they are equal."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if not _same(x, y):
            return f"{what} {i}: {show(x)} vs {show(y)} (lengths {len(a)} and {len(b)})"
    if len(a) != len(b):
        longer, extra = ("first", a[len(b)]) if len(a) > len(b) else ("second", b[len(a)])
        return (f"lengths {len(a)} and {len(b)}: the {longer} goes on with {what} "
                f"{min(len(a), len(b))} = {show(extra)}")
    return ""


def records_difference(a: Mapping[str, Sequence], b: Mapping[str, Sequence]) -> str:
    """Where two runs' column dicts differ: the first column (in order) and evaluation."""
    if list(a) != list(b):
        return f"columns differ: {sorted(set(a) ^ set(b)) or list(a)} vs {list(b)}"
    for column in a:
        diff = first_difference(a[column], b[column], "evaluation")
        if diff:
            return f"column {column!r}, {diff}"
    return ""
