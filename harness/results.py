"""The results store: ``results/<experiment>/`` with a manifest and one Parquet file per run.

Layout::

    results/<experiment>/manifest.json                 config, versions, checksums, failures
    results/<experiment>/runs/<benchmark>/<strategy>/seed-<n>.parquet
    results/<experiment>/failures/<benchmark>/<strategy>/seed-<n>.json
    results/<experiment>/.claims/<benchmark>/<strategy>/seed-<n>   runs being computed
    results/<experiment>/.combined.parquet             load cache (derived, disposable)

Results are data, never pickles. Each run file is written to a temporary file
and renamed into place, so a run is either wholly there or absent: a killed
study loses at most the runs in flight and never leaves half a file. A run
whose file exists is complete and is skipped when the same study runs again.

A run that raised (or timed out) leaves a failure record with its error and
traceback instead; the manifest's ``failed`` section lists them (refreshed
under the experiment lock when a study finishes), and ``tabnas status`` reads
the records themselves. A later success removes the record.

Loading reads one file per run, which for thousands of runs is dominated by
per-file overhead; :func:`load_results` therefore keeps ``.combined.parquet``,
all runs it has read, with the size and mtime of every file in it. Run files
are never rewritten, so the cache plus the files not yet in it is the whole
study; any mismatch rebuilds the cache from the run files, which stay the
source of truth.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tabnas import RESULTS_FORMAT, __version__
from tabnas.cache import atomic_write_bytes
from tabnas.errors import (
    BadConfiguration,
    DamagedData,
    DataMissing,
    IncompatibleExperiment,
    UserError,
    os_reason,
)
from tabnas.locks import claim_is_stale, experiment_lock, read_claim
from tabnas.records import RUN_COLUMNS, arrow_schema, early_stop_notes

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NAME_MAX = 100
_STUDY_KEYS = ("benchmarks", "strategies", "seeds", "budget", "hyperparameters")
_PACKAGES = ("numpy", "pandas", "scipy", "pyarrow", "matplotlib", "analog-nasbench")


def safe_part(name: str) -> str:
    """A benchmark/strategy name as one path component (``nb201/cifar10`` -> ``nb201~cifar10``)."""
    return name.replace("/", "~").replace(":", "+")


def experiment_dir(results_dir: str | Path, experiment: str) -> Path:
    if not _NAME_RE.match(experiment) or experiment in (".", ".."):
        raise BadConfiguration(
            f"experiment name {experiment!r} is not allowed: use ASCII letters, digits, '.', "
            "'_' and '-' (no path separators), starting with a letter or digit"
        )
    if len(experiment) > _NAME_MAX:  # a folder name the file system refuses
        raise BadConfiguration(f"experiment name {experiment[:20]}... is {len(experiment)} "
                               f"characters long; use at most {_NAME_MAX}")
    return Path(results_dir) / experiment


def run_path(exp_dir: Path, benchmark: str, strategy: str, seed: int) -> Path:
    return exp_dir / "runs" / safe_part(benchmark) / safe_part(strategy) / f"seed-{seed}.parquet"


def claim_parts(benchmark: str, strategy: str, seed: int) -> tuple[str, str, str]:
    """The claim file's path below ``<experiment>/.claims`` for one run."""
    return safe_part(benchmark), safe_part(strategy), f"seed-{seed}"


def failure_path(exp_dir: Path, benchmark: str, strategy: str, seed: int) -> Path:
    return exp_dir / "failures" / safe_part(benchmark) / safe_part(strategy) / f"seed-{seed}.json"


def ensure_writable(exp_dir: Path) -> None:
    """Create the experiment folder or fail with one clear line before any run starts."""
    try:
        (exp_dir / "runs").mkdir(parents=True, exist_ok=True)
        probe = exp_dir / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(
            f"cannot write results to {exp_dir}: {os_reason(exc)}; "
            "choose another results_dir"
        ) from None


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "tabnas": __version__}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def git_revision() -> str | None:
    here = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return rev.stdout.strip() or None if rev.returncode == 0 else None


