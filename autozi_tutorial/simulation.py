"""Count data with known zero inflation, for measuring how well ZI calls recover the truth.

Every simulator returns an AnnData of integer counts with the truth in ``var``:
``zi_true`` (bool), ``dropout`` (probability that an entry is zeroed, 0 for non-ZI genes)
and ``mean_true`` (mean count per cell before zero inflation), and the cell type in
``obs["cell_type"]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData


@dataclass(frozen=True)
class PLNParameters:
    """Latent log-expression means and covariances of the AutoZI paper's two cell types."""

    means: tuple[np.ndarray, np.ndarray]
    covariances: tuple[np.ndarray, np.ndarray]

    def __post_init__(self) -> None:
        n_genes = self.means[0].shape[0]
        for mean, cov in zip(self.means, self.covariances, strict=True):
            if mean.shape != (n_genes,) or cov.shape != (n_genes, n_genes):
                raise ValueError("Each mean must be (genes,) and each covariance (genes, genes).")


def load_pln_parameters(directory: str | os.PathLike) -> PLNParameters:
    """Read ``mu_0.npy``, ``mu_2.npy``, ``sigma_0.npy`` and ``sigma_2.npy`` from ``directory``.

    The AutoZI paper names its two cell types 0 and 2; here they become types 0 and 1.
    """
    directory = Path(directory)
    names = ["mu_0.npy", "mu_2.npy", "sigma_0.npy", "sigma_2.npy"]
    missing = [name for name in names if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{directory} lacks {missing}: point to the folder holding the PLN parameters."
        )
    mu_0, mu_1, sigma_0, sigma_1 = (np.load(directory / name) for name in names)
    return PLNParameters(means=(mu_0, mu_1), covariances=(sigma_0, sigma_1))


