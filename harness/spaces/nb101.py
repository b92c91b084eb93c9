"""The NAS-Bench-101 cell space: DAGs of up to 7 vertices and 9 edges, 3 operations.

A cell is an upper-triangular 0/1 adjacency matrix (vertex 0 is the input, the
last vertex the output) and one operation per interior vertex
(``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``). Vertices that are not
on a path from input to output are pruned, exactly as the official
``ModelSpec._prune`` does, and a cell's key is the official
``graph_util.hash_module`` MD5 of the pruned graph: isomorphic cells share a key,
so a key read here equals the ``module_hash`` in the official files.

The space is the set of cells in the table (423,624 for the official files).
The canonical :data:`~tabnas.types.Arch` is ``(i,)``, ``i`` the position of the
cell's hash in the table's sorted list of hashes: a dense index, so a query is
an array look-up. ``to_string`` gives the hash (the official key);
``from_string`` takes a hash or the tfrecord's own spelling
``"<adjacency bits> <op,op,...>"`` (row-major 0/1 string, comma-separated op
names including ``input`` and ``output``), which is pruned and hashed.

Moves work on a cell's 7x7 form: the stored (pruned) module padded with unused
vertices before the output. ``mutate`` is the NAS-Bench-101 paper's evolution
move (one edge flipped or one interior op changed), retried until the result
is a valid cell in the table and differs from the parent. ``sample`` is uniform
over the table's cells (not over adjacency matrices, which would favour cells
with many isomorphic spellings).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from tabnas.spaces.base import SearchSpace
from tabnas.spaces.named import SPACES, ParsedSpace, SpaceEntry
from tabnas.types import Arch

INPUT, OUTPUT = "input", "output"
#: Interior operations in the official ``config['available_ops']`` order: the
#: index of an op here is its label in the hash (input -1, output -2).
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
N_VERTICES = 7
MAX_EDGES = 9
#: Padding value for unused vertices in stored op arrays.
NO_OP = -3
_LABEL = {INPUT: -1, OUTPUT: -2, **{op: i for i, op in enumerate(OPS)}}
_NAME = {v: k for k, v in _LABEL.items()}
_TRIU = np.triu_indices(N_VERTICES, 1)
#: Paths from input to output through at most 5 interior vertices (path encoding).
_PATH_OFFSETS = np.cumsum([0] + [len(OPS) ** k for k in range(N_VERTICES - 1)])


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def hash_module(matrix: np.ndarray, labels: Sequence[int]) -> str:
    """The official ``graph_util.hash_module``: isomorphism-invariant MD5 of a labelled DAG.

    Each vertex starts from the MD5 of ``str((out_degree, in_degree, label))``;
    then, as many rounds as there are vertices, a vertex's hash becomes the MD5
    of its in-neighbours' hashes (sorted, concatenated), ``|``, its
    out-neighbours' hashes (likewise), ``|``, and its own hash. The key is the
    MD5 of ``str(sorted(hashes))``. Every string is built exactly as the
    official code builds it, so the keys are equal, not merely equivalent.
    """
    rows = np.asarray(matrix).tolist()  # plain lists: ~10x faster to index than numpy
    n = len(rows)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a {n}x{n} matrix")
    preds = [[w for w in range(n) if rows[w][v]] for v in range(n)]
    succs = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    hashes = [_md5(str((sum(rows[v]), sum(r[v] for r in rows), int(labels[v]))))
              for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5("".join(sorted([hashes[w] for w in preds[v]])) + "|"
                 + "".join(sorted([hashes[w] for w in succs[v]])) + "|" + hashes[v])
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def prune(matrix: np.ndarray, ops: Sequence[str]) -> tuple[np.ndarray, list[str]] | None:
    """Drop vertices not on an input-to-output path (official ``ModelSpec._prune``).

    Returns the pruned ``(matrix, ops)``, or ``None`` when the output is not
    reachable from the input (the official spec is then invalid).
    """
    m = np.asarray(matrix)
    n = m.shape[0]
    from_input = {0}
    frontier = [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if m[top, v] and v not in from_input:
                from_input.add(v)
                frontier.append(v)
    to_output = {n - 1}
    frontier = [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(top):
            if m[v, top] and v not in to_output:
                to_output.add(v)
                frontier.append(v)
    keep = sorted(from_input & to_output)
    if len(keep) < 2 or keep[0] != 0 or keep[-1] != n - 1:
        return None
    return m[np.ix_(keep, keep)].copy(), [ops[i] for i in keep]


def check_cell(matrix: np.ndarray, ops: Sequence[str]) -> str | None:
    """Why ``(matrix, ops)`` is outside the NAS-Bench-101 space, or ``None`` if it is inside.

    Mirrors the official ``NASBench._check_spec`` on the pruned graph, plus the
    shape checks of ``ModelSpec``.
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        return "the adjacency matrix must be square"
    if m.shape[0] != len(ops):
        return f"{len(ops)} ops for a {m.shape[0]}x{m.shape[0]} matrix"
    if not np.isin(m, (0, 1)).all() or np.tril(m).any():
        return "the adjacency matrix must be 0/1 and strictly upper-triangular"
    pruned = prune(m, ops)
    if pruned is None:
        return "no path from input to output"
    pm, pops = pruned
    if len(pops) > N_VERTICES:
        return f"{len(pops)} vertices (at most {N_VERTICES})"
    if int(pm.sum()) > MAX_EDGES:
        return f"{int(pm.sum())} edges (at most {MAX_EDGES})"
    if pops[0] != INPUT or pops[-1] != OUTPUT:
        return "the first op must be 'input' and the last 'output'"
    bad = [op for op in pops[1:-1] if op not in OPS]
    if bad:
        return f"unknown op {bad[0]!r} (valid: {', '.join(OPS)})"
    return None


