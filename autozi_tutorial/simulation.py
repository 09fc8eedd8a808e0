"""Count data with known zero inflation, for measuring how well ZI calls recover the truth.

Every simulator returns an AnnData of integer counts with the truth in ``var``:
``zi_true`` (bool), ``dropout`` (probability that an entry is zeroed, 0 for non-ZI genes)
and ``mean_true`` (mean count per cell before zero inflation), and the cell type in
``obs["cell_type"]``. Designs: Poisson-log-normal (:func:`simulate_pln`), negative binomial
with types and batches (:func:`simulate_nb`), hidden sub-states (:func:`simulate_hidden_states`),
transcriptional bursting (:func:`simulate_bursty`), a continuous trajectory
(:func:`simulate_trajectory`) and batches with depth, gene and dispersion effects
(:func:`simulate_batches`). :func:`inject_zeros` adds known zero inflation to any data (real
data included), the positive control for ZI calls.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy.special import expit


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
    counts: np.ndarray,
    cell_type: np.ndarray,
    var: pd.DataFrame,
    obs_extra: dict | None = None,
    *,
    labels: Sequence[str] | None = None,
    layers: dict[str, np.ndarray] | None = None,
) -> AnnData:
    """Package counts and truth, dropping cells without counts (as real pipelines do).

    ``cell_type`` holds integer codes, named ``type{k}`` or ``labels[k]`` (in that order as
    categories); ``layers`` are extra cells x genes arrays subset along with the cells.
    """
    has_counts = counts.sum(axis=1) > 0
    if labels is None:
        cell_labels = pd.Categorical([f"type{k}" for k in cell_type])
    else:
        cell_labels = pd.Categorical.from_codes(np.asarray(cell_type), categories=list(labels))
    obs = pd.DataFrame({"cell_type": cell_labels}, index=[f"cell{i}" for i in range(len(counts))])
    for key, values in (obs_extra or {}).items():
        obs[key] = values
    adata = AnnData(X=sp.csr_matrix(counts.astype(np.float32)), obs=obs, var=var)
    for key, values in (layers or {}).items():
        adata.layers[key] = values
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
    layers = {"mean_true": np.hstack([mean, spike_mean]).astype(np.float32)} if keep_means else None
    return _as_anndata(np.hstack([counts, spikes]), cell_type, var, obs_extra, layers=layers)


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


def _check_share(name: str, share: float) -> None:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {share}.")


def _choose_genes(n_genes: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask over genes marking ``round(share * n_genes)`` of them, chosen at random."""
    chosen = np.zeros(n_genes, dtype=bool)
    chosen[rng.choice(n_genes, size=round(share * n_genes), replace=False)] = True
    return chosen


