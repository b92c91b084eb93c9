"""The benchmark interface, and the dense-array table every tabular benchmark uses.

A benchmark answers ``query(arch, fidelity, run_key=...)`` with an
:class:`~tabnas.types.Evaluation`. Tables hold dense arrays indexed
``[cell, seed, fidelity]`` so a query is three integer look-ups: this is what
keeps the harness's per-evaluation overhead in microseconds.

Regret is measured against the *truth* of a cell: its seed-averaged value at
the reporting fidelity (``truth``). The incumbent is chosen on what the
strategy saw, and its truth is what the results report. A table's reporting
side is by default its own last fidelity; a protocol that searches on one
training schedule and reports another (the NAS-Bench-201 paper searches on 12
epochs and reports 200) gives the table separate reporting arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tabnas.errors import BadConfiguration
from tabnas.spaces.base import SearchSpace
from tabnas.types import Arch, Evaluation


def seed_position(key: int, cell: int, n: int) -> int:
    """Which of ``n`` training seeds answers ``cell`` in the run with run key ``key``.

    Shared by the tables and the live trainer, so a live run and a run on the
    table tabulated from it pick the same training seed for every cell.
    """
    h = (key ^ (cell * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF
    h = (h * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 31
    return h % n


class Benchmark:
    """Base class: set the attributes, implement ``query`` and ``truth``."""

    name: str = "benchmark"
    space: SearchSpace
    #: Whether larger values are better (accuracy) or smaller (error, loss).
    maximize: bool = True
    #: Available fidelities (e.g. epochs), ascending; ``None`` for single-fidelity tables.
    fidelities: tuple[int, ...] | None = None
    #: Metric names, e.g. "validation accuracy (%)".
    value_label: str = "value"
    test_label: str = "test value"
    #: What one unit of ``Evaluation.cost`` is, and whether it is measured or modelled.
    cost_label: str = "cost"
    #: Free-text notes that ``tabnas info`` prints (splits, caveats).
    notes: tuple[str, ...] = ()
    #: Checksums of the data behind this benchmark, for the manifest.
    checksums: dict[str, str] = {}
    #: Where ``truth`` and ``optimum`` come from when not the last searched fidelity.
    reported_at: str = ""

    def query(self, arch: Arch, fidelity: int | None = None, *, run_key: int) -> Evaluation:
        """Evaluate ``arch`` at ``fidelity`` (``None``: the highest) for the run ``run_key``.

        ``run_key`` identifies the querying run (the runner derives it from the
        run seed, :func:`tabnas.runner.run_seeds`). It is passed with every
        query, not remembered, because one benchmark object serves many runs
        at once (threads of a Dask worker); where a table records several
        training seeds, it fixes which one answers each cell within the run
        (:func:`seed_position`).
        """
        raise NotImplementedError

    def truth(self, arch: Arch) -> tuple[float, float]:
        """Seed-averaged (value, test value) of ``arch`` at the reporting fidelity."""
        raise NotImplementedError

    def optimum(self) -> Evaluation | None:
        """Best seed-averaged value and test value in the table; ``None`` where unknown."""
        return None

    def extras(self, arch: Arch) -> dict[str, Any]:
        """Every further metric the benchmark has for ``arch``."""
        return {}

    def info(self) -> dict[str, Any]:
        opt = self.optimum()
        out: dict[str, Any] = {
            "name": self.name,
            "space": self.space.name,
            "size": self.space.size,
            "objective": self.value_label,
            "reported": self.test_label,
            "direction": "maximise" if self.maximize else "minimise",
            "fidelities": _describe_fidelities(self.fidelities),
            "cost": self.cost_label,
            "operations": _describe_operations(self.space),
        }
        if self.reported_at:
            out["reported at"] = self.reported_at
        if opt is not None and opt.extras:
            at = self.reported_at or (f"last fidelity {self.fidelities[-1]}" if self.fidelities
                                      else "the table")
            out["optimum (value)"] = (f"{opt.value:.4f} at {opt.extras['value_arch']} "
                                      f"(seed-averaged searched value, {at})")
            out["optimum (test)"] = (f"{opt.test_value:.4f} at {opt.extras['test_arch']} "
                                     f"(seed-averaged reported value, {at})")
        return out

    def fidelity_index(self, fidelity: int | None) -> int:
        if self.fidelities is None:
            if fidelity is not None:
                raise BadConfiguration(f"{self.name} has no fidelities; query it without one")
            return 0
        if fidelity is None:
            return len(self.fidelities) - 1
        try:
            return self.fidelities.index(fidelity)
        except ValueError:
            raise BadConfiguration(
                f"fidelity {fidelity} not in {self.name}'s fidelities {list(self.fidelities)}"
            ) from None


def _describe_operations(space: SearchSpace) -> str:
    """``"sample, mutate, ... (not: path_encode)"``: what strategies can ask of the space."""
    ops = space.operations()
    text = ", ".join(["sample", *(op for op, ok in ops.items() if ok)])
    missing = [op for op, ok in ops.items() if not ok]
    return text + (f" (not: {', '.join(missing)})" if missing else "")


def _describe_fidelities(fidelities: tuple[int, ...] | None) -> str:
    """``"1..200 (200 values)"`` for a contiguous range, else the list."""
    if not fidelities:
        return "none (single fidelity)"
    lo, hi = fidelities[0], fidelities[-1]
    if len(fidelities) > 3 and list(fidelities) == list(range(lo, hi + 1)):
        return f"{lo}..{hi} ({len(fidelities)} values)"
    return ", ".join(map(str, fidelities))


@dataclass(kw_only=True, eq=False)
class TableBenchmark(Benchmark):
    """A benchmark answered from dense arrays of shape ``(cells, seeds, fidelities)``.

    ``seed_mode="sample"`` answers each cell with one recorded training seed,
    picked by the run key and fixed per cell within a run (as
    a real search would see one training run per architecture);
    ``seed_mode="mean"`` answers with the seed average. Missing (cell, seed)
    records are NaN and are never picked. A cell with no record at all (a
    partial file) answers NaN values, as a failed training, at the mean
    recorded cost of that fidelity, so the simulated clock still advances.

    ``report_values``/``report_tests`` (shape ``(cells, report seeds)``, both or
    neither) are what ``truth`` and ``optimum`` average over seeds instead of
    the last fidelity of ``values``/``tests``: the search sees one training
    schedule while regret and the reported test value come from another, so
    a cheap search is judged on the result the protocol reports.
    ``reported_at`` says which.
    """

    name: str
    space: SearchSpace
    values: np.ndarray
    tests: np.ndarray
    costs: np.ndarray
    fidelities: tuple[int, ...] | None = None
    maximize: bool = True
    value_label: str = "value"
    test_label: str = "test value"
    cost_label: str = "cost"
    notes: tuple[str, ...] = ()
    extra_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    seed_mode: str = "sample"
    report_values: np.ndarray | None = None
    report_tests: np.ndarray | None = None
    reported_at: str = ""

    def __post_init__(self) -> None:
        for label, arr in (("values", self.values), ("tests", self.tests), ("costs", self.costs)):
            if arr.ndim != 3 or arr.shape[0] != self.space.size:
                raise ValueError(f"{label} must have shape (cells, seeds, fidelities)")
        if (self.report_values is None) != (self.report_tests is None):
            raise ValueError("give report_values and report_tests together, or neither")
        if self.report_values is None:
            report_v, report_t = self.values[:, :, -1], self.tests[:, :, -1]
        else:
            report_v, report_t = self.report_values, self.report_tests
            if report_v.shape != report_t.shape or report_v.ndim != 2 or \
                    report_v.shape[0] != self.space.size:
                raise ValueError("report_values and report_tests must have shape "
                                 "(cells, seeds)")
        if self.seed_mode not in ("sample", "mean"):
            raise BadConfiguration(f"seed mode {self.seed_mode!r} unknown; use 'sample' or 'mean'")
        n_seeds = self.values.shape[1]
        present = ~np.isnan(self.values[:, :, -1])
        self._present = present
        self._recorded = present.any(axis=1)
        self._missing_cost = np.full(self.costs.shape[2], np.nan)
        if not self._recorded.all():  # a partial table (skip the copy for a full one)
            with np.errstate(all="ignore"):
                self._missing_cost = np.nanmean(self.costs[self._recorded], axis=(0, 1))
        if n_seeds == 1:  # views, not copies: the mean of one seed is that seed
            self._v, self._t = self.values[:, 0], self.tests[:, 0]
            self._c = self.costs[:, 0]
            if not self._recorded.all():
                self._c = self._c.copy()
                self._c[~self._recorded] = self._missing_cost
            self._single = True
        elif self.seed_mode == "mean":
            with np.errstate(all="ignore"):
                self._v = np.nanmean(self.values, axis=1)
                self._t = np.nanmean(self.tests, axis=1)
                self._c = np.nanmean(self.costs, axis=1)
            self._c[~self._recorded] = self._missing_cost
            self._single = True
        else:
            self._single = False
        if report_v.shape[1] == 1:
            self._true_v, self._true_t = report_v[:, 0], report_t[:, 0]
        else:
            with np.errstate(all="ignore"):
                self._true_v = np.nanmean(report_v, axis=1)
                self._true_t = np.nanmean(report_t, axis=1)
        self._optimum: Evaluation | None = None
        self._n_fid = self.values.shape[2]

    def _seed_for(self, cell: int, run_key: int) -> int:
        """A recorded seed for ``cell``, fixed for the run ``run_key``.

        Derived by hashing the run key with the cell index, so it is the same
        whenever the cell is queried again, whatever the order of queries.
        """
        options = np.flatnonzero(self._present[cell])
        return int(options[seed_position(run_key, cell, len(options))])

    def query(self, arch: Arch, fidelity: int | None = None, *, run_key: int) -> Evaluation:
        cell = self.space.index(arch)
        f = self._n_fid - 1 if fidelity is None else self.fidelity_index(fidelity)
        # ``ndarray.item`` gives the Python float without an intermediate numpy
        # scalar: a third of the look-up's cost, paid on every evaluation.
        if self._single:
            return Evaluation(self._v.item(cell, f), self._t.item(cell, f),
                              self._c.item(cell, f))
        if not self._recorded[cell]:
            return Evaluation(math.nan, math.nan, self._missing_cost.item(f))
        s = self._seed_for(cell, run_key)
        return Evaluation(self.values.item(cell, s, f), self.tests.item(cell, s, f),
                          self.costs.item(cell, s, f))

    def truth(self, arch: Arch) -> tuple[float, float]:
        cell = self.space.index(arch)
        return float(self._true_v[cell]), float(self._true_t[cell])

    def optimum(self) -> Evaluation:
        """Computed once: every run asks for it, and the table does not change."""
        if self._optimum is None:
            pick = np.nanargmax if self.maximize else np.nanargmin
            iv, it = int(pick(self._true_v)), int(pick(self._true_t))
            self._optimum = Evaluation(
                float(self._true_v[iv]), float(self._true_t[it]), float("nan"),
                {"value_arch": self.space.to_string(self.space.arch_at(iv)),
                 "test_arch": self.space.to_string(self.space.arch_at(it))},
            )
        return self._optimum

    def extras(self, arch: Arch) -> dict[str, Any]:
        cell = self.space.index(arch)
        return {k: v[cell].tolist() if v.ndim > 1 else v[cell].item()
                for k, v in self.extra_arrays.items()}


@dataclass(frozen=True)
class BenchmarkEntry:
    """A registered benchmark: how to load it and how to tell whether its data is here."""

    name: str
    summary: str
    loader: Any  # Callable[..., Benchmark]: loader(data=None, **options)
    #: Returns (present, how-to-get-it) without loading anything heavy.
    data_status: Any = None

    def load(self, data: str | None = None, **options: Any) -> Benchmark:
        import inspect

        params = inspect.signature(self.loader).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(options) - set(params))
            if unknown:
                valid = sorted(set(params) - {"data"})
                raise BadConfiguration(f"benchmark {self.name} has no option {', '.join(unknown)}; "
                                       f"its options: {', '.join(valid) or 'none'}")
        return self.loader(data=data, **options)

    def status(self) -> tuple[bool, str]:
        if self.data_status is None:
            return True, "shipped"
        return self.data_status()
