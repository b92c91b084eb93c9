"""Named registries of strategies and benchmarks.

A registry refuses a duplicate name (two plugins silently shadowing each other
is a classic source of wrong comparisons) and lists the valid names when asked
for an unknown one. Entries from outside this repository come in through
entry-point groups (``tabnas.strategies``, ``tabnas.benchmarks``), loaded on
first use. A *resolver* answers a whole family of names by prefix
(``optuna:TPESampler`` -> a strategy built around Optuna's sampler), so such
families need neither a list of members nor an import of their library until
one is asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from tabnas.errors import BadConfiguration

T = TypeVar("T")


class PluginWarning(UserWarning):
    """A plugin (entry point) could not be loaded; everything else still works."""


def _in_worker_process() -> bool:
    """Whether this is a worker process started by multiprocessing (a pool, a Dask worker)."""
    import multiprocessing

    return multiprocessing.parent_process() is not None


class Registry(Generic[T]):
    """A name -> object mapping that refuses duplicates."""

    def __init__(self, kind: str, entry_point_group: str, builtin_package: str, *,
                 loader: Callable[[str], T | None] | None = None, how_to_add: str = "") -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.builtin_package = builtin_package
        #: Answers names that say where an object is (a file, ``module:Class``), else None.
        self.loader = loader
        self.how_to_add = how_to_add
        self._items: dict[str, T] = {}
        self._resolvers: dict[str, Callable[[str], T]] = {}
        self._resolved: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register ``obj`` under ``name``; a second use of a name raises."""

        def decorate(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorate

    def add(self, name: str, obj: T) -> None:
        if not name or any(c.isspace() for c in name) or "," in name:
            raise ValueError(f"invalid {self.kind} name {name!r}: no spaces or commas")
        existing = self._items.get(name)
        if existing is not None and existing is not obj:
            raise ValueError(f"duplicate {self.kind} name {name!r}: already registered")
        self._items[name] = obj

    def add_resolver(self, prefix: str, resolve: Callable[[str], T]) -> None:
        """Answer names ``prefix:REST`` with ``resolve(REST)`` (raising ``UserError`` if bad).

        Each resolved name is built once and then kept, so two look-ups give the
        same object. Resolved names are not listed by :meth:`names`.
        """
        existing = self._resolvers.get(prefix)
        if existing is not None and existing is not resolve:
            raise ValueError(f"duplicate {self.kind} prefix {prefix!r}: already registered")
        self._resolvers[prefix] = resolve

    def prefixes(self) -> list[tuple[str, Callable[[str], T]]]:
        """``(prefix, resolver)`` of every name family, sorted by prefix."""
        self._load()
        return sorted(self._resolvers.items())

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        import importlib

        for module in self.builtin_modules():
            importlib.import_module(module)
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.entry_point_group):
            try:
                loaded = ep.load()
            except Exception as exc:  # one broken plugin must not break the others
                if _in_worker_process():  # the process the user started has said so once
                    continue
                reason = (f"{type(exc).__name__}: {exc}".splitlines() or [""])[0]
                dist = getattr(ep.dist, "name", None)
                warnings.warn(
                    f"{self.kind} plugin {ep.name!r} ({ep.value}"
                    f"{f', from {dist}' if dist else ''}) failed to load and is skipped: "
                    f"{reason}", PluginWarning, stacklevel=2)
                continue
            # An entry point may name the object itself or a module that registers.
            if not isinstance(loaded, type(importlib)) and ep.name not in self._items:
                self.add(ep.name, loaded)

    def builtin_modules(self) -> list[str]:
        """The modules that define the built-in members, found without importing them."""
        import importlib
        import pkgutil

        package = importlib.import_module(self.builtin_package)
        return [f"{self.builtin_package}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                if not m.name.startswith("_")]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def get(self, name: str) -> T:
        self._load()
        if name in self._items:
            return self._items[name]
        if name in self._resolved:
            return self._resolved[name]
        prefix, sep, rest = name.partition(":")
        if sep and prefix in self._resolvers:
            obj = self._resolved[name] = self._resolvers[prefix](rest)
            return obj
        if self.loader is not None:
            loaded = self.loader(name)
            if loaded is not None:
                self._resolved[name] = loaded
                return loaded
        raise BadConfiguration(
            f"unknown {self.kind} {name!r}; valid names: {', '.join(self.names())}"
            + "".join(f", {p}:..." for p in sorted(self._resolvers))
            + (f"; {self.how_to_add}" if self.how_to_add else "")
        )

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
