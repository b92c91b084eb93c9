"""NAS-Bench-Graph (``nbgraph-<dataset>``): GNN architectures on 9 graph datasets, shipped on PyPI.

Source: the ``nas-bench-graph`` package's ``light/<dataset>.bench`` files,
pickles of ``{valid_hash: {'valid_perf', 'perf', 'latency', 'para'}}``. They
are read with a restricted unpickler that allows exactly the two numpy globals
they use, so a tampered file cannot run code; the package's ``runnni`` module
(which imports torch and nni) is never imported.

The space is built once per dataset by canonicalising every raw (link, ops)
combination with the package's own ``Arch.valid_hash`` and keeping the classes
present in the table; the enumeration is cached with the metrics as arrays.

Searched value: ``valid_perf``; reported: ``perf`` (test). Both are accuracy
except on proteins (ogbn-proteins), where the metric is ROC-AUC. The table has
no training time: the cost is the recorded inference ``latency`` in seconds
(measured by the benchmark's authors), so a cost budget on it is a budget of
inference time, not of search time.
"""

from __future__ import annotations

import importlib.util
import itertools
import pickle
from functools import cache
from pathlib import Path

import numpy as np

from tabnas.benchmarks import BENCHMARKS
from tabnas.benchmarks.base import BenchmarkEntry, TableBenchmark
from tabnas.cache import cached_convert
from tabnas.errors import DamagedData, DataMissing
from tabnas.spaces.nbgraph import DATASETS, LINKS, N_NODES, NBGraphSpace, raw_index

#: ``nas_bench_graph.architecture.gnn_list`` / ``gnn_list_proteins``; checked against the
#: package at conversion time.
GNN_OPS = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
PROTEINS_OPS = ("gcn", "sage", "arma", "fc", "skip")
METRICS = ("valid_perf", "perf", "latency", "para")
_REINSTALL = "reinstall it with 'pip install --force-reinstall nas-bench-graph==1.4.0'"


def ops_for(dataset: str) -> tuple[str, ...]:
    return PROTEINS_OPS if dataset == "proteins" else GNN_OPS


def package_dir() -> Path | None:
    spec = importlib.util.find_spec("nas_bench_graph")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bench_file(dataset: str) -> Path | None:
    root = package_dir()
    path = root / "light" / f"{dataset}.bench" if root else None
    return path if path is not None and path.exists() else None


class _BenchUnpickler(pickle.Unpickler):
    """Allows exactly the numpy scalar/dtype globals the ``.bench`` files use."""

    def find_class(self, module: str, name: str):
        if (module, name) in (("numpy.core.multiarray", "scalar"),
                              ("numpy._core.multiarray", "scalar")):
            from numpy._core.multiarray import scalar

            return scalar
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a .bench file")


def read_bench(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            table = _BenchUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError,
            IndexError, KeyError) as exc:
        raise DamagedData(f"cannot read {path} ({type(exc).__name__}: {exc}); {_REINSTALL}"
                          ) from None
    if not isinstance(table, dict) or not table:
        raise DamagedData(f"{path} is not a NAS-Bench-Graph table; {_REINSTALL}")
    return table


@cache
def canonical_hashes(ops: tuple[str, ...]) -> np.ndarray:
    """``valid_hash`` of every raw (link, ops) combination, in ``raw_index`` order."""
    from nas_bench_graph.architecture import Arch, gnn_list, gnn_list_proteins

    if tuple(gnn_list) != GNN_OPS or tuple(gnn_list_proteins) != PROTEINS_OPS:
        raise DamagedData(f"nas_bench_graph's op lists changed; {_REINSTALL}")
    out = np.empty(len(LINKS) * len(ops) ** N_NODES, dtype=np.int64)
    for link_i, link in enumerate(LINKS):
        for combo in itertools.product(range(len(ops)), repeat=N_NODES):
            arch = Arch(list(link), [ops[o] for o in combo])
            out[raw_index((link_i, *combo), len(ops))] = arch.valid_hash()
    return out


