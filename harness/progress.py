"""Progress bars: drawn on a terminal and in Jupyter notebooks, so logs and tests stay clean."""

from __future__ import annotations

import sys


def in_notebook() -> bool:
    """Whether this process is a Jupyter (IPython) kernel, whose output is a notebook."""
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    ip = getattr(shell, "get_ipython", lambda: None)()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def progress_bar(total: int, enabled: bool | None, desc: str, unit: str = "run",
                 leave: bool = True):
    """A tqdm bar over ``total`` items, or None (nothing to count, or not wanted).

    ``enabled=None`` draws it when stderr is a terminal (a text bar) or in a
    notebook (tqdm's widget, through ``tqdm.auto``).
    """
    notebook = in_notebook()
    if enabled is None:
        enabled = notebook or sys.stderr.isatty()
    if not enabled or not total:
        return None
    if notebook:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=leave)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave,
                dynamic_ncols=True)