def _zi_dropout(
    n_genes: int, zi_share: float, dropout: float | tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pick the ZI genes and their dropout probability (0 for the others)."""
    low, high = (dropout, dropout) if np.isscalar(dropout) else dropout
    if not 0.0 <= low <= high < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1) or a (low, high) range, got {dropout}.")
    zi_true = _choose_genes(n_genes, zi_share, rng)
    return zi_true, np.where(zi_true, rng.uniform(low, high, size=n_genes), 0.0)


def _nb(mean: np.ndarray, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Negative-binomial counts with the given means and inverse dispersions (broadcast over cells)."""
    return rng.negative_binomial(theta, theta / (theta + mean))


def _gene_names(n_genes: int, n_spike_ins: int) -> list[str]:
    return [f"gene{g}" for g in range(n_genes)] + [f"ERCC-{i:05d}" for i in range(n_spike_ins)]


def _pad(values: np.ndarray, n_spike_ins: int, fill: object) -> np.ndarray:
    """Gene truth followed by ``fill`` for each spike-in."""
    return np.concatenate([values, np.full(n_spike_ins, fill, dtype=np.asarray(values).dtype)])


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
    _check_share("switching_share", switching_share)
    _check_share("zi_share", zi_share)
    if n_stages < 1:
        raise ValueError(f"n_stages must be at least 1, got {n_stages}.")
    rng = np.random.default_rng(seed)
    pseudotime = rng.random(n_cells)
    cuts = np.quantile(pseudotime, np.arange(1, n_stages) / n_stages)
    stage = np.searchsorted(cuts, pseudotime, side="right")
    size_factor = rng.lognormal(mean=-0.08, sigma=0.4, size=n_cells)
    peak = np.exp(rng.uniform(np.log(mean_range[0]), np.log(mean_range[1]), size=n_genes))
    theta = rng.lognormal(np.log(3.0), 0.5, size=n_genes)

    switching = _choose_genes(n_genes, switching_share, rng)
    direction = np.where(switching, rng.choice([-1, 1], size=n_genes), 0)
    midpoint = np.where(switching, rng.uniform(0.2, 0.8, size=n_genes), np.nan)
    steepness = np.where(switching, rng.uniform(*steepness_range, size=n_genes), np.nan)
    floor = np.where(switching, np.exp(rng.uniform(np.log(0.01), np.log(0.2), size=n_genes)), 1.0)
    profile = np.ones((n_cells, n_genes))
    sw = np.flatnonzero(switching)
    on = expit(direction[sw] * steepness[sw] * (pseudotime[:, None] - midpoint[sw]))
    profile[:, sw] = floor[sw] + (1.0 - floor[sw]) * on
    mean = size_factor[:, None] * peak[None, :] * profile
    counts = _nb(mean, theta, rng)
    zi_true, gene_dropout = _zi_dropout(n_genes, zi_share, dropout, rng)
    counts = _zero_inflate(counts, gene_dropout, rng)

    spikes, spike_mean = _spike_ins(size_factor, n_spike_ins, rng)
    n = n_spike_ins
    var = pd.DataFrame(
        {
            "zi_true": _pad(zi_true, n, False),
            "dropout": _pad(gene_dropout, n, 0.0),
            "mean_true": np.concatenate([mean.mean(axis=0), spike_mean.mean(axis=0)]),
            "theta": _pad(theta, n, np.inf),
            "switching": _pad(switching, n, False),
            "direction": _pad(direction, n, 0),
            "midpoint": _pad(midpoint, n, np.nan),
            "steepness": _pad(steepness, n, np.nan),
            "floor": _pad(floor, n, 1.0),
            "peak_mean": _pad(peak, n, np.nan),
            "spike_in": np.arange(n_genes + n) >= n_genes,
        },
        index=_gene_names(n_genes, n),
    )
    obs_extra = {"pseudotime": pseudotime, "size_factor": size_factor}
    layers = {"mean_true": np.hstack([mean, spike_mean]).astype(np.float32)} if keep_means else None
    labels = [f"stage {k + 1}" for k in range(n_stages)]
    return _as_anndata(np.hstack([counts, spikes]), stage, var, obs_extra, labels=labels, layers=layers)


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
    _check_share("zi_share", zi_share)
    _check_share("shift_share", shift_share)
    if n_batches < 1 or n_types < 1:
        raise ValueError(f"n_batches and n_types must be at least 1, got {n_batches} and {n_types}.")
    if depth_ratio <= 0:
        raise ValueError(f"depth_ratio must be positive, got {depth_ratio}.")
    rng = np.random.default_rng(seed)
    batch = rng.integers(n_batches, size=n_cells)
    composition = rng.dirichlet(np.full(n_types, 5.0), size=n_batches)
    cell_type = np.empty(n_cells, dtype=int)
    for b in range(n_batches):
        in_batch = batch == b
        cell_type[in_batch] = rng.choice(n_types, size=int(in_batch.sum()), p=composition[b])
    depth = depth_ratio ** (np.arange(n_batches) / max(n_batches - 1, 1))
    depth_sd = rng.uniform(0.25, 0.55, size=n_batches)
    size_factor = rng.lognormal(np.log(depth[batch]) - depth_sd[batch] ** 2 / 2, depth_sd[batch])

    base = np.exp(rng.uniform(np.log(mean_range[0]), np.log(mean_range[1]), size=n_genes))
    fold = rng.lognormal(0.0, 0.5, size=(n_types, n_genes))
    theta = rng.lognormal(np.log(3.0), 0.5, size=n_genes)
    lfc = np.zeros((n_batches, n_genes))
    batch_theta = np.tile(theta, (n_batches, 1))
    for b in range(1, n_batches):
        shifted = _choose_genes(n_genes, shift_share, rng)
        size = rng.uniform(*shift_range, size=n_genes) * rng.choice([-1.0, 1.0], size=n_genes)
        lfc[b] = np.where(shifted, size, 0.0)
        batch_theta[b] *= rng.lognormal(0.0, dispersion_sd, size=n_genes)
    mean = size_factor[:, None] * base[None, :] * fold[cell_type] * np.exp(lfc[batch])
    counts = np.empty((n_cells, n_genes), dtype=np.int64)
    for b in range(n_batches):
        in_batch = batch == b
        counts[in_batch] = _nb(mean[in_batch], batch_theta[b], rng)
    zi_true, gene_dropout = _zi_dropout(n_genes, zi_share, dropout, rng)
    counts = _zero_inflate(counts, gene_dropout, rng)

    spikes, spike_mean = _spike_ins(size_factor, n_spike_ins, rng)
    n = n_spike_ins
    columns = {
        "zi_true": _pad(zi_true, n, False),
        "dropout": _pad(gene_dropout, n, 0.0),
        "mean_true": np.concatenate([mean.mean(axis=0), spike_mean.mean(axis=0)]),
        "theta": _pad(theta, n, np.inf),
        "batch_shifted": _pad((lfc != 0).any(axis=0), n, False),
    }
    for b in range(n_batches):
        columns[f"lfc_batch{b}"] = _pad(lfc[b], n, 0.0)
        columns[f"theta_batch{b}"] = _pad(batch_theta[b], n, np.inf)
    columns["spike_in"] = np.arange(n_genes + n) >= n_genes
    var = pd.DataFrame(columns, index=_gene_names(n_genes, n))
    batch_names = [f"batch{b}" for b in range(n_batches)]
    obs_extra = {
        "batch": pd.Categorical.from_codes(batch, categories=batch_names),
        "size_factor": size_factor,
    }
    layers = {"mean_true": np.hstack([mean, spike_mean]).astype(np.float32)} if keep_means else None
    labels = [f"type{k}" for k in range(n_types)]
    return _as_anndata(np.hstack([counts, spikes]), cell_type, var, obs_extra, labels=labels, layers=layers)


def _gene_mask(adata: AnnData, genes: object) -> np.ndarray:
    """Turn gene names, a boolean mask over ``var`` or integer positions into a boolean mask."""
    if isinstance(genes, str):
        genes = [genes]
    values = np.asarray(genes.to_numpy() if isinstance(genes, pd.Series | pd.Index) else list(genes))
    n_vars = adata.n_vars
    if values.size == 0:
        raise ValueError("genes is empty: name at least one gene to inject zeros into.")
    if values.dtype == bool:
        if values.shape != (n_vars,):
            raise ValueError(f"A boolean mask over genes must have {n_vars} entries, got {values.shape}.")
        mask = values.copy()
    elif np.issubdtype(values.dtype, np.integer):
        outside = values[(values < 0) | (values >= n_vars)]
        if outside.size:
            raise ValueError(f"Gene positions {outside.tolist()} are outside 0..{n_vars - 1}.")
        mask = np.zeros(n_vars, dtype=bool)
        mask[values] = True
    else:
        names = [str(name) for name in values]
        known = set(adata.var_names)
        unknown = [name for name in dict.fromkeys(names) if name not in known]
        if unknown:
            shown = ", ".join(repr(name) for name in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise ValueError(f"{len(unknown)} gene(s) not in adata.var_names: {shown}{more}.")
        mask = adata.var_names.isin(names)
    if not mask.any():
        raise ValueError("genes selects no gene: name at least one gene to inject zeros into.")
    return mask


def inject_zeros(
    adata: AnnData,
    genes: Sequence[str] | Sequence[int] | np.ndarray | pd.Index | pd.Series | str,
    *,
    share: float = 0.3,
    layer: str | None = "counts",
    random_state: int | np.random.Generator | None = 0,
) -> AnnData:
    """A copy of ``adata`` in which chosen genes get extra zeros: a positive control for ZI calls.

    For each chosen gene, every entry (cell) is picked independently with probability
    ``share`` and set to 0, whatever its count: exactly the zero inflation that the ZINB
    model describes, with zero-inflation share ``share``. Entries that were already 0 stay 0,
    so the share of *non-zero* counts that become 0 is ``share`` in expectation. On real
    data, a sound ZI call must then flag these genes (and a gene's estimated extra zeros
    should rise by about ``share * (1 - extra zeros before)``).

    Only the matrix named by ``layer`` changes (``adata.X`` when ``layer`` is None). With
    ``layer="counts"`` ``X`` is left as it was, even if it held the same counts: pass
    ``layer=None`` to change ``X`` instead, and read the counts from that same matrix in the
    tool that follows. Dense and sparse matrices (any scipy format) are supported, keep their
    type and dtype, and give the same result for the same ``random_state``.

    Parameters
    ----------
    adata
        Cells x genes data; it is not modified.
    genes
        The genes to inject zeros into: names from ``adata.var_names``, integer positions, or a
        boolean mask over ``var``.
    share
        Probability, strictly between 0 and 1, that an entry of a chosen gene is zeroed.
    layer
        Layer holding the counts, or None for ``adata.X``.
    random_state
        Seed or generator for the choice of entries.

    Returns
    -------
    AnnData
        The modified copy, with ``var["zeros_injected"]`` True for the chosen genes (kept True
        for genes marked by an earlier call) and the settings in ``uns["inject_zeros"]``
        (``share``, ``layer``, ``n_genes``).

    Raises
    ------
    ValueError
        If ``share`` is not in (0, 1), the layer is missing, or ``genes`` names unknown genes,
        holds positions out of range, a mask of the wrong length, or no gene at all.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be strictly between 0 and 1, got {share}.")
    if layer is None:
        if adata.X is None:
            raise ValueError("adata.X is empty (None): name the layer holding the counts with layer=...")
    elif layer not in adata.layers:
        available = sorted(adata.layers.keys()) or ["<none>"]
        raise ValueError(
            f"Layer {layer!r} not found; available layers: {available}. Pass layer= one of these, "
            "or layer=None to inject zeros into adata.X."
        )
    mask = _gene_mask(adata, genes)
    rng = np.random.default_rng(random_state)
    out = adata.copy()
    matrix = out.X if layer is None else out.layers[layer]
    if sp.issparse(matrix):
        columns = matrix.tocsc(copy=True)
        for gene in np.flatnonzero(mask):
            zeroed = rng.random(out.n_obs) < share
            start, end = columns.indptr[gene], columns.indptr[gene + 1]
            block = columns.data[start:end]
            block[zeroed[columns.indices[start:end]]] = 0
        columns.eliminate_zeros()
        matrix = columns.asformat(matrix.format)
    else:
        matrix = np.array(matrix, copy=True)
        for gene in np.flatnonzero(mask):
            matrix[rng.random(out.n_obs) < share, gene] = 0
    if layer is None:
        out.X = matrix
    else:
        out.layers[layer] = matrix
    before = out.var["zeros_injected"].to_numpy(dtype=bool) if "zeros_injected" in out.var else False
    out.var["zeros_injected"] = mask | before
    out.uns["inject_zeros"] = {"share": float(share), "layer": layer or "X", "n_genes": int(mask.sum())}
    return out
