"""Multi-objective benchmarks: exact fronts, hypervolume and regret on a table small enough
to compute by hand, and the cached fronts of every shipped preset against a brute-force
non-dominance check."""

from __future__ import annotations

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.benchmarks.base import TableBenchmark
from tabnas.benchmarks.tables.nbgraph import DATASETS
from tabnas.errors import UserError
from tabnas.objectives import Family, MultiObjectiveBenchmark, Objective, presets
from tabnas.pareto import FrontTracker, attainment
from tabnas.spaces.product import ProductSpace

# cell: searched accuracy, reported accuracy, latency.
HAND = ((0.5, 0.5, 1.0), (0.75, 0.75, 2.0), (1.0, 0.75, 3.0), (0.0, 0.0, 5.0))
HAND_FAMILY = Family(
    objectives=(Objective("accuracy", True, "accuracy"),
                Objective("latency", False, "latency", "latency")),
    presets={"acc-latency": ("accuracy", "latency")},
)


def hand_benchmark(reference=(-1.0, 9.0)) -> MultiObjectiveBenchmark:
    """Normalised (0 = best; accuracy span 1, latency span 4): searched points
    (0.5, 0), (0.25, 0.25), (0, 0.5), (1, 1); reported (0.5, 0), (0.25, 0.25),
    (0.25, 0.5), (1, 1). A raw reference of accuracy -1, latency 9 is (2, 2)."""
    table = np.array(HAND)
    base = TableBenchmark(
        name="hand", space=ProductSpace("hand", [("x", range(4))]),
        values=table[:, 0].reshape(-1, 1, 1), tests=table[:, 1].reshape(-1, 1, 1),
        costs=np.ones((4, 1, 1)), extra_arrays={"latency": table[:, 2]})
    return MultiObjectiveBenchmark(base, "acc-latency", ("accuracy", "latency"), reference,
                                   family=HAND_FAMILY)


def test_hand_table_fronts_and_hypervolumes_are_exact():
    b = hand_benchmark()
    assert b.reference_normalised.tolist() == [2.0, 2.0]
    test, value = b.fronts["test"], b.fronts["value"]
    assert test.cells.tolist() == [0, 1]
    assert value.cells.tolist() == [0, 1, 2]
    # (2-.25)(2-.25) + (2-.5)(.25-0)
    assert test.hypervolume == 3.4375
    # (2-0)(2-.5) + (2-.25)(.5-.25) + (2-.5)(.25-0)
    assert value.hypervolume == 3.8125


def test_hand_table_regret_step_by_step():
    b = hand_benchmark()
    tracker = FrontTracker(b)
    assert tracker.metrics()["hv_regret_test"] == 3.4375  # nothing found yet
    steps = []
    for cell in (2, 3, 0, 1):
        tracker.add(cell, b.searched_truth[cell])
        steps.append(tracker.metrics())
    # c2 alone: reported (0.25, 0.5) -> HV 1.75 * 1.5 = 2.625
    assert steps[0]["hypervolume"] == 2.625
    assert steps[0]["hv_regret_test"] == 0.8125
    assert steps[0]["hv_regret_value"] == 3.8125 - 3.0
    # IGD+: from (0.5, 0): 0.5; from (0.25, 0.25): 0.25
    assert steps[0]["igd_plus"] == pytest.approx(0.375, abs=1e-15)
    assert steps[0]["pareto_found"] == 0
    assert steps[1] == steps[0]  # c3 is dominated: nothing changes
    # + c0: 2.625 + 1.5 * 0.5
    assert steps[2]["hypervolume"] == 3.375
    assert steps[2]["hv_regret_test"] == 0.0625
    assert steps[2]["pareto_found"] == 1
    assert steps[3]["hv_regret_test"] == 0.0
    assert steps[3]["hv_regret_value"] == 0.0
    assert steps[3]["igd_plus"] == 0.0
    assert steps[3]["pareto_found"] == 2
    assert tracker.cells == [2, 0, 1]


def test_a_tie_keeps_the_earlier_member():
    b = hand_benchmark()
    tracker = FrontTracker(b)
    assert tracker.add(1, b.searched_truth[1])
    assert not tracker.add(1, b.searched_truth[1])
    assert not tracker.add(3, np.array([np.nan, 5.0]))  # a failed training
    assert tracker.cells == [1]


