"""The NAS-Bench-Graph space: a link pattern plus one GNN op per node, canonical only.

An architecture is ``(link, op0, op1, op2, op3)``: ``link`` indexes the package's
nine ``link_list`` patterns (node i takes its input from node ``link[i]``, 0 is
the input), each op indexes the dataset's op list (``gnn_list``, or the shorter
``gnn_list_proteins`` for proteins).

Many (link, ops) combinations are the same graph. The table stores one entry
per isomorphism class, keyed by the package's ``Arch.valid_hash``; the space
keeps exactly the canonical representatives that are present in the table, so
``sample``, ``mutate`` and ``neighbours`` can only yield architectures the table
can answer. ``canon`` maps every raw combination to its canonical cell (or -1
when the class is absent, e.g. all-skip), which turns a move into one array
look-up instead of re-running the package's canonicalisation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from tabnas.spaces.base import SearchSpace
from tabnas.spaces.named import SPACES, ParsedSpace, SpaceEntry, register_fixed
from tabnas.types import Arch

#: ``nas_bench_graph.architecture.link_list``, copied so the space needs no import.
LINKS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
N_NODES = 4
#: The datasets of the package's ``light/`` tables (one benchmark and one space each).
DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv",
            "proteins")


def raw_index(arch: Arch, n_ops: int) -> int:
    """Mixed-radix position of a raw (link, 4 ops) tuple in ``canon``."""
    i = arch[0]
    for op in arch[1:]:
        i = i * n_ops + op
    return i


class NBGraphSpace(SearchSpace):
    """Canonical NAS-Bench-Graph architectures present in one dataset's table.

    ``archs`` has one row per cell (link, op0..op3), ``canon`` one entry per raw
    combination (``len(LINKS) * n_ops**4``) holding its cell or -1.
    """

    def __init__(self, name: str, ops: tuple[str, ...], archs: np.ndarray,
                 canon: np.ndarray) -> None:
        self.name = name
        self.ops = tuple(ops)
        self.n_ops = len(self.ops)
        # Arrays, not a list of tuples and a dict: a tuple per cell costs ~40x its
        # five int8 bytes, which made the space outweigh the benchmark's metrics.
        self._archs = np.asarray(archs)
        # memoryviews: indexing one gives a Python int several times faster than numpy.
        self._canon = memoryview(np.ascontiguousarray(canon))
        #: Each cell's raw index: a raw tuple is canonical iff canon maps it back to itself.
        raw = self._archs[:, 0].astype(np.int64)
        for col in range(1, 1 + N_NODES):
            raw = raw * self.n_ops + self._archs[:, col]
        self._raw = memoryview(raw)
        self._op_index = {op: i for i, op in enumerate(self.ops)}
        self.size = len(self._archs)
        if canon.shape != (len(LINKS) * self.n_ops**N_NODES,):
            raise ValueError("canon must have one entry per raw (link, ops) combination")

    def __getstate__(self) -> dict:
        """Strategies holding the space are pickled; a memoryview cannot be."""
        state = dict(vars(self))
        state["_canon"], state["_raw"] = np.asarray(self._canon), np.asarray(self._raw)
        return state

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state)
        self._canon, self._raw = memoryview(self._canon), memoryview(self._raw)

    def index(self, arch: Arch) -> int:
        n = self.n_ops
        try:
            link, a, b, c, d = arch
            if 0 <= link < len(LINKS) and 0 <= a < n and 0 <= b < n and 0 <= c < n \
                    and 0 <= d < n:
                raw = (((link * n + a) * n + b) * n + c) * n + d  # raw_index, inlined
                cell = self._canon[raw]
                if cell >= 0 and self._raw[cell] == raw:
                    return cell
        except (TypeError, ValueError, IndexError):
            pass
        raise ValueError(f"{arch!r} is not a canonical architecture of {self.name}")

    def arch_at(self, index: int) -> Arch:
        if not 0 <= index < self.size:
            raise ValueError(f"cell index {index} out of range 0..{self.size - 1}")
        return tuple(self._archs[index].tolist())

    def cardinalities(self) -> tuple[int, ...]:
        """The raw (link, op, op, op, op) choices; :meth:`from_choices` canonicalises."""
        return (len(LINKS),) + (self.n_ops,) * N_NODES

    def from_choices(self, choices: Arch) -> Arch | None:
        return self.canonical(choices)

    def canonical(self, raw: Arch) -> Arch | None:
        """The canonical architecture of any (link, ops) tuple; ``None`` if not in the table."""
        if len(raw) != 1 + N_NODES or not 0 <= raw[0] < len(LINKS) or any(
                not 0 <= o < self.n_ops for o in raw[1:]):
            raise ValueError(f"not a (link, 4 ops) tuple for {self.name}: {raw!r}")
        cell = self._canon[raw_index(raw, self.n_ops)]
        return None if cell < 0 else self.arch_at(cell)

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Canonical cells reached by changing the link pattern or one node's op."""
        self.index(arch)
        seen = {arch}
        out = []
        choices = [len(LINKS)] + [self.n_ops] * N_NODES
        for pos, n in enumerate(choices):
            for v in range(n):
                if v == arch[pos]:
                    continue
                raw = arch[:pos] + (v,) + arch[pos + 1:]
                cell = self._canon[raw_index(raw, self.n_ops)]
                if cell >= 0:
                    nb = self.arch_at(cell)
                    if nb not in seen:
                        seen.add(nb)
                        out.append(nb)
        return out

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A uniformly chosen neighbour (moves are counted after canonicalisation)."""
        nbrs = self.neighbours(arch)
        return nbrs[int(rng.integers(len(nbrs)))]

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot link pattern (9) then one-hot op per node (4 x ops)."""
        x = np.zeros(len(LINKS) + N_NODES * self.n_ops)
        x[arch[0]] = 1.0
        for node, op in enumerate(arch[1:]):
            x[len(LINKS) + node * self.n_ops + op] = 1.0
        return x

    def to_string(self, arch: Arch) -> str:
        """``"0,1,2,3|gcn,gat,skip,fc"``: the link pattern, then the op of each node."""
        self.index(arch)
        return (",".join(map(str, LINKS[arch[0]])) + "|"
                + ",".join(self.ops[o] for o in arch[1:]))

    def from_string(self, text: str) -> Arch:
        """Parse :meth:`to_string`'s form; an isomorphic variant maps to its canonical cell."""
        link_text, sep, ops_text = text.strip().partition("|")
        try:
            link = tuple(int(x) for x in link_text.split(","))
            raw = (LINKS.index(link),) + tuple(self._op_index[o] for o in ops_text.split(","))
        except (ValueError, KeyError):
            raise ValueError(f"not a {self.name} architecture: {text!r} (write e.g. "
                             f"'0,1,2,3|{','.join(self.ops[:1] * N_NODES)}')") from None
        if not sep or len(raw) != 1 + N_NODES:
            raise ValueError(f"not a {self.name} architecture: {text!r}")
        arch = self.canonical(raw)
        if arch is None:
            raise ValueError(f"{text!r} is not in the {self.name} table")
        return arch


