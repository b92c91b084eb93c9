"""The converted-table cache: dense numpy arrays in uncompressed ``.npz`` files.

Why: the shipped and official tables are pickles (slow to read, and unsafe to
unpickle). Each is converted once into plain arrays; later loads are an
``np.load(allow_pickle=False)`` that takes milliseconds and cannot run code.

Each cache file records the source's size, mtime and SHA-256. A source whose
size or mtime changed is re-hashed, and a different hash rebuilds the cache:
a stale cache is never used silently.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

_META_KEY = "__tabnas_meta__"
#: Bump when the layout of cached arrays changes; old caches are rebuilt.
CACHE_VERSION = 1


def cache_dir() -> Path:
    """``$TABNAS_CACHE``, else ``$XDG_CACHE_HOME/tabnas``, else ``~/.cache/tabnas``."""
    env = os.environ.get("TABNAS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tabnas"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def source_stamp(paths: list[Path]) -> list[list]:
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


@functools.cache
def _umask() -> int:
    """The process umask (read once: reading it means setting it, briefly)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` then rename ``tmp`` onto ``path``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        # mkstemp creates 0600; give the file the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Atomically save ``arrays`` plus a JSON ``meta`` record."""
    payload = dict(arrays)
    payload[_META_KEY] = np.array(json.dumps(meta, sort_keys=True))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)

    atomic_write_bytes(path, write)


class _Members(Mapping):
    """Named arrays of an open ``.npz`` file, each read when it is looked up.

    Holding the file open (rather than reopening it by name) means a cache
    rebuilt meanwhile by another process cannot mix into what this one reads.
    """

    def __init__(self, npz: Any, keys: list[str]) -> None:
        self._npz, self._keys = npz, keys

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._keys:
            raise KeyError(key)
        return self._npz[key]

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def load_arrays(path: Path, keys: list[str] | None = None, lazy: bool = False
                ) -> tuple[Mapping[str, np.ndarray], dict]:
    """Read a cache file; with ``keys``, only those arrays (an ``.npz`` member is read lazily).

    With ``lazy``, the arrays are read one at a time as they are looked up, so a
    caller that reduces each before reading the next never holds them all.
    """
    z = np.load(path, allow_pickle=False)
    try:
        wanted = [k for k in z.files if k != _META_KEY] if keys is None else keys
        absent = [k for k in wanted if k not in z.files]
        if absent:
            raise KeyError(absent[0])
        meta = json.loads(str(z[_META_KEY]))
        if lazy:
            return _Members(z, list(wanted)), meta
        arrays = {k: z[k] for k in wanted}
    except BaseException:
        z.close()
        raise
    z.close()
    return arrays, meta


def cached_meta(name: str) -> dict | None:
    """The meta record of the cache for ``name`` (no arrays read), or ``None``."""
    path = cache_dir() / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z[_META_KEY]))
    except (OSError, ValueError, KeyError):
        return None


def cached_convert(
    name: str,
    sources: list[Path],
    convert: Callable[[], tuple[dict[str, np.ndarray], dict]],
    keys: list[str] | None = None,
    lazy: bool = False,
) -> tuple[Mapping[str, np.ndarray], dict]:
    """Load the cache for ``name`` if it matches ``sources``, else convert and save.

    ``convert`` returns ``(arrays, meta)``; the source checksums are added to
    ``meta`` under ``"sources"``. With ``keys``, a valid cache returns only
    those arrays (so one benchmark of a multi-dataset file reads only its own),
    and a fresh conversion returns everything it converted. With ``lazy``, a
    valid cache's arrays are read as they are looked up (see :func:`load_arrays`).
    """
    path = cache_dir() / f"{name}.npz"
    stamp = source_stamp(sources)
    if path.exists():
        try:
            arrays, meta = load_arrays(path, keys, lazy)
        except (OSError, ValueError, KeyError):
            arrays, meta = {}, {}
        if meta.get("cache_version") == CACHE_VERSION:
            if meta.get("stamp") == stamp:
                return arrays, meta
            hashes = [sha256_file(p) for p in sources]
            if hashes == [s["sha256"] for s in meta.get("sources", [])]:
                meta["stamp"] = stamp  # same content, new mtime: re-stamp the whole file
                full = arrays if keys is None and not lazy else load_arrays(path)[0]
                _try_save(path, full, meta)
                return arrays, meta
    arrays, meta = convert()
    meta = dict(meta)
    meta["cache_version"] = CACHE_VERSION
    meta["stamp"] = stamp
    meta["sources"] = [{"path": str(p), "sha256": sha256_file(p)} for p in sources]
    _try_save(path, arrays, meta)
    return arrays, meta


def _try_save(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Saving the cache is an optimisation: an unwritable cache folder must not stop a run."""
    try:
        save_arrays(path, arrays, meta)
    except OSError:
        pass
