"""Tests of differences, checked against scipy on fixed data and Demšar (2006)'s worked example."""

import numpy as np
import pandas as pd
import pytest

from tabnas.errors import UserError
from tabnas.significance import (
    compare,
    critical_difference,
    friedman_nemenyi,
    holm,
    nemenyi_q,
    pairwise_wilcoxon,
    rank_biserial,
    signed_rank,
    tied_with_best,
    vargha_delaney_a,
)

# Demšar, "Statistical Comparisons of Classifiers over Multiple Data Sets", JMLR 7 (2006),
# Table 6: AUC of C4.5 with default settings, with m tuned, with cf tuned, and both, on 14
# UCI data sets. In the "voting" row the two rounded 0.975 values are not tied in the
# paper's ranks (its average ranks need C4.5+cf ahead there), so that cell carries the
# tie-break the unrounded data had.
DEMSAR_NAMES = ["C4.5", "C4.5+m", "C4.5+cf", "C4.5+m+cf"]
DEMSAR_AUC = np.array([
    [0.763, 0.768, 0.771, 0.798], [0.599, 0.591, 0.590, 0.569], [0.954, 0.971, 0.968, 0.967],
    [0.628, 0.661, 0.654, 0.657], [0.882, 0.888, 0.886, 0.898], [0.936, 0.931, 0.916, 0.931],
    [0.661, 0.668, 0.609, 0.685], [0.583, 0.583, 0.563, 0.625], [0.775, 0.838, 0.866, 0.875],
    [1.000, 1.000, 1.000, 1.000], [0.940, 0.962, 0.965, 0.962], [0.619, 0.666, 0.614, 0.669],
    [0.972, 0.981, 0.97501, 0.975], [0.957, 0.978, 0.946, 0.970],
])


def demsar_wide():
    # Higher AUC is better; the functions take lower-is-better values.
    return pd.DataFrame(-DEMSAR_AUC, columns=DEMSAR_NAMES)


def test_demsar_friedman_ranks_and_statistics():
    r = friedman_nemenyi(demsar_wide())
    # Section 3.2.2: average ranks 3.143, 2.000, 2.893, 1.964; chi2_F = 9.28; F_F = 3.69.
    assert np.round(r.avg_ranks, 3).tolist() == [3.143, 2.0, 2.893, 1.964]
    ranks, n, k = np.array(r.avg_ranks), 14, 4
    chi2_f = 12 * n / (k * (k + 1)) * (np.sum(ranks**2) - k * (k + 1) ** 2 / 4)
    assert round(chi2_f, 2) == 9.28
    assert round((n - 1) * chi2_f / (n * (k - 1) - chi2_f), 2) == 3.69
    # The statistic itself is scipy's (tie-corrected: the mushroom row is a 4-way tie).
    from scipy.stats import friedmanchisquare

    ref = friedmanchisquare(*(-DEMSAR_AUC).T)
    assert r.chi2 == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)


def test_demsar_nemenyi_critical_difference():
    # Section 3.2.2: q_0.05 = 2.569 for k = 4, CD = 2.569 sqrt(4*5 / (6*14)) = 1.25.
    assert round(nemenyi_q(4, 0.05), 3) == 2.569
    assert round(critical_difference(4, 14, 0.05), 2) == 1.25
    # Demšar's Table 5(a): q_0.05 and q_0.10 for k = 2..10 (printed to 3 decimals; two of
    # them differ from the exact quantile in the last digit).
    q05 = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    q10 = [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920]
    assert [nemenyi_q(k, 0.05) for k in range(2, 11)] == pytest.approx(q05, abs=1e-3)
    assert [nemenyi_q(k, 0.10) for k in range(2, 11)] == pytest.approx(q10, abs=1e-3)
    r = friedman_nemenyi(demsar_wide())
    assert r.cd == pytest.approx(1.2536, abs=1e-4)
    # "C4.5+m+cf vs C4.5: 3.143 - 1.964 = 1.179 < 1.25": Nemenyi cannot separate any pair,
    # so every strategy is in one clique and every Nemenyi p exceeds 0.05.
    assert r.cliques() == [("C4.5+m+cf", "C4.5+m", "C4.5+cf", "C4.5")]
    off_diag = r.nemenyi_p.to_numpy()[~np.eye(4, dtype=bool)]
    assert (off_diag > 0.05).all() and off_diag.min() < 0.1


