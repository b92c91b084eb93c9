"""A study in a file: ``tabnas run --config study.toml``, or a manifest to replay one.

The file holds the same keys as the manifest's ``config`` section, so a study
is replayed from its own manifest (``--config results/EXP/manifest.json``)
exactly as it was first run from TOML::

    experiment = "my-study"                  # optional; --experiment overrides it
    benchmarks = ["toy", "toy-fidelities"]
    strategies = ["random", "rea", "my_strategy.py:HillClimb"]
    seeds = 10                               # seeds 0..9, or a list [0, 3, 7]
    budget = { evals = 50 }                  # and/or cost = ...
    sim_workers = 1                          # optional
    run_timeout = 60                         # optional, host seconds
    data = "path/to/data"                    # optional
    benchmark_options = { seed_mode = "mean" }

    [hyperparameters.rea]                    # the rest take their defaults
    population = 10

    [executor]                               # optional; where runs execute
    workers = 2                              # or dask = "local:2"; chunk_size = 16

Paths (strategy files, ``table:`` benchmarks, ``data``) are relative to the
current folder, as on the command line. A manifest also records each
referenced strategy file's SHA-256: replaying it after the file changed is
refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabnas.errors import BadConfiguration, DataMissing, IncompatibleExperiment

#: Keys a study file may hold (a manifest's config holds the same).
_KEYS = {"experiment", "benchmarks", "strategies", "seeds", "budget", "hyperparameters",
         "benchmark_options", "data", "sim_workers", "mf_cost", "run_timeout", "executor",
         "strategy_sources", "results_dir"}
_EXECUTOR_KEYS = {"workers", "dask", "chunk_size", "name"}


@dataclass
class StudyFile:
    """A study read from a file, with where it runs."""

    study: dict[str, Any]
    executor: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path | None = None


def read_study_file(path: str | Path) -> StudyFile:
    """Read a study TOML file or an experiment's ``manifest.json``; refuse unknown keys."""
    path = Path(path)
    if path.is_dir() and (path / "manifest.json").is_file():
        path = path / "manifest.json"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataMissing(f"cannot read study file {path}: {getattr(exc, 'strerror', exc)}") \
            from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadConfiguration(f"study file {path} is not valid JSON ({exc})") from None
        if isinstance(data, dict) and isinstance(data.get("config"), dict):
            data = data["config"]  # a manifest: replay its study
    else:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BadConfiguration(f"study file {path} is not valid TOML ({exc})") from None
    if not isinstance(data, dict):
        raise BadConfiguration(f"study file {path} must hold a table of settings")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise BadConfiguration(f"study file {path} has unknown key(s) {', '.join(unknown)}; "
                               f"valid keys: {', '.join(sorted(_KEYS - {'strategy_sources'}))}")
    executor = data.get("executor") or {}
    if not isinstance(executor, dict) or set(executor) - _EXECUTOR_KEYS:
        raise BadConfiguration(f"study file {path}: executor takes workers, dask and chunk_size")
    study = {k: v for k, v in data.items() if k not in ("executor", "strategy_sources")}
    for key in ("benchmarks", "strategies"):
        if key not in study:
            raise BadConfiguration(f"study file {path} names no {key}; add {key} = [...]")
        if isinstance(study[key], str):
            study[key] = [study[key]]
    sources = data.get("strategy_sources") or {}
    return StudyFile(study, {k: v for k, v in executor.items() if k != "name"}, sources, path)


def check_sources(study_file: StudyFile, classes: dict[str, type]) -> None:
    """Refuse to replay a study whose strategy files changed since its manifest was written."""
    from tabnas.plugins import strategy_source

    for name, recorded in study_file.sources.items():
        if name not in classes:
            continue
        now = strategy_source(name, classes[name]) or {}
        if now.get("sha256") != recorded.get("sha256"):
            raise IncompatibleExperiment(
                f"strategy {name!r} changed since {study_file.path} was written "
                f"(sha256 {str(recorded.get('sha256'))[:12]}... then, "
                f"{str(now.get('sha256'))[:12]}... now, {now.get('path')}); restore that "
                "version of the file to replay the study"
            )


def run_study_file(path: str | Path, *, experiment: str | None = None,
                   results_dir: str | Path | None = None, progress: bool | None = None,
                   redo_damaged: bool = False, **executor: Any):
    """Run (or resume, or replay) the study a file describes; returns the Experiment.

    ``experiment`` and ``results_dir`` override the file's; so do ``workers``,
    ``dask`` and ``chunk_size`` given here (they never change the records).
    """
    from tabnas import api
    from tabnas.strategy import STRATEGIES

    sf = read_study_file(path)
    settings = dict(sf.study)
    if experiment is not None:
        settings["experiment"] = experiment
    if results_dir is not None:
        settings["results_dir"] = results_dir
    check_sources(sf, {n: STRATEGIES.get(n) for n in settings["strategies"]
                       if isinstance(n, str) and n in sf.sources})
    where = {**sf.executor, **{k: v for k, v in executor.items() if v is not None}}
    for key in ("hyperparameters", "benchmark_options", "budget"):
        if key in settings and not isinstance(settings[key], dict | int):
            raise BadConfiguration(f"study file {sf.path}: {key} must be a table, got "
                                   f"{settings[key]!r}")
    return api.run(**settings, **where, progress=progress, redo_damaged=redo_damaged)
