"""The live benchmark: the table interface, answered by training on demand.

A live benchmark behaves as a table that fills itself: the first query of an
architecture under a training seed trains it (only as many epochs as asked;
a later query for more epochs continues the same run), and every epoch's
result is kept, so asking again answers from memory as a table would. That is
also why a table tabulated from the same data, epochs and seeds answers every
query with the same numbers.

Seeds work as in the multi-seed tables: the run key picks, per
architecture, one of the ``seeds`` training seeds (``0 .. seeds-1``) with the
same rule :class:`~tabnas.benchmarks.base.TableBenchmark` uses; that training
seed seeds the run's local ``torch.Generator``. ``truth`` (what results
report for an incumbent) is the mean over all training seeds at the last
epoch, as in a table; it trains whatever is missing for it.

``cost`` is measured training seconds: recorded and usable as a budget, but
it differs between runs, so live runs are reproducible in every column except
``cost``, ``cum_cost`` and ``overhead_s``, and a run under a cost budget may
stop at a different step when repeated. The best architecture is unknown
without training them all, so ``optimum()`` is None and regret is NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tabnas.benchmarks.base import Benchmark, seed_position
from tabnas.errors import BadConfiguration
from tabnas.live.data import Splits
from tabnas.live.trainer import BATCH_SIZE, LEARNING_RATE, DeviceData, TrainingRun
from tabnas.spaces.mlp import MLPSpace
from tabnas.types import Arch, Evaluation


class LiveBenchmark(Benchmark):
    """Train an MLP of ``space`` on ``splits``; fidelity = epochs ``1 .. epochs``."""

    value_label = "validation accuracy (%)"
    test_label = "test accuracy (%)"

    def __init__(self, name: str, space: MLPSpace, splits: Splits, *, epochs: int, seeds: int,
                 device: Any, seed_mode: str = "sample") -> None:
        if seed_mode not in ("sample", "mean"):
            raise BadConfiguration(f"seed mode {seed_mode!r} unknown; use 'sample' or 'mean'")
        self.name = name
        self.space = space
        self.splits = splits
        self.fidelities = tuple(range(1, epochs + 1))
        self.training_seeds = tuple(range(seeds))
        self.seed_mode = seed_mode
        self.data = DeviceData.from_splits(splits, device)
        self.cost_label = (f"seconds of training on {self.data.device.type} "
                           "(measured; differ between runs)")
        self.checksums = dict(splits.checksums)
        self.notes = (
            f"Data: {splits.describe()}.",
            f"Training: Adam, learning rate {LEARNING_RATE}, batch {BATCH_SIZE}, "
            f"{len(self.training_seeds)} training seed(s), epochs 1..{epochs}; "
            "deterministic per seed on CPU.",
            "Cost is measured training time: every result column but cost, cum_cost and "
            "overhead_s repeats exactly; cost budgets do not repeat byte for byte.",
            "Optimum unknown (nothing is trained in advance): regret is NaN.",
        )
        self._runs: dict[tuple[int, int], TrainingRun] = {}

    def training_run(self, arch: Arch, seed: int, epoch: int) -> TrainingRun:
        """The run of ``arch`` with training seed ``seed``, trained to at least ``epoch``."""
        key = (self.space.index(arch), seed)
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = TrainingRun(self.space.layers(arch), self.data, seed)
        if run.epochs < epoch:
            run.advance_to(epoch)
            if run.epochs == self.fidelities[-1]:
                run.release()
        return run

    def _seed_for(self, cell: int, run_key: int) -> int:
        return self.training_seeds[seed_position(run_key, cell, len(self.training_seeds))]

    def query(self, arch: Arch, fidelity: int | None = None, *, run_key: int) -> Evaluation:
        epoch = self.fidelities[self.fidelity_index(fidelity)]
        if self.seed_mode == "mean" or len(self.training_seeds) == 1:
            seeds = self.training_seeds
        else:
            seeds = (self._seed_for(self.space.index(arch), run_key),)
        runs = [self.training_run(arch, s, epoch) for s in seeds]
        e = epoch - 1
        return Evaluation(float(np.mean([r.valid_acc[e] for r in runs])),
                          float(np.mean([r.test_acc[e] for r in runs])),
                          float(np.mean([r.time_s[e] for r in runs])))

    def truth(self, arch: Arch) -> tuple[float, float]:
        last = self.fidelities[-1]
        runs = [self.training_run(arch, s, last) for s in self.training_seeds]
        return (float(np.mean([r.valid_acc[-1] for r in runs])),
                float(np.mean([r.test_acc[-1] for r in runs])))

    def optimum(self) -> None:
        return None

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["optimum"] = "unknown (live training; regret is NaN)"
        out["training seeds"] = list(self.training_seeds)
        return out