def write_json_atomic(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(path, lambda tmp: tmp.write_text(text))


def read_manifest(exp_dir: Path) -> dict | None:
    path = exp_dir / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or not UTF-8
        raise DamagedData(f"{path} is unreadable ({exc}); move the folder aside") from None
    if not isinstance(manifest, dict):
        raise DamagedData(f"{path} is damaged (not a JSON object); move the folder aside")
    if manifest.get("format") != RESULTS_FORMAT:
        raise IncompatibleExperiment(
            f"{exp_dir} was written by an incompatible tabnas results format "
            f"({manifest.get('format')!r}, this is {RESULTS_FORMAT}); use another "
            "experiment name or results_dir; nothing was changed"
        )
    if not isinstance(manifest.get("config"), dict):
        raise DamagedData(f"{path} is damaged (no study configuration); move the folder aside")
    return manifest


def _study_config(exp_dir: Path, manifest: dict) -> dict:
    """The manifest's study configuration, with the keys that running and status need."""
    config = manifest["config"]
    missing = [k for k in _STUDY_KEYS if k not in config]
    if missing:
        raise DamagedData(f"{exp_dir / 'manifest.json'} is damaged (its configuration lacks "
                          f"{', '.join(missing)}); move the folder aside")
    return config


def open_experiment(
    exp_dir: Path, config: dict[str, Any], checksums: dict[str, str],
    cost_labels: dict[str, str] | None = None, maximize: dict[str, bool] | None = None,
    metric_labels: dict[str, dict[str, str]] | None = None,
    packages: dict[str, str] | None = None,
) -> dict:
    """Create the manifest, or check that an existing one has the same study settings.

    Strategies and seeds may be added to an experiment; settings that change
    what a run means (budget, hyperparameters, benchmark options) may not.
    """
    with experiment_lock(exp_dir):
        # Manifest writes happen under this lock: a temporary manifest now is a killed writer's.
        for tmp in exp_dir.glob(".manifest.json.*.tmp"):
            tmp.unlink(missing_ok=True)
        return _open_experiment(exp_dir, config, checksums, cost_labels, maximize,
                                metric_labels, packages)


def _open_experiment(exp_dir, config, checksums, cost_labels, maximize, metric_labels,
                     packages) -> dict:
    manifest = read_manifest(exp_dir)
    if manifest is not None:
        old = _study_config(exp_dir, manifest)
        # Settings a manifest written before they existed holds at their default.
        for key, default in (("sim_workers", 1), ("mf_cost", "restart")):
            if old.get(key, default) != config.get(key, default):
                raise IncompatibleExperiment(
                    f"experiment {exp_dir.name!r} already exists with "
                    f"{key}={old.get(key, default)}, not {config.get(key, default)}; "
                    "use a new experiment name"
                )
        for key in ("budget", "benchmark_options"):
            if old.get(key) != config.get(key):
                raise IncompatibleExperiment(
                    f"experiment {exp_dir.name!r} already exists with {key}={old.get(key)!r}, "
                    f"not {config.get(key)!r}; use a new experiment name"
                )
        for strat, hps in config["hyperparameters"].items():
            if strat in old["hyperparameters"] and old["hyperparameters"][strat] != hps:
                raise IncompatibleExperiment(
                    f"experiment {exp_dir.name!r} ran {strat} with hyperparameters "
                    f"{old['hyperparameters'][strat]}, not {hps}; use a new experiment name"
                )
        old_sources = old.get("strategy_sources", {})
        for strat, src in config.get("strategy_sources", {}).items():
            was = old_sources.get(strat)
            if was is not None and was.get("sha256") != src.get("sha256"):
                raise IncompatibleExperiment(
                    f"experiment {exp_dir.name!r} ran strategy {strat!r} from {was.get('path')} "
                    f"with sha256 {str(was.get('sha256'))[:12]}..., but that code is now "
                    f"{src.get('sha256', '')[:12]}...; use a new experiment name"
                )
        merged = dict(old)
        merged["strategy_sources"] = {**old_sources, **config.get("strategy_sources", {})}
        merged["benchmarks"] = sorted(set(old["benchmarks"]) | set(config["benchmarks"]))
        merged["strategies"] = list(dict.fromkeys(old["strategies"] + config["strategies"]))
        merged["seeds"] = sorted(set(old["seeds"]) | set(config["seeds"]))
        merged["hyperparameters"] = {**old["hyperparameters"], **config["hyperparameters"]}
        manifest["config"] = merged
        manifest["checksums"] = {**manifest.get("checksums", {}), **checksums}
    else:
        manifest = {
            "format": RESULTS_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "config": config,
            "checksums": checksums,
        }
    manifest["cost_labels"] = {**manifest.get("cost_labels", {}), **(cost_labels or {})}
    manifest["maximize"] = {**manifest.get("maximize", {}), **(maximize or {})}
    manifest["metric_labels"] = {**manifest.get("metric_labels", {}), **(metric_labels or {})}
    manifest["packages"] = packages if packages is not None else package_versions()
    manifest["git_revision"] = git_revision()
    write_json_atomic(exp_dir / "manifest.json", manifest)
    return manifest


def write_run(path: Path, table) -> None:
    """Write one run's records atomically as Parquet."""
    import pyarrow.parquet as pq

    atomic_write_bytes(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_run_bytes(path: Path, data: bytes) -> None:
    """Write one run's already-encoded Parquet file atomically."""
    atomic_write_bytes(path, lambda tmp: tmp.write_bytes(data))


def write_failure(exp_dir: Path, benchmark: str, strategy: str, seed: int, *, error: str,
                  traceback: str | None = None, timed_out: bool = False) -> None:
    """Record that a run failed, with its one-line error and traceback."""
    write_json_atomic(failure_path(exp_dir, benchmark, strategy, seed), {
        "benchmark": benchmark, "strategy": strategy, "seed": seed,
        "kind": "timeout" if timed_out else "error", "error": error,
        "traceback": traceback, "host": platform.node(),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def clear_failure(exp_dir: Path, benchmark: str, strategy: str, seed: int) -> None:
    failure_path(exp_dir, benchmark, strategy, seed).unlink(missing_ok=True)


def failed_since(exp_dir: Path, key: tuple[str, str, int], since: float) -> bool:
    """Whether the run has a failure record written at or after ``since`` (epoch seconds)."""
    try:
        return failure_path(exp_dir, *key).stat().st_mtime >= since
    except FileNotFoundError:
        return False


def failure_records(exp_dir: Path) -> list[dict]:
    """Failure records of runs that have not since succeeded."""
    out = []
    for path in sorted((exp_dir / "failures").glob("*/*/seed-*.json")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not run_path(exp_dir, rec["benchmark"], rec["strategy"], rec["seed"]).exists():
            out.append(rec)
    return out


def update_failures(exp_dir: Path) -> None:
    """Refresh the manifest's ``failed`` section from the failure records (under the lock)."""
    with experiment_lock(exp_dir):
        manifest = read_manifest(exp_dir)
        if manifest is None:
            return
        failed = {f"{r['benchmark']}/{r['strategy']}/seed-{r['seed']}": r["error"]
                  for r in failure_records(exp_dir)}
        if manifest.get("failed", {}) != failed:
            manifest["failed"] = failed
            write_json_atomic(exp_dir / "manifest.json", manifest)


def experiment_status(exp_dir: Path) -> dict[str, Any]:
    """Runs of the experiment's configuration that are done, failed, running and missing.

    ``early`` lists the finished runs that stopped before their budget (space
    exhausted, strategy done), one line per benchmark, strategy and reason.

    A run claimed by a process that has died counts as missing (the next
    ``tabnas run`` takes it over); one that failed and is being retried counts
    as running.
    """
    manifest = read_manifest(exp_dir)
    if manifest is None:
        raise DataMissing(f"no experiment at {exp_dir}; run experiment {exp_dir.name!r} "
                          "first or check results_dir")
    cfg = _study_config(exp_dir, manifest)
    failures = {(r["benchmark"], r["strategy"], r["seed"]): r for r in failure_records(exp_dir)}
    out: dict[str, Any] = {"done": 0, "failed": 0, "running": 0, "missing": 0,
                           "failures": [], "holders": {}}
    for b in cfg["benchmarks"]:
        for s in cfg["strategies"]:
            for seed in cfg["seeds"]:
                claim = exp_dir / ".claims" / safe_part(b) / safe_part(s) / f"seed-{seed}"
                if run_path(exp_dir, b, s, seed).exists():
                    out["done"] += 1
                elif (info := read_claim(claim)) is not None and not claim_is_stale(claim, info):
                    out["running"] += 1
                    who = f"pid {info.get('pid')} on {info.get('host')}"
                    out["holders"][who] = out["holders"].get(who, 0) + 1
                elif (b, s, seed) in failures:
                    out["failed"] += 1
                    out["failures"].append(failures[(b, s, seed)])
                else:
                    out["missing"] += 1
    out["total"] = out["done"] + out["failed"] + out["running"] + out["missing"]
    out["early"] = (early_stop_notes(load_results(exp_dir), cfg["budget"].get("evals"))
                    if out["done"] else [])
    return out


def run_files(exp_dir: Path) -> list[Path]:
    return sorted((exp_dir / "runs").glob("*/*/seed-*.parquet"))


_COMBINED = ".combined.parquet"
_COMBINED_KEY = b"tabnas.files"
#: Row order of a loaded study (each run's rows are consecutive, by step).
_ORDER = (*RUN_COLUMNS[1:], "step")


def _read_runs(exp_dir: Path, files: list[Path], columns: list[str] | None = None):
    """All run files as one Arrow table, through the ``.combined.parquet`` cache.

    Every file is read with the one record schema (:mod:`tabnas.records`):
    columns added since a file was written read as nulls (an older run has
    no trial ids), so old and new runs load into one table. ``columns``: read
    only these where the cache is up to date (a column store reads no more than
    it is asked for); otherwise all are read to refresh the cache.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema()
    stamps = {}
    for f in files:
        st = f.stat()
        stamps[f.relative_to(exp_dir).as_posix()] = [st.st_size, st.st_mtime_ns]
    cache = exp_dir / _COMBINED
    base, known = None, {}
    try:
        cached = pq.read_schema(cache)
        known = json.loads((cached.metadata or {})[_COMBINED_KEY])
        if cached.remove_metadata() == schema and all(
                stamps.get(rel) == stamp for rel, stamp in known.items()):
            if columns is not None and len(known) == len(stamps):
                # Strings as dictionaries: a column of 400,000 architecture strings
                # decodes ten times faster, and stays small, as a categorical.
                strings = [c for c in columns if pa.types.is_string(schema.field(c).type)]
                return pq.read_table(cache, columns=columns, read_dictionary=strings
                                     ).replace_schema_metadata(None)
            base = pq.read_table(cache)
        else:
            known = {}
    except (OSError, KeyError, ValueError, pa.ArrowException):
        known = {}
    new = [exp_dir / rel for rel in stamps if rel not in known]
    tables = [] if base is None else [base.replace_schema_metadata(None)]
    if new:
        import pyarrow.dataset as ds

        # One multi-threaded scan in C++: about twice as fast as a read_table per file.
        try:
            tables.append(ds.dataset([str(f) for f in new], schema=schema,
                                     format="parquet").to_table())
        except (OSError, pa.ArrowException):
            _raise_damaged(new)
            raise
    table = pa.concat_tables(tables)
    if new:
        # Stored sorted, so a load that finds nothing new needs no sort at all.
        table = _sorted_runs(table)
        meta = {_COMBINED_KEY: json.dumps(stamps).encode()}
        try:
            atomic_write_bytes(cache, lambda tmp: pq.write_table(
                table.replace_schema_metadata(meta), tmp, compression="zstd"))
        except OSError:
            pass  # a read-only results folder still loads, just without the cache
    return table if columns is None else table.select(columns)


def _sorted_runs(table):
    """``table`` in :data:`_ORDER`. The few distinct names are ranked once and rows
    sorted on integer codes (numpy), not on 100,000 strings: half a second less for
    50 runs x 2000 evaluations."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = []
    for name in reversed(_ORDER):
        col = table[name]
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            enc = pc.dictionary_encode(col).combine_chunks()
            rank = np.argsort(np.argsort(enc.dictionary.to_numpy(zero_copy_only=False)))
            keys.append(rank[enc.indices.to_numpy()])
        else:
            keys.append(col.to_numpy())
    return table.take(pa.array(np.lexsort(keys)))


def _raise_damaged(files: list[Path]) -> None:
    """Name the first run file that cannot be read (runs are written atomically, so
    only damage from outside makes one): deleting it makes the next run redo it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for f in files:
        try:
            pq.read_table(f)
        except (OSError, pa.ArrowException) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
            raise DamagedData(f"run file {f} is damaged ({first}); delete it and rerun "
                              "'tabnas run' with the same settings to redo that run") from None


def load_results(exp_dir: Path, columns: list[str] | None = None):
    """All finished runs of an experiment as one pandas DataFrame, sorted by run and step.

    ``columns``: only these (statistics need a third of them; the architecture
    strings of every evaluation are most of the memory).
    """
    if not exp_dir.exists():
        raise DataMissing(f"no experiment at {exp_dir}; run experiment {exp_dir.name!r} "
                          "first or check results_dir")
    files = run_files(exp_dir)
    if not files:
        raise DataMissing(f"experiment {exp_dir.name!r} has no finished runs yet; "
                          "run 'tabnas run' for it first")
    return _read_runs(exp_dir, files, columns).to_pandas()



def load_experiment(exp_dir: Path, columns: list[str] | None = None):
    """An experiment's rows and manifest, ready for statistics.

    Where a benchmark's optimum is unknown (a live trainer), the runner records
    regret as NaN. Here such regret is measured against the best value any run
    of the experiment reached on that benchmark (empirical regret), and the
    manifest's ``notes`` say so, so curves, tables and tests still compare
    strategies on a common, lower-is-better scale. An experiment whose runs all
    ended before their first evaluation has nothing to summarise: a clear error.
    """
    import numpy as np

    df = load_results(exp_dir, columns)
    if df.empty:
        raise DataMissing(f"every run of experiment {exp_dir.name!r} ended before its first "
                          "evaluation (is budget cost below the cost of one evaluation?); "
                          "run it under a new experiment name with a larger budget")
    manifest = read_manifest(exp_dir) or {}
    notes = manifest.setdefault("notes", [])
    budget = (manifest.get("config") or {}).get("budget") or {}
    notes += [f"stopped early: {line}" for line in early_stop_notes(df, budget.get("evals"))]
    for bench, rows in df.groupby("benchmark", sort=True):
        if rows["regret_test"].notna().any():
            continue
        sign = 1.0 if manifest.get("maximize", {}).get(bench, True) else -1.0
        idx = rows.index
        for regret, column in (("regret_test", "incumbent_test"),
                               ("regret_value", "incumbent_value")):
            values = rows[column].to_numpy(dtype=float)
            if np.isfinite(values).any():
                best = np.nanmax(sign * values)
                df.loc[idx, regret] = best - sign * values
        notes.append(f"{bench}: the optimum is unknown, so regret is measured against the "
                     "best value any run of this experiment reached (empirical regret).")
    return df, manifest
