"""Multi-fidelity strategies under simulated parallel workers, and the two cost models.

With K workers, results arrive while other trials are still being evaluated.
The synchronous ``sh``, ``hyperband`` and ``bohb`` must rank a rung only on
results they have been told (so they wait for the rung instead of counting
missing results as the worst); the asynchronous ``asha``, ``async-hyperband``
and ``async-bohb`` promote on the results that have arrived without waiting.
Every one of them loses no result, and a promotion must start only after the
lower rung evaluation it continues has finished: checked from the exported
records (completion order, ``cum_cost`` and ``cost``) on ``toy-fidelities``
and on the official NAS-Bench-201 fixture on its 12-epoch schedule, under both
``--mf-cost`` models.
"""

from __future__ import annotations

import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.runner import Budget, run_search
from tabnas.strategies._async_brackets import AsyncBracketStrategy
from tabnas.strategies._brackets import rung_fidelities
from tabnas.strategies._sampling import rank_key
from tabnas.strategy import STRATEGIES
from tabnas.testing import check_promotion_times
from tabnas.trials import WAIT, Suggestion

#: Every registered multi-fidelity strategy, from the registry (a new one is checked too).
MULTI_FIDELITY = tuple(n for n in STRATEGIES.names() if "fidelities" in STRATEGIES.get(n).requires)
ASYNCHRONOUS = tuple(n for n in MULTI_FIDELITY
                     if issubclass(STRATEGIES.get(n), AsyncBracketStrategy))