def test_cliques_split_when_ranks_are_far_apart():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 1))
    wide = pd.DataFrame(base + np.array([0.0, 0.001, 3.0]) + rng.normal(0, 0.01, (40, 3)),
                        columns=["a", "b", "c"])
    r = friedman_nemenyi(wide)
    assert r.p < 1e-6
    assert r.cliques() == [("a", "b")]
    assert r.nemenyi_p.loc["a", "c"] < 0.001 and r.nemenyi_p.loc["a", "b"] > 0.01


def test_friedman_needs_three_strategies_and_two_blocks():
    with pytest.raises(UserError, match="at least 3 strategies"):
        friedman_nemenyi(demsar_wide().iloc[:, :2])
    with pytest.raises(UserError, match="at least 2 complete blocks"):
        friedman_nemenyi(demsar_wide().iloc[:1])


def test_holm_matches_hand_computation():
    # p sorted: 0.01*4=0.04, 0.02*3=0.06, 0.03*2=0.06 (monotone), 0.5*1=0.5.
    np.testing.assert_allclose(holm([0.03, 0.5, 0.01, 0.02]), [0.06, 0.5, 0.04, 0.06])
    np.testing.assert_allclose(holm([0.9, 0.8]), [1.0, 1.0])


def test_pairwise_wilcoxon_matches_scipy_and_holm():
    from scipy.stats import PermutationMethod, wilcoxon

    w = demsar_wide()
    res = pairwise_wilcoxon(w, alpha=0.05)
    assert len(res) == 6 and set(res["method"]) == {"exact"}
    for row in res.itertuples():
        # 14 pairs with ties and zeros: the exact distribution given the ranks is scipy's
        # permutation test over all 2^14 sign assignments.
        ref = wilcoxon(w[row.a], w[row.b], zero_method="wilcox",
                       method=PermutationMethod(n_resamples=np.inf))
        assert row.p == pytest.approx(ref.pvalue) and row.statistic == pytest.approx(ref.statistic)
    np.testing.assert_allclose(res["p_holm"], holm(res["p"]))
    asym = pairwise_wilcoxon(w, alpha=0.05, method="asymptotic")
    assert set(asym["method"]) == {"asymptotic"}
    for row in asym.itertuples():
        ref = wilcoxon(w[row.a], w[row.b], zero_method="wilcox", method="asymptotic")
        assert row.p == pytest.approx(ref.pvalue)
    # Demšar section 3.1.3: C4.5+m beats C4.5 at alpha 0.05 (uncorrected).
    first = res.iloc[0]
    assert (first.a, first.b) == ("C4.5", "C4.5+m") and first.p < 0.05


def test_exact_signed_rank_matches_scipy_with_and_without_ties():
    from scipy.stats import PermutationMethod, wilcoxon

    rng = np.random.default_rng(5)
    for n in (6, 10, 13):
        x, y = rng.integers(0, 4, n).astype(float), rng.integers(0, 4, n).astype(float)
        if np.all(x == y):
            continue
        stat, p, used = signed_rank(x, y, "exact")
        ref = wilcoxon(x, y, method=PermutationMethod(n_resamples=np.inf))
        assert used == "exact" and p == pytest.approx(ref.pvalue) and stat == ref.statistic
    for n in (8, 30, 60):  # no ties: the classical exact distribution
        x, y = rng.normal(size=n), rng.normal(size=n)
        assert signed_rank(x, y, "exact")[1] == pytest.approx(
            wilcoxon(x, y, method="exact").pvalue)
    # auto: exact up to 50 pairs, asymptotic beyond.
    assert signed_rank(rng.normal(size=50), rng.normal(size=50))[2] == "exact"
    assert signed_rank(rng.normal(size=51), rng.normal(size=51))[2] == "asymptotic"
    assert signed_rank([1.0, 2.0], [1.0, 2.0])[1:] == (1.0, "none (all differences zero)")
    with pytest.raises(UserError, match="unknown Wilcoxon method"):
        signed_rank([1.0], [2.0], "permutation")


