"""Benchmark registry. Every module in this package registers its benchmarks on import.

Names starting with ``table:`` are user tables (``table:PATH``, PATH a TOML
spec or a folder holding ``spec.toml``); they are resolved on demand by
:func:`resolve_benchmark` and never registered.
"""

from __future__ import annotations

from typing import Any

from tabnas.benchmarks.base import Benchmark, BenchmarkEntry, TableBenchmark
from tabnas.registry import Registry

BENCHMARKS: Registry[BenchmarkEntry] = Registry(
    "benchmark", "tabnas.benchmarks", "tabnas.benchmarks.tables"
)

#: Prefix of user-table benchmark names.
TABLE_PREFIX = "table:"


def resolve_benchmark(name: str) -> BenchmarkEntry:
    """The entry for a registered name or a ``table:PATH`` user table."""
    if name.startswith(TABLE_PREFIX):
        from tabnas.benchmarks.tables.custom import table_entry

        return table_entry(name[len(TABLE_PREFIX):])
    if ":" in name:  # BENCHMARK:PRESET or BENCHMARK:A+B, multi-objective
        from tabnas.objectives import multi_objective_entry

        return multi_objective_entry(name)
    return BENCHMARKS.get(name)


def load_benchmark(name: str, data: str | None = None, **options: Any) -> Benchmark:
    """Load a benchmark by name (``tabnas list`` shows the names; ``table:PATH`` for own tables;
    ``NAME:PRESET`` or ``NAME:A+B`` for several objectives)."""
    return resolve_benchmark(name).load(data=data, **options)


__all__ = ["BENCHMARKS", "TABLE_PREFIX", "Benchmark", "BenchmarkEntry", "TableBenchmark",
           "load_benchmark", "resolve_benchmark"]
