"""``tabnas tabulate``: train every architecture of a live benchmark and write a table.

Output folder (the custom-table format: ``spec.toml`` + ``table.parquet``)::

    TABLE/spec.toml          the table spec (value, test, cost, fidelity, seed, [variables])
    TABLE/table.parquet      one row per (architecture, seed, epoch)
    TABLE/tabulate.json      what was trained: benchmark, epochs, data checksums, settings
    TABLE/runs/<arch>/seed-<s>.json   one finished (architecture, seed) training run

Each (architecture, seed) run is written atomically the moment it finishes,
so an interrupted tabulation resumes where it stopped: a rerun of the same
command skips the runs on disk. More seeds may be added later; a rerun with
other epochs, data, or device is refused (its runs would not belong to the
same table). The table and then the spec are written last, atomically, so a
folder with a ``spec.toml`` always holds a complete table, which loads as the
benchmark ``table:TABLE`` through the ordinary custom-table loader
(:mod:`tabnas.benchmarks.tables.custom`); its ``[variables]`` are the
space's, so it numbers and searches architectures exactly as the live
benchmark does (see :mod:`tabnas.spaces.mlp`).

Columns: ``arch`` (string form), the space's variables (``width1``, ``act1``,
``width2``, ``act2``; ``width``, ``act`` for the shared space), ``seed``,
``epoch``, ``valid_acc``, ``test_acc`` (percent), ``time_s`` (cumulative
training seconds to the end of that epoch, measured) and ``train_loss``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tabnas.benchmarks.tables.custom import SPEC_FILE
from tabnas.errors import (
    BadConfiguration,
    DamagedData,
    IncompatibleExperiment,
    UserError,
    os_reason,
)
from tabnas.progress import progress_bar

TABLE_FILE = "table.parquet"
CONFIG_FILE = "tabulate.json"


def parse_epochs(text: str) -> tuple[int, int]:
    """``"1-10"`` -> (1, 10); ``"5"`` -> (1, 5): the epochs the table records."""
    lo_text, dash, hi_text = text.strip().partition("-")
    try:
        lo, hi = (int(lo_text), int(hi_text)) if dash else (1, int(lo_text))
    except ValueError:
        lo = hi = 0
    if not 1 <= lo <= hi:
        raise BadConfiguration(f"epochs {text!r}: write FIRST-LAST (e.g. 1-10) or LAST, "
                               "with 1 <= FIRST <= LAST")
    return lo, hi


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def spec_text(name: str, variables: list[tuple[str, tuple]], cost_label: str,
              comments: list[str]) -> str:
    lines = [f"# {c}" for c in comments]
    for key, value in (("name", name), ("table", TABLE_FILE), ("value", "valid_acc"),
                       ("test", "test_acc"), ("maximize", True), ("cost", "time_s"),
                       ("cost_label", cost_label), ("fidelity", "epoch"), ("seed", "seed")):
        lines.append(f"{key} = {_toml_value(value)}")
    lines += ["", "[variables]"]
    lines += [f"{var} = {_toml_value(list(choices))}" for var, choices in variables]
    return "\n".join(lines) + "\n"


def _config(bench, hi: int) -> dict[str, Any]:
    from tabnas.live.trainer import BATCH_SIZE, LEARNING_RATE, THREADS

    return {"benchmark": bench.name, "last_epoch": hi, "device": bench.data.device.type,
            "data": bench.splits.source, "checksums": sorted(bench.checksums.values()),
            "training": {"optimizer": "adam", "learning_rate": LEARNING_RATE,
                         "batch_size": BATCH_SIZE, "threads": THREADS}}


def _check_folder(out: Path, config: dict[str, Any]) -> None:
    """Refuse a folder that is not (a resumable part of) this same tabulation."""
    if out.exists() and not out.is_dir():
        raise BadConfiguration(f"output folder {out}: a file is in the way; give a folder name")
    if not out.exists() or not any(out.iterdir()):
        return
    path = out / CONFIG_FILE
    if not path.exists():
        raise BadConfiguration(f"output folder {out} is not empty and holds no tabulation; "
                               "give a new or empty folder")
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DamagedData(f"{path} is unreadable ({exc}); move the folder aside") from None
    for key, value in config.items():
        if old.get(key) != value:
            raise IncompatibleExperiment(f"{out} was tabulated with {key}={old.get(key)!r}, "
                                         f"not {value!r}; use another output folder")


def run_file(out: Path, arch_string: str, seed: int) -> Path:
    return out / "runs" / arch_string / f"seed-{seed}.json"


def tabulate(benchmark: str, out: Path, *, seeds: int, epochs: tuple[int, int],
             data: str | None = None, device: str | None = "auto",
             progress: bool | None = None) -> dict[str, int]:
    """Train every (architecture, seed) missing under ``out``, then write the table and spec.

    Returns counts of runs trained now and runs found on disk.
    """
    from tabnas.benchmarks import load_benchmark
    from tabnas.benchmarks.tables.mnist import LIVE_BENCHMARKS
    from tabnas.live.benchmark import LiveBenchmark
    from tabnas.results import write_json_atomic

    if benchmark not in LIVE_BENCHMARKS:
        raise BadConfiguration(f"tabulate trains live benchmarks ({', '.join(LIVE_BENCHMARKS)}); "
                               f"{benchmark!r} is not one")
    lo, hi = epochs
    bench = load_benchmark(benchmark, data=data, epochs=hi, seeds=seeds, device=device)
    assert isinstance(bench, LiveBenchmark)
    config = _config(bench, hi)
    _check_folder(out, config)
    try:
        write_json_atomic(out / CONFIG_FILE, config)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {os_reason(exc)}") from None

    space = bench.space
    archs = space.all_archs()
    trained = found = 0
    bar = progress_bar(len(archs), progress, f"tabulate {bench.name}", "arch")
    for arch in archs:
        name = space.to_string(arch)
        if bar is not None:
            bar.set_postfix_str(name)
        for seed in bench.training_seeds:
            path = run_file(out, name, seed)
            if path.exists():
                found += 1
                continue
            inner = progress_bar(hi, progress, f"  {name} seed {seed}", "epoch", leave=False)
            for epoch in range(1, hi + 1):
                run = bench.training_run(arch, seed, epoch)
                if inner is not None:
                    inner.update(1)
            if inner is not None:
                inner.close()
            write_json_atomic(path, {"arch": name, "seed": seed, **run.records()})
            trained += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    _write_table(out, bench, lo, hi)
    return {"trained": trained, "found": found}


def _write_table(out: Path, bench, lo: int, hi: int) -> None:
    import pandas as pd

    from tabnas.cache import atomic_write_bytes

    space = bench.space
    rows: dict[str, list] = {k: [] for k in ("arch", *(v for v, _ in space.variables), "seed",
                                             "epoch", "valid_acc", "test_acc", "time_s",
                                             "train_loss")}
    for arch in space.all_archs():
        name = space.to_string(arch)
        for seed in bench.training_seeds:
            rec = json.loads(run_file(out, name, seed).read_text())
            for epoch in range(lo, hi + 1):
                rows["arch"].append(name)
                for (var, choices), choice in zip(space.variables, arch, strict=True):
                    rows[var].append(choices[choice])
                rows["seed"].append(seed)
                rows["epoch"].append(epoch)
                for key in ("valid_acc", "test_acc", "time_s", "train_loss"):
                    rows[key].append(float(rec[key][epoch - 1]))
    df = pd.DataFrame(rows)
    atomic_write_bytes(out / TABLE_FILE, lambda tmp: df.to_parquet(tmp, index=False))
    comments = [f"Tabulated by `tabnas tabulate {bench.name} --seeds "
                f"{len(bench.training_seeds)} --epochs {lo}-{hi}` from {bench.splits.describe()}.",
                "Every column but time_s (measured seconds) repeats exactly when retrained "
                "on CPU with the same data and seeds."]
    cost_label = f"seconds of training on {bench.data.device.type} (measured when tabulated)"
    text = spec_text(f"{bench.name}-live", list(space.variables), cost_label, comments)
    atomic_write_bytes(out / SPEC_FILE, lambda tmp: tmp.write_text(text))