def cell_hash(matrix: np.ndarray, ops: Sequence[str]) -> str | None:
    """The official key of a cell (pruned first), or ``None`` if it is outside the space."""
    if check_cell(matrix, ops) is not None:
        return None
    pm, pops = prune(matrix, ops)  # type: ignore[misc]
    return hash_module(pm, [_LABEL[op] for op in pops])


def pad(matrix: np.ndarray, ops: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """A pruned module as a 7x7 cell: unused vertices inserted before the output.

    Unused vertices get no edges (pruning removes them again) and op
    ``conv3x3-bn-relu``, so a later edge flip can bring them into the cell.
    """
    m = np.asarray(matrix)
    n = m.shape[0]
    full = np.zeros((N_VERTICES, N_VERTICES), dtype=np.int8)
    full[: n - 1, : n - 1] = m[: n - 1, : n - 1]
    full[: n - 1, N_VERTICES - 1] = m[: n - 1, n - 1]
    new_ops = list(ops[: n - 1]) + [OPS[0]] * (N_VERTICES - n) + [OUTPUT]
    return full, new_ops


class NB101Space(SearchSpace):
    """The cells of a NAS-Bench-101 table, indexed by their sorted official hashes.

    ``hashes`` is an ``S32`` array of sorted hex keys; ``matrices`` ``(n, 7, 7)``
    and ``ops`` ``(n, 7)`` (labels, :data:`NO_OP` past a module's last vertex)
    hold each cell's stored module, ``n_vertices`` its size. ``encoding`` picks
    what :meth:`encode` returns: ``"adjacency"`` (21 upper-triangular edge bits
    of the 7x7 form + 5x3 op one-hot = 36 features) or ``"path"`` (one bit per
    input-to-output path, keyed by its op sequence: 364 features, the BANANAS
    encoding).
    """

    name = "nb101"

    def __init__(self, hashes: np.ndarray, matrices: np.ndarray, ops: np.ndarray,
                 n_vertices: np.ndarray, encoding: str = "adjacency") -> None:
        if encoding not in ("adjacency", "path"):
            raise ValueError(f"encoding {encoding!r} unknown; use 'adjacency' or 'path'")
        self.hashes = np.asarray(hashes, dtype="S32")
        if len(self.hashes) > 1 and not (self.hashes[1:] > self.hashes[:-1]).all():
            raise ValueError("hashes must be sorted and unique")
        self.matrices = matrices
        self.ops = ops
        self.n_vertices = n_vertices
        self.size = len(self.hashes)
        self.encoding = encoding

    # -- index <-> arch -------------------------------------------------------
    def index(self, arch: Arch) -> int:
        if len(arch) != 1:
            raise ValueError(f"a NAS-Bench-101 arch is (cell index,), got {arch!r}")
        i = arch[0]
        if not isinstance(i, int | np.integer) or not 0 <= i < self.size:
            raise ValueError(f"cell index {i!r} out of range 0..{self.size - 1}")
        return int(i)

    def arch_at(self, index: int) -> Arch:
        if not 0 <= index < self.size:
            raise ValueError(f"cell index {index} out of range 0..{self.size - 1}")
        return (int(index),)

    def lookup(self, key: str) -> int | None:
        """Index of the cell with official hash ``key``, or ``None`` if not in the table."""
        k = key.encode("ascii")
        i = int(np.searchsorted(self.hashes, k))
        return i if i < self.size and self.hashes[i] == k else None

    def index_of_cell(self, matrix: np.ndarray, ops: Sequence[str]) -> int | None:
        """Index of any spelling of a cell (unpruned, permuted), or ``None``."""
        key = cell_hash(matrix, ops)
        return None if key is None else self.lookup(key)

    # -- the stored module ----------------------------------------------------
    def cell(self, arch: Arch) -> tuple[np.ndarray, list[str]]:
        """The stored (pruned, official) ``(matrix, ops)`` of a cell."""
        i = self.index(arch)
        n = int(self.n_vertices[i])
        return (self.matrices[i, :n, :n].astype(np.int8),
                [_NAME[int(v)] for v in self.ops[i, :n]])

    def cell_7x7(self, arch: Arch) -> tuple[np.ndarray, list[str]]:
        return pad(*self.cell(arch))

    # -- moves ----------------------------------------------------------------
    def _moves(self, matrix: np.ndarray, ops: list[str]):
        """Every one-move variant of a 7x7 cell: each edge flipped, then each op changed."""
        for r, c in zip(*_TRIU, strict=True):
            m = matrix.copy()
            m[r, c] = 1 - m[r, c]
            yield m, ops
        for v in range(1, N_VERTICES - 1):
            for op in OPS:
                if op != ops[v]:
                    yield matrix, ops[:v] + [op] + ops[v + 1:]

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Distinct table cells one edge flip or op change away, in move order."""
        me = self.index(arch)
        seen: set[int] = set()
        out: list[Arch] = []
        for m, ops in self._moves(*self.cell_7x7(arch)):
            j = self.index_of_cell(m, ops)
            if j is not None and j != me and j not in seen:
                seen.add(j)
                out.append((j,))
        return out

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One edge flip or op change (equally likely per move), retried until it
        gives another cell of the table.

        After 100 failed tries (only possible in tables far smaller than the
        official one) it picks uniformly among :meth:`neighbours`, and if a cell
        has none, samples uniformly among the other cells.
        """
        me = self.index(arch)
        matrix, ops = self.cell_7x7(arch)
        n_edges = len(_TRIU[0])
        n_moves = n_edges + (N_VERTICES - 2) * (len(OPS) - 1)
        for _ in range(100):
            move = int(rng.integers(n_moves))
            if move < n_edges:
                m = matrix.copy()
                r, c = _TRIU[0][move], _TRIU[1][move]
                m[r, c] = 1 - m[r, c]
                new_ops = ops
            else:
                v, k = divmod(move - n_edges, len(OPS) - 1)
                v += 1
                choices = [op for op in OPS if op != ops[v]]
                m, new_ops = matrix, ops[:v] + [choices[k]] + ops[v + 1:]
            j = self.index_of_cell(m, new_ops)
            if j is not None and j != me:
                return (j,)
        nbrs = self.neighbours(arch)
        if nbrs:
            return nbrs[int(rng.integers(len(nbrs)))]
        if self.size < 2:
            raise ValueError("a one-cell table has nothing to mutate to")
        j = int(rng.integers(self.size - 1))
        return (j + (j >= me),)

    # -- encodings ------------------------------------------------------------
    def encode(self, arch: Arch) -> np.ndarray:
        return self.encode_path(arch) if self.encoding == "path" else self.encode_adjacency(arch)

    def encode_adjacency(self, arch: Arch) -> np.ndarray:
        """21 edge bits of the 7x7 form (row-major upper triangle) + one-hot of 5 interior ops."""
        matrix, ops = self.cell_7x7(arch)
        x = np.zeros(len(_TRIU[0]) + (N_VERTICES - 2) * len(OPS))
        x[: len(_TRIU[0])] = matrix[_TRIU]
        base = len(_TRIU[0])
        n = int(self.n_vertices[self.index(arch)])
        for v in range(1, n - 1):  # padding vertices stay all-zero
            x[base + (v - 1) * len(OPS) + _LABEL[ops[v]]] = 1.0
        return x

    def path_encode(self, arch: Arch) -> np.ndarray:
        """The path encoding whatever ``encoding`` is: what BANANAS' predictors train on."""
        return self.encode_path(arch)

    @cached_property
    def path_features(self) -> int:
        return int(_PATH_OFFSETS[-1])

    def encode_path(self, arch: Arch) -> np.ndarray:
        """One bit per input-to-output path, indexed by the path's op sequence.

        A path through ``k`` interior ops with labels ``l1..lk`` sets bit
        ``sum(3**j for j < k) + (l1 l2 .. lk in base 3)``: 1+3+...+3**5 = 364 bits.
        """
        matrix, ops = self.cell(arch)
        n = len(ops)
        x = np.zeros(self.path_features)
        stack: list[tuple[int, int, int]] = [(0, 0, 0)]  # vertex, depth, code
        while stack:
            v, depth, code = stack.pop()
            for w in range(v + 1, n):
                if not matrix[v, w]:
                    continue
                if w == n - 1:
                    x[_PATH_OFFSETS[depth] + code] = 1.0
                else:
                    stack.append((w, depth + 1, code * len(OPS) + _LABEL[ops[w]]))
        return x

    # -- strings --------------------------------------------------------------
    def to_string(self, arch: Arch) -> str:
        return self.hashes[self.index(arch)].decode("ascii")

    def describe(self, arch: Arch) -> str:
        """The tfrecord's spelling: ``"<adjacency bits> <op,op,...>"``."""
        matrix, ops = self.cell(arch)
        return "".join(str(int(b)) for b in matrix.ravel()) + " " + ",".join(ops)

    def from_string(self, text: str) -> Arch:
        text = text.strip()
        if " " not in text:
            i = self.lookup(text.lower()) if len(text) == 32 else None
            if i is None:
                raise ValueError(f"{text!r} is not the hash of a cell in this table")
            return (i,)
        bits, _, names = text.partition(" ")
        ops = [o.strip() for o in names.split(",")]
        dim = int(round(len(bits) ** 0.5))
        if dim * dim != len(bits) or set(bits) - {"0", "1"}:
            raise ValueError(f"adjacency {bits!r} is not a square 0/1 matrix, row-major")
        matrix = np.array([int(b) for b in bits], dtype=np.int8).reshape(dim, dim)
        why = check_cell(matrix, ops)
        if why is not None:
            raise ValueError(f"{text!r} is not a NAS-Bench-101 cell: {why}")
        i = self.index_of_cell(matrix, ops)
        if i is None:
            raise ValueError(f"{text!r} is a valid cell but not in this table")
        return (i,)


def parse_table(texts: Sequence[str]) -> ParsedSpace:
    """The cells a table's strings spell, merged by official hash (isomorphic spellings merge).

    A string is the tfrecord's spelling ``"<adjacency bits> <op,op,...>"``
    (:meth:`NB101Space.describe`); a bare hash does not say which graph it is,
    so it cannot define a cell of a new table.
    """
    keys: list[str | None] = []
    modules: dict[str, tuple[np.ndarray, list[str]]] = {}
    errors: dict[int, str] = {}
    for i, text in enumerate(texts):
        bits, _, names = text.strip().partition(" ")
        dim = int(round(len(bits) ** 0.5))
        if not names:
            why = ("a hash alone does not give the cell's graph" if len(bits) == 32 else
                   "no ops after the adjacency bits")
            errors[i] = (f"{text!r} is not a NAS-Bench-101 cell spelling ({why}); write "
                         "'<adjacency bits, row-major> <input,op,...,output>'")
            keys.append(None)
            continue
        ops = [o.strip() for o in names.split(",")]
        why = ("the adjacency is not a square 0/1 matrix, row-major"
               if dim * dim != len(bits) or set(bits) - {"0", "1"} else None)
        matrix = None
        if why is None:
            matrix = np.array([int(b) for b in bits], dtype=np.int8).reshape(dim, dim)
            why = check_cell(matrix, ops)
        if why is not None:
            errors[i] = f"{text!r} is not a NAS-Bench-101 cell: {why}"
            keys.append(None)
            continue
        pm, pops = prune(matrix, ops)  # type: ignore[misc]
        key = hash_module(pm, [_LABEL[op] for op in pops])
        modules.setdefault(key, (pm, pops))
        keys.append(key)
    order = sorted(modules)
    n = len(order)
    matrices = np.zeros((n, N_VERTICES, N_VERTICES), dtype=np.uint8)
    op_labels = np.full((n, N_VERTICES), NO_OP, dtype=np.int8)
    n_vertices = np.zeros(n, dtype=np.uint8)
    for c, key in enumerate(order):
        pm, pops = modules[key]
        d = len(pops)
        matrices[c, :d, :d] = pm
        op_labels[c, :d] = [_LABEL[op] for op in pops]
        n_vertices[c] = d
    space = NB101Space(np.array(order, dtype="S32"), matrices, op_labels, n_vertices)
    cell_of = {k: c for c, k in enumerate(order)}
    cells = np.array([-1 if k is None else cell_of[k] for k in keys], dtype=np.int64)
    return ParsedSpace(space, cells, errors, complete=False)


def example_strings() -> list[str]:
    """One spelling each of a 7-vertex cell and every cell one edge flip or op change away."""
    matrix = np.zeros((N_VERTICES, N_VERTICES), dtype=np.int8)
    for v in range(N_VERTICES - 1):
        matrix[v, v + 1] = 1
    matrix[0, 2] = matrix[1, 6] = 1
    ops = [INPUT, *OPS, *OPS[:2], OUTPUT]
    spellings: dict[str, str] = {}  # one spelling per cell
    for m, o in [(matrix, ops), *NB101Space._moves(None, matrix, ops)]:  # type: ignore[arg-type]
        key = cell_hash(m, o)
        if key is not None and key not in spellings:
            spellings[key] = "".join(str(int(b)) for b in m.ravel()) + " " + ",".join(o)
    return list(spellings.values())


SPACES.add("nb101", SpaceEntry(
    "nb101", "NAS-Bench-101 cells, the ones a table holds, merged by official hash; strings "
    "'<adjacency bits> <input,conv3x3-bn-relu,...,output>', results carry the hash",
    parse_table, lambda: parse_table(example_strings()).space))
