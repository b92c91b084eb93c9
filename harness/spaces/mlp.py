"""Two-hidden-layer MLP spaces for the live MNIST trainer.

``mnist-mlp``: per hidden layer a width in ``WIDTHS`` and an activation in
``ACTIVATIONS``, 3^4 = 81 networks. The canonical tuple is
``(width1, act1, width2, act2)`` as choice indices; the integer index reads
that tuple as a base-3 number with ``width1`` most significant. This is the
order of the ``[variables]`` a tabulated table lists, so a table of this space
and the space itself number architectures the same way.

``mnist-mlp-shared``: both layers share one width and one activation, 9
networks, tuple ``(width, act)``.

String forms: ``64-relu_128-tanh`` (layer 1, then layer 2) and ``128-tanh``
(the shared layer, used twice).
"""

from __future__ import annotations

import numpy as np

from harness.spaces.base import SearchSpace
from harness.types import Arch

WIDTHS: tuple[int, ...] = (64, 128, 256)
ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh")
_CHOICES = (WIDTHS, ACTIVATIONS)


class MLPSpace(SearchSpace):
    """Two fully connected hidden layers; ``shared=True`` ties both layers' choices."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        self.name = "mnist-mlp-shared" if shared else "mnist-mlp"
        n_layers = 1 if shared else 2
        #: (variable name, ordered choices), in tuple order.
        self.variables: tuple[tuple[str, tuple], ...] = tuple(
            (f"{kind}{'' if shared else layer + 1}", choices)
            for layer in range(n_layers)
            for kind, choices in (("width", WIDTHS), ("act", ACTIVATIONS))
        )
        self._radix = tuple(len(c) for _, c in self.variables)
        self.size = int(np.prod(self._radix))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MLPSpace) and other.shared == self.shared

    def __hash__(self) -> int:
        return hash((MLPSpace, self.shared))

    def _check(self, arch: Arch) -> None:
        if len(arch) != len(self._radix):
            raise ValueError(f"a {self.name} architecture has {len(self._radix)} entries, "
                             f"got {arch!r}")
        for v, r in zip(arch, self._radix, strict=True):
            if not 0 <= v < r:
                raise ValueError(f"choice index {v} out of range 0..{r - 1} in {arch!r}")

    def index(self, arch: Arch) -> int:
        self._check(arch)
        i = 0
        for v, r in zip(arch, self._radix, strict=True):
            i = i * r + v
        return i

    def arch_at(self, index: int) -> Arch:
        if not 0 <= index < self.size:
            raise ValueError(f"{self.name} index {index} out of range 0..{self.size - 1}")
        digits = []
        for r in reversed(self._radix):
            digits.append(index % r)
            index //= r
        return tuple(reversed(digits))

    def sample(self, rng: np.random.Generator) -> Arch:
        return self.arch_at(int(rng.integers(self.size)))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one variable to a different choice (uniform over the neighbours)."""
        self._check(arch)
        pos = int(rng.integers(len(self._radix)))
        shift = int(rng.integers(1, self._radix[pos]))
        return arch[:pos] + ((arch[pos] + shift) % self._radix[pos],) + arch[pos + 1:]

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Change one choice (a width or an activation), in variable then choice order."""
        self._check(arch)
        return [arch[:p] + (c,) + arch[p + 1:]
                for p, r in enumerate(self._radix) for c in range(r) if c != arch[p]]

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot per variable: 12 features (6 for the shared space)."""
        self._check(arch)
        x = np.zeros(sum(self._radix))
        offset = 0
        for v, r in zip(arch, self._radix, strict=True):
            x[offset + v] = 1.0
            offset += r
        return x

    def layers(self, arch: Arch) -> list[tuple[int, str]]:
        """The two hidden layers as (width, activation)."""
        self._check(arch)
        pairs = [(WIDTHS[arch[i]], ACTIVATIONS[arch[i + 1]]) for i in range(0, len(arch), 2)]
        return pairs * 2 if self.shared else pairs

    def to_string(self, arch: Arch) -> str:
        self._check(arch)
        return "_".join(f"{WIDTHS[arch[i]]}-{ACTIVATIONS[arch[i + 1]]}"
                        for i in range(0, len(arch), 2))

    def from_string(self, text: str) -> Arch:
        """Parse ``64-relu_128-tanh`` (or ``128-tanh`` for the shared space)."""
        parts = text.strip().split("_")
        want = len(self._radix) // 2
        if len(parts) != want:
            raise ValueError(f"a {self.name} architecture has {want} layer(s) like "
                             f"'64-relu', got {text!r}")
        out: list[int] = []
        for part in parts:
            width, _, act = part.partition("-")
            if not width.isdigit() or int(width) not in WIDTHS or act not in ACTIVATIONS:
                raise ValueError(f"bad layer {part!r} in {text!r}: width one of {WIDTHS}, "
                                 f"activation one of {ACTIVATIONS}")
            out += [WIDTHS.index(int(width)), ACTIVATIONS.index(act)]
        return tuple(out)
