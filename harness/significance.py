"""Tests of differences between strategies, with effect sizes.

Two questions, two tools (Demšar, JMLR 7:1-30, 2006):

* *Is strategy A better than B here?* Paired Wilcoxon signed-rank tests on the
  runs that share a seed (and so the same benchmark noise), every pair tested,
  p-values Holm-corrected for the number of pairs. Effect sizes say how large a
  difference is, which a p-value from many seeds does not: the matched-pairs
  rank-biserial correlation and the Vargha-Delaney A.
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


def pairwise_wilcoxon(wide: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Every pair of columns: paired Wilcoxon signed-rank, Holm-corrected, with effect sizes.

    Columns of the result: ``a``, ``b``, ``n`` (pairs), ``median_diff`` (median of
    a - b), ``statistic``, ``p``, ``p_holm``, ``significant`` (p_holm < alpha),
    ``better`` (when significant, the strategy the signed ranks put lower, else empty),
    ``rank_biserial`` (of a - b; negative means a lower), ``A`` (Vargha-Delaney
    A of b over a: the probability that a's value is lower than b's).
    Pairs whose differences are all zero have p = 1.
    """
    from scipy.stats import wilcoxon

    names = list(wide.columns)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pair = wide[[a, b]].dropna()
            x, y = pair[a].to_numpy(float), pair[b].to_numpy(float)
            d = x - y
            if len(d) == 0 or np.all(d == 0):
                stat, p = math.nan, 1.0
            else:
                res = wilcoxon(x, y, zero_method="wilcox", alternative="two-sided")
                stat, p = float(res.statistic), float(res.pvalue)
            rows.append({"a": a, "b": b, "n": len(d),
                         "median_diff": float(np.median(d)) if len(d) else math.nan,
                         "statistic": stat, "p": p,
                         "rank_biserial": rank_biserial(x, y), "A": vargha_delaney_a(y, x)})
    out = pd.DataFrame(rows, columns=["a", "b", "n", "median_diff", "statistic", "p",
                                      "rank_biserial", "A"])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    # The direction is the signed-rank statistic's own (R+ against R-), which the
    # rank-biserial correlation carries; the median difference can point the other way.
    out["better"] = [
        (r.a if r.rank_biserial < 0 else r.b) if r.significant else ""
        for r in out.itertuples()
    ]
    return out[["a", "b", "n", "median_diff", "statistic", "p", "p_holm", "significant",
                "better", "rank_biserial", "A"]]


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

    def ranks(self) -> pd.Series:
        return pd.Series(self.avg_ranks, index=list(self.names))

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


def friedman_nemenyi(wide: pd.DataFrame, alpha: float = 0.05) -> FriedmanResult:
    """Friedman test on ``wide`` (blocks x strategies, lower is better) plus Nemenyi.

    Needs at least 3 strategies and 2 complete blocks. The chi-square statistic is
    scipy's (with its tie correction); the Iman-Davenport F = (N-1) chi2 / (N(k-1) -
    chi2) is the less conservative form Demšar recommends.
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
    )


def tied_with_best(wide: pd.DataFrame, alpha: float = 0.05) -> tuple[str, set[str]]:
    """The best strategy (lowest mean) and those not significantly different from it.

    "Not significantly different" is the Holm-corrected paired Wilcoxon test of every
    pair: a table marks them as tied with the best.
    """
    means = wide.mean(axis=0)
    best = str(means.idxmin())
    tests = pairwise_wilcoxon(wide, alpha)
    tied = set()
    for r in tests.itertuples():
        if best in (r.a, r.b) and not r.significant:
            tied.add(r.b if r.a == best else r.a)
    return best, tied
