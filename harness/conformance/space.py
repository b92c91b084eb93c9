"""The search-space conformance suite: what every strategy assumes of a space.

Subclass :class:`SpaceConformance` and supply a ``space`` fixture::

    import pytest
    from tabnas.testing import SpaceConformance

    class TestMySpace(SpaceConformance):
        @pytest.fixture
        def space(self):
            return MySpace()

Checked: ``index`` and ``arch_at`` are inverse bijections on ``0 .. size-1``
(every index for spaces up to :attr:`SpaceConformance.enumerate_up_to`
architectures, a sample beyond); string forms round-trip; ``mutate`` stays in
the space, changes the architecture and is one of the ``neighbours``;
``neighbours`` come in a fixed order, are distinct, in the space, and on a
plain product space differ in exactly one position; ``from_choices`` maps
every tuple within ``cardinalities`` into the space (or to ``None``);
``encode`` has one fixed length; the space pickles and the copy answers
alike. An operation the space does not provide makes its checks *skipped*
(with the reason), never passed.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from tabnas.spaces.base import SearchSpace


def _require(space: SearchSpace, operation: str) -> None:
    if not space.supports(operation):
        pytest.skip(f"{operation!r} not checked: {space.unsupported_reason(operation)}")


class SpaceConformance:
    """Base class of space conformance tests. Subclass and supply a ``space`` fixture."""

    #: Spaces up to this size are checked at every index; larger ones on a sample.
    enumerate_up_to = 30_000
    #: Architectures the move checks are run from.
    samples = 40

    def archs(self, space: SearchSpace, n: int | None = None) -> list:
        rng = np.random.default_rng(0)
        count = min(space.size, n or self.samples)
        return [space.arch_at(int(i)) for i in rng.choice(space.size, count, replace=False)]

    def test_index_and_arch_at_are_a_bijection(self, space):
        assert space.size >= 1
        indices = (range(space.size) if space.size <= self.enumerate_up_to else
                   np.random.default_rng(1).choice(space.size, 2000, replace=False).tolist())
        seen = set()
        for i in indices:
            arch = space.arch_at(int(i))
            assert isinstance(arch, tuple) and hash(arch) is not None
            assert space.index(arch) == i and arch in space
            seen.add(arch)
        assert len(seen) == len(indices)
        for bad in (-1, space.size):
            with pytest.raises((ValueError, IndexError)):
                space.arch_at(bad)

    def test_sample_stays_in_the_space(self, space):
        rng = np.random.default_rng(2)
        for _ in range(50):
            assert space.sample(rng) in space

    def test_strings_round_trip(self, space):
        try:
            space.to_string(space.arch_at(0))
        except NotImplementedError:
            pytest.skip(f"space {space.name!r} has no string form")
        for arch in self.archs(space):
            text = space.to_string(arch)
            assert isinstance(text, str) and text
            assert space.from_string(text) == arch

    def test_mutate_stays_in_the_space_and_changes_the_arch(self, space):
        _require(space, "mutate")
        if space.size < 2:
            pytest.skip("a one-architecture space has nothing to mutate to")
        rng = np.random.default_rng(3)
        for arch in self.archs(space):
            for _ in range(3):
                child = space.mutate(arch, rng)
                assert child in space and child != arch

    def test_mutate_is_a_neighbour(self, space):
        _require(space, "mutate")
        _require(space, "neighbours")
        rng = np.random.default_rng(4)
        for arch in self.archs(space, 15):
            nbrs = set(space.neighbours(arch))
            if not nbrs:
                continue
            for _ in range(5):
                assert space.mutate(arch, rng) in nbrs

    def test_neighbours_fixed_order_and_one_move_away(self, space):
        _require(space, "neighbours")
        product = self._is_plain_product(space)
        for arch in self.archs(space, 20):
            first = list(space.neighbours(arch))
            assert first == list(space.neighbours(arch))  # fixed order
            assert len(set(first)) == len(first) and arch not in first
            for nb in first:
                assert nb in space
                if product:
                    assert sum(a != b for a, b in zip(arch, nb, strict=True)) == 1

    def test_from_choices_within_cardinalities(self, space):
        _require(space, "cardinalities")
        cards = space.cardinalities()
        assert all(isinstance(c, int) and c >= 1 for c in cards)
        rng = np.random.default_rng(5)
        hits = 0
        for _ in range(200):
            choices = tuple(int(rng.integers(c)) for c in cards)
            arch = space.from_choices(choices)
            assert arch is None or arch in space
            hits += arch is not None
        assert hits > 0  # the categorical view reaches the space

    def test_encode_has_one_length(self, space):
        _require(space, "encode")
        lengths = set()
        for arch in self.archs(space, 20):
            x = np.asarray(space.encode(arch), dtype=float)
            assert x.ndim == 1 and np.isfinite(x).all()
            lengths.add(len(x))
        assert len(lengths) == 1

    def test_path_encode_has_one_length(self, space):
        _require(space, "path_encode")
        lengths = {len(space.path_encode(a)) for a in self.archs(space, 20)}
        assert len(lengths) == 1

    def test_pickles(self, space):
        copy = pickle.loads(pickle.dumps(space))
        assert copy.size == space.size
        for arch in self.archs(space, 10):
            assert copy.index(arch) == space.index(arch)
            if space.supports("mutate") and space.size > 1:
                a, b = np.random.default_rng(6), np.random.default_rng(6)
                assert copy.mutate(arch, a) == space.mutate(arch, b)

    @staticmethod
    def _is_plain_product(space: SearchSpace) -> bool:
        """Whether every tuple within the cardinalities is itself an architecture."""
        if not space.supports("cardinalities"):
            return False
        cards = space.cardinalities()
        return math.prod(cards) == space.size and len(space.arch_at(0)) == len(cards)
