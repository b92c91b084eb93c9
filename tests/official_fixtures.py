"""Small NAS-Bench-201 / NATS-Bench files in the official formats, built with the real APIs' classes.

A few cells, every dataset, seeds 777 and 888 (one cell lacks 888, as about half
of the real cells lack a seed), every schedule with its real number of epochs.
Values are plain Python floats (torch >= 2.6 refuses numpy scalars by default);
``numpy_scalars=True`` puts numpy scalars into the latency lists instead, as a
file written with numpy values would have, to test that such a file still loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tabnas.benchmarks.tables.official import CHANNELS, TEST_SET

NB201_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # listed but not evaluated
]
SSS_ARCHS = ["64:64:64:64:64", "8:16:24:32:40", "32:8:56:64:16", "8:8:8:8:8", "16:16:16:16:16"]
EVAL_SETS = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
             "cifar100": ("ori-test", "x-valid", "x-test"),
             "ImageNet16-120": ("ori-test", "x-valid", "x-test")}
SEEDS = (777, 888)


def _results_count(mod, arch_str, dataset, seed, epochs, quality, rng, numpy_scalars):
    rc = mod.ResultsCount(dataset, None, None, None, 0.0, 0.0,
                          {"name": "infer.tiny", "channel": 16, "num_cells": 5,
                           "arch_str": arch_str, "class_num": 10}, seed, epochs, None)
    curve = [quality * (1 - 0.9 ** (e + 1)) for e in range(epochs)]

    def noisy(x):
        return round(float(x + rng.normal(0, 0.8)), 4)

    train_acc = {e: noisy(c) for e, c in enumerate(curve)}
    train_loss = {e: round(float(3.0 - c / 40), 4) for e, c in enumerate(curve)}
    train_times = {e: round(float(rng.uniform(5, 7)), 4) for e in range(epochs)}
    rc.update_train_info(train_acc, dict(train_acc), train_loss, train_times)
    accs, losses, times = {}, {}, {}
    for name in EVAL_SETS[dataset]:
        offset = {"x-valid": 0.0, "ori-test": -1.0, "x-test": -2.0}[name]
        for e, c in enumerate(curve):
            accs[f"{name}@{e}"] = noisy(c + offset)
            losses[f"{name}@{e}"] = round(float(3.1 - c / 40 + rng.uniform(0, 0.1)), 4)
            times[f"{name}@{e}"] = round(float(rng.uniform(0.5, 1.0)), 4)
    rc.update_eval(accs, losses, times)
    rc.params = round(float(rng.uniform(0.1, 1.5)), 4)
    rc.flop = round(float(rng.uniform(10, 200)), 4)
    latency = [round(float(rng.uniform(0.01, 0.03)), 5)]
    rc.update_latency([np.float64(x) for x in latency] if numpy_scalars else latency)
    return rc


def _arch_results(mod, index, arch_str, epochs, rng, numpy_scalars, quality=None,
                  datasets=tuple(EVAL_SETS)):
    ar = mod.ArchResults(index, arch_str)
    quality = 60.0 + 10.0 * index if quality is None else quality
    for dataset in datasets:
        for seed in SEEDS if index != 1 else SEEDS[:1]:
            ar.update(dataset, seed, _results_count(mod, arch_str, dataset, seed, epochs,
                                                    quality, rng, numpy_scalars))
    return ar.state_dict()


def build_nb201(path: Path, numpy_scalars: bool = False) -> Path:
    """A ``NAS-Bench-201-v1_*.pth``-format file (``torch.save`` of the three-key dict)."""
    import torch
    from nas_201_api import api_utils

    rng = np.random.default_rng(201)
    infos = {i: {"less": _arch_results(api_utils, i, a, 12, rng, numpy_scalars),
                 "full": _arch_results(api_utils, i, a, 200, rng, numpy_scalars)}
             for i, a in enumerate(NB201_ARCHS[:4])}
    torch.save({"meta_archs": list(NB201_ARCHS), "arch2infos": infos,
                "evaluated_indexes": list(infos)}, path)
    return path


def build_nb201_searchable(path: Path, cells: int) -> Path:
    """A ``NAS-Bench-201-v1_*.pth``-format file with ``cells`` random cells, ``cifar10-valid`` only.

    Dense enough that a short search finds recorded cells (the small fixture
    holds 4 of 15,625); each cell's accuracy plateau is drawn from 80..94 %.
    """
    import torch
    from nas_201_api import api_utils

    from tabnas.spaces.nb201 import NB201Space

    rng = np.random.default_rng(12)
    space = NB201Space()
    picked = rng.choice(space.size, size=cells, replace=False)
    archs = [space.to_string(space.arch_at(int(c))) for c in picked]
    infos = {}
    for i, a in enumerate(archs):
        quality = float(rng.uniform(80, 94))
        infos[i] = {hp: _arch_results(api_utils, i, a, epochs, rng, False, quality,
                                      ("cifar10-valid",))
                    for hp, epochs in (("less", 12), ("full", 200))}
    torch.save({"meta_archs": archs, "arch2infos": infos, "evaluated_indexes": list(infos)},
               path)
    return path


def build_nats(path: Path, space: str, fast: bool, numpy_scalars: bool = False) -> Path:
    """A NATS-Bench file (``path`` + ``.pickle.pbz2``) or fast-mode folder ``path``.

    ``numpy_scalars`` puts numpy scalars into the latency lists and makes each
    cell's schedules an ``OrderedDict``: the globals a file written from numpy
    values and ordered dicts holds, which the allow-list reader must accept.
    """
    from collections import OrderedDict

    from nats_bench import api_utils, pickle_save

    rng = np.random.default_rng(7 if space == "tss" else 8)
    archs = NB201_ARCHS if space == "tss" else SSS_ARCHS
    hps = ("12", "200") if space == "tss" else ("01", "12", "90")
    kind = OrderedDict if numpy_scalars else dict
    infos = {i: kind((hp, _arch_results(api_utils, i, a, int(hp), rng, numpy_scalars))
                     for hp in hps)
             for i, a in enumerate(archs[:4])}
    if fast:
        path.mkdir(parents=True)
        pickle_save({"meta_archs": list(archs)}, str(path / "meta.pickle"))
        for i, info in infos.items():
            pickle_save(info, str(path / f"{i:06d}.pickle"))
        return path
    pickle_save({"meta_archs": list(archs), "arch2infos": infos,
                 "evaluated_indexes": list(infos)}, str(path) + ".pickle")
    return Path(str(path) + ".pickle.pbz2")


assert set(TEST_SET) == set(EVAL_SETS) and len(CHANNELS) == 8
