"""The runner's multi-objective bookkeeping: what a strategy is told, and what each row records.

On a multi-objective benchmark (:mod:`tabnas.objectives`) the runner hands
every evaluation to a :class:`MultiObjectiveRun`. It turns the table's answer
into the objective vector the search sees (a strategy is told the oriented
scores, never a reported value), keeps the incumbent front
(:class:`tabnas.pareto.FrontTracker`: the non-dominated set on the searched
values), and fills the run's records:

- ``objective_values`` / ``objective_tests``: every objective's searched and
  reported value of this evaluation;
- ``incumbent_arch``: the incumbent front, its architectures joined by
  :data:`FRONT_SEPARATOR` in the order they entered it;
- ``regret_value`` / ``regret_test``: the hypervolume regret of the front
  against the table's true searched / reported front (normalised objective
  space), so every statistic, plot and test over regret applies unchanged;
- ``incumbent_value`` / ``incumbent_test``: NaN (a front has no single value);
- ``hypervolume``, ``igd_plus``, ``pareto_found`` (true Pareto-optimal
  architectures evaluated so far), ``front_size``.
"""

from __future__ import annotations

from tabnas.objectives import MultiObjectiveBenchmark
from tabnas.pareto import FrontTracker
from tabnas.types import Arch, Evaluation

#: Between the architectures of a front in ``incumbent_arch``.
FRONT_SEPARATOR = " ; "


class MultiObjectiveRun:
    """One run's objective vectors, incumbent front and indicator columns."""

    def __init__(self, benchmark: MultiObjectiveBenchmark, columns: dict[str, list]) -> None:
        self.benchmark = benchmark
        self.tracker = FrontTracker(benchmark)
        self._cols = columns
        self._index = benchmark.space.index
        self._front = ""
        self._names: dict[int, str] = {}

    def scores(self, arch: Arch, ev: Evaluation) -> tuple[float, ...]:
        """The oriented (higher is better) searched scores a strategy is told."""
        self._values = self.benchmark.searched(arch, ev)
        self._arch = arch
        return self.benchmark.scores(self._values)

    def record(self, ev: Evaluation) -> tuple[str, float, float]:
        """Append this evaluation's columns; (incumbent front, regret_value, regret_test)."""
        b, cell = self.benchmark, self._index(self._arch)
        tests = b.reported(self._arch, ev)
        if self.tracker.add(cell, self._values):
            to_string, space = b.space.to_string, b.space
            for c in self.tracker.cells:
                if c not in self._names:
                    self._names[c] = to_string(space.arch_at(c))
            self._front = FRONT_SEPARATOR.join(self._names[c] for c in self.tracker.cells)
        m = self.tracker.metrics()
        cols = self._cols
        cols["objective_values"].append(list(self._values))
        cols["objective_tests"].append(list(tests))
        cols["hypervolume"].append(m["hypervolume"])
        cols["igd_plus"].append(m["igd_plus"])
        cols["pareto_found"].append(int(m["pareto_found"]))
        cols["front_size"].append(int(m["front_size"]))
        return self._front or None, m["hv_regret_value"], m["hv_regret_test"]

