"""NAS-Bench-201 (``nb201/<dataset>``), NATS-Bench (``nats-tss/<dataset>``, ``nats-sss/<dataset>``).

The official files are multi-GB pickles that take minutes and many GB of RAM to
load. They are read once through the official APIs (``nas_201_api``,
``nats_bench``; single file or NATS fast-mode folder) and converted into one
cache file per family holding dense float64 arrays ``(cells, seeds, epochs)``
per dataset and schedule: validation/test accuracy and loss, and the cost.
Every later load reads only its own dataset's arrays from the cache.

Semantics (NAS-Bench-201 paper, and the official ``simulate_train_eval``):

- searched value: ``x-valid`` accuracy. ``cifar10`` was trained on train+valid
  and has no validation set, so its searched value is ``cifar10-valid``'s
  ``x-valid`` (same architecture, same seed), as the paper does;
- reported value: ``ori-test`` for ``cifar10-valid`` and ``cifar10``,
  ``x-test`` for ``cifar100`` and ``ImageNet16-120``;
- fidelity: epoch ``1..E`` of the chosen schedule (``schedule`` option: 12 or
  200 for nb201/nats-tss, 01/12/90 for nats-sss; the default is the longest);
- reporting: ``truth`` (the incumbent's reported value, and regret) and
  ``optimum`` are the seed-averaged final-epoch accuracies of the
  ``report_schedule`` (default: the searched ``schedule``). The paper's
  protocol is ``schedule=12, report_schedule=200``: search on the 12-epoch
  validation accuracy at 12-epoch cost, report the 200-epoch test accuracy of
  the chosen architecture, and measure regret against the 200-epoch optimum.
  The reported side is always the seed mean (the official
  ``get_more_info(..., is_random=False)``), whichever seed answered the search;
- cost: recorded training seconds up to that epoch plus the mean per-epoch
  evaluation seconds of the searched set (``train-all-time + valid-per-time``),
  which at the last epoch is exactly the official simulated time;
- which recorded seed answers is picked by the run's benchmark stream and fixed
  per architecture (``TableBenchmark`` ``seed_mode="sample"``), or the seed
  mean with ``seed_mode="mean"``. For ``cifar10`` only seeds recorded in both
  ``cifar10-valid`` and ``cifar10`` are used.

No data file can run code. Under torch >= 2.6 ``torch.load`` only unpickles
plain types by default; the NAS-Bench-201 file is loaded with exactly numpy's
scalar and dtype globals allowed in addition (never ``weights_only=False``).
NATS-Bench's API reads every file (the single ``.pickle.pbz2`` and each file
of a fast-mode folder, also those it loads lazily) through its one function
``pickle_load``; tabnas replaces that function, in this process, with the
allow-list reader of :mod:`tabnas.formats.safe_pickle` before the API reads
anything, so a crafted file is refused with one line and nothing it names is
imported or called. No official SHA-256 of these files is published (the short
suffixes in their names are not checksums tabnas could verify); the SHA-256 of
every source file is recorded in the cache and in each experiment's manifest.
"""

from __future__ import annotations

import bz2
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tabnas.benchmarks import BENCHMARKS
from tabnas.benchmarks.base import BenchmarkEntry, TableBenchmark
from tabnas.cache import DamagedCacheError, cached_convert, cached_meta
from tabnas.errors import BadConfiguration, DamagedData, DataMissing, UserError
from tabnas.spaces.nb201 import NB201Space
from tabnas.spaces.product import ProductSpace

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
TEST_SET = {"cifar10-valid": "ori-test", "cifar10": "ori-test", "cifar100": "x-test",
            "ImageNet16-120": "x-test"}
CHANNELS = (8, 16, 24, 32, 40, 48, 56, 64)
FIELDS = ("valid_acc", "valid_loss", "test_acc", "test_loss", "cost")
CELL_FIELDS = ("flops", "params", "latency")


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    env: str
    files: str
    schedules: tuple[str, ...]
    url: str

    @property
    def default_schedule(self) -> str:
        return self.schedules[-1]


