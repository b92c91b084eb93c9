"""tabnas: a benchmark harness for neural architecture search over tabular NAS datasets.

The public API is what ``__all__`` names::

    import tabnas

    exp = tabnas.run("nb201-analog", ["random", "rea"], seeds=5, budget=100)
    exp.df          # one row per evaluation
    exp.stats()     # final test regret per strategy

The import is kept light on purpose (``tabnas --help`` must answer fast): the
names below are imported on first use, and heavy libraries (pandas, pyarrow,
matplotlib, scipy) only where they are used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Version of the on-disk results layout; a results folder written by another
#: layout version is refused rather than silently mixed. 2: run files carry their
#: identity, settings hash and SHA-256 (:mod:`tabnas.runfile`).
RESULTS_FORMAT = 2

#: Public name -> module that defines it (imported when the name is first used).
_EXPORTS = {
    "run": "tabnas.api",
    "load": "tabnas.api",
    "benchmark": "tabnas.api",
    "Experiment": "tabnas.experiment",
    "Budget": "tabnas.runner",
    "Strategy": "tabnas.strategy",
    "Hyperparameter": "tabnas.strategy",
    "register": "tabnas.strategy",
    "Observation": "tabnas.types",
    "UserError": "tabnas.errors",
}
#: Public submodules.
_SUBMODULES = ("strategies", "testing")

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"tabnas.{name}")
    else:
        raise AttributeError(f"module 'tabnas' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
