"""The strategy conformance suite, importable by users (as Optuna ships its sampler tests).

Every registered strategy is run through it automatically
(``tests/test_conformance.py``); a strategy of your own gets the same checks
by subclassing :class:`StrategyConformance` and supplying one fixture::

    import pytest
    from tabnas.testing import StrategyConformance
    from my_package.my_strategy import MyStrategy

    class TestMyStrategy(StrategyConformance):
        @pytest.fixture
        def strategy_cls(self):
            return MyStrategy

What is checked, on small toy tables (``toy`` and ``toy-fidelities``) unless a
subclass sets ``benchmarks`` (multi-objective strategies on
:data:`MULTI_OBJECTIVE_BENCHMARKS` and, with fidelities,
:data:`MULTI_FIDELITY_MULTI_OBJECTIVE_BENCHMARKS`, where they are also told every objective's
searched score and no reported one): ``ask`` returns a ``Suggestion`` of a valid
architecture (and fidelity), ``WAIT`` only while a trial is pending, or
``DONE``; budgets are respected; the same seed gives the same run, also in
a fresh process; different seeds give different runs unless the strategy
declares ``deterministic``; no global random state is touched (``numpy``'s
legacy generator, ``random``, and ``torch`` when loaded); a pickled copy made
mid-run proposes exactly what the original proposes; constant, tied and
non-finite scores are survived; ``tell`` only ever receives an
:class:`~tabnas.types.Observation`, whose fields cannot carry a test value;
bad hyperparameters are one-line errors naming the parameter and its range.
With 1 and 4 simulated workers: no result is dropped (every trial asked is
recorded and told once), a promotion continues a trial whose result had been
told, and starts only after it finished (from the records: ``cum_cost -
cost``), nothing pending is suggested again (an (architecture, fidelity) being
evaluated: a wasted evaluation), and the same seed gives the same records.

A check that does not apply (a benchmark the strategy refuses, a strategy
that makes no promotions, or one that declares in ``repeats_pending`` why it
may suggest what is pending) is reported as skipped with the reason, never
counted as passed.

Opting out is only possible through declared capabilities: a strategy whose
``requires`` a benchmark lacks must refuse it with one clear line (that is
what the suite then checks), and ``deterministic`` strategies must give the
same run for every seed.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest

from tabnas.benchmarks import BENCHMARKS, Benchmark
from tabnas.conformance import BenchmarkConformance, SpaceConformance  # noqa: F401
from tabnas.differences import first_difference, records_difference, show
from tabnas.errors import UserError
from tabnas.records import HOST_TIME_COLUMNS
from tabnas.runner import Budget, run_search, run_seeds
from tabnas.strategy import STRATEGIES, Hyperparameter, Strategy
from tabnas.trials import (
    DONE,
    WAIT,
    HistoryRecorder,
    Suggestion,
    Trial,
    check_continues,
)
from tabnas.types import Observation

#: The toy tables the suite runs on by default (``harness/benchmarks/tables/toy.py``).
CONFORMANCE_BENCHMARKS = ("toy", "toy-fidelities")
#: Shipped multi-objective presets, where multi-objective strategies are checked.
MULTI_OBJECTIVE_BENCHMARKS = ("nbgraph-cora:acc-latency", "nb201-analog:baseline-analog")
#: A multi-fidelity multi-objective table (generated), where ``mo-asha`` is checked.
MULTI_FIDELITY_MULTI_OBJECTIVE_BENCHMARKS = ("toy-fidelities:score-size",)


@cache
def conformance_benchmark(name: str) -> Benchmark:
    """A registered benchmark (or ``NAME:PRESET``), loaded once per process."""
    from tabnas.benchmarks import resolve_benchmark

    return resolve_benchmark(name).load()


def check_serves(cls: type[Strategy], bench: Benchmark) -> None:
    """What the runner checks first: the space operations, fidelities and objectives."""
    from tabnas.objectives import check_objectives

    cls.check_supported(bench.space, bench.fidelities)
    check_objectives(cls, bench)


def observation_of(bench: Benchmark, trial, ev, score: Callable[[int, float], float],
                   step: int) -> Observation:
    """The observation the runner would tell, with every score passed through ``score``.

    On a multi-objective benchmark each objective's oriented score is, and
    ``score`` is the first of them, as the runner tells it.
    """
    from tabnas.objectives import is_multi_objective

    if not is_multi_objective(bench):
        return Observation(trial.arch, trial.fidelity, score(step, ev.value), ev.cost)
    scores = tuple(score(step, v) for v in bench.scores(bench.searched(trial.arch, ev)))
    return Observation(trial.arch, trial.fidelity, scores[0], ev.cost, scores)


def shipped_tables() -> tuple[str, ...]:
    """Every registered *table* whose data is present (no download needed).

    Live benchmarks are left out: they train networks on demand and their
    costs are measured seconds that differ between runs, so a suite that
    replays runs dozens of times per strategy belongs to tables.
    """
    from tabnas.benchmarks import TableBenchmark

    return tuple(n for n in BENCHMARKS.names() if BENCHMARKS.get(n).status()[0]
                 and isinstance(conformance_benchmark(n), TableBenchmark))


def strategy_spec(cls: type[Strategy]) -> str:
    """How a fresh process finds ``cls``: its name, ``module:Class``, or ``path/to/file.py:Class``.

    The registered name only where a fresh process knows it (shipped, a
    resolved family, an installed plugin): a strategy that is not installed is
    registered only once its module is imported, which a fresh process has not done.
    """
    from importlib.metadata import entry_points

    from tabnas.plugins import reference

    if cls.name:
        try:
            registered = STRATEGIES.get(cls.name) is cls
        except UserError:
            registered = False
        prefix = cls.name.partition(":")[0]
        findable = (cls.__module__.startswith("tabnas.strategies.")  # shipped
                    or prefix in dict(STRATEGIES.prefixes())  # a family, e.g. optuna:...
                    or any(ep.name == cls.name  # installed plugin
                           for ep in entry_points(group=STRATEGIES.entry_point_group)))
        if registered and findable:
            return cls.name
    return reference(cls)


def strategy_from_spec(spec: str) -> type[Strategy]:
    """Inverse of :func:`strategy_spec`."""
    return STRATEGIES.get(spec)


def proposals(cls: type[Strategy], benchmark: str, seed: int, evals: int) -> list[list]:
    """``[[arch string, fidelity], ...]`` of one run: what must reproduce exactly."""
    cols = run_search(conformance_benchmark(benchmark), cls, seed, Budget(evals=evals)).columns
    return [[a, f] for a, f in zip(cols["arch"], cols["fidelity"], strict=True)]


def drive(strategy: Strategy, benchmark: Benchmark, steps: int,
          score: Callable[[int, float], float], run_key: int | None = None) -> list:
    """Ask/tell ``steps`` times, one trial at a time, telling ``score(step, value)``.

    The strategy's own history is written as the runner would. Every answer is
    checked: a ``Suggestion`` of a valid architecture and fidelity, never
    ``WAIT`` (nothing is pending between asks here); ``DONE`` ends the loop.
    Returns the suggestions.
    """
    recorder = HistoryRecorder(strategy.history)
    key = run_seeds(0)[1] if run_key is None else run_key
    out = []
    for step in range(steps):
        suggestion = strategy.ask()
        if suggestion is DONE:
            break
        assert suggestion is not WAIT, (f"{strategy.name!r} answered WAIT at step {step} with "
                                        "nothing pending: it would wait forever")
        check_suggestion(strategy, benchmark, suggestion)
        trial = recorder.start(suggestion)
        ev = benchmark.query(trial.arch, trial.fidelity, run_key=key)
        observation = observation_of(benchmark, trial, ev, score, step)
        recorder.finish(trial, observation.score, observation.cost, observation.scores)
        strategy.tell(trial, observation)
        out.append(suggestion)
    return out


def check_suggestion(strategy: Strategy, benchmark: Benchmark, suggestion) -> None:
    assert type(suggestion) is Suggestion, (
        f"{strategy.name!r}.ask() returned {show(suggestion)} ({type(suggestion).__name__}); "
        "it must return a Suggestion, WAIT or DONE")
    arch, fidelity = suggestion.arch, suggestion.fidelity
    assert isinstance(arch, tuple) and arch in benchmark.space, (
        f"{strategy.name!r} suggested {show(arch)}, which is not an architecture of "
        f"{benchmark.name}'s space {benchmark.space.name!r}")
    if fidelity is None:
        assert "fidelities" not in strategy.requires, (
            f"{strategy.name!r} requires fidelities but suggested {show(arch)} without one: "
            "multi-fidelity strategies name a fidelity")
    else:
        assert benchmark.fidelities and fidelity in benchmark.fidelities, (
            f"{strategy.name!r} suggested fidelity {show(fidelity)} for {show(arch)}; "
            f"{benchmark.name} has fidelities {benchmark.fidelities}")
    if suggestion.continues is not None:
        check_continues(strategy.name, strategy.history, suggestion)


def check_promotion_times(records) -> int:
    """From a run's records: each promotion starts after the trial it continues finished.

    An evaluation finishing at ``cum_cost`` after ``cost`` started at
    ``cum_cost - cost`` on the simulated clock. Returns the number of promotions.
    """
    cols = records.columns if hasattr(records, "columns") else records
    finished = {t: i for i, t in enumerate(cols["trial"])}
    n = 0
    for i, parent in enumerate(cols["continues"]):
        if parent is None or parent != parent:  # None, or NaN from a DataFrame
            continue
        n += 1
        j = finished[int(parent)]
        assert j < i, f"trial {cols['trial'][i]} finished before the trial it continues"
        start = cols["cum_cost"][i] - cols["cost"][i]
        assert start >= cols["cum_cost"][j] - 1e-9 * max(1.0, abs(cols["cum_cost"][j])), (
            f"trial {cols['trial'][i]} started at {start} before trial {int(parent)} "
            f"finished at {cols['cum_cost'][j]}")
        assert cols["arch"][i] == cols["arch"][j], (
            f"trial {cols['trial'][i]} ({cols['arch'][i]}) continues trial {int(parent)} of "
            f"another architecture ({cols['arch'][j]})")
    return n


def global_random_state() -> tuple:
    """Everything global a strategy must not touch, as comparable values."""
    legacy = np.random.get_state()  # noqa: NPY002 (reading the legacy global state on purpose)
    state: list = [legacy[0], legacy[1].tobytes(), *legacy[2:], random.getstate()]
    torch = sys.modules.get("torch")
    if torch is not None:
        state.append(torch.random.get_rng_state().numpy().tobytes())
    return tuple(state)


#: What :func:`global_random_state` holds, in order (names for a failed check's message).
_GLOBAL_STATE_NAMES = ("numpy legacy generator", "numpy legacy generator",
                       "numpy legacy generator", "numpy legacy generator",
                       "numpy legacy generator", "random module", "torch")


def _same_state(a, b) -> bool:
    return bool(a == b)


def _one_line_user_error(exc: UserError, *words: str) -> str:
    text = str(exc)
    assert text and "\n" not in text, f"UserError must be one line: {text!r}"
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"
    return text


def _strip_overhead(records) -> dict:
    cols = {k: v for k, v in records.columns.items() if k not in HOST_TIME_COLUMNS}
    cols["stop_reason"] = records.stop_reason
    return cols


class _Watch:
    """What a watched strategy saw: per ask, the answer and what was told and pending."""

    def __init__(self) -> None:
        self.asks: list[tuple[Any, frozenset[int], frozenset[tuple]]] = []
        self.told: list[int] = []


def watched(cls: type[Strategy], watch: _Watch) -> type[Strategy]:
    """A subclass of ``cls`` that logs into ``watch`` and otherwise behaves the same."""

    class Watched(cls):  # type: ignore[misc, valid-type]
        def ask(self):
            answer = super().ask()
            history = self.history
            told = frozenset(t.id for t, _ in history.finished)
            watch.asks.append((answer, told,
                               frozenset((t.arch, t.fidelity) for t in history.pending)))
            return answer

        def tell(self, trial: Trial, observation: Observation) -> None:
            watch.told.append(trial.id)
            super().tell(trial, observation)

    Watched.name = cls.name
    Watched.__qualname__ = cls.__qualname__
    return Watched


_DEGENERATE: dict[str, Callable[[int, float], float]] = {
    "constant": lambda step, value: 1.0,
    "tied": lambda step, value: float(step % 2),
    "nan": lambda step, value: math.nan if step % 2 else value,
    "all-nan": lambda step, value: math.nan,
    "inf": lambda step, value: math.inf if step % 3 == 0 else value,
    "-inf": lambda step, value: -math.inf if step % 3 == 0 else value,
    "mixed": lambda step, value: (math.nan, math.inf, -math.inf, 0.0, value)[step % 5],
}


class StrategyConformance:
    """Base class of conformance tests. Subclass and supply a ``strategy_cls`` fixture.

    Class attributes a subclass may change: ``benchmarks`` (registered names to
    run on), ``evals`` (evaluations per run), ``seed``.
    """

    benchmarks: tuple[str, ...] = CONFORMANCE_BENCHMARKS
    evals: int = 30
    seed: int = 0

    def pytest_generate_tests(self, metafunc) -> None:
        if "benchmark_name" in metafunc.fixturenames:
            metafunc.parametrize("benchmark_name", self.benchmarks)

    # -- helpers ---------------------------------------------------------------------
    def usable(self, cls: type[Strategy], name: str) -> Benchmark:
        """The benchmark if ``cls`` can run on it; otherwise the test is skipped, visibly.

        That a strategy refuses what it cannot serve, with one clear line, is
        checked by :meth:`test_refuses_what_it_cannot_serve`.
        """
        bench = conformance_benchmark(name)
        try:
            check_serves(cls, bench)
        except UserError as exc:
            pytest.skip(f"does not apply: {exc}")
        return bench

    def first_usable(self, cls: type[Strategy]) -> str:
        for name in self.benchmarks:
            bench = conformance_benchmark(name)
            try:
                check_serves(cls, bench)
            except UserError:
                continue
            return name
        raise AssertionError(f"strategy {cls.name!r} runs on none of {self.benchmarks}")

    def new(self, cls: type[Strategy], bench: Benchmark, seed: int | None = None) -> Strategy:
        """A strategy as the runner makes it, with a fresh history."""
        rng, _ = run_seeds(self.seed if seed is None else seed)
        return cls(bench.space, rng=rng, history=HistoryRecorder().history,
                   fidelities=bench.fidelities)

    # -- the checks --------------------------------------------------------------------
    def test_refuses_what_it_cannot_serve(self, strategy_cls, benchmark_name):
        """A strategy lacking what it ``requires`` refuses with one clear line, up front
        and when asked to run."""
        bench = conformance_benchmark(benchmark_name)
        try:
            check_serves(strategy_cls, bench)
        except UserError as exc:
            _one_line_user_error(exc, repr(strategy_cls.name) if strategy_cls.name else "")
            with pytest.raises(UserError):
                run_search(bench, strategy_cls, self.seed, Budget(evals=2))
            return
        pytest.skip(f"does not apply: {strategy_cls.name} serves {benchmark_name}")

    def test_proposals_valid_and_budget_respected(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        drive(self.new(strategy_cls, bench), bench, self.evals, lambda step, value: value)
        cols = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals)).columns
        want = min(self.evals, bench.space.size)
        assert len(cols["step"]) == want, (
            f"a budget of {self.evals} evaluations on {bench.name} (space of "
            f"{bench.space.size}) recorded {len(cols['step'])} evaluations, not {want}")
        # The same seed proposes the same first five, so this budget affords at least five.
        limit = cols["cum_cost"][4]
        cols = run_search(bench, strategy_cls, self.seed, Budget(cost=limit)).columns
        assert len(cols["step"]) >= 5, (
            f"a cost budget of {limit:g} (what the first 5 evaluations cost) allowed only "
            f"{len(cols['step'])} evaluations")
        assert cols["cum_cost"][-1] <= limit, (
            f"a cost budget of {limit:g} was overspent: cumulative cost {cols['cum_cost'][-1]:g}")

    def test_same_seed_same_run(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        a = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals))
        b = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals))
        diff = records_difference(_strip_overhead(a), _strip_overhead(b))
        assert not diff, f"two runs with seed {self.seed} differ: {diff}"

    def test_same_seed_same_run_in_a_fresh_process(self, strategy_cls):
        name = self.first_usable(strategy_cls)
        spec = strategy_spec(strategy_cls)
        here = proposals(strategy_cls, name, self.seed, self.evals)
        code = ("import json, sys\n"
                "from tabnas.testing import proposals, strategy_from_spec\n"
                "cls = strategy_from_spec(sys.argv[1])\n"
                "print(json.dumps(proposals(cls, sys.argv[2], int(sys.argv[3]), "
                "int(sys.argv[4]))))\n")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        proc = subprocess.run([sys.executable, "-c", code, spec, name, str(self.seed),
                               str(self.evals)], capture_output=True, text=True, env=env,
                              timeout=300)
        assert proc.returncode == 0, (f"the fresh process found no strategy {spec!r} or "
                                      f"failed: {proc.stderr.strip()[-2000:]}")
        there = json.loads(proc.stdout.strip().splitlines()[-1])
        diff = first_difference(here, there, "proposal")
        assert not diff, f"seed {self.seed} in a fresh process proposed otherwise: {diff}"

    def test_different_seeds_differ_unless_deterministic(self, strategy_cls, benchmark_name):
        self.usable(strategy_cls, benchmark_name)
        runs = [proposals(strategy_cls, benchmark_name, s, self.evals) for s in (1, 2, 3)]
        if strategy_cls.deterministic:
            for s, run in ((2, runs[1]), (3, runs[2])):
                diff = first_difference(runs[0], run, "proposal")
                assert not diff, f"declared deterministic, but seeds 1 and {s} differ: {diff}"
        else:
            for s, t in ((1, 2), (2, 3)):
                assert runs[s - 1] != runs[t - 1], (
                    f"seeds {s} and {t} gave the same {len(runs[s - 1])} proposals: the "
                    "strategy ignores its rng (declare deterministic = True if it is so)")

    def test_no_global_random_state_touched(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        before = global_random_state()
        run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals))
        drive(self.new(strategy_cls, bench), bench, self.evals, _DEGENERATE["mixed"])
        after = global_random_state()
        touched = list(dict.fromkeys(
            name for name, x, y in zip(_GLOBAL_STATE_NAMES, before, after, strict=False)
            if not _same_state(x, y)))
        assert not touched and len(after) == len(before), (
            f"a run touched global random state ({', '.join(touched) or 'torch'}); draw "
            "randomness from self.rng only")

    def test_pickled_copy_mid_run_continues_identically(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        strategy = self.new(strategy_cls, bench)
        half = self.evals // 2
        drive(strategy, bench, half, lambda step, value: value)
        copy = pickle.loads(pickle.dumps(strategy))
        assert copy.history is not strategy.history
        recorders = [HistoryRecorder(s.history) for s in (strategy, copy)]
        _, key = run_seeds(1)
        for _ in range(half):
            p, q = strategy.ask(), copy.ask()
            assert p == q, (f"after {half} evaluations, the original asked {show(p)} but its "
                            f"pickled copy {show(q)}")
            if p is DONE:
                break
            ev = bench.query(p.arch, p.fidelity, run_key=key)
            observation = observation_of(bench, p, ev, lambda step, value: value, 0)
            for s, recorder in zip((strategy, copy), recorders, strict=True):
                trial = recorder.start(p)
                recorder.finish(trial, observation.score, observation.cost, observation.scores)
                s.tell(trial, observation)

    @pytest.mark.parametrize("pattern", sorted(_DEGENERATE))
    def test_degenerate_scores_survived(self, strategy_cls, benchmark_name, pattern):
        bench = self.usable(strategy_cls, benchmark_name)
        done = drive(self.new(strategy_cls, bench), bench, self.evals, _DEGENERATE[pattern])
        want = min(self.evals, bench.space.size)
        assert len(done) == want, (
            f"told {pattern!r} scores, it stopped (DONE) after {len(done)} of {want} "
            "evaluations")

    def test_tell_receives_observations_only(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        received: list = []
        histories: list = []

        class Spy(strategy_cls):  # type: ignore[misc, valid-type]
            def tell(self, trial, observation):
                received.append(observation)
                histories.append(self.history)
                super().tell(trial, observation)

        Spy.name = strategy_cls.name
        cols = run_search(bench, Spy, self.seed, Budget(evals=self.evals)).columns
        assert Observation._fields == ("arch", "fidelity", "score", "cost", "scores"), (
            Observation._fields)
        odd = [o for o in received if type(o) is not Observation]
        assert not odd, f"tell received {show(odd[0])}, not an Observation"
        # The history holds exactly what was told: observations, nothing more.
        diff = first_difference(list(histories[-1].observations), received, "observation")
        assert not diff, f"the history and what tell received differ: {diff}"
        assert len(received) == len(cols["step"]), (
            f"tell was called {len(received)} times for {len(cols['step'])} evaluations")
        sign = 1.0 if bench.maximize else -1.0
        told = [o.score for o in received]
        diff = first_difference(told, [sign * v for v in cols["value"]], "evaluation")
        assert not diff, f"scores told differ from the searched values recorded: {diff}"
        leaks = [t for t, v, tv in zip(told, cols["value"], cols["test_value"], strict=True)
                 if tv != v and t == sign * tv]
        assert not leaks, f"a strategy was told a test value: scores {leaks[:3]}"
        if cols["objective_values"]:  # multi-objective: every objective's searched value
            signs = -bench.sign
            want = [tuple(float(x) for x in signs * np.array(v)) for v in cols["objective_values"]]
            diff = first_difference([o.scores for o in received], want, "evaluation")
            assert not diff, f"objective scores told differ from those recorded: {diff}"
            leaks = [o for o, v, tv in zip(received, cols["objective_values"],
                                           cols["objective_tests"], strict=True)
                     if any(a != b and s == g * b for s, g, a, b in
                            zip(o.scores, signs, v, tv, strict=True))]
            assert not leaks, f"a strategy was told a reported value: {show(leaks[0])}"
        else:
            odd = [o for o in received if o.scores is not None]
            assert not odd, f"a single-objective run told objective scores: {show(odd[0])}"

    # -- simulated parallel workers ----------------------------------------------------
    def watched_run(self, cls: type[Strategy], bench: Benchmark, workers: int):
        watch = _Watch()
        records = run_search(bench, watched(cls, watch), self.seed, Budget(evals=self.evals),
                             sim_workers=workers)
        return records, watch

    @pytest.mark.parametrize("workers", [1, 4])
    def test_no_result_dropped(self, strategy_cls, benchmark_name, workers):
        """Every trial asked is recorded once and told once, in completion order."""
        bench = self.usable(strategy_cls, benchmark_name)
        records, watch = self.watched_run(strategy_cls, bench, workers)
        cols = records.columns
        suggested = sum(type(a) is Suggestion for a, _, _ in watch.asks)
        diff = first_difference(sorted(cols["trial"]), list(range(suggested)), "trial")
        assert not diff, f"{suggested} trials were asked; the records' trial ids differ: {diff}"
        diff = first_difference(watch.told, cols["trial"], "tell")
        assert not diff, f"tell calls differ from the completion order recorded: {diff}"
        if records.stop_reason == "evaluation budget":
            assert len(cols["trial"]) == self.evals, (
                f"stopped by the evaluation budget of {self.evals} after "
                f"{len(cols['trial'])} evaluations")

    @pytest.mark.parametrize("workers", [1, 4])
    def test_promotions_continue_told_results(self, strategy_cls, benchmark_name, workers):
        """A promotion was asked after the trial it continues had been told, and (from
        the records) started only after that trial finished."""
        bench = self.usable(strategy_cls, benchmark_name)
        records, watch = self.watched_run(strategy_cls, bench, workers)
        promotions = [(a, told) for a, told, _ in watch.asks
                      if type(a) is Suggestion and a.continues is not None]
        if not promotions:
            pytest.skip(f"does not apply: {strategy_cls.name} made no promotions here")
        for suggestion, told in promotions:
            assert suggestion.continues in told, (
                f"{show(suggestion)} promotes trial {suggestion.continues}, which had not "
                f"been told yet (told: {sorted(told)[:10]}...)")
        check_promotion_times(records)

    def test_nothing_pending_suggested_again(self, strategy_cls, benchmark_name):
        """With 4 workers, no suggestion is an (architecture, fidelity) being evaluated.

        Every strategy is checked, unless it declares in ``repeats_pending`` why
        it may (the skip then shows the reason). With 1 worker nothing is pending.
        """
        if strategy_cls.repeats_pending:
            pytest.skip(f"does not apply: {strategy_cls.name} may suggest what is pending: "
                        f"{strategy_cls.repeats_pending}")
        bench = self.usable(strategy_cls, benchmark_name)
        _, watch = self.watched_run(strategy_cls, bench, 4)
        top = bench.fidelities[-1] if bench.fidelities else None

        def at(arch, fidelity):  # ``None`` is the highest fidelity
            return arch, top if fidelity is None else fidelity

        assert any(pending for _, _, pending in watch.asks), "nothing was ever pending"
        clashes = [a for a, _, pending in watch.asks if type(a) is Suggestion
                   and at(a.arch, a.fidelity) in {at(*p) for p in pending}]
        assert not clashes, (f"suggested {show(clashes[0])} while it was being evaluated "
                             "(a wasted evaluation); suggest something else, or WAIT")

    def test_same_seed_same_records_with_workers(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        a = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals), sim_workers=4)
        b = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals), sim_workers=4)
        diff = records_difference(_strip_overhead(a), _strip_overhead(b))
        assert not diff, f"two runs with seed {self.seed} on 4 simulated workers differ: {diff}"

    def test_bad_hyperparameters_are_one_line_errors(self, strategy_cls):
        bench = conformance_benchmark(self.first_usable(strategy_cls))

        def make(**hp):
            rng = np.random.default_rng(0)
            return strategy_cls(bench.space, rng=rng, history=HistoryRecorder().history,
                                fidelities=bench.fidelities, **hp)

        with pytest.raises(UserError) as err:
            make(no_such_hyperparameter=1)
        _one_line_user_error(err.value, "no_such_hyperparameter")
        for key, hp in strategy_cls.hyperparameters.items():
            for bad in _bad_values(hp):
                with pytest.raises(UserError) as err:
                    make(**{key: bad})
                _one_line_user_error(err.value, key, hp.describe())
            make(**{key: hp.default})


def _bad_values(hp: Hyperparameter) -> list:
    """A value of the wrong type and values just outside the declared range."""
    out: list = [object()]
    if hp.choices is not None:
        out.append("__not_a_choice__")
    if isinstance(hp.default, bool):
        return out
    if isinstance(hp.default, int | float):
        step = 1 if isinstance(hp.default, int) else abs(hp.high or hp.low or 1.0) * 0.5 + 0.5
        if hp.low is not None:
            out.append(type(hp.default)(hp.low - step))
        if hp.high is not None:
            out.append(type(hp.default)(hp.high + step))
    return out
