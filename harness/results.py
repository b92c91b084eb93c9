"""The results store: ``results/<experiment>/`` with a manifest and one Parquet file per run.

Layout::

    results/<experiment>/manifest.json                 config, versions, checksums, failures
    results/<experiment>/runs/<benchmark>/<strategy>/seed-<n>.parquet
    results/<experiment>/failures/<benchmark>/<strategy>/seed-<n>.json
    results/<experiment>/.claims/<benchmark>/<strategy>/seed-<n>   runs being computed
    results/<experiment>/.combined.parquet             load cache (derived, disposable)
    results/<experiment>/damaged/<benchmark>/<strategy>/seed-<n>.parquet   set aside, kept

Results are data, never pickles. Each run file is written to a temporary file
and renamed into place, so a run is either wholly there or absent: a killed
study loses at most the runs in flight and never leaves half a file. Each run
file carries its identity and its own SHA-256 (:mod:`tabnas.runfile`): a run
whose file exists *and checks out* is complete and is skipped when the same
study runs again; a damaged or foreign one is reported, never used, and
recomputed with ``tabnas run --redo-damaged`` (which moves it to
``<experiment>/damaged/``).

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
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
from tabnas.locks import claim_is_stale, experiment_lock, open_regular, read_claim, read_regular
from tabnas.records import RUN_COLUMNS, arrow_schema, early_stop_notes
from tabnas.runfile import (
    DamagedFile,
    ForeignFile,
    check,
    check_run,
    config_settings_digest,
    encode,
    encode_run,
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NAME_MAX = 100
#: The longest file name most file systems hold (ext4, XFS, Btrfs, tmpfs, NFS), in bytes.
COMPONENT_MAX = 255
_STUDY_KEYS = ("benchmarks", "strategies", "seeds", "budget", "hyperparameters")
_PACKAGES = ("numpy", "pandas", "scipy", "pyarrow", "matplotlib", "analog-nasbench")


def safe_part(name: str) -> str:
    """A benchmark/strategy name as one path component (``nb201/cifar10`` -> ``nb201~cifar10``)."""
    return name.replace("/", "~").replace(":", "+")


def check_names(benchmarks: list[str], strategies: list[str]) -> None:
    """Refuse names whose folder name the file system cannot hold (one line, before any write)."""
    for what, names in (("benchmark", benchmarks), ("strategy", strategies)):
        for name in names:
            size = len(safe_part(name).encode())
            if size > COMPONENT_MAX:
                raise BadConfiguration(f"{what} {name[:40]}... names a results folder of "
                                       f"{size} bytes; file systems hold at most "
                                       f"{COMPONENT_MAX}: shorten it")


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
    return exp_dir.joinpath("runs", safe_part(benchmark), safe_part(strategy),
                            f"seed-{seed}.parquet")


def claim_parts(benchmark: str, strategy: str, seed: int) -> tuple[str, str, str]:
    """The claim file's path below ``<experiment>/.claims`` for one run."""
    return safe_part(benchmark), safe_part(strategy), f"seed-{seed}"


def failure_path(exp_dir: Path, benchmark: str, strategy: str, seed: int) -> Path:
    return exp_dir.joinpath("failures", safe_part(benchmark), safe_part(strategy),
                            f"seed-{seed}.json")


def ensure_writable(exp_dir: Path) -> None:
    """Create the experiment folder or fail with one clear line before any run starts."""
    try:
        (exp_dir / "runs").mkdir(parents=True, exist_ok=True)
        # A unique name created exclusively: no planted link is followed, and
        # processes starting together never remove each other's probe.
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=exp_dir)
        os.close(fd)
        os.unlink(probe)
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
        manifest = json.loads(read_regular(path))
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
    for key in ("checksums", "cost_labels", "maximize", "failed"):
        if not isinstance(manifest.get(key, {}), dict):
            raise DamagedData(f"{path} is damaged ({key!r} is not a JSON object); "
                            "move the folder aside")
    if not isinstance(manifest.get("notes", []), list):
        raise DamagedData(f"{path} is damaged ('notes' is not a list); move the folder aside")
    return manifest


