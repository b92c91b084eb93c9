"""Strategies named by where their code is: a file, or a module of an importable package.

A strategy written in one file is usable at once, without packaging it:

- ``path/to/file.py`` (the one :class:`~tabnas.strategy.Strategy` subclass the
  file defines) or ``path/to/file.py:Class``;
- ``package.module:Class`` (any module importable from ``sys.path``, e.g.
  through ``PYTHONPATH``).

The reference itself is the strategy's name in results, so two different files
never share a name. A file is loaded once per process, under a private module
name kept in ``sys.modules`` (so its strategies pickle); a file that is already
imported as a regular module is not loaded a second time. Where the code came
from and its SHA-256 are recorded in the manifest (:func:`strategy_source`),
so an experiment whose strategy file has changed since it ran is refused
instead of mixing runs of two versions.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tabnas.errors import BadConfiguration, UserError

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"^{_IDENT}(\.{_IDENT})*$")

_FILE_MODULES: dict[Path, ModuleType] = {}


def is_reference(name: str) -> bool:
    """Whether ``name`` names a strategy by its file or module rather than a registered name."""
    return _split(name) is not None


def _split(name: str) -> tuple[str, str, str | None] | None:
    """``("file"|"module", where, class name or None)``, or None for a plain name."""
    where, sep, cls = name.rpartition(":") if ".py:" in name else (name, "", "")
    if where.endswith(".py") or (not sep and name.endswith(".py")):
        return "file", where, (cls or None)
    if "/" in name or "\\" in name:
        return "file", name, None
    module, sep, cls = name.partition(":")
    if sep and _DOTTED.match(module) and _DOTTED.match(cls):
        from tabnas.strategy import STRATEGIES

        if module not in dict(STRATEGIES.prefixes()):  # e.g. optuna:TPESampler is a family
            return "module", module, cls
    return None


def load_reference(name: str):
    """The strategy class a file or module reference names, or None if ``name`` is no reference.

    Raises :class:`UserError` when the file or module is missing, fails to
    import, or holds no (or more than one, without ``:Class``) strategy.
    """
    parts = _split(name)
    if parts is None:
        return None
    kind, where, cls_name = parts
    module = _load_file(where, name) if kind == "file" else _import_module(where, name)
    return _pick_class(module, cls_name, name)


def _load_file(where: str, name: str) -> ModuleType:
    path = Path(where).expanduser()
    if not path.is_file():
        raise BadConfiguration(f"strategy {name!r}: no file {path}; give an existing .py file "
                               "(relative paths are relative to the current folder)")
    path = path.resolve()
    if path in _FILE_MODULES:
        return _FILE_MODULES[path]
    for module in list(sys.modules.values()):  # already imported the ordinary way
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == path:
            _FILE_MODULES[path] = module
            return module
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    mod_name = f"tabnas_strategy_file_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise BadConfiguration(f"strategy {name!r}: {path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except UserError:
        del sys.modules[mod_name]
        raise
    except Exception as exc:  # a user's file: any failure is a one-line error naming it
        del sys.modules[mod_name]
        raise BadConfiguration(f"strategy {name!r}: importing {path} failed: "
                               f"{_first_line(exc)}") from None
    _FILE_MODULES[path] = module
    return module


def _import_module(module_name: str, name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise BadConfiguration(f"strategy {name!r}: no module named {exc.name!r} on sys.path; "
                                   "install its package or add its folder to PYTHONPATH") from None
        raise BadConfiguration(f"strategy {name!r}: importing {module_name} failed: "
                               f"{_first_line(exc)}") from None
    except UserError:
        raise
    except Exception as exc:
        raise BadConfiguration(f"strategy {name!r}: importing {module_name} failed: "
                               f"{_first_line(exc)}") from None


def _pick_class(module: ModuleType, cls_name: str | None, name: str):
    from tabnas.strategy import Strategy

    if cls_name is not None:
        obj: Any = module
        for part in cls_name.split("."):
            obj = getattr(obj, part, None)
        if not (isinstance(obj, type) and issubclass(obj, Strategy)):
            found = ", ".join(_strategies_in(module)) or "none"
            raise BadConfiguration(f"strategy {name!r}: {_where(module)} has no Strategy subclass "
                                   f"{cls_name!r} (strategies defined there: {found})")
        return obj
    found = _strategies_in(module)
    if len(found) != 1:
        what = ", ".join(found) if found else "none"
        raise BadConfiguration(f"strategy {name!r}: the file must define exactly one Strategy "
                               f"subclass, or name it as FILE.py:Class (defined there: {what})")
    return getattr(module, found[0])


def _where(module: ModuleType) -> str:
    return getattr(module, "__file__", None) or module.__name__


def _strategies_in(module: ModuleType) -> list[str]:
    from tabnas.strategy import Strategy

    return sorted(n for n, obj in vars(module).items()
                  if isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy
                  and obj.__module__ == module.__name__)


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0]


def reference(cls: type) -> str:
    """A name that finds ``cls`` again in a fresh process (a file or module reference).

    Prefers ``module:Class`` where the module is importable by name, else the
    defining file, so a strategy that is not installed (or is registered only
    when its module is imported) can be re-created elsewhere. A class defined
    in a notebook has neither: ``__main__:Class`` finds it in this process only.
    """
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    qualname = cls.__qualname__
    if "<locals>" in qualname:
        raise BadConfiguration(f"strategy class {qualname} is defined inside a function; define it "
                               "at the top level of a module so another process can import it")
    private = cls.__module__.startswith("tabnas_strategy_file_")
    if cls.__module__ == "__main__" and not (file and Path(file).is_file()):
        # Defined in a notebook or an interactive session: found in this process only.
        return f"__main__:{qualname}"
    if not private and cls.__module__ != "__main__":
        try:
            found = importlib.util.find_spec(cls.__module__) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            return f"{cls.__module__}:{qualname}"
    if file:
        return f"{Path(file).resolve()}:{qualname}"
    raise BadConfiguration(f"strategy class {qualname} has no source file (defined "
                           "interactively?); save it in a .py file and name it as "
                           "path/to/file.py:Class")


def strategy_source(name: str, cls: type) -> dict[str, str] | None:
    """Where a referenced strategy's code is, and its SHA-256, for the manifest.

    None for registered names (their code belongs to an installed, versioned package).
    """
    if not is_reference(name):
        return None
    if in_session_only(name):  # a notebook cell: no file, so the compiled code stands in
        return {"path": "<session>", "sha256": code_digest(cls)}
    try:
        file = inspect.getsourcefile(cls)
    except (OSError, TypeError):
        file = None
    if not (file and Path(file).is_file()):
        return None
    path = Path(file).resolve()
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def code_digest(cls: type) -> str:
    """SHA-256 of what a class does: its own and its bases' bytecode, constants and names.

    Used for classes defined in a notebook, which have no file to hash. Line numbers and
    cell names are left out, so re-running an unchanged cell gives the same digest.
    """
    digest = hashlib.sha256()

    def code(co) -> None:
        digest.update(co.co_code)
        digest.update(repr((co.co_names, co.co_varnames)).encode())
        for const in co.co_consts:
            if hasattr(const, "co_code"):
                code(const)
            else:
                digest.update(repr(const).encode())

    for klass in cls.__mro__:
        if klass.__module__ != "__main__":
            digest.update(f"{klass.__module__}.{klass.__qualname__}".encode())
            continue
        for key, value in sorted(vars(klass).items()):
            digest.update(key.encode())
            func = getattr(value, "__func__", value)
            if hasattr(func, "__code__"):
                code(func.__code__)
            elif not key.startswith("__"):
                digest.update(repr(value).encode())
    return digest.hexdigest()


def in_session_only(name: str) -> bool:
    """Whether a strategy is defined in this process's ``__main__`` (a notebook, ``python -c``)."""
    return name.startswith("__main__:")
