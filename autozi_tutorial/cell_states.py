"""The cell-state model of the ZI test: per-cell NB means from a negative-binomial scVI model.

A cell type annotation rarely captures every cell state: sub-populations in which groups of
genes are switched off together leave zeros that no per-type mean explains, and a test that
only knows the annotation reads them as zero inflation. An scVI model with a negative-binomial
likelihood (no zero inflation) learns those states in its latent space; its mean for each
cell and gene, used as the test's offset, lets the test ask the question that matters: does
this gene have more zeros than the learned cell states explain?

The model is trained with ONE configuration, :data:`TRAINING` and the latent rule of
:func:`model_settings`, the one measured in ``benchmarks/evaluate_calls.py``; the lesson, the
benchmarks and users all get it through :func:`autozi_tutorial.tl.zi_test`.
"""

from __future__ import annotations

import numpy as np
import scvi
from anndata import AnnData

from .devices import resolve_accelerator

#: Latent dimensions of the cell-state model: one per this many genes, from 3 up to 10 (scVI's
#: default). A cell's latent state is inferred from its counts, the tested gene's included;
#: with few genes and room to spare, the latent space learns part of a gene's dropout as cell
#: state and the test loses it (``benchmarks/evaluate_calls.py``; TPR with 10 / 5 / 3
#: dimensions: 0.672 / 0.856 / 0.936 on the AutoZI paper's 50-gene design, with 7 / 4 on the
#: 200-gene designs, three draws each, 0.893 / 0.979 and 0.928 / 0.988). With 2, cell states
#: are left to the test and it over-calls (FPR 0.056 on the paper's design).
GENES_PER_LATENT_DIMENSION = 50
LATENT_DIMENSIONS = (3, 10)
#: Training of the cell-state model: 200 epochs at scvi-tools' default learning rate (1e-3)
#: and batch size (128), the configuration every figure of ``benchmarks/README.md`` measures.
TRAINING: dict[str, float | int] = {"max_epochs": 200, "lr": 1e-3, "batch_size": 128}
#: Posterior samples of each cell's latent state averaged for its means.
N_SAMPLES = 10


def model_settings(n_genes: int) -> dict:
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


def log_means(model, adata: AnnData | None = None, n_samples: int = N_SAMPLES) -> np.ndarray:
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
        Cells x genes, float64, the ``offsets`` of :func:`autozi_tutorial.lrt.zinb_lrt`.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
    means = model.get_normalized_expression(
        adata, library_size="latent", n_samples=n_samples, return_mean=True, return_numpy=True
    )
    return np.log(np.asarray(means, dtype=np.float64))


def fit(
    adata: AnnData,
    *,
    layer: str | None = None,
    batch_key: str | None = None,
    random_state: int = 0,
    accelerator: str = "auto",
    callbacks: list | None = None,
    n_latent: int | None = None,
) -> scvi.model.SCVI:
    """Train the cell-state model (:func:`model_settings`, :data:`TRAINING`) on a copy of ``adata``.

    Parameters
    ----------
    adata
        Cells x genes with raw counts; it is not modified.
    layer, batch_key
        Passed to ``scvi.model.SCVI.setup_anndata``.
    random_state
        ``scvi.settings.seed`` for this fit.
    accelerator
        Passed to Lightning; ``"auto"`` follows ``$AUTOZI_ACCELERATOR`` when it is set.
    callbacks
        Lightning callbacks for the trainer (e.g. progress lines).
    n_latent
        Latent dimensions; None takes :func:`model_settings`'s. For benchmarks of the latent
        rule only.

    Returns
    -------
    scvi.model.SCVI
        The trained model (its AnnData is the copy).
    """
    scvi.settings.seed = random_state
    data = AnnData(X=adata.layers[layer] if layer is not None else adata.X, obs=adata.obs[[]].copy())
    data.var_names = adata.var_names.copy()
    if batch_key is not None:
        data.obs[batch_key] = adata.obs[batch_key].to_numpy()
    scvi.model.SCVI.setup_anndata(data, batch_key=batch_key)
    settings = model_settings(adata.n_vars)
    if n_latent is not None:
        settings["n_latent"] = n_latent
    model = scvi.model.SCVI(data, **settings)
    model.train(
        max_epochs=int(TRAINING["max_epochs"]),
        batch_size=int(TRAINING["batch_size"]),
        plan_kwargs={"lr": float(TRAINING["lr"])},
        accelerator=resolve_accelerator(accelerator),
        enable_progress_bar=False,
        callbacks=list(callbacks or []),
    )
    return model