def _is_list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value)


def _study_config(exp_dir: Path, manifest: dict) -> dict:
    """The manifest's study configuration, with the keys that running and status need."""
    config = manifest["config"]
    missing = [k for k in _STUDY_KEYS if k not in config]
    if missing:
        raise DamagedData(f"{exp_dir / 'manifest.json'} is damaged (its configuration lacks "
                          f"{', '.join(missing)}); move the folder aside")
    return _typed_config(exp_dir, config)


def _typed_config(exp_dir: Path, config: dict) -> dict:
    """``config``, checked to hold each study setting it has with its JSON type."""
    hps = config.get("hyperparameters", {})
    bad = [k for k, ok in (
        ("benchmarks", _is_list_of(config.get("benchmarks", []), str)),
        ("strategies", _is_list_of(config.get("strategies", []), str)),
        ("seeds", _is_list_of(config.get("seeds", []), int)),
        ("budget", isinstance(config.get("budget", {}), dict)),
        ("hyperparameters", isinstance(hps, dict) and all(
            isinstance(v, dict) for v in hps.values())),
        ("benchmark_options", isinstance(config.get("benchmark_options", {}), dict)),
        ("sim_workers", isinstance(config.get("sim_workers", 1), int)),
        ("mf_cost", isinstance(config.get("mf_cost", "restart"), str)),
    ) if not ok]
    if bad:
        raise DamagedData(f"{exp_dir / 'manifest.json'} is damaged ({', '.join(bad)} "
                          "of the wrong type); move the folder aside")
    return config


def open_experiment(
    exp_dir: Path, config: dict[str, Any], checksums: dict[str, str],
    cost_labels: dict[str, str] | None = None, maximize: dict[str, bool] | None = None,
    metric_labels: dict[str, dict[str, str]] | None = None,
    names: dict[str, str] | None = None,
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
                                metric_labels, names, packages)


def _open_experiment(exp_dir, config, checksums, cost_labels, maximize, metric_labels,
                     names=None, packages=None) -> dict:
    manifest = read_manifest(exp_dir)
    if manifest is None:
        _vouch_for_orphans(exp_dir, config)
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
        manifest.setdefault("history", []).append(_history_entry(old, config))
    else:
        manifest = {
            "format": RESULTS_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "config": config,
            "checksums": checksums,
            "history": [_history_entry(None, config)],
        }
    manifest["cost_labels"] = {**manifest.get("cost_labels", {}), **(cost_labels or {})}
    manifest["maximize"] = {**manifest.get("maximize", {}), **(maximize or {})}
    manifest["metric_labels"] = {**manifest.get("metric_labels", {}), **(metric_labels or {})}
    #: Stored benchmark name -> the name its records carry (a user table's spec name).
    manifest["benchmark_names"] = {**manifest.get("benchmark_names", {}), **(names or {})}
    manifest["packages"] = packages if packages is not None else package_versions()
    manifest["git_revision"] = git_revision()
    write_json_atomic(exp_dir / "manifest.json", manifest)
    return manifest


def _history_entry(old: dict | None, config: dict) -> dict:
    """One command that added to the experiment: its argv, when, and what was new.

    ``runs`` (ran, skipped, failed) is filled in by :func:`record_history` when
    the command finishes; an entry without it is a command that was stopped.
    """
    now = datetime.now(timezone.utc)
    added = {k: [x for x in config[k] if x not in (old or {}).get(k, [])]
             for k in ("benchmarks", "strategies", "seeds")}
    return {"id": f"{platform.node()}:{os.getpid()}:{now.timestamp():.6f}",
            "argv": [Path(sys.argv[0]).name, *sys.argv[1:]],
            "time": now.isoformat(timespec="seconds"), "added": added}


def record_history(exp_dir: Path, entry_id: str, runs: dict[str, int]) -> None:
    """Write what the command with history entry ``entry_id`` ran (under the lock)."""
    with experiment_lock(exp_dir):
        manifest = read_manifest(exp_dir)
        for entry in (manifest or {}).get("history", []):
            if entry.get("id") == entry_id:
                entry["runs"] = dict(runs)
                write_json_atomic(exp_dir / "manifest.json", manifest)
                return


