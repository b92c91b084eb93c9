"""The product space, the NB201 categorical and path views, and bracket rungs."""

import numpy as np
import pytest

from harness.cli import split_names
from harness.spaces.nb201 import NB201Space, string_to_arch
from harness.spaces.product import ProductSpace
from strategies._brackets import rung_fidelities


def test_product_space_round_trips_and_moves():
    space = ProductSpace((4, 3, 2))
    assert space.size == 24 and space.choices() == (4, 3, 2)
    archs = space.all_archs()
    assert len(set(archs)) == 24 and [space.index(a) for a in archs] == list(range(24))
    assert archs[1] == (0, 0, 1) and archs[2] == (0, 1, 0)
    for a in archs:
        assert space.from_string(space.to_string(a)) == a
        nbrs = space.neighbours(a)
        assert len(nbrs) == 3 + 2 + 1 and a not in nbrs
        assert all(sum(x != y for x, y in zip(a, n, strict=True)) == 1 for n in nbrs)
        x = space.encode(a)
        assert x.shape == (9,) and x.sum() == 3 and x[a[0]] == 1 and x[4 + a[1]] == 1
    rng = np.random.default_rng(0)
    assert all(space.mutate((1, 1, 1), rng) in space.neighbours((1, 1, 1)) for _ in range(20))
    for bad in ((4, 0, 0), (0, 0), (0, -1, 0), "0-0-0"):
        assert bad not in space
    with pytest.raises(ValueError, match="out of range"):
        space.from_string("0-3-0")
    assert space.supports("choices") and not space.supports("path_encode")


def test_nb201_path_encoding_counts_paths():
    space = NB201Space()
    assert space.choices() == (5,) * 6 and space.supports("path_encode")
    conv = string_to_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
                          "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    x = space.path_encode(conv)
    # conv3x3 is op 3 -> code 2 among non-none ops: one sequence per path length.
    assert x.shape == (84,) and x.sum() == 3
    assert x[2] == 1 and x[4 + 2 * 4 + 2] == 1 and x[20 + 2 * 16 + 2 * 4 + 2] == 1
    cut = string_to_arch("|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    # Only 0-2-3 survives: skip then conv1x1 (codes 0 and 1).
    assert np.flatnonzero(space.path_encode(cut)).tolist() == [4 + 0 * 4 + 1]
    assert space.path_encode((0,) * 6).sum() == 0


def test_rungs_are_spaced_by_eta():
    assert rung_fidelities((1, 3, 9, 27), 3, 5) == (1, 3, 9, 27)
    assert rung_fidelities(tuple(range(1, 201)), 3, 5) == (2, 7, 22, 66, 200)
    assert rung_fidelities(tuple(range(1, 201)), 3, 2) == (66, 200)
    assert rung_fidelities((10, 12), 3, 5) == (12,)


def test_strategy_lists_keep_commas_inside_parentheses():
    assert split_names("rea, optuna:TPESampler(a=1, b=2),bo") == [
        "rea", "optuna:TPESampler(a=1, b=2)", "bo"]
    assert split_names(" random ,,") == ["random"]
