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
subclass sets ``benchmarks``: proposals are valid architectures (and
fidelities); budgets are respected; the same seed gives the same run, also in
a fresh process; different seeds give different runs unless the strategy
declares ``deterministic``; no global random state is touched (``numpy``'s
legacy generator, ``random``, and ``torch`` when loaded); a pickled copy made
mid-run proposes exactly what the original proposes; constant, tied and
non-finite scores are survived; ``tell`` only ever receives an
:class:`~tabnas.types.Observation`, whose fields cannot carry a test value;
bad hyperparameters are one-line errors naming the parameter and its range.

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

import numpy as np
import pytest

from tabnas.benchmarks import BENCHMARKS, Benchmark
from tabnas.errors import UserError
from tabnas.runner import Budget, run_search, run_seed_streams
from tabnas.strategy import STRATEGIES, Hyperparameter, Strategy
from tabnas.types import Observation

#: The toy tables the suite runs on by default (``harness/benchmarks/tables/toy.py``).
CONFORMANCE_BENCHMARKS = ("toy", "toy-fidelities")


@cache
def conformance_benchmark(name: str) -> Benchmark:
    """A registered benchmark, loaded once per process."""
    return BENCHMARKS.get(name).load()


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
          score: Callable[[int, float], float]) -> list:
    """Ask/tell ``steps`` times, telling ``score(step, value)``; returns the proposals.

    Every proposal is checked to be a valid architecture and fidelity.
    """
    _, b_rng = run_seed_streams(0)
    out = []
    for step in range(steps):
        try:
            proposal = strategy.ask()
        except StopIteration:
            break
        arch, fidelity = split_proposal(proposal)
        check_proposal(strategy, benchmark, arch, fidelity)
        ev = benchmark.query(arch, fidelity, rng=b_rng)
        strategy.tell(Observation(arch, fidelity, score(step, ev.value), ev.cost))
        out.append((arch, fidelity))
    return out


def split_proposal(proposal) -> tuple[tuple, int | None]:
    if len(proposal) == 2 and isinstance(proposal[0], tuple):
        return proposal[0], proposal[1]
    return proposal, None


def check_proposal(strategy: Strategy, benchmark: Benchmark, arch, fidelity) -> None:
    assert isinstance(arch, tuple) and arch in benchmark.space, (strategy.name, arch)
    if fidelity is None:
        assert "fidelities" not in strategy.requires, "multi-fidelity strategies name a fidelity"
    else:
        assert benchmark.fidelities and fidelity in benchmark.fidelities, (arch, fidelity)


def global_random_state() -> tuple:
    """Everything global a strategy must not touch, as comparable values."""
    legacy = np.random.get_state()  # noqa: NPY002 (reading the legacy global state on purpose)
    state: list = [legacy[0], legacy[1].tobytes(), *legacy[2:], random.getstate()]
    torch = sys.modules.get("torch")
    if torch is not None:
        state.append(torch.random.get_rng_state().numpy().tobytes())
    return tuple(state)


def _one_line_user_error(exc: UserError, *words: str) -> str:
    text = str(exc)
    assert text and "\n" not in text, f"UserError must be one line: {text!r}"
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"
    return text


