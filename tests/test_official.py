"""NAS-Bench-201 / NATS-Bench adapters against the real official APIs on format-faithful fixtures."""

import math

import numpy as np
import pytest

from tabnas.benchmarks import load_benchmark
from tabnas.benchmarks.tables.official import DATASETS, TEST_SET
from tabnas.errors import UserError
from tests.conftest import run_cli
from tests.official_fixtures import NB201_ARCHS, SSS_ARCHS, build_nats, build_nb201


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("official")
    return {
        "nb201": build_nb201(root / "NAS-Bench-201-v1_1-096897.pth"),
        "nats-tss": build_nats(root / "NATS-tss-v1_0-3ffb9-full", "tss", fast=False),
        "nats-sss": build_nats(root / "NATS-sss-v1_0-50262-simple", "sss", fast=True),
    }


def _official(family, path):
    from tabnas.benchmarks.tables.official import open_api

    return open_api(family, path)


CASES = [(f, d, hp) for f, hps in (("nb201", ("12", "200")), ("nats-tss", ("12", "200")),
                                   ("nats-sss", ("01", "90")))
         for d in DATASETS for hp in hps]


@pytest.mark.parametrize(("family", "dataset", "hp"), CASES)
def test_cache_equals_official_api(files, family, dataset, hp):
    api = _official(family, files[family])
    bench = load_benchmark(f"{family}/{dataset}", data=str(files[family]), schedule=hp)
    space = bench.space
    epochs = int(hp)
    assert bench.fidelities == tuple(range(1, epochs + 1))
    value_ds = "cifar10-valid" if dataset == "cifar10" else dataset
    archs = NB201_ARCHS if family != "nats-sss" else SSS_ARCHS
    checked = 0
    for index, arch_str in enumerate(archs[:4]):
        cell = space.index(space.from_string(arch_str))
        for s, seed in enumerate((777, 888)):
            if index == 1 and seed == 888:
                assert np.isnan(bench.values[cell, s]).all()  # missing run stays missing
                continue
            for iepoch in sorted({0, epochs // 2, epochs - 1}):
                v = api.get_more_info(index, value_ds, iepoch=iepoch, hp=hp, is_random=seed)
                t = api.get_more_info(index, dataset, iepoch=iepoch, hp=hp, is_random=seed)
                assert bench.values[cell, s, iepoch] == v["valid-accuracy"]
                assert bench.tests[cell, s, iepoch] == t["test-accuracy"]
                assert bench.costs[cell, s, iepoch] == pytest.approx(
                    v["train-all-time"] + v["valid-per-time"], rel=1e-12)
                assert bench.extra_arrays["test_loss"][cell, s, iepoch] == t["test-loss"]
                checked += 1
        costs = api.get_cost_info(index, value_ds, hp=hp)
        assert bench.extras(space.from_string(arch_str))["flops"] == pytest.approx(costs["flops"])
    assert checked >= 7
    # validation and test are different numbers, on the split the paper names
    assert not np.array_equal(bench.values, bench.tests, equal_nan=True)
    assert TEST_SET[dataset] in bench.test_label
    if dataset == "cifar10":
        assert "cifar10-valid x-valid" in bench.value_label


@pytest.mark.parametrize("family", ["nb201", "nats-tss", "nats-sss"])
def test_costs_monotone_and_optimum_bounds_queries(files, family):
    bench = load_benchmark(f"{family}/cifar100", data=str(files[family]), seed_mode="mean")
    present = ~np.isnan(bench.values[:, 0, -1])
    assert present.sum() == 4
    costs = bench.costs[present]
    assert (np.diff(costs, axis=2)[~np.isnan(np.diff(costs, axis=2))] > 0).all()
    opt = bench.optimum()
    key = 0
    for cell in np.flatnonzero(present):
        arch = bench.space.arch_at(int(cell))
        ev = bench.query(arch, run_key=key)
        assert opt.value >= ev.value and opt.test_value >= ev.test_value
        assert ev.value != ev.test_value
    assert opt.value == np.max(np.nanmean(bench.values[present][:, :, -1], axis=1))


def test_seed_sampled_per_architecture_and_mean(files):
    path = str(files["nb201"])
    bench = load_benchmark("nb201/cifar10-valid", data=path)
    arch = bench.space.from_string(NB201_ARCHS[0])
    cell = bench.space.index(arch)
    seen = set()
    for seed in range(30):
        first = bench.query(arch, 200, run_key=seed).value
        assert bench.query(arch, 200, run_key=seed).value == first  # fixed within a run
        seen.add(first)
    assert seen == set(bench.values[cell, :, -1].tolist())  # both recorded seeds answer
    mean = load_benchmark("nb201/cifar10-valid", data=path, seed_mode="mean")
    assert mean.query(arch, 200, run_key=0).value == pytest.approx(
        bench.values[cell, :, -1].mean())


def test_numpy_scalars_in_file_load_under_torch_weights_only(tmp_path):
    import torch

    path = build_nb201(tmp_path / "np.pth", numpy_scalars=True)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, map_location="cpu")  # the plain official call refuses this file
    bench = load_benchmark("nb201/cifar100", data=str(path))
    arch = bench.space.from_string(NB201_ARCHS[0])
    assert bench.extras(arch)["latency"] > 0


def test_stale_cache_rebuilt_and_damaged_files_fail_clearly(tmp_path, files):
    path = build_nb201(tmp_path / "a.pth")
    first = load_benchmark("nb201/cifar100", data=str(path))
    cell = first.space.index(first.space.from_string(NB201_ARCHS[2]))
    import torch

    data = torch.load(path, map_location="cpu")
    data["arch2infos"][2]["full"]["all_results"][("cifar100", 777)]["eval_acc1es"]["x-valid@199"] = 12.5
    torch.save(data, path)
    second = load_benchmark("nb201/cifar100", data=str(path))
    assert second.values[cell, 0, -1] == 12.5 != first.values[cell, 0, -1]

    truncated = tmp_path / "trunc.pth"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(UserError, match="truncated or not"):
        load_benchmark("nb201/cifar100", data=str(truncated))
    garbage = tmp_path / "garbage.pickle.pbz2"
    garbage.write_bytes(b"BZh9" + b"\x00" * 100)
    with pytest.raises(UserError, match="cannot read NATS-Bench topology data"):
        load_benchmark("nats-tss/cifar100", data=str(garbage))
    with pytest.raises(UserError, match="schedule 7 unknown"):
        load_benchmark("nb201/cifar100", data=str(path), schedule=7)


def test_cli_prepare_list_info_and_missing_data(tmp_path, files):
    env = {"TABNAS_NB201": "", "TABNAS_CACHE": str(tmp_path / "cache")}
    proc = run_cli("list", cwd=tmp_path, env=env)
    assert proc.returncode == 0
    line = next(x for x in proc.stdout.splitlines() if "nb201/cifar100" in x)
    how = proc.stdout.splitlines()[proc.stdout.splitlines().index(line) + 1]
    assert "missing data" in how and "TABNAS_NB201" in how and "NAS-Bench-201-v1_1-096897.pth" in how
    assert "'tabnas prepare nb201/cifar100 --data PATH'" in how  # names the benchmark listed
    proc = run_cli("run", "--benchmark", "nb201/cifar100", "--seeds", "1", cwd=tmp_path, env=env)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "TABNAS_NB201" in proc.stderr and "Traceback" not in proc.stderr

    proc = run_cli("prepare", "nb201/cifar10", "--data", str(files["nb201"]), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "sha256" in proc.stdout
    # after prepare, the cache remembers the source: no --data needed
    proc = run_cli("info", "nb201/cifar10", "--schedule", "12", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "cifar10-valid x-valid" in proc.stdout and "ori-test" in proc.stdout
    assert "1..12" in proc.stdout and "seconds" in proc.stdout and "seed-averaged" in proc.stdout
    proc = run_cli("list", cwd=tmp_path, env=env)
    line = next(x for x in proc.stdout.splitlines() if x.strip().startswith("nb201/cifar100"))
    nxt = proc.stdout.splitlines()[proc.stdout.splitlines().index(line) + 1]
    assert "[ready]" in nxt


def test_fast_mode_folder_equals_single_file(tmp_path):
    single = build_nats(tmp_path / "one", "tss", fast=False)
    folder = build_nats(tmp_path / "fast", "tss", fast=True)
    a = load_benchmark("nats-tss/ImageNet16-120", data=str(single))
    b = load_benchmark("nats-tss/ImageNet16-120", data=str(folder))
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert np.array_equal(a.costs, b.costs, equal_nan=True)
    assert not math.isnan(a.optimum().value)


PAPER = [("nb201", "12", "200"), ("nats-tss", "12", "200"), ("nats-sss", "01", "90")]


@pytest.mark.parametrize(("family", "searched", "reported"), PAPER)
@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_search_one_schedule_report_another(files, family, searched, reported, dataset):
    api = _official(family, files[family])
    path = str(files[family])
    bench = load_benchmark(f"{family}/{dataset}", data=path, schedule=int(searched),
                           report_schedule=int(reported))
    default = load_benchmark(f"{family}/{dataset}", data=path, schedule=searched)
    epochs = int(searched)
    assert bench.fidelities == default.fidelities == tuple(range(1, epochs + 1))
    # the search side is exactly the searched schedule: values, costs, seeds
    for name in ("values", "tests", "costs"):
        assert np.array_equal(getattr(bench, name), getattr(default, name), equal_nan=True)
    value_ds = "cifar10-valid" if dataset == "cifar10" else dataset
    archs = NB201_ARCHS if family != "nats-sss" else SSS_ARCHS
    space = bench.space
    tests = []
    for index, arch_str in enumerate(archs[:4]):
        arch = space.from_string(arch_str)
        cell = space.index(arch)
        ev = bench.query(arch, epochs, run_key=index)
        answers = {api.get_more_info(index, value_ds, iepoch=epochs - 1, hp=searched,
                                     is_random=seed)["valid-accuracy"]
                   for seed in ((777,) if index == 1 else (777, 888))}
        assert ev.value in answers
        assert bench.values[cell, 0, 0] == api.get_more_info(
            index, value_ds, iepoch=0, hp=searched, is_random=777)["valid-accuracy"]
        # truth: the reported schedule's seed-averaged final accuracies (official average)
        final_v = api.get_more_info(index, value_ds, hp=reported, is_random=False)
        final_t = api.get_more_info(index, dataset, hp=reported, is_random=False)
        assert bench.truth(arch) == pytest.approx(
            (final_v["valid-accuracy"], final_t["test-accuracy"]), rel=1e-12)
        tests.append(final_t["test-accuracy"])
        # without report_schedule the truth is the searched schedule's, as before
        assert default.truth(arch) == pytest.approx(
            (np.nanmean(default.values[cell, :, -1]), np.nanmean(default.tests[cell, :, -1])))
        assert default.truth(arch) != bench.truth(arch)
    assert bench.optimum().test_value == pytest.approx(max(tests), rel=1e-12)
    assert default.optimum().test_value < bench.optimum().test_value  # longer training
    info = bench.info()
    assert f"{int(reported)}-epoch schedule" in info["reported at"]
    assert f"searched: {int(searched)}-epoch" in info["reported at"]
    assert "reported at" not in default.info()
    assert f"option report_schedule={reported}" in info["optimum (test)"]


def test_report_schedule_run_regret_and_bad_value(files):
    from tabnas.runner import Budget, run_search
    from tabnas.strategy import STRATEGIES

    path = str(files["nb201"])
    bench = load_benchmark("nb201/cifar10-valid", data=path, schedule=12, report_schedule=200)
    records = run_search(bench, STRATEGIES.get("random"), 3, Budget(evals=15625)).columns
    found = [i for i, a in enumerate(records["incumbent_arch"]) if a is not None]
    assert found  # the exhaustive run reaches every recorded cell
    regret = np.array(records["regret_test"])[found]
    assert (regret >= 0).all() and regret[-1] == 0  # the 200-epoch optimum is reachable
    best = bench.space.from_string(records["incumbent_arch"][-1])
    assert records["incumbent_test"][-1] == bench.truth(best)[1] == bench.optimum().test_value
    with pytest.raises(UserError, match="report_schedule 50 unknown .* 12, 200"):
        load_benchmark("nb201/cifar10-valid", data=path, schedule=12, report_schedule=50)


@pytest.mark.parametrize("seed_mode", ["sample", "mean"])
def test_unrecorded_cell_answers_nan_at_mean_cost(files, seed_mode):
    bench = load_benchmark("nb201/cifar100", data=str(files["nb201"]), schedule=12,
                           seed_mode=seed_mode)
    unrecorded = bench.space.from_string(NB201_ARCHS[4])  # listed, never trained
    ev = bench.query(unrecorded, 5, run_key=0)
    assert math.isnan(ev.value) and math.isnan(ev.test_value)
    recorded = ~np.isnan(bench.values[:, :, -1])
    assert ev.cost == pytest.approx(np.mean(bench.costs[:, :, 4][recorded]))
    assert ev.cost > 0


def test_cli_info_names_searched_and_reported_schedules(tmp_path, files):
    env = {"TABNAS_CACHE": str(tmp_path / "cache")}
    proc = run_cli("info", "nats-tss/cifar10-valid", "--data", str(files["nats-tss"]),
                   "--schedule", "12", "--option", "report_schedule=200", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Searched schedule: 12 epochs" in proc.stdout and "1..12" in proc.stdout
    assert "reported at: final epoch of the 200-epoch schedule" in proc.stdout
