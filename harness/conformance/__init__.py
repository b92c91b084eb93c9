"""Conformance suites for search spaces and benchmarks, importable like ``StrategyConformance``.

``tabnas.testing`` re-exports both; ``tests/test_space_conformance.py`` and
``tests/test_benchmark_conformance.py`` run them over every registered space
and benchmark.
"""

from tabnas.conformance.benchmark import BenchmarkConformance
from tabnas.conformance.space import SpaceConformance

__all__ = ["BenchmarkConformance", "SpaceConformance"]
