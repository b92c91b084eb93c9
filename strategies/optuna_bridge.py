"""Run any Optuna sampler as a tabnas strategy: ``--strategy optuna:TPESampler``.

Akiba, Sano, Yanase, Ohta & Koyama, "Optuna: A Next-generation Hyperparameter
Optimization Framework", KDD 2019. The name after ``optuna:`` is a class in
``optuna.samplers``, optionally with keyword arguments written as in Python:
``optuna:TPESampler(n_startup_trials=5, multivariate=True)``. The sampler's
simple keyword parameters (numbers, booleans, strings) are also the strategy's
hyperparameters, so ``--hp optuna:TPESampler.n_startup_trials=5`` works and
bad values get the usual one-line error.

Each position of the architecture is one categorical parameter (``x0``,
``x1``, ...) over its choices (the space's ``cardinalities``), and the search runs
through Optuna's ask/tell interface on an in-memory study. The sampler's
``seed`` is drawn from the strategy's stream, so runs are reproducible and
paired like every other strategy's. Non-finite scores are told as failed
trials. Each Optuna trial is kept under the tabnas trial id it became, so
results arriving out of order (simulated parallel workers) close the right
one; Optuna's sampler sees the others as running. Optuna is optional:
without it, asking for ``optuna:...`` is a one-line error saying how to
install it; nothing else needs it.
"""

from __future__ import annotations

import ast
import inspect
import logging
import math
from contextlib import contextmanager
from typing import Any

from tabnas.errors import BadConfiguration, DataMissing
from tabnas.strategy import STRATEGIES, Hyperparameter, Strategy
from tabnas.trials import Suggestion, Trial
from tabnas.types import Observation

PREFIX = "optuna"
_SIMPLE = (bool, int, float, str)


def _parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"TPESampler(n_startup_trials=5)"`` -> ("TPESampler", {"n_startup_trials": 5})."""
    try:
        node = ast.parse(spec.strip(), mode="eval").body
        if isinstance(node, ast.Name):
            return node.id, {}
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
                and all(k.arg for k in node.keywords)):
            return node.func.id, {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (SyntaxError, ValueError):
        pass
    raise BadConfiguration(f"strategy '{PREFIX}:{spec}': write {PREFIX}:SamplerClass or "
                           f"{PREFIX}:SamplerClass(name=value, ...) with literal values")


def _import_optuna(spec: str):
    try:
        import optuna
    except ImportError:
        raise DataMissing(f"strategy '{PREFIX}:{spec}' needs Optuna, which is not installed: "
                          "pip install optuna (or pip install 'tabnas[optuna]')") from None
    return optuna


@contextmanager
def _quiet(optuna):
    """Optuna logs every trial at INFO; keep a benchmark's output readable."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


