"""Negative-binomial designs with annotated cell types: plain (with optional batches and per-type
dispersions) and with hidden sub-states that switch marker genes off together."""

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
    size_factors,
)


def simulate_nb(
    n_cells: int = 3_000,
    n_genes: int = 500,
    n_cell_types: int = 3,
    zi_share: float = 0.5,
    dropout: float | tuple[float, float] = (0.1, 0.4),
    mean_range: tuple[float, float] = (0.05, 20.0),
    n_spike_ins: int = 0,
    n_batches: int = 1,
    dispersion_sd_by_type: float = 0.0,
    keep_means: bool = False,
    seed: int = 0,
) -> AnnData:
    """Negative-binomial counts with library sizes, cell types and zero-inflated genes.

    Gene g's mean in cell type k is ``m_g * f_gk``: ``m_g`` log-uniform over ``mean_range``
    (so expression spans low to high) and ``f_gk`` a log-normal fold change (sd 0.5). Cell c's
    counts are NB with mean ``s_c * m_g * f_gk`` and a per-gene inverse dispersion drawn
    log-normally around 3; ``s_c`` is a log-normal size factor (sd 0.4, mean 1). A share
    ``zi_share`` of the genes is zero-inflated: each entry zeroed with the gene's ``dropout``.
    Optional ERCC-like spike-ins are pure Poisson sampling noise (``s_c`` times a fixed
    concentration), the textbook case of *no* zero inflation. With ``n_batches > 1`` each cell
    gets a batch (``obs["batch"]``) that scales every gene's mean by a batch-specific
    log-normal factor (sd 0.2). With ``dispersion_sd_by_type > 0`` the inverse dispersion
    also differs between cell types, by a log-normal factor of that sd per gene and type.

    Parameters
    ----------
    n_cells, n_genes, n_cell_types
        Size of the data (``n_genes`` excludes spike-ins).
    zi_share
        Fraction of the (non-spike-in) genes made zero-inflated.
    dropout
        Dropout probability of ZI genes: one value, or a (low, high) range drawn uniformly.
    mean_range
        Range of the genes' mean counts per cell.
    n_spike_ins
        Number of Poisson spike-in genes appended (``var["spike_in"]`` marks them).
    n_batches
        Number of batches.
    dispersion_sd_by_type
        Log-scale sd of the per-type change of each gene's inverse dispersion (0: one per gene).
    keep_means
        Also store the true expected count of each cell and gene before zero inflation in
        ``layers["mean_true"]`` (dense float32).
    seed
        Seed of the random generator.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]``; ``obs["cell_type"]``, ``obs["size_factor"]``;
        truth in ``var`` (``zi_true``, ``dropout``, ``mean_true``, ``theta``, ``spike_in``).
    """
    check_share("zi_share", zi_share)
    dropout_range(dropout)  # a bad dropout is refused before anything is drawn
    rng = np.random.default_rng(seed)
    cell_type = rng.integers(n_cell_types, size=n_cells)
    size_factor = size_factors(n_cells, rng)
    genes = draw_genes(n_genes, mean_range, rng, n_types=n_cell_types)
    # Batches draw from their own stream: with one batch, the data is what it was before batches existed.
    batch_rng = np.random.default_rng([seed, 1])
    batch = batch_rng.integers(n_batches, size=n_cells)
    batch_effect = (
        batch_rng.lognormal(0.0, 0.2, size=(n_batches, n_genes)) if n_batches > 1 else np.ones((1, n_genes))
    )
    mean = size_factor[:, None] * genes.base[None, :] * genes.fold[cell_type] * batch_effect[batch]
    # Its own stream too, so that data without per-type dispersion is unchanged.
    type_theta = genes.theta[None, :] * np.random.default_rng([seed, 2]).lognormal(
        0.0, dispersion_sd_by_type, size=(n_cell_types, n_genes)
    )
    counts = nb_counts(mean, type_theta[cell_type], rng)
    zi = ZeroInflation.draw(n_genes, zi_share, dropout, rng)
    counts = zi.apply(counts, rng)
    spikes = SpikeIns.draw(size_factor, n_spike_ins, rng)
    obs_extra = {"size_factor": size_factor, "batch": pd.Categorical([f"batch{b}" for b in batch])}
    return simulated_anndata(
        counts,
        mean,
        cell_type,
        zi,
        theta=genes.theta,
        spikes=spikes,
        obs_extra=obs_extra,
        keep_means=keep_means,
    )


