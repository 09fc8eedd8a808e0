"""Transcriptional bursting with technical noise: zero inflation that is biology, not dropout."""

from __future__ import annotations

import numpy as np
from anndata import AnnData

from ._common import SpikeIns, ZeroInflation, check_share, choose_genes, log_uniform, simulated_anndata


def simulate_bursty(
    n_cells: int = 3_000,
    n_genes: int = 500,
    zi_share: float = 0.5,
    mean_range: tuple[float, float] = (0.05, 20.0),
    n_latent_factors: int = 2,
    seed: int = 0,
) -> AnnData:
    """Transcriptional bursting with technical noise, in the spirit of the AutoZI paper's SymSim sets.

    One population, no labels. Each cell has a few continuous latent factors that scale every
    gene's transcription rate a little (cell-to-cell variation shared across genes). A gene's
    molecules in a cell follow a Beta-Poisson (two-state on/off) model: the active fraction
    ``p ~ Beta(k_on, k_off)``, molecules ~ Poisson(rate * p). Zero-inflated genes are
    *bursty*: ``k_on`` and ``k_off`` below 1, so the gene is fully off in many cells and on in
    others; non-ZI genes are unimodal (``k_on, k_off`` between 3 and 10). Molecules then pass
    through per-cell technical noise: capture (each molecule kept with the cell's efficiency,
    log-normal around 0.1) and amplification and sequencing (each captured molecule seen with
    a per-cell probability, the chance that at least one of its PCR copies is sequenced, from
    12 cycles of per-molecule efficiency ~ Beta(8, 2) and the cell's sequencing depth). So
    non-ZI counts are mixtures of thinned Beta-Poisson variables, not negative binomial.

    Parameters
    ----------
    n_cells, n_genes
        Size of the data.
    zi_share
        Share of the genes that are bursty (ZI).
    mean_range
        Range of the genes' mean counts per cell after technical noise (log-uniform).
    n_latent_factors
        Continuous cell-level factors shared across genes.
    seed
        Seed of the random generator.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]``; truth in ``var`` (``zi_true``, ``k_on``,
        ``k_off``, ``mean_true``, ``dropout`` = 0, ``spike_in`` = False).
    """
    check_share("zi_share", zi_share)
    rng = np.random.default_rng(seed)
    zi_true = choose_genes(n_genes, zi_share, rng)
    k_on = np.where(zi_true, rng.uniform(0.1, 0.5, n_genes), rng.uniform(3.0, 10.0, n_genes))
    k_off = np.where(zi_true, rng.uniform(0.3, 1.0, n_genes), rng.uniform(3.0, 10.0, n_genes))
    factors = rng.normal(size=(n_cells, n_latent_factors))
    loadings = rng.normal(0.0, 0.3, size=(n_latent_factors, n_genes))
    capture = np.clip(rng.lognormal(np.log(0.1), 0.4, n_cells), 0.0, 1.0)
    # P(a captured molecule is sequenced at least once), averaged over its amplification.
    copies = 2.0 ** rng.binomial(12, rng.beta(8.0, 2.0, size=(n_cells, 64)))
    depth = rng.lognormal(np.log(2e-4), 0.5, n_cells)
    detection = (1.0 - (1.0 - depth[:, None]) ** copies).mean(axis=1)
    efficiency = capture * detection
    target = log_uniform(mean_range, n_genes, rng)
    rate = target / ((k_on / (k_on + k_off)) * efficiency.mean())
    active = rng.beta(k_on[None, :], k_off[None, :], size=(n_cells, n_genes))
    cell_rate = rate[None, :] * np.exp(factors @ loadings - 0.5 * (loadings**2).sum(axis=0))
    molecules = rng.poisson(cell_rate * active)
    counts = rng.binomial(molecules, efficiency[:, None])
    # The zeros of bursty genes are biology: the truth marks them, with no dropout.
    return simulated_anndata(
        counts,
        cell_rate * active * efficiency[:, None],
        np.zeros(n_cells, dtype=int),
        ZeroInflation(zi_true, np.zeros(n_genes)),
        gene_truth={"k_on": (k_on, np.nan), "k_off": (k_off, np.nan)},
        spikes=SpikeIns.none(n_cells),
        obs_extra={"efficiency": efficiency},
    )