class OptunaStrategy(Strategy):
    """Base of the classes :func:`resolve` builds, one per ``optuna:...`` name."""

    #: The peer's method is run as Optuna runs it: its proposals are passed on unchanged.
    repeats_pending = ("Optuna's sampler chooses every proposal and the bridge passes it on "
                       "unchanged, as Optuna would evaluate it")
    requires = frozenset({"cardinalities"})
    #: Samplers that support several objectives (NSGA-II/III, TPE, ...) take them all;
    #: Optuna refuses the others with its own message.
    objectives = "any"
    sampler_class: str = ""
    #: Spec keyword arguments that are not simple hyperparameters (passed as given).
    sampler_extra: dict[str, Any] = {}
    #: The sampler's own defaults of the hyperparameters, to pass only what differs.
    sampler_defaults: dict[str, Any] = {}

    def __init__(self, space, *, rng, history, fidelities=None, **hyperparameters) -> None:
        if "seed" in hyperparameters:
            raise BadConfiguration(f"strategy {self.name!r}: the sampler's seed is drawn from the "
                                   "run's seed (seeds); do not pass one")
        super().__init__(space, rng=rng, history=history, fidelities=fidelities,
                         **hyperparameters)
        optuna = _import_optuna(self.name.partition(":")[2])
        cls = getattr(optuna.samplers, self.sampler_class)
        kwargs = dict(self.sampler_extra)
        for key, default in self.sampler_defaults.items():
            value = getattr(self, key)
            if value != default:
                kwargs[key] = value
        if "seed" in inspect.signature(cls).parameters:
            kwargs["seed"] = int(self.rng.integers(2**31 - 1))
        try:
            sampler = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise BadConfiguration(f"strategy {self.name!r}: {exc}") from None
        self._dists = {f"x{i}": optuna.distributions.CategoricalDistribution(list(range(k)))
                       for i, k in enumerate(space.cardinalities())}
        self._sampler = sampler
        self._study = None  # created at the first ask, when n_objectives is set
        #: Optuna trials asked and not yet told, by the tabnas trial id they became.
        self._running: dict[int, Any] = {}

    def ask(self) -> Suggestion:
        import optuna

        # On a constrained space a trial whose choices stand for no architecture
        # is closed as failed (Optuna learns to avoid it) and another is asked for.
        with _quiet(optuna):
            if self._study is None:  # one direction per objective: a multi-objective study
                try:
                    self._study = optuna.create_study(
                        directions=["maximize"] * self.n_objectives, sampler=self._sampler)
                except ValueError as exc:  # a sampler without multi-objective support
                    raise BadConfiguration(f"strategy {self.name!r}: {exc}") from None
            for _ in range(100):
                trial = self._study.ask(self._dists)
                arch = self.space.from_choices(tuple(int(trial.params[k]) for k in self._dists))
                if arch is not None:
                    self._running[self.history.asked] = trial  # the id it will get
                    return Suggestion(arch)
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return Suggestion(self.space.sample(self.rng))

    def tell(self, trial: Trial, observation: Observation) -> None:
        import optuna

        optuna_trial = self._running.pop(trial.id, None)
        if optuna_trial is None:
            return  # a fallback sample: Optuna has no trial to close
        with _quiet(optuna):
            values = observation.scores or (observation.score,)
            if any(math.isnan(v) for v in values):
                self._study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
            else:
                self._study.tell(optuna_trial, values[0] if len(values) == 1 else list(values))

    def __reduce__(self):
        # The class is built at run time, so pickle it by its registry name.
        return (_rebuild, (self.name, self.__dict__))


def _rebuild(name: str, state: dict[str, Any]) -> OptunaStrategy:
    cls = STRATEGIES.get(name)
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def resolve(spec: str) -> type[Strategy]:
    """Build the strategy class for ``optuna:SPEC`` (called by the registry)."""
    class_name, given = _parse_spec(spec)
    optuna = _import_optuna(spec)
    samplers = {n for n in dir(optuna.samplers)
                if isinstance(getattr(optuna.samplers, n), type)
                and issubclass(getattr(optuna.samplers, n), optuna.samplers.BaseSampler)
                and n != "BaseSampler"}
    if class_name not in samplers:
        raise BadConfiguration(f"strategy '{PREFIX}:{spec}': {class_name!r} is not a sampler in "
                               f"optuna.samplers; choose one of: {', '.join(sorted(samplers))}")
    params = inspect.signature(getattr(optuna.samplers, class_name)).parameters
    hyperparameters: dict[str, Hyperparameter] = {}
    defaults: dict[str, Any] = {}
    required = []
    for p in params.values():
        if p.name == "seed" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            required.append(p.name)
        elif isinstance(p.default, _SIMPLE):
            defaults[p.name] = p.default
            hyperparameters[p.name] = Hyperparameter(p.default, f"{class_name}({p.name}=...)")
    extra = {}
    for key, value in given.items():
        if key == "seed":
            raise BadConfiguration(f"strategy '{PREFIX}:{spec}': the seed comes from the run's "
                                   "seeds; do not pass one")
        if key in hyperparameters:
            hp = hyperparameters[key]
            hyperparameters[key] = Hyperparameter(hp.validate(key, value), hp.doc)
        elif key in params:
            extra[key] = value
        else:
            raise BadConfiguration(f"strategy '{PREFIX}:{spec}': {class_name} has no parameter "
                                   f"{key!r}; valid: {', '.join(sorted(set(params) - {'seed'}))}")
    missing = [r for r in required if r not in given]
    if missing:
        raise BadConfiguration(f"strategy '{PREFIX}:{spec}': {class_name} needs "
                               f"{', '.join(missing)}; give them as "
                               f"{PREFIX}:{class_name}(name=...)")
    return type(f"Optuna{class_name}", (OptunaStrategy,), {
        "name": f"{PREFIX}:{spec}",
        "__doc__": f"Optuna's {class_name} through ask/tell (see strategies/optuna_bridge.py).",
        "sampler_class": class_name,
        "sampler_extra": extra,
        "sampler_defaults": defaults,
        "hyperparameters": hyperparameters,
        "__module__": __name__,
    })


STRATEGIES.add_resolver(PREFIX, resolve)
