"""Progress bars: drawn on stderr when it is a terminal, so logs and tests stay clean."""

from __future__ import annotations

import sys


def progress_bar(total: int, enabled: bool | None, desc: str, unit: str = "run",
                 leave: bool = True):
    """A tqdm bar over ``total`` items, or None (nothing to count, or not wanted).

    ``enabled=None`` draws it only when stderr is a terminal.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled or not total:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave,
                dynamic_ncols=True)
