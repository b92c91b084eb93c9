"""The strategy interface: ask/tell over trials, with a ``numpy.random.Generator`` passed in.

A strategy proposes; the runner evaluates. ``ask`` returns a
:class:`~tabnas.trials.Suggestion`, :data:`~tabnas.trials.WAIT` or
:data:`~tabnas.trials.DONE`; the runner turns a suggestion into a
:class:`~tabnas.trials.Trial` and later calls ``tell(trial, observation)``.
What was asked and observed is in ``self.history``, kept by the runner, so a
strategy keeps only the state of its own method (a population, a model, a
bracket). The strategy is told an :class:`~tabnas.types.Observation`
(architecture, fidelity, score, cost) and nothing else, so it cannot read a
test metric. All randomness comes from the generator it is given; nothing
here touches global RNG state.

Hyperparameters are declared once as :class:`Hyperparameter` objects; the base
class validates values given by users (type and range) and stores them as
attributes, so a bad value is a one-line error naming the parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tabnas.errors import BadConfiguration
from tabnas.registry import Registry
from tabnas.spaces.base import SearchSpace
from tabnas.trials import Done, History, Suggestion, Trial, Wait
from tabnas.types import Observation


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
            raise BadConfiguration(f"hyperparameter {name}={value!r}: expected {self.describe()}")
        if kind is float and not math.isfinite(value):  # nan passes every range check
            raise BadConfiguration(f"hyperparameter {name}={value!r}: expected a finite "
                                   f"number, {self.describe()}")
        if self.choices is not None and value not in self.choices:
            raise BadConfiguration(f"hyperparameter {name}={value!r}: expected {self.describe()}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise BadConfiguration(f"hyperparameter {name}={value!r}: expected {self.describe()}")
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
        raise BadConfiguration(f"hyperparameter {name}={text!r}: expected "
                               f"{hp.describe()}") from None


class Strategy:
    """Base class of search strategies: subclass, declare, implement ``ask``.

    ``tell`` is optional: override it to update state on each result (a policy
    gradient step, closing an Optuna trial) rather than reading the history.

    Class attributes a subclass may set:

    - ``hyperparameters``: name -> :class:`Hyperparameter`;
    - ``requires``: space operations it needs (``"mutate"``, ``"neighbours"``,
      ``"encode"``) and ``"fidelities"`` for multi-fidelity strategies;
    - ``deterministic``: True if the proposals do not depend on the rng;
    - ``repeats_pending``: why it may suggest an (architecture, fidelity)
      that is still being evaluated, a wasted evaluation; empty (the default)
      for a strategy that never does, which the conformance suite checks
      under simulated parallel workers (a reason given is shown as the skip);
    - ``objectives``: how many objectives it handles (see the attribute).

    ``self.history`` (a :class:`~tabnas.trials.History`) holds the finished
    trials with their observations and the pending ones. With simulated
    parallel workers (``--sim-workers``) results arrive while other trials are
    pending, so a strategy that ranks results must rank only what it finds in
    the history, and return ``WAIT`` when what it needs is still pending.
    """

    name: ClassVar[str] = ""
    hyperparameters: ClassVar[dict[str, Hyperparameter]] = {}
    requires: ClassVar[frozenset[str]] = frozenset()
    deterministic: ClassVar[bool] = False
    repeats_pending: ClassVar[str] = ""
    #: ``"single"``, ``"multi"`` (needs a multi-objective benchmark, reads
    #: ``Observation.scores``) or ``"any"``; the runner refuses a mismatch.
    objectives: ClassVar[str] = "single"
    #: How many objectives the benchmark has; set by the runner before the first ask.
    n_objectives: int = 1

    def __init__(
        self,
        space: SearchSpace,
        *,
        rng: np.random.Generator,
        history: History,
        fidelities: tuple[int, ...] | None = None,
        **hyperparameters: Any,
    ) -> None:
        self.space = space
        self.rng = rng
        self.history = history
        self.fidelities = fidelities
        unknown = set(hyperparameters) - set(self.hyperparameters)
        if unknown:
            valid = ", ".join(f"{k} ({v.describe()})" for k, v in self.hyperparameters.items())
            raise BadConfiguration(
                f"unknown hyperparameter(s) {', '.join(sorted(unknown))} for strategy "
                f"{self.name!r}; valid: {valid or 'none'}"
            )
        for key, hp in self.hyperparameters.items():
            value = hyperparameters.get(key, hp.default)
            setattr(self, key, hp.validate(key, value) if key in hyperparameters else value)

    def ask(self) -> Suggestion | Wait | Done:
        """Propose the next trial: a ``Suggestion``, or ``WAIT`` / ``DONE``.

        ``WAIT`` is only valid while a trial is pending (the runner refuses it
        otherwise: nothing would ever arrive); ``DONE`` ends the run early,
        and the run's records say why.
        """
        raise NotImplementedError

    def tell(self, trial: Trial, observation: Observation) -> None:
        """Receive ``trial``'s result (higher ``score`` is better).

        By the time ``tell`` is called the history already holds it, so a
        strategy that reads only the history need not override this.
        """

    @classmethod
    def check_supported(cls, space: SearchSpace, fidelities: tuple[int, ...] | None) -> None:
        """Raise a :class:`UserError` if the benchmark lacks what this strategy needs."""
        for op in sorted(cls.requires):
            if op == "fidelities":
                if not fidelities or len(fidelities) < 2:
                    raise BadConfiguration(
                        f"strategy {cls.name!r} needs a multi-fidelity benchmark; "
                        f"this one has a single fidelity"
                    )
            elif not space.supports(op):
                raise BadConfiguration(f"strategy {cls.name!r} needs the space operation "
                                       f"{op!r}, {space.unsupported_reason(op)}")


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
            raise BadConfiguration(f"{what} {item!r}: write it as NAME=VALUE")
        if key.strip() in out:  # the last one would silently win
            raise BadConfiguration(f"{what} {key.strip()} is given twice ({out[key.strip()]!r} "
                                   f"and {value.strip()!r}); give it once")
        out[key.strip()] = value.strip()
    return out
