"""The ZI test's optional calibration: a parametric bootstrap of the whole pipeline.

The test treats the learned cell-state means as known, although they are estimates. Up to
version 0.2.0 the cell-state model's encoder read the tested gene's own counts, so the means
had learned part of its zeros and the statistics of genes without zero inflation were larger
than the boundary null 0.5 chi2(0) + 0.5 chi2(1) says, the more so the more genes were
zero-inflated. Version 0.2.0 calibrated by default with the bootstrap below; since version
0.3.0 the encoder never reads the tested gene (:mod:`autozi_tutorial.cell_states`), the
bootstrap finds little or nothing left to discount on any design measured
(``benchmarks/zi_common.py``), and it runs only where the encoder still reads every gene
(fewer than ``cell_states.MIN_GENES_HELD_OUT`` genes) or when asked for
(``tl.zi_test(calibration="bootstrap")``).

The bootstrap measures the excess on data where the answer is known. New counts are drawn
from the test's own fitted negative binomial (every cell's mean and its group's dispersion),
so no gene is zero-inflated in them; the whole pipeline, the cell-state model included, runs
on the draws; the statistic's 95th percentile over the draws' well-expressed genes, divided by
the boundary null's, is the **inflation factor**. The real statistics are divided by it (never
by less than 1) before their p-values are computed, in the spirit of genomic control. The
per-type test gets its own factor from the same draws, read off the gene x type pairs. One
draw costs one more training of the cell-state model.

How it was chosen, and what it misses (``benchmarks/README.md``, "Calibration of the ZI
test"). An empirical null read off the real genes assumes that most genes are not
zero-inflated, and cost power where they were common; empirical nulls fitted only to the low
statistics were too noisy; draws from the fitted ZINB's negative-binomial part read no excess
where the real null genes had one. Drawn from the NB fit, the factor grew with the share of
zero-inflated genes when the encoder read every gene. Its draws are smoother than real data:
it can understate a particular dataset's excess, and reads it off one draw, with the sampling
error of a 95th percentile of a few hundred genes."""

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
    means = np.asarray(means, dtype=np.float64)
    dispersions = np.asarray(dispersions, dtype=np.float64)
    groups = np.asarray(groups)
    # Cells are drawn a block at a time, so that memory holds a block's temporaries, not the
    # whole matrix's. The generator draws element by element in row order, so all the gamma
    # draws, then all the Poisson draws, block by block, are the draws of one call each.
    rates = np.empty(means.shape, dtype=np.float64)
    for rows in _blocks(len(means)):
        block = np.nan_to_num(means[rows], nan=0.0)
        theta = dispersions[:, groups[rows]].T
        finite = np.isfinite(theta) & (theta > 0)
        block[finite] = rng.gamma(theta[finite], block[finite] / theta[finite])
        rates[rows] = block
    counts = np.empty(means.shape, dtype=np.float32)
    for rows in _blocks(len(means)):
        counts[rows] = rng.poisson(rates[rows])
    return counts


#: Cells per block of :func:`null_counts`'s draws.
DRAW_BLOCK_CELLS = 4_096


def _blocks(n_cells: int) -> list[slice]:
    return [slice(start, start + DRAW_BLOCK_CELLS) for start in range(0, n_cells, DRAW_BLOCK_CELLS)]


def inflation_factor(statistics: np.ndarray, mean_counts: np.ndarray) -> tuple[float, int]:
    """How much larger a set of null statistics is than the boundary null allows.

    Parameters
    ----------
    statistics
        Likelihood-ratio statistics of the test on the bootstrap's draws (NaN for untested
        genes or unconverged fits).
    mean_counts
        Mean count per cell of the same genes (or gene x type pairs) in the draws.

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
