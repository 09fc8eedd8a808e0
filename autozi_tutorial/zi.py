"""AutoZI's decision quantities: posterior probabilities, calls, and guards for the model's settings.

For each gene g (or gene and cell type), AUTOZI fits a posterior Beta(alpha_g, beta_g) over
delta_g, the probability that g is *not* zero-inflated. A gene is called ZI when the
posterior mass below 0.5, q(delta_g < 0.5), exceeds a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.stats import beta as beta_distribution


def zi_probability(alpha: np.ndarray, beta: np.ndarray, cutoff: float = 0.5) -> np.ndarray:
    """Posterior probability that a gene is zero-inflated, q(delta < cutoff).

    Parameters
    ----------
    alpha, beta
        Posterior Beta parameters (any matching shapes), all positive.
    cutoff
        Value of delta below which the gene counts as ZI; AutoZI uses 0.5.

    Returns
    -------
    numpy.ndarray
        ``scipy.stats.beta.cdf(cutoff, alpha, beta)``, in [0, 1].
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.shape != beta.shape:
        raise ValueError(f"alpha has shape {alpha.shape} but beta has shape {beta.shape}.")
    if (alpha <= 0).any() or (beta <= 0).any() or np.isnan(alpha).any() or np.isnan(beta).any():
        raise ValueError("Beta parameters must be positive numbers.")
    return beta_distribution.cdf(cutoff, alpha, beta)


def call_zi(zi_prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Call genes zero-inflated where ``zi_prob > threshold``.

    Parameters
    ----------
    zi_prob
        Output of :func:`zi_probability`.
    threshold
        Decision threshold in [0, 1); higher is stricter.

    Returns
    -------
    numpy.ndarray
        Boolean array, same shape as ``zi_prob``.
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}.")
    return np.asarray(zi_prob) > threshold


def check_autozi_priors(
    alpha_prior: float | None, beta_prior: float | None, zero_inflation: str = "gene"
) -> None:
    """Refuse prior settings that scvi-tools 1.4 silently mishandles or crashes on.

    Two known scvi-tools defects:

    * with ``zero_inflation="gene"`` the prior's beta is built from ``alpha_prior``, so an
      asymmetric prior (alpha != beta, including one given as None and filled in as
      ``1 - other``) is silently replaced by Beta(alpha, alpha);
    * with ``zero_inflation`` ``"gene-label"`` or ``"gene-batch"``, ``alpha_prior=None`` and
      ``beta_prior=None`` (empirical Bayes) raise an obscure ``TypeError``.

    Parameters
    ----------
    alpha_prior, beta_prior
        The prior Beta parameters passed to ``scvi.model.AUTOZI``.
    zero_inflation
        The ``zero_inflation`` argument passed to ``scvi.model.AUTOZI``.

    Raises
    ------
    ValueError
        With what goes wrong and a setting that works.
    """
    if alpha_prior is None and beta_prior is None:
        if zero_inflation != "gene":
            raise ValueError(
                f"Empirical Bayes priors (alpha_prior=None, beta_prior=None) crash in "
                f"scvi-tools with zero_inflation={zero_inflation!r}. Give fixed priors, e.g. "
                "alpha_prior=0.5, beta_prior=0.5, or use zero_inflation='gene'."
            )
        return
    # scvi-tools fills a missing value as 1 - the other one.
    alpha = 1.0 - beta_prior if alpha_prior is None else alpha_prior
    beta = 1.0 - alpha_prior if beta_prior is None else beta_prior
    for name, value in (("alpha_prior", alpha), ("beta_prior", beta)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}.")
    if zero_inflation == "gene" and not np.isclose(alpha, beta):
        raise ValueError(
            f"Asymmetric prior Beta({alpha}, {beta}) with zero_inflation='gene' is silently "
            f"replaced by Beta({alpha}, {alpha}) in scvi-tools (its beta prior is built from "
            "alpha_prior). Use equal priors, or alpha_prior=None and beta_prior=None to learn them."
        )


def registry_labels(model) -> list[str]:
    """Cell-type names in the order of AUTOZI's label axis, read from the scvi registry.

    Column j of ``model.get_alphas_betas()["alpha_posterior"]`` in 'gene-label' mode belongs
    to the j-th entry of this list. The order is the registry's categorical mapping, which
    need not match the order of labels in ``adata.obs``.

    Parameters
    ----------
    model
        A set-up scvi-tools model (for example ``scvi.model.AUTOZI``).

    Returns
    -------
    list of str
    """
    from scvi import REGISTRY_KEYS

    mapping = model.adata_manager.get_state_registry(REGISTRY_KEYS.LABELS_KEY).categorical_mapping
    return [str(label) for label in mapping]


def posterior_arrays(alphas_betas: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Posterior alpha and beta from ``model.get_alphas_betas()``, as float64 arrays."""
    missing = {"alpha_posterior", "beta_posterior"} - set(alphas_betas)
    if missing:
        raise KeyError(f"alphas_betas lacks {sorted(missing)}; pass model.get_alphas_betas().")
    return (
        np.asarray(alphas_betas["alpha_posterior"], dtype=np.float64),
        np.asarray(alphas_betas["beta_posterior"], dtype=np.float64),
    )