FAMILIES = {
    "nb201": Family("nb201", "NAS-Bench-201", "TABNAS_NB201",
                    "NAS-Bench-201-v1_1-096897.pth (or v1_0-e61699.pth)", ("12", "200"),
                    "https://github.com/D-X-Y/NAS-Bench-201"),
    "nats-tss": Family("nats-tss", "NATS-Bench topology", "TABNAS_NATS_TSS",
                       "NATS-tss-v1_0-3ffb9-simple (fast-mode folder) or "
                       "NATS-tss-v1_0-3ffb9-full.pickle.pbz2", ("12", "200"),
                       "https://github.com/D-X-Y/NATS-Bench"),
    "nats-sss": Family("nats-sss", "NATS-Bench size", "TABNAS_NATS_SSS",
                       "NATS-sss-v1_0-50262-simple (fast-mode folder) or "
                       "NATS-sss-v1_0-50262-full.pickle.pbz2", ("01", "12", "90"),
                       "https://github.com/D-X-Y/NATS-Bench"),
}


class ChannelSpace(ProductSpace):
    """NATS-Bench size space: 5 layers x 8 channel counts, official ``"8:16:..."`` strings."""

    def __init__(self) -> None:
        super().__init__("nats-sss", [(f"layer{i}", CHANNELS) for i in range(5)])

    def to_string(self, arch: tuple[int, ...]) -> str:
        self.index(arch)
        return ":".join(str(CHANNELS[c]) for c in arch)

    def from_string(self, text: str) -> tuple[int, ...]:
        try:
            arch = tuple(CHANNELS.index(int(x)) for x in text.split(":"))
        except ValueError:
            raise ValueError(f"not a NATS-Bench size string: {text!r}") from None
        self.index(arch)
        return arch


def space_for(family: str):
    return ChannelSpace() if family == "nats-sss" else NB201Space()


# ---------------------------------------------------------------- source files


def _how_to_get(fam: Family, benchmark: str) -> str:
    return (f"get {fam.files} from {fam.url}, then pass data=PATH or set {fam.env}=PATH "
            f"(or run 'tabnas prepare {benchmark} --data PATH' once)")


def source_path(family: str, data: str | None, benchmark: str) -> Path:
    """``--data``, else ``$TABNAS_...``, else the source the cache was built from.

    ``benchmark`` is the name the user asked for, which the how-to-get message repeats.
    """
    fam = FAMILIES[family]
    given = data or os.environ.get(fam.env)
    if given:
        path = Path(given).expanduser()
        if not path.exists():
            raise DataMissing(f"{fam.title} data {path} does not exist; "
                              f"{_how_to_get(fam, benchmark)}")
        return path
    meta = cached_meta(family)
    if meta and meta.get("root") and Path(meta["root"]).exists():
        return Path(meta["root"])
    raise DataMissing(f"{fam.title} data not found; {_how_to_get(fam, benchmark)}")


def _source_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file())
    return [path]


def data_status(family: str, benchmark: str) -> tuple[bool, str]:
    fam = FAMILIES[family]
    try:
        path = source_path(family, None, benchmark)
    except UserError:
        return False, _how_to_get(fam, benchmark)
    return True, f"{fam.files.split(' ')[0]} at {path}"


# ---------------------------------------------------------------- conversion


def _nats_pickle_load(file_path: str, ext: str = ".pbz2") -> Any:
    """``nats_bench.api_utils.pickle_load``, with the allow-list unpickler (same file lookup)."""
    from tabnas.formats import safe_pickle

    path = str(file_path) if os.path.isfile(str(file_path)) else str(file_path) + ext
    with bz2.BZ2File(path, "rb") as f:
        return safe_pickle.load(f)


def _safe_nats():
    """The ``nats_bench`` package, reading files only through :func:`_nats_pickle_load`."""
    import nats_bench
    from nats_bench import api_size, api_topology, api_utils

    for module in (nats_bench, api_utils, api_topology, api_size):
        if getattr(module, "pickle_load", None) is not _nats_pickle_load:
            module.pickle_load = _nats_pickle_load
    return nats_bench
