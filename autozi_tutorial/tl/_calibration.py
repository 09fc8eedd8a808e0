"""The ZI test's calibration: a parametric bootstrap of the whole pipeline, and an empirical null.

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
reproduces, and that it scales the statistic (a variance inflation). It can understate the
real excess: on simulated NB data without zero inflation it read 1.0 where the real genes'
excess was about 1.7 (``benchmarks/README.md``); why is not established (the draws' means,
outputs of the model and smoother than true means, are one suspect). The factor is read off
one draw: its sampling error is about 18% with 150 expressed genes and 10% with 600, enough
to double the realised level of a nominal p < 1e-4 with 150 genes
(``benchmarks/calibration.py --factor-noise``).

The **empirical null** reads the same factor off the real statistics, in the spirit of Efron's
empirical null: most genes are not zero-inflated, so the bulk of the statistics shows how large
a null gene's statistic gets in this dataset. Genes with overwhelming evidence (a statistic of
at least :data:`CLEAR_EVIDENCE`) are left out of it. It costs nothing, and it sees the real
genes' excess where the draws miss it.
What it assumes: that genes with a statistic below :data:`CLEAR_EVIDENCE` are mostly
not zero-inflated; many weakly zero-inflated genes raise the factor and cost power. With fewer
than :data:`EMPIRICAL_MIN_GENES` such genes their 95th percentile rests on too few of them
(read off 20 or more, it cost 0.05 of power on the 200-gene design: ``benchmarks/
evaluate_calls.py --recalibrate --empirical-min-genes 20``), and the empirical factor is 1.

It serves the test over all cells only. Within one cell type the zero-inflated pairs have
less evidence (fewer cells) and many stay below :data:`CLEAR_EVIDENCE`: on a simulated
trajectory the factor read off the pairs was 3.8 against the bootstrap's 1.4, and would have
cut the per-type power from 0.76 to 0.52 (``benchmarks/calibration.py --quick --designs
trajectory``). The per-type test keeps the bootstrap's factor.

The tool divides by the larger of the two factors. ``benchmarks/calibration.py`` and
``benchmarks/evaluate_calls.py`` measure what each achieves on simulated designs.
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
#: The empirical null leaves out statistics at least this large (p < 4e-6 under the boundary
#: null): such genes are clearly zero-inflated. No gene without zero inflation reached it on
#: the simulated designs of ``benchmarks/evaluate_calls.py`` (the largest: 13.9, its report's
#: ``largest_null_statistic``); a cut at 40 let weakly zero-inflated genes in and cost power.
CLEAR_EVIDENCE = 20.0
#: The empirical null needs at least this many statistics below :data:`CLEAR_EVIDENCE`: its
#: 95th percentile then rests on at least five genes.
EMPIRICAL_MIN_GENES = 100


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


def inflation_factor(
    statistics: np.ndarray, mean_counts: np.ndarray, *, below: float = np.inf
) -> tuple[float, int]:
    """How much larger a set of null statistics is than the boundary null allows.

    Parameters
    ----------
    statistics
        Likelihood-ratio statistics (NaN for untested genes): of the test on the bootstrap's
        null draws, or, for :func:`empirical_inflation`, of the real genes.
    mean_counts
        Mean count per cell of the same genes (or gene x type pairs).
    below
        Only statistics below this are read (infinite for the draws).

    Returns
    -------
    tuple of (float, int)
        The factor (the 95th percentile of the statistics of genes with a mean count of at
        least :data:`EXPRESSED_MEAN_COUNT`, or of every tested gene when fewer than
        :data:`MIN_GENES` are, over :data:`NULL_QUANTILE_95`; never below 1) and the number
        of genes it was read off.
    """
    statistics = np.asarray(statistics, dtype=np.float64)
    tested = np.isfinite(statistics) & (statistics < below)
    expressed = tested & (np.asarray(mean_counts, dtype=np.float64) >= EXPRESSED_MEAN_COUNT)
    used = expressed if expressed.sum() >= MIN_GENES else tested
    if not used.any():
        return 1.0, 0
    quantile = float(np.quantile(np.clip(statistics[used], 0.0, None), 0.95))
    return max(quantile / NULL_QUANTILE_95, 1.0), int(used.sum())


def empirical_inflation(
    statistics: np.ndarray,
    mean_counts: np.ndarray,
    *,
    below: float = CLEAR_EVIDENCE,
    min_genes: int = EMPIRICAL_MIN_GENES,
) -> tuple[float, int]:
    """The inflation factor read off the real genes' statistics: the empirical null.

    :func:`inflation_factor` over the statistics below ``below``; 1 when fewer than
    ``min_genes`` are (too few to read a null off).

    Parameters
    ----------
    statistics
        Likelihood-ratio statistics of the real genes, NaN for untested ones.
    mean_counts
        Their mean count per cell.
    below, min_genes
        The tool's :data:`CLEAR_EVIDENCE` and :data:`EMPIRICAL_MIN_GENES`; other values are
        for ``benchmarks/evaluate_calls.py --recalibrate``, which measured them.

    Returns
    -------
    tuple of (float, int)
        The factor and the number of genes it was read off.
    """
    factor, used = inflation_factor(statistics, mean_counts, below=below)
    return (factor if used >= min_genes else 1.0), used
