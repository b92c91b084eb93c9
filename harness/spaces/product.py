"""A product space: named variables, each with an ordered list of choices.

This is the space of user tables (HPO grids, exported benchmarks, own NAS
tables). An architecture is the tuple of choice indices in variable order; its
integer index reads that tuple as a mixed-radix number, first variable most
significant. With six variables of five choices this is exactly the
NAS-Bench-201 cell numbering, and ``mutate`` draws from the generator the same
way ``NB201Space.mutate`` does, so a NAS-Bench-201 table exported to a file and
loaded back gives the same runs. :class:`~tabnas.spaces.mlp.MLPSpace` is a
product space with its own readable names, for the same reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tabnas.errors import BadConfiguration
from tabnas.spaces.base import OPERATIONS, SearchSpace
from tabnas.types import Arch

#: Most cells of a product space: cell indices stay within int64, also multiplied by seeds.
MAX_CELLS = 2**62
#: A bare variable with more choices than this has no structure worth the name: its
#: "mutation" is a uniform draw and its one-hot encoding is as wide as the table.
BARE_LIMIT = 64


class ProductSpace(SearchSpace):
    """``variables``: (name, choices) pairs. ``bare`` spaces (one variable) print only the choice.

    A bare space is how a table with one column of architecture strings is
    searched: the string itself is the architecture's name. With more than
    :data:`BARE_LIMIT` choices it offers no moves (``supports`` is false for
    them), so a strategy that needs structure is refused instead of silently
    becoming random search, unless ``unstructured=True`` asks for the
    categorical view explicitly.
    """

    def __init__(self, name: str, variables: Sequence[tuple[str, Sequence[Any]]],
                 bare: bool = False, unstructured: bool = False) -> None:
        if not variables or any(len(c) == 0 for _, c in variables):
            raise ValueError("a product space needs at least one variable, each with choices")
        if bare and len(variables) != 1:
            raise ValueError("a bare product space has exactly one variable")
        self.name = name
        self.names = tuple(v for v, _ in variables)
        self.choices = tuple(tuple(c) for _, c in variables)
        self.bare = bare
        self._n = tuple(len(c) for c in self.choices)
        self.size = math.prod(self._n)  # exact: numpy's int64 product would wrap around
        if self.size > MAX_CELLS:
            raise BadConfiguration(f"space {name} has {self.size:.3g} cells, more than the "
                                   f"{MAX_CELLS:.3g} (2^62) a product space may have; use fewer "
                                   "variables or choices")
        self._weights = tuple(math.prod(self._n[i + 1:]) for i in range(len(self._n)))
        self._mutable = tuple(i for i, n in enumerate(self._n) if n > 1)
        self._text = [{str(c): i for i, c in enumerate(cs)} for cs in self.choices]
        self.unstructured = unstructured
        self._flat = bare and self.size > BARE_LIMIT and not unstructured

    def supports(self, operation: str) -> bool:
        if self._flat and operation in OPERATIONS:
            return False
        return super().supports(operation)

    def unsupported_reason(self, operation: str) -> str:
        if not (self._flat and operation in OPERATIONS):
            return super().unsupported_reason(operation)
        return (f"but {self.name!r} is one bare column of {self.size} architecture names, "
                f"where {operation} would be a uniform draw: name the column's space in the "
                "spec (space = \"nb201\"; 'tabnas list' shows the spaces), split it into "
                "[variables], or set unstructured = true to search it as one categorical "
                "variable anyway")

    def index(self, arch: Arch) -> int:
        if len(arch) != len(self._n):
            raise ValueError(f"{self.name} has {len(self._n)} variables, got {arch!r}")
        i = 0
        for w, n, v in zip(self._weights, self._n, arch, strict=True):
            if not 0 <= v < n:
                raise ValueError(f"choice index {v} out of range 0..{n - 1}")
            i += w * int(v)
        return i

    def arch_at(self, index: int) -> Arch:
        if not 0 <= index < self.size:
            raise ValueError(f"index {index} out of range 0..{self.size - 1}")
        out = []
        for w in self._weights:
            out.append(index // w)
            index %= w
        return tuple(out)

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one variable (with more than one choice) to a different choice."""
        if not self._mutable:
            raise ValueError(f"{self.name} has a single architecture: nothing to mutate")
        var = self._mutable[int(rng.integers(len(self._mutable)))]
        shift = int(rng.integers(1, self._n[var]))
        new = list(arch)
        new[var] = (arch[var] + shift) % self._n[var]
        return tuple(new)

    def neighbours(self, arch: Arch) -> list[Arch]:
        return [arch[:v] + (c,) + arch[v + 1:]
                for v in range(len(self._n)) for c in range(self._n[v]) if c != arch[v]]

    def cardinalities(self) -> tuple[int, ...]:
        return self._n

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot per variable."""
        x = np.zeros(sum(self._n))
        offset = 0
        for n, v in zip(self._n, arch, strict=True):
            x[offset + v] = 1.0
            offset += n
        return x

    @property
    def variables(self) -> tuple[tuple[str, tuple], ...]:
        """(name, choices) pairs, in tuple order (as a table spec's ``[variables]`` lists them)."""
        return tuple(zip(self.names, self.choices, strict=True))

    def values(self, arch: Arch) -> tuple:
        """The chosen value of every variable."""
        self.index(arch)
        return tuple(cs[v] for cs, v in zip(self.choices, arch, strict=True))

    def from_values(self, texts: Sequence[str]) -> Arch:
        """The architecture whose variables take these values (in text form, in order)."""
        if len(texts) != len(self.names):
            raise ValueError(f"{self.name} has {len(self.names)} variables, got {len(texts)} "
                             "values")
        try:
            return tuple(lookup[t] for lookup, t in zip(self._text, texts, strict=True))
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]!r} is not a choice of {self.name}") from None

    def to_string(self, arch: Arch) -> str:
        values = self.values(arch)
        if self.bare:
            return str(values[0])
        return ",".join(f"{k}={v}" for k, v in zip(self.names, values, strict=True))

    def from_string(self, text: str) -> Arch:
        try:
            if self.bare:
                return self.from_values([text])
            parts = dict(p.partition("=")[::2] for p in text.split(","))
            return self.from_values([parts[k] for k in self.names])
        except (KeyError, ValueError):
            hint = "" if self.bare else (" (write " + ",".join(f"{k}=..." for k in self.names)
                                         + ")")
            raise ValueError(f"{text!r} is not an architecture of {self.name}{hint}") from None
