"""Several cell types measured in batches that differ in depth, genes and dispersion."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from ._common import (
    SpikeIns,
    ZeroInflation,
    check_share,
    choose_genes,
    draw_genes,
    dropout_range,
    nb_counts,
    simulated_anndata,
)


def simulate_batches(
    n_cells: int = 8_000,
    n_genes: int = 1_500,
    *,
    n_types: int = 6,
    n_batches: int = 2,
    zi_share: float = 0.2,
    dropout: float | tuple[float, float] = (0.1, 0.4),
    mean_range: tuple[float, float] = (0.05, 20.0),
    depth_ratio: float = 2.0,
    shift_share: float = 0.1,
    shift_range: tuple[float, float] = (0.5, 1.5),
    dispersion_sd: float = 0.5,
    n_spike_ins: int = 0,
    keep_means: bool = False,
    seed: int = 0,
) -> AnnData:
    """NB counts of several cell types measured in batches that differ in depth, genes and noise.

    Each cell falls in one of ``n_batches`` batches with equal probability (``obs["batch"]``:
    ``"batch0"``, ...). Each batch has its own cell-type composition (Dirichlet with
    concentration 5 per type, so types are shared but in different proportions), and
    ``obs["cell_type"]`` (``"type0"``, ...) is drawn from it. Batch 0 is the reference; the
    others differ from it in three ways:

    - **library size**: cell c's size factor is log-normal with the batch's mean and sd; the
      mean rises log-linearly from 1 (batch 0) to ``depth_ratio`` (last batch) and the log-scale
      sd is drawn per batch uniformly on [0.25, 0.55];
    - **gene shifts**: in each non-reference batch a share ``shift_share`` of the genes, chosen
      per batch, has its mean multiplied by ``exp(lfc)``, with ``|lfc|`` uniform over
      ``shift_range`` (natural log) and a random sign (``var["lfc_batch{b}"]``);
    - **dispersion**: each gene's inverse dispersion is multiplied by a log-normal factor of sd
      ``dispersion_sd`` per non-reference batch (``var["theta_batch{b}"]``).

    Gene g's mean in type k and batch b is ``s_c * m_g * f_gk * exp(lfc_gb)`` with ``m_g``
    log-uniform over ``mean_range`` and ``f_gk`` log-normal (sd 0.5), as in
    :func:`simulate_nb`; the reference inverse dispersion ``theta`` is log-normal around 3
    (sd 0.5). A share ``zi_share`` of the genes is zero-inflated with a gene-specific dropout,
    the same in every batch. Optional ERCC-like spike-ins are Poisson (``s_c`` times a fixed
    concentration, so they carry the batches' depth but nothing else). Cells without counts
    are dropped.

    Parameters
    ----------
    n_cells, n_genes
        Size of the data before empty cells are dropped (``n_genes`` excludes spike-ins).
    n_types
        Number of cell types.
    n_batches
        Number of batches (1 gives a single batch without batch effects).
    zi_share
        Share of the genes made zero-inflated.
    dropout
        Dropout probability of ZI genes: one value, or a (low, high) range drawn uniformly.
    mean_range
        Range of the genes' base mean counts per cell (at size factor 1).
    depth_ratio
        Mean size factor of the last batch over that of batch 0 (must be positive).
    shift_share
        Share of the genes shifted in each non-reference batch.
    shift_range
        Range of the absolute log-fold change (natural log) of shifted genes.
    dispersion_sd
        Log-scale sd of the per-batch factor on each gene's inverse dispersion (0: shared).
    n_spike_ins
        Number of Poisson spike-in genes appended (``var["spike_in"]`` marks them).
    keep_means
        Also store the true expected count of each cell and gene before zero inflation in
        ``layers["mean_true"]`` (dense float32).
    seed
        Seed of the random generator.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]`` (float32 CSR, whole numbers);
        ``obs["cell_type"]``, ``obs["batch"]``, ``obs["size_factor"]``; truth in ``var``:
        ``zi_true``, ``dropout``, ``mean_true``, ``theta`` (batch 0), ``batch_shifted`` (shifted
        in some batch), ``lfc_batch{b}`` and ``theta_batch{b}`` per batch, ``spike_in``.
    """
    check_share("zi_share", zi_share)
    check_share("shift_share", shift_share)
    if n_batches < 1 or n_types < 1:
        raise ValueError(f"n_batches and n_types must be at least 1, got {n_batches} and {n_types}.")
    if depth_ratio <= 0:
        raise ValueError(f"depth_ratio must be positive, got {depth_ratio}.")
    dropout_range(dropout)  # a bad dropout is refused before anything is drawn
    rng = np.random.default_rng(seed)
    batch = rng.integers(n_batches, size=n_cells)
    composition = rng.dirichlet(np.full(n_types, 5.0), size=n_batches)
    cell_type = np.empty(n_cells, dtype=int)
    for b in range(n_batches):
        in_batch = batch == b
        cell_type[in_batch] = rng.choice(n_types, size=int(in_batch.sum()), p=composition[b])
    # Size factors: the batch's own log-normal (mean depth[b], log-scale sd depth_sd[b]).
    depth = depth_ratio ** (np.arange(n_batches) / max(n_batches - 1, 1))
    depth_sd = rng.uniform(0.25, 0.55, size=n_batches)
    size_factor = rng.lognormal(np.log(depth[batch]) - depth_sd[batch] ** 2 / 2, depth_sd[batch])

    genes = draw_genes(n_genes, mean_range, rng, n_types=n_types)
    lfc = np.zeros((n_batches, n_genes))
    batch_theta = np.tile(genes.theta, (n_batches, 1))
    for b in range(1, n_batches):
        shifted = choose_genes(n_genes, shift_share, rng)
        size = rng.uniform(*shift_range, size=n_genes) * rng.choice([-1.0, 1.0], size=n_genes)
        lfc[b] = np.where(shifted, size, 0.0)
        batch_theta[b] *= rng.lognormal(0.0, dispersion_sd, size=n_genes)
    mean = size_factor[:, None] * genes.base[None, :] * genes.fold[cell_type] * np.exp(lfc[batch])
    counts = np.empty((n_cells, n_genes), dtype=np.int64)
    for b in range(n_batches):
        in_batch = batch == b
        counts[in_batch] = nb_counts(mean[in_batch], batch_theta[b], rng)
    zi = ZeroInflation.draw(n_genes, zi_share, dropout, rng)
    counts = zi.apply(counts, rng)
    spikes = SpikeIns.draw(size_factor, n_spike_ins, rng)

    gene_truth = {"batch_shifted": ((lfc != 0).any(axis=0), False)}
    for b in range(n_batches):
        gene_truth[f"lfc_batch{b}"] = (lfc[b], 0.0)
        gene_truth[f"theta_batch{b}"] = (batch_theta[b], np.inf)
    batch_names = [f"batch{b}" for b in range(n_batches)]
    obs_extra = {
        "batch": pd.Categorical.from_codes(batch, categories=batch_names),
        "size_factor": size_factor,
    }
    return simulated_anndata(
        counts,
        mean,
        cell_type,
        zi,
        theta=genes.theta,
        gene_truth=gene_truth,
        spikes=spikes,
        obs_extra=obs_extra,
        labels=[f"type{k}" for k in range(n_types)],
        keep_means=keep_means,
    )
