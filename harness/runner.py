"""Run one (benchmark, strategy, seed) search for a budget and record every evaluation.

Seeding: the run seed becomes a ``SeedSequence`` that is split in two, one
child for the strategy's generator and one for the run key the benchmark is
queried with (which recorded training seed answers), see :func:`run_seeds`.
Every strategy run with the same seed sees the same benchmark noise, so
comparisons between strategies are paired. The records' columns are declared
in :mod:`tabnas.records`.

Budgets count evaluations and/or simulated cost from the table, never the
host's clock, so a rerun is identical. The evaluation that would take the
cumulative cost past ``budget_cost`` is not completed and not recorded. The
host time spent inside ``ask`` and ``tell`` is recorded in its own column,
``overhead_s``, the only column that differs between identical runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from heapq import heappop, heappush
from time import perf_counter
from typing import Any

import numpy as np

from tabnas.benchmarks.base import Benchmark
from tabnas.errors import BadConfiguration
from tabnas.objectives import check_objectives, is_multi_objective
from tabnas.records import STOP_COST, STOP_DONE, STOP_EVALS, STOP_EXHAUSTED, RunRecords
from tabnas.strategy import Strategy
from tabnas.trials import (
    DONE,
    WAIT,
    ContractError,
    HistoryRecorder,
    Suggestion,
    Trial,
    check_continues,
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


#: What a promotion (a suggestion that ``continues`` a trial) pays, ``--mf-cost``.
#: ``restart``: the full cost of its fidelity, as if trained from scratch.
#: ``continue``: only what it adds, resuming the continued trial's checkpoint.
MF_COSTS: tuple[str, ...] = ("restart", "continue")


def check_mf_cost(mf_cost: str) -> str:
    """``mf_cost`` if it is one of :data:`MF_COSTS`; otherwise a one-line error."""
    if mf_cost not in MF_COSTS:
        raise BadConfiguration(f"mf_cost {mf_cost!r}: use one of {', '.join(MF_COSTS)}")
    return mf_cost


def run_seeds(seed: int) -> tuple[np.random.Generator, int]:
    """(strategy rng, benchmark run key) of a run seed: independent and reproducible.

    The seed's ``SeedSequence`` is split in two: the first child seeds the
    strategy's generator, the second gives the run key that every
    ``Benchmark.query`` of the run receives (which recorded training seed
    answers a cell). A benchmark draws nothing, so the order of queries cannot
    change its answers, and every strategy run with the same seed sees the
    same benchmark noise: comparisons between strategies are paired.
    """
    strategy_ss, benchmark_ss = np.random.SeedSequence(seed).spawn(2)
    return (np.random.default_rng(strategy_ss),
            int(benchmark_ss.generate_state(1, np.uint64)[0]))


def _refuse(who: str, answer: object, *, pending: bool) -> None:
    """Return if ``ask``'s ``answer`` is ``DONE``; otherwise raise the contract error it earns.

    ``WAIT`` is refused only with nothing ``pending`` (no result would ever arrive).
    """
    if answer is DONE:
        return
    if answer is WAIT and not pending:
        raise ContractError(f"strategy {who!r} answered WAIT with no trial pending: no "
                            "result will ever arrive; return a Suggestion or DONE")
    raise ContractError(f"strategy {who!r} returned {answer!r} from ask(); return a "
                        "tabnas.trials.Suggestion, WAIT or DONE")


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
    mf_cost: str = "restart",
) -> RunRecords:
    """Run one search and return its records (nothing is written here).

    The runner owns the trials: it gives every suggestion the next trial id,
    keeps the strategy's :class:`~tabnas.trials.History` (pending trials in
    ask order, finished ones with their observation in completion order) and
    calls ``tell(trial, observation)``. It checks the contract as it goes, so
    a faulty strategy fails with a line naming it: ``ask`` must return a
    ``Suggestion`` of an architecture in the space, ``WAIT`` or ``DONE``;
    ``WAIT`` with nothing pending would never be answered; a promotion must
    continue a finished trial of the same architecture.

    ``sim_workers`` K > 1 simulates K asynchronous workers on a simulated clock
    driven by the benchmark's cost: an event queue holds the evaluations in
    flight, keyed by their simulated finish time; whenever one finishes, the
    strategy is told, then asked again until every worker is busy (or it
    answers ``WAIT``). Records are in completion order, and ``cum_cost`` is the
    simulated time at completion, so an evaluation started at
    ``cum_cost - cost``. With K = 1 this is exactly the sequential loop (ask,
    evaluate, tell). The host's compute never moves the clock, so a rerun is
    identical.

    The run ends when the budget is spent, or early when the strategy answers
    ``DONE``; ``stop_reason`` says which (``space exhausted`` when every
    architecture had been suggested by then).

    ``mf_cost`` is what a promotion pays (:data:`MF_COSTS`). ``restart`` (the
    default) charges the full cost of the promotion's fidelity. ``continue``
    resumes the continued trial: it charges ``cost(high) - cost(low)``, the
    promotion's cost in the table less that of the trial it continues (never
    below 0), as Syne Tune's tabular simulator does; the ``cost`` column and
    the clock (``cum_cost``) then show what was charged, and the strategy is
    told that cost. Suggestions without ``continues`` pay in full either way.

    ``deadline`` (a ``time.perf_counter()`` value) makes the run raise
    :class:`RunTimeout` once passed; it is checked between evaluations.
    """
    if not isinstance(sim_workers, int) or sim_workers < 1:
        raise BadConfiguration(f"sim_workers must be a positive integer, got {sim_workers!r}")
    resume = check_mf_cost(mf_cost) == "continue"
    strategy_cls.check_supported(benchmark.space, benchmark.fidelities)
    check_objectives(strategy_cls, benchmark)
    s_rng, run_key = run_seeds(seed)
    recorder = HistoryRecorder()
    history = recorder.history
    strategy = strategy_cls(benchmark.space, rng=s_rng, history=history,
                            fidelities=benchmark.fidelities, **(hyperparameters or {}))
    who = strategy_name or strategy_cls.name or strategy_cls.__qualname__
    space = benchmark.space
    query = benchmark.query
    truth = benchmark.truth
    ask = strategy.ask
    # The base class's tell does nothing: skip the call for strategies that keep it.
    tell = None if type(strategy).tell is Strategy.tell else strategy.tell
    start, finish, complete = recorder.start, recorder.finish, recorder.complete
    observations = history.observations
    sign = 1.0 if benchmark.maximize else -1.0
    opt = benchmark.optimum()
    opt_v = opt.value if opt is not None else math.nan
    opt_t = opt.test_value if opt is not None else math.nan
    max_evals = budget.evals if budget.evals is not None else math.inf
    max_cost = budget.cost if budget.cost is not None else math.inf

    records = RunRecords(experiment=experiment, benchmark=benchmark.name,
                         strategy=strategy_name or strategy_cls.name, seed=seed)
    cols = records.columns
    # Per row, what varies independently is appended; the evaluation and the
    # incumbent (which changes rarely) are kept as one object each and split into
    # their columns once, at the end: fewer appends on every evaluation. The trial
    # columns are read from the history at the end, not kept twice.
    cums, overheads = cols["cum_cost"], cols["overhead_s"]
    evaluations: list = []
    incumbents: list = []
    mo = None
    if is_multi_objective(benchmark):  # the incumbent is a front: see tabnas.mo_records
        from tabnas.mo_records import MultiObjectiveRun

        mo = MultiObjectiveRun(benchmark, cols)
        strategy.n_objectives = len(benchmark.objectives)

    inc_score = -math.inf
    # (arch, value, test value, value regret, test regret) of the incumbent.
    incumbent: tuple = (None, math.nan, math.nan, math.nan, math.nan)
    clock = 0.0  # simulated time: the sum of costs when sim_workers == 1
    step = 0
    asked = 0
    done = False
    waited_s = 0.0  # host time of asks that answered WAIT, charged to the next record
    stop_reason = STOP_EVALS if budget.evals is not None else STOP_COST
    # Under --mf-cost continue: each trial's cost in the table, before any resumption.
    table_cost: dict[int, float] = {}
    # In flight: (finish time, trial id, trial, evaluation, ask overhead).
    running: list[tuple[float, int, Trial, Any, float]] = []
    sequential = sim_workers == 1
    while True:
        if sequential:
            # One worker: ask, evaluate, tell. Nothing of the strategy runs while the
            # trial is in flight, so it is recorded started and finished at once.
            if done or asked >= max_evals:
                break
            if deadline is not None and perf_counter() > deadline:
                raise RunTimeout(f"run exceeded its time limit after {step} evaluations")
            t0 = perf_counter()
            suggestion = ask()
            t1 = perf_counter()
            if type(suggestion) is not Suggestion:
                _refuse(who, suggestion, pending=False)
                done = True
                stop_reason = STOP_EXHAUSTED if len(history.archs) >= space.size else STOP_DONE
                break
            arch, fidelity, parent = suggestion
            if arch not in space:
                raise ContractError(f"strategy {who!r} proposed {arch!r}, which is not in "
                                    f"space {space.name!r}")
            if parent is not None:
                check_continues(who, history, suggestion)
            ev = query(arch, fidelity, run_key=run_key)
            if resume:
                table_cost[asked] = ev.cost
                if parent is not None:
                    ev = ev._replace(cost=max(0.0, ev.cost - table_cost[parent]))
            asked += 1
            end = clock + ev.cost
            if end > max_cost:
                stop_reason = STOP_COST
                break
            ask_s = t1 - t0
        else:
            while not done and len(running) < sim_workers and asked < max_evals:
                if deadline is not None and perf_counter() > deadline:
                    raise RunTimeout(f"run exceeded its time limit after {step} evaluations")
                t0 = perf_counter()
                suggestion = ask()
                t1 = perf_counter()
                if type(suggestion) is not Suggestion:
                    if suggestion is WAIT and running:
                        waited_s += t1 - t0
                        break
                    _refuse(who, suggestion, pending=bool(running))
                    done = True
                    stop_reason = (STOP_EXHAUSTED if len(history.archs) >= space.size
                                   else STOP_DONE)
                    break
                arch, fidelity, parent = suggestion
                if arch not in space:
                    raise ContractError(f"strategy {who!r} proposed {arch!r}, which is not "
                                        f"in space {space.name!r}")
                if parent is not None:
                    check_continues(who, history, suggestion)
                trial = start(suggestion)
                ev = query(arch, fidelity, run_key=run_key)
                if resume:
                    table_cost[asked] = ev.cost
                    if parent is not None:
                        ev = ev._replace(cost=max(0.0, ev.cost - table_cost[parent]))
                # The trial id (== asked) breaks ties between equal finish times: ask order.
                heappush(running, (clock + ev.cost, asked, trial, ev, t1 - t0))
                asked += 1
            if not running:
                break
            end, _, trial, ev, ask_s = heappop(running)
            if end > max_cost:
                stop_reason = STOP_COST
                break  # the earliest finish is past the budget: so is every later one
            _, arch, fidelity, _ = trial
        clock = end
        step += 1
        if mo is None:
            score = sign * ev.value
            scores = None
        else:
            scores = mo.scores(arch, ev)
            score = scores[0]
        t2 = perf_counter()
        # The history is written what the observation holds; tell gets the observation
        # the history makes of it (made only for strategies that are told).
        if sequential:
            trial_id = complete(suggestion, score, ev.cost, scores)
            if tell is not None:
                tell(history.trial(trial_id), observations[-1])
        else:
            finish(trial, score, ev.cost, scores)
            if tell is not None:
                tell(trial, observations[-1])
        t3 = perf_counter()
        if mo is not None:
            front, reg_v, reg_t = mo.record(ev)
            incumbent = (front, math.nan, math.nan, reg_v, reg_t)
        elif score > inc_score:  # NaN never wins; ties keep the earlier incumbent
            inc_score = score
            true_v, inc_test = truth(arch)
            incumbent = (arch, ev.value, inc_test, sign * (opt_v - true_v),
                         sign * (opt_t - inc_test))
        evaluations.append(ev)
        cums.append(clock)
        incumbents.append(incumbent)
        overheads.append(ask_s + (t3 - t2) + waited_s)
        waited_s = 0.0

    to_string = space.to_string
    names: dict = {}

    def name_of(a):
        if a is None or isinstance(a, str):  # a front is already its names
            return a
        s = names.get(a)
        if s is None:
            s = names[a] = to_string(a)
        return s

    cols["step"].extend(range(1, step + 1))
    if step:
        trial_ids, archs, fids, parents = recorder.finished_columns()
        cols["arch"] = [name_of(a) for a in archs]
        cols["fidelity"], cols["trial"], cols["continues"] = \
            list(fids), list(trial_ids), list(parents)
        values, tests, costs, _ = zip(*evaluations, strict=True)
        inc_archs, *incumbent_columns = zip(*incumbents, strict=True)
        cols["value"], cols["test_value"], cols["cost"] = list(values), list(tests), list(costs)
        cols["incumbent_arch"] = [name_of(a) for a in inc_archs]
        for name, column in zip(("incumbent_value", "incumbent_test", "regret_value",
                                 "regret_test"), incumbent_columns, strict=True):
            cols[name] = list(column)
    records.stop_reason = stop_reason
    return records