def simulate_hidden_states(
    n_cells: int = 3_000,
    n_genes: int = 500,
    n_cell_types: int = 3,
    n_substates: int = 3,
    marker_share: float = 0.3,
    zi_share: float = 0.3,
    dropout: float | tuple[float, float] = (0.1, 0.4),
    mean_range: tuple[float, float] = (0.05, 20.0),
    n_spike_ins: int = 0,
    seed: int = 0,
) -> AnnData:
    """NB counts whose annotated cell types hide sub-states that switch marker genes off together.

    Each annotated type (``obs["cell_type"]``) splits into ``n_substates`` hidden sub-states
    (``obs["hidden_state"]``, for evaluation only) with random proportions. Every sub-state but
    the first of each type switches off its own set of marker genes: their mean is 0 in those
    cells. A share ``marker_share`` of the genes are such markers. These zeros come from cell
    states, shared across genes, and are **not** zero inflation. Independently, a share
    ``zi_share`` of the genes is zero-inflated (each entry zeroed with the gene's dropout).
    Means, dispersions and size factors follow :func:`simulate_nb`.

    Parameters
    ----------
    n_cells, n_genes, n_cell_types
        Size of the data (``n_genes`` excludes spike-ins).
    n_substates
        Hidden sub-states per annotated type.
    marker_share
        Share of genes switched off in at least one hidden sub-state.
    zi_share
        Share of genes made zero-inflated.
    dropout
        Dropout probability of ZI genes: one value, or a (low, high) range drawn uniformly.
    mean_range
        Range of the genes' mean counts per cell.
    n_spike_ins
        Number of Poisson spike-ins appended.
    seed
        Seed of the random generator.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]``; ``obs["cell_type"]``, ``obs["hidden_state"]``;
        truth in ``var`` (``zi_true``, ``dropout``, ``mean_true``, ``theta``, ``marker``,
        ``spike_in``).
    """
    check_share("zi_share", zi_share)
    check_share("marker_share", marker_share)
    if n_substates < 1:
        raise ValueError(f"n_substates must be at least 1, got {n_substates}.")
    dropout_range(dropout)  # a bad dropout is refused before anything is drawn
    rng = np.random.default_rng(seed)
    cell_type = rng.integers(n_cell_types, size=n_cells)
    proportions = rng.dirichlet(np.full(n_substates, 3.0), size=n_cell_types)
    substate = np.array([rng.choice(n_substates, p=proportions[k]) for k in cell_type])
    size_factor = size_factors(n_cells, rng)
    genes = draw_genes(n_genes, mean_range, rng, n_types=n_cell_types)
    # Each marker gene is switched off in one hidden sub-state (not the first) of one or more types.
    marker = choose_genes(n_genes, marker_share, rng)
    switched_off = np.zeros((n_cell_types, n_substates, n_genes), dtype=bool)
    if n_substates > 1:
        for gene in np.flatnonzero(marker):
            types = rng.random(n_cell_types) < 0.6
            types[rng.integers(n_cell_types)] = True
            for k in np.flatnonzero(types):
                switched_off[k, rng.integers(1, n_substates), gene] = True
    on = ~switched_off[cell_type, substate]
    mean = size_factor[:, None] * genes.base[None, :] * genes.fold[cell_type] * on
    counts = nb_counts(mean, genes.theta, rng)
    zi = ZeroInflation.draw(n_genes, zi_share, dropout, rng)
    counts = zi.apply(counts, rng)
    spikes = SpikeIns.draw(size_factor, n_spike_ins, rng)
    hidden = pd.Categorical([f"type{k}.{s}" for k, s in zip(cell_type, substate, strict=True)])
    return simulated_anndata(
        counts,
        mean,
        cell_type,
        zi,
        theta=genes.theta,
        gene_truth={"marker": (marker, False)},
        spikes=spikes,
        obs_extra={"size_factor": size_factor, "hidden_state": hidden},
    )
