"""The benchmark conformance suite: what the runner and the statistics assume of a benchmark.

Subclass :class:`BenchmarkConformance` and supply a ``bench`` fixture (not
``benchmark``, the name pytest-benchmark takes)::

    import pytest
    from tabnas.testing import BenchmarkConformance

    class TestMyBenchmark(BenchmarkConformance):
        @pytest.fixture
        def bench(self):
            return load_my_benchmark()

Checked: costs are finite and non-negative, and do not decrease with the
fidelity (a longer training costs at least as much); the same run key gives
the same answer, whatever else was queried in between; ``truth`` is the seed
mean of the table's reporting arrays; ``optimum`` is the best ``truth`` over
the whole space (value and test separately) and names an architecture that
has it; ``checksums`` are present and are SHA-256 digests. A check that does
not apply (one fidelity; no optimum; a live benchmark that trains on demand,
whose costs are measured seconds) is *skipped* with the reason, never passed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tabnas.benchmarks.base import Benchmark, TableBenchmark
from tabnas.runner import run_seeds
from tabnas.types import Evaluation


def query(bench: Benchmark, arch, fidelity: int | None, run_key: int) -> Evaluation:
    """The one place the suite queries a bench, as run ``run_key`` of a study would."""
    return bench.query(arch, fidelity, run_key=run_seeds(run_key)[1])


def _require_table(bench: Benchmark, what: str) -> None:
    if not isinstance(bench, TableBenchmark):
        pytest.skip(f"{bench.name} is not a table (it answers by training on demand): {what} "
                    "is checked by its own tests")


class BenchmarkConformance:
    """Base class of benchmark conformance tests. Subclass and supply a ``bench`` fixture."""

    #: Architectures queried per check.
    samples = 30
    #: Spaces up to this size are enumerated to check the optimum.
    enumerate_up_to = 500_000

    def archs(self, bench: Benchmark) -> list:
        rng = np.random.default_rng(0)
        n = min(bench.space.size, self.samples)
        return [bench.space.arch_at(int(i)) for i in rng.choice(bench.space.size, n,
                                                                replace=False)]

    def fidelities(self, bench: Benchmark) -> list:
        return list(bench.fidelities) if bench.fidelities else [None]

    def test_costs_are_non_negative(self, bench):
        _require_table(bench, "cost")
        for arch in self.archs(bench):
            for f in self.fidelities(bench):
                cost = query(bench, arch, f, 0).cost
                assert np.isfinite(cost) and cost >= 0, (arch, f, cost)

    def test_costs_do_not_decrease_with_fidelity(self, bench):
        _require_table(bench, "cost")
        if not bench.fidelities or len(bench.fidelities) < 2:
            pytest.skip(f"{bench.name} has a single fidelity")
        for arch in self.archs(bench):
            for key in (0, 1):
                costs = [query(bench, arch, f, key).cost for f in bench.fidelities]
                assert all(b >= a for a, b in zip(costs, costs[1:], strict=False)), (arch, costs)

    def test_same_run_key_same_answer(self, bench):
        _require_table(bench, "determinism")
        archs = self.archs(bench)
        f = self.fidelities(bench)[-1]
        first = [query(bench, a, f, 7) for a in archs]
        # Another run's queries, and the reverse order, in between: nothing carries over.
        for a in archs[::-1]:
            query(bench, a, f, 8)
        again = [query(bench, a, f, 7) for a in archs[::-1]][::-1]
        for x, y in zip(first, again, strict=True):
            assert _same(x, y), (x, y)

    def test_truth_is_the_seed_mean_of_the_table(self, bench):
        _require_table(bench, "truth")
        if bench.report_values is None:
            v, t = bench.values[:, :, -1], bench.tests[:, :, -1]
        else:
            v, t = bench.report_values, bench.report_tests
        with np.errstate(all="ignore"):
            mean_v, mean_t = np.nanmean(v, axis=1), np.nanmean(t, axis=1)
        for arch in self.archs(bench):
            cell = bench.space.index(arch)
            tv, tt = bench.truth(arch)
            np.testing.assert_allclose([tv, tt], [mean_v[cell], mean_t[cell]], rtol=1e-12)

    def test_optimum_is_the_best_truth(self, bench):
        opt = bench.optimum()
        if opt is None:
            pytest.skip(f"{bench.name} does not know its optimum")
        space = bench.space
        if space.size > self.enumerate_up_to:
            pytest.skip(f"{space.size} architectures are too many to enumerate here")
        truths = np.array([bench.truth(space.arch_at(i)) for i in range(space.size)])
        pick = np.nanmax if bench.maximize else np.nanmin
        assert opt.value == pick(truths[:, 0]) and opt.test_value == pick(truths[:, 1])
        if opt.extras:
            assert bench.truth(space.from_string(opt.extras["value_arch"]))[0] == opt.value
            assert bench.truth(space.from_string(opt.extras["test_arch"]))[1] == \
                opt.test_value

    def test_checksums_present(self, bench):
        _require_table(bench, "checksums")
        assert bench.checksums, f"{bench.name} records no checksum of its data"
        for source, digest in bench.checksums.items():
            assert source and re.fullmatch(r"[0-9a-f]{64}", digest), (source, digest)


def _same(a: Evaluation, b: Evaluation) -> bool:
    def eq(x: float, y: float) -> bool:
        return x == y or (np.isnan(x) and np.isnan(y))

    return eq(a.value, b.value) and eq(a.test_value, b.test_value) and eq(a.cost, b.cost)