#: Packages the official readers import -> how to install them.
_READER_PACKAGES = {
    # The NAS-Bench-201 file is a torch pickle; PyTorch's CPU-only wheel is enough.
    "torch": "PyTorch: pip install torch --index-url https://download.pytorch.org/whl/cpu "
             "(the CPU-only wheel; any torch >= 2.1 works)",
    "nas_201_api": "the official API: pip install 'tabnas[official]'",
    "nats_bench": "the official API: pip install 'tabnas[official]'",
}


def open_api(family: str, path: Path):
    """The official API object for ``path``; a damaged file is a one-line error."""
    fam = FAMILIES[family]
    try:
        if family == "nb201":
            import torch
            from nas_201_api import NASBench201API
            from numpy._core.multiarray import scalar

            allowed = [scalar, np.dtype, *(getattr(np.dtypes, n) for n in
                                           ("Float64DType", "Float32DType", "Int64DType"))]
            if path.is_dir():
                raise BadConfiguration(f"{path} is a folder; NAS-Bench-201 is one .pth file")
            # A wrong file's pickle protocol makes torch warn before it fails: the
            # one-line error below says all there is to say.
            with torch.serialization.safe_globals(allowed), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return NASBench201API(str(path), verbose=False)
        nats_bench = _safe_nats()
        return nats_bench.create(str(path), family.split("-")[1], fast_mode=path.is_dir(),
                                 verbose=False)
    except UserError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name not in _READER_PACKAGES:
            raise
        raise DataMissing(f"reading {fam.title} data needs {_READER_PACKAGES[exc.name]}") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DamagedData(f"cannot read {fam.title} data {path} ({type(exc).__name__}: {first}); "
                          f"the file is truncated or not {fam.files}: download it again") from None


class _Records:
    """One row per recorded training run (cell, seed) of one dataset and schedule.

    Stored as records, not as a dense (all cells) array, so a partial file (or a
    test fixture) costs only what it holds; :func:`_dense` expands on load.
    """

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.cells: list[int] = []
        self.seeds: list[int] = []
        self.rows: dict[str, list[np.ndarray]] = {f: [] for f in FIELDS}
        self.scalars: dict[str, list[float]] = {f: [] for f in CELL_FIELDS}

    def add(self, cell: int, seed: int) -> dict[str, np.ndarray]:
        self.cells.append(cell)
        self.seeds.append(seed)
        row = {f: np.full(self.epochs, np.nan) for f in FIELDS}
        for f, r in row.items():
            self.rows[f].append(r)
        return row

    def finish(self, prefix: str) -> dict[str, np.ndarray]:
        out = {f"{prefix}/{f}": np.stack(r) for f, r in self.rows.items()}
        out.update({f"{prefix}/{f}": np.array(v, dtype=float) for f, v in self.scalars.items()})
        out[f"{prefix}/cell"] = np.array(self.cells, dtype=np.int64)
        out[f"{prefix}/seed"] = np.array(self.seeds, dtype=np.int64)
        return out


def _record(records: _Records, cell: int, seed: int, rc: Any, dataset: str,
            compute: dict[str, Any]) -> None:
    """Copy one ResultsCount (one training run) into a row.

    ``compute`` is the API's ``get_compute_costs`` for the cell (FLOPs, params and
    latency, with NATS-Bench's fix for inconsistent legacy values applied).
    """
    row = records.add(cell, seed)
    epochs = min(int(rc.epochs), records.epochs)
    train_times = rc.train_times if isinstance(rc.train_times, dict) else {}
    test_set = TEST_SET[dataset]
    has_valid = "x-valid" in rc.eval_names
    train_all = 0.0
    valid_all = 0.0
    for e in range(epochs):
        train_all += float(train_times.get(e, np.nan))
        if has_valid:
            key = f"x-valid@{e}"
            row["valid_acc"][e] = rc.eval_acc1es.get(key, np.nan)
            row["valid_loss"][e] = rc.eval_losses.get(key, np.nan)
            valid_all += float(rc.eval_times.get(key, 0.0) or 0.0)
            row["cost"][e] = train_all + valid_all / (e + 1)
        else:
            row["cost"][e] = train_all
        key = f"{test_set}@{e}"
        row["test_acc"][e] = rc.eval_acc1es.get(key, np.nan)
        row["test_loss"][e] = rc.eval_losses.get(key, np.nan)
    for f in CELL_FIELDS:
        records.scalars[f].append(np.nan if compute.get(f) is None else float(compute[f]))


