"""The NAS-Bench-101 space: the official graph hash, pruning, and the moves."""

import numpy as np
import pytest

from tabnas.spaces.nb101 import (
    OPS,
    NB101Space,
    cell_hash,
    check_cell,
    hash_module,
    pad,
    prune,
)
from tests.nb101_fixture import (
    README_MATRIX,
    README_OPS,
    STORED_MATRIX,
    STORED_OPS,
    fixture_cells,
)

A = np.array


def test_readme_cell_has_its_official_hash():
    # The README's Inception-like cell is 28cfc787... in the official data (its key in
    # google-research/unified_functional_hashing's NAS-Bench-101 test data), and the
    # file stores it in another, isomorphic spelling (the official colab's output).
    assert cell_hash(README_MATRIX, README_OPS) == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert cell_hash(STORED_MATRIX, STORED_OPS) == "28cfc7874f6d200472e1a9dcd8650aa0"


def test_official_graph_util_cases():
    # The cases of nasbench/tests/graph_util_test.py (test_hash_module).
    diamond = A([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert hash_module(diamond, [-1, 1, 2, -2]) == hash_module(diamond, [-1, 2, 1, -2])

    m1 = A([[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    m2 = A([[0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    m3 = A([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    l1, l2, l3 = [-1, 1, 2, 3, -2], [-1, 2, 3, 1, -2], [-1, 2, 1, 3, -2]
    h1 = hash_module(m1, l1)
    assert h1 == hash_module(m2, l2) == hash_module(m3, l3)
    assert hash_module(m1, l2) != h1 and hash_module(m1, l3) != h1

    r1 = A([[0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 1, 0], [0, 0, 0, 0, 1, 1, 0, 0],
            [0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0]])
    r2 = A([[0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 1, 0, 1, 0],
            [0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0]])
    lab = [-1, 1, 1, 1, 1, 1, 1, -2]
    assert hash_module(r1, lab) != hash_module(r2, lab)

    chain = A([[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    assert hash_module(chain, [-1, 1, 0, 0, -2]) != hash_module(chain, [-1, 0, 0, 1, -2])
    skip = A([[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert hash_module(skip, [-1, 1, 0, -2]) != hash_module(skip, [-1, 0, 1, -2])
    fan = A([[0, 1, 1, 1, 1, 0, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1],
             [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1],
             [0, 0, 0, 0, 0, 0, 0]])
    assert hash_module(fan, [-1, 1, 0, 0, 0, 0, -2]) != hash_module(fan, [-1, 0, 0, 0, 1, 0, -2])


def test_hash_is_invariant_under_vertex_permutation():
    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(3, 10))
        m = rng.integers(0, 2, (n, n))
        labels = rng.integers(0, 4, n).tolist()
        perm = rng.permutation(n)
        inv = np.argsort(perm)
        pm = m[np.ix_(inv, inv)]  # vertex perm[v] of the new graph is vertex v of the old
        pl = [labels[i] for i in inv]
        assert hash_module(m, labels) == hash_module(pm, pl)


def test_pruning_as_official_model_spec():
    m, ops = prune(A([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]),
                   ["a", "b", "c", "d"])
    assert m.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]] and ops == ["a", "b", "d"]
    m, ops = prune(A([[0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]),
                   ["a", "b", "c", "d"])
    assert m.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]] and ops == ["a", "c", "d"]
    assert prune(A([[0, 0], [0, 0]]), ["a", "b"]) is None
    assert prune(A([[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]), list("abcd")) is None


def test_space_limits():
    ten_edges = np.triu(np.ones((7, 7), dtype=int), 1)
    ten_edges[0, 2:] = 0
    ten_edges[1, 3:] = 0
    ops = ["input"] + [OPS[0]] * 5 + ["output"]
    assert int(ten_edges.sum()) > 9 and "edges" in check_cell(ten_edges, ops)
    assert "unknown op" in check_cell(A([[0, 1, 0], [0, 0, 1], [0, 0, 0]]),
                                      ["input", "conv5x5", "output"])
    assert "upper-triangular" in check_cell(A([[0, 1], [1, 0]]), ["input", "output"])
    assert cell_hash(A([[0, 0], [0, 0]]), ["input", "output"]) is None
    # A dangling vertex is pruned away: the same cell as without it.
    with_dangler = A([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    assert cell_hash(with_dangler, ["input", OPS[0], OPS[2], "output"]) == \
        cell_hash(A([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), ["input", OPS[0], "output"])


def test_pad_keeps_the_cell():
    m, ops = A([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), ["input", OPS[1], "output"]
    full, full_ops = pad(m, ops)
    assert full.shape == (7, 7) and full_ops[-1] == "output"
    assert cell_hash(full, full_ops) == cell_hash(m, ops)


@pytest.fixture(scope="module")
def space():
    return _space_of(fixture_cells())


def _space_of(cells) -> NB101Space:
    keys = [cell_hash(m, o) for m, o in cells]
    order = np.argsort(keys)
    n = len(cells)
    mats = np.zeros((n, 7, 7), np.uint8)
    ops = np.full((n, 7), -3, np.int8)
    nv = np.zeros(n, np.uint8)
    label = {"input": -1, "output": -2, **{o: i for i, o in enumerate(OPS)}}
    for row, i in enumerate(order):
        m, o = cells[i]
        mats[row, :len(o), :len(o)] = m
        ops[row, :len(o)] = [label[x] for x in o]
        nv[row] = len(o)
    return NB101Space(np.array(sorted(keys), dtype="S32"), mats, ops, nv)


def test_strings_round_trip(space):
    readme = space.from_string("28cfc7874f6d200472e1a9dcd8650aa0")
    assert space.to_string(readme) == "28cfc7874f6d200472e1a9dcd8650aa0"
    spelled = "".join(str(b) for b in README_MATRIX.ravel()) + " " + ",".join(README_OPS)
    assert space.from_string(spelled) == readme  # an isomorphic spelling: the same cell
    assert space.from_string(space.describe(readme)) == readme
    for arch in space.all_archs():
        assert space.from_string(space.to_string(arch)) == arch
    with pytest.raises(ValueError, match="not the hash"):
        space.from_string("0" * 32)
    with pytest.raises(ValueError, match="no path"):
        space.from_string("0000 input,output")


def test_neighbours_and_mutate(space):
    readme = space.from_string("28cfc7874f6d200472e1a9dcd8650aa0")
    nbrs = space.neighbours(readme)
    # every other fixture cell except the two tiny ones is one move from the README cell
    assert len(nbrs) == space.size - 3 and len(set(nbrs)) == len(nbrs)
    assert readme not in nbrs and all(a in space for a in nbrs)
    rng = np.random.default_rng(1)
    children = [space.mutate(readme, rng) for _ in range(200)]
    assert set(children) <= set(nbrs) and len(set(children)) > len(nbrs) // 2
    again = [space.mutate(readme, np.random.default_rng(1)) for _ in range(1)]
    assert again == children[:1]
    tiny = space.from_string("0100 input,output")
    child = space.mutate(tiny, np.random.default_rng(0))  # no neighbour in the table
    assert child != tiny and child in space


def test_encodings(space):
    readme = space.from_string("28cfc7874f6d200472e1a9dcd8650aa0")
    adj = space.encode_adjacency(readme)
    assert adj.shape == (36,) and adj[:21].sum() == 9 and adj[21:].sum() == 5
    path = space.encode_path(readme)
    # input->1x1->out, input->3x3->out, input->3x3->3x3->out, input->pool->out
    assert path.shape == (364,) and path.sum() == 4
    assert path[1 + OPS.index("conv1x1-bn-relu")] == 1
    assert path[1 + 3 + 0] == 1  # two 3x3 convs in a row: code 0*3+0 after the 1+3 shorter ones
    enc = {space.encode(a).tobytes() for a in space.all_archs()}
    assert len(enc) == space.size  # distinct cells, distinct encodings
    path_space = NB101Space(space.hashes, space.matrices, space.ops, space.n_vertices,
                            encoding="path")
    assert np.array_equal(path_space.encode(readme), path)


def test_truncated_path_encoding_is_naszillas_cutoff(space):
    """BANANAS' ``trunc_path`` on NAS-Bench-101: the 1 + 3 + 9 + 27 paths through 0-3 ops."""
    from tabnas.strategies._naszilla import truncated_path_encoding

    chain = np.eye(7, k=1, dtype=np.uint8)  # input -> 5 ops in a row -> output
    chain[0, 2] = 1  # and a shortcut past the first: paths through 5 and 4 ops
    ops = ["input", *["conv3x3-bn-relu"] * 5, "output"]
    with_chain = _space_of([*fixture_cells(), (chain, ops)])
    for arch in with_chain.all_archs():
        full, cut = with_chain.encode_path(arch), truncated_path_encoding(with_chain, arch)
        assert cut.shape == (40,) and np.array_equal(cut, full[:40])
    arch = with_chain.from_string(cell_hash(chain, ops))
    full = with_chain.encode_path(arch)
    assert full.sum() == 2 and not truncated_path_encoding(with_chain, arch).any()
