"""A classical baseline: per-gene likelihood-ratio test of NB against ZINB.

For each gene, two generalised linear models are fitted by maximum likelihood to the raw
counts: a negative binomial (NB) and a zero-inflated NB (ZINB) with one zero-inflation
probability pi per gene. Both use the cell's log library size as offset and, when labels
exist, one log-mean per cell type. The NB is the ZINB with pi = 0, a value on the boundary
of the parameter space, so under the null the likelihood-ratio statistic follows the mixture
0.5 chi2(0) + 0.5 chi2(1) (Self and Liang, 1987), not chi2(1). P-values are then adjusted
with Benjamini-Hochberg.

All genes are fitted at once, vectorised in torch: every gene takes its own Newton-type
steps, with derivatives written out by hand (see ``_fit``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from anndata import AnnData
from scipy.stats import chi2

from .validation import counts_matrix, validate_counts


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN.

    Parameters
    ----------
    pvalues
        P-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``min(1, min_{j >= i} p_(j) * m / j)`` mapped back to the input order.
    """
    pvalues = np.asarray(pvalues, dtype=np.float64)
    qvalues = np.full_like(pvalues, np.nan)
    finite = ~np.isnan(pvalues)
    p = pvalues[finite]
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty_like(p)
    result[order] = np.minimum(adjusted, 1.0)
    qvalues[finite] = result
    return qvalues


def boundary_lrt_pvalue(statistic: np.ndarray) -> np.ndarray:
    """P-value of a likelihood ratio under 0.5 chi2(0) + 0.5 chi2(1): 1 at 0, else 0.5 * sf."""
    statistic = np.clip(np.asarray(statistic, dtype=np.float64), 0.0, None)
    return np.where(statistic > 0, 0.5 * chi2.sf(statistic, df=1), 1.0)


