"""Benchmark registry. Every module in this package registers its benchmarks on import."""

from __future__ import annotations

from typing import Any

from harness.benchmarks.base import Benchmark, BenchmarkEntry, TableBenchmark
from harness.registry import Registry

BENCHMARKS: Registry[BenchmarkEntry] = Registry(
    "benchmark", "tabnas.benchmarks", "harness.benchmarks.tables"
)


def load_benchmark(name: str, data: str | None = None, **options: Any) -> Benchmark:
    """Load a registered benchmark by name (``tabnas list`` shows the names)."""
    return BENCHMARKS.get(name).load(data=data, **options)


__all__ = ["BENCHMARKS", "Benchmark", "BenchmarkEntry", "TableBenchmark", "load_benchmark"]
