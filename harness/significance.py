"""Tests of differences between strategies, with effect sizes.

Two questions, two tools (Demšar, JMLR 7:1-30, 2006):

* *Is strategy A better than B here?* Paired Wilcoxon signed-rank tests on the
  runs that share a seed (and so the same benchmark noise). Two families, each
  pair tested once: the best strategy against each other one (Holm over k - 1,
  what "tied with the best" means in a table) and every pair (Holm over
  k(k-1)/2, its own table). Effect sizes say how large a difference is, which a
  p-value from many seeds does not: the matched-pairs rank-biserial correlation
  and the Vargha-Delaney A.
* *Do the strategies differ at all, over many blocks?* The Friedman test on
  ranks within blocks, then the Nemenyi post-hoc test, whose critical
  difference (CD) of average ranks is what a critical-difference diagram draws.

All inputs are "wide" tables: one row per block (a seed, or a benchmark and
seed), one column per strategy, values where lower is better (regret).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabnas.errors import BadConfiguration, DataMissing


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        adjusted[idx] = running
    return adjusted


def rank_biserial(x, y) -> float:
    """Matched-pairs rank-biserial correlation of ``x - y`` in [-1, 1].

    (R+ - R-) / (R+ + R-) over the non-zero differences (Kerby 2014): +1 when every
    ``x`` is larger than its partner, -1 when every one is smaller, 0 for no tendency.
    """
    from scipy.stats import rankdata

    d = np.asarray(x, float) - np.asarray(y, float)
    d = d[np.isfinite(d) & (d != 0)]
    if len(d) == 0:
        return 0.0
    r = rankdata(np.abs(d))
    return float((r[d > 0].sum() - r[d < 0].sum()) / r.sum())


def vargha_delaney_a(x, y) -> float:
    """Vargha-Delaney A: P(X > Y) + P(X = Y) / 2 for a random ``x`` and a random ``y``.

    0.5 is no difference; 0.56 / 0.64 / 0.71 are the conventional small / medium /
    large thresholds (Vargha & Delaney 2000).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) == 0 or len(y) == 0:
        return math.nan
    gt = (x[:, None] > y[None, :]).sum()
    eq = (x[:, None] == y[None, :]).sum()
    return float((gt + 0.5 * eq) / (len(x) * len(y)))


#: How the signed-rank p-value is computed: ``auto`` is exact up to
#: :data:`EXACT_MAX_PAIRS` pairs and asymptotic beyond.
WILCOXON_METHODS = ("auto", "exact", "asymptotic")
EXACT_MAX_PAIRS = 50


def signed_rank(x, y, method: str = "auto") -> tuple[float, float, str]:
    """Paired Wilcoxon signed-rank test of ``x`` against ``y`` (two-sided).

    Returns (statistic, p, method used). The statistic is min(R+, R-) over the
    non-zero differences (zeros dropped, Wilcoxon's convention; ties get midranks),
    as scipy reports it. ``exact`` uses the exact distribution of R+ given the
    ranks (:func:`_signed_rank_exact_pmf`, valid with ties and zeros); ``asymptotic`` the
    normal approximation with tie correction and no continuity correction (scipy's
    ``method="asymptotic"``); ``auto`` is exact up to :data:`EXACT_MAX_PAIRS` pairs.
    All differences zero: p = 1, method "none (all differences zero)".
    """
    from scipy.stats import rankdata, wilcoxon

    if method not in WILCOXON_METHODS:
        raise BadConfiguration(f"unknown Wilcoxon method {method!r}: use one of "
                               f"{', '.join(WILCOXON_METHODS)}")
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = x - y
    d = d[np.isfinite(d)]
    nz = d[d != 0]
    if len(nz) == 0:
        return math.nan, 1.0, "none (all differences zero)"
    if method == "auto":
        method = "exact" if len(d) <= EXACT_MAX_PAIRS else "asymptotic"
    ranks = rankdata(np.abs(nz))
    r_plus = float(ranks[nz > 0].sum())
    stat = min(r_plus, float(ranks.sum()) - r_plus)
    if method == "asymptotic":
        res = wilcoxon(d, zero_method="wilcox", method="asymptotic")
        return float(res.statistic), float(res.pvalue), "asymptotic"
    prob = _signed_rank_exact_pmf(ranks)
    k = int(round(2 * r_plus))
    p = 2 * min(prob[:k + 1].sum(), prob[k:].sum())
    return stat, float(min(1.0, p)), "exact"


