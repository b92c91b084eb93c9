"""Which installed packages a study's benchmarks and strategies use, with their versions.

The manifest must name every package whose version can change a result:
scikit-learn behind ``smac``, Optuna behind ``optuna:*``, torch behind the live
trainer, ``nas-bench-graph`` behind ``nbgraph-*``, a plugin's own distribution.
Many of those are imported lazily, inside the function that needs them, so
``sys.modules`` at the time the manifest is written does not hold them all,
and on a process pool or a Dask cluster they are imported elsewhere. The
imports are therefore read from the code itself: the ``import`` statements of
the modules defining the study's benchmark, space and strategy classes,
followed through tabnas's own modules (and the file of a strategy loaded from
a file), at any depth of nesting. Every top-level name that is not in the
standard library is mapped to its distribution with
:func:`importlib.metadata.packages_distributions`.
"""

from __future__ import annotations

import ast
import importlib.util
import platform
import sys
from collections.abc import Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

from tabnas import __version__

#: Recorded for every study: what loading, storing and summarising results rests on.
CORE = ("numpy", "pandas", "scipy", "pyarrow", "matplotlib", "analog-nasbench")


def used_package_versions(objects: Iterable[object]) -> dict[str, str]:
    """``{"python": ..., "tabnas": ..., distribution: version}`` for what ``objects`` use.

    ``objects`` are benchmark entries (their loader's module), benchmark
    instances (with their search space) and strategy classes.
    """
    modules: set[str] = set()
    for obj in objects:
        modules.update(_modules(obj))
    names: set[str] = set()
    seen: set[str] = set()
    todo = sorted(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        names.add(name.split(".")[0])
        for imported in _imports(name):
            if _is_own(imported):
                todo.append(imported)
            else:
                names.add(imported.split(".")[0])
    out = {"python": platform.python_version(), "tabnas": __version__}
    dists = set(CORE)
    mapping = packages_distributions()
    for top in names:
        if top in sys.stdlib_module_names or top == "tabnas" or top.startswith("_"):
            continue
        dists.update(mapping.get(top, ()))
    for dist in sorted(dists, key=str.lower):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _modules(obj: object, depth: int = 0) -> set[str]:
    """Modules defining ``obj``: a class and its bases; an instance's class, its space and the
    benchmarks it wraps (a multi-objective view of a table); a registry entry's functions."""
    if not isinstance(obj, type) and hasattr(obj, "loader"):  # a registry entry
        out = set()
        for func in (obj.loader, getattr(obj, "data_status", None)):
            func = getattr(func, "func", func)  # functools.partial
            if func is not None and getattr(func, "__module__", None):
                out.add(func.__module__)
        return out
    classes = [obj if isinstance(obj, type) else type(obj)]
    out = {c.__module__ for cls in classes for c in cls.__mro__} - {"builtins"}
    if not isinstance(obj, type):
        parts = [getattr(obj, "space", None)]
        if depth < 2:  # wrapped benchmarks, e.g. MultiObjectiveBenchmark.base
            parts += [v for v in getattr(obj, "__dict__", {}).values()
                      if hasattr(v, "query") and v is not obj]
        for part in parts:
            if part is not None:
                out |= _modules(part, depth + 1)
    return out


def _is_own(module: str) -> bool:
    """Modules whose imports are followed: tabnas's and strategies loaded from a file."""
    return module == "tabnas" or module.startswith(("tabnas.", "tabnas_strategy_file_"))


@cache
def _imports(module: str) -> tuple[str, ...]:
    """Absolute names of every module ``module``'s source imports (any depth in the code)."""
    source = _source_file(module)
    if source is None:
        return ()
    try:
        tree = ast.parse(Path(source).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ()
    package = module if Path(source).name == "__init__.py" else module.rpartition(".")[0]
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            if prefix:
                out.append(prefix)
                # ``from tabnas import plots`` imports a module, not a name.
                out.extend(f"{prefix}.{a.name}" for a in node.names
                           if _is_own(prefix) and _source_file(f"{prefix}.{a.name}"))
    return tuple(dict.fromkeys(out))


@cache
def _source_file(module: str) -> str | None:
    loaded = sys.modules.get(module)
    file = getattr(loaded, "__file__", None)
    if file:
        return file if file.endswith(".py") else None
    if not _is_own(module):
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None)
    return origin if origin and origin.endswith(".py") else None
