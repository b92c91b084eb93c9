"""Search spaces: the set of architectures and the moves strategies make in it."""

from harness.spaces.base import SearchSpace

__all__ = ["SearchSpace"]
