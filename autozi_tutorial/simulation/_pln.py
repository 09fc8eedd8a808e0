"""The AutoZI paper's Poisson-log-normal design, from its published parameters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from anndata import AnnData

from ._common import ZeroInflation, check_share, simulated_anndata


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
    check_share("zi_share", zi_share)
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
    zi = ZeroInflation.fixed(n_genes, zi_share, dropout, rng)
    return simulated_anndata(zi.apply(counts, rng), rates, cell_type, zi)
