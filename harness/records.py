"""The run-record schema, declared once: column names, their order and their Arrow types.

Every evaluation of a run is one row. The runner fills a :class:`RunRecords`,
the results store writes it as Parquet with :func:`arrow_schema`, and the
statistics, exports and scripts name columns through the constants here. The
columns users already rely on keep their names and positions; new columns are
only ever appended, so a reader written for an older file keeps working.

Column groups:

- ``RUN_COLUMNS``: the same on every row of a run (which run it is);
- ``ROW_COLUMNS``: one value per evaluation, filled by the runner;
- ``stop_reason``: why the run ended, the same on every row of a run
  (a column rather than file metadata so that loading many runs into one
  table keeps it).

Types are written as Arrow type names, turned into ``pyarrow`` types only when
a table is built: ``import tabnas`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

#: (name, Arrow type) of every column, in file order.
SCHEMA: tuple[tuple[str, str], ...] = (
    ("experiment", "string"),
    ("benchmark", "string"),
    ("strategy", "string"),
    ("seed", "int64"),
    ("step", "int64"),
    ("arch", "string"),
    ("fidelity", "int64"),
    ("value", "double"),
    ("test_value", "double"),
    ("cost", "double"),
    ("cum_cost", "double"),
    ("incumbent_arch", "string"),
    ("incumbent_value", "double"),
    ("incumbent_test", "double"),
    ("regret_value", "double"),
    ("regret_test", "double"),
    ("overhead_s", "double"),
    ("trial", "int64"),
    ("continues", "int64"),
    ("stop_reason", "string"),
    # Multi-objective benchmarks only (null on single-objective runs): every objective's
    # searched and reported value of this evaluation, and the incumbent front's indicators.
    ("objective_values", "list<double>"),
    ("objective_tests", "list<double>"),
    ("hypervolume", "double"),
    ("igd_plus", "double"),
    ("pareto_found", "int64"),
    ("front_size", "int64"),
)

#: Every column name, in file order.
COLUMNS: tuple[str, ...] = tuple(name for name, _ in SCHEMA)
#: Columns that identify the run (constant within a run).
RUN_COLUMNS: tuple[str, ...] = ("experiment", "benchmark", "strategy", "seed")
#: Columns the runner fills per evaluation.
ROW_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS
                                     if c not in RUN_COLUMNS and c != "stop_reason")
#: Columns only multi-objective runs fill (single-objective runs write nulls).
MO_COLUMNS: tuple[str, ...] = ("objective_values", "objective_tests", "hypervolume",
                               "igd_plus", "pareto_found", "front_size")
#: Columns holding one value per objective (lists).
VECTOR_COLUMNS: tuple[str, ...] = ("objective_values", "objective_tests")
#: Host-time columns: the only ones that differ between identical runs.
HOST_TIME_COLUMNS: tuple[str, ...] = ("overhead_s",)

#: Why a run ended (the ``stop_reason`` column).
STOP_EVALS = "evaluation budget"
STOP_COST = "cost budget"
STOP_EXHAUSTED = "space exhausted"
STOP_DONE = "strategy done"
#: Reasons that end a run before its budget is used up.
EARLY_STOPS = (STOP_EXHAUSTED, STOP_DONE)


@cache
def arrow_schema():
    """The schema as a ``pyarrow.Schema``."""
    import pyarrow as pa

    return pa.schema([(name, _arrow_type(kind)) for name, kind in SCHEMA])


def _arrow_type(kind: str):
    import pyarrow as pa

    if kind.startswith("list<") and kind.endswith(">"):
        return pa.list_(pa.type_for_alias(kind[5:-1]))
    return pa.type_for_alias(kind)


@dataclass
class RunRecords:
    """One run's rows, as one list per :data:`ROW_COLUMNS` entry, and why it stopped."""

    experiment: str
    benchmark: str
    strategy: str
    seed: int
    columns: dict[str, list] = field(default_factory=lambda: {c: [] for c in ROW_COLUMNS})
    stop_reason: str = ""

    def __len__(self) -> int:
        return len(self.columns["step"])

    def to_arrow(self):
        """The rows as an Arrow table with exactly :func:`arrow_schema`."""
        import pyarrow as pa

        n = len(self)
        constant = {"experiment": self.experiment, "benchmark": self.benchmark,
                    "strategy": self.strategy, "seed": self.seed,
                    "stop_reason": self.stop_reason}
        schema = arrow_schema()
        arrays = [pa.nulls(n, f.type) if f.name in MO_COLUMNS and not self.columns[f.name]
                  else pa.array(self.columns[f.name], f.type) if f.name in self.columns
                  else pa.array([constant[f.name]] * n, f.type) for f in schema]
        return pa.Table.from_arrays(arrays, schema=schema)


def early_stop_notes(df, budget_evals: int | None) -> list[str]:
    """One line per (benchmark, strategy, reason) whose runs ended before their budget.

    E.g. ``toy / random: 81 of 100 evaluations: space exhausted (3 runs: seeds 0, 1, 2)``.
    ``df`` is a loaded study (one row per evaluation); runs written before the
    ``stop_reason`` column existed have no reason and are not listed.
    """
    if "stop_reason" not in df.columns or df.empty:
        return []
    early = df[df["stop_reason"].isin(EARLY_STOPS)]
    if early.empty:
        return []
    runs = early.groupby(["benchmark", "strategy", "seed", "stop_reason"], sort=True).size()
    lines = []
    for (bench, strat, reason), group in runs.groupby(level=[0, 1, 3], sort=True):
        counts = sorted(set(group.tolist()))
        n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        of = f" of {budget_evals}" if budget_evals is not None else ""
        seeds = [int(s) for s in group.index.get_level_values(2)]
        shown = ", ".join(map(str, seeds[:10])) + (", ..." if len(seeds) > 10 else "")
        lines.append(f"{bench} / {strat}: {n}{of} evaluations: {reason} "
                     f"({len(seeds)} run{'s' if len(seeds) != 1 else ''}: seeds {shown})")
    return lines
