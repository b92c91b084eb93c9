"""ASHA: asynchronous successive halving (Li et al., MLSys 2020).

Li, Jamieson, Rostamizadeh, Gonina, Ben-tzur, Hardt, Recht & Talwalkar, "A
System for Massively Parallel Hyperparameter Tuning", MLSys 2020.

Whenever a worker is free, promote the best not-yet-promoted trial in the top
``1/eta`` of the results that have arrived at a rung (highest rung first);
otherwise start a new uniform sample at the lowest rung. It never waits for a
rung to fill, so simulated parallel workers (``--sim-workers``) stay busy.
Needs a multi-fidelity benchmark; a promotion names the trial it continues
(see ``--mf-cost`` for what it pays). Details in ``_async_brackets.py``.

Hyperparameters (defaults): ``eta`` 3, ``max_rungs`` 5.
"""

from __future__ import annotations

from tabnas.strategies._async_brackets import ASYNC_HYPERPARAMETERS, AsyncBracketStrategy
from tabnas.strategy import register


@register("asha")
class ASHA(AsyncBracketStrategy):
    hyperparameters = dict(ASYNC_HYPERPARAMETERS)
