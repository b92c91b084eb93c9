"""The MLP spaces: numbering, strings, moves and features."""

import numpy as np
import pytest

from tabnas.spaces.mlp import MLPSpace


@pytest.mark.parametrize(("shared", "size", "n_vars"), [(False, 81, 4), (True, 9, 2)])
def test_every_index_round_trips(shared, size, n_vars):
    space = MLPSpace(shared=shared)
    assert space.size == size
    archs = space.all_archs()
    assert len(set(archs)) == size and all(len(a) == n_vars for a in archs)
    for i, arch in enumerate(archs):
        assert space.index(arch) == i
        assert space.from_string(space.to_string(arch)) == arch
        assert arch in space
    assert len({space.to_string(a) for a in archs}) == size


def test_strings_and_layers():
    space = MLPSpace()
    arch = space.from_string("64-relu_128-tanh")
    assert arch == (0, 0, 1, 2)
    assert space.layers(arch) == [(64, "relu"), (128, "tanh")]
    assert space.index(arch) == 0 * 27 + 0 * 9 + 1 * 3 + 2
    assert [v for v, _ in space.variables] == ["width1", "act1", "width2", "act2"]
    shared = MLPSpace(shared=True)
    assert shared.layers(shared.from_string("256-sigmoid")) == [(256, "sigmoid")] * 2
    for bad in ("64-relu", "32-relu_64-relu", "64-gelu_64-relu", "64relu_64-relu"):
        with pytest.raises(ValueError):
            space.from_string(bad)
    with pytest.raises(ValueError):
        shared.from_string("64-relu_64-relu")
    assert (0, 0, 0, 3) not in space and (0, 0) not in space


@pytest.mark.parametrize("shared", [False, True])
def test_moves_and_encoding(shared):
    space = MLPSpace(shared=shared)
    rng = np.random.default_rng(0)
    n_vars = len(space.variables)
    for arch in space.all_archs():
        nbrs = space.neighbours(arch)
        assert len(nbrs) == len(set(nbrs)) == 2 * n_vars
        assert all(sum(a != b for a, b in zip(n, arch, strict=True)) == 1 for n in nbrs)
        for _ in range(5):
            assert space.mutate(arch, rng) in nbrs
        x = space.encode(arch)
        assert x.shape == (3 * n_vars,) and x.sum() == n_vars
    counts = np.bincount([space.index(space.sample(rng)) for _ in range(20 * space.size)],
                         minlength=space.size)
    assert counts.min() > 0
    assert space.supports("mutate") and space.supports("neighbours") and space.supports("encode")
