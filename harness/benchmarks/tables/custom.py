"""User tables (``table:PATH``): any CSV or Parquet table plus a short TOML spec.

PATH is the spec file or a folder holding ``spec.toml``. The spec names the
searched column (``value``), the reported one (``test``, default: the same),
the direction, an optional cumulative ``cost`` column, optional integer
``fidelity`` and ``seed`` columns, and the space: either ``[variables]``
(column -> ordered choices; the space is their product) or ``arch = "column"``
(one column of architecture strings). With ``space = "NAME"`` the arch column
holds a registered space's official strings (``tabnas list`` shows the spaces)
and the table is searched in that space, with its moves and canonical forms;
without it the column is one bare categorical variable, which strategies that
need structure refuse unless ``unstructured = true``. Every architecture must
have a row for every (seed, fidelity) pair, so the table is dense and answers
like any shipped benchmark; a gap, a NaN in a searched/reported/cost column, a
value outside its declared choices, a string that is not an architecture of
the named space, or a duplicate row is a one-line error. ``partial = true``
accepts a table lacking some cells of a named space (or some seeds of a
cell): those answer as missing records of the official partial files do.

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
from tabnas.errors import BadConfiguration, DamagedData, DataMissing
from tabnas.spaces.product import ProductSpace

SPEC_FILE = "spec.toml"
_KEYS = {"name", "table", "value", "test", "maximize", "cost", "cost_label", "fidelity",
         "seed", "variables", "arch", "space", "partial", "unstructured"}


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
        raise DataMissing(f"table spec {path} not found: give a .toml spec file or a folder "
                          f"holding {SPEC_FILE}")
    try:
        spec = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadConfiguration(f"table spec {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise BadConfiguration(f"table spec {path}: unknown key(s) {', '.join(unknown)}; "
                               f"valid keys: {', '.join(sorted(_KEYS))}")
    for key in ("table", "value"):
        if not isinstance(spec.get(key), str):
            raise BadConfiguration(f"table spec {path}: '{key}' (a string) is required")
    for key, value in spec.items():  # a NUL ("\u0000") cannot be in a path or a column name
        if isinstance(value, str) and "\x00" in value:
            raise BadConfiguration(f"table spec {path}: '{key}' holds a NUL character; remove it")
    if ("variables" in spec) == ("arch" in spec):
        raise BadConfiguration(f"table spec {path}: give either [variables] or arch = \"COLUMN\"")
    if "variables" in spec:
        variables = spec["variables"]
        if not isinstance(variables, dict) or not variables or not all(
                isinstance(c, list) and c for c in variables.values()):
            raise BadConfiguration(f"table spec {path}: [variables] maps each column to a "
                                   "non-empty list of choices")
        for col, choices in variables.items():
            if len({_as_text(c) for c in choices}) != len(choices):
                raise BadConfiguration(f"table spec {path}: variable {col!r} lists a choice twice")
    for key in ("test", "cost", "cost_label", "fidelity", "seed", "arch", "name", "space"):
        if key in spec and not isinstance(spec[key], str):
            raise BadConfiguration(f"table spec {path}: '{key}' must be a string")
    for key in ("maximize", "partial", "unstructured"):
        if not isinstance(spec.get(key, True), bool):
            raise BadConfiguration(f"table spec {path}: '{key}' must be true or false")
    if "space" in spec:
        from tabnas.spaces.named import SPACES

        if "arch" not in spec:
            raise BadConfiguration(f"table spec {path}: space = {spec['space']!r} names the "
                                   "space of an arch = \"COLUMN\" of its strings; [variables] "
                                   "define their own")
        if spec["space"] not in SPACES:
            raise BadConfiguration(f"table spec {path}: unknown space {spec['space']!r}; spaces: "
                                   f"{', '.join(SPACES.names())}")
        if spec.get("unstructured"):
            raise BadConfiguration(f"table spec {path}: unstructured = true is for a bare arch "
                                   f"column; space = {spec['space']!r} already gives its "
                                   "structure")
    return spec


def _read_table(path: Path):
    import pandas as pd

    if not path.is_file():
        raise DataMissing(f"table {path} not found (the spec's 'table' is relative to the spec)")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DamagedData(f"cannot read table {path}: {first}") from None
    raise BadConfiguration(f"table {path}: use a .csv or .parquet file")


def _numeric(df, col: str, where: str) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DamagedData(f"{where}: column {col!r} has {int(bad.sum())} NaN, infinite or "
                          f"non-numeric value(s) (first at row {row + 2} counting the header as "
                          "row 1); fill or drop those rows")
    return values


def _axis(df, col: str | None, where: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Integer positions of each row on a seed/fidelity axis, and the axis labels."""
    if col is None:
        return np.zeros(len(df), dtype=np.int64), None
    raw = _numeric(df, col, where)
    if (raw != np.round(raw)).any():
        raise DamagedData(f"{where}: column {col!r} must hold integers")
    labels, pos = np.unique(raw.astype(np.int64), return_inverse=True)
    return pos, tuple(int(x) for x in labels)