def _vouch_for_orphans(exp_dir: Path, config: dict) -> None:
    """A new manifest may not adopt run files these settings did not produce.

    A folder whose ``manifest.json`` was lost can still hold runs: each must
    check out and carry this study's experiment and settings, or the folder is
    refused (else, say, 20- and 50-evaluation runs would mix silently).
    """
    files = run_files(exp_dir)
    for path in files:
        try:
            rel = path.relative_to(exp_dir / "runs").parts
            check_run(_read_bytes(path), f"run file {path}", {
                "experiment": config.get("experiment"), "seed": _seed_of(path),
                "settings": config_settings_digest(config, _strategy_of(config, rel[1]))})
        except UserError as exc:
            raise IncompatibleExperiment(
                f"{exp_dir} holds {len(files)} run file(s) but no manifest.json, and not all "
                f"are this study's ({exc}); restore manifest.json or use a new experiment "
                "name") from None


def _strategy_of(config: dict, folder: str) -> str:
    """The strategy name whose results folder is ``folder`` (the folder name if none is)."""
    return next((s for s in config.get("strategies", []) if safe_part(s) == folder), folder)


def _seed_of(path: Path) -> int | None:
    stem = path.name.removesuffix(".parquet").removeprefix("seed-")
    return int(stem) if stem.isdigit() else None


def _read_bytes(path: Path) -> bytes:
    """A run file's bytes; never through a symbolic link or from anything but a file."""
    try:
        return read_regular(path)
    except OSError as exc:
        raise DamagedFile(f"run file {path} is damaged ({os_reason(exc)})") from None


def verify_run(exp_dir: Path, path: Path, config: dict | None) -> None:
    """Check run file ``path``: intact, and this experiment's run (see :mod:`tabnas.runfile`)."""
    rel = path.relative_to(exp_dir / "runs").parts
    config = config or {}
    what = f"run file {path}"
    ident = check_run(_read_bytes(path), what, {
        "experiment": config.get("experiment"), "seed": _seed_of(path),
        "settings": config_settings_digest(config, _strategy_of(config, rel[1]))})
    for field, folder in (("benchmark", rel[0]), ("strategy", rel[1])):
        if safe_part(str(ident.get(field))) != folder:
            raise ForeignFile(f"{what} is foreign: it holds a run of {field} "
                              f"{str(ident.get(field))[:80]!r}")


def damaged_message(exc: UserError) -> str:
    return (f"{exc}; rerun the study with the same settings and redo_damaged=True to move "
            "it to the experiment's damaged/ folder and compute that run again")


def check_run_files(exp_dir: Path, config: dict, keys) -> tuple[set, dict]:
    """Which of ``keys`` have an intact run file of this experiment, and which a bad one.

    Returns ``(done, bad)``: ``bad`` maps a key to the one-line reason. Files the
    load cache vouches for (same size and mtime as when they were checked) are
    not read again.
    """
    known = _cache_stamps(exp_dir)
    done, bad = set(), {}
    for key in keys:
        path = run_path(exp_dir, *key)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            bad[key] = f"run file {path} is damaged ({os_reason(exc)})"
            continue
        if known.get(path.relative_to(exp_dir).as_posix()) == [st.st_size, st.st_mtime_ns]:
            done.add(key)
            continue
        try:
            verify_run(exp_dir, path, config)
        except UserError as exc:
            bad[key] = str(exc)
        else:
            done.add(key)
    return done, bad


def set_aside(exp_dir: Path, path: Path) -> Path:
    """Move a damaged or foreign run file to ``<experiment>/damaged/`` (kept for inspection)."""
    target = exp_dir / "damaged" / path.relative_to(exp_dir / "runs")
    target.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    while target.exists() or target.is_symlink():
        n += 1
        target = target.with_name(f"{path.stem}.{n}{path.suffix}")
    os.replace(path, target)
    return target


