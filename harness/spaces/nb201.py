"""The NAS-Bench-201 cell space: 6 edges, 5 operations, 15,625 cells.

Canonical tuple: one op index per edge, edges in the order the official string
lists them: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2). Op indices follow
the official operation list ``OPS``. The integer index is that tuple read as a
base-5 number (edge 1<-0 most significant); it is *not* the row number of the
official ``.pth`` file, whose order the NAS-Bench-201 adapter maps by string.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from tabnas.spaces.base import SearchSpace
from tabnas.spaces.named import register_fixed
from tabnas.types import Arch

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (target node, source node) per tuple position, in official string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_EDGES = len(EDGES)
N_OPS = len(OPS)
_OP_INDEX = {op: i for i, op in enumerate(OPS)}
#: Input -> output routes as tuple positions (edges 1<-0, 3<-1, ...).
_ROUTES = ((3,), (0, 4), (1, 5), (0, 2, 5))
_PATH_OFFSET = {1: 0, 2: 4, 3: 4 + 16}
_PATH_FEATURES = 4 + 16 + 64
_WEIGHTS = tuple(N_OPS ** (N_EDGES - 1 - i) for i in range(N_EDGES))


def arch_to_string(arch: Arch) -> str:
    o = [OPS[i] for i in arch]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def string_to_arch(text: str) -> Arch:
    """Parse ``|op~0|+|op~0|op~1|+|...|``; raises ``ValueError`` naming the problem."""
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"not a NAS-Bench-201 cell string (need 3 nodes): {text!r}")
    ops: list[int] = []
    for node_i, node in enumerate(nodes, start=1):
        parts = [p for p in node.split("|") if p]
        if len(parts) != node_i:
            raise ValueError(f"node {node_i} needs {node_i} inputs in {text!r}")
        for src, part in enumerate(parts):
            op, _, inp = part.partition("~")
            if op not in _OP_INDEX or inp != str(src):
                raise ValueError(f"bad edge {part!r} in {text!r}")
            ops.append(_OP_INDEX[op])
    return tuple(ops)


class NB201Space(SearchSpace):
    """All 15,625 cells (isomorphic cells are kept distinct, as in the tables)."""

    name = "nb201"
    size = N_OPS**N_EDGES

    def index(self, arch: Arch) -> int:
        i = _index_table().get(arch)
        if i is not None:
            return i
        if len(arch) != N_EDGES:
            raise ValueError(f"a NAS-Bench-201 cell has {N_EDGES} edges, got {arch!r}")
        i = 0
        for w, op in zip(_WEIGHTS, arch, strict=True):
            if not 0 <= op < N_OPS:
                raise ValueError(f"op index {op} out of range 0..{N_OPS - 1}")
            i += w * op
        return i

    def arch_at(self, index: int) -> Arch:
        return _arch_at(index)

    def __contains__(self, arch: object) -> bool:
        # The runner asks this of every suggestion: one dict look-up, as ``index`` does.
        try:
            return arch in _index_table()
        except TypeError:  # unhashable: not a cell
            return False

    def sample(self, rng: np.random.Generator) -> Arch:
        return _arch_at(int(rng.integers(self.size)))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one edge to a different op (uniform over the 24 such cells)."""
        edge = int(rng.integers(N_EDGES))
        shift = int(rng.integers(1, N_OPS))
        new = list(arch)
        new[edge] = (arch[edge] + shift) % N_OPS
        return tuple(new)

    def neighbours(self, arch: Arch) -> list[Arch]:
        out = []
        for e in range(N_EDGES):
            for op in range(N_OPS):
                if op != arch[e]:
                    out.append(arch[:e] + (op,) + arch[e + 1 :])
        return out

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot, 6 edges x 5 ops = 30 features."""
        x = np.zeros(N_EDGES * N_OPS)
        x[np.arange(N_EDGES) * N_OPS + np.asarray(arch)] = 1.0
        return x

    def path_encode(self, arch: Arch) -> np.ndarray:
        """Binary indicator of op sequences on input -> output paths (84 features).

        The four routes 0-3, 0-1-3, 0-2-3, 0-1-2-3 carry 1, 2, 2 and 3 ops; a
        route with a ``none`` edge is cut. As in BANANAS, a path is identified
        by its op sequence (not its route): 4 + 16 + 64 sequences of the four
        non-``none`` ops.
        """
        x = np.zeros(_PATH_FEATURES)
        for route in _ROUTES:
            ops = [arch[e] for e in route]
            if 0 in ops:  # OPS[0] == "none": no signal flows along this route
                continue
            code = 0
            for op in ops:
                code = code * 4 + (op - 1)
            x[_PATH_OFFSET[len(ops)] + code] = 1.0
        return x

    def cardinalities(self) -> tuple[int, ...]:
        return (N_OPS,) * N_EDGES

    def to_string(self, arch: Arch) -> str:
        return _string_at(self.index(arch))

    def from_string(self, text: str) -> Arch:
        return string_to_arch(text)


@cache
def _index_table() -> dict[Arch, int]:
    """Every cell's index, built once: a dict hit is the cheapest arch -> row map."""
    return {_arch_at(i): i for i in range(N_OPS**N_EDGES)}


@cache
def _arch_at(index: int) -> Arch:
    if not 0 <= index < N_OPS**N_EDGES:
        raise ValueError(f"cell index {index} out of range 0..{N_OPS**N_EDGES - 1}")
    digits = []
    for w in _WEIGHTS:
        digits.append(index // w)
        index %= w
    return tuple(digits)


@cache
def _string_at(index: int) -> str:
    return arch_to_string(_arch_at(index))


register_fixed("nb201", "NAS-Bench-201 cells (6 edges x 5 ops, 15,625); official strings "
               "like |nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|", NB201Space)