def _zero_inflate(counts: np.ndarray, dropout: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Set each entry of gene g to 0 with probability ``dropout[g]``, independently of its value."""
    keep = rng.random(counts.shape) >= dropout[None, :]
    return counts * keep


def _as_anndata(
    counts: np.ndarray, cell_type: np.ndarray, var: pd.DataFrame, obs_extra: dict | None = None
) -> AnnData:
    """Package counts and truth, dropping cells without counts (as real pipelines do)."""
    has_counts = counts.sum(axis=1) > 0
    obs = pd.DataFrame(
        {"cell_type": pd.Categorical([f"type{k}" for k in cell_type])},
        index=[f"cell{i}" for i in range(len(counts))],
    )
    for key, values in (obs_extra or {}).items():
        obs[key] = values
    adata = AnnData(X=sp.csr_matrix(counts.astype(np.float32)), obs=obs, var=var)
    adata = adata[has_counts].copy()
    adata.layers["counts"] = adata.X.copy()
    return adata


def simulate_pln(
    parameters: PLNParameters,
    zi_share: float = 0.5,
    dropout: float = 0.1,
    n_cells: int = 12_000,
    type1_probability: float = 0.7,
    seed: int = 0,
) -> AnnData:
    """The AutoZI paper's Poisson-log-normal design.

    Each cell is of type 1 with probability ``type1_probability`` (else type 0); its latent
    log-expression is multivariate normal with that type's mean and covariance, and its
    counts are Poisson with rate exp(latent). For a randomly chosen share ``zi_share`` of the
    genes, each entry is then set to 0 with probability ``dropout``. Cells without counts are
    dropped. Non-ZI genes are Poisson-log-normal here, not negative binomial.

    Parameters
    ----------
    parameters
        Output of :func:`load_pln_parameters`.
    zi_share
        Fraction of genes made zero-inflated (rounded to whole genes).
    dropout
        Probability that an entry of a ZI gene is zeroed.
    n_cells
        Cells drawn before empty ones are dropped.
    type1_probability
        Probability that a cell is of type 1.
    seed
        Seed of the random generator.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]``; truth in ``var``.
    """
    if not 0.0 <= zi_share <= 1.0:
        raise ValueError(f"zi_share must be in [0, 1], got {zi_share}.")
    rng = np.random.default_rng(seed)
    n_genes = parameters.means[0].shape[0]
    cell_type = (rng.random(n_cells) < type1_probability).astype(int)
    latent = np.empty((n_cells, n_genes))
    for k in (0, 1):
        in_type = cell_type == k
        latent[in_type] = rng.multivariate_normal(
            parameters.means[k], parameters.covariances[k], size=int(in_type.sum())
        )
    rates = np.exp(latent)
    counts = rng.poisson(rates)
    zi_true = np.zeros(n_genes, dtype=bool)
    zi_true[rng.choice(n_genes, size=round(zi_share * n_genes), replace=False)] = True
    gene_dropout = np.where(zi_true, dropout, 0.0)
    counts = _zero_inflate(counts, gene_dropout, rng)
    var = pd.DataFrame(
        {"zi_true": zi_true, "dropout": gene_dropout, "mean_true": rates.mean(axis=0)},
        index=[f"gene{g}" for g in range(n_genes)],
    )
    return _as_anndata(counts, cell_type, var)


def _spike_ins(
    size_factor: np.ndarray, n_spike_ins: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """ERCC-like spike-ins: Poisson sampling of a fixed concentration scaled by each cell's size."""
    concentration = np.exp(rng.uniform(np.log(0.1), np.log(50.0), size=n_spike_ins))
    spike_mean = size_factor[:, None] * concentration[None, :]
    return rng.poisson(spike_mean), spike_mean


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
    seed
        Seed of the random generator.

    Returns
    -------
    AnnData
        Counts in ``X`` and ``layers["counts"]``; ``obs["cell_type"]``, ``obs["size_factor"]``;
        truth in ``var`` (``zi_true``, ``dropout``, ``mean_true``, ``theta``, ``spike_in``).
    """
    if not 0.0 <= zi_share <= 1.0:
        raise ValueError(f"zi_share must be in [0, 1], got {zi_share}.")
    rng = np.random.default_rng(seed)
    low, high = (dropout, dropout) if np.isscalar(dropout) else dropout
    cell_type = rng.integers(n_cell_types, size=n_cells)
    size_factor = rng.lognormal(mean=-0.08, sigma=0.4, size=n_cells)
    base = np.exp(rng.uniform(np.log(mean_range[0]), np.log(mean_range[1]), size=n_genes))
    fold = rng.lognormal(0.0, 0.5, size=(n_cell_types, n_genes))
    theta = rng.lognormal(np.log(3.0), 0.5, size=n_genes)
    # Batches draw from their own stream: with one batch, the data is what it was before batches existed.
    batch_rng = np.random.default_rng([seed, 1])
    batch = batch_rng.integers(n_batches, size=n_cells)
    batch_effect = (
        batch_rng.lognormal(0.0, 0.2, size=(n_batches, n_genes)) if n_batches > 1 else np.ones((1, n_genes))
    )
    mean = size_factor[:, None] * base[None, :] * fold[cell_type] * batch_effect[batch]
    # Its own stream too, so that data without per-type dispersion is unchanged.
    type_theta = theta[None, :] * np.random.default_rng([seed, 2]).lognormal(
        0.0, dispersion_sd_by_type, size=(n_cell_types, n_genes)
    )
    cell_theta = type_theta[cell_type]
    counts = rng.negative_binomial(cell_theta, cell_theta / (cell_theta + mean))
    zi_true = np.zeros(n_genes, dtype=bool)
    zi_true[rng.choice(n_genes, size=round(zi_share * n_genes), replace=False)] = True
    gene_dropout = np.where(zi_true, rng.uniform(low, high, size=n_genes), 0.0)
    counts = _zero_inflate(counts, gene_dropout, rng)

    spikes, spike_mean = _spike_ins(size_factor, n_spike_ins, rng)
    var = pd.DataFrame(
        {
            "zi_true": np.concatenate([zi_true, np.zeros(n_spike_ins, dtype=bool)]),
            "dropout": np.concatenate([gene_dropout, np.zeros(n_spike_ins)]),
            "mean_true": np.concatenate([mean.mean(axis=0), spike_mean.mean(axis=0)]),
            "theta": np.concatenate([theta, np.full(n_spike_ins, np.inf)]),
            "spike_in": np.arange(n_genes + n_spike_ins) >= n_genes,
        },
        index=[f"gene{g}" for g in range(n_genes)] + [f"ERCC-{i:05d}" for i in range(n_spike_ins)],
    )
    obs_extra = {"size_factor": size_factor, "batch": pd.Categorical([f"batch{b}" for b in batch])}
    return _as_anndata(np.hstack([counts, spikes]), cell_type, var, obs_extra)


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
    for name, share in (("zi_share", zi_share), ("marker_share", marker_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {share}.")
    if n_substates < 1:
        raise ValueError(f"n_substates must be at least 1, got {n_substates}.")
    rng = np.random.default_rng(seed)
    low, high = (dropout, dropout) if np.isscalar(dropout) else dropout
    cell_type = rng.integers(n_cell_types, size=n_cells)
    proportions = rng.dirichlet(np.full(n_substates, 3.0), size=n_cell_types)
    substate = np.array([rng.choice(n_substates, p=proportions[k]) for k in cell_type])
    size_factor = rng.lognormal(mean=-0.08, sigma=0.4, size=n_cells)
    base = np.exp(rng.uniform(np.log(mean_range[0]), np.log(mean_range[1]), size=n_genes))
    fold = rng.lognormal(0.0, 0.5, size=(n_cell_types, n_genes))
    theta = rng.lognormal(np.log(3.0), 0.5, size=n_genes)
    # Each marker gene is switched off in one hidden sub-state (not the first) of one or more types.
    marker = np.zeros(n_genes, dtype=bool)
    marker[rng.choice(n_genes, size=round(marker_share * n_genes), replace=False)] = True
    switched_off = np.zeros((n_cell_types, n_substates, n_genes), dtype=bool)
    if n_substates > 1:
        for gene in np.flatnonzero(marker):
            types = rng.random(n_cell_types) < 0.6
            types[rng.integers(n_cell_types)] = True
            for k in np.flatnonzero(types):
                switched_off[k, rng.integers(1, n_substates), gene] = True
    on = ~switched_off[cell_type, substate]
    mean = size_factor[:, None] * base[None, :] * fold[cell_type] * on
    counts = rng.negative_binomial(theta[None, :], theta[None, :] / (theta[None, :] + mean))
    zi_true = np.zeros(n_genes, dtype=bool)
    zi_true[rng.choice(n_genes, size=round(zi_share * n_genes), replace=False)] = True
    gene_dropout = np.where(zi_true, rng.uniform(low, high, size=n_genes), 0.0)
    counts = _zero_inflate(counts, gene_dropout, rng)
    spikes, spike_mean = _spike_ins(size_factor, n_spike_ins, rng)
    var = pd.DataFrame(
        {
            "zi_true": np.concatenate([zi_true, np.zeros(n_spike_ins, dtype=bool)]),
            "dropout": np.concatenate([gene_dropout, np.zeros(n_spike_ins)]),
            "mean_true": np.concatenate([mean.mean(axis=0), spike_mean.mean(axis=0)]),
            "theta": np.concatenate([theta, np.full(n_spike_ins, np.inf)]),
            "marker": np.concatenate([marker, np.zeros(n_spike_ins, dtype=bool)]),
            "spike_in": np.arange(n_genes + n_spike_ins) >= n_genes,
        },
        index=[f"gene{g}" for g in range(n_genes)] + [f"ERCC-{i:05d}" for i in range(n_spike_ins)],
    )
    hidden = pd.Categorical([f"type{k}.{s}" for k, s in zip(cell_type, substate, strict=True)])
    obs_extra = {"size_factor": size_factor, "hidden_state": hidden}
    return _as_anndata(np.hstack([counts, spikes]), cell_type, var, obs_extra)


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
    if not 0.0 <= zi_share <= 1.0:
        raise ValueError(f"zi_share must be in [0, 1], got {zi_share}.")
    rng = np.random.default_rng(seed)
    zi_true = np.zeros(n_genes, dtype=bool)
    zi_true[rng.choice(n_genes, size=round(zi_share * n_genes), replace=False)] = True
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
    target = np.exp(rng.uniform(np.log(mean_range[0]), np.log(mean_range[1]), n_genes))
    rate = target / ((k_on / (k_on + k_off)) * efficiency.mean())
    active = rng.beta(k_on[None, :], k_off[None, :], size=(n_cells, n_genes))
    cell_rate = rate[None, :] * np.exp(factors @ loadings - 0.5 * (loadings**2).sum(axis=0))
    molecules = rng.poisson(cell_rate * active)
    counts = rng.binomial(molecules, efficiency[:, None])
    var = pd.DataFrame(
        {
            "zi_true": zi_true,
            "dropout": np.zeros(n_genes),
            "mean_true": (cell_rate * active * efficiency[:, None]).mean(axis=0),
            "k_on": k_on,
            "k_off": k_off,
            "spike_in": np.zeros(n_genes, dtype=bool),
        },
        index=[f"gene{g}" for g in range(n_genes)],
    )
    return _as_anndata(counts, np.zeros(n_cells, dtype=int), var, {"efficiency": efficiency})