def write_run(path: Path, table, ident: dict) -> None:
    """Write one run's records atomically as checked Parquet carrying its identity ``ident``."""
    data = encode_run(table, ident)
    atomic_write_bytes(path, lambda tmp: tmp.write_bytes(data))


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
            rec = json.loads(read_regular(path))
        except (OSError, ValueError):
            continue
        if not _is_failure(rec):
            continue  # not a record tabnas wrote; a new failure of that run replaces it
        if not run_path(exp_dir, rec["benchmark"], rec["strategy"], rec["seed"]).exists():
            out.append(rec)
    return out


def _is_failure(rec: Any) -> bool:
    return (isinstance(rec, dict) and isinstance(rec.get("benchmark"), str)
            and isinstance(rec.get("strategy"), str) and isinstance(rec.get("seed"), int)
            and isinstance(rec.get("error"), str) and isinstance(rec.get("kind"), str))


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
    out: dict[str, Any] = {"done": 0, "failed": 0, "running": 0, "missing": 0, "damaged": 0,
                           "failures": [], "holders": {}, "bad": []}
    keys = [(b, s, seed) for b in cfg["benchmarks"] for s in cfg["strategies"]
            for seed in cfg["seeds"]]
    done, bad = check_run_files(exp_dir, cfg, keys)
    for b, s, seed in keys:
        claim = exp_dir / ".claims" / safe_part(b) / safe_part(s) / f"seed-{seed}"
        if (b, s, seed) in done:
            out["done"] += 1
        elif (b, s, seed) in bad:
            out["damaged"] += 1
            out["bad"].append(bad[(b, s, seed)])
        elif (info := read_claim(claim)) is not None and not claim_is_stale(claim, info):
            out["running"] += 1
            who = f"pid {info.get('pid')} on {info.get('host')}"
            out["holders"][who] = out["holders"].get(who, 0) + 1
        elif (b, s, seed) in failures:
            out["failed"] += 1
            out["failures"].append(failures[(b, s, seed)])
        else:
            out["missing"] += 1
    out["total"] = (out["done"] + out["failed"] + out["running"] + out["missing"]
                    + out["damaged"])
    # Early stops are read from the rows, which a damaged file would not give.
    out["early"] = (early_stop_notes(load_results(exp_dir), cfg["budget"].get("evals"))
                    if out["done"] and not out["damaged"] else [])
    return out


def run_files(exp_dir: Path) -> list[Path]:
    return sorted((exp_dir / "runs").glob("*/*/seed-*.parquet"))


_COMBINED = ".combined.parquet"
_COMBINED_KEY = b"tabnas.files"
#: Row order of a loaded study (each run's rows are consecutive, by step).
_ORDER = (*RUN_COLUMNS[1:], "step")


def _cache_stamps(exp_dir: Path) -> dict:
    """The run files the load cache holds, with the size and mtime each had when checked."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with os.fdopen(open_regular(exp_dir / _COMBINED, os.O_RDONLY), "rb") as f:
            meta = pq.read_metadata(f).metadata or {}
        known = json.loads(meta[_COMBINED_KEY])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return {}
    return known if isinstance(known, dict) else {}


def _read_runs(exp_dir: Path, files: list[Path], config: dict | None,
               columns: list[str] | None = None):
    """All run files as one Arrow table, through the ``.combined.parquet`` cache.

    Every run file is checked (:func:`verify_run`) before its rows are used;
    the cache, itself checksummed, holds only checked rows. Every file is read
    with the one record schema (:mod:`tabnas.records`): columns added since a
    file was written read as nulls, so old and new runs load into one table.
    ``columns``: read only these where the cache is up to date (a column store
    decodes no more than it is asked for); otherwise all are read to refresh
    the cache.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema()
    stamps = {}
    for f in files:
        st = os.lstat(f)
        stamps[f.relative_to(exp_dir).as_posix()] = [st.st_size, st.st_mtime_ns]
    cache = exp_dir / _COMBINED
    base, known = None, _cache_stamps(exp_dir)
    if known and all(stamps.get(rel) == stamp for rel, stamp in known.items()):
        try:
            data = _read_bytes(cache)
            check(data, f"load cache {cache}")
            if pq.read_schema(pa.BufferReader(data)).remove_metadata() != schema:
                raise DamagedFile("written with another record schema")
            if columns is not None and len(known) == len(stamps):
                # Strings as dictionaries: a column of 400,000 architecture strings
                # decodes ten times faster, and stays small, as a categorical.
                strings = [c for c in columns if pa.types.is_string(schema.field(c).type)]
                return pq.read_table(pa.BufferReader(data), columns=columns,
                                     read_dictionary=strings).replace_schema_metadata(None)
            base = pq.read_table(pa.BufferReader(data)).replace_schema_metadata(None)
        except (UserError, OSError, pa.ArrowException):
            base, known = None, {}  # a damaged or outdated cache is rebuilt from the run files
    else:
        known = {}
    new = [exp_dir / rel for rel in stamps if rel not in known]
    tables = [] if base is None else [base]
    if new:
        tables += _checked_tables(exp_dir, new, config, schema)
    table = pa.concat_tables(tables)
    if new:
        # Stored sorted, so a load that finds nothing new needs no sort at all.
        table = _sorted_runs(table)
        data = encode(table, {_COMBINED_KEY: json.dumps(stamps).encode()})
        try:
            atomic_write_bytes(cache, lambda tmp: tmp.write_bytes(data))
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