def load_table(path: str | Path, seed_mode: str = "sample", **options: Any) -> TableBenchmark:
    """Load a user table through its spec (see the module docstring)."""
    if options:
        raise BadConfiguration(f"table benchmarks take no benchmark option(s) "
                               f"{', '.join(sorted(options))}: set the searched column with "
                               "'value' in the spec")
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
            raise BadConfiguration(f"{where}: no column {col!r}; columns are: "
                                   f"{', '.join(map(str, df.columns))}")
    if len(df) == 0:
        raise DamagedData(f"{where}: the table has no rows")

    name = spec.get("name") or (spec_file.parent.name if spec_file.name == SPEC_FILE
                                else spec_file.stem)
    partial = spec.get("partial", False)
    notes: list[str] = []
    if "arch" in spec:
        col = spec["arch"]
        if df[col].isna().any():
            raise DamagedData(f"{where}: column {col!r} has empty architecture names")
        if "space" in spec:
            space, cell, keep = _named_space(spec, df[col].map(str), where, notes)
            if not keep.all():
                df = df.loc[keep]
        else:
            choices = sorted({str(x) for x in df[col]})
            space = ProductSpace(f"table:{name}", [(col, choices)], bare=True,
                                 unstructured=spec.get("unstructured", False))
            lookup = {c: i for i, c in enumerate(choices)}
            cell = np.array([lookup[str(x)] for x in df[col]], dtype=np.int64)
            if space.unstructured:
                notes.append(f"Column {col!r} is one categorical variable of {space.size} "
                             "names (unstructured = true): a mutation is a uniform draw among "
                             "the others and the encoding a one-hot of every name.")
            elif not space.supports("mutate"):
                notes.append(f"Column {col!r} is one bare variable of {space.size} names: "
                             "strategies that need mutate, neighbours, encode or a categorical "
                             "view are refused (name its space with space = ..., or give "
                             "[variables], or set unstructured = true).")
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
                raise DamagedData(f"{where}: column {col!r} holds {bad!r}, which is not among "
                                  f"its choices {choices} in [variables]")
            codes.append(code.to_numpy(dtype=np.int64))
        # Checked before any per-cell array is made: a space far larger than its table
        # would allocate per-cell arrays for cells that no row can fill.
        if space.size > len(df) and not partial:
            raise DamagedData(f"{where}: the architecture space has {space.size:,} cells but "
                              f"the table has {len(df):,} rows; every architecture needs a row "
                              "(or set partial = true)")
        cell = np.zeros(len(df), dtype=np.int64)
        for w, code in zip(space._weights, codes, strict=True):
            cell += w * code
    if space.size > 100 * len(df):
        raise BadConfiguration(f"{where}: the architecture space has {space.size:,} cells and the "
                               f"table {len(df):,} rows, under 1% of them; declare a smaller space")

    value = _numeric(df, value_col, where)
    test = value if test_col == value_col else _numeric(df, test_col, where)
    cost = _numeric(df, cost_col, where) if cost_col else np.ones(len(df))
    if (cost < 0).any():
        row = int(np.flatnonzero(cost < 0)[0])
        raise DamagedData(f"{where}: column {cost_col!r} has negative costs (first at row "
                          f"{row + 2}); costs are amounts spent, >= 0")
    seed_pos, seeds = _axis(df, seed_col, where)
    fid_pos, fidelities = _axis(df, fid_col, where)
    n_seeds, n_fid = len(seeds or (0,)), len(fidelities or (0,))
    flat = (cell * n_seeds + seed_pos) * n_fid + fid_pos
    if len(np.unique(flat)) != len(flat):
        used = {c for c in needed if c is not None}
        raise DamagedData(f"{where}: " + _duplicate_reason(df, flat, n_seeds * n_fid, space, used,
                                                          spec))
    expected = space.size * n_seeds * n_fid
    have = np.zeros(expected, dtype=bool)
    have[flat] = True
    have3 = have.reshape(space.size, n_seeds, n_fid)
    absent = ~have3.any(axis=(1, 2))
    if absent.any() and not partial:
        first = space.to_string(space.arch_at(int(np.flatnonzero(absent)[0])))
        raise DamagedData(f"{where}: {int(absent.sum())} of the {space.size} architectures of "
                          f"space {space.name!r} have no row, e.g. {first}; give every one, or "
                          "set partial = true (they then answer as failed trainings, NaN, as "
                          "in the official partial files)")
    if absent.any():
        notes.append(f"Partial (partial = true): {int(absent.sum())} of {space.size} "
                     "architectures have no row and answer NaN at the mean cost.")
    # A partial table may lack whole cells or whole (cell, seed) runs, never single rows.
    gaps = (have3.any(axis=2, keepdims=True) & ~have3) if partial else ~have3
    if gaps.any():
        first = int(np.flatnonzero(gaps)[0])
        c, rest = divmod(first, n_seeds * n_fid)
        s, f = divmod(rest, n_fid)
        what = space.to_string(space.arch_at(c))
        if seeds:
            what += f", seed {seeds[s]}"
        if fidelities:
            what += f", {fid_col} {fidelities[f]}"
        hint = "a recorded (architecture, seed) needs a row for every fidelity" if partial \
            else "every architecture needs a row for every seed and fidelity"
        raise DamagedData(f"{where}: {int(gaps.sum())} of {expected} (architecture, seed, "
                          f"fidelity) rows are missing, e.g. {what}; {hint}")
    if partial and (~have3[~absent]).any():
        notes.append("Partial (partial = true): some architectures lack some seeds; those "
                     "seeds are never picked for them.")

    def dense(col: np.ndarray) -> np.ndarray:
        out = np.full(expected, np.nan)
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
               f"Recorded seeds: {list(seeds)}." if seeds else "One record per architecture.",
               *notes),
        checksums={str(spec_file.resolve()): sha256_file(spec_file),
                   str(table_file): sha256_file(table_file)},
        seed_mode=seed_mode,
    )