SYNCHRONOUS = tuple(n for n in MULTI_FIDELITY if n not in ASYNCHRONOUS)
WORKERS = (1, 4, 16)
#: A multi-objective preset of each table, for the multi-objective strategies (``mo-asha``).
MULTI_OBJECTIVE = {"toy-fidelities": "score-size", "nb201-12": "acc-flops"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    from tests.official_fixtures import build_nb201_searchable

    folder = tmp_path_factory.mktemp("nb201")
    data = str(build_nb201_searchable(folder / "NAS-Bench-201-v1_1-096897.pth", cells=400))
    return {"toy-fidelities": ("toy-fidelities", {}),
            "nb201-12": ("nb201/cifar10-valid", {"data": data, "schedule": 12})}


@pytest.fixture(scope="module")
def benchmarks(tables):
    """``benchmarks[name]`` or ``benchmarks[name, strategy]``: the table, as a strategy serves it."""

    class Tables(dict):
        def __missing__(self, key):
            name, strategy = key
            base, options = tables[name]
            if STRATEGIES.get(strategy).objectives != "multi":
                return self[name]
            self[key] = load_benchmark(f"{base}:{MULTI_OBJECTIVE[name]}", **options)
            return self[key]

    out = Tables()
    for name, (base, options) in tables.items():
        out[name] = load_benchmark(base, **options)
    return out


def test_the_lists_come_from_the_registry():
    assert {"sh", "hyperband", "bohb"} <= set(SYNCHRONOUS)
    assert {"asha", "async-hyperband", "async-bohb", "mo-asha"} <= set(ASYNCHRONOUS)


def watched(name: str, log: list):
    """The registered strategy, logging at every ask what it answered and the history then."""
    cls = STRATEGIES.get(name)

    class Watched(cls):
        def ask(self):
            answer = super().ask()
            history = self.history
            log.append((answer, {t.id: o.score for t, o in history.finished},
                        [(t.id, t.fidelity) for t in history.pending]))
            return answer

    Watched.name = name
    return Watched


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("name", SYNCHRONOUS)
@pytest.mark.parametrize("bench_name", ["toy-fidelities", "nb201-12"])
def test_rungs_rank_told_results_and_promotions_follow_their_parent(benchmarks, bench_name,
                                                                    name, workers):
    bench = benchmarks[bench_name, name]
    log: list = []
    records = run_search(bench, watched(name, log), 3, Budget(evals=150),
                         sim_workers=workers)
    cols = records.columns
    fidelity_of = {t: f for t, f in zip(cols["trial"], cols["fidelity"], strict=True)}
    promotions = 0
    for answer, told, pending in log:
        if type(answer) is not Suggestion or answer.continues is None:
            continue
        promotions += 1
        parent = answer.continues
        assert parent in told  # the result it is ranked on has arrived
        # The whole rung below was told before it was ranked: nothing is pending there.
        below = fidelity_of[parent]
        assert not [t for t, f in pending if f == below], (answer, pending)
    assert promotions > 0
    # No result lost: every trial asked was recorded, once.
    assert sorted(cols["trial"]) == list(range(len(cols["trial"])))
    assert len(cols["trial"]) == 150
    # From the records alone: a promotion starts after the evaluation it continues finished.
    assert check_promotion_times(records) == promotions
    if workers > 1:
        # The workers waited for rungs, and the run still overlapped evaluations.
        assert any(answer is WAIT for answer, _, _ in log)
        starts = [c - k for c, k in zip(cols["cum_cost"], cols["cost"], strict=True)]
        assert any(s < cols["cum_cost"][i - 1] for i, s in enumerate(starts) if i)


@pytest.mark.parametrize("mf_cost", ["restart", "continue"])
@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("name", ASYNCHRONOUS)
@pytest.mark.parametrize("bench_name", ["toy-fidelities", "nb201-12"])
def test_asynchronous_promotions_rank_arrived_results_without_waiting(benchmarks, bench_name,
                                                                      name, workers, mf_cost):
    bench = benchmarks[bench_name, name]
    log: list = []
    evals = 120
    records = run_search(bench, watched(name, log), 3, Budget(evals=evals),
                         sim_workers=workers, mf_cost=mf_cost)
    cols = records.columns
    fidelity_of = {t: f for t, f in zip(cols["trial"], cols["fidelity"], strict=True)}
    rungs = rung_fidelities(bench.fidelities, 3, 5)
    promotions = 0
    for answer, told, _ in log:
        assert answer is not WAIT  # architectures remain: an asynchronous worker never idles
        if answer.continues is None:
            assert answer.fidelity in rungs
            continue
        promotions += 1
        parent = answer.continues
        assert parent in told  # the result it is ranked on has arrived
        below = fidelity_of[parent]
        assert rungs.index(answer.fidelity) == rungs.index(below) + 1
        if name == "asha":
            # In the top 1/eta of the results arrived at its rung (one bracket: all of them).
            # ``told`` is in arrival order, and a stable sort keeps ties in it.
            here = sorted((t for t in told if fidelity_of[t] == below),
                          key=lambda t: -rank_key(told[t]))
            assert parent in here[:len(here) // 3]
    assert promotions > 0
    # No result lost: every trial asked was recorded, once.
    assert sorted(cols["trial"]) == list(range(evals))
    # Each architecture is started once: one chain of trials, one rung after another.
    fresh = [a for a, c in zip(cols["arch"], cols["continues"], strict=True) if c is None]
    assert len(fresh) == len(set(fresh))
    assert check_promotion_times(records) == promotions
    if workers > 1:
        starts = [c - k for c, k in zip(cols["cum_cost"], cols["cost"], strict=True)]
        assert any(s < cols["cum_cost"][i - 1] for i, s in enumerate(starts) if i)


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("name", SYNCHRONOUS + ASYNCHRONOUS)
@pytest.mark.parametrize("bench_name", ["toy-fidelities", "nb201-12"])
def test_continue_charges_what_a_promotion_adds(benchmarks, bench_name, name, workers):
    """Under ``continue`` a promotion pays cost(high) - cost(low) of the trial it continues;
    under ``restart`` the full cost; everything else is the same table."""
    bench = benchmarks[bench_name, name]
    cls = STRATEGIES.get(name)
    restart = run_search(bench, cls, 5, Budget(evals=100), sim_workers=workers).columns
    resume = run_search(bench, cls, 5, Budget(evals=100), sim_workers=workers,
                        mf_cost="continue").columns
    from tabnas.runner import run_seeds

    _, key = run_seeds(5)
    space = bench.space
    for cols in (restart, resume):
        full = {}
        for t, a, f, c, parent in zip(cols["trial"], cols["arch"], cols["fidelity"],
                                      cols["cost"], cols["continues"], strict=True):
            full[t] = bench.query(space.from_string(a), f, run_key=key).cost
            expected = full[t] if cols is restart or parent is None else \
                max(0.0, full[t] - full[parent])
            assert c == pytest.approx(expected)
        check_promotion_times(cols)
    promoted = [c for c, p in zip(resume["cost"], resume["continues"], strict=True)
                if p is not None]
    assert promoted and sum(resume["cost"]) < sum(restart["cost"])
    if workers == 1:  # the clock is the sum of what was charged
        assert resume["cum_cost"][-1] == pytest.approx(sum(resume["cost"]))


def test_continue_changes_nothing_without_promotions(benchmarks):
    bench = benchmarks["toy-fidelities"]
    cls = STRATEGIES.get("random")
    a = run_search(bench, cls, 2, Budget(evals=40), sim_workers=4).columns
    b = run_search(bench, cls, 2, Budget(evals=40), sim_workers=4, mf_cost="continue").columns
    a.pop("overhead_s"), b.pop("overhead_s")
    assert a == b


@pytest.mark.parametrize("name", SYNCHRONOUS + ASYNCHRONOUS)
def test_exported_records_show_promotions_after_their_parent(tmp_path, name):
    """The same check on the records as exported by the command line, at 4 workers."""
    import pandas as pd

    from tests.conftest import run_cli

    mf_cost = "continue" if name in ASYNCHRONOUS else "restart"
    multi = STRATEGIES.get(name).objectives == "multi"
    bench = f"toy-fidelities:{MULTI_OBJECTIVE['toy-fidelities']}" if multi else "toy-fidelities"
    run = run_cli("run", "--benchmark", bench, "--strategy", name, "--seeds", "2",
                  "--budget-evals", "120", "--sim-workers", "4", "--mf-cost", mf_cost,
                  "--no-report", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "rows.csv"
    assert run_cli("export", "default", "-o", str(out), cwd=tmp_path).returncode == 0
    df = pd.read_csv(out)
    assert df["continues"].notna().any()
    for _, rows in df.groupby("seed"):
        rows = rows.sort_values("step")
        assert check_promotion_times({c: rows[c].tolist() for c in rows.columns}) > 0
    import json

    manifest = json.loads((tmp_path / "results" / "default" / "manifest.json").read_text())
    assert manifest["config"]["mf_cost"] == mf_cost


def test_mf_cost_is_checked_and_kept_by_the_experiment(tmp_path):
    from tests.conftest import run_cli

    common = ("run", "--benchmark", "toy-fidelities", "--strategy", "asha", "--seeds", "1",
              "--budget-evals", "30", "--no-report")
    bad = run_cli(*common, "--mf-cost", "resume", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "tabnas: error: --mf-cost 'resume': use one of restart, continue"]
    assert not (tmp_path / "results").exists()
    assert run_cli(*common, "--mf-cost", "continue", cwd=tmp_path).returncode == 0
    again = run_cli(*common, cwd=tmp_path)  # the default, restart, is another experiment
    assert again.returncode == 2
    assert "mf_cost=continue, not restart" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_more_brackets_than_rungs_is_refused(benchmarks):
    from tabnas.errors import UserError

    with pytest.raises(UserError, match=r"brackets=5: .* 4 rungs \(1, 3, 9, 27\)"):
        run_search(benchmarks["toy-fidelities"], STRATEGIES.get("async-hyperband"), 0,
                   Budget(evals=10), hyperparameters={"brackets": 5})
    records = run_search(benchmarks["toy-fidelities"], STRATEGIES.get("async-hyperband"), 0,
                         Budget(evals=60), hyperparameters={"brackets": 4})
    assert len(records) == 60
