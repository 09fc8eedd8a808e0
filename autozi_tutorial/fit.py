"""Fitting AUTOZI in one call, for scripts and lessons whose subject is not the fit itself.

The main tutorial spells these steps out with scvi-tools; this helper repeats them for the
simulation study and the benchmarks, so that every fit there uses the same settings.
"""

from __future__ import annotations

import numpy as np
import scvi
from anndata import AnnData

from .zi import check_autozi_priors, zi_probability

#: The seed tutorial's AutoZI settings.
DEFAULT_PRIORS = {"alpha_prior": 0.5, "beta_prior": 0.5, "minimal_dropout": 0.01}


def fit_autozi(
    adata: AnnData,
    layer: str | None = "counts",
    labels_key: str | None = None,
    batch_key: str | None = None,
    max_epochs: int = 200,
    lr: float = 1e-2,
    seed: int = 0,
    accelerator: str = "auto",
    batch_size: int = 128,
    **model_kwargs,
) -> np.ndarray:
    """Train a per-gene AUTOZI on a copy of ``adata`` and return q(delta_g < 0.5) per gene.

    Parameters
    ----------
    adata
        Cells x genes with raw counts; it is not modified.
    layer, labels_key, batch_key
        Passed to ``scvi.model.AUTOZI.setup_anndata``.
    max_epochs, lr, batch_size, accelerator
        Training settings.
    seed
        ``scvi.settings.seed`` for this fit.
    **model_kwargs
        Overrides of :data:`DEFAULT_PRIORS` and other ``scvi.model.AUTOZI`` arguments.

    Returns
    -------
    numpy.ndarray
        The posterior probability that each gene is zero-inflated.
    """
    settings = {**DEFAULT_PRIORS, **model_kwargs}
    check_autozi_priors(
        settings["alpha_prior"], settings["beta_prior"], settings.get("zero_inflation", "gene")
    )
    scvi.settings.seed = seed
    data = adata.copy()
    scvi.model.AUTOZI.setup_anndata(data, layer=layer, labels_key=labels_key, batch_key=batch_key)
    model = scvi.model.AUTOZI(data, **settings)
    model.train(
        max_epochs=max_epochs,
        plan_kwargs={"lr": lr},
        accelerator=accelerator,
        batch_size=batch_size,
        enable_progress_bar=False,
    )
    alphas_betas = model.get_alphas_betas()
    return zi_probability(alphas_betas["alpha_posterior"], alphas_betas["beta_posterior"])