def _dense(arrays: Mapping[str, np.ndarray], prefix: str, fields: tuple[str, ...], size: int,
           seeds: list[int], last: bool = False) -> dict[str, np.ndarray]:
    """Records -> ``(cells, seeds, epochs)`` arrays (NaN where a run is missing).

    Each field's records are read (from a lazy cache mapping), expanded and
    dropped before the next, so loading peaks near the size of the dense
    arrays rather than records plus arrays. ``last`` keeps only the final epoch.
    """
    cell, seed = arrays[f"{prefix}/cell"], arrays[f"{prefix}/seed"]
    keep = np.isin(seed, seeds)
    slot = np.searchsorted(np.asarray(seeds), seed[keep])
    out = {}
    for f in fields:
        rec = arrays[f"{prefix}/{f}"]
        if last and rec.ndim == 2:
            rec = rec[:, -1:]
        if not keep.all():
            rec = rec[keep]
        dense = np.full((size, len(seeds), *rec.shape[1:]), np.nan)
        dense[cell[keep], slot] = rec
        out[f] = dense
        del rec
    return out


def convert(family: str, path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read every record through the official API into dense arrays (with a progress bar)."""
    from tqdm import tqdm

    fam = FAMILIES[family]
    api = open_api(family, path)
    space = space_for(family)
    slots: dict[tuple[str, str], _Records] = {}
    n = len(api.meta_archs)
    for idx in tqdm(range(n), desc=f"converting {fam.title}", unit="arch", file=sys.stderr,
                    disable=None, mininterval=1.0):
        try:
            cell = space.index(space.from_string(api.meta_archs[idx]))
        except ValueError:
            raise DamagedData(f"{path} lists {api.meta_archs[idx]!r}, not a {fam.title} "
                              "architecture: is this the right file for this benchmark?") from None
        for hp in fam.schedules:
            try:
                results = api.query_meta_info_by_index(idx, hp)
            except (ValueError, KeyError, AssertionError):
                continue  # not evaluated (or not under this schedule): stays NaN
            except Exception as exc:  # noqa: BLE001 - a damaged fast-mode file
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                raise DamagedData(f"cannot read record {idx} of {path} ({type(exc).__name__}: "
                                  f"{first}); download {fam.files} again") from None
            for dataset, seeds in results.dataset_seed.items():
                if dataset not in TEST_SET:
                    continue
                compute = results.get_compute_costs(dataset)
                for seed in seeds:
                    key = (dataset, hp)
                    if key not in slots:
                        slots[key] = _Records(int(hp))
                    _record(slots[key], cell, int(seed), results.all_results[(dataset, seed)],
                            dataset, compute)
    if not slots:
        raise DamagedData(f"{path} holds no evaluated architectures; download {fam.files} again")
    arrays: dict[str, np.ndarray] = {}
    for (dataset, hp), s in slots.items():
        arrays.update(s.finish(f"{dataset}/{hp}"))
    return arrays, {"root": str(path.resolve()), "family": family,
                    "available": sorted(f"{d}/{h}" for d, h in slots)}


def load_arrays_for(family: str, path: Path, keys: list[str]
                    ) -> tuple[Mapping[str, np.ndarray], dict]:
    """The cached arrays ``keys`` of ``family`` (converting on first use), read on lookup."""
    arrays, meta = cached_convert(family, _source_files(path), lambda: convert(family, path),
                                  keys=keys, lazy=True)
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DataMissing(f"{path} has no {missing[0].rsplit('/', 1)[0]} records "
                          f"(available: {', '.join(meta.get('available', [])) or 'none'})")
    return arrays, meta


# ---------------------------------------------------------------- the benchmark


def _align(a_seeds: np.ndarray, b_seeds: np.ndarray) -> tuple[list[int], list[int]]:
    common = sorted(set(a_seeds.tolist()) & set(b_seeds.tolist()))
    return ([a_seeds.tolist().index(s) for s in common],
            [b_seeds.tolist().index(s) for s in common])


def _schedule(fam: Family, name: str, schedule: str | int | None, option: str) -> str:
    """The family's spelling of ``schedule`` (``1`` -> ``"01"``), or a one-line error."""
    hp = fam.default_schedule if schedule is None else str(schedule)
    if hp not in fam.schedules and hp.zfill(2) in fam.schedules:
        hp = hp.zfill(2)  # "1" -> "01"
    if hp not in fam.schedules:
        raise BadConfiguration(f"{option} {schedule!r} unknown for {name}; choose one of "
                               f"{', '.join(fam.schedules)} (epochs of the training schedule)")
    return hp


def _schedule_arrays(family: str, dataset: str, hp: str, path: Path,
                     fields: tuple[str, ...], last: bool = False) -> tuple[dict, dict, dict]:
    """:func:`_read_schedule`; a cache found damaged while read lazily is rebuilt once."""
    try:
        return _read_schedule(family, dataset, hp, path, fields, last)
    except DamagedCacheError:  # the damaged cache was removed: this converts afresh
        return _read_schedule(family, dataset, hp, path, fields, last)


def _read_schedule(family: str, dataset: str, hp: str, path: Path,
                   fields: tuple[str, ...], last: bool = False) -> tuple[dict, dict, dict]:
    """Dense ``(cells, seeds, epochs)`` searched-side ``v`` and reported-side ``t`` arrays.

    ``fields`` are the searched-side fields to load (the test accuracy and loss
    are always loaded); ``last`` keeps only the final epoch (``epochs`` = 1).
    For ``cifar10`` the searched value comes from ``cifar10-valid`` and the test
    value from ``cifar10``: two training runs per seed, so only seeds with both
    are kept.
    """
    value_ds = "cifar10-valid" if dataset == "cifar10" else dataset
    record_fields = ("cell", "seed")
    keys = [f"{value_ds}/{hp}/{f}" for f in (*fields, *record_fields)]
    keys += [f"{dataset}/{hp}/{f}" for f in ("test_acc", "test_loss", *record_fields)]
    arrays, meta = load_arrays_for(family, path, sorted(set(keys)))
    seeds = sorted(set(arrays[f"{value_ds}/{hp}/seed"].tolist())
                   & set(arrays[f"{dataset}/{hp}/seed"].tolist()))
    size = space_for(family).size
    v = _dense(arrays, f"{value_ds}/{hp}", fields, size, seeds, last)
    t = _dense(arrays, f"{dataset}/{hp}", ("test_acc", "test_loss"), size, seeds, last)
    if dataset == "cifar10":  # value and test come from two runs: keep seeds that have both
        missing = np.isnan(v["valid_acc"]) | np.isnan(t["test_acc"])
        for arr in (*v.values(), *t.values()):
            if arr.ndim == 3:
                arr[missing] = np.nan
    return v, t, meta


def load(family: str, dataset: str, data: str | None = None, schedule: str | int | None = None,
         seed_mode: str = "sample", report_schedule: str | int | None = None) -> TableBenchmark:
    fam = FAMILIES[family]
    name = f"{family}/{dataset}"
    hp = _schedule(fam, name, schedule, "schedule")
    report_hp = hp if report_schedule is None else _schedule(fam, name, report_schedule,
                                                             "report_schedule")
    path = source_path(family, data, name)
    v, t, meta = _schedule_arrays(family, dataset, hp, path,
                                  ("valid_acc", "valid_loss", "cost", *CELL_FIELDS))
    report = None
    if report_hp != hp:
        rv, rt, _ = _schedule_arrays(family, dataset, report_hp, path, ("valid_acc",),
                                     last=True)
        report = (report_hp, rv["valid_acc"][:, :, -1], rt["test_acc"][:, :, -1])
    searched = ("cifar10-valid x-valid (cifar10 has no validation set; as in the "
                "NAS-Bench-201 paper)" if dataset == "cifar10" else f"{dataset} x-valid")
    with warnings.catch_warnings():  # cells without records average to NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        extras = {f: np.nanmean(v[f], axis=1) for f in CELL_FIELDS}
    extras["valid_loss"] = v["valid_loss"]
    extras["test_loss"] = t["test_loss"]
    with warnings.catch_warnings():  # a partial file: cells without records are NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return _table(name, family, dataset, hp, fam, searched, v, t, extras, meta, path,
                      seed_mode, report)


