"""User tables (``table:PATH``): any CSV or Parquet table plus a short TOML spec.

PATH is the spec file or a folder holding ``spec.toml``. The spec names the
searched column (``value``), the reported one (``test``, default: the same),
the direction, an optional cumulative ``cost`` column, optional integer
``fidelity`` and ``seed`` columns, and the space: either ``[variables]``
(column -> ordered choices; the space is their product) or ``arch = "column"``
(one column of architecture strings). Every architecture must have a row for
every (seed, fidelity) pair, so the table is dense and answers like any
shipped benchmark; a gap, a NaN in a searched/reported/cost column, a value
outside its declared choices or a duplicate row is a one-line error.

The table is read directly (it is already columnar) and not cached; its and
the spec's SHA-256 go into the experiment manifest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from tabnas.benchmarks.base import BenchmarkEntry, TableBenchmark
from tabnas.cache import sha256_file
from tabnas.errors import UserError
from tabnas.spaces.product import ProductSpace

SPEC_FILE = "spec.toml"
_KEYS = {"name", "table", "value", "test", "maximize", "cost", "cost_label", "fidelity",
         "seed", "variables", "arch"}


def spec_path(path: str | Path) -> Path:
    """The spec file for PATH (the file itself, or ``PATH/spec.toml``)."""
    p = Path(path).expanduser()
    return p / SPEC_FILE if p.is_dir() else p


def read_spec(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    if not path.is_file():
        raise UserError(f"table spec {path} not found: give a .toml spec file or a folder "
                        f"holding {SPEC_FILE}")
    try:
        spec = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"table spec {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise UserError(f"table spec {path}: unknown key(s) {', '.join(unknown)}; "
                        f"valid keys: {', '.join(sorted(_KEYS))}")
    for key in ("table", "value"):
        if not isinstance(spec.get(key), str):
            raise UserError(f"table spec {path}: '{key}' (a string) is required")
    for key, value in spec.items():  # a NUL ("\u0000") cannot be in a path or a column name
        if isinstance(value, str) and "\x00" in value:
            raise UserError(f"table spec {path}: '{key}' holds a NUL character; remove it")
    if ("variables" in spec) == ("arch" in spec):
        raise UserError(f"table spec {path}: give either [variables] or arch = \"COLUMN\"")
    if "variables" in spec:
        variables = spec["variables"]
        if not isinstance(variables, dict) or not variables or not all(
                isinstance(c, list) and c for c in variables.values()):
            raise UserError(f"table spec {path}: [variables] maps each column to a non-empty "
                            "list of choices")
        for col, choices in variables.items():
            if len({_as_text(c) for c in choices}) != len(choices):
                raise UserError(f"table spec {path}: variable {col!r} lists a choice twice")
    for key in ("test", "cost", "cost_label", "fidelity", "seed", "arch", "name"):
        if key in spec and not isinstance(spec[key], str):
            raise UserError(f"table spec {path}: '{key}' must be a string")
    if not isinstance(spec.get("maximize", True), bool):
        raise UserError(f"table spec {path}: 'maximize' must be true or false")
    return spec


def _read_table(path: Path):
    import pandas as pd

    if not path.is_file():
        raise UserError(f"table {path} not found (the spec's 'table' is relative to the spec)")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot read table {path}: {first}") from None
    raise UserError(f"table {path}: use a .csv or .parquet file")


def _numeric(df, col: str, where: str) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UserError(f"{where}: column {col!r} has {int(bad.sum())} NaN, infinite or "
                        f"non-numeric value(s) (first at row {row + 2} counting the header as "
                        "row 1); fill or drop those rows")
    return values


def _axis(df, col: str | None, where: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Integer positions of each row on a seed/fidelity axis, and the axis labels."""
    if col is None:
        return np.zeros(len(df), dtype=np.int64), None
    raw = _numeric(df, col, where)
    if (raw != np.round(raw)).any():
        raise UserError(f"{where}: column {col!r} must hold integers")
    labels, pos = np.unique(raw.astype(np.int64), return_inverse=True)
    return pos, tuple(int(x) for x in labels)


