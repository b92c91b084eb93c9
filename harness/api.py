"""The Python API: ``tabnas.run``, ``tabnas.load``, ``tabnas.benchmark``.

The same study the command line runs, with Python values: names or lists of
names, a number of seeds or a list of them, a budget as a number of
evaluations, a :class:`~tabnas.runner.Budget` or a mapping. Results go to the
same results folder, so a study started here can be resumed, summarised or
reported by ``tabnas`` and the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tabnas.errors import BadConfiguration, DataMissing
from tabnas.experiment import Experiment
from tabnas.runner import Budget

#: What ``tabnas.run()`` runs when called with no arguments (as ``tabnas run``).
DEFAULT_BENCHMARKS = ("nb201-analog",)
DEFAULT_STRATEGIES = ("random", "rea")
DEFAULT_SEEDS = 20
DEFAULT_EVALS = 200


def run(
    benchmarks: str | Iterable[str] = DEFAULT_BENCHMARKS,
    strategies: str | type | Iterable[str | type] = DEFAULT_STRATEGIES,
    seeds: int | Iterable[int] = DEFAULT_SEEDS,
    budget: int | Budget | Mapping[str, Any] = DEFAULT_EVALS,
    *,
    experiment: str = "default",
    results_dir: str | Path = "results",
    hyperparameters: Mapping[str, Mapping[str, Any]] | None = None,
    benchmark_options: Mapping[str, Any] | None = None,
    data: str | Path | None = None,
    sim_workers: int = 1,
    mf_cost: str = "restart",
    run_timeout: float | None = None,
    workers: int = 1,
    dask: str | None = None,
    executor: Any = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    redo_damaged: bool = False,
) -> Experiment:
    """Run every (benchmark, strategy, seed) run not yet stored; return the experiment.

    - ``benchmarks``, ``strategies``: a name, or a list of names. A strategy may
      also be a file or module reference (``"my_strategy.py:Class"``,
      ``"package.module:Class"``) or a Strategy class: one defined in a module
      or file is passed on by reference, so worker processes find it too; one
      defined in a notebook runs in this process (``workers=1``).
    - ``seeds``: ``N`` for seeds ``0..N-1``, or the seeds themselves.
    - ``budget``: evaluations per run, ``Budget(evals=..., cost=...)``, or
      ``{"evals": ..., "cost": ...}``.
    - ``hyperparameters``: ``{strategy: {name: value}}``; the rest take their
      declared defaults, and the manifest records every value.
    - ``sim_workers``, ``mf_cost``, ``run_timeout``: as ``--sim-workers``,
      ``--mf-cost``, ``--run-timeout`` (simulated parallel workers, what a
      multi-fidelity promotion pays, a host-time limit per run).
    - ``workers``, ``dask``, ``executor``, ``chunk_size``: where runs execute
      (see ``tabnas.executors``); records are the same on every executor.
      Local worker processes import the ``__main__`` script again, so a script
      calls this under ``if __name__ == "__main__":`` (refused otherwise, see
      ``tabnas.main_guard``).
    - ``progress``: a progress bar (None: on a terminal or in a notebook).
    - ``redo_damaged``: move damaged or foreign run files to the experiment's
      ``damaged/`` folder and compute those runs again (else such a file is an error).

    Runs already stored are skipped, so calling it again resumes a study.
    """
    from tabnas.plugins import in_session_only
    from tabnas.study import Study, run_study

    names = [strategy_name(s) for s in _as_list(strategies, (str, type))]
    hps = {strategy_name(k) if isinstance(k, type) else k: dict(v)
           for k, v in (hyperparameters or {}).items()}
    unknown = sorted(set(hps) - set(names))
    if unknown:
        raise BadConfiguration(f"hyperparameters given for {', '.join(unknown)}, which is "
                               f"not among the strategies {', '.join(names)}")
    session = [n for n in names if in_session_only(n)]
    if session and (workers != 1 or dask is not None
                    or (executor is not None and executor.name != "in-process")):
        raise BadConfiguration(f"strategy {session[0]} is defined in this session, so worker "
                               "processes cannot import it; save it in a .py file and pass "
                               "'path/to/file.py:Class', or run with workers=1")
    study = Study(
        experiment=experiment,
        benchmarks=_as_list(benchmarks, (str,)),
        strategies=names,
        seeds=_seeds(seeds),
        budget=_budget(budget),
        results_dir=Path(results_dir),
        hyperparameters=hps,
        benchmark_options=dict(benchmark_options or {}),
        data=None if data is None else str(data),
        sim_workers=sim_workers,
        mf_cost=mf_cost,
        run_timeout=run_timeout,
    )
    return run_study(study, progress=progress, workers=workers, dask=dask, executor=executor,
                     chunk_size=chunk_size, redo_damaged=redo_damaged)


def load(name_or_path: str | Path, *, results_dir: str | Path = "results") -> Experiment:
    """An experiment already on disk: a results folder, its manifest.json, or a name.

    A name is looked up in ``results_dir``.
    """
    from tabnas.results import experiment_dir, read_manifest

    path = Path(name_or_path)
    if path.name == "manifest.json" and path.is_file():
        path = path.parent
    elif not (path / "manifest.json").is_file():
        path = experiment_dir(results_dir, str(name_or_path))
    if read_manifest(path) is None:
        raise DataMissing(f"no experiment at {path}: run it first (tabnas.run(..., "
                          f"experiment={path.name!r})) or check results_dir")
    return Experiment(path)


def benchmark(name: str, *, data: str | Path | None = None, **options: Any):
    """A benchmark by name (``tabnas list`` shows them; ``table:PATH`` for your own table).

    ``options`` are the benchmark's loader options (``schedule=12``, ``epochs=2``, ...).
    """
    from tabnas.benchmarks import load_benchmark

    return load_benchmark(name, data=None if data is None else str(data), **options)


def strategy_name(strategy: str | type) -> str:
    """The name a study records for ``strategy`` (a name, a reference, or a class)."""
    if isinstance(strategy, str):
        return strategy
    from tabnas.plugins import reference
    from tabnas.strategy import STRATEGIES, Strategy

    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise BadConfiguration(f"{strategy!r} is not a strategy: give a name or a "
                               "Strategy subclass")
    if strategy.name and strategy.name in STRATEGIES and STRATEGIES.get(strategy.name) is strategy:
        return strategy.name
    return reference(strategy)


def _as_list(value: Any, kinds: tuple[type, ...]) -> list:
    if isinstance(value, kinds):
        return [value]
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise BadConfiguration(f"expected a name or a list of names, got {value!r}")
    return list(value)


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise BadConfiguration(f"seeds must be a positive integer or a list of integers, "
                               f"got {seeds!r}")
    if isinstance(seeds, int):
        if seeds <= 0:
            raise BadConfiguration(f"seeds must be a positive integer, got {seeds}")
        return list(range(seeds))
    out = list(seeds)
    if not out or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                          for s in out):
        raise BadConfiguration(f"seeds must be a positive integer or a non-empty list of "
                               f"non-negative integers, got {out!r}")
    if len(set(out)) != len(out):
        raise BadConfiguration(f"seeds {out!r} name a seed twice; give each once")
    return out


def _budget(budget: int | Budget | Mapping[str, Any]) -> Budget:
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, Mapping):
        extra = sorted(set(budget) - {"evals", "cost"})
        if extra:
            raise BadConfiguration(f"budget has unknown key(s) {', '.join(extra)}; use evals "
                                   "and/or cost")
        return Budget(evals=budget.get("evals"), cost=budget.get("cost"))
    if isinstance(budget, int) and not isinstance(budget, bool):
        return Budget(evals=budget)
    raise BadConfiguration(f"budget must be a number of evaluations, a Budget or "
                           f"{{'evals': ..., 'cost': ...}}, got {budget!r}")
