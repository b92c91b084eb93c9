"""Toy tables (``toy``, ``toy-fidelities``): tiny, fully known benchmarks for tests.

A 4 x 3 x 3 x 3 product space (108 architectures) whose values come from a
fixed formula: additive effects plus one interaction, so model-based
strategies have structure to find, and two "training seeds" of noise. The
test value is deliberately *different* from the validation value (an offset
and its own noise), so a leak of test values into a strategy is detectable.
``toy-fidelities`` records the same cells at fidelities 1, 3, 9, 27 (think
epochs) with learning curves that rise towards the final value and costs
proportional to the fidelity and to a cell's ``size`` (an extra; with the
score it makes the two-objective preset ``toy-fidelities:score-size``, the
multi-fidelity multi-objective table of the conformance suite). Generated from
a fixed ``SeedSequence`` in memory (no data file), so the table is identical
everywhere.
"""

from __future__ import annotations

import hashlib

import numpy as np

from tabnas.benchmarks import BENCHMARKS
from tabnas.benchmarks.base import BenchmarkEntry, TableBenchmark
from tabnas.spaces.product import ProductSpace

COUNTS = (4, 3, 3, 3)
FIDELITIES = (1, 3, 9, 27)
_SEEDS = 2


def _final_values(space: ProductSpace) -> tuple[np.ndarray, np.ndarray]:
    """(validation, test) per cell and seed, shape (cells, seeds)."""
    rng = np.random.default_rng(np.random.SeedSequence(20240601))
    effects = [rng.normal(0.0, 4.0, c) for c in COUNTS]
    inter = rng.normal(0.0, 3.0, (COUNTS[0], COUNTS[1]))
    archs = np.array(space.all_archs())
    base = 80.0 + sum(effects[p][archs[:, p]] for p in range(len(COUNTS)))
    base += inter[archs[:, 0], archs[:, 1]]
    valid = base[:, None] + rng.normal(0.0, 0.5, (space.size, _SEEDS))
    test = base[:, None] - 1.5 + rng.normal(0.0, 0.7, (space.size, _SEEDS))
    return valid, test


def load(data: str | None = None, fidelities: bool = False,
         seed_mode: str = "sample") -> TableBenchmark:
    space = ProductSpace("toy", [(f"x{i}", range(c)) for i, c in enumerate(COUNTS)])
    valid, test = _final_values(space)
    fids = FIDELITIES if fidelities else (FIDELITIES[-1],)
    # Learning curve: a fidelity f reaches 1 - 0.4 * exp(-f / 6) of the final value.
    curve = np.array([1.0 - 0.4 * np.exp(-f / 6.0) for f in fids])
    curve = curve / curve[-1]
    values = valid[:, :, None] * curve
    tests = test[:, :, None] * curve
    size = 1.0 + np.array([sum(a) for a in space.all_archs()], dtype=float) / 4.0
    costs = np.broadcast_to(size[:, None, None] * np.array(fids, dtype=float),
                            values.shape).copy()
    name = "toy-fidelities" if fidelities else "toy"
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes()
                                     for a in (values, tests, costs))).hexdigest()
    return TableBenchmark(
        name=name, space=space, values=values, tests=tests, costs=costs,
        fidelities=fids if fidelities else None, maximize=True,
        value_label="toy validation score", test_label="toy test score",
        cost_label="toy cost (fidelity x size)",
        notes=("A generated toy table for tests and tutorials, not a real benchmark.",
               "Extras: size (1 + sum of the choices / 4, the factor of the cost), the second "
               "objective of the score-size preset."),
        extra_arrays={"size": size},
        # No file: the digest of the generated arrays says which table a manifest used.
        checksums={f"{name} (generated in memory)": digest},
        seed_mode=seed_mode,
    )


BENCHMARKS.add("toy", BenchmarkEntry(
    name="toy", summary="toy table: 108 cells, single fidelity (for tests and tutorials)",
    # Named options (no **kwargs), so an option the table lacks is a one-line error.
    loader=lambda data=None, seed_mode="sample": load(data, False, seed_mode)))
BENCHMARKS.add("toy-fidelities", BenchmarkEntry(
    name="toy-fidelities",
    summary="toy table: 108 cells at fidelities 1, 3, 9, 27 (for tests and tutorials)",
    loader=lambda data=None, seed_mode="sample": load(data, True, seed_mode)))