def load_table(path: str | Path, seed_mode: str = "sample", **options: Any) -> TableBenchmark:
    """Load a user table through its spec (see the module docstring)."""
    if options:
        raise UserError(f"table benchmarks take no option(s) {', '.join(sorted(options))}: "
                        "set the searched column with 'value' in the spec")
    spec_file = spec_path(path)
    spec = read_spec(spec_file)
    table_file = (spec_file.parent / spec["table"]).resolve()
    where = f"table {table_file.name} (spec {spec_file})"
    df = _read_table(table_file)
    value_col, test_col = spec["value"], spec.get("test", spec["value"])
    cost_col, fid_col, seed_col = spec.get("cost"), spec.get("fidelity"), spec.get("seed")
    variables = spec.get("variables") or {spec["arch"]: None}
    needed = [value_col, test_col, cost_col, fid_col, seed_col, *variables]
    for col in needed:
        if col is not None and col not in df.columns:
            raise UserError(f"{where}: no column {col!r}; columns are: "
                            f"{', '.join(map(str, df.columns))}")
    if len(df) == 0:
        raise UserError(f"{where}: the table has no rows")

    name = spec.get("name") or (spec_file.parent.name if spec_file.name == SPEC_FILE
                                else spec_file.stem)
    if "arch" in spec:
        col = spec["arch"]
        if df[col].isna().any():
            raise UserError(f"{where}: column {col!r} has empty architecture names")
        choices = sorted({str(x) for x in df[col]})
        space = ProductSpace(f"table:{name}", [(col, choices)], bare=True)
        lookup = {c: i for i, c in enumerate(choices)}
        codes = [np.array([lookup[str(x)] for x in df[col]], dtype=np.int64)]
    else:
        space = ProductSpace(f"table:{name}", list(variables.items()))
        codes = []
        for col, choices in variables.items():
            lookup = {_as_text(c): i for i, c in enumerate(choices)}
            text = df[col].map(_as_text)
            code = text.map(lookup)
            if code.isna().any():
                bad = df[col][code.isna()].iloc[0]
                bad = bad.item() if isinstance(bad, np.generic) else bad  # 3, not np.int64(3)
                raise UserError(f"{where}: column {col!r} holds {bad!r}, which is not among "
                                f"its choices {choices} in [variables]")
            codes.append(code.to_numpy(dtype=np.int64))
    if space.size > len(df):  # checked before any per-cell array is made
        raise UserError(f"{where}: the architecture space has {space.size:,} cells but the "
                        f"table has {len(df):,} rows; every architecture needs a row")
    cell = np.zeros(len(df), dtype=np.int64)
    for w, code in zip(space._weights, codes, strict=True):
        cell += w * code

    value = _numeric(df, value_col, where)
    test = value if test_col == value_col else _numeric(df, test_col, where)
    cost = _numeric(df, cost_col, where) if cost_col else np.ones(len(df))
    if (cost < 0).any():
        row = int(np.flatnonzero(cost < 0)[0])
        raise UserError(f"{where}: column {cost_col!r} has negative costs (first at row "
                        f"{row + 2}); costs are amounts spent, >= 0")
    seed_pos, seeds = _axis(df, seed_col, where)
    fid_pos, fidelities = _axis(df, fid_col, where)
    n_seeds, n_fid = len(seeds or (0,)), len(fidelities or (0,))
    flat = (cell * n_seeds + seed_pos) * n_fid + fid_pos
    if len(np.unique(flat)) != len(flat):
        raise UserError(f"{where}: some (architecture, seed, fidelity) combinations have more "
                        "than one row; keep one row per combination")
    expected = space.size * n_seeds * n_fid
    if len(flat) != expected:
        have = np.zeros(expected, dtype=bool)
        have[flat] = True
        first = int(np.flatnonzero(~have)[0])
        c, rest = divmod(first, n_seeds * n_fid)
        s, f = divmod(rest, n_fid)
        what = space.to_string(space.arch_at(c))
        if seeds:
            what += f", seed {seeds[s]}"
        if fidelities:
            what += f", {fid_col} {fidelities[f]}"
        raise UserError(f"{where}: {expected - len(flat)} of {expected} (architecture, seed, "
                        f"fidelity) rows are missing, e.g. {what}; every architecture needs "
                        "a row for every seed and fidelity")

    def dense(col: np.ndarray) -> np.ndarray:
        out = np.empty(expected)
        out[flat] = col
        return out.reshape(space.size, n_seeds, n_fid)

    return TableBenchmark(
        name=name,
        space=space,
        values=dense(value),
        tests=dense(test),
        costs=dense(cost),
        fidelities=fidelities,
        maximize=spec.get("maximize", True),
        value_label=value_col,
        test_label=test_col if test_col != value_col else f"{test_col} (same column as "
                                                           "the searched value)",
        cost_label=spec.get("cost_label", cost_col or "evaluations (no cost column: 1 each)"),
        notes=(f"User table {table_file} read through {spec_file}.",
               f"Recorded seeds: {list(seeds)}." if seeds else "One record per architecture."),
        checksums={str(spec_file.resolve()): sha256_file(spec_file),
                   str(table_file): sha256_file(table_file)},
        seed_mode=seed_mode,
    )


def _as_text(x: Any) -> str:
    """A cell's text form, with integral floats written as integers (CSV reads 64 as 64.0)."""
    if isinstance(x, float | np.floating) and float(x).is_integer():
        return str(int(x))
    return str(x)


def table_entry(path: str) -> BenchmarkEntry:
    """The registry-style entry for ``table:PATH`` (built on demand, never registered)."""

    def status() -> tuple[bool, str]:
        p = spec_path(path)
        return p.is_file(), f"spec {p}" if p.is_file() else f"no spec file at {p}"

    return BenchmarkEntry(
        name=f"table:{path}",
        summary=f"user table from {path}",
        loader=lambda data=None, **options: load_table(path, **options),
        data_status=status,
    )
