"""The conformance suite fails strategies that break its rules (it can fail, and does)."""

import os

import numpy as np
import pytest

from tabnas.strategy import Strategy
from tabnas.testing import StrategyConformance
from tabnas.trials import ContractError, Suggestion

SUITE = StrategyConformance()


class _Sampler(Strategy):
    def ask(self):
        return Suggestion(self.space.sample(self.rng))


class GlobalRandom(_Sampler):
    def ask(self):
        return Suggestion(self.space.arch_at(int(np.random.randint(self.space.size))))  # noqa: NPY002


class IgnoresSeed(_Sampler):
    def __init__(self, space, *, rng, history, fidelities=None, **hp):
        super().__init__(space, rng=np.random.default_rng(0), history=history,
                         fidelities=fidelities, **hp)


class DependsOnProcess(_Sampler):
    def __init__(self, space, *, rng, history, fidelities=None, **hp):
        mixed = np.random.default_rng([int(rng.integers(2**31)), os.getpid()])
        super().__init__(space, rng=mixed, history=history, fidelities=fidelities, **hp)


class BreaksOnNaN(_Sampler):
    def tell(self, trial, observation):
        int(observation.score)


class Unpicklable(_Sampler):
    def __init__(self, space, *, rng, history, fidelities=None, **hp):
        super().__init__(space, rng=rng, history=history, fidelities=fidelities, **hp)
        self.scorer = lambda x: x


class SwallowsHyperparameters(_Sampler):
    def __init__(self, space, *, rng, history, fidelities=None, **hp):
        super().__init__(space, rng=rng, history=history, fidelities=fidelities)


class ForgetsFidelity(_Sampler):
    requires = frozenset({"fidelities"})


class RepeatsPending(_Sampler):
    """Always suggests the same architecture, also while it is being evaluated."""

    def ask(self):
        return Suggestion(self.space.arch_at(0))


class SaysWhyItRepeatsPending(RepeatsPending):
    repeats_pending = "it evaluates one architecture over and over, by design"


class PromotesBeforeTheResult(_Sampler):
    """Promotes its last trial at once, whether or not its result has arrived."""

    requires = frozenset({"fidelities"})

    def ask(self):
        h = self.history
        if h.asked % 2 == 0:
            return Suggestion(self.space.sample(self.rng), self.fidelities[0])
        last = h.trial(h.asked - 1)
        return Suggestion(last.arch, self.fidelities[1], continues=last.id)


class ShapeProposals(_Sampler):
    """The shape-sniffed proposal of old: a bare architecture tuple."""

    def ask(self):
        return self.space.sample(self.rng)


@pytest.mark.parametrize("cls, check, error, says", [
    (GlobalRandom, "test_no_global_random_state_touched", AssertionError,
     r"touched global random state \(numpy legacy generator\)"),
    (IgnoresSeed, "test_different_seeds_differ_unless_deterministic", AssertionError,
     r"seeds 1 and 2 gave the same 30 proposals"),
    (BreaksOnNaN, "test_degenerate_scores_survived", ValueError, None),
    (Unpicklable, "test_pickled_copy_mid_run_continues_identically", Exception, None),
    (SwallowsHyperparameters, "test_bad_hyperparameters_are_one_line_errors",
     pytest.fail.Exception, None),
    (ForgetsFidelity, "test_proposals_valid_and_budget_respected", AssertionError,
     r"requires fidelities but suggested .* without one"),
    (RepeatsPending, "test_nothing_pending_suggested_again", AssertionError,
     r"suggested .* while it was being evaluated \(a wasted evaluation\)"),
    (PromotesBeforeTheResult, "test_promotions_continue_told_results", ContractError, None),
    (ShapeProposals, "test_proposals_valid_and_budget_respected", AssertionError,
     r"returned \(.*\) \(tuple\); it must return a Suggestion, WAIT or DONE"),
])
def test_suite_rejects(cls, check, error, says):
    """Each failing check says what differed, not only that something did."""
    method = getattr(SUITE, check)
    kwargs = {} if check == "test_bad_hyperparameters_are_one_line_errors" else {
        "benchmark_name": "toy-fidelities"}
    if check == "test_degenerate_scores_survived":
        kwargs["pattern"] = "nan"
    if check == "test_promotions_continue_told_results":
        kwargs["workers"] = 4
    with pytest.raises(error, match=says):
        method(cls, **kwargs)


def test_suite_rejects_a_run_that_differs_in_a_fresh_process():
    SUITE.test_same_seed_same_run(DependsOnProcess, "toy")
    with pytest.raises(AssertionError,
                       match=r"in a fresh process proposed otherwise: proposal \d+: \["):
        SUITE.test_same_seed_same_run_in_a_fresh_process(DependsOnProcess)


def test_suite_passes_a_plain_sampler():
    SUITE.test_same_seed_same_run_in_a_fresh_process(_Sampler)
    for name in ("toy", "toy-fidelities"):
        SUITE.test_no_global_random_state_touched(_Sampler, name)
        SUITE.test_degenerate_scores_survived(_Sampler, name, "mixed")
        for workers in (1, 4):
            SUITE.test_no_result_dropped(_Sampler, name, workers)
        SUITE.test_same_seed_same_records_with_workers(_Sampler, name)


def test_checks_that_do_not_apply_are_skipped_not_passed():
    with pytest.raises(pytest.skip.Exception, match="over and over, by design"):
        SUITE.test_nothing_pending_suggested_again(SaysWhyItRepeatsPending, "toy")
    with pytest.raises(pytest.skip.Exception, match="made no promotions"):
        SUITE.test_promotions_continue_told_results(_Sampler, "toy", 4)
    with pytest.raises(pytest.skip.Exception, match="needs a multi-fidelity benchmark"):
        SUITE.test_no_result_dropped(ForgetsFidelity, "toy", 1)


class InOrder(_Sampler):
    """Enumerates the space: the same run for every seed, and it says so."""

    deterministic = True

    def ask(self):
        return Suggestion(self.space.arch_at(self.history.asked))


class ClaimsDeterministic(_Sampler):
    deterministic = True


def test_deterministic_is_a_checked_declaration():
    SUITE.test_different_seeds_differ_unless_deterministic(InOrder, "toy")
    with pytest.raises(AssertionError,
                       match=r"declared deterministic, but seeds 1 and 2 differ: proposal 0: "):
        SUITE.test_different_seeds_differ_unless_deterministic(ClaimsDeterministic, "toy")
