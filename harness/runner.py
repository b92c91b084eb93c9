"""Run one (benchmark, strategy, seed) search for a budget and record every evaluation.

Seeding: the run seed becomes a ``SeedSequence`` that is split into two
independent streams, one for the strategy and one for the benchmark (which
recorded training seed answers). Every strategy run with the same seed sees the
same benchmark noise, so comparisons between strategies are paired.

Budgets count evaluations and/or simulated cost from the table, never the
host's clock, so a rerun is identical. The evaluation that would take the
cumulative cost past ``budget_cost`` is not completed and not recorded. The
host time spent inside ``ask`` and ``tell`` is recorded in its own column,
``overhead_s``, the only column that differs between identical runs.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np

from tabnas.benchmarks.base import Benchmark
from tabnas.errors import BadConfiguration
from tabnas.strategy import Strategy
from tabnas.types import Observation

#: The per-evaluation result columns, in order (documented in the README).
COLUMNS = (
    "experiment", "benchmark", "strategy", "seed", "step", "arch", "fidelity", "value",
    "test_value", "cost", "cum_cost", "incumbent_arch", "incumbent_value", "incumbent_test",
    "regret_value", "regret_test", "overhead_s",
)


@dataclass(frozen=True)
class Budget:
    """Stop after ``evals`` evaluations and/or ``cost`` cumulative simulated cost."""

    evals: int | None = None
    cost: float | None = None

    def __post_init__(self) -> None:
        if self.evals is None and self.cost is None:
            raise BadConfiguration("give a budget: evals and/or cost")
        if self.evals is not None and (not isinstance(self.evals, int) or self.evals <= 0):
            raise BadConfiguration(f"budget evals must be a positive integer, got {self.evals!r}")
        if self.cost is not None and not (math.isfinite(self.cost) and self.cost > 0):
            raise BadConfiguration(f"budget cost must be a positive number, got {self.cost!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"evals": self.evals, "cost": self.cost}


@dataclass
class RunRecords:
    """Column lists of one run (one entry per evaluation)."""

    experiment: str
    benchmark: str
    strategy: str
    seed: int
    columns: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.columns.get("step", []))

    def to_arrow(self):
        import pyarrow as pa

        n = len(self)
        data = {
            "experiment": pa.array([self.experiment] * n, pa.string()),
            "benchmark": pa.array([self.benchmark] * n, pa.string()),
            "strategy": pa.array([self.strategy] * n, pa.string()),
            "seed": pa.array([self.seed] * n, pa.int64()),
            "step": pa.array(self.columns["step"], pa.int64()),
            "arch": pa.array(self.columns["arch"], pa.string()),
            "fidelity": pa.array(self.columns["fidelity"], pa.int64()),
        }
        for name in COLUMNS[7:]:
            kind = pa.string() if name == "incumbent_arch" else pa.float64()
            data[name] = pa.array(self.columns[name], kind)
        return pa.table(data)


def run_seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(strategy rng, benchmark rng) for a run seed: independent, reproducible streams."""
    strategy_ss, benchmark_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(strategy_ss), np.random.default_rng(benchmark_ss)


class RunTimeout(TimeoutError):
    """A run went past its ``--run-timeout``; it is recorded as failed, not retried in place."""


