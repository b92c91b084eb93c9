"""An experiment on disk, as a Python object: its records, statistics, figures and report.

:func:`tabnas.run` and :func:`tabnas.load` return one. It reads the results
folder when asked (nothing is held that the folder does not hold), so an
:class:`Experiment` of a study that other processes are still running shows
the runs finished so far each time it is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabnas.errors import BadConfiguration, DataMissing


@dataclass
class Experiment:
    """The experiment stored in ``path`` (``results/<name>``).

    ``counts`` is what the call that returned it did: runs done now, skipped
    (already complete) and failed; empty for a loaded experiment.
    """

    path: Path
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Absolute, so the object stays valid when the working directory changes.
        self.path = Path(self.path).absolute()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest: configuration, package versions, data checksums, failures."""
        from tabnas.results import read_manifest

        manifest = read_manifest(self.path)
        if manifest is None:
            raise DataMissing(f"no experiment at {self.path} (no manifest.json)")
        return manifest

    @property
    def config(self) -> dict[str, Any]:
        """The resolved study configuration (every hyperparameter, with its default)."""
        return self.manifest["config"]

    @property
    def df(self):
        """Every evaluation of every finished run, one row each (the README's columns)."""
        from tabnas.results import load_results

        return load_results(self.path)

    def _loaded(self):
        from tabnas.statistics import load_for_statistics

        return load_for_statistics(self.path)

    def stats(self, *, evals: int | None = None, cost: float | None = None,
              alpha: float = 0.05):
        """Final test regret per benchmark and strategy (as ``tabnas stats``).

        Mean, standard error, median, quartiles, bootstrap CI, average rank and
        the paired-test mark, at the end of each run or at a budget. ``attrs`` name
        the choices behind the marks (:data:`tabnas.tables.CHOICES`: ``test``,
        ``correction``, ``alpha``, ``blocks``, and ``note`` where no test can reach
        alpha with the seeds there are) and the ``budget``;
        ``tabnas.tables.caption(frame)`` says them in one line.
        """
        from tabnas.statistics import check_budget
        from tabnas.tables import final_results

        df, _ = self._loaded()
        check_budget(df, evals=evals, cost=cost)
        return final_results(df, evals=evals, cost=cost, alpha=alpha)

    def plot(self, *, metric: str = "test", strategies: str | Iterable[str] | None = None,
             benchmarks: str | Iterable[str] | None = None,
             x: str | Iterable[str] = ("evals", "cost"), scale: str = "log", band: str = "se",
             style: str = "default", formats: str | Iterable[str] | None = None,
             output: str | Path | None = None) -> dict[str, Any]:
        """The figures of ``tabnas plot``, with its options: ``{stem: matplotlib Figure}``.

        - ``metric``: "test", "value" (validation) or "both" (validation beside test).
        - ``strategies``, ``benchmarks``: subsets (colours stay those of the whole experiment).
        - ``x``: "evals", "cost" or both; ``scale``: "log" or "linear"; ``band``: "se"
          (mean ± s.e.) or "iqr" (median, interquartile range).
        - ``style``: "default" (screen), "single" or "double" (paper column widths).

        With two or more benchmarks the pooled figure (normalised regret and average
        rank) is among them; with multi-objective benchmarks, the Pareto fronts and
        attainment surfaces. ``formats`` (e.g. ``"png,pdf"``) or ``output`` also write
        the figures, as ``tabnas plot`` does, to ``output`` (default: the experiment's
        ``figures/``); they are then closed. What was left out, and why, is a warning.
        """
        import warnings

        from tabnas import plots

        if scale not in ("log", "linear"):
            raise BadConfiguration(f"unknown scale {scale!r}; choose log or linear")
        df, manifest = self._loaded()
        figures, notes = plots.plot_figures(
            df, manifest, metric=metric, axes=tuple(_names(x)), log=scale == "log", band=band,
            style=style, strategies=_names(strategies), benchmarks=_names(benchmarks))
        for note in notes:
            warnings.warn(note, stacklevel=2)
        if formats is not None or output is not None:
            chosen = plots.PLOT_FORMATS if formats is None else tuple(_names(formats))
            plots.write_figures(figures, Path(output) if output is not None
                                else self.path / "figures", chosen)
        return figures

    def report(self, *, evals: int | None = None, cost: float | None = None,
               alpha: float = 0.05, output: str | Path | None = None,
               formats: tuple[str, ...] = ("png",)) -> Path:
        """Write the self-contained HTML report (as ``tabnas report``); returns its path.

        ``formats``: the figure files written beside it (``("png", "pdf", "svg")`` for
        papers; the page embeds PNG).
        """
        from tabnas.report import build_report

        return build_report(self.path, evals=evals, cost=cost, alpha=alpha,
                            output=None if output is None else Path(output),
                            formats=tuple(formats))

    def winners(self, *, evals: int | None = None, cost: float | None = None, top: int = 5):
        """The architectures the strategies ended with, as ``tabnas stats`` lists them.

        Per benchmark and strategy, the ``top`` most frequent final incumbents over
        seeds (``seeds`` of ``runs`` ended on ``arch``), their mean searched and
        reported values, and ``best``: the one with the lowest validation regret,
        the pick made without test data (:func:`tabnas.tables.architectures`).
        """
        from tabnas.statistics import budget_rows
        from tabnas.tables import architectures

        df, _ = self._loaded()
        return architectures(budget_rows(df, evals=evals, cost=cost), top=top)

    def status(self) -> dict[str, Any]:
        """Runs done, failed, running and missing (as ``tabnas status``)."""
        from tabnas.results import experiment_status

        return experiment_status(self.path)

    def __repr__(self) -> str:
        done = ""
        if self.counts:
            done = (f": {self.counts.get('ran', 0)} runs done now, "
                    f"{self.counts.get('skipped', 0)} already complete, "
                    f"{self.counts.get('failed', 0)} failed")
        return f"Experiment({self.name!r} at {self.path}{done})"


def _names(value: str | Iterable[str] | None) -> list[str] | None:
    """A list of names from a name, a comma-separated string or an iterable (None: all)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)
