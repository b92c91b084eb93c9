"""Multi-objective anchors: tabnas strategies against Optuna and Syne Tune, side by side in one run.

Benchmarks: ``nbgraph-cora:acc-latency`` (validation accuracy searched, test
accuracy reported, inference latency) and ``nb201-analog:baseline-analog``
(digital vs analog-hardware CIFAR-10 accuracy). Competitors:

- tabnas strategies through ``run_search`` (``--tabnas``, default
  ``mo-rea,parego,random``): their records' ``hv_regret_test``;
- Optuna's ``NSGAIISampler`` and multi-objective ``TPESampler`` (MOTPE), each
  through Optuna's own ask/tell API on a study with one direction per objective;
- Syne Tune's ``MultiObjectiveRegularizedEvolution`` (MOREA) through its
  searcher API (``suggest``/``on_trial_complete``), minimising.

Peers run in a loop this script controls: each position of the architecture is
one categorical parameter (the space's ``cardinalities``), a choice tuple that
stands for no architecture is redrawn (told as failed to Optuna), the value is
the table's answer for the run's benchmark stream, and the incumbent front is
scored with the same :class:`tabnas.pareto.FrontTracker` the runner uses. Every
competitor's library defaults are kept. Seeds are interleaved (seed s of every
competitor, then seed s+1), so machine drift hits all alike.

Reports mean ± s.e. hypervolume regret (reported side, normalised) at 50/100/200
evaluations, one-sided paired Wilcoxon signed-rank tests of each tabnas strategy
(random aside) against each peer at the last budget, Holm-corrected, and
per-evaluation overhead (median over runs): the
competitor's own time (ask + tell, suggest + on_trial_complete) and the whole
loop's. Needs optuna and syne-tune: ``pip install optuna syne-tune``.
Usage: ``python scripts/anchor_mo.py [--seeds 20] [--evals 200]``.
"""

from __future__ import annotations

import argparse
import logging
import math
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy.stats import wilcoxon

from tabnas.benchmarks import load_benchmark
from tabnas.pareto import FrontTracker
from tabnas.runner import run_seeds

BENCHMARKS = ("nbgraph-cora:acc-latency", "nb201-analog:baseline-analog")
BUDGETS = (50, 100, 200)


class PeerRun:
    """One peer's search: ``propose()`` -> choices, ``observe(choices, minimised values)``."""

    def propose(self) -> tuple[int, ...]:
        raise NotImplementedError

    def observe(self, choices: tuple[int, ...], values: list[float] | None) -> None:
        raise NotImplementedError


