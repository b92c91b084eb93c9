"""An experiment on disk, as a Python object: its records, statistics, figures and report.

:func:`tabnas.run` and :func:`tabnas.load` return one. It reads the results
folder when asked (nothing is held that the folder does not hold), so an
:class:`Experiment` of a study that other processes are still running shows
the runs finished so far each time it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabnas.errors import DataMissing


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
        from tabnas.results import load_experiment

        return load_experiment(self.path)

    def stats(self, *, evals: int | None = None, cost: float | None = None,
              alpha: float = 0.05):
        """Final test regret per benchmark and strategy (as ``tabnas stats``).

        Mean, standard error, median, quartiles, bootstrap CI, average rank and
        the paired-test mark, at the end of each run or at a budget.
        """
        from tabnas.statistics import check_budget
        from tabnas.tables import final_results

        df, _ = self._loaded()
        check_budget(df, evals=evals, cost=cost)
        return final_results(df, evals=evals, cost=cost, alpha=alpha)

    def plot(self) -> dict[str, Any]:
        """Regret vs evaluations and vs cumulative cost: ``{name: matplotlib Figure}``."""
        from tabnas import plots

        df, manifest = self._loaded()
        colours = plots.strategy_colours(df["strategy"].unique())
        return plots.regret_figures(df, colours, manifest.get("cost_labels"))

    def report(self, *, evals: int | None = None, cost: float | None = None,
               alpha: float = 0.05, output: str | Path | None = None) -> Path:
        """Write the self-contained HTML report (as ``tabnas report``); returns its path."""
        from tabnas.report import build_report

        return build_report(self.path, evals=evals, cost=cost, alpha=alpha,
                            output=None if output is None else Path(output))

    def winners(self):
        """Per benchmark and strategy, the architecture its runs ended on most often.

        Each run's final incumbent (chosen on the searched value) is one vote;
        ``seeds`` is how many of the ``runs`` ended on ``arch``. Ties go to the
        architecture with the lower mean final ``regret_value`` (the searched
        metric), then to the first in string order. ``incumbent_test`` and
        ``regret_test`` are that architecture's reported value and regret.
        """
        import pandas as pd

        from tabnas.statistics import final_rows

        df, _ = self._loaded()
        final = final_rows(df)
        votes = (final.groupby(["benchmark", "strategy", "incumbent_arch"], sort=True)
                 .agg(seeds=("seed", "size"), regret_value=("regret_value", "mean"),
                      incumbent_test=("incumbent_test", "mean"),
                      regret_test=("regret_test", "mean"))
                 .reset_index())
        runs = final.groupby(["benchmark", "strategy"], sort=True)["seed"].size()
        votes = votes.sort_values(["benchmark", "strategy", "seeds", "regret_value",
                                   "incumbent_arch"],
                                  ascending=[True, True, False, True, True])
        best = votes.groupby(["benchmark", "strategy"], sort=True).head(1)
        best = best.rename(columns={"incumbent_arch": "arch"})
        best.insert(4, "runs", [int(runs[(b, s)]) for b, s in
                                zip(best["benchmark"], best["strategy"], strict=True)])
        cols = ["benchmark", "strategy", "arch", "seeds", "runs", "incumbent_test",
                "regret_test", "regret_value"]
        return pd.DataFrame(best[cols]).reset_index(drop=True)

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