def _nb_log_prob(y: torch.Tensor, mu: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """NB log-probability per entry, without the log(y!) term (identical in both models)."""
    log_theta_mu = torch.log(theta + mu)
    return (
        torch.lgamma(y + theta)
        - torch.lgamma(theta)
        + theta * (torch.log(theta) - log_theta_mu)
        + y * (torch.log(mu) - log_theta_mu)
    )


def _log_lik(y: torch.Tensor, mu: torch.Tensor, theta: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    """Per-gene ZINB log-likelihood (NB when pi = 0), summed over cells."""
    nb = _nb_log_prob(y, mu, theta)
    zero = torch.log(pi + (1.0 - pi) * torch.exp(nb))
    return torch.where(y == 0, zero, torch.log1p(-pi) + nb).sum(0)


def _fit(
    y: torch.Tensor,
    offset: torch.Tensor,
    design: torch.Tensor,
    zero_inflated: bool,
    max_iter: int,
    tol: float = 1e-4,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fit every gene's NB or ZINB GLM at once; return (theta, pi, per-gene log-likelihood).

    Each iteration takes one Fisher-scoring step for the per-group log-means, one Newton step
    for log(theta), both weighted by the posterior probability that a zero is *not* a
    structural zero (as in EM), and, for the ZINB, one Newton step for pi on the marginal
    likelihood, projected onto [0, 0.99]. Iteration stops once no gene's log-likelihood moves
    by more than ``tol``.
    """
    n_genes = y.shape[1]
    is_zero = y == 0
    size = offset.exp()[:, None]
    group_sizes = design.T @ size
    beta = torch.log((design.T @ y + 0.5) / group_sizes)  # Poisson estimate per group
    log_theta = torch.zeros(n_genes, dtype=y.dtype)
    pi = torch.full((n_genes,), 0.05 if zero_inflated else 0.0, dtype=y.dtype)
    previous = torch.full((n_genes,), -torch.inf, dtype=y.dtype)
    for _ in range(max_iter):
        theta = log_theta.exp()
        mu = size * torch.exp(design @ beta)
        ratio = theta / (theta + mu)
        p_zero = torch.exp(theta * torch.log(ratio))
        if zero_inflated:
            structural = torch.where(is_zero, pi / (pi + (1.0 - pi) * p_zero), 0.0)
            weight = 1.0 - structural
        else:
            weight = torch.ones_like(y)
        # Fisher scoring for the log-means: score theta (y - mu) / (theta + mu), information mu * ratio.
        score = design.T @ (weight * ratio * (y - mu))
        information = design.T @ (weight * mu * ratio)
        beta = beta + torch.clamp(score / information.clamp_min(1e-12), -5.0, 5.0)
        mu = size * torch.exp(design @ beta)
        # Newton for log(theta); digamma terms vanish for zero counts.
        theta_mu = theta + mu
        d_theta = weight * (
            torch.digamma(y + theta)
            - torch.digamma(theta)
            + torch.log(theta / theta_mu)
            + 1.0
            - (theta + y) / theta_mu
        )
        d2_theta = weight * (
            torch.polygamma(1, y + theta)
            - torch.polygamma(1, theta)
            + 1.0 / theta
            - 2.0 / theta_mu
            + (theta + y) / theta_mu**2
        )
        gradient = theta * d_theta.sum(0)
        hessian = theta**2 * d2_theta.sum(0) + gradient
        step = torch.where(hessian < 0, -gradient / hessian, torch.sign(gradient))
        log_theta = torch.clamp(log_theta + step.clamp(-1.0, 1.0), -8.0, 12.0)
        theta = log_theta.exp()
        if zero_inflated:
            # Newton for pi on the marginal likelihood, projected onto [0, 0.99].
            p_zero = torch.exp(theta * torch.log(theta / (theta + mu)))
            zero_density = pi + (1.0 - pi) * p_zero
            d_zero = (1.0 - p_zero) / zero_density
            n_positive = (~is_zero).sum(0)
            gradient = torch.where(is_zero, d_zero, 0.0).sum(0) - n_positive / (1.0 - pi)
            hessian = -torch.where(is_zero, d_zero**2, 0.0).sum(0) - n_positive / (1.0 - pi) ** 2
            pi = torch.clamp(pi - gradient / hessian, 0.0, 0.99)
        current = _log_lik(y, mu, theta, pi)
        if torch.all(torch.abs(current - previous) < tol):
            break
        previous = current
    return theta, pi, current


def zinb_lrt(
    adata: AnnData,
    layer: str | None = "counts",
    labels_key: str | None = None,
    max_iter: int = 100,
    chunk_size: int = 2_000,
) -> pd.DataFrame:
    """Per-gene likelihood-ratio test of NB (no zero inflation) against ZINB.

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    layer
        Layer holding the counts (None for ``adata.X``).
    labels_key
        Column of ``adata.obs`` with cell types, used as a covariate; None fits one mean.
    max_iter
        Most iterations per model and chunk of genes.
    chunk_size
        Genes fitted together (bounds memory: cells x chunk_size values at a time).

    Returns
    -------
    pandas.DataFrame
        One row per gene: ``gene, lrt_statistic, lrt_pvalue, lrt_qvalue, zinb_pi, nb_theta``.
    """
    counts = counts_matrix(adata, layer)
    validate_counts(counts, "adata.X" if layer is None else f"adata.layers[{layer!r}]")
    library = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    if (library == 0).any():
        raise ValueError("Some cells have no counts; drop them before testing.")
    offset = torch.as_tensor(np.log(library / np.median(library)))
    if labels_key is None:
        codes = np.zeros(adata.n_obs, dtype=int)
    else:
        codes = adata.obs[labels_key].astype("category").cat.codes.to_numpy().astype(np.int64)
    n_groups = int(codes.max()) + 1
    design = torch.nn.functional.one_hot(torch.as_tensor(codes, dtype=torch.long), n_groups).double()

    columns = []
    for start in range(0, adata.n_vars, chunk_size):
        block = counts[:, start : start + chunk_size]
        y = torch.as_tensor(block.toarray() if sp.issparse(block) else np.asarray(block), dtype=torch.float64)
        nb_theta, _, nb_log_lik = _fit(y, offset, design, zero_inflated=False, max_iter=max_iter)
        _, zinb_pi, zinb_log_lik = _fit(y, offset, design, zero_inflated=True, max_iter=max_iter)
        statistic = 2.0 * (zinb_log_lik - nb_log_lik).numpy()
        # Differences below the fits' precision are no evidence of zero inflation.
        statistic[statistic < 1e-6] = 0.0
        columns.append(
            pd.DataFrame(
                {
                    "lrt_statistic": statistic,
                    "zinb_pi": zinb_pi.numpy(),
                    "nb_theta": nb_theta.numpy(),
                }
            )
        )
    result = pd.concat(columns, ignore_index=True)
    result.insert(0, "gene", adata.var_names.to_numpy(dtype=str))
    result.insert(2, "lrt_pvalue", boundary_lrt_pvalue(result["lrt_statistic"].to_numpy()))
    result.insert(3, "lrt_qvalue", benjamini_hochberg(result["lrt_pvalue"].to_numpy()))
    return result
