"""A continuous trajectory annotated in coarse stages: switching genes whose zeros come from cell
states, not zero inflation."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from scipy.special import expit

from ._common import (
    SpikeIns,
    ZeroInflation,
    check_share,
    choose_genes,
    draw_genes,
    dropout_range,
    log_uniform,
    nb_counts,
    simulated_anndata,
    size_factors,
)


def simulate_trajectory(
    n_cells: int = 4_000,
    n_genes: int = 1_000,
    *,
    n_stages: int = 3,
    switching_share: float = 0.5,
    zi_share: float = 0.3,
    dropout: float | tuple[float, float] = (0.1, 0.4),
    mean_range: tuple[float, float] = (0.05, 20.0),
    steepness_range: tuple[float, float] = (5.0, 25.0),
    n_spike_ins: int = 0,
    keep_means: bool = False,
    seed: int = 0,
) -> AnnData:
    """NB counts along a continuous trajectory, annotated in coarse stages.

    Each cell has a pseudotime ``t`` drawn uniformly on [0, 1] (``obs["pseudotime"]``); the
    annotation cuts it at its empirical quantiles into ``n_stages`` stages of equal size
    (``obs["cell_type"]``: ``"stage 1"`` ... ``"stage n"``, tertiles by default). Cell states
    therefore vary continuously *inside* each annotated type, which a per-type model cannot
    capture.

    Gene g has a peak mean ``m_g`` (counts per cell at size factor 1, log-uniform over
    ``mean_range``). A share ``switching_share`` of the genes switch on (``direction`` +1) or
    off (-1) along pseudotime: their mean is
    ``m_g * (f_g + (1 - f_g) * sigmoid(direction_g * k_g * (t - t0_g)))``, with midpoint
    ``t0_g`` uniform on [0.2, 0.8] (in pseudotime units), steepness ``k_g`` uniform over
    ``steepness_range`` (per unit of pseudotime; ``k = 10`` goes from 10% to 90% of the change
    over 0.44) and a floor ``f_g`` log-uniform on [0.01, 0.2] (the switched-off level relative to
    the peak: a 5- to 100-fold change). The other genes are static at ``m_g``. Cell c's counts
    are NB with mean ``s_c`` times the gene's mean at ``t_c`` (``s_c`` a log-normal size factor,
    sd 0.4, mean 1) and a per-gene inverse dispersion ``theta`` (log-normal around 3, sd 0.5).
    So the zeros of a switched-off gene come from cell states, not zero inflation.
    Independently of switching, a share ``zi_share`` of the genes is zero-inflated: each entry
    is zeroed with the gene's ``dropout``. Optional ERCC-like spike-ins are Poisson (``s_c``
    times a fixed concentration). Cells without counts are dropped.

    Parameters
    ----------
    n_cells, n_genes
        Size of the data before empty cells are dropped (``n_genes`` excludes spike-ins).
    n_stages
        Number of annotated stages (equal-size pseudotime quantile bins).
    switching_share
        Share of the genes that switch along pseudotime (rounded to whole genes).
    zi_share
        Share of the genes made zero-inflated, chosen independently of switching.
    dropout
        Dropout probability of ZI genes: one value, or a (low, high) range drawn uniformly.
    mean_range
        Range of the genes' peak mean counts per cell.
    steepness_range
        Range of the switching genes' sigmoid steepness, per unit of pseudotime.
    n_spike_ins
        Number of Poisson spike-in genes appended (``var["spike_in"]`` marks them).
    keep_means
        Also store the true expected count of each cell and gene before zero inflation in
        ``layers["mean_true"]`` (dense float32: cells x genes x 4 bytes).
    seed
        Seed of the random generator.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]`` (float32 CSR, whole numbers);
        ``obs["cell_type"]``, ``obs["pseudotime"]``, ``obs["size_factor"]``; truth in ``var``:
        ``zi_true``, ``dropout``, ``mean_true`` (mean count over cells), ``theta``,
        ``switching``, ``direction`` (+1 on, -1 off, 0 static), ``midpoint``, ``steepness``
        (NaN for static genes), ``floor`` (1 for static genes), ``peak_mean`` and ``spike_in``.
    """
    check_share("switching_share", switching_share)
    check_share("zi_share", zi_share)
    if n_stages < 1:
        raise ValueError(f"n_stages must be at least 1, got {n_stages}.")
    dropout_range(dropout)  # a bad dropout is refused before anything is drawn
    rng = np.random.default_rng(seed)
    pseudotime = rng.random(n_cells)
    cuts = np.quantile(pseudotime, np.arange(1, n_stages) / n_stages)
    stage = np.searchsorted(cuts, pseudotime, side="right")
    size_factor = size_factors(n_cells, rng)
    genes = draw_genes(n_genes, mean_range, rng)
    peak, theta = genes.base, genes.theta

    switching = choose_genes(n_genes, switching_share, rng)
    direction = np.where(switching, rng.choice([-1, 1], size=n_genes), 0)
    midpoint = np.where(switching, rng.uniform(0.2, 0.8, size=n_genes), np.nan)
    steepness = np.where(switching, rng.uniform(*steepness_range, size=n_genes), np.nan)
    floor = np.where(switching, log_uniform((0.01, 0.2), n_genes, rng), 1.0)
    profile = np.ones((n_cells, n_genes))
    sw = np.flatnonzero(switching)
    on = expit(direction[sw] * steepness[sw] * (pseudotime[:, None] - midpoint[sw]))
    profile[:, sw] = floor[sw] + (1.0 - floor[sw]) * on
    mean = size_factor[:, None] * peak[None, :] * profile
    counts = nb_counts(mean, theta, rng)
    zi = ZeroInflation.draw(n_genes, zi_share, dropout, rng)
    counts = zi.apply(counts, rng)
    spikes = SpikeIns.draw(size_factor, n_spike_ins, rng)
    gene_truth = {
        "switching": (switching, False),
        "direction": (direction, 0),
        "midpoint": (midpoint, np.nan),
        "steepness": (steepness, np.nan),
        "floor": (floor, 1.0),
        "peak_mean": (peak, np.nan),
    }
    return simulated_anndata(
        counts,
        mean,
        stage,
        zi,
        theta=theta,
        gene_truth=gene_truth,
        spikes=spikes,
        obs_extra={"pseudotime": pseudotime, "size_factor": size_factor},
        labels=[f"stage {k + 1}" for k in range(n_stages)],
        keep_means=keep_means,
    )
