"""AnalogNAS-Bench adapter: golden values from the shipped table, cache, safety."""

import io
import math
import pickle

import numpy as np
import pytest

from tabnas.benchmarks.tables.analog import (
    _SafeUnpickler,
    analog_key_to_arch,
    cell_mflops,
    data_file,
)
from tabnas.spaces.nb201 import string_to_arch


def test_key_mapping_matches_data_md():
    # (a0..a5) -> |a0~0|+|a1~0|a3~1|+|a2~0|a4~1|a5~2| with 0 skip, 1 none, 2 conv3, 3 conv1, 4 pool
    arch = analog_key_to_arch((2, 3, 4, 0, 1, 2))
    assert arch == string_to_arch(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
    )


def test_golden_values(analog):
    key = 0
    all_conv = string_to_arch(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    )
    ev = analog.query(all_conv, run_key=key)
    assert ev.value == pytest.approx(93.2424)
    assert ev.test_value == ev.value  # no validation split: the same number
    assert ev.cost == pytest.approx(220.11968)
    extras = analog.extras(all_conv)
    assert extras["analog_accuracy"] == pytest.approx(85.64)
    assert extras["analog_drift_60"] == pytest.approx(86.19)
    assert extras["analog_drift_60_uncertainty"] == pytest.approx(0.41)
    empty = analog.query((0,) * 6, run_key=key)  # all 'none': no path from input to output
    assert empty.value == pytest.approx(10.0) and empty.cost == pytest.approx(cell_mflops((0,) * 6))
    opt = analog.optimum()
    assert opt.value == pytest.approx(94.0664)
    assert opt.extras["value_arch"] == (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    )


def test_optimum_bounds_every_query(analog):
    vals = analog.values[:, 0, 0]
    assert np.isfinite(vals).all()
    assert analog.optimum().value == vals.max()


def test_objective_option(tmp_path):
    from tabnas.benchmarks import load_benchmark

    b = load_benchmark("nb201-analog", objective="analog_accuracy")
    arch = (3,) * 6
    assert b.query(arch, run_key=0).value == pytest.approx(85.64)


def test_unknown_objective_is_a_user_error():
    from tabnas.benchmarks import load_benchmark
    from tabnas.errors import UserError

    with pytest.raises(UserError, match="baseline_accuracy"):
        load_benchmark("nb201-analog", objective="nope")


def test_restricted_unpickler_refuses_other_globals():
    payload = pickle.dumps(print)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _SafeUnpickler(io.BytesIO(payload)).load()


def test_cache_round_trip_and_stale_rebuild(tmp_path, monkeypatch):
    from tabnas.cache import cached_convert

    monkeypatch.setenv("TABNAS_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "source.bin"
    src.write_bytes(b"one")
    calls = []

    def convert():
        calls.append(1)
        return {"x": np.frombuffer(src.read_bytes(), dtype=np.uint8).astype(float)}, {}

    a, meta = cached_convert("t", [src], convert)
    b, _ = cached_convert("t", [src], convert)
    assert len(calls) == 1 and np.array_equal(a["x"], b["x"])
    assert meta["sources"][0]["sha256"]
    src.write_bytes(b"two!")  # source changed: the cache must be rebuilt
    c, _ = cached_convert("t", [src], convert)
    assert len(calls) == 2 and len(c["x"]) == 4


def test_shipped_file_is_found():
    path = data_file()
    assert path is not None and path.name == "data.anb" and path.stat().st_size > 1_000_000


def test_mflops_match_official_scale():
    assert cell_mflops((3,) * 6) == pytest.approx(220.11, abs=0.05)
    assert math.isclose(cell_mflops((0,) * 6), cell_mflops((1,) * 6))
