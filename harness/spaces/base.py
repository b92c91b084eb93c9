"""The search-space interface every strategy is written against.

Following NASLib, the moves (``sample``, ``mutate``, ``neighbours``, ``encode``)
live on the space, so every strategy shares one correct implementation of them
instead of re-deriving them per strategy. Finite tabular spaces also give every
architecture an integer ``index`` so benchmarks can answer from dense arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tabnas.types import Arch

#: The operations strategies ask for beyond ``sample`` (see ``Strategy.requires``).
OPERATIONS = ("mutate", "neighbours", "encode", "path_encode", "cardinalities")


class SearchSpace:
    """Base class of search spaces.

    Subclasses set ``name`` and ``size`` and implement the operations. An
    operation a space cannot provide raises ``NotImplementedError``; strategies
    check :meth:`supports` up front so a missing operation is a clear error
    before a run starts, not a crash in the middle of one.
    """

    name: str = "space"
    #: Number of architectures (all of them are valid and queryable).
    size: int = 0

    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random architecture."""
        return self.arch_at(int(rng.integers(self.size)))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A random architecture one move away from ``arch`` (never ``arch`` itself)."""
        nbrs = self.neighbours(arch)
        return nbrs[int(rng.integers(len(nbrs)))]

    def neighbours(self, arch: Arch) -> Sequence[Arch]:
        """All architectures one move away, in a fixed order."""
        raise NotImplementedError

    def encode(self, arch: Arch) -> np.ndarray:
        """A fixed-length float feature vector for model-based strategies."""
        raise NotImplementedError

    def path_encode(self, arch: Arch) -> np.ndarray:
        """Path encoding (White et al., BANANAS): which op sequences run input -> output.

        Only cell spaces have paths; predictors fall back to :meth:`encode` elsewhere.
        """
        raise NotImplementedError

    def cardinalities(self) -> tuple[int, ...]:
        """The categorical view: the number of choices at each position of the tuple.

        It is what per-variable models (TPE, REINFORCE, Optuna) sample from. A
        product of independent categorical variables provides it directly; a
        space whose valid tuples are a subset (canonical graphs present in a
        table) provides it together with :meth:`from_choices`.
        """
        raise NotImplementedError

    def from_choices(self, choices: Arch) -> Arch | None:
        """The architecture a tuple of per-position choices stands for, or ``None``.

        Within :meth:`cardinalities`, on a product space every tuple is itself an
        architecture; a constrained space maps it to its canonical form, or to
        ``None`` where the table holds no such architecture.
        """
        return choices if choices in self else None

    def index(self, arch: Arch) -> int:
        """The architecture's position in ``0 .. size-1``."""
        raise NotImplementedError

    def arch_at(self, index: int) -> Arch:
        """Inverse of :meth:`index`."""
        raise NotImplementedError

    def to_string(self, arch: Arch) -> str:
        """The human/official string form, as stored in results."""
        raise NotImplementedError

    def from_string(self, text: str) -> Arch:
        """Inverse of :meth:`to_string`."""
        raise NotImplementedError

    def __contains__(self, arch: object) -> bool:
        try:
            return 0 <= self.index(arch) < self.size  # type: ignore[arg-type]
        except (TypeError, ValueError, KeyError, IndexError):
            return False

    def supports(self, operation: str) -> bool:
        """Whether the space implements ``operation`` (e.g. ``"encode"``)."""
        method = getattr(type(self), operation, None)
        return method is not None and method is not getattr(SearchSpace, operation, None)

    def unsupported_reason(self, operation: str) -> str:
        """Why :meth:`supports` is false for ``operation``, and how to get it (one clause)."""
        return f"which space {self.name!r} does not provide"

    def operations(self) -> dict[str, bool]:
        """Every operation a strategy may need, and whether this space supports it."""
        return {op: self.supports(op) for op in OPERATIONS}

    def all_archs(self) -> list[Arch]:
        return [self.arch_at(i) for i in range(self.size)]
