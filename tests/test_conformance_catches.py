"""The conformance suite fails strategies that break its rules (it can fail, and does)."""

import os

import numpy as np
import pytest

from tabnas.strategy import Strategy
from tabnas.testing import StrategyConformance

SUITE = StrategyConformance()


class _Sampler(Strategy):
    def ask(self):
        return self.space.sample(self.rng)

    def tell(self, observation):
        pass


class GlobalRandom(_Sampler):
    def ask(self):
        return self.space.arch_at(int(np.random.randint(self.space.size)))  # noqa: NPY002


class IgnoresSeed(_Sampler):
    def __init__(self, space, *, rng, fidelities=None, **hp):
        super().__init__(space, rng=np.random.default_rng(0), fidelities=fidelities, **hp)


class DependsOnProcess(_Sampler):
    def __init__(self, space, *, rng, fidelities=None, **hp):
        mixed = np.random.default_rng([int(rng.integers(2**31)), os.getpid()])
        super().__init__(space, rng=mixed, fidelities=fidelities, **hp)


class BreaksOnNaN(_Sampler):
    def tell(self, observation):
        int(observation.score)


class Unpicklable(_Sampler):
    def __init__(self, space, *, rng, fidelities=None, **hp):
        super().__init__(space, rng=rng, fidelities=fidelities, **hp)
        self.scorer = lambda x: x


class SwallowsHyperparameters(_Sampler):
    def __init__(self, space, *, rng, fidelities=None, **hp):
        super().__init__(space, rng=rng, fidelities=fidelities)


class ForgetsFidelity(_Sampler):
    requires = frozenset({"fidelities"})


@pytest.mark.parametrize("cls, check, error", [
    (GlobalRandom, "test_no_global_random_state_touched", AssertionError),
    (IgnoresSeed, "test_different_seeds_differ_unless_deterministic", AssertionError),
    (BreaksOnNaN, "test_degenerate_scores_survived", ValueError),
    (Unpicklable, "test_pickled_copy_mid_run_continues_identically", Exception),
    (SwallowsHyperparameters, "test_bad_hyperparameters_are_one_line_errors",
     pytest.fail.Exception),
    (ForgetsFidelity, "test_proposals_valid_and_budget_respected", AssertionError),
])
def test_suite_rejects(cls, check, error):
    method = getattr(SUITE, check)
    kwargs = {} if check == "test_bad_hyperparameters_are_one_line_errors" else {
        "benchmark_name": "toy-fidelities"}
    if check == "test_degenerate_scores_survived":
        kwargs["pattern"] = "nan"
    with pytest.raises(error):
        method(cls, **kwargs)


def test_suite_rejects_a_run_that_differs_in_a_fresh_process():
    SUITE.test_same_seed_same_run(DependsOnProcess, "toy")
    with pytest.raises(AssertionError):
        SUITE.test_same_seed_same_run_in_a_fresh_process(DependsOnProcess)


def test_suite_passes_a_plain_sampler():
    SUITE.test_same_seed_same_run_in_a_fresh_process(_Sampler)
    for name in ("toy", "toy-fidelities"):
        SUITE.test_no_global_random_state_touched(_Sampler, name)
        SUITE.test_degenerate_scores_survived(_Sampler, name, "mixed")


class InOrder(_Sampler):
    """Enumerates the space: the same run for every seed, and it says so."""

    deterministic = True

    def __init__(self, space, *, rng, fidelities=None, **hp):
        super().__init__(space, rng=rng, fidelities=fidelities, **hp)
        self.next = 0

    def ask(self):
        self.next += 1
        return self.space.arch_at(self.next - 1)


class ClaimsDeterministic(_Sampler):
    deterministic = True


def test_deterministic_is_a_checked_declaration():
    SUITE.test_different_seeds_differ_unless_deterministic(InOrder, "toy")
    with pytest.raises(AssertionError):
        SUITE.test_different_seeds_differ_unless_deterministic(ClaimsDeterministic, "toy")
