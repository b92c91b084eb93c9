"""The trial contract: what the runner accepts from ``ask``, the history, and early stops."""

from __future__ import annotations

import math
import pickle

import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.records import COLUMNS, STOP_COST, STOP_DONE, STOP_EVALS, STOP_EXHAUSTED
from tabnas.runner import Budget, run_search
from tabnas.strategy import Strategy
from tabnas.trials import (
    DONE,
    WAIT,
    ContractError,
    Done,
    History,
    HistoryRecorder,
    Suggestion,
    Trial,
    Wait,
)
from tabnas.types import Observation
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def toy():
    return load_benchmark("toy")


@pytest.fixture(scope="module")
def toy_fid():
    return load_benchmark("toy-fidelities")


class Scripted(Strategy):
    """Answers ``ask`` from ``self.script(history)``: one callable per test."""

    script = staticmethod(lambda strategy: Suggestion(strategy.space.sample(strategy.rng)))

    def ask(self):
        return self.script(self)


def scripted(name, fn):
    return type(name, (Scripted,), {"name": name, "script": staticmethod(fn)})


def test_sentinels_are_singletons_that_survive_pickling():
    assert Wait() is WAIT and Done() is DONE and WAIT is not DONE
    assert pickle.loads(pickle.dumps(WAIT)) is WAIT
    assert pickle.loads(pickle.dumps(DONE)) is DONE
    assert repr(WAIT) == "WAIT" and repr(DONE) == "DONE"


def test_suggestion_and_trial_are_frozen_values():
    s = Suggestion((1, 2), 3)
    assert (s.arch, s.fidelity, s.continues) == ((1, 2), 3, None)
    assert s == Suggestion(arch=(1, 2), fidelity=3) and hash(s) == hash(Suggestion((1, 2), 3))
    with pytest.raises(AttributeError):
        s.arch = (0,)
    t = Trial(0, (1, 2), 3, None)
    with pytest.raises(AttributeError):
        t.id = 1
    assert pickle.loads(pickle.dumps(t)) == t


@pytest.mark.parametrize("answer", [(0, 0, 0, 0), ((0, 0, 0, 0), 1), None, "WAIT"])
def test_anything_but_a_suggestion_is_refused_naming_the_strategy(toy, answer):
    cls = scripted("shapes", lambda s: answer)
    with pytest.raises(ContractError, match="strategy 'shapes' returned"):
        run_search(toy, cls, 0, Budget(evals=5))


def test_wait_with_nothing_pending_is_refused(toy):
    cls = scripted("waiter", lambda s: WAIT)
    with pytest.raises(ContractError, match="strategy 'waiter' answered WAIT with no trial "
                                            "pending"):
        run_search(toy, cls, 0, Budget(evals=5))


def test_wait_holds_a_worker_until_a_result_arrives(toy):
    """Two workers, but a strategy that waits whenever anything is pending: one at a time."""
    cls = scripted("one-at-a-time", lambda s: WAIT if s.history.pending
                   else Suggestion(s.space.sample(s.rng)))
    cols = run_search(toy, cls, 0, Budget(evals=6), sim_workers=2).columns
    starts = [c - k for c, k in zip(cols["cum_cost"], cols["cost"], strict=True)]
    assert starts == [0.0, *cols["cum_cost"][:-1]]  # each starts when the previous finishes


def test_promotion_of_a_pending_or_unknown_trial_is_refused(toy_fid):
    def promote_pending(s):
        if s.history.asked == 0:
            return Suggestion(s.space.arch_at(0), 1)
        return Suggestion(s.space.arch_at(0), 3, continues=0)

    with pytest.raises(ContractError, match="continues trial 0, which is still pending"):
        run_search(toy_fid, scripted("eager", promote_pending), 0, Budget(evals=4),
                   sim_workers=2)
    with pytest.raises(ContractError, match="continues trial 7, which was never asked"):
        run_search(toy_fid, scripted("ghost", lambda s: Suggestion(s.space.arch_at(0), 3, 7)),
                   0, Budget(evals=2))

    def promote_other(s):
        if s.history.asked == 0:
            return Suggestion(s.space.arch_at(0), 1)
        return Suggestion(s.space.arch_at(1), 3, continues=0)

    with pytest.raises(ContractError, match="with another architecture"):
        run_search(toy_fid, scripted("swap", promote_other), 0, Budget(evals=3))


def test_records_carry_trial_ids_and_promotions(toy_fid):
    def climb(s):
        h = s.history
        if h.asked == 0:
            return Suggestion(s.space.arch_at(5), 1)
        if h.asked == 1:
            return Suggestion(s.space.arch_at(5), 9, continues=0)
        return DONE

    records = run_search(toy_fid, scripted("climb", climb), 0, Budget(evals=10))
    assert records.columns["trial"] == [0, 1]
    assert records.columns["continues"] == [None, 0]
    assert records.stop_reason == STOP_DONE
    table = records.to_arrow()
    assert table.column_names == list(COLUMNS)
    assert table["stop_reason"].to_pylist() == [STOP_DONE] * 2


