"""Search spaces by name: what a table spec's ``space = "nb201"`` refers to.

A registered space knows its official string form, so a user table whose
architecture column holds those strings is searched in the real space, with
its real moves (``mutate``, ``neighbours``, ``encode``, path encoding,
canonical forms), instead of as one categorical variable whose "mutation" is a
uniform draw. Spaces register in :data:`SPACES` like strategies and
benchmarks; plugins add theirs through the ``tabnas.spaces`` entry-point group.

Two kinds exist. A *fixed* space (NAS-Bench-201, the MNIST MLP spaces, one
NAS-Bench-Graph dataset's official cells) is known in advance, so a table can
be checked to hold every one of its cells. A *table-defined* space
(NAS-Bench-101, NAS-Bench-Graph) is the set of canonical cells the table holds:
isomorphic spellings merge into one cell, and there is nothing to be missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tabnas.registry import Registry
from tabnas.spaces.base import SearchSpace


@dataclass(frozen=True)
class ParsedSpace:
    """A space built for a table's architecture strings.

    ``cells[i]`` is the cell of ``texts[i]`` (-1 where it does not parse, with
    the reason in ``errors[i]``). ``complete`` says whether every cell of the
    space is expected in the table (fixed spaces) or the space is exactly the
    cells found (table-defined spaces).
    """

    space: SearchSpace
    cells: np.ndarray
    errors: dict[int, str]
    complete: bool


@dataclass(frozen=True)
class SpaceEntry:
    """A registered space: how to build it from a table's strings, and an example instance.

    ``parse(texts)`` answers the distinct architecture strings of a table;
    ``example()`` builds a representative instance (for ``SpaceConformance``
    and ``tabnas list``) without a user's table.
    """

    name: str
    summary: str
    parse: Callable[[Sequence[str]], ParsedSpace]
    example: Callable[[], SearchSpace]


SPACES: Registry[SpaceEntry] = Registry("space", "tabnas.spaces", "tabnas.spaces")


def parse_fixed(space: SearchSpace, texts: Sequence[str]) -> ParsedSpace:
    """Parse strings with a fixed space's ``from_string`` (any ``ValueError`` is the reason)."""
    cells = np.full(len(texts), -1, dtype=np.int64)
    errors: dict[int, str] = {}
    for i, text in enumerate(texts):
        try:
            cells[i] = space.index(space.from_string(text))
        except ValueError as exc:
            errors[i] = str(exc)
    return ParsedSpace(space, cells, errors, complete=True)


def register_fixed(name: str, summary: str, make: Callable[[], SearchSpace]) -> None:
    """Register a space known in advance; ``make`` builds it (cheaply, on demand)."""
    SPACES.add(name, SpaceEntry(name, summary, lambda texts: parse_fixed(make(), texts), make))