class OptunaPeer(PeerRun):
    def __init__(self, sampler, cards: tuple[int, ...], n_obj: int) -> None:
        import optuna

        optuna.logging.set_verbosity(logging.WARNING)
        self._optuna = optuna
        self._dists = {f"x{i}": optuna.distributions.CategoricalDistribution(list(range(k)))
                       for i, k in enumerate(cards)}
        self._study = optuna.create_study(directions=["minimize"] * n_obj, sampler=sampler)
        self._trial = None

    def propose(self) -> tuple[int, ...]:
        self._trial = self._study.ask(self._dists)
        return tuple(int(self._trial.params[k]) for k in self._dists)

    def observe(self, choices, values) -> None:
        if values is None:
            self._study.tell(self._trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(self._trial, values)


class SyneTunePeer(PeerRun):
    def __init__(self, cards: tuple[int, ...], seed: int) -> None:
        from syne_tune.config_space import choice
        from syne_tune.optimizer.schedulers.multiobjective import (
            MultiObjectiveRegularizedEvolution,
        )

        # Syne Tune's random initial population draws from numpy's global generator.
        np.random.seed(seed)  # noqa: NPY002 (the peer's own design, seeded for reruns)
        self._space = {f"x{i}": choice(list(range(k))) for i, k in enumerate(cards)}
        self._searcher = MultiObjectiveRegularizedEvolution(self._space, random_seed=seed)
        self._trial = 0
        self._config: dict | None = None

    def propose(self) -> tuple[int, ...]:
        self._config = self._searcher.suggest()
        return tuple(int(self._config[k]) for k in self._space)

    def observe(self, choices, values) -> None:
        if values is not None:  # Syne Tune's searcher has no failed trials: just redraw
            self._searcher.on_trial_complete(self._trial, self._config, values)
            self._trial += 1


def run_peer(bench, make: Callable[[int], PeerRun], seed: int, evals: int
             ) -> tuple[list[float], float, float]:
    """(hv_regret_test after each evaluation, own seconds, loop seconds)."""
    space = bench.space
    _, run_key = run_seeds(seed)
    t_start = time.perf_counter()
    peer = make(seed)
    tracker = FrontTracker(bench)
    regrets: list[float] = []
    own = 0.0
    while len(regrets) < evals:
        t0 = time.perf_counter()
        choices = peer.propose()
        t1 = time.perf_counter()
        arch = space.from_choices(choices)
        if arch is None:
            t2 = time.perf_counter()
            peer.observe(choices, None)
            own += (t1 - t0) + (time.perf_counter() - t2)
            continue
        ev = bench.query(arch, None, run_key=run_key)
        values = bench.searched(arch, ev)
        minimised = [-s for s in bench.scores(values)]
        t2 = time.perf_counter()
        peer.observe(choices, None if any(math.isnan(v) for v in minimised) else minimised)
        own += (t1 - t0) + (time.perf_counter() - t2)
        tracker.add(space.index(arch), values)
        regrets.append(tracker.metrics()["hv_regret_test"])
    return regrets, own, time.perf_counter() - t_start


def run_tabnas(bench, strategy: str, seed: int, evals: int
               ) -> tuple[list[float], float, float]:
    from tabnas.runner import Budget, run_search
    from tabnas.strategy import STRATEGIES

    t = time.perf_counter()
    rec = run_search(bench, STRATEGIES.get(strategy), seed, Budget(evals=evals))
    wall = time.perf_counter() - t
    return (list(rec.columns["regret_test"]), float(sum(rec.columns["overhead_s"])), wall)


def peers(bench) -> dict[str, Callable[[int], PeerRun]]:
    import optuna

    cards = bench.space.cardinalities()
    m = len(bench.objectives)
    return {
        "optuna NSGA-II": lambda s: OptunaPeer(optuna.samplers.NSGAIISampler(seed=s), cards, m),
        "optuna MOTPE": lambda s: OptunaPeer(optuna.samplers.TPESampler(seed=s), cards, m),
        "syne-tune MOREA": lambda s: SyneTunePeer(cards, s),
    }


def competitors(bench, tabnas: list[str], evals: int
                ) -> dict[str, Callable[[int], tuple[list[float], float, float]]]:
    runners: dict[str, Callable[[int], tuple[list[float], float, float]]] = {}
    for s in tabnas:
        runners[f"tabnas {s}"] = lambda seed, s=s: run_tabnas(bench, s, seed, evals)
    for label, make in peers(bench).items():
        runners[label] = lambda seed, make=make: run_peer(bench, make, seed, evals)
    return runners


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--evals", type=int, default=200)
    ap.add_argument("--tabnas", default="mo-rea,parego,random",
                    help="tabnas strategies, comma-separated")
    ap.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    args = ap.parse_args()
    budgets = [b for b in BUDGETS if b <= args.evals] or [args.evals]
    print(f"python {platform.python_version()}; {args.seeds} seeds x {args.evals} evaluations; "
          "hypervolume regret of the reported front (normalised, lower is better)")
    for name in args.benchmarks.split(","):
        bench = load_benchmark(name)
        runners = competitors(bench, [s for s in args.tabnas.split(",") if s], args.evals)
        results: dict[str, list[tuple[list[float], float, float]]] = {k: [] for k in runners}
        for seed in range(args.seeds):
            for label, run in runners.items():
                results[label].append(run(seed))
        print(f"\n{name} (true front: {len(bench.fronts['test'].cells)} architectures, "
              f"HV {bench.fronts['test'].hypervolume:.4f}; reference {bench.reference})")
        head = " | ".join(f"HV regret @{b}" for b in budgets)
        print(f"| strategy | {head} | own us/eval | loop us/eval |")
        print("|---|" + "---:|" * (len(budgets) + 2))
        at = {k: np.array([[r[0][min(b, len(r[0])) - 1] for b in budgets] for r in v])
              for k, v in results.items()}
        for label, runs in results.items():
            cells = " | ".join(f"{at[label][:, j].mean():.4f} ± "
                               f"{at[label][:, j].std(ddof=1) / math.sqrt(len(runs)):.4f}"
                               for j in range(len(budgets)))
            own = statistics.median(r[1] / len(r[0]) * 1e6 for r in runs)
            loop = statistics.median(r[2] / len(r[0]) * 1e6 for r in runs)
            print(f"| {label} | {cells} | {own:.0f} | {loop:.0f} |")
        ours = [k for k in results if k.startswith("tabnas ") and k != "tabnas random"]
        theirs = [k for k in results if not k.startswith("tabnas ")]
        pairs = [(a, b) for a in ours for b in theirs]
        pvals = []
        for a, b in pairs:
            d = at[b][:, -1] - at[a][:, -1]
            pvals.append(wilcoxon(d, alternative="greater").pvalue if np.any(d != 0) else 1.0)
        holm = _holm(pvals)
        print(f"one-sided paired Wilcoxon signed-rank at {budgets[-1]} evaluations "
              f"({args.seeds} seeds), Holm-corrected over the {len(pairs)} comparisons:")
        for (a, b), p, q in zip(pairs, pvals, holm, strict=True):
            d = at[b][:, -1] - at[a][:, -1]
            print(f"  {a} better than {b}: p = {p:.3g}, Holm p = {q:.3g} "
                  f"(mean difference {d.mean():.4f}, {a} lower on {int((d > 0).sum())} seeds)")


def _holm(pvalues: list[float]) -> list[float]:
    """Holm step-down adjusted p-values."""
    order = np.argsort(pvalues)
    m = len(pvalues)
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out

if __name__ == "__main__":
    main()
