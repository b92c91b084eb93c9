"""The results store: ``results/<experiment>/`` with a manifest and one Parquet file per run.

Layout::

    results/<experiment>/manifest.json                 config, versions, checksums
    results/<experiment>/runs/<benchmark>/<strategy>/seed-<n>.parquet

Results are data, never pickles. Each run file is written to a temporary file
and renamed into place, so a run is either wholly there or absent: a killed
study loses at most the runs in flight and never leaves half a file. A run
whose file exists is complete and is skipped when the same study runs again.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from harness import RESULTS_FORMAT, __version__
from harness.cache import atomic_write_bytes
from harness.errors import UserError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PACKAGES = ("numpy", "pandas", "scipy", "pyarrow", "matplotlib", "analog-nasbench")


def safe_part(name: str) -> str:
    """A benchmark/strategy name as one path component (``nb201/cifar10`` -> ``nb201~cifar10``)."""
    return name.replace("/", "~").replace(":", "+")


def experiment_dir(results_dir: str | Path, experiment: str) -> Path:
    if not _NAME_RE.match(experiment) or experiment in (".", ".."):
        raise UserError(
            f"experiment name {experiment!r} is not allowed: use letters, digits, '.', '_' "
            "and '-' (no path separators), starting with a letter or digit"
        )
    return Path(results_dir) / experiment


def run_path(exp_dir: Path, benchmark: str, strategy: str, seed: int) -> Path:
    return exp_dir / "runs" / safe_part(benchmark) / safe_part(strategy) / f"seed-{seed}.parquet"


def ensure_writable(exp_dir: Path) -> None:
    """Create the experiment folder or fail with one clear line before any run starts."""
    try:
        (exp_dir / "runs").mkdir(parents=True, exist_ok=True)
        probe = exp_dir / ".write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(
            f"cannot write results to {exp_dir}: {exc.strerror or exc}; "
            "choose another --results-dir"
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
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is unreadable ({exc}); move the folder aside") from None
    if manifest.get("format") != RESULTS_FORMAT:
        raise UserError(
            f"{exp_dir} was written by an incompatible tabnas results format "
            f"({manifest.get('format')!r}, this is {RESULTS_FORMAT}); use another "
            "--experiment name or --results-dir; nothing was changed"
        )
    return manifest


def open_experiment(
    exp_dir: Path, config: dict[str, Any], checksums: dict[str, str],
    cost_labels: dict[str, str] | None = None,
) -> dict:
    """Create the manifest, or check that an existing one has the same study settings.

    Strategies and seeds may be added to an experiment; settings that change
    what a run means (budget, hyperparameters, benchmark options) may not.
    """
    manifest = read_manifest(exp_dir)
    if manifest is not None:
        old = manifest["config"]
        for key in ("budget", "benchmark_options"):
            if old.get(key) != config.get(key):
                raise UserError(
                    f"experiment {exp_dir.name!r} already exists with {key}={old.get(key)!r}, "
                    f"not {config.get(key)!r}; use a new --experiment name"
                )
        for strat, hps in config["hyperparameters"].items():
            if strat in old["hyperparameters"] and old["hyperparameters"][strat] != hps:
                raise UserError(
                    f"experiment {exp_dir.name!r} ran {strat} with hyperparameters "
                    f"{old['hyperparameters'][strat]}, not {hps}; use a new --experiment name"
                )
        merged = dict(old)
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
    manifest["packages"] = package_versions()
    manifest["git_revision"] = git_revision()
    write_json_atomic(exp_dir / "manifest.json", manifest)
    return manifest


def write_run(path: Path, table) -> None:
    """Write one run's records atomically as Parquet."""
    import pyarrow.parquet as pq

    atomic_write_bytes(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def run_files(exp_dir: Path) -> list[Path]:
    return sorted((exp_dir / "runs").glob("*/*/seed-*.parquet"))


def load_results(exp_dir: Path):
    """All finished runs of an experiment as one pandas DataFrame (empty runs excluded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not exp_dir.exists():
        raise UserError(f"no experiment at {exp_dir}; run 'tabnas run --experiment "
                        f"{exp_dir.name}' first or check --results-dir")
    files = run_files(exp_dir)
    if not files:
        raise UserError(f"experiment {exp_dir.name!r} has no finished runs yet; "
                        "run 'tabnas run' for it first")
    table = pa.concat_tables([pq.read_table(f) for f in files])
    df = table.to_pandas()
    df = df.sort_values(["benchmark", "strategy", "seed", "step"], kind="stable")
    return df.reset_index(drop=True)


def results_dir_default() -> Path:
    return Path(os.environ.get("TABNAS_RESULTS", "results"))
