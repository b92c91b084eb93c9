import numpy as np
import pytest

from tabnas.spaces.nb201 import NB201Space, arch_to_string, string_to_arch

OFFICIAL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_official_string_round_trip():
    space = NB201Space()
    arch = string_to_arch(OFFICIAL)
    assert arch == (3, 3, 4, 1, 3, 1)
    assert arch_to_string(arch) == OFFICIAL
    assert space.arch_at(space.index(arch)) == arch
    assert space.to_string(arch) == OFFICIAL


def test_index_is_a_bijection_over_all_cells():
    space = NB201Space()
    assert space.size == 15625
    archs = space.all_archs()
    assert len(set(archs)) == 15625
    assert [space.index(a) for a in archs] == list(range(15625))
    assert len({space.to_string(a) for a in archs}) == 15625


def test_moves():
    space = NB201Space()
    rng = np.random.default_rng(1)
    arch = space.sample(rng)
    nbrs = space.neighbours(arch)
    assert len(nbrs) == 24 and len(set(nbrs)) == 24 and arch not in nbrs
    for _ in range(200):
        m = space.mutate(arch, rng)
        assert m in space and m != arch
        assert sum(a != b for a, b in zip(arch, m, strict=True)) == 1
    x = space.encode(arch)
    assert x.shape == (30,) and x.sum() == 6 and set(np.unique(x)) == {0.0, 1.0}


@pytest.mark.parametrize("bad", ["", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                                 "|none~0|+|none~0|none~1|"])
def test_bad_strings_raise(bad):
    with pytest.raises(ValueError):
        string_to_arch(bad)


def test_membership():
    space = NB201Space()
    assert (0, 0, 0, 0, 0, 0) in space
    assert (0, 0, 0, 0, 0, 5) not in space
    assert (0, 0) not in space
