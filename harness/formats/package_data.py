"""Data files shipped inside installed packages, checked against the hashes pip recorded.

A wheel lists the SHA-256 of every file it installs in its ``RECORD``; that is
the one official checksum tabnas can know for a data file. A shipped table
(``analog-nasbench``'s ``data.anb``, ``nas-bench-graph``'s ``.bench`` files) is
checked against it before it is converted, so a file damaged or replaced since
installation is refused with one line instead of being read.
"""

from __future__ import annotations

import base64
import hashlib
from importlib.metadata import PackageNotFoundError, files
from pathlib import Path

from tabnas.errors import DamagedData


def recorded_sha256(path: Path, dist: str) -> str | None:
    """The SHA-256 (hex) that ``dist``'s ``RECORD`` lists for ``path``, or None if none does."""
    try:
        entries = files(dist) or []
    except PackageNotFoundError:
        return None
    target = path.resolve()
    for entry in entries:
        if entry.hash is None or entry.hash.mode != "sha256":
            continue
        if Path(entry.locate()).resolve() == target:
            raw = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
            return raw.hex()
    return None


def check_shipped(path: Path, dist: str) -> None:
    """Refuse ``path`` if it is a file of ``dist`` whose contents no longer match its RECORD."""
    want = recorded_sha256(path, dist)
    if want is None:
        return  # not one of the package's files (e.g. a --data path): nothing to compare
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    if h.hexdigest() != want:
        raise DamagedData(f"{path} does not match the SHA-256 that {dist} recorded when it was "
                          f"installed (damaged or replaced); reinstall it: "
                          f"pip install --force-reinstall {dist}")