def decode_hash(key: int, ops: tuple[str, ...]) -> tuple[int, ...]:
    """A table key -> its (link, ops) tuple (``valid_hash`` is base-10 over ``gnn_list``)."""
    digits = [(key // 10 ** (N_NODES - 1 - i)) % 10 for i in range(N_NODES)]
    return (key // 10**N_NODES, *(ops.index(GNN_OPS[d]) for d in digits))


def _convert(dataset: str, path: Path) -> tuple[dict[str, np.ndarray], dict]:
    from tabnas.formats.package_data import check_shipped

    check_shipped(path, "nas-bench-graph")  # the installed file, as its wheel recorded it
    table = read_bench(path)
    ops = ops_for(dataset)
    hashes = canonical_hashes(ops)
    keys = np.array(sorted(int(k) for k in table), dtype=np.int64)
    cell_of = {int(k): i for i, k in enumerate(keys)}
    canon = np.array([cell_of.get(int(h), -1) for h in hashes], dtype=np.int32)
    missing = len(keys) - len(np.unique(canon[canon >= 0]))
    if missing:
        raise DamagedData(f"{path} holds {missing} entries that no architecture reaches; "
                          f"{_REINSTALL}")
    try:
        archs = np.array([decode_hash(int(k), ops) for k in keys], dtype=np.int8)
        arrays = {m: np.array([float(table[int(k)][m]) for k in keys]) for m in METRICS}
    except (KeyError, ValueError, TypeError) as exc:
        raise DamagedData(f"{path} has a malformed entry ({exc}); {_REINSTALL}") from None
    if np.isnan(arrays["valid_perf"]).any():
        raise DamagedData(f"{path} has NaN in valid_perf; {_REINSTALL}")
    arrays.update(keys=keys, archs=archs, canon=canon)
    return arrays, {"source": f"nas-bench-graph light/{dataset}.bench"}


def load_dataset(dataset: str, data: str | None = None, seed_mode: str = "sample"
                 ) -> TableBenchmark:
    name = f"nbgraph-{dataset}"
    path = Path(data) if data else bench_file(dataset)
    if path is None or not path.exists():
        raise DataMissing(f"{name} needs the nas-bench-graph package's data: "
                          "pip install nas-bench-graph==1.4.0")
    sources = [path]
    root = package_dir()
    if root is not None and (root / "architecture.py").exists():
        sources.append(root / "architecture.py")  # the canonicalisation is part of the cache
    arrays, meta = cached_convert(name, sources, lambda: _convert(dataset, path))
    space = NBGraphSpace(name, ops_for(dataset), arrays["archs"], arrays["canon"])
    metric = "ROC-AUC" if dataset == "proteins" else "accuracy"
    return TableBenchmark(
        name=name,
        space=space,
        values=arrays["valid_perf"].reshape(-1, 1, 1),
        tests=arrays["perf"].reshape(-1, 1, 1),
        costs=arrays["latency"].reshape(-1, 1, 1),
        maximize=True,
        value_label=f"valid_perf (validation {metric}, fraction)",
        test_label=f"perf (test {metric}, fraction)",
        cost_label="latency: seconds of inference (measured by NAS-Bench-Graph; "
                   "no training time is recorded)",
        notes=(f"{space.size} canonical architectures (isomorphic variants merged with "
               "the package's Arch.valid_hash); ops: " + ", ".join(space.ops) + ".",
               "Architecture string: link pattern (input node of each of the 4 nodes, 0 = "
               "graph input) | op of each node.",
               "Cost is the recorded inference latency, not training time.",
               "Extras: latency (s), para (parameters, millions)."),
        extra_arrays={"latency": arrays["latency"], "para": arrays["para"]},
        checksums={s["path"]: s["sha256"] for s in meta["sources"]},
        seed_mode=seed_mode,
    )


def _status(dataset: str) -> tuple[bool, str]:
    if bench_file(dataset) is not None:
        return True, "shipped with the nas-bench-graph package"
    return False, "pip install nas-bench-graph==1.4.0"


def _register(dataset: str) -> None:
    def loader(data: str | None = None, seed_mode: str = "sample") -> TableBenchmark:
        return load_dataset(dataset, data=data, seed_mode=seed_mode)

    BENCHMARKS.add(f"nbgraph-{dataset}", BenchmarkEntry(
        name=f"nbgraph-{dataset}",
        summary=f"NAS-Bench-Graph {dataset}: GNN link pattern + op per node "
                "(shipped on PyPI)",
        loader=loader,
        data_status=lambda: _status(dataset),
    ))


for _dataset in DATASETS:
    _register(_dataset)
