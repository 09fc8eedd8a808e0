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


def simulate_nb(
    n_cells: int = 3_000,
    n_genes: int = 500,
    n_cell_types: int = 3,
    zi_share: float = 0.5,
    dropout: float | tuple[float, float] = (0.1, 0.4),
    mean_range: tuple[float, float] = (0.05, 20.0),
    n_spike_ins: int = 0,
    n_batches: int = 1,
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
    log-normal factor (sd 0.2).

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
    counts = rng.negative_binomial(theta[None, :], theta[None, :] / (theta[None, :] + mean))
    zi_true = np.zeros(n_genes, dtype=bool)
    zi_true[rng.choice(n_genes, size=round(zi_share * n_genes), replace=False)] = True
    gene_dropout = np.where(zi_true, rng.uniform(low, high, size=n_genes), 0.0)
    counts = _zero_inflate(counts, gene_dropout, rng)

    concentration = np.exp(rng.uniform(np.log(0.1), np.log(50.0), size=n_spike_ins))
    spike_mean = size_factor[:, None] * concentration[None, :]
    spikes = rng.poisson(spike_mean)
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
