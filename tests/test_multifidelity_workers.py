"""Synchronous multi-fidelity strategies under simulated parallel workers.

With K workers, results arrive while other trials are still being evaluated.
``sh``, ``hyperband`` and ``bohb`` must rank a rung only on results they have
been told (so they wait for the rung instead of counting missing results as
the worst), lose no result, and a promotion must start only after the lower
rung evaluation it continues has finished: checked from the exported records
(completion order, ``cum_cost`` and ``cost``) on ``toy-fidelities`` and on the
official NAS-Bench-201 fixture on its 12-epoch schedule.
"""

from __future__ import annotations

import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES
from tabnas.testing import check_promotion_times
from tabnas.trials import WAIT, Suggestion

SYNCHRONOUS = ("sh", "hyperband", "bohb")
WORKERS = (1, 4, 16)


@pytest.fixture(scope="module")
def benchmarks(tmp_path_factory):
    from tests.official_fixtures import build_nb201_searchable

    folder = tmp_path_factory.mktemp("nb201")
    data = str(build_nb201_searchable(folder / "NAS-Bench-201-v1_1-096897.pth", cells=400))
    return {"toy-fidelities": load_benchmark("toy-fidelities"),
            "nb201-12": load_benchmark("nb201/cifar10-valid", data=data, schedule=12)}


def watched(name: str, log: list):
    """The registered strategy, logging at every ask what it answered and the history then."""
    cls = STRATEGIES.get(name)

    class Watched(cls):
        def ask(self):
            answer = super().ask()
            history = self.history
            log.append((answer, {t.id for t, _ in history.finished},
                        [(t.id, t.fidelity) for t in history.pending]))
            return answer

    Watched.name = name
    return Watched


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize("name", SYNCHRONOUS)
@pytest.mark.parametrize("bench_name", ["toy-fidelities", "nb201-12"])
def test_rungs_rank_told_results_and_promotions_follow_their_parent(benchmarks, bench_name,
                                                                    name, workers):
    bench = benchmarks[bench_name]
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


@pytest.mark.parametrize("name", SYNCHRONOUS)
def test_exported_records_show_promotions_after_their_parent(tmp_path, name):
    """The same check on the records as exported by the command line, at 4 workers."""
    import pandas as pd

    from tests.conftest import run_cli

    run = run_cli("run", "--benchmark", "toy-fidelities", "--strategy", name, "--seeds", "2",
                  "--budget-evals", "120", "--sim-workers", "4", "--no-report", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "rows.csv"
    assert run_cli("export", "default", "-o", str(out), cwd=tmp_path).returncode == 0
    df = pd.read_csv(out)
    assert df["continues"].notna().any()
    for _, rows in df.groupby("seed"):
        rows = rows.sort_values("step")
        assert check_promotion_times({c: rows[c].tolist() for c in rows.columns}) > 0
