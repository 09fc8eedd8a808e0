"""The ZI test's calibration: a parametric bootstrap of the whole pipeline.

The test treats the learned cell-state means as known, although they are estimates from a
model that saw the tested gene's own counts. Its statistic is therefore larger, for genes
without zero inflation, than the boundary null 0.5 chi2(0) + 0.5 chi2(1) says
(``benchmarks/calibration.py``: p < 0.05 for 7-11% of such genes, nominal 5%).

The bootstrap measures that excess on data where the answer is known. New counts are drawn
from the test's own fitted negative binomial (every cell's mean and its group's dispersion),
so no gene is zero-inflated in them; the whole pipeline, the cell-state model included, runs
on the draws; the statistic's 95th percentile over the well-expressed genes, divided by the
boundary null's, is the **inflation factor**. The real statistics are divided by it (never by
less than 1) before their p-values are computed, in the spirit of genomic control. One draw
costs one more training of the cell-state model.

What it assumes: that the excess depends on the data only through what the fitted NB
reproduces, and that it scales the statistic (a variance inflation). The draws' true means
are outputs of the cell-state model, which it can represent; where real cell states have
structure it cannot represent, the real excess can be larger than the draws', and the
calibration then corrects too little. The factor is read off one draw: its sampling error
is about 18% with 150 expressed genes and 10% with 600, enough to double the realised level
of a nominal p < 1e-4 with 150 genes (``benchmarks/calibration.py --factor-noise``).
``benchmarks/calibration.py`` and ``benchmarks/evaluate_calls.py`` measure what the
calibration achieves on simulated designs.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

#: The boundary null's 95th percentile: 0.5 chi2(0) + 0.5 chi2(1) exceeds it with probability 0.05.
NULL_QUANTILE_95 = float(chi2.isf(0.10, df=1))
#: The inflation is read off genes (or gene x type pairs) with at least this mean count per cell:
#: below it, few counts leave the statistic small whatever the cell-state means.
EXPRESSED_MEAN_COUNT = 1.0
#: Fewer expressed genes than this: the inflation is read off every tested gene instead.
MIN_GENES = 20


def null_counts(
    means: np.ndarray, dispersions: np.ndarray, groups: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Counts drawn from a fitted negative binomial: the bootstrap's data, without zero inflation.

    Parameters
    ----------
    means
        Cells x genes, each cell's expected count under the fitted NB.
    dispersions
        Genes x dispersion groups, the NB's theta (NaN for a gene that was not fitted).
    groups
        Each cell's dispersion group, an index into the columns of ``dispersions``.
    rng
        Random generator of the draws.

    Returns
    -------
    numpy.ndarray
        Cells x genes counts, float32. A gene that was not fitted gets Poisson counts around
        its means (0 for a gene without counts).
    """
    means = np.nan_to_num(np.asarray(means, dtype=np.float64), nan=0.0)
    theta = np.asarray(dispersions, dtype=np.float64)[:, np.asarray(groups)].T
    theta = np.where(np.isfinite(theta) & (theta > 0), theta, np.inf)
    finite = np.isfinite(theta)
    rates = means.copy()
    rates[finite] = rng.gamma(theta[finite], means[finite] / theta[finite])
    return rng.poisson(rates).astype(np.float32)


def inflation_factor(statistics: np.ndarray, mean_counts: np.ndarray) -> tuple[float, int]:
    """How much larger the bootstrap's statistics are than the boundary null allows.

    Parameters
    ----------
    statistics
        Likelihood-ratio statistics of the test on the null draws (NaN for untested genes).
    mean_counts
        The draws' mean count per cell of the same genes (or gene x type pairs).

    Returns
    -------
    tuple of (float, int)
        The factor (the 95th percentile of the statistics of genes with a mean count of at
        least :data:`EXPRESSED_MEAN_COUNT`, or of every tested gene when fewer than
        :data:`MIN_GENES` are, over :data:`NULL_QUANTILE_95`; never below 1) and the number
        of genes it was read off.
    """
    statistics = np.asarray(statistics, dtype=np.float64)
    tested = np.isfinite(statistics)
    expressed = tested & (np.asarray(mean_counts, dtype=np.float64) >= EXPRESSED_MEAN_COUNT)
    used = expressed if expressed.sum() >= MIN_GENES else tested
    if not used.any():
        return 1.0, 0
    quantile = float(np.quantile(np.clip(statistics[used], 0.0, None), 0.95))
    return max(quantile / NULL_QUANTILE_95, 1.0), int(used.sum())