def _checked_tables(exp_dir: Path, files: list[Path], config: dict | None, schema) -> list:
    """The rows of ``files``, each checked first, or a one-line error naming the first bad one.

    Checking reads each file and its footer (a fraction of decoding it); the
    checked files are then decoded in one multi-threaded ``pyarrow.dataset``
    scan, about twice as fast as decoding them one by one.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        for f in files:
            verify_run(exp_dir, f, config)
        try:
            scan = ds.dataset([str(f) for f in files], schema=schema,
                              format="parquet").to_table()
            return [scan.replace_schema_metadata(None)]
        except (OSError, pa.ArrowException):  # changed since it was checked: find which
            for f in files:
                verify_run(exp_dir, f, config)
            raise
    except UserError as exc:
        raise DamagedData(damaged_message(exc)) from None


def load_results(exp_dir: Path, columns: list[str] | None = None):
    """All finished runs of an experiment as one pandas DataFrame, sorted by run and step.

    ``columns``: only these (statistics need a third of them; the architecture
    strings of every evaluation are most of the memory).
    """
    if not exp_dir.exists():
        raise DataMissing(f"no experiment at {exp_dir}; run experiment {exp_dir.name!r} "
                          "first or check results_dir")
    manifest = read_manifest(exp_dir)
    files = run_files(exp_dir)
    if not files:
        raise DataMissing(f"experiment {exp_dir.name!r} has no finished runs yet; "
                          "run 'tabnas run' for it first")
    config = _typed_config(exp_dir, manifest["config"]) if manifest else None
    with _system_memory_pool():
        return _read_runs(exp_dir, files, config, columns).to_pandas()


#: Readers inside :func:`_system_memory_pool` now, and the pool to put back after the last.
_POOL_LOCK = threading.Lock()
_POOL_STATE: dict[str, Any] = {"readers": 0, "before": None}


@contextmanager
def _system_memory_pool() -> Iterator[None]:
    """Arrow allocates from the C library's allocator while the experiment is read.

    Arrow's default (mimalloc) hands freed pages back to the OS soon after a read and
    faults them in again on the next one; on a VM where such a fault costs tens of
    microseconds (one that reports free pages to its host), reading 400,000 rows took
    0.35-1.3 s of system time where the C allocator, reusing its pages, takes 0.05 s.
    The pool is put back after the last of concurrent readers: a program that imports
    tabnas keeps its own choice for its own Arrow work.
    """
    import pyarrow as pa

    state = _POOL_STATE
    with _POOL_LOCK:
        if state["readers"] == 0:
            state["before"] = pa.default_memory_pool()
            pa.set_memory_pool(pa.system_memory_pool())
        state["readers"] += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            state["readers"] -= 1
            if state["readers"] == 0:
                pa.set_memory_pool(state["before"])
                state["before"] = None


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
