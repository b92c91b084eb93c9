"""AnalogNAS-Bench (``nb201-analog``): the NAS-Bench-201 cell space, shipped on PyPI.

Source: the ``analog-nasbench`` package's ``data.anb``, a pickle of
``{6-tuple: Architecture}``. Its own module imports ``pkg_resources`` (gone from
current setuptools), so the file is read here with a restricted unpickler that
maps the package's two classes to local stand-ins and refuses every other
global: a tampered file cannot run code. The result is cached as dense arrays.

The table has one number per metric and no validation split: the value a
strategy sees is the reported number. Accuracies are CIFAR-10 test accuracy in
percent. It records no training time, so the cost is *modelled*: the cell's
forward-pass MFLOPs (multiply-accumulates, as NAS-Bench-201 counts them) on the
NAS-Bench-201 CIFAR skeleton.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np

from tabnas.benchmarks import BENCHMARKS
from tabnas.benchmarks.base import BenchmarkEntry, TableBenchmark
from tabnas.cache import cached_convert
from tabnas.errors import BadConfiguration, DamagedData, DataMissing
from tabnas.spaces.nb201 import EDGES, OPS, NB201Space

ACCURACIES = ("baseline_accuracy", "ptq_accuracy", "qat_accuracy", "noisy_accuracy",
              "analog_accuracy")
DRIFTS = tuple(f"{kind}_drift_{t}" for kind in ("baseline", "analog")
               for t in (60, 3600, 86400, 2592000))
#: analog-nasbench op index -> name (data.md); its tuple positions are the edges
#: (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) with 1-based nodes.
_ANALOG_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: canonical position (official string order) -> position in the analog key.
_KEY_POSITION = (0, 1, 3, 2, 4, 5)


def analog_key_to_arch(key: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(OPS.index(_ANALOG_OPS[key[p]]) for p in _KEY_POSITION)


def cell_mflops(arch: tuple[int, ...]) -> float:
    """Forward MFLOPs (MACs) of the NAS-Bench-201 CIFAR network with this cell.

    Skeleton: 3x3 stem conv 3->16 at 32x32; three stages of 5 cells at 16/32/64
    channels and 32/16/8 pixels; between stages a residual reduction block
    (3x3 stride-2 conv, 3x3 conv, 2x2 avg-pool + 1x1 shortcut); global pooling
    and a 64->10 classifier. Per edge: 3x3 conv C*C*9*H*W, 1x1 conv C*C*H*W,
    3x3 average pool C*9*H*W, skip and none free. All-3x3 cells give
    220.12 (the official table: 220.11).
    """
    per_op = {"nor_conv_3x3": 9.0, "nor_conv_1x1": 1.0}
    total = 3 * 16 * 9 * 32 * 32  # stem
    for c, hw in ((16, 32), (32, 16), (64, 8)):
        cell = 0.0
        for op_i in arch:
            op = OPS[op_i]
            if op in per_op:
                cell += c * c * per_op[op] * hw * hw
            elif op == "avg_pool_3x3":
                cell += c * 9 * hw * hw
        total += 5 * cell
    for c, hw in ((16, 16), (32, 8)):  # reduction blocks, output resolution hw
        total += c * 2 * c * 9 * hw * hw + 2 * c * 2 * c * 9 * hw * hw + c * 2 * c * hw * hw
    total += 64 * 10
    return total / 1e6


class _Record:
    """Stand-in for ``analognasbench.data.Architecture`` and ``DriftMeasurement``."""


class _SafeUnpickler(pickle.Unpickler):
    _ALLOWED = {("analognasbench.data", "Architecture"),
                ("analognasbench.data", "DriftMeasurement")}

    def find_class(self, module: str, name: str) -> type:
        if (module, name) in self._ALLOWED:
            return _Record
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in data.anb")


def data_file() -> Path | None:
    spec = importlib.util.find_spec("analognasbench")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data.anb"
    return path if path.exists() else None


def _convert(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    from tabnas.formats.package_data import check_shipped

    check_shipped(path, "analog-nasbench")  # the installed file, as its wheel recorded it
    try:
        with open(path, "rb") as f:
            table = _SafeUnpickler(f).load()
        return _arrays(table)
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError,
            KeyError, IndexError) as exc:
        # A file that unpickles into the wrong shape is as unreadable as a damaged one.
        raise DamagedData(f"cannot read {path} ({type(exc).__name__}: {exc}); it is not "
                          "analog-nasbench's data.anb: omit data, or reinstall with "
                          "'pip install --force-reinstall analog-nasbench==0.1.3'") from None


def _arrays(table: dict) -> tuple[dict[str, np.ndarray], dict]:
    space = NB201Space()
    n = space.size
    arrays = {k: np.full(n, np.nan) for k in ACCURACIES}
    for k in DRIFTS:
        arrays[k] = np.full(n, np.nan)
        arrays[k + "_uncertainty"] = np.full(n, np.nan)
    for key, rec in table.items():
        i = space.index(analog_key_to_arch(tuple(key)))
        d = vars(rec)
        for k in ACCURACIES:
            arrays[k][i] = float(d[k])
        for k in DRIFTS:
            drift = d[k]
            arrays[k][i] = float(drift.value)
            arrays[k + "_uncertainty"][i] = float(drift.uncertainty)
    if np.isnan(arrays["baseline_accuracy"]).any():
        raise ValueError("it lacks some of the 15,625 cells")
    arrays["mflops"] = np.array([cell_mflops(space.arch_at(i)) for i in range(n)])
    return arrays, {"source": "analog-nasbench 0.1.3 data.anb"}


def load(data: str | None = None, objective: str = "baseline_accuracy",
         seed_mode: str = "sample") -> TableBenchmark:
    path = Path(data) if data else data_file()
    if data and not path.is_file():
        raise DataMissing(f"nb201-analog: data={data} is not a file; omit data to use the "
                          "table shipped in analog-nasbench")
    if path is None or not path.exists():
        raise DataMissing("nb201-analog needs the analog-nasbench package: "
                          "pip install analog-nasbench==0.1.3")
    metrics = ACCURACIES + DRIFTS
    if objective not in metrics:
        raise BadConfiguration(f"unknown objective {objective!r} for nb201-analog; "
                               f"choose one of: {', '.join(metrics)}")
    arrays, meta = cached_convert("nb201-analog", [path], lambda: _convert(path))
    col = arrays[objective].reshape(-1, 1, 1)
    cost = arrays["mflops"].reshape(-1, 1, 1)
    extras = {k: v for k, v in arrays.items() if k != objective}
    return TableBenchmark(
        name="nb201-analog",
        space=NB201Space(),
        values=col,
        tests=col,
        costs=cost,
        maximize=True,
        value_label=f"{objective} (CIFAR-10 test accuracy, %; no validation split)",
        test_label=f"{objective} (the same number: the table has no validation split)",
        cost_label="MFLOPs (modelled, not measured time)",
        notes=("One number per metric and no validation split: the value a strategy sees "
               "is the reported value.",
               "Cost is modelled, not measured: the cell's forward-pass MFLOPs on the "
               "NAS-Bench-201 CIFAR skeleton (the table records no training time).",
               f"Cell edges in string order: {EDGES}."),
        extra_arrays=extras,
        checksums={s["path"]: s["sha256"] for s in meta["sources"]},
        seed_mode=seed_mode,
    )


BENCHMARKS.add("nb201-analog", BenchmarkEntry(
    name="nb201-analog",
    summary="AnalogNAS-Bench: 15,625 NAS-Bench-201 cells, CIFAR-10 digital/analog accuracy "
            "(shipped on PyPI)",
    loader=load,
    data_status=lambda: (data_file() is not None,
                         "shipped with the analog-nasbench package"
                         if data_file() else "pip install analog-nasbench==0.1.3"),
))
