"""Refusing worker processes started from a script's unguarded top-level code.

Local worker processes (``workers=N``, ``dask="local:N"``) start with
forkserver or spawn, never plain fork (see :mod:`tabnas.executors`), and each
one re-imports the script that is ``__main__``, as multiprocessing does. A
script that calls ``tabnas.run(..., workers=2)`` at its top level would run the
study again in every worker while it starts; Python stops that with a
50-line ``RuntimeError`` in each worker, and the study would see its workers
lost. So the study checks first, in the process that starts the workers, and
refuses with one line that says to add the ``if __name__ == "__main__":``
guard. Where the script's source cannot be read, the workers themselves
refuse while they start, with the same line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import FrameType

from tabnas.errors import BadConfiguration

#: The name multiprocessing gives the script when a worker re-imports it.
_WORKER_MAIN = "__mp_main__"


def check_main_guard(how: str) -> None:
    """Refuse to start worker processes (``how``: e.g. ``workers=2``) from unguarded code.

    Worker processes re-import the ``__main__`` script; this raises
    :class:`BadConfiguration` when the call that got here comes from that
    script's top-level code outside an ``if __name__ == "__main__":`` block.
    In a worker that is re-importing the script, it ends the worker with the
    same line instead (the start is already under way there).
    """
    worker_frame = _module_frame(_WORKER_MAIN)
    if worker_frame is not None:
        # This process is a worker re-importing the script: the study's process
        # already ran this call; end quietly but for the one line.
        sys.stderr.write(_message(worker_frame.f_code.co_filename, how) + "\n")
        sys.stderr.flush()
        raise SystemExit(2)
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    # As multiprocessing decides what a worker re-imports: ``python -m module`` by
    # name (not a package's ``__main__``), a script by its file; a notebook, nothing.
    if spec is not None and (spec.name == "__main__" or spec.name.endswith(".__main__")):
        return
    if spec is None and not getattr(main, "__file__", None):
        return
    frame = _module_frame("__main__")
    if frame is None or main is None or frame.f_globals is not vars(main):
        return  # not called from the script's top-level code (a notebook, a function)
    path = frame.f_code.co_filename
    try:
        tree = ast.parse(Path(path).read_text(), path)
    except (OSError, SyntaxError, ValueError):
        return  # no source to read: the workers refuse while they start, if need be
    if _guarded(tree.body, frame.f_lineno):
        return
    raise BadConfiguration(_message(path, how))


def _message(path: str, how: str) -> str:
    return (f"{Path(path).name} starts worker processes ({how}) from its top-level code, which "
            "every worker process re-imports and would run again: put the code that runs the "
            "study under 'if __name__ == \"__main__\":' (or use workers=1)")


def _module_frame(name: str) -> FrameType | None:
    """The innermost frame of module-level code whose module is called ``name``."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == name:
            return frame
        frame = frame.f_back
    return None


def _guarded(body: list[ast.stmt], line: int) -> bool:
    """Whether ``line`` runs only when the module is ``__main__`` (or that cannot be told).

    True inside an ``if`` whose test reads ``__name__``, and also after any
    earlier statement at the same level that reads ``__name__`` (such as
    ``if __name__ != "__main__": sys.exit()``): what those do is left to them.
    """
    for stmt in body:
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            if isinstance(stmt, ast.If) and _reads_name(stmt.test):
                return True
            for inner in _bodies(stmt):
                if inner and inner[0].lineno <= line <= (inner[-1].end_lineno or line):
                    return _guarded(inner, line)
            return False
        if _reads_name(stmt):
            return True
    return False


def _bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested in a compound statement (none for a simple one)."""
    out = [getattr(stmt, field, None) or [] for field in ("body", "orelse", "finalbody")]
    out += [handler.body for handler in getattr(stmt, "handlers", None) or []]
    out += [case.body for case in getattr(stmt, "cases", None) or []]
    return out


def _reads_name(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(node))