def test_control_versus_best_holm_agrees_with_scikit_posthocs_and_statsmodels():
    import scikit_posthocs as sp
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(11)
    # Continuous values (no ties), 12 seeds, 6 strategies with growing offsets.
    wide = pd.DataFrame(rng.normal(size=(12, 6)) + np.array([0, 0.2, 0.5, 0.9, 1.4, 2.0]),
                        columns=[f"s{i}" for i in range(6)])
    comp = compare(wide, alpha=0.05)
    best = comp.best
    assert best == wide.mean().idxmin()
    raw = sp.posthoc_wilcoxon(wide.melt(var_name="g", value_name="v"), val_col="v",
                              group_col="g", zero_method="wilcox", p_adjust=None)
    # scikit-posthocs tests unpaired rows of a melted frame in order: the same pairs.
    others = [s for s in wide.columns if s != best]
    ref_p = raw.loc[best, others].to_numpy(float)
    ref_holm = multipletests(ref_p, method="holm")[1]
    mine = comp.control.set_index("strategy").loc[others]
    np.testing.assert_allclose(mine["p"], ref_p, rtol=1e-10)
    np.testing.assert_allclose(mine["p_holm"], ref_holm, rtol=1e-10)
    assert len(comp.control) == 5  # the family is k - 1, not k(k-1)/2 = 15
    all_pairs = sp.posthoc_wilcoxon(wide.melt(var_name="g", value_name="v"), val_col="v",
                                    group_col="g", zero_method="wilcox", p_adjust="holm")
    for r in comp.pairs.itertuples():
        assert r.p_holm == pytest.approx(all_pairs.loc[r.a, r.b], rel=1e-10)


def test_friedman_and_nemenyi_agree_with_autorank_for_both_block_choices():
    from autorank import autorank

    from tabnas.statistics import friedman_blocks

    rng = np.random.default_rng(2)
    rows = []
    for b, shift in (("b1", 0.0), ("b2", 3.0), ("b3", -1.0), ("b4", 0.5), ("b5", 2.0),
                     ("b6", 1.0)):
        for seed in range(8):
            noise = rng.normal(size=5)
            for i, s in enumerate(["p", "q", "r", "s", "t"]):
                rows.append({"benchmark": b, "strategy": s, "seed": seed,
                             "value": shift + 0.3 * i + noise[i] + rng.normal(0, 0.5)})
    long = pd.DataFrame(rows)
    for blocks, n in (("benchmarks", 6), ("seeds", 48)):
        wide, label = friedman_blocks(long, blocks)
        assert len(wide) == n and label.startswith(
            "benchmarks" if blocks == "benchmarks" else "(benchmark, seed)")
        fr = friedman_nemenyi(wide, blocks=label)
        ref = autorank(wide.reset_index(drop=True), alpha=0.05, verbose=False,
                       order="ascending", force_mode="nonparametric")
        assert ref.omnibus == "friedman" and ref.posthoc == "nemenyi"
        assert fr.p == pytest.approx(ref.pvalue, rel=1e-9)
        assert fr.cd == pytest.approx(ref.cd, rel=1e-4)  # autorank's q differs in the 5th digit
        np.testing.assert_allclose(fr.ranks()[ref.rankdf.index], ref.rankdf["meanrank"])
        assert fr.blocks == label
    # auto: benchmarks when there are several, seeds when there is one.
    assert friedman_blocks(long)[1].startswith("benchmarks")
    assert friedman_blocks(long[long["benchmark"] == "b1"])[1].startswith("seeds (8")


def test_nemenyi_p_values_agree_with_scikit_posthocs():
    import scikit_posthocs as sp

    w = demsar_wide()
    ref = sp.posthoc_nemenyi_friedman(w)
    mine = friedman_nemenyi(w).nemenyi_p
    np.testing.assert_allclose(mine.to_numpy(), ref.loc[mine.index, mine.columns].to_numpy(),
                               atol=1e-9)


