"""Two-hidden-layer MLP spaces for the live MNIST trainer.

``mnist-mlp``: per hidden layer a width in ``WIDTHS`` and an activation in
``ACTIVATIONS``, 3^4 = 81 networks, variables ``width1, act1, width2, act2``.
``mnist-mlp-shared``: both layers share one width and one activation, 9
networks, variables ``width, act``.

Both are product spaces (:class:`~tabnas.spaces.product.ProductSpace`) of
those variables, so numbering, ``sample``, ``mutate``, ``neighbours`` and
``encode`` are the product space's own: a table that ``tabnas tabulate``
writes lists the same ``[variables]``, and the ``table:PATH`` loader builds a
product space from them that numbers architectures and draws moves exactly as
this one does. Runs on the live benchmark and on its tabulated table therefore
propose the same architectures. Only the string form differs: here it is the
readable ``64-relu_128-tanh`` (layer 1, then layer 2; ``128-tanh`` for the
shared layer), in the table ``width1=64,act1=relu,...``; the index is the
same either way.
"""

from __future__ import annotations

from tabnas.spaces.named import register_fixed
from tabnas.spaces.product import ProductSpace
from tabnas.types import Arch

WIDTHS: tuple[int, ...] = (64, 128, 256)
ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh")


class MLPSpace(ProductSpace):
    """Two fully connected hidden layers; ``shared=True`` ties both layers' choices."""

    def __init__(self, shared: bool = False) -> None:
        self.shared = shared
        suffixes = ("",) if shared else ("1", "2")
        super().__init__("mnist-mlp-shared" if shared else "mnist-mlp",
                         [(f"{kind}{s}", choices) for s in suffixes
                          for kind, choices in (("width", WIDTHS), ("act", ACTIVATIONS))])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MLPSpace) and other.shared == self.shared

    def __hash__(self) -> int:
        return hash((MLPSpace, self.shared))

    def layers(self, arch: Arch) -> list[tuple[int, str]]:
        """The two hidden layers as (width, activation)."""
        values = self.values(arch)
        pairs = list(zip(values[::2], values[1::2], strict=True))
        return pairs * 2 if self.shared else pairs

    def to_string(self, arch: Arch) -> str:
        values = self.values(arch)
        return "_".join(f"{w}-{a}" for w, a in zip(values[::2], values[1::2], strict=True))

    def from_string(self, text: str) -> Arch:
        """Parse ``64-relu_128-tanh`` (or ``128-tanh`` for the shared space)."""
        parts = text.strip().split("_")
        if len(parts) != len(self.names) // 2:
            raise ValueError(f"a {self.name} architecture has {len(self.names) // 2} layer(s) "
                             f"like '64-relu', got {text!r}")
        try:
            return self.from_values([t for part in parts for t in part.split("-", 1)])
        except ValueError:
            raise ValueError(f"bad layer in {text!r}: width one of {WIDTHS}, activation one "
                             f"of {ACTIVATIONS}, written like '64-relu'") from None


register_fixed("mnist-mlp", "two hidden layers, width and activation each (81); strings like "
               "64-relu_128-tanh", MLPSpace)
register_fixed("mnist-mlp-shared", "two hidden layers sharing one width and activation (9); "
               "strings like 128-tanh", lambda: MLPSpace(shared=True))
