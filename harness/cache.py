"""The converted-table cache: dense numpy arrays in uncompressed ``.npz`` files.

Why: the shipped and official tables are pickles (slow to read, and unsafe to
unpickle). Each is converted once into plain arrays; later loads are an
``np.load(allow_pickle=False)`` that takes milliseconds and cannot run code.

Each cache file records the source's size, mtime and SHA-256. A source whose
size or mtime changed is re-hashed, and a different hash rebuilds the cache:
a stale cache is never used silently. A damaged cache (truncated, bit-flipped,
or not written by tabnas) is rebuilt the same way: every member carries the
zip format's CRC-32, so damage surfaces as an error on reading, never as
different numbers.

Every file tabnas writes goes through :func:`atomic_write_bytes`: a unique
temporary name created exclusively (``O_EXCL``, so a planted symbolic link or
another process's temporary is never opened), then renamed onto a target that
is absent or a regular file (a symbolic link, device node, FIFO or folder
there is refused, never replaced or written through).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import stat
import tempfile
import zipfile
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


class UnsafeTargetError(OSError):
    """A write target that is not a regular file (a symbolic link, device, FIFO, folder)."""


def check_target(path: Path) -> None:
    """Refuse to write onto anything but an absent path or a regular file (one line)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # absent (creating it names any blocker)
        return
    if stat.S_ISREG(st.st_mode):
        return
    kind = ("a symbolic link" if stat.S_ISLNK(st.st_mode) else
            "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file")
    raise UnsafeTargetError(errno.EEXIST, f"{path} is {kind}, which tabnas never writes "
                            "through or replaces; remove it or write elsewhere", str(path))


def atomic_write_bytes(path: Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp)`` then rename ``tmp`` onto ``path``: readers never see half a file.

    ``tmp`` is created exclusively under a unique name (never a planted link);
    before the rename it must still be the very file created (same inode, a
    regular file), so a temporary swapped meanwhile is never moved into place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    check_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        made = os.fstat(fd)
        os.close(fd)
        fd = -1
        writer(Path(tmp))
        now = os.lstat(tmp)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (made.st_dev,
                                                                          made.st_ino):
            raise UnsafeTargetError(errno.EEXIST, f"the temporary file {tmp} was replaced "
                                    "while it was written; write elsewhere", tmp)
        # mkstemp creates 0600; give the file the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        check_target(path)
        os.replace(tmp, path)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, UnsafeTargetError):
            # Name the file being written, not its temporary (which is gone).
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
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


#: What reading a damaged or foreign ``.npz`` raises (a truncated zip, a bad CRC, a
#: bad ``.npy`` header, an object array refused by ``allow_pickle=False``, bad JSON).
DAMAGED = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class DamagedCacheError(OSError):
    """A cache member failed its check when it was read lazily (the file was removed)."""


def cached_meta(name: str) -> dict | None:
    """The meta record of the cache for ``name`` (no arrays read), or ``None``."""
    path = cache_dir() / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z[_META_KEY]))
    except DAMAGED:
        return None
    return meta if isinstance(meta, dict) else None


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
        except DAMAGED:  # damaged or foreign: rebuilt below
            arrays, meta = {}, {}
        if not isinstance(meta, dict):
            arrays, meta = {}, {}
        if lazy and arrays:
            arrays = _Checked(arrays, path)
        if meta.get("cache_version") == CACHE_VERSION:
            if meta.get("stamp") == stamp:
                return arrays, meta
            hashes = [sha256_file(p) for p in sources]
            if hashes == [s["sha256"] for s in meta.get("sources", [])]:
                meta["stamp"] = stamp  # same content, new mtime: re-stamp the whole file
                try:
                    full = arrays if keys is None and not lazy else load_arrays(path)[0]
                except DAMAGED:
                    full = None
                if full is None:
                    return _convert_and_save(path, stamp, sources, convert)
                _try_save(path, full, meta)
                return arrays, meta
    return _convert_and_save(path, stamp, sources, convert)


def _convert_and_save(path, stamp, sources, convert):
    arrays, meta = convert()
    meta = dict(meta)
    meta["cache_version"] = CACHE_VERSION
    meta["stamp"] = stamp
    meta["sources"] = [{"path": str(p), "sha256": sha256_file(p)} for p in sources]
    _try_save(path, arrays, meta)
    return arrays, meta


class _Checked(Mapping):
    """A lazy cache mapping whose damaged members remove the cache and say so in one line.

    A member's CRC is checked when it is read, after the cache was opened; the
    file is removed so the next command rebuilds it from the source.
    """

    def __init__(self, members: Mapping[str, np.ndarray], path: Path) -> None:
        self._members, self._path = members, path

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._members[key]
        except KeyError:
            raise
        except DAMAGED as exc:
            with contextlib.suppress(OSError):
                self._path.unlink()
            raise DamagedCacheError(
                errno.EIO, f"the cache {self._path} is damaged ({type(exc).__name__}) and was "
                "removed; run the command again to rebuild it from the source",
                str(self._path)) from None

    def __contains__(self, key: object) -> bool:
        return key in self._members

    def __iter__(self):
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)


#: Caches this process could not save, with why (``tabnas prepare`` reports them).
_SAVE_ERRORS: list[tuple[Path, OSError]] = []


def save_errors() -> list[tuple[Path, OSError]]:
    """The caches this process failed to save, and the error each gave."""
    return list(_SAVE_ERRORS)


def _try_save(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Saving the cache is an optimisation: an unwritable cache folder must not stop a run
    (``tabnas prepare``, whose purpose it is, reports the failure instead)."""
    try:
        save_arrays(path, arrays, meta)
    except OSError as exc:
        _SAVE_ERRORS.append((path, exc))
