"""Cell states for the recommended test: per-cell NB means from a latent-variable model.

A cell type annotation rarely captures every cell state: sub-populations in which groups of
genes are switched off together leave zeros that no per-type mean explains, and a test that
only knows the annotation reads them as zero inflation. A negative-binomial scVI model
learns those states in its latent space; its mean for each cell and gene, used as the test's
offset, lets the test ask the question that matters: does this gene have more zeros than
the learned cell states explain?
"""

from __future__ import annotations

import numpy as np
import scvi
from anndata import AnnData

#: Latent dimensions of the offset model: one per this many genes, from 3 up to 10 (scVI's
#: default). A cell's latent state is inferred from its counts, the tested gene's included;
#: with few genes and room to spare, the latent space learns part of a gene's dropout as cell
#: state and the test loses it (``benchmarks/evaluate_calls.py``; TPR with 10 / 5 / 3
#: dimensions: 0.672 / 0.856 / 0.936 on the AutoZI paper's 50-gene design, with 7 / 5 / 3 on
#: one draw of the 100-gene designs 0.800 / 0.840 / 0.920 and 0.812 / 0.875 / 1.000, and with
#: 7 / 4 on the 200-gene designs, three draws each, 0.893 / 0.979 and 0.928 / 0.988). With 2,
#: cell states are left to the test and it over-calls (FPR 0.056 on the paper's design).
GENES_PER_LATENT_DIMENSION = 50
LATENT_DIMENSIONS = (3, 10)


def offset_model_settings(n_genes: int) -> dict:
    """Settings of the NB-only scVI model whose means become the test's offsets.

    Parameters
    ----------
    n_genes
        Genes the model is trained on (and tested).

    Returns
    -------
    dict
        Keyword arguments for ``scvi.model.SCVI``: ``gene_likelihood="nb"`` and ``n_latent``,
        ``n_genes // GENES_PER_LATENT_DIMENSION`` within :data:`LATENT_DIMENSIONS`.
    """
    if n_genes < 1:
        raise ValueError(f"n_genes must be at least 1, got {n_genes}.")
    n_latent = min(max(n_genes // GENES_PER_LATENT_DIMENSION, LATENT_DIMENSIONS[0]), LATENT_DIMENSIONS[1])
    return {"gene_likelihood": "nb", "n_latent": n_latent}


def latent_log_means(model, adata: AnnData | None = None, n_samples: int = 10) -> np.ndarray:
    """Log of a trained scvi-tools model's NB mean for every cell and gene.

    Parameters
    ----------
    model
        A trained ``scvi.model.SCVI`` (``gene_likelihood="nb"``) or ``scvi.model.AUTOZI``;
        for AUTOZI the mean of its NB component is used.
    adata
        Data to compute the means on; None for the model's own.
    n_samples
        Posterior samples of the latent state averaged per cell.

    Returns
    -------
    numpy.ndarray
        Cells x genes, float64, to pass as ``offsets`` to :func:`autozi_tutorial.zinb_lrt`.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
    means = model.get_normalized_expression(
        adata, library_size="latent", n_samples=n_samples, return_mean=True, return_numpy=True
    )
    return np.log(np.asarray(means, dtype=np.float64))


def fit_offset_model(
    adata: AnnData,
    layer: str | None = "counts",
    batch_key: str | None = None,
    max_epochs: int = 200,
    seed: int = 0,
    accelerator: str = "auto",
    callbacks: list | None = None,
    n_latent: int | None = None,
):
    """Train the NB-only scVI model of :func:`offset_model_settings` on a copy of ``adata``.

    Parameters
    ----------
    adata
        Cells x genes with raw counts; it is not modified.
    layer, batch_key
        Passed to ``scvi.model.SCVI.setup_anndata``.
    max_epochs
        Training epochs.
    seed
        ``scvi.settings.seed`` for this fit.
    accelerator
        Passed to Lightning.
    callbacks
        Lightning callbacks for the trainer (e.g. progress lines).
    n_latent
        Latent dimensions; None takes :func:`offset_model_settings`'s for ``adata``'s genes.

    Returns
    -------
    scvi.model.SCVI
        The trained model (its AnnData is the copy).
    """
    scvi.settings.seed = seed
    data = adata.copy()
    scvi.model.SCVI.setup_anndata(data, layer=layer, batch_key=batch_key)
    settings = offset_model_settings(adata.n_vars)
    if n_latent is not None:
        settings["n_latent"] = n_latent
    model = scvi.model.SCVI(data, **settings)
    model.train(
        max_epochs=max_epochs,
        accelerator=accelerator,
        enable_progress_bar=False,
        callbacks=list(callbacks or []),
    )
    return model