def _signed_rank_exact_pmf(ranks: np.ndarray) -> np.ndarray:
    """P(2 R+ = j) for j = 0..2 sum(ranks) when each difference's sign is a fair coin.

    Ranks are multiples of 1/2, so doubled they are integers and the distribution of
    the sum of a random subset is a polynomial product, computed by shift-and-add in
    O(n * sum of ranks). With ties or zero differences this is the exact conditional
    (permutation) distribution, the one scipy enumerates for small samples; without
    them it is the classical Wilcoxon distribution.
    """
    twice = np.rint(2 * np.asarray(ranks, float)).astype(np.int64)
    prob = np.zeros(int(twice.sum()) + 1)
    prob[0] = 1.0
    top = 0
    for r in twice:  # P <- (P + P shifted by r) / 2, on the part that is non-zero
        prob[r:top + r + 1] += prob[:top + 1].copy()
        prob[:top + r + 1] *= 0.5
        top += r
    return prob


#: Columns of one pair's test (:func:`pairwise_wilcoxon`, :func:`compare`).
_PAIR_COLUMNS = ["n", "median_diff", "statistic", "p", "method", "rank_biserial", "A"]


def _pair_test(x: np.ndarray, y: np.ndarray, method: str) -> dict:
    """The signed-rank test and effect sizes of x - y on the blocks both have."""
    both = np.isfinite(x) & np.isfinite(y)
    x, y = x[both], y[both]
    d = x - y
    stat, p, used = signed_rank(x, y, method) if len(d) else (math.nan, 1.0, "none (no pairs)")
    return {"n": len(d), "median_diff": float(np.median(d)) if len(d) else math.nan,
            "statistic": stat, "p": p, "method": used,
            "rank_biserial": rank_biserial(x, y), "A": vargha_delaney_a(y, x)}


@dataclass(frozen=True)
class Comparisons:
    """Both families of paired tests on one table of blocks, each pair tested once.

    ``pairs``: every pair, Holm over k(k-1)/2 (:func:`pairwise_wilcoxon`'s columns).
    ``control``: the best strategy (lowest mean) against each other one, Holm over
    k - 1 (the question a table's "tied with the best" mark answers). Columns:
    ``strategy``, ``n``, ``median_diff`` (strategy - best), ``statistic``, ``p``,
    ``method``, ``rank_biserial`` (of strategy - best), ``A`` (probability that the
    best's value is lower), ``p_holm``, ``significant``.
    """

    best: str
    pairs: pd.DataFrame
    control: pd.DataFrame
    alpha: float
    method: str
    #: The blocks x strategies table tested.
    wide: pd.DataFrame

    @property
    def tied(self) -> set[str]:
        """Strategies the control-versus-best test cannot tell apart from the best."""
        return set(self.control.loc[~self.control["significant"], "strategy"])

    def smallest_p(self, family: str = "control") -> tuple[float, int, str, int]:
        """The smallest p any test of ``family`` could give with these many seeds, and m.

        With n pairs the two-sided signed-rank test cannot go below the p of n
        differences of one sign: 2 / 2^n for the exact test, whatever the ties, and
        2 (1 - Phi(sqrt(n))) for the normal approximation (reached when every
        difference is tied; without ties it is larger). Holm multiplies the smallest
        p by the family's size m. When m times that p is at least alpha, no strategy
        can be marked different whatever the data, which a reader must be told
        (:func:`power_note`). Returns (p, n, method, m); n is the most pairs any test
        of the family has, and the method the one :func:`signed_rank` uses for n.
        """
        from scipy.stats import norm

        if family not in ("control", "pairs"):
            raise ValueError(f"family must be 'control' or 'pairs', not {family!r}")
        frame = self.control if family == "control" else self.pairs
        m = len(frame)
        n = int(frame["n"].max()) if m else 0
        if n == 0:
            return 1.0, 0, "", m
        how = self.method if self.method != "auto" else (
            "exact" if n <= EXACT_MAX_PAIRS else "asymptotic")
        p = 2.0 ** (1 - n) if how == "exact" else float(2 * norm.sf(math.sqrt(n)))
        return min(1.0, p), n, how, m