def test_a_strategy_worse_on_every_seed_is_not_tied_with_the_best():
    # 8 strategies x 10 seeds; "random" is worse than the best on every seed. Over all 28
    # pairs Holm would leave it "tied" (p = 0.002 x 28 > 0.05); control versus best
    # (Holm over 7) does not.
    rng = np.random.default_rng(4)
    seeds = rng.uniform(0, 1, 10)
    cols = {f"s{i}": seeds + rng.normal(0.02 * i, 0.3, 10) for i in range(7)}
    cols["best"] = seeds - 1.0
    cols["random"] = seeds - 1.0 + 0.5 + rng.uniform(0, 0.1, 10)
    wide = pd.DataFrame(cols)
    best, tied = tied_with_best(wide)
    assert best == "best" and "random" not in tied
    pairs = pairwise_wilcoxon(wide)
    row = pairs[(pairs["a"] == "best") & (pairs["b"] == "random")].iloc[0]
    assert row.p == pytest.approx(2 / 1024) and not row.significant  # 28-pair family
    control = compare(wide).control.set_index("strategy")
    assert control.loc["random", "significant"] and control.loc["random", "A"] > 0.71


def test_identical_strategies_are_not_different():
    x = np.arange(10.0)
    res = pairwise_wilcoxon(pd.DataFrame({"a": x, "b": x}))
    assert res.loc[0, "p"] == 1.0 and not res.loc[0, "significant"]
    assert res.loc[0, "better"] == ""


def test_effect_sizes():
    x, y = np.array([1.0, 2, 3, 4]), np.array([5.0, 6, 7, 8])
    assert vargha_delaney_a(x, y) == 0.0 and vargha_delaney_a(y, x) == 1.0
    assert vargha_delaney_a(x, x) == 0.5
    # A by hand: pairs (1,1) tie, (2,1) win, (1,3) loss, (2,3) loss -> (1 + 0.5) / 4.
    assert vargha_delaney_a([1, 2], [1, 3]) == 0.375
    assert rank_biserial(x, y) == -1.0 and rank_biserial(y, x) == 1.0
    # Differences +1, -2, +3: ranks 1, 2, 3 -> (1 + 3 - 2) / 6.
    assert rank_biserial([1, 0, 3], [0, 2, 0]) == pytest.approx(1 / 3)
    assert rank_biserial(x, x) == 0.0


def test_tied_with_best():
    rng = np.random.default_rng(3)
    base = rng.normal(size=30)
    wide = pd.DataFrame({"best": base, "close": base + rng.normal(0, 0.01, 30),
                         "bad": base + 1.0})
    best, tied = tied_with_best(wide)
    assert best in ("best", "close") and tied == ({"best", "close"} - {best})
    res = pairwise_wilcoxon(wide)
    bad = res[(res["a"] == "best") & (res["b"] == "bad")].iloc[0]
    assert bad.significant and bad.better == "best" and bad.rank_biserial == -1.0
    assert bad.A > 0.71  # unpaired: seeds differ in difficulty, so not 1


def test_better_follows_the_signed_rank_statistic_not_the_median():
    # 21 seeds where a is slightly worse (+0.1) and 19 where it is far better (-5): the
    # median difference is positive, but the signed ranks (R+ = 231 < R- = 589), the
    # mean and the Vargha-Delaney A all say a is lower, and the test is significant.
    d = np.r_[0.1 + 0.001 * np.arange(21), -5.0 - 0.01 * np.arange(19)]
    b = np.linspace(1.0, 2.0, 40)
    res = pairwise_wilcoxon(pd.DataFrame({"a": b + d, "b": b})).iloc[0]
    assert res.significant and res.median_diff > 0 and res.rank_biserial < 0 and res.A > 0.5
    assert res.better == "a"