def test_reference_that_no_front_point_dominates_is_refused():
    # Accuracy 0.9 and latency 0.5 beat every architecture of the table.
    with pytest.raises(UserError, match="not dominated by any point"):
        hand_benchmark(reference=(0.9, 0.5))


def test_attainment_surfaces_of_three_runs():
    runs = [np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.5, 0.5]]),
            np.array([[1.0, 1.0]])]
    s = attainment(runs, (25, 50, 100))
    # Attained by every run: only what (1, 1) dominates.
    assert s[100].tolist() == [[1.0, 1.0]]
    # The median (at least 2 of 3 runs): (0.5, 1) and (1, 0.5), which runs 1 and 2 reach.
    assert s[50].tolist() == [[0.5, 1.0], [1.0, 0.5]]
    # At least one run: the union of the fronts.
    assert s[25].tolist() == [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]


def _brute_force_check(points: np.ndarray, cells: np.ndarray) -> None:
    """``cells`` is exactly the non-dominated set: no point dominates a member, and
    every other point is dominated by (or equal to) a member."""
    ok = ~np.isnan(points).any(axis=1)
    front = points[cells]
    for p in front:
        dominated = np.all(points[ok] <= p, axis=1) & np.any(points[ok] < p, axis=1)
        assert not dominated.any()
    others = np.setdiff1d(np.flatnonzero(ok), cells)
    for i in others:
        weakly = np.all(front <= points[i], axis=1)
        assert weakly.any()
        # equal to a member means it would be a member (ties are kept)
        assert not np.all(front == points[i], axis=1).any()


SHIPPED = [f"nbgraph-{d}:{p}" for d in DATASETS
           for fam, p, _ in presets() if fam.startswith("nbgraph")] + \
          [f"nb201-analog:{p}" for fam, p, _ in presets() if fam == "nb201-analog"] + \
          [f"{t}:{p}" for t in ("toy", "toy-fidelities")
           for fam, p, _ in presets() if fam == "toy|toy-fidelities"]


@pytest.mark.parametrize("name", SHIPPED)
def test_cached_front_of_every_shipped_preset_is_the_non_dominated_set(name):
    b = load_benchmark(name)
    for side, truth in (("test", b.reported_truth), ("value", b.searched_truth)):
        front = b.fronts[side]
        _brute_force_check(b.normalise(truth), front.cells)
        assert front.hypervolume > 0
    assert b.fronts is b.fronts  # computed once


def test_unknown_objective_and_single_objective_are_one_line():
    with pytest.raises(UserError, match="unknown objective 'speed' for nbgraph-cora; its "
                                        "objectives: accuracy, latency, params"):
        load_benchmark("nbgraph-cora:accuracy+speed")
    with pytest.raises(UserError, match="names one objective"):
        load_benchmark("nbgraph-cora:accuracy")
    with pytest.raises(UserError, match="no multi-objective definitions"):
        load_benchmark("nb101:acc-latency")


@pytest.fixture(scope="module")
def nb201_file(tmp_path_factory):
    from tests.official_fixtures import build_nb201

    return build_nb201(tmp_path_factory.mktemp("official") / "NAS-Bench-201-v1_1-096897.pth")


@pytest.mark.parametrize("preset", [p for fam, p, _ in presets() if fam.startswith("nb201|")])
def test_official_presets_through_the_official_api(nb201_file, preset):
    b = load_benchmark(f"nb201/cifar100:{preset}", data=str(nb201_file))
    recorded = ~np.isnan(b.reported_truth).any(axis=1)
    assert 0 < recorded.sum() < b.space.size  # the fixture records a few cells
    front = b.fronts["test"]
    assert recorded[front.cells].all()
    _brute_force_check(b.normalise(b.reported_truth), front.cells)
    # accuracy is the table's searched/reported pair; the other objective one number
    arch = b.space.arch_at(int(front.cells[0]))
    assert b.reported_truth[front.cells[0], 0] == b.base.truth(arch)[1]
    assert (b.searched_truth[:, 1] == b.reported_truth[:, 1])[recorded].all()