def parse_table(texts: Sequence[str]) -> ParsedSpace:
    """The canonical cells a table's strings name (isomorphic spellings merge).

    Cells are numbered as the shipped ``nbgraph-<dataset>`` tables number them
    (by the package's ``valid_hash``), so a shipped table exported to a file and
    read back gives the same runs. Needs the ``nas-bench-graph`` package, whose
    canonicalisation defines which spellings are the same graph.
    """
    from tabnas.benchmarks.tables.nbgraph import GNN_OPS, canonical_hashes, decode_hash

    op_index = {op: i for i, op in enumerate(GNN_OPS)}
    hashes = canonical_hashes(GNN_OPS)
    keys = np.full(len(texts), -1, dtype=np.int64)
    errors: dict[int, str] = {}
    for i, text in enumerate(texts):
        link_text, sep, ops_text = text.strip().partition("|")
        try:
            link = tuple(int(x) for x in link_text.split(","))
            ops = tuple(op_index[o] for o in ops_text.split(","))
            if not sep or len(ops) != N_NODES:
                raise ValueError
            keys[i] = hashes[raw_index((LINKS.index(link), *ops), len(GNN_OPS))]
        except (ValueError, KeyError):
            errors[i] = (f"not a NAS-Bench-Graph architecture: {text!r} (write the link "
                         "pattern, '|', then 4 ops, e.g. '0,1,2,3|gcn,gat,skip,fc'; ops: "
                         + ", ".join(GNN_OPS) + ")")
    table_keys = np.unique(keys[keys >= 0])
    cell_of = {int(k): c for c, k in enumerate(table_keys)}
    canon = np.array([cell_of.get(int(h), -1) for h in hashes], dtype=np.int32)
    archs = np.array([decode_hash(int(k), GNN_OPS) for k in table_keys], dtype=np.int8
                     ).reshape(-1, 1 + N_NODES)
    space = NBGraphSpace("nbgraph", GNN_OPS, archs, canon)
    cells = np.array([cell_of.get(int(k), -1) for k in keys], dtype=np.int64)
    return ParsedSpace(space, cells, errors, complete=False)


def _every_string() -> list[str]:
    from tabnas.benchmarks.tables.nbgraph import GNN_OPS

    return [",".join(map(str, link)) + "|" + ",".join(GNN_OPS[o] for o in ops)
            for link in LINKS for ops in itertools.product(range(len(GNN_OPS)), repeat=N_NODES)]


def _dataset_space(dataset: str) -> NBGraphSpace:
    from tabnas.benchmarks.tables.nbgraph import load_dataset

    return load_dataset(dataset).space


def _register() -> None:
    SPACES.add("nbgraph", SpaceEntry(
        "nbgraph", "NAS-Bench-Graph architectures, the canonical cells a table holds "
        "(isomorphic spellings merge); strings like 0,1,2,3|gcn,gat,skip,fc",
        parse_table, lambda: parse_table(_every_string()).space))
    for dataset in DATASETS:
        register_fixed(f"nbgraph-{dataset}", f"NAS-Bench-Graph {dataset}: exactly the "
                       "official table's canonical cells (a table missing one is partial)",
                       lambda dataset=dataset: _dataset_space(dataset))


_register()
