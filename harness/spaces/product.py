"""A product space: named variables, each with an ordered list of choices.

This is the space of user tables (HPO grids, exported benchmarks, own NAS
tables). An architecture is the tuple of choice indices in variable order; its
integer index reads that tuple as a mixed-radix number, first variable most
significant. With six variables of five choices this is exactly the
NAS-Bench-201 cell numbering, and ``mutate`` draws from the generator the same
way ``NB201Space.mutate`` does, so a NAS-Bench-201 table exported to a file and
loaded back gives the same runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.spaces.base import SearchSpace
from harness.types import Arch


class ProductSpace(SearchSpace):
    """``variables``: (name, choices) pairs. ``bare`` spaces (one variable) print only the choice.

    A bare space is how a table with one column of architecture strings is
    searched: the string itself is the architecture's name.
    """

    def __init__(self, name: str, variables: Sequence[tuple[str, Sequence[Any]]],
                 bare: bool = False) -> None:
        if not variables or any(len(c) == 0 for _, c in variables):
            raise ValueError("a product space needs at least one variable, each with choices")
        if bare and len(variables) != 1:
            raise ValueError("a bare product space has exactly one variable")
        self.name = name
        self.names = tuple(v for v, _ in variables)
        self.choices = tuple(tuple(c) for _, c in variables)
        self.bare = bare
        self._n = tuple(len(c) for c in self.choices)
        self._weights = tuple(int(np.prod(self._n[i + 1:], dtype=np.int64))
                              for i in range(len(self._n)))
        self.size = int(np.prod(self._n, dtype=np.int64))
        self._mutable = tuple(i for i, n in enumerate(self._n) if n > 1)
        self._text = [{str(c): i for i, c in enumerate(cs)} for cs in self.choices]

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

    def to_string(self, arch: Arch) -> str:
        self.index(arch)
        if self.bare:
            return str(self.choices[0][arch[0]])
        return ",".join(f"{k}={cs[v]}" for k, cs, v in zip(self.names, self.choices, arch,
                                                           strict=True))

    def from_string(self, text: str) -> Arch:
        if self.bare:
            try:
                return (self._text[0][text],)
            except KeyError:
                raise ValueError(f"{text!r} is not an architecture of {self.name}") from None
        parts = dict(p.partition("=")[::2] for p in text.split(","))
        try:
            return tuple(self._text[i][parts[k]] for i, k in enumerate(self.names))
        except KeyError:
            raise ValueError(f"{text!r} is not an architecture of {self.name} (write "
                             + ",".join(f"{k}=..." for k in self.names) + ")") from None
