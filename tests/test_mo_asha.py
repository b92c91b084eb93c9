"""MO-ASHA: promotions of told results only, ranked by non-dominated sorting, reproducible."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.errors import UserError
from tabnas.runner import Budget, run_search, run_seeds
from tabnas.strategies.mo_asha import pareto_order
from tabnas.strategy import STRATEGIES
from tabnas.trials import HistoryRecorder, Suggestion
from tabnas.types import Observation

BENCH = "toy-fidelities:score-size"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark(BENCH)


def _strategy(name, bench, **hp):
    rng, _ = run_seeds(0)
    recorder = HistoryRecorder()
    return STRATEGIES.get(name)(bench.space, rng=rng, history=recorder.history,
                                fidelities=bench.fidelities, **hp), recorder


# Six results at the lowest rung, told by hand (higher is better in both).
# Front 0: (3, 3), (0, 5), (5, 0); the two boundary points (0, 5), (5, 0) have infinite
# crowding distance and lead; NaN ranks last. With eta 3, the top 6 // 3 = 2 are promotable.
_SCORES = [(1.0, 1.0), (3.0, 3.0), (0.0, 5.0), (2.0, 2.0), (5.0, 0.0), (math.nan, 9.0)]


def _tell_by_hand(name, bench):
    strategy, recorder = _strategy(name, bench, eta=3)
    trials = []
    for _ in _SCORES:
        s = strategy.ask()
        assert isinstance(s, Suggestion) and s.continues is None
        assert s.fidelity == bench.fidelities[0]
        trial = recorder.start(s)
        trials.append(trial)
    for trial, scores in zip(trials, _SCORES, strict=True):
        obs = Observation(trial.arch, trial.fidelity, scores[0], 1.0, scores)
        recorder.finish(trial, obs.score, obs.cost, obs.scores)
        strategy.tell(trial, obs)
    out = []
    for _ in range(3):
        s = strategy.ask()
        recorder.start(s)
        out.append(s.continues)
    return out


def test_ranking_follows_non_dominated_order(bench):
    assert _tell_by_hand("mo-asha", bench) == [2, 4, None]  # the third is a new architecture
    # ASHA ranks the first score alone: (5, 0) then (3, 3).
    assert _tell_by_hand("asha", bench) == [4, 1, None]


def test_pareto_order_by_hand():
    points = np.array([[1, 1], [2, 2], [0, 3], [np.nan, 5], [np.inf, 0], [1, 1]], float)
    # front {1, 2, 4}: boundaries 4 (inf) and 2 (3 in the second score) first by arrival,
    # then 1; then the dominated copies 0, 5 by arrival; the NaN row last.
    assert pareto_order(points) == [2, 4, 1, 0, 5, 3]


def test_promotions_only_of_told_results(bench):
    strategy, recorder = _strategy("mo-asha", bench)
    history = recorder.history
    rungs = strategy.rungs
    told: dict[int, tuple] = {}
    pending = []
    rng = np.random.default_rng(1)
    key = run_seeds(0)[1]
    promotions = 0
    for _ in range(120):
        s = strategy.ask()
        if not isinstance(s, Suggestion):
            break
        if s.continues is not None:
            promotions += 1
            parent = history.trial(s.continues)
            assert s.continues in told, "promoted a trial whose result was not told"
            assert parent.arch == s.arch
            assert rungs.index(s.fidelity) == rungs.index(parent.fidelity) + 1
        pending.append(recorder.start(s))
        if len(pending) >= 3 or rng.random() < 0.5:  # results arrive out of order
            trial = pending.pop(int(rng.integers(len(pending))))
            ev = bench.query(trial.arch, trial.fidelity, run_key=key)
            scores = bench.scores(bench.searched(trial.arch, ev))
            obs = Observation(trial.arch, trial.fidelity, scores[0], ev.cost, scores)
            recorder.finish(trial, obs.score, obs.cost, obs.scores)
            strategy.tell(trial, obs)
            told[trial.id] = scores
    assert promotions > 10


def test_same_seed_same_records(bench):
    cls = STRATEGIES.get("mo-asha")
    runs = [run_search(bench, cls, seed, Budget(evals=60), sim_workers=3)
            for seed in (5, 5, 6)]
    from tabnas.records import HOST_TIME_COLUMNS

    same = [{k: v for k, v in r.columns.items() if k not in HOST_TIME_COLUMNS} for r in runs]
    assert same[0] == same[1]
    assert runs[0].columns["arch"] != runs[2].columns["arch"]
    assert len(set(runs[0].columns["fidelity"])) > 1  # it promoted


def test_refused_on_single_fidelity_and_single_objective_with_one_line():
    from tabnas.objectives import check_objectives

    cls = STRATEGIES.get("mo-asha")
    single_fidelity = load_benchmark("toy:score-size")
    with pytest.raises(UserError, match="needs a multi-fidelity benchmark") as exc:
        cls.check_supported(single_fidelity.space, single_fidelity.fidelities)
    assert "\n" not in str(exc.value)
    single_objective = load_benchmark("toy-fidelities")
    with pytest.raises(UserError, match="is multi-objective") as exc:
        check_objectives(cls, single_objective)
    assert "\n" not in str(exc.value)
