"""Sane numbers at the door, and small failures: each is one line and exit code 2."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from tabnas import locks
from tabnas.cli import main
from tests.conftest import one_line_error

RUN = ["run", "--benchmark", "toy", "--strategy", "random", "--seeds", "2",
       "--budget-evals", "4", "--experiment", "e", "--no-report"]


def _table(tmp_path, rows: str, spec_extra: str = "", variables: str = "w = [1, 2]") -> str:
    (tmp_path / "t.csv").write_text(rows)
    (tmp_path / "spec.toml").write_text(f'name = "t"\ntable = "t.csv"\nvalue = "v"\n{spec_extra}'
                                        f"[variables]\n{variables}\n")
    return f"table:{tmp_path}"


@pytest.mark.parametrize(("rows", "extra", "needle"), [
    ("w,v\n1,0.5\n2,inf\n", "", "column 'v' has 1 NaN, infinite or non-numeric"),
    ("w,v\n1,-inf\n2,0.5\n", "", "column 'v' has 1 NaN, infinite or non-numeric"),
    ("w,v,c\n1,0.5,1\n2,0.6,inf\n", 'cost = "c"\n', "column 'c' has 1 NaN, infinite"),
    ("w,v,c\n1,0.5,1\n2,0.6,-2\n", 'cost = "c"\n', "column 'c' has negative costs"),
])
def test_user_tables_refuse_infinite_values_and_bad_costs(tmp_path, capsys, rows, extra, needle):
    assert needle in one_line_error(capsys, ["info", _table(tmp_path, rows, extra)])


def test_zero_costs_need_an_evaluation_cap(tmp_path, capsys):
    bench = _table(tmp_path, "w,v,c\n1,0.5,1\n2,0.6,0\n", 'cost = "c"\n')
    base = ["run", "--benchmark", bench, "--strategy", "rea", "--seeds", "1", "--no-report",
            "--budget-cost", "5", "--results-dir", str(tmp_path / "r")]
    line = one_line_error(capsys, base)
    assert "cost 0" in line and "--budget-evals" in line
    assert not (tmp_path / "r").exists()
    assert main([*base, "--budget-evals", "6"]) == 0  # capped: it ends


def test_a_space_beyond_int64_is_refused_before_any_allocation(tmp_path, capsys):
    variables = "\n".join(f"x{i} = {list(range(256))}" for i in range(8))  # 2^64 cells
    header = ",".join(f"x{i}" for i in range(8))
    bench = _table(tmp_path, f"{header},v\n{','.join(['0'] * 8)},1\n", variables=variables)
    assert "more than the 4.61e+18 (2^62)" in one_line_error(capsys, ["info", bench])
    variables = "\n".join(f"x{i} = [0, 1]" for i in range(40))  # fits, but 2^40 rows missing
    header = ",".join(f"x{i}" for i in range(40))
    bench = _table(tmp_path, f"{header},v\n{','.join(['0'] * 40)},1\n", variables=variables)
    assert "has 1,099,511,627,776 cells but the table has 1 rows" in one_line_error(
        capsys, ["info", bench])


@pytest.mark.parametrize(("args", "needle"), [
    (["--seeds", str(10**15)], "at most 100,000 seeds"),
    (["--workers", "100000"], "at most 256 local worker processes"),
    (["--dask", "local:100000"], "at most 256 local worker processes"),
    (["--strategy", "optuna:TPESampler(n_startup_trials=" + "1" * 300 + ")"],
     "file systems hold at most 255"),
    (["--hp", "random.x=1", "--hp", "random.x=2"], "random.x is given twice"),
    (["--option", "a=1", "--option", "a=2"], "--option a is given twice"),
])
def test_counts_and_names_have_bounds(tmp_path, capsys, args, needle):
    line = one_line_error(capsys, ["run", "--benchmark", "toy", "--seeds", "1", *args,
                              "--results-dir", str(tmp_path / "r")])
    assert needle in line
    assert not (tmp_path / "r").exists()


def test_nul_in_a_spec_file(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("w,v\n1,0.5\n2,0.6\n")
    (tmp_path / "spec.toml").write_text('table = "t\\u0000.csv"\nvalue = "v"\n'
                                        "[variables]\nw = [1, 2]\n")
    assert "'table' holds a NUL character" in one_line_error(capsys, ["info", f"table:{tmp_path}"])


@pytest.mark.parametrize("change", [{"seeds": "0-9"}, {"benchmarks": [1, 2]},
                                    {"hyperparameters": {"random": 3}}, {"budget": 20}])
def test_manifest_with_wrong_types(tmp_path, capsys, change):
    results = tmp_path / "r"
    assert main([*RUN, "--results-dir", str(results)]) == 0
    path = results / "e" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["config"].update(change)
    path.write_text(json.dumps(manifest))
    capsys.readouterr()
    for argv in (RUN, ["status", "e"], ["stats", "e"]):
        line = one_line_error(capsys, [*argv, "--results-dir", str(results)])
        assert "of the wrong type" in line and "move the folder aside" in line


def test_failure_record_with_wrong_types_is_ignored(tmp_path, capsys):
    results = tmp_path / "r"
    assert main([*RUN, "--results-dir", str(results)]) == 0
    record = results / "e" / "failures" / "toy" / "random" / "seed-5.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"benchmark": ["toy"], "strategy": 1, "seed": "5"}))
    capsys.readouterr()
    assert main(["status", "e", "--results-dir", str(results)]) == 0
    assert "2 done, 0 failed" in capsys.readouterr().out


def test_a_held_lock_is_named_instead_of_blocking_forever(tmp_path, capsys, monkeypatch):
    results = tmp_path / "r"
    assert main([*RUN, "--results-dir", str(results)]) == 0
    capsys.readouterr()
    monkeypatch.setattr(locks, "LOCK_WAIT_S", 0.3)
    fd = os.open(results / "e" / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a stuck process (or a crafted lock) would
        line = one_line_error(capsys, [*RUN, "--seeds", "3", "--results-dir", str(results)])
    finally:
        os.close(fd)
    assert f"the experiment lock {results / 'e' / '.lock'} has been held" in line
    assert main([*RUN, "--seeds", "3", "--results-dir", str(results)]) == 0