def power_note(comp: Comparisons, family: str = "control") -> str:
    """One line when no test of ``family`` can reach alpha with this many seeds, else "".

    E.g. "with n = 5 paired seeds the smallest possible p of the exact signed-rank test
    is 0.0625: no difference can be significant at alpha = 0.05". Without it a table
    of 5 seeds would show every strategy "tied with the best" and say nothing.
    """
    raw, n, how, m = comp.smallest_p(family)
    floor = min(1.0, m * raw)
    if not how or floor < comp.alpha:
        return ""
    holm_text = (f" ({floor:.3g} after Holm over "
                 f"{'k - 1' if family == 'control' else 'k(k - 1)/2'} = {m})") if m > 1 else ""
    seeds = "seed" if n == 1 else "seeds"
    return (f"with n = {n} paired {seeds} the smallest possible p of the {how} signed-rank "
            f"test is {raw:.3g}{holm_text}: no difference can be significant at alpha = "
            f"{comp.alpha:g} (run more seeds)")


def compare(wide: pd.DataFrame, alpha: float = 0.05, method: str = "auto") -> Comparisons:
    """All-pairs and control-versus-best Wilcoxon tests of ``wide`` (lower is better)."""
    names = [str(c) for c in wide.columns]
    values = wide.to_numpy(dtype=float)
    tested = {(a, b): _pair_test(values[:, i], values[:, i + 1 + j], method)
              for i, a in enumerate(names) for j, b in enumerate(names[i + 1:])}
    pairs = pd.DataFrame([{"a": a, "b": b, **row} for (a, b), row in tested.items()],
                         columns=["a", "b", *_PAIR_COLUMNS])
    pairs["p_holm"] = holm(pairs["p"].to_numpy()) if len(pairs) else []
    pairs["significant"] = pairs["p_holm"] < alpha
    # The direction is the signed-rank statistic's own (R+ against R-), which the
    # rank-biserial correlation carries; the median difference can point the other way.
    pairs["better"] = [(r.a if r.rank_biserial < 0 else r.b) if r.significant else ""
                       for r in pairs.itertuples()]
    pairs = pairs[["a", "b", "n", "median_diff", "statistic", "p", "p_holm", "significant",
                   "better", "rank_biserial", "A", "method"]]
    best = str(wide.mean(axis=0).idxmin()) if len(names) else ""
    rows = []
    for s in names:
        if s == best:
            continue
        # Pairs are stored as (a, b) with differences a - b and A = P(a lower): make
        # the differences strategy - best and A the probability that the best is lower.
        if (best, s) in tested:
            r = tested[(best, s)]
            row = {**r, "median_diff": -r["median_diff"], "rank_biserial": -r["rank_biserial"]}
        else:
            r = tested[(s, best)]
            row = {**r, "A": 1.0 - r["A"] if np.isfinite(r["A"]) else r["A"]}
        rows.append({"strategy": s, **row})
    control = pd.DataFrame(rows, columns=["strategy", *_PAIR_COLUMNS])
    control["p_holm"] = holm(control["p"].to_numpy()) if len(control) else []
    control["significant"] = control["p_holm"] < alpha
    return Comparisons(best=best, pairs=pairs, control=control, alpha=alpha, method=method,
                       wide=wide)


def pairwise_wilcoxon(wide: pd.DataFrame, alpha: float = 0.05,
                      method: str = "auto") -> pd.DataFrame:
    """Every pair of columns: paired Wilcoxon signed-rank, Holm-corrected, with effect sizes.

    Columns of the result: ``a``, ``b``, ``n`` (pairs), ``median_diff`` (median of
    a - b), ``statistic``, ``p``, ``p_holm`` (Holm over all k(k-1)/2 pairs),
    ``significant`` (p_holm < alpha), ``better`` (when significant, the strategy
    the signed ranks put lower, else empty), ``rank_biserial`` (of a - b; negative
    means a lower), ``A`` (Vargha-Delaney A of b over a: the probability that a's
    value is lower than b's), ``method`` (how p was computed, :func:`signed_rank`).
    Pairs whose differences are all zero have p = 1.
    """
    return compare(wide, alpha, method).pairs


