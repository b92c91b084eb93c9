"""tabnas ``asha`` / ``async-hyperband`` against Syne Tune's ASHA and Hyperband, side by side.

    python -m pip install syne-tune        # for this script only
    tabnas tabulate mnist-mlp -o mnist-lc --seeds 3 --epochs 1-9
    python scripts/bench_asha_synetune.py --table mnist-lc [--seeds 20] [--budgets 1,2,4]

Both libraries search the same multi-fidelity table (by default a live MNIST
tabulation: learning curves of every ``mnist-mlp`` architecture, epochs 1-9,
cost = measured cumulative training seconds), answered with the seed mean of
each cell so that both see exactly the same function. Both simulate the same 4
asynchronous workers on a simulated clock and stop at the same simulated-time
budget (``--budgets``: multiples of the mean cost of one full-fidelity
training; each run goes to the largest and is read at every one), and
both pay a promotion only what it adds: tabnas runs ``--mf-cost continue``;
Syne Tune's tabular simulator resumes paused trials from their checkpoint.
Rungs are the same (epochs 1, 3, 9: ``eta``/``reduction_factor`` 3,
``grace_period`` 1, ``max_t`` 9); Hyperband is three brackets on both sides.

Syne Tune 0.16's ``ASHA`` is the stopping variant (a trial trains on and is
stopped at a rung when it is not in the top 1/3 so far); its "Hyperband" is
the same scheduler with ``brackets=3``. tabnas's are the promotion variant
(Li et al. 2020, algorithm 2). The comparison is of the methods as each
library ships them.

Final regret, the same definition for both: the incumbent is the
architecture with the best validation accuracy reported by the end of the
budget (at any fidelity, earliest on ties), and its regret is the table's best
full-fidelity validation accuracy minus the incumbent's (seed-mean) accuracy
at full fidelity. tabnas's own ``regret_value`` column is checked against it.
Per seed pair, a two-sided Wilcoxon signed-rank test (scipy, zero differences
dropped: ``zero_method="wilcox"``) compares tabnas with Syne Tune.

Host time per evaluation: the host seconds of one whole run (tabnas's
``run_search``; Syne Tune's ``Tuner.run``), divided by the evaluations it made
(tabnas: rows; Syne Tune: reported results, one per epoch trained, which
favours Syne Tune: counted per trial, its figure would be higher).
Reproducibility: every run is done twice with the same seed; tabnas's records
(all columns but ``overhead_s``) and Syne Tune's results (trial, config,
epoch, metric, simulated time) are compared.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import io
import logging
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from tabnas.benchmarks import load_benchmark
from tabnas.records import HOST_TIME_COLUMNS
from tabnas.runner import Budget, run_search
from tabnas.strategy import STRATEGIES

WORKERS = 4
METRIC = "valid_acc"
TIME = "time_s"
EPOCH = "epoch"


def dense_table(bench):
    """(architectures, value[arch, fidelity], cost[arch, fidelity]) of the seed-mean table."""
    archs = list(bench.space.all_archs())
    fids = bench.fidelities
    value = np.empty((len(archs), len(fids)))
    cost = np.empty((len(archs), len(fids)))
    for i, arch in enumerate(archs):
        for j, f in enumerate(fids):
            ev = bench.query(arch, f, run_key=0)  # seed mean: the run key picks nothing
            value[i, j], cost[i, j] = ev.value, ev.cost
    return archs, value, cost


def final_regret(events, truth_of, best: float) -> float:
    """``events``: (finish time, arch, value) in completion order, within the budget."""
    inc, inc_v = None, -math.inf
    for _, arch, v in events:
        if v > inc_v:
            inc, inc_v = arch, v
    return best - truth_of[inc] if inc is not None else math.nan


# -- tabnas --------------------------------------------------------------------------
def run_tabnas(bench, name: str, seed: int, budget: float):
    cls = STRATEGIES.get(name)
    t0 = time.perf_counter()
    records = run_search(bench, cls, seed, Budget(cost=budget), sim_workers=WORKERS,
                         mf_cost="continue")
    host = time.perf_counter() - t0
    cols = records.columns
    space = bench.space
    events = [(c, space.from_string(a), v)
              for c, a, v in zip(cols["cum_cost"], cols["arch"], cols["value"], strict=True)]
    kept = {k: v for k, v in cols.items() if k not in HOST_TIME_COLUMNS}
    return events, host, len(events), (kept, records.stop_reason), cols


# -- Syne Tune -------------------------------------------------------------------------
def syne_blackbox(bench, archs, value, cost):
    import pandas as pd
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.config_space import choice, randint

    names = [f"x{i}" for i in range(len(archs[0]))]  # one categorical per position
    hps = pd.DataFrame([dict(zip(names, map(str, a), strict=True)) for a in archs])
    config_space = {n: choice(sorted(set(hps[n]))) for n in names}
    fids = bench.fidelities
    # (configs, seeds=1, fidelities, objectives): valid_acc and cumulative training time.
    evaluations = np.stack([value, cost], axis=-1)[:, None, :, :]
    blackbox = BlackboxTabular(hyperparameters=hps, configuration_space=config_space,
                               fidelity_space={EPOCH: randint(min(fids), max(fids))},
                               objectives_evaluations=evaluations,
                               fidelity_values=np.array(fids),
                               objectives_names=[METRIC, TIME])
    key_of = {tuple(row): a for row, a in zip(hps[names].itertuples(index=False), archs,
                                               strict=True)}
    return blackbox, names, config_space, key_of


def run_syne(blackbox, names, config_space, key_of, brackets: int, seed: int,
             budget: float, tick: float, folder: Path):
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.optimizer.baselines import ASHA

    np.random.seed(seed)  # noqa: NPY002 (Syne Tune draws brackets from the global state)
    max_t = int(max(blackbox.fidelity_values))
    # No simulated delays (Syne Tune's default is 0.05 s per start, stop and report):
    # tabnas's clock has none, so both clocks are the table's costs alone.
    no_delay = SimulatorConfig(**dict.fromkeys(
        ("delay_on_trial_result", "delay_complete_after_final_report",
         "delay_complete_after_stop", "delay_start", "delay_stop"), 0.0))
    # The simulated clock moves by tuner_sleep_time whenever the tuner loop finds no
    # result (default 5 s: far coarser than one epoch here) plus the host time the
    # loop itself took. A step of 1/1000 of a full training keeps it fine.
    backend = UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr=TIME, seed=0,
                                  simulator_config=no_delay, tuner_sleep_time=tick)
    scheduler = ASHA(config_space, metric=METRIC, do_minimize=False, time_attr=EPOCH,
                     max_t=max_t, grace_period=1, reduction_factor=3, brackets=brackets,
                     random_seed=seed)
    callback = SimulatorCallback()
    tuner = Tuner(trial_backend=backend, scheduler=scheduler,
                  stop_criterion=StoppingCriterion(max_wallclock_time=budget),
                  n_workers=WORKERS, sleep_time=0, callbacks=[callback],
                  tuner_name=f"st-{brackets}-{seed}", save_tuner=False,
                  results_update_interval=1e9, print_update_interval=1e9,
                  trial_backend_path=str(folder))
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # its progress tables
        tuner.run()
    host = time.perf_counter() - t0
    df = callback.dataframe()
    df = df.sort_values("st_tuner_time", kind="stable")
    df = df[df["st_tuner_time"] <= budget]
    events = [(t, key_of[tuple(str(r[f"config_{n}"]) for n in names)], v)
              for t, v, r in zip(df["st_tuner_time"], df[METRIC], df.to_dict("records"),
                                 strict=True)]
    decisions = df[["trial_id", *(f"config_{n}" for n in names), EPOCH, METRIC]]
    # Two signatures: the decisions alone, and with the simulated times as well.
    signature = (decisions.to_csv(index=False), df["st_tuner_time"].to_numpy().tobytes())
    return events, host, len(df), df["trial_id"].nunique(), signature


def record(res: dict, key, rep: int, events, host: float, n: int, sig, regrets) -> dict:
    r = res.setdefault(key, {"regret": [], "host": 0.0, "evals": 0, "trials": 0, "sig": [],
                             "same": True, "same_decisions": True})
    if rep == 0:
        r["regret"].append(regrets)
        r["sig"].append(sig)
    else:
        r["same"] &= sig == r["sig"][-1]
        if isinstance(sig, tuple):
            r["same_decisions"] &= sig[0] == r["sig"][-1][0]
    r["host"] += host
    r["evals"] += n
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True, help="a tabulated table folder (spec.toml)")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budgets", default="1,2,4",
                    help="simulated-time budgets, in mean full-fidelity training costs; "
                         "each run goes to the largest and is read at every one")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    from scipy.stats import wilcoxon

    bench = load_benchmark(f"table:{args.table}", seed_mode="mean")
    archs, value, cost = dense_table(bench)
    truth_of = {a: value[i, -1] for i, a in enumerate(archs)}
    best = float(np.nanmax(value[:, -1]))
    full = float(np.mean(cost[:, -1]))
    factors = sorted(float(b) for b in args.budgets.split(","))
    budgets = [f * full for f in factors]
    tick = full / 1000
    blackbox, names, config_space, key_of = syne_blackbox(bench, archs, value, cost)
    print(f"table {args.table}: {len(archs)} architectures x fidelities {bench.fidelities}; "
          f"{WORKERS} simulated workers; budgets {', '.join(f'{b:.1f}' for b in budgets)} "
          f"simulated {bench.cost_label} ({', '.join(map(str, factors))} x the mean "
          f"full-fidelity cost {full:.2f}); {args.seeds} seeds, each run twice; Syne Tune's "
          f"simulator step (tuner_sleep_time) {tick:.4f}, no simulated delays")
    pairs = (("asha", 1, "ASHA"), ("async-hyperband", 3, "Hyperband (brackets=3)"))
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNETUNE_FOLDER"] = tmp  # Syne Tune's result files go there, then away
        for seed in range(args.seeds):
            for name, brackets, st in pairs:  # interleaved: tabnas and Syne Tune in turn
                for rep in range(2):
                    ev, host, n, sig, cols = run_tabnas(bench, name, seed, budgets[-1])
                    regrets = [final_regret([e for e in ev if e[0] <= b], truth_of, best)
                               for b in budgets]
                    own = [cols["regret_value"][bisect.bisect_right(cols["cum_cost"], b) - 1]
                           for b in budgets]
                    assert np.allclose(regrets, own, atol=1e-9), (regrets, own)
                    record(res, ("tabnas", name), rep, ev, host, n, sig, regrets)
                    ev, host, n, trials, sig = run_syne(blackbox, names, config_space, key_of,
                                                        brackets, seed, budgets[-1], tick,
                                                        Path(tmp))
                    regrets = [final_regret([e for e in ev if e[0] <= b], truth_of, best)
                               for b in budgets]
                    r = record(res, ("syne-tune", st), rep, ev, host, n, sig, regrets)
                    r["trials"] += trials
    runs = 2 * args.seeds
    heads = " | ".join(f"regret at {f:g} x" for f in factors)
    print(f"| library | method | {heads} | host time per evaluation | evaluations per run "
          "| identical on rerun |")
    print("|---|---|" + "---|" * len(factors) + "---|---|---|")
    for (lib, method), r in res.items():
        regret = np.array(r["regret"])
        cells = " | ".join(f"{m:.3f} ({md:.3f})" for m, md in
                           zip(regret.mean(0), np.median(regret, 0), strict=True))
        trials = f" ({r['trials'] / runs:.1f} trials)" if r["trials"] else ""
        same = "yes" if r["same"] else "no"
        if lib == "syne-tune" and not r["same"]:
            same += (" (same trials, configs and metrics; simulated times differ)"
                     if r["same_decisions"] else " (other trials and results)")
        print(f"| {lib} | {method} | {cells} | {r['host'] / r['evals'] * 1e3:.3f} ms | "
              f"{r['evals'] / runs:.1f}{trials} | {same} |")
    print("(regret: mean (median) over seeds, validation accuracy points below the table's "
          "best at full fidelity)")
    for name, _, st in pairs:
        a, b = res[("tabnas", name)], res[("syne-tune", st)]
        ratio = (b["host"] / b["evals"]) / (a["host"] / a["evals"])
        print(f"tabnas {name} vs Syne Tune {st}: Syne Tune's host time per evaluation is "
              f"{ratio:.0f} x tabnas's")
        for j, f in enumerate(factors):
            x = np.array([r[j] for r in a["regret"]])
            y = np.array([r[j] for r in b["regret"]])
            diff = x - y
            p = wilcoxon(x, y, zero_method="wilcox").pvalue if np.any(diff != 0) else 1.0
            print(f"  at {f:g} x: regret difference mean {diff.mean():+.3f} (tabnas better "
                  f"on {int((diff < 0).sum())}, worse on {int((diff > 0).sum())}, tied on "
                  f"{int((diff == 0).sum())} of {len(diff)} seeds; two-sided Wilcoxon "
                  f"p = {p:.3g})")


if __name__ == "__main__":
    main()