def run_search(
    benchmark: Benchmark,
    strategy_cls: type[Strategy],
    seed: int,
    budget: Budget,
    *,
    hyperparameters: dict[str, Any] | None = None,
    experiment: str = "",
    strategy_name: str | None = None,
    sim_workers: int = 1,
    deadline: float | None = None,
) -> RunRecords:
    """Run one search and return its records (nothing is written here).

    ``sim_workers`` K > 1 simulates K asynchronous workers on a simulated clock
    driven by the benchmark's cost: an event queue holds the evaluations in
    flight, keyed by their simulated finish time; whenever one finishes, the
    strategy is told, then asked again (with ``strategy.pending`` holding the
    architectures still in flight) until every worker is busy. Records are in
    completion order, and ``cum_cost`` is the simulated time at completion.
    With K = 1 this is exactly the sequential loop (ask, evaluate, tell). The
    host's compute never moves the clock, so a rerun is identical.

    ``deadline`` (a ``time.perf_counter()`` value) makes the run raise
    :class:`RunTimeout` once passed; it is checked between evaluations.
    """
    if not isinstance(sim_workers, int) or sim_workers < 1:
        raise BadConfiguration(f"sim_workers must be a positive integer, got {sim_workers!r}")
    strategy_cls.check_supported(benchmark.space, benchmark.fidelities)
    s_rng, b_rng = run_seed_streams(seed)
    strategy = strategy_cls(
        benchmark.space, rng=s_rng, fidelities=benchmark.fidelities, **(hyperparameters or {})
    )
    space = benchmark.space
    query = benchmark.query
    truth = benchmark.truth
    sign = 1.0 if benchmark.maximize else -1.0
    opt = benchmark.optimum()
    opt_v = opt.value if opt is not None else math.nan
    opt_t = opt.test_value if opt is not None else math.nan
    max_evals = budget.evals if budget.evals is not None else math.inf
    max_cost = budget.cost if budget.cost is not None else math.inf

    archs: list = []
    fids: list = []
    values: list[float] = []
    tests: list[float] = []
    costs: list[float] = []
    cums: list[float] = []
    inc_archs: list = []
    inc_values: list[float] = []
    inc_tests: list[float] = []
    reg_values: list[float] = []
    reg_tests: list[float] = []
    overheads: list[float] = []

    inc_arch = None
    inc_score = -math.inf
    inc_value = inc_test = reg_v = reg_t = math.nan
    clock = 0.0  # simulated time: the sum of costs when sim_workers == 1
    step = 0
    asked = 0
    exhausted = False
    # In flight: (finish time, ask order, arch, fidelity, evaluation, ask overhead).
    running: list[tuple[float, int, Any, Any, Any, float]] = []
    while True:
        while not exhausted and len(running) < sim_workers and asked < max_evals:
            if deadline is not None and perf_counter() > deadline:
                raise RunTimeout(f"run exceeded its time limit after {step} evaluations")
            if sim_workers > 1:
                strategy.pending = tuple(r[2] for r in running)
            t0 = perf_counter()
            try:
                proposal = strategy.ask()
            except StopIteration:
                exhausted = True
                break
            t1 = perf_counter()
            if len(proposal) == 2 and isinstance(proposal[0], tuple):
                arch, fidelity = proposal
            else:
                arch, fidelity = proposal, None
            if arch not in space:
                raise RuntimeError(f"strategy {strategy_cls.name!r} proposed {arch!r}, "
                                   f"which is not in space {space.name!r}")
            ev = query(arch, fidelity, rng=b_rng)
            heapq.heappush(running, (clock + ev.cost, asked, arch, fidelity, ev, t1 - t0))
            asked += 1
        if not running:
            break
        finish, _, arch, fidelity, ev, ask_s = heapq.heappop(running)
        if finish > max_cost:
            break  # the earliest finish is past the budget: so is every later one
        clock = finish
        step += 1
        score = sign * ev.value
        if sim_workers > 1:
            strategy.pending = tuple(r[2] for r in running)
        t2 = perf_counter()
        strategy.tell(Observation(arch, fidelity, score, ev.cost))
        t3 = perf_counter()
        if score > inc_score:  # NaN never wins; ties keep the earlier incumbent
            inc_arch, inc_score, inc_value = arch, score, ev.value
            true_v, inc_test = truth(arch)
            reg_v = sign * (opt_v - true_v)
            reg_t = sign * (opt_t - inc_test)
        archs.append(arch)
        fids.append(fidelity)
        values.append(ev.value)
        tests.append(ev.test_value)
        costs.append(ev.cost)
        cums.append(clock)
        inc_archs.append(inc_arch)
        inc_values.append(inc_value)
        inc_tests.append(inc_test)
        reg_values.append(reg_v)
        reg_tests.append(reg_t)
        overheads.append(ask_s + (t3 - t2))

    to_string = space.to_string
    names: dict = {}

    def name_of(a):
        if a is None:
            return None
        s = names.get(a)
        if s is None:
            s = names[a] = to_string(a)
        return s

    return RunRecords(
        experiment=experiment,
        benchmark=benchmark.name,
        strategy=strategy_name or strategy_cls.name,
        seed=seed,
        columns={
            "step": list(range(1, step + 1)),
            "arch": [name_of(a) for a in archs],
            "fidelity": fids,
            "value": values,
            "test_value": tests,
            "cost": costs,
            "cum_cost": cums,
            "incumbent_arch": [name_of(a) for a in inc_archs],
            "incumbent_value": inc_values,
            "incumbent_test": inc_tests,
            "regret_value": reg_values,
            "regret_test": reg_tests,
            "overhead_s": overheads,
        },
    )
