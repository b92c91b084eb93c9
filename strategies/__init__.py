"""Search strategies, one module each. Every module registers its strategy on import.

Add a strategy by dropping a module here that subclasses
:class:`tabnas.strategy.Strategy` and decorates it with
``@register("name")``; it is then listed, run and conformance-tested
automatically.
"""