def _named_space(spec: dict, text, where: str, notes: list[str]):
    """(space, cell of each kept row, rows kept) for ``space = NAME`` (see SPACES)."""
    from tabnas.spaces.named import SPACES

    entry = SPACES.get(spec["space"])
    distinct, inverse = np.unique(text.to_numpy(dtype=str), return_inverse=True)
    parsed = entry.parse([str(t) for t in distinct])
    cell = parsed.cells[inverse]
    keep = cell >= 0
    if not keep.all():
        row = int(np.flatnonzero(~keep)[0])
        reason = parsed.errors.get(int(inverse[row]), "does not parse")
        n_bad = int((~keep).sum())
        if not spec.get("partial", False):
            raise DamagedData(f"{where}: row {row + 2} of column {spec['arch']!r}: {reason}; "
                              f"{n_bad} row(s) are not {entry.name} architectures: fix them, or "
                              "set partial = true to leave them out")
        notes.append(f"Partial (partial = true): {n_bad} row(s) are not {entry.name} "
                     f"architectures and were left out, e.g. row {row + 2}: {reason}.")
        cell = cell[keep]
    notes.append(f"Column {spec['arch']!r} read as {entry.name} architectures (space = "
                 f"{entry.name!r}); results carry the space's official strings."
                 + ("" if parsed.complete else " The space is the canonical cells the "
                    "table holds (isomorphic spellings merge)."))
    return parsed.space, cell, keep


def _duplicate_reason(df, flat: np.ndarray, per_cell: int, space, used: set[str],
                      spec: dict) -> str:
    """Why some (architecture, seed, fidelity) has several rows: a forgotten column,
    isomorphic spellings of one cell, or plain repeated rows."""
    order = np.argsort(flat, kind="stable")
    sorted_flat = flat[order]
    dup = int(np.flatnonzero(sorted_flat[1:] == sorted_flat[:-1])[0])
    rows = order[sorted_flat == sorted_flat[dup]]
    group = df.iloc[rows]
    arch = space.to_string(space.arch_at(int(flat[rows[0]]) // per_cell))
    n_dup = int(len(flat) - len(np.unique(flat)))
    head = (f"{n_dup} row(s) repeat an (architecture, seed, fidelity) combination, e.g. "
            f"{len(rows)} rows (rows {', '.join(str(int(r) + 2) for r in rows[:4])}) for {arch}")
    if "arch" in spec and group[spec["arch"]].map(str).nunique() > 1:
        spellings = ", ".join(repr(str(x)) for x in group[spec["arch"]].unique()[:2])
        return (f"{head}: {spellings} are spellings of one cell, which space "
                f"{spec['space']!r} merges; keep one row per cell")
    varying = [str(c) for c in df.columns if c not in used and group[c].nunique() > 1]
    if varying:
        return (f"{head} that differ only in column(s) {', '.join(map(repr, varying))}: is a "
                "seed = \"...\" or fidelity = \"...\" missing from the spec?")
    return f"{head} that are identical; keep one row per combination"


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