def block_ranks(wide: pd.DataFrame) -> pd.DataFrame:
    """Ranks within each row, 1 = lowest value (best), ties averaged."""
    from scipy.stats import rankdata

    return pd.DataFrame(rankdata(wide.to_numpy(float), axis=1, method="average"),
                        index=wide.index, columns=wide.columns)


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Demšar's q_alpha: the studentized range quantile (k groups, infinite df) / sqrt(2)."""
    from scipy.stats import studentized_range

    return float(studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for k strategies over n blocks."""
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6.0 * n))


#: Fewer Friedman blocks than this and every output of the test carries a caution.
FRIEDMAN_MIN_BLOCKS = 5


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman test over blocks, the Iman-Davenport F form, and the Nemenyi post-hoc."""

    names: tuple[str, ...]
    avg_ranks: tuple[float, ...]
    n_blocks: int
    chi2: float
    p: float
    f_iman_davenport: float
    p_iman_davenport: float
    alpha: float
    cd: float
    #: Nemenyi p-values, k x k, for every pair of strategies.
    nemenyi_p: pd.DataFrame
    #: What one block is, in words (e.g. "benchmarks (mean over seeds)"), for captions.
    blocks: str = "blocks"

    def ranks(self) -> pd.Series:
        return pd.Series(self.avg_ranks, index=list(self.names))

    @property
    def kind(self) -> str:
        """What a block is, without the count: "benchmarks", "seeds", "(benchmark, seed)
        pairs" (``blocks`` as :func:`~tabnas.statistics.friedman_blocks` words it,
        "KIND (N blocks...)")."""
        return self.blocks.rsplit(" (", 1)[0] if self.blocks.endswith(")") else self.blocks

    def heading(self) -> str:
        """The CD figure's statistics line: Friedman p, what a block is and N, Nemenyi
        alpha, and a caution line where the test can say little (e.g. two benchmarks)."""
        sub = (f"Friedman p = {self.p:.3g}; blocks = {self.kind}, N = {self.n_blocks}; "
               f"Nemenyi alpha = {self.alpha:g}")
        cautions = [short for short, _ in self.cautions()]
        return sub + ("\ncaution: " + ", ".join(cautions) + " (little or no power)"
                      if cautions else "")

    def cautions(self) -> list[tuple[str, str]]:
        """(short, full) warnings about what this test can say: few blocks, a CD too long.

        With fewer than :data:`FRIEDMAN_MIN_BLOCKS` blocks the chi-square p-value is
        a poor approximation and the test has almost no power; a critical difference
        of at least k - 1 (the largest possible difference of average ranks) means
        Nemenyi cannot separate any two strategies. The short form goes in a
        figure's title, the full one in captions and the report's notes.
        """
        k = len(self.names)
        out = []
        if self.n_blocks < FRIEDMAN_MIN_BLOCKS:
            out.append((f"only N = {self.n_blocks} blocks",
                        f"the Friedman test ranks only N = {self.n_blocks} blocks "
                        f"(blocks = {self.kind}): with fewer than {FRIEDMAN_MIN_BLOCKS} its "
                        "chi-square p-value is a poor approximation and it has almost no "
                        "power"))
        if self.cd >= k - 1:
            out.append((f"CD {self.cd:.3g} ≥ k - 1 = {k - 1}",
                        f"the Nemenyi critical difference {self.cd:.4g} is at least the "
                        f"largest possible difference of average ranks (k - 1 = {k - 1}): "
                        "no two strategies can be told apart at this N"))
        return out

    def cliques(self) -> list[tuple[str, ...]]:
        """Maximal runs of strategies (sorted by rank) whose ranks differ by less than CD."""
        order = sorted(zip(self.avg_ranks, self.names, strict=True))
        out: list[tuple[str, ...]] = []
        for i in range(len(order)):
            j = i
            while j + 1 < len(order) and order[j + 1][0] - order[i][0] < self.cd:
                j += 1
            if j > i:
                group = tuple(name for _, name in order[i:j + 1])
                if not out or not set(group) <= set(out[-1]):
                    out.append(group)
        return out


def friedman_nemenyi(wide: pd.DataFrame, alpha: float = 0.05,
                     blocks: str = "blocks") -> FriedmanResult:
    """Friedman test on ``wide`` (blocks x strategies, lower is better) plus Nemenyi.

    Needs at least 3 strategies and 2 complete blocks. The chi-square statistic is
    scipy's (with its tie correction); the Iman-Davenport F = (N-1) chi2 / (N(k-1) -
    chi2) is the less conservative form Demšar recommends. ``blocks`` says what a
    row is, and is carried into every caption.
    """
    from scipy.stats import f as f_dist
    from scipy.stats import friedmanchisquare, studentized_range

    wide = wide.dropna()
    k, n = wide.shape[1], wide.shape[0]
    if k < 3:
        raise BadConfiguration(f"the Friedman test needs at least 3 strategies, got {k}; "
                               "compare two with the pairwise Wilcoxon test")
    if n < 2:
        raise DataMissing(f"the Friedman test needs at least 2 complete blocks, got {n}; "
                          "run more seeds")
    values = wide.to_numpy(float)
    if np.all(values == values[:, :1]):
        chi2, p = 0.0, 1.0
    else:
        res = friedmanchisquare(*values.T)
        chi2, p = float(res.statistic), float(res.pvalue)
    denom = n * (k - 1) - chi2
    f_id = (n - 1) * chi2 / denom if denom > 0 else math.inf
    p_id = float(f_dist.sf(f_id, k - 1, (k - 1) * (n - 1))) if math.isfinite(f_id) else 0.0
    ranks = block_ranks(wide).mean(axis=0).to_numpy()
    se = math.sqrt(k * (k + 1) / (6.0 * n))
    q = np.abs(ranks[:, None] - ranks[None, :]) / se * math.sqrt(2)
    pn = studentized_range.sf(q, k, np.inf)
    np.fill_diagonal(pn, 1.0)
    names = tuple(wide.columns)
    return FriedmanResult(
        names=names, avg_ranks=tuple(float(r) for r in ranks), n_blocks=n, chi2=chi2, p=p,
        f_iman_davenport=float(f_id), p_iman_davenport=p_id, alpha=alpha,
        cd=critical_difference(k, n, alpha),
        nemenyi_p=pd.DataFrame(np.minimum(pn, 1.0), index=list(names), columns=list(names)),
        blocks=blocks,
    )


def tied_with_best(wide: pd.DataFrame, alpha: float = 0.05,
                   method: str = "auto") -> tuple[str, set[str]]:
    """The best strategy (lowest mean) and those not significantly worse than it.

    The family is control versus best: the best against each of the k - 1 others,
    Holm over those k - 1 tests (not over all pairs, whose larger family would
    leave clearly worse strategies "tied").
    """
    res = compare(wide, alpha, method)
    return res.best, res.tied


def bayesian_signed_rank(best, other, rope: float, *, nsamples: int = 20000,
                         seed: int = 0) -> tuple[float, float, float]:
    """Bayesian signed-rank test (Benavoli et al., JMLR 18, 2017) with a ROPE, via baycomp.

    ``best`` and ``other`` are paired values where lower is better; ``rope`` is the
    region of practical equivalence in their unit (a difference within it does not
    matter). Returns the posterior probabilities (best lower by more than the rope,
    practically equivalent, other lower by more than the rope). "No significant
    difference" is not "equivalent": this test can say the latter. Sampled with a
    fixed ``seed``, so a report is reproducible.
    """
    try:
        from baycomp import SignedRankTest
    except ImportError:
        raise DataMissing("rope needs the baycomp package: pip install 'tabnas[bayes]'") from None
    x, y = np.asarray(best, float), np.asarray(other, float)
    both = np.isfinite(x) & np.isfinite(y)
    if both.sum() < 2:
        return math.nan, math.nan, math.nan
    # baycomp's first probability is P(x - y > rope): here the best is higher, i.e. worse.
    worse, equal, better = SignedRankTest.probs(x[both], y[both], rope=rope,
                                                nsamples=nsamples, random_state=seed)
    return float(better), float(equal), float(worse)


def bayesian_control(comp: Comparisons, rope: float) -> pd.DataFrame:
    """:func:`bayesian_signed_rank` of the best against each other strategy of ``comp``.

    Columns: strategy, n, rope, p_best_better, p_equivalent, p_strategy_better.
    """
    rows = []
    for s in comp.control["strategy"]:
        pair = comp.wide[[comp.best, s]].dropna()
        b, e, w = bayesian_signed_rank(pair[comp.best], pair[s], rope)
        rows.append({"strategy": s, "n": len(pair), "rope": rope, "p_best_better": b,
                     "p_equivalent": e, "p_strategy_better": w})
    return pd.DataFrame(rows, columns=["strategy", "n", "rope", "p_best_better",
                                       "p_equivalent", "p_strategy_better"])