def test_stop_reasons(toy):
    space_size = toy.space.size
    random = load_random()
    exhausted = run_search(toy, random, 0, Budget(evals=space_size + 20))
    assert len(exhausted) == space_size and exhausted.stop_reason == STOP_EXHAUSTED
    assert run_search(toy, random, 0, Budget(evals=10)).stop_reason == STOP_EVALS
    assert run_search(toy, random, 0, Budget(cost=30.0)).stop_reason == STOP_COST


def load_random():
    from tabnas.strategy import STRATEGIES

    return STRATEGIES.get("random")


def test_history_lookups_follow_the_run():
    recorder = HistoryRecorder()
    h = recorder.history
    assert isinstance(h, History) and len(h) == 0 and h.best() is None
    a, b = (0, 1), (1, 0)
    t0 = recorder.start(Suggestion(a, 1))
    t1 = recorder.start(Suggestion(b, 1))
    assert (t0.id, t1.id) == (0, 1) and h.asked == 2
    assert list(h.pending) == [t0, t1] and h.is_pending(a) and a in h and (2, 2) not in h
    assert h.observation(0) is None and not h.evaluated(a)
    recorder.finish(t1, 5.0, 1.0)
    recorder.finish(t0, math.nan, 1.0)
    assert [t.id for t, _ in h.finished] == [1, 0]  # completion order
    assert list(h.pending) == [] and not h.is_pending(a)
    assert list(h.observations) == [Observation(b, 1, 5.0, 1.0), Observation(a, 1, math.nan, 1.0)]
    assert h.observation(1).score == 5.0 and h.latest(b).score == 5.0
    assert h.best()[0] == t1  # NaN never best
    t2 = recorder.start(Suggestion(a, 3, continues=0))
    recorder.finish(t2, 7.0, 3.0)
    assert h.best()[0] == t2 and h.latest(a).fidelity == 3
    assert [t.id for t, _ in h.at_fidelity(1)] == [1, 0]
    assert [t.id for t, _ in h.at_fidelity(3)] == [2]
    assert list(h.archs) == [a, b] and list(h.evaluated_archs()) == [b, a]
    assert h.finished[-1] == (t2, h.observations[-1]) and h.finished[:1] == [(t1, h.observations[0])]
    with pytest.raises(KeyError):
        h.trial(3)
    for read_only in (h.finished, h.observations):
        with pytest.raises(TypeError):
            read_only[0] = None  # type: ignore[index]
    assert not hasattr(h, "start") and not hasattr(h, "finish")


def test_history_makes_trials_and_observations_from_its_columns():
    # complete() records a sequential trial as its suggestion and its result's fields; the
    # Trial and Observation objects are made on first read, once each, in the right order.
    recorder = HistoryRecorder()
    h = recorder.history
    a, b, c = (0, 1), (1, 0), (1, 1)
    assert recorder.complete(Suggestion(a, 1), 2.0, 1.0, (2.0, -1.0)) == 0
    assert recorder.complete(Suggestion(a, 3, continues=0), 4.0, 2.0, (4.0, -2.0)) == 1
    assert len(h) == 2 and h.asked == 2 and a in h
    first = h.observations[0]
    assert first == Observation(a, 1, 2.0, 1.0, (2.0, -1.0)) and h.observations[0] is first
    assert h.trial(1) == Trial(1, a, 3, 0) and h.trial(1) is h.trial(1)
    t2 = recorder.start(Suggestion(b))  # a worker's trial after sequential ones
    assert t2 == Trial(2, b, None, None) and h.trial(2) is t2 and list(h.pending) == [t2]
    t3 = recorder.start(Suggestion(c))
    recorder.finish(t3, 1.0, 0.5)
    assert h.best()[0] == Trial(1, a, 3, 0) and h.latest(c) == Observation(c, None, 1.0, 0.5)
    assert [t.id for t, _ in h.finished] == [0, 1, 3]
    assert recorder.finished_columns() == ([0, 1, 3], (a, a, c), (1, 3, None), (None, 0, None))


def test_early_stop_reaches_status_stats_and_report(tmp_path):
    run = run_cli("run", "--benchmark", "toy", "--strategy", "random,rea", "--seeds", "2",
                  "--budget-evals", "150", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    line = "toy / random: 108 of 150 evaluations: space exhausted (2 runs: seeds 0, 1)"
    assert f"note: stopped early: {line}" in run.stdout
    status = run_cli("status", "default", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert f"stopped early: {line}" in status.stdout
    assert "rea" not in status.stdout.split("stopped early")[-1]  # rea used its budget
    stats = run_cli("stats", "default", cwd=tmp_path)
    assert f"note: stopped early: {line}" in stats.stdout
    assert run_cli("report", "default", cwd=tmp_path).returncode == 0
    assert line in (tmp_path / "results/default/report.html").read_text()
