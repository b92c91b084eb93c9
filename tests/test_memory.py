"""Loaded benchmarks hold their data arrays once: no hidden full-size copies.

Byte counts of the arrays a benchmark references (each buffer once,
``tabnas.memory``), not RSS: deterministic, so the assertions cannot flake.
``scripts/bench_loading.py`` measures the peak RSS of loading beside them.
"""

from __future__ import annotations

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.cache import cached_convert
from tabnas.memory import array_bytes, held_arrays
from tests.official_fixtures import build_nb201


def _data_bytes(bench) -> int:
    return array_bytes(bench.values, bench.tests, bench.costs, bench.extra_arrays,
                       bench.report_values, bench.report_tests, bench.space)


@pytest.mark.parametrize("name", ["nbgraph-cora", "nbgraph-proteins", "nb201-analog"])
def test_single_seed_table_holds_no_copies(name):
    load_benchmark(name)  # converts into the test's cache
    bench = load_benchmark(name)  # from the cache
    # Beyond its data, a single-seed table keeps two booleans per cell (which
    # seeds and cells are recorded) and one cost per fidelity, nothing per value.
    extra = array_bytes(bench) - _data_bytes(bench)
    assert 0 <= extra <= 2 * bench.space.size + 8 * bench.costs.shape[2]
    assert np.shares_memory(bench._v, bench.values)
    assert np.shares_memory(bench._true_t, bench.tests)


def test_report_schedule_keeps_only_its_final_epoch(tmp_path):
    path = str(build_nb201(tmp_path / "nb201.pth"))
    bench = load_benchmark("nb201/cifar100", data=path, schedule=12, report_schedule=200)
    cells, seeds, _ = bench.values.shape
    # The 200-epoch reporting side is one (cells, seeds) column each, not a view
    # that keeps a (cells, seeds, 200) array alive.
    assert array_bytes(bench.report_values) == cells * seeds * 8
    assert array_bytes(bench.report_tests) == cells * seeds * 8
    searched = array_bytes(bench.values, bench.tests, bench.costs, bench.extra_arrays)
    assert array_bytes(bench) < searched + cells * 200 * 8


def test_lazy_cache_reads_arrays_on_lookup(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x")
    arrays = {"a": np.arange(5.0), "b": np.ones((2, 3))}
    cached_convert("lazy", [src], lambda: (arrays, {}))
    lazy, _ = cached_convert("lazy", [src], lambda: (arrays, {}), keys=["b"], lazy=True)
    assert "b" in lazy and "a" not in lazy and list(lazy) == ["b"]
    with pytest.raises(KeyError):
        lazy["a"]
    b1, b2 = lazy["b"], lazy["b"]
    assert np.array_equal(b1, arrays["b"])
    assert b1 is not b2 and len(held_arrays(b1, b2)) == 2  # each lookup is a fresh read
