"""The product space, the NB201 categorical and path views, and bracket rungs."""

import numpy as np

from tabnas.cli import split_names
from tabnas.spaces.nb201 import NB201Space, string_to_arch
from tabnas.spaces.product import ProductSpace
from tabnas.strategies._brackets import rung_fidelities


def test_product_space_categorical_view():
    space = ProductSpace("p", [("a", "xyzw"), ("b", (1, 2, 3)), ("c", (True,))])
    assert space.cardinalities() == (4, 3, 1) and space.supports("cardinalities")
    assert not space.supports("path_encode")
    assert NB201Space().cardinalities() == (5,) * 6


def test_toy_tables_are_fixed_and_split_validation_from_test():
    from tabnas.benchmarks import load_benchmark

    toy, multi = load_benchmark("toy"), load_benchmark("toy-fidelities")
    assert toy.space.size == multi.space.size == 108 and toy.fidelities is None
    assert multi.fidelities == (1, 3, 9, 27)
    assert np.array_equal(toy.values[:, :, 0], multi.values[:, :, -1])
    assert not np.isclose(toy.values, toy.tests).any()
    assert (np.diff(multi.values, axis=2) > 0).all()  # learning curves rise
    assert toy.space.to_string((1, 2, 2, 0)) == "x0=1,x1=2,x2=2,x3=0"
    assert toy.optimum().extras["value_arch"] == "x0=1,x1=2,x2=2,x3=0"


def test_nb201_path_encoding_counts_paths():
    space = NB201Space()
    assert space.supports("path_encode")
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