def test_bayesian_signed_rank_with_rope_separates_better_from_equivalent():
    from baycomp import SignedRankTest

    from tabnas.significance import bayesian_control, bayesian_signed_rank

    rng = np.random.default_rng(8)
    base = rng.uniform(0, 1, 12)
    # 0.5 lower on every seed: the best is better beyond a rope of 0.1.
    better, equal, worse = bayesian_signed_rank(base, base + 0.5 + rng.normal(0, 0.05, 12),
                                                rope=0.1)
    assert better > 0.95 and worse < 0.01
    # Within +-0.02 of each other: practically equivalent, which no p-value can say.
    close = base + 0.01 * np.resize([1.0, -1.0], 12) * np.linspace(1, 2, 12)
    assert bayesian_signed_rank(base, close, rope=0.1)[1] > 0.95
    assert pairwise_wilcoxon(pd.DataFrame({"a": base, "b": close})).loc[0, "p"] > 0.05
    # The probabilities are baycomp's, reordered for lower-is-better values.
    ref = SignedRankTest.probs(base, close, rope=0.1, nsamples=20000, random_state=0)
    assert bayesian_signed_rank(base, close, rope=0.1) == pytest.approx(ref[::-1])
    comp = compare(pd.DataFrame({"best": base, "far": base + 0.5, "near": close + 0.03}))
    table = bayesian_control(comp, rope=0.1).set_index("strategy")
    assert table.loc["far", "p_best_better"] > 0.95 and table.loc["near", "p_equivalent"] > 0.5
    assert (table["n"] == 12).all()


@pytest.mark.parametrize("method", ["exact", "asymptotic"])
def test_smallest_possible_p_is_what_scipy_gives_when_every_difference_agrees(method):
    """The floor of the marks' tests is reached (scipy agrees), and the note appears exactly
    when Holm over k - 1 keeps it at or above alpha."""
    from scipy.stats import wilcoxon

    from tabnas.significance import power_note

    for n in (4, 5, 6, 8, 12):
        best = np.zeros(n)
        # Every difference positive and tied: the most extreme data n pairs can give.
        wide = pd.DataFrame({"a": best, "b": best + 1.0, "c": best + 2.0})
        comp = compare(wide, method=method)
        p, pairs, used, m = comp.smallest_p()
        assert (pairs, used, m) == (n, method, 2)
        assert p == pytest.approx(wilcoxon(wide["b"] - wide["a"], method=method).pvalue)
        assert p == pytest.approx(comp.control["p"].min())
        note = power_note(comp)
        assert bool(note) == (2 * p >= 0.05), (n, method)
        assert bool(note) == (not comp.control["significant"].any()), (n, method)
        if note:
            assert note.startswith(f"with n = {n} paired seeds the smallest possible p of the "
                                   f"{method} signed-rank test is {p:.3g}")
    # Exact: 2 / 2^n whatever the data; 6 seeds reach 0.05 alone, not after Holm over 2.
    assert compare(pd.DataFrame({"a": range(6), "b": [3, 1, 4, 1, 5, 9]}), method="exact"
                   ).smallest_p()[0] == 2 / 2**6
    assert power_note(compare(pd.DataFrame({"a": np.zeros(6), "b": np.ones(6)}))) == ""


def test_friedman_over_few_blocks_carries_cautions():
    """Two blocks: the test has no power and the CD is longer than the rank axis."""
    rng = np.random.default_rng(3)
    few = friedman_nemenyi(pd.DataFrame(rng.random((2, 8)), columns=list("abcdefgh")),
                           blocks="benchmarks (2 blocks, each the mean over its common seeds)")
    assert few.kind == "benchmarks" and few.cd > 7
    (short_n, full_n), (short_cd, full_cd) = few.cautions()
    assert short_n == "only N = 2 blocks" and "blocks = benchmarks" in full_n
    assert short_cd.startswith("CD 7.") and "k - 1 = 7" in full_cd
    many = friedman_nemenyi(pd.DataFrame(rng.random((30, 4)), columns=list("abcd")),
                            blocks="seeds (30 blocks)")
    assert many.kind == "seeds" and many.cautions() == []