def _strip_overhead(records) -> dict:
    cols = dict(records.columns)
    cols.pop("overhead_s")
    return cols


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
    def usable(self, cls: type[Strategy], name: str) -> Benchmark | None:
        """The benchmark if ``cls`` can run on it; otherwise check the refusal and give None.

        A strategy lacking what it ``requires`` must refuse with one clear line,
        both up front and when asked to run; that refusal is what is tested then.
        """
        bench = conformance_benchmark(name)
        try:
            cls.check_supported(bench.space, bench.fidelities)
        except UserError as exc:
            _one_line_user_error(exc, repr(cls.name) if cls.name else "")
            with pytest.raises(UserError):
                run_search(bench, cls, self.seed, Budget(evals=2))
            return None
        return bench

    def first_usable(self, cls: type[Strategy]) -> str:
        for name in self.benchmarks:
            bench = conformance_benchmark(name)
            try:
                cls.check_supported(bench.space, bench.fidelities)
            except UserError:
                continue
            return name
        raise AssertionError(f"strategy {cls.name!r} runs on none of {self.benchmarks}")

    def new(self, cls: type[Strategy], bench: Benchmark, seed: int | None = None) -> Strategy:
        rng, _ = run_seed_streams(self.seed if seed is None else seed)
        return cls(bench.space, rng=rng, fidelities=bench.fidelities)

    # -- the checks --------------------------------------------------------------------
    def test_proposals_valid_and_budget_respected(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        if bench is None:
            return
        drive(self.new(strategy_cls, bench), bench, self.evals, lambda step, value: value)
        cols = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals)).columns
        assert len(cols["step"]) == min(self.evals, bench.space.size)
        # The same seed proposes the same first five, so this budget affords at least five.
        limit = cols["cum_cost"][4]
        cols = run_search(bench, strategy_cls, self.seed, Budget(cost=limit)).columns
        assert len(cols["step"]) >= 5 and cols["cum_cost"][-1] <= limit

    def test_same_seed_same_run(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        if bench is None:
            return
        a = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals))
        b = run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals))
        assert _strip_overhead(a) == _strip_overhead(b)

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
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout.strip().splitlines()[-1]) == here

    def test_different_seeds_differ_unless_deterministic(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        if bench is None:
            return
        runs = [proposals(strategy_cls, benchmark_name, s, self.evals) for s in (1, 2, 3)]
        if strategy_cls.deterministic:
            assert runs[0] == runs[1] == runs[2]
        else:
            assert runs[0] != runs[1] and runs[1] != runs[2]

    def test_no_global_random_state_touched(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        if bench is None:
            return
        before = global_random_state()
        run_search(bench, strategy_cls, self.seed, Budget(evals=self.evals))
        drive(self.new(strategy_cls, bench), bench, self.evals, _DEGENERATE["mixed"])
        assert global_random_state() == before

    def test_pickled_copy_mid_run_continues_identically(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        if bench is None:
            return
        strategy = self.new(strategy_cls, bench)
        half = self.evals // 2
        drive(strategy, bench, half, lambda step, value: value)
        copy = pickle.loads(pickle.dumps(strategy))
        _, b_rng = run_seed_streams(1)
        for _ in range(half):
            p, q = strategy.ask(), copy.ask()
            assert p == q
            arch, fidelity = split_proposal(p)
            ev = bench.query(arch, fidelity, rng=b_rng)
            for s in (strategy, copy):
                s.tell(Observation(arch, fidelity, ev.value, ev.cost))

    @pytest.mark.parametrize("pattern", sorted(_DEGENERATE))
    def test_degenerate_scores_survived(self, strategy_cls, benchmark_name, pattern):
        bench = self.usable(strategy_cls, benchmark_name)
        if bench is None:
            return
        done = drive(self.new(strategy_cls, bench), bench, self.evals, _DEGENERATE[pattern])
        assert len(done) == min(self.evals, bench.space.size)

    def test_tell_receives_observations_only(self, strategy_cls, benchmark_name):
        bench = self.usable(strategy_cls, benchmark_name)
        if bench is None:
            return
        received: list = []

        class Spy(strategy_cls):  # type: ignore[misc, valid-type]
            def tell(self, observation):
                received.append(observation)
                super().tell(observation)

        Spy.name = strategy_cls.name
        cols = run_search(bench, Spy, self.seed, Budget(evals=self.evals)).columns
        assert Observation._fields == ("arch", "fidelity", "score", "cost")
        assert all(type(o) is Observation for o in received)
        assert len(received) == len(cols["step"])
        sign = 1.0 if bench.maximize else -1.0
        told = [o.score for o in received]
        assert told == [sign * v for v in cols["value"]]
        leaks = [t for t, v, tv in zip(told, cols["value"], cols["test_value"], strict=True)
                 if tv != v and t == sign * tv]
        assert not leaks, "a strategy was told a test value"

    def test_bad_hyperparameters_are_one_line_errors(self, strategy_cls):
        bench = conformance_benchmark(self.first_usable(strategy_cls))

        def make(**hp):
            rng = np.random.default_rng(0)
            return strategy_cls(bench.space, rng=rng, fidelities=bench.fidelities, **hp)

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
