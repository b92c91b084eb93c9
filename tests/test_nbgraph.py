"""NAS-Bench-Graph: every architecture the space yields is in the package's own table."""

import io
import pickle

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.benchmarks.tables.nbgraph import DATASETS, _BenchUnpickler, bench_file
from tabnas.errors import UserError
from tabnas.runner import Budget, run_search
from tabnas.spaces.nbgraph import LINKS
from tabnas.strategy import STRATEGIES


@pytest.fixture(scope="module", params=DATASETS)
def graph(request):
    from nas_bench_graph import light_read

    return request.param, load_benchmark(f"nbgraph-{request.param}"), light_read(request.param)


def _hash(space, arch):
    from nas_bench_graph.architecture import Arch

    return Arch(list(LINKS[arch[0]]), [space.ops[o] for o in arch[1:]]).valid_hash()


def test_every_cell_is_canonical_and_matches_the_package(graph):
    dataset, bench, table = graph
    space = bench.space
    assert space.size == len(table)
    seen = set()
    for cell, arch in enumerate(space.all_archs()):
        key = _hash(space, arch)
        seen.add(key)
        rec = table[key]
        assert bench.values[cell, 0, 0] == rec["valid_perf"]
        assert bench.tests[cell, 0, 0] == rec["perf"]
        assert bench.costs[cell, 0, 0] == rec["latency"]
        assert bench.extras(arch)["para"] == float(rec["para"])
    assert seen == set(table)
    assert (bench.values != bench.tests).any()  # validation and test are different columns


def test_moves_only_yield_present_canonical_archs(graph):
    dataset, bench, table = graph
    space = bench.space
    rng = np.random.default_rng(1)
    for _ in range(40):
        arch = space.sample(rng)
        nbrs = space.neighbours(arch)
        assert nbrs and arch not in nbrs and len(set(nbrs)) == len(nbrs)
        for nb in nbrs:
            assert _hash(space, nb) in table and space.index(nb) >= 0
        child = space.mutate(arch, rng)
        assert child in nbrs
        assert space.from_string(space.to_string(arch)) == arch
        assert space.encode(arch).sum() == 5


def test_isomorphic_variant_maps_to_one_cell():
    space = load_benchmark("nbgraph-cora").space
    # Nodes 2 and 3 both read node 1: swapping their ops is the same graph.
    a = space.from_string("0,1,1,1|gcn,gat,sage,gin")
    b = space.from_string("0,1,1,1|gcn,sage,gin,gat")
    assert a == b
    assert space.canonical((0, 8, 8, 8, 8)) is None  # all-skip is not in the table
    with pytest.raises(ValueError, match="not a nbgraph-cora architecture"):
        space.from_string("0,1,1,1|gcn,gat,sage")


def test_categorical_view_maps_raw_choices_to_canonical_cells():
    space = load_benchmark("nbgraph-cora").space
    assert space.cardinalities() == (len(LINKS), 9, 9, 9, 9)
    raw = space.from_string("0,1,1,1|gcn,sage,gin,gat")
    variant = (raw[0], raw[1], raw[3], raw[4], raw[2])  # nodes 2-4 permuted: same graph
    assert space.from_choices(variant) == raw
    assert space.from_choices((0, 8, 8, 8, 8)) is None


@pytest.mark.parametrize("strategy", ["tpe", "reinforce"])
def test_categorical_strategies_propose_canonical_cells(strategy):
    bench = load_benchmark("nbgraph-citeseer")
    r = run_search(bench, STRATEGIES.get(strategy), 1, Budget(evals=60)).columns
    archs = [bench.space.from_string(a) for a in r["arch"]]
    assert len(archs) == 60 and all(a in bench.space for a in archs)
    assert min(r["regret_test"]) >= 0


def test_proteins_has_its_own_ops():
    bench = load_benchmark("nbgraph-proteins")
    assert bench.space.ops == ("gcn", "sage", "arma", "fc", "skip")
    assert "ROC-AUC" in bench.value_label
    with pytest.raises(ValueError):
        bench.space.from_string("0,1,2,3|gat,gat,gat,gat")


@pytest.mark.parametrize("strategy", ["random", "rea"])
def test_strategies_run(graph, strategy):
    dataset, bench, _ = graph
    r = run_search(bench, STRATEGIES.get(strategy), 0, Budget(evals=40)).columns
    assert len(r["step"]) == 40
    assert min(r["regret_test"]) >= 0 and min(r["regret_value"]) >= 0
    assert all(bench.space.from_string(a) in bench.space for a in r["arch"])


def test_unpickler_refuses_code_and_truncation_is_a_user_error(tmp_path):
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _BenchUnpickler(io.BytesIO(pickle.dumps(print))).load()
    broken = tmp_path / "cora.bench"
    broken.write_bytes(bench_file("cora").read_bytes()[:5000])
    with pytest.raises(UserError, match="cannot read .*cora.bench"):
        load_benchmark("nbgraph-cora", data=str(broken))