def _table(name, family, dataset, hp, fam, searched, v, t, extras, meta, path, seed_mode,
           report):
    epochs = v["valid_acc"].shape[2]
    report_hp, report_v, report_t = report or (hp, None, None)
    reported = (f"final epoch of the {int(report_hp)}-epoch schedule "
                f"(option report_schedule={report_hp}; searched: {int(hp)}-epoch)")
    return TableBenchmark(
        name=name,
        space=space_for(family),
        values=v["valid_acc"],
        tests=t["test_acc"],
        costs=v["cost"],
        fidelities=tuple(range(1, epochs + 1)),
        maximize=True,
        value_label=f"validation accuracy (%): {searched}",
        test_label=f"test accuracy (%): {dataset} {TEST_SET[dataset]}",
        cost_label="seconds (recorded training time to that epoch + per-epoch evaluation "
                   "time, as the official simulate_train_eval)",
        notes=(f"Searched schedule: {int(hp)} epochs (option schedule={'|'.join(fam.schedules)}); "
               f"fidelity = epoch 1..{epochs}; cost = its training time.",
               f"Reported schedule: {int(report_hp)} epochs (option report_schedule, default "
               "the searched one): truth, regret and the optimum use its final-epoch "
               "seed-averaged accuracies.",
               "Seed: one recorded training seed per architecture, picked by the run's "
               "benchmark stream (seed_mode=mean averages them).",
               "Extras: flops (M), params (MB), latency (s), valid_loss, test_loss "
               "(of the searched schedule)."),
        extra_arrays=extras,
        checksums={s["path"]: s["sha256"] for s in meta["sources"]} if len(
            meta["sources"]) <= 4 else {meta.get("root", str(path)): _digest(meta["sources"])},
        seed_mode=seed_mode,
        report_values=report_v,
        report_tests=report_t,
        reported_at=reported if report is not None else "",
    )


