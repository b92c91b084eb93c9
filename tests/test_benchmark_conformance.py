"""Every registered benchmark whose data is here, the official-format fixtures and a user
table through BenchmarkConformance (no hand-kept list: the registry is enumerated)."""

import pytest

from tabnas.benchmarks import BENCHMARKS, load_benchmark
from tabnas.testing import BenchmarkConformance, conformance_benchmark

PRESENT = [n for n in BENCHMARKS.names() if BENCHMARKS.get(n).status()[0]]
FIXTURES = ["nb201/cifar10-valid", "nb201/cifar100", "nats-tss/cifar10", "nats-sss/cifar10",
            "nb101", "user-table"]


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    from tests.nb101_fixture import build_nb101_file
    from tests.official_fixtures import build_nats, build_nb201

    root = tmp_path_factory.mktemp("official")
    build_nb101_file(root / "nasbench.tfrecord")
    return {"nb201": build_nb201(root / "NAS-Bench-201-v1_1-096897.pth"),
            "nats-tss": build_nats(root / "NATS-tss-v1_0-3ffb9-full", "tss", fast=False),
            "nats-sss": build_nats(root / "NATS-sss-v1_0-50262-simple", "sss", fast=True),
            "nb101": root / "nasbench.tfrecord", "root": root}


def _fixture(name: str, files: dict):
    if name == "user-table":
        from tests.test_table_spaces import _export

        analog = conformance_benchmark("nb201-analog")
        folder = _export(analog, files["root"] / "table", extra_spec='space = "nb201"\n')
        return load_benchmark(f"table:{folder}")
    if name.startswith("nb201/"):  # the paper's protocol: 12 epochs searched, 200 reported
        return load_benchmark(name, data=str(files["nb201"]), schedule=12, report_schedule=200)
    return load_benchmark(name, data=str(files[name.split("/")[0]]))


@pytest.fixture(params=[f"registered:{n}" for n in PRESENT] + [f"fixture:{n}" for n in FIXTURES])
def bench(request):
    kind, _, name = request.param.partition(":")
    if kind == "registered":
        return conformance_benchmark(name)
    return _fixture(name, request.getfixturevalue("fixture_files"))


class TestEveryBenchmark(BenchmarkConformance):
    pass


def test_the_suite_catches_a_broken_benchmark():
    import dataclasses

    toy = conformance_benchmark("toy-fidelities")
    suite = BenchmarkConformance()
    shrinking = dataclasses.replace(toy, costs=toy.costs[:, :, ::-1].copy())
    with pytest.raises(AssertionError):
        suite.test_costs_do_not_decrease_with_fidelity(shrinking)
    with pytest.raises(AssertionError):
        suite.test_checksums_present(dataclasses.replace(toy, checksums={}))
    with pytest.raises(pytest.skip.Exception, match="single fidelity"):
        suite.test_costs_do_not_decrease_with_fidelity(conformance_benchmark("toy"))
