"""Every registered space, every shipped table's space and the official fixtures' spaces
through SpaceConformance (no hand-kept list: the registries are enumerated)."""

import pytest

from tabnas.spaces.named import SPACES
from tabnas.testing import SpaceConformance, conformance_benchmark, shipped_tables


@pytest.fixture(scope="module")
def nb101_fixture_space(tmp_path_factory):
    from tabnas.benchmarks import load_benchmark
    from tests.nb101_fixture import build_nb101_file

    path = tmp_path_factory.mktemp("nb101") / "nasbench_full.tfrecord"
    build_nb101_file(path)
    return load_benchmark("nb101", data=str(path)).space


SOURCES = ([f"space:{n}" for n in SPACES.names()]
           + [f"benchmark:{n}" for n in shipped_tables()] + ["fixture:nb101"])


@pytest.fixture(params=SOURCES)
def space(request):
    kind, _, name = request.param.partition(":")
    if kind == "space":
        return SPACES.get(name).example()
    if kind == "benchmark":
        return conformance_benchmark(name).space
    return request.getfixturevalue("nb101_fixture_space")


class TestEverySpace(SpaceConformance):
    pass


def test_every_registered_space_is_covered():
    assert {"nb201", "nb101", "nbgraph", "mnist-mlp", "mnist-mlp-shared"} <= set(SPACES.names())
    assert len([s for s in SOURCES if s.startswith("space:")]) == len(SPACES.names())


def test_the_suite_catches_a_broken_space():
    from tabnas.spaces.nb201 import NB201Space

    class StuckSpace(NB201Space):
        def mutate(self, arch, rng):
            return arch

    class FarNeighbours(NB201Space):
        def neighbours(self, arch):
            return [tuple((a + 1) % 5 for a in arch)]

    suite = SpaceConformance()
    with pytest.raises(AssertionError):
        suite.test_mutate_stays_in_the_space_and_changes_the_arch(StuckSpace())
    with pytest.raises(AssertionError):
        suite.test_neighbours_fixed_order_and_one_move_away(FarNeighbours())
    bare = conformance_benchmark("toy").space.__class__("flat", [("a", list(range(100)))],
                                                         bare=True)
    with pytest.raises(pytest.skip.Exception, match="one bare column of 100"):
        suite.test_mutate_stays_in_the_space_and_changes_the_arch(bare)
