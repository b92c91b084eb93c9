"""The strategy interface: ask/tell with a ``numpy.random.Generator`` passed in.

A strategy proposes; the runner evaluates. The strategy is told an
:class:`~tabnas.types.Observation` (architecture, fidelity, score, cost) and
nothing else, so it cannot read a test metric. All randomness comes from the
generator it is given; nothing here touches global RNG state.

Hyperparameters are declared once as :class:`Hyperparameter` objects; the base
class validates values given by users (type and range) and stores them as
attributes, so a bad value is a one-line error naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tabnas.errors import UserError
from tabnas.registry import Registry
from tabnas.spaces.base import SearchSpace
from tabnas.types import Arch, Observation

#: A proposal: an architecture, or (architecture, fidelity) for multi-fidelity strategies.
Proposal = Arch | tuple[Arch, int]


@dataclass(frozen=True)
class Hyperparameter:
    """A declared hyperparameter: default, type, and valid range or choices."""

    default: Any
    doc: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None

    def describe(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        kind = type(self.default).__name__
        lo = "-inf" if self.low is None else self.low
        hi = "inf" if self.high is None else self.high
        return f"{kind} in [{lo}, {hi}]"

    def validate(self, name: str, value: Any) -> Any:
        kind = type(self.default)
        if isinstance(value, str) and kind is not str:
            value = _parse(value, kind, name, self)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UserError(f"hyperparameter {name}={value!r}: expected {self.describe()}")
        if self.choices is not None and value not in self.choices:
            raise UserError(f"hyperparameter {name}={value!r}: expected {self.describe()}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise UserError(f"hyperparameter {name}={value!r}: expected {self.describe()}")
        return value


def _parse(text: str, kind: type, name: str, hp: Hyperparameter) -> Any:
    try:
        if kind is bool:
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError
        return kind(text)
    except ValueError:
        raise UserError(f"hyperparameter {name}={text!r}: expected {hp.describe()}") from None


class Strategy:
    """Base class of search strategies. Subclass, declare, implement ``ask``/``tell``.

    Class attributes a subclass may set:

    - ``hyperparameters``: name -> :class:`Hyperparameter`;
    - ``requires``: space operations it needs (``"mutate"``, ``"neighbours"``,
      ``"encode"``) and ``"fidelities"`` for multi-fidelity strategies;
    - ``deterministic``: True if the proposals do not depend on the rng.

    ``pending`` holds the architectures proposed but not yet told, in the order
    they were asked. The runner keeps it current when it simulates parallel
    workers (``--sim-workers``), so an asynchronous strategy can avoid
    proposing what is already being evaluated; in a sequential search it is
    always empty, and a strategy that ignores it stays correct.
    """

    name: ClassVar[str] = ""
    pending: tuple[Arch, ...] = ()
    hyperparameters: ClassVar[dict[str, Hyperparameter]] = {}
    requires: ClassVar[frozenset[str]] = frozenset()
    deterministic: ClassVar[bool] = False

    def __init__(
        self,
        space: SearchSpace,
        *,
        rng: np.random.Generator,
        fidelities: tuple[int, ...] | None = None,
        **hyperparameters: Any,
    ) -> None:
        self.space = space
        self.rng = rng
        self.fidelities = fidelities
        unknown = set(hyperparameters) - set(self.hyperparameters)
        if unknown:
            valid = ", ".join(f"{k} ({v.describe()})" for k, v in self.hyperparameters.items())
            raise UserError(
                f"unknown hyperparameter(s) {', '.join(sorted(unknown))} for strategy "
                f"{self.name!r}; valid: {valid or 'none'}"
            )
        for key, hp in self.hyperparameters.items():
            value = hyperparameters.get(key, hp.default)
            setattr(self, key, hp.validate(key, value) if key in hyperparameters else value)

    def ask(self) -> Proposal:
        """Propose the next architecture (or ``(arch, fidelity)``).

        Raise ``StopIteration`` when there is nothing left to propose.
        """
        raise NotImplementedError

    def tell(self, observation: Observation) -> None:
        """Receive the result of a proposal (higher ``score`` is better)."""
        raise NotImplementedError

    @classmethod
    def check_supported(cls, space: SearchSpace, fidelities: tuple[int, ...] | None) -> None:
        """Raise a :class:`UserError` if the benchmark lacks what this strategy needs."""
        for op in sorted(cls.requires):
            if op == "fidelities":
                if not fidelities or len(fidelities) < 2:
                    raise UserError(
                        f"strategy {cls.name!r} needs a multi-fidelity benchmark; "
                        f"this one has a single fidelity"
                    )
            elif not space.supports(op):
                raise UserError(f"strategy {cls.name!r} needs the space operation {op!r}, "
                                f"which space {space.name!r} does not provide")


def _from_reference(name: str) -> type[Strategy] | None:
    """A strategy named by its file or module (:mod:`tabnas.plugins`)."""
    from tabnas.plugins import load_reference

    return load_reference(name)


STRATEGIES: Registry[type[Strategy]] = Registry(
    "strategy", "tabnas.strategies", "tabnas.strategies", loader=_from_reference,
    how_to_add=("to add one, name its file (path/to/my_strategy.py or "
                "path/to/my_strategy.py:Class), its module (package.module:Class), or "
                "install a package with a 'tabnas.strategies' entry point"),
)


def register(name: str):
    """Class decorator: register a strategy under ``name`` (duplicates are refused)."""

    def decorate(cls: type[Strategy]) -> type[Strategy]:
        cls.name = name
        STRATEGIES.add(name, cls)
        return cls

    return decorate


def parse_hyperparameters(items: list[str], what: str = "hyperparameter") -> dict[str, str]:
    """``["population=50", "sample=10"]`` -> dict; values are validated by the strategy.

    Also splits benchmark options (``what`` names the kind in the error message).
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{what} {item!r}: write it as NAME=VALUE")
        out[key.strip()] = value.strip()
    return out
