"""Search spaces: the set of architectures and the moves strategies make in it."""

from tabnas.spaces.base import SearchSpace

__all__ = ["SearchSpace"]