def _digest(sources: list[dict]) -> str:
    """One SHA-256 over a fast-mode folder's per-file hashes."""
    import hashlib

    h = hashlib.sha256()
    for s in sources:
        h.update(f"{Path(s['path']).name}:{s['sha256']}\n".encode())
    return h.hexdigest()


def prepare(benchmark: str, data: str | None) -> tuple[Path, dict]:
    """Convert (or validate the cache of) the source of ``benchmark``'s family (every dataset)."""
    family = benchmark.split("/", 1)[0]
    path = source_path(family, data, benchmark)
    _, meta = cached_convert(family, _source_files(path), lambda: convert(family, path),
                             keys=[])
    return path, meta


def _register(family: str, dataset: str) -> None:
    fam = FAMILIES[family]

    def loader(data: str | None = None, schedule: str | None = None,
               seed_mode: str = "sample", report_schedule: str | None = None) -> TableBenchmark:
        return load(family, dataset, data=data, schedule=schedule, seed_mode=seed_mode,
                    report_schedule=report_schedule)

    BENCHMARKS.add(f"{family}/{dataset}", BenchmarkEntry(
        name=f"{family}/{dataset}",
        summary=f"{fam.title} {dataset}: official file via the official API "
                f"(schedules {'/'.join(fam.schedules)} epochs)",
        loader=loader,
        data_status=lambda: data_status(family, f"{family}/{dataset}"),
    ))


for _family in FAMILIES:
    for _dataset in DATASETS:
        _register(_family, _dataset)
