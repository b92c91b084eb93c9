"""Multi-objective benchmarks: objectives with a direction, searched vs reported, named presets.

A multi-objective benchmark is a shipped table read on two or more of its
metrics, named ``BENCHMARK:PRESET`` (``nbgraph-cora:acc-latency``) or
``BENCHMARK:A+B`` (``nbgraph-cora:accuracy+params``, what ``--objective A,B``
builds). Each objective keeps the table's split between what a search sees and
what is reported: accuracy is searched on the validation split and reported on
the test split (the table's own ``value``/``test_value`` pair), while latency,
parameters and FLOPs are properties of the architecture and the same number on
both sides.

Because the tables are finite, the true Pareto front of every side is exact;
:mod:`tabnas.pareto` computes it once per benchmark object and scores fronts
against it. Hypervolumes are measured in the table's normalised objective
space (each objective min-max scaled over the table, 0 = best) against a
reference point given in the objectives' own units. The default reference point
is each objective's worst value in the table plus 10% of its range (1.1 in
every normalised coordinate), so every architecture of the table adds to the
hypervolume; ``--option reference=A,B`` sets another, and one that no point of
the true front dominates is refused (every hypervolume would be 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from tabnas.benchmarks.base import Benchmark, BenchmarkEntry, TableBenchmark
from tabnas.errors import BadConfiguration, DataMissing
from tabnas.types import Arch, Evaluation

#: Separator of a multi-objective benchmark name: ``BENCHMARK:SPEC``.
SEPARATOR = ":"
#: Default reference point: this fraction of each objective's range beyond its worst value.
REFERENCE_MARGIN = 0.1


@dataclass(frozen=True)
class Objective:
    """One objective of a multi-objective benchmark.

    ``extra`` names the table's extra array that holds it (the same number is
    searched and reported); ``None`` means the table's own searched/reported
    pair (validation accuracy searched, test accuracy reported).
    """

    name: str
    maximize: bool
    label: str
    extra: str | None = None


@dataclass(frozen=True)
class Family:
    """The objectives and presets of one benchmark family."""

    objectives: tuple[Objective, ...]
    presets: dict[str, tuple[str, ...]]

    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.objectives)

    def get(self, name: str) -> Objective:
        for o in self.objectives:
            if o.name == name:
                return o
        raise KeyError(name)


_NBGRAPH = Family(
    objectives=(
        Objective("accuracy", True, "accuracy (valid_perf searched, perf reported; fraction)"),
        Objective("latency", False, "latency (s, inference; same searched and reported)",
                  "latency"),
        Objective("params", False, "para (parameters, millions; same searched and reported)",
                  "para"),
    ),
    presets={"acc-latency": ("accuracy", "latency"), "acc-params": ("accuracy", "params")},
)

_ANALOG_ACCURACIES = ("ptq_accuracy", "qat_accuracy", "noisy_accuracy", "analog_accuracy")
_ANALOG = Family(
    objectives=(
        Objective("baseline_accuracy", True,
                  "baseline_accuracy (digital CIFAR-10 accuracy, %; no validation split)"),
        *(Objective(k, True, f"{k} (CIFAR-10 accuracy, %; no validation split)", k)
          for k in _ANALOG_ACCURACIES),
        Objective("mflops", False, "mflops (modelled forward MFLOPs)", "mflops"),
    ),
    presets={"baseline-analog": ("baseline_accuracy", "analog_accuracy"),
             "baseline-mflops": ("baseline_accuracy", "mflops")},
)

_OFFICIAL = Family(
    objectives=(
        Objective("accuracy", True, "accuracy (validation searched, test reported; %)"),
        Objective("flops", False, "flops (M; same searched and reported)", "flops"),
        Objective("params", False, "params (MB; same searched and reported)", "params"),
        Objective("latency", False, "latency (s; same searched and reported)", "latency"),
    ),
    presets={"acc-flops": ("accuracy", "flops"), "acc-params": ("accuracy", "params"),
             "acc-latency": ("accuracy", "latency")},
)

_TOY = Family(
    objectives=(
        Objective("score", True, "toy score (validation searched, test reported)"),
        Objective("size", False, "toy size (1 + sum of the choices / 4; the cost's factor)",
                  "size"),
    ),
    presets={"score-size": ("score", "size")},
)


def family_of(base: str) -> Family:
    """The objective family of a registered benchmark name, or a one-line refusal."""
    if base.startswith("nbgraph-"):
        return _NBGRAPH
    if base == "nb201-analog":
        return _ANALOG
    if base in ("toy", "toy-fidelities"):
        return _TOY
    if base.split("/", 1)[0] in ("nb201", "nats-tss", "nats-sss"):
        return _OFFICIAL
    raise BadConfiguration(f"benchmark {base} has no multi-objective definitions; multi-objective "
                           "benchmarks: nbgraph-<dataset>, nb201-analog, nb201/<dataset>, "
                           "nats-tss/<dataset>, nats-sss/<dataset>, toy, toy-fidelities")


def split_name(name: str) -> tuple[str, str] | None:
    """``"nbgraph-cora:acc-latency"`` -> ``("nbgraph-cora", "acc-latency")``; else ``None``."""
    base, sep, spec = name.partition(SEPARATOR)
    if not sep or base == "table":
        return None
    return base, spec


def objective_names(base: str, spec: str) -> tuple[str, ...]:
    """The objectives a spec (a preset, or names joined by ``+``) names, checked."""
    family = family_of(base)
    names = family.presets.get(spec) or tuple(n.strip() for n in spec.split("+"))
    presets = ", ".join(family.presets)
    for n in names:
        if n not in family.names():
            raise BadConfiguration(f"unknown objective {n!r} for {base}; its objectives: "
                                   f"{', '.join(family.names())} (presets: {presets})")
    if len(set(names)) != len(names):
        raise BadConfiguration(f"objective repeated in {base}{SEPARATOR}{spec}; name each once")
    if len(names) < 2:
        raise BadConfiguration(f"{base}{SEPARATOR}{spec} names one objective; a "
                               "multi-objective benchmark needs two or more (e.g. "
                               f"{base}{SEPARATOR}{next(iter(family.presets))}); for one, "
                               f"use {base}")
    return names


def with_objectives(benchmarks: list[str], objective: str) -> list[str]:
    """Benchmark names for ``--objective A,B``: each becomes ``NAME:A+B``."""
    names = [n.strip() for n in objective.split(",") if n.strip()]
    out = []
    for b in benchmarks:
        spec = "+".join(names)
        objective_names(b, spec)
        out.append(f"{b}{SEPARATOR}{spec}")
    return out


def parse_reference(text: Any, n: int) -> tuple[float, ...]:
    parts = str(text).split(",")
    try:
        ref = tuple(float(p) for p in parts)
    except ValueError:
        ref = ()
    if len(ref) != n or not all(math.isfinite(r) for r in ref):
        raise BadConfiguration(f"benchmark option reference={text}: give {n} finite numbers "
                               "separated by commas, one per objective in order")
    return ref


class MultiObjectiveBenchmark(Benchmark):
    """A table read on several objectives; queries are answered by the table itself.

    ``query`` returns the table's :class:`~tabnas.types.Evaluation` (its value,
    test value and cost are those of the table's own metric); the objective
    vectors come from :meth:`searched` (what a search sees) and the
    seed-averaged truths :attr:`searched_truth` / :attr:`reported_truth`
    (cells x objectives, in the objectives' units).
    """

    def __init__(self, base: TableBenchmark, spec: str, names: tuple[str, ...],
                 reference: tuple[float, ...] | None = None,
                 family: Family | None = None) -> None:
        family = family or family_of(base.name)
        self.base = base
        self.spec = spec
        self.objectives = tuple(family.get(n) for n in names)
        self.name = f"{base.name}{SEPARATOR}{spec}"
        self.space = base.space
        self.fidelities = base.fidelities
        self.maximize = self.objectives[0].maximize
        self.value_label = " & ".join(o.name for o in self.objectives)
        self.test_label = "hypervolume regret of the reported front"
        self.cost_label = base.cost_label
        self.notes = base.notes
        self.checksums = base.checksums
        self.reported_at = base.reported_at
        n_cells = base.space.size
        sv = np.empty((n_cells, len(names)))
        rv = np.empty((n_cells, len(names)))
        self._extra_cols: list[tuple[int, np.ndarray]] = []
        self._primary: int | None = None
        for j, o in enumerate(self.objectives):
            if o.extra is None:
                sv[:, j], rv[:, j] = base._true_v, base._true_t
                self._primary = j
            else:
                col = np.asarray(base.extra_arrays[o.extra], float)
                if col.shape != (n_cells,):
                    raise ValueError(f"extra {o.extra} of {base.name} is not one value per cell")
                sv[:, j] = rv[:, j] = col
                self._extra_cols.append((j, col))
        self.searched_truth = sv
        self.reported_truth = rv
        self.sign = np.array([-1.0 if o.maximize else 1.0 for o in self.objectives])
        both = np.vstack([sv, rv]) * self.sign
        with np.errstate(all="ignore"):
            self.lower = np.nanmin(both, axis=0)
            upper = np.nanmax(both, axis=0)
        self.span = np.where(upper > self.lower, upper - self.lower, 1.0)
        if reference is None:
            self.reference = tuple(float(v) for v in
                                   self.sign * (upper + REFERENCE_MARGIN * self.span))
            self.reference_source = (f"default: each objective's worst value in the table "
                                     f"+ {REFERENCE_MARGIN:.0%} of its range")
        else:
            self.reference = reference
            self.reference_source = "given as the benchmark option reference"
        self.reference_normalised = self.normalise(np.array([self.reference]))[0]
        self._check_reference()
        # Per-evaluation look-ups as Python floats: a run handles one short vector at a
        # time, where numpy's per-call overhead would dominate.
        self._searched_rows = sv.tolist()
        self.reported_rows = rv.tolist()
        self.orientation = tuple(zip(self.sign.tolist(), self.lower.tolist(),
                                     self.span.tolist(), strict=True))

    # -- objective vectors -------------------------------------------------------------
    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """Raw objective values (rows) -> minimisation space scaled to the table, 0 = best."""
        return (np.asarray(raw, float) * self.sign - self.lower) / self.span

    def searched(self, arch: Arch, ev: Evaluation) -> tuple[float, ...]:
        """The objective values a search sees for this evaluation (raw units)."""
        return self._values(self._searched_rows, arch, ev.value)

    def reported(self, arch: Arch, ev: Evaluation) -> tuple[float, ...]:
        """The objective values this evaluation reports (never shown to a strategy)."""
        return self._values(self.reported_rows, arch, ev.test_value)

    def _values(self, rows, arch: Arch, primary: float) -> tuple[float, ...]:
        """``arch``'s row of ``rows``, with the evaluation's own ``primary`` value in place."""
        row = rows[self.space.index(arch)]
        if self._primary is None:
            return tuple(row)
        out = list(row)
        out[self._primary] = primary
        return tuple(out)

    def scores(self, values) -> tuple[float, ...]:
        """Raw objective values -> scores oriented so that higher is better for each."""
        return tuple(-s * v for (s, _, _), v in zip(self.orientation, values, strict=True))

    @cached_property
    def fronts(self) -> dict[str, Any]:
        """The exact Pareto fronts of the table, ``"value"`` (searched) and ``"test"``."""
        try:
            from tabnas.pareto import TrueFront
        except ModuleNotFoundError as exc:
            raise DataMissing(f"multi-objective benchmarks need {exc.name}: "
                              "pip install 'tabnas[mo]'") from None
        return {"value": TrueFront.of(self.normalise(self.searched_truth),
                                      self.reference_normalised),
                "test": TrueFront.of(self.normalise(self.reported_truth),
                                     self.reference_normalised)}

    def _check_reference(self) -> None:
        for side, front in self.fronts.items():
            if front.hypervolume <= 0:
                what = "reported" if side == "test" else "searched"
                raise BadConfiguration(
                    f"reference point {','.join(f'{r:g}' for r in self.reference)} of "
                    f"{self.name} is not dominated by any point of the table's {what} Pareto "
                    "front, so every hypervolume would be 0; give a worse point (objectives "
                    f"in order {', '.join(o.name for o in self.objectives)}), or omit "
                    "benchmark option reference for the default")

    # -- Benchmark interface ----------------------------------------------------------
    def query(self, arch: Arch, fidelity: int | None = None, **kwargs: Any) -> Evaluation:
        return self.base.query(arch, fidelity, **kwargs)

    def truth(self, arch: Arch) -> tuple[float, float]:
        return self.base.truth(arch)

    def optimum(self) -> Evaluation | None:
        return None  # a front, not a point: see ``fronts``

    def extras(self, arch: Arch) -> dict[str, Any]:
        return self.base.extras(arch)

    def info(self) -> dict[str, Any]:
        out = self.base.info()
        for key in ("objective", "reported", "direction", "optimum (value)", "optimum (test)"):
            out.pop(key, None)
        out["name"] = self.name
        for j, o in enumerate(self.objectives):
            out[f"objective {j + 1}"] = (f"{o.label}, "
                                         f"{'maximise' if o.maximize else 'minimise'}")
        out["reference point"] = (", ".join(f"{o.name}={r:.6g}" for o, r in
                                            zip(self.objectives, self.reference, strict=True))
                                  + f" ({self.reference_source})")
        out["normalisation"] = ("each objective min-max scaled over the table "
                                "(searched and reported), 0 = best; hypervolumes in that space")
        for side, what in (("value", "searched"), ("test", "reported")):
            f = self.fronts[side]
            out[f"front ({what})"] = (f"true Pareto front: {len(f.cells)} architectures, "
                                      f"hypervolume {f.hypervolume:.6f}")
        return out


def load_multi_objective(name: str, data: str | None = None, **options: Any
                         ) -> MultiObjectiveBenchmark:
    from tabnas.benchmarks import BENCHMARKS

    base_name, spec = split_name(name) or (name, "")
    names = objective_names(base_name, spec)
    if "objective" in options:
        raise BadConfiguration(f"{name} names its objectives; drop benchmark option "
                               "objective")
    reference = options.pop("reference", None)
    base = BENCHMARKS.get(base_name).load(data=data, **options)
    ref = parse_reference(reference, len(names)) if reference is not None else None
    return MultiObjectiveBenchmark(base, spec, names, ref)


def multi_objective_entry(name: str) -> BenchmarkEntry:
    """The registry entry of ``BENCHMARK:SPEC`` (checked without loading the table)."""
    from tabnas.benchmarks import BENCHMARKS

    base_name, spec = split_name(name) or (name, "")
    base = BENCHMARKS.get(base_name)
    names = objective_names(base_name, spec)

    def loader(data: str | None = None, **options: Any) -> MultiObjectiveBenchmark:
        return load_multi_objective(name, data=data, **options)

    return BenchmarkEntry(name=name, summary=f"{base.summary}; objectives {', '.join(names)}",
                          loader=loader, data_status=base.data_status)


def is_multi_objective(benchmark: Benchmark) -> bool:
    return isinstance(benchmark, MultiObjectiveBenchmark)


def check_objectives(strategy_cls, benchmark) -> None:
    """A strategy meets a benchmark with the number of objectives it handles, or one line."""
    handles = getattr(strategy_cls, "objectives", "single")
    multi = is_multi_objective(benchmark)
    if handles == "multi" and not multi:
        raise BadConfiguration(
            f"strategy {strategy_cls.name!r} is multi-objective and {benchmark.name} has a "
            f"single objective; name two or more, e.g. {benchmark.name}:A+B or a preset such "
            f"as {benchmark.name}:PRESET ('tabnas list' shows them)")
    if handles == "single" and multi:
        raise BadConfiguration(
            f"strategy {strategy_cls.name!r} optimises one objective and {benchmark.name} has "
            f"{len(benchmark.objectives)}; use a multi-objective strategy (random, mo-rea, "
            "parego, mo-asha, optuna:NSGAIISampler, optuna:TPESampler)")


def presets() -> list[tuple[str, str, tuple[str, ...]]]:
    """(family pattern, preset, objectives) of every preset, for ``tabnas list`` and docs."""
    out = []
    for pattern, fam in (("nbgraph-<dataset>", _NBGRAPH), ("nb201-analog", _ANALOG),
                         ("nb201|nats-tss|nats-sss/<dataset>", _OFFICIAL),
                         ("toy|toy-fidelities", _TOY)):
        out += [(pattern, p, names) for p, names in fam.presets.items()]
    return out
