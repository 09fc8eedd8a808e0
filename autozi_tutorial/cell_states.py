"""The cell-state model of the ZI test: per-cell NB means from a negative-binomial scVI model.

A cell type annotation rarely captures every cell state: sub-populations in which groups of
genes are switched off together leave zeros that no per-type mean explains, and a test that
only knows the annotation reads them as zero inflation. An scVI model with a negative-binomial
likelihood (no zero inflation) learns those states in its latent space; its mean for each
cell and gene, used as the test's offset, lets the test ask the question that matters: does
this gene have more zeros than the learned cell states explain?

The encoder that infers a cell's state never sees the gene whose means it gives. Were that
gene among its inputs, the state would learn part of the gene's own zeros (a cell where it
dropped out looks like a cell where it is off): the test would lose them, and would find more
zeros than the null allows in genes that have none, the more so the more genes are
zero-inflated. So the genes are dealt into :data:`HELD_OUT_FOLDS` folds; in training, each cell
hides one fold, drawn at random, from the encoder, and a gene's means come from states
inferred with its own fold hidden (:class:`_HeldOutFoldsVAE`). One training serves every fold.
Nor does the library size that scales those means hold the gene's own count: from version
0.3.2 it is the cell's total over the other genes (:func:`log_means`).
``benchmarks/zi_common.py`` measured it against the encoder that sees every gene (the model
before version 0.3.0; ``benchmarks/README.md``, "Calibration of the ZI test") on data of 550
to 1,050 genes. With few genes, half of them tell a cell's state less well: on 150 to 450
genes whose cell types hide sub-states, the held-out encoder made more false calls than the
full one at every size (``benchmarks/held_out_few_genes.py``). Below :data:`MIN_GENES_HELD_OUT` genes the
encoder therefore sees every gene, as before, and ``tl.zi_test`` calibrates with its bootstrap
(:func:`held_out_folds`).

The model is trained with ONE configuration, :data:`TRAINING` and the latent rule of
:func:`model_settings`, the one measured in ``benchmarks/evaluate_calls.py``; the lesson, the
benchmarks and users all get it through :func:`autozi_tutorial.tl.zi_test`.
"""

from __future__ import annotations

import numpy as np
import scvi
import torch
from anndata import AnnData
from scvi.module import VAE
from scvi.module._constants import MODULE_KEYS

from .devices import resolve_accelerator
from .training_plan import EpochLoggingPlan

#: Latent dimensions of the cell-state model: one per this many genes, from 3 up to 10 (scVI's
#: default). Measured when the encoder saw every gene, the tested gene's included (before
#: :data:`HELD_OUT_FOLDS`): with few genes and room to spare, the latent space learned part of
#: a gene's dropout as cell state and the test lost it (``benchmarks/evaluate_calls.py``; TPR with 10 / 5 / 3
#: dimensions: 0.672 / 0.856 / 0.936 on the AutoZI paper's 50-gene design, with 7 / 4 on the
#: 200-gene designs, three draws each, 0.893 / 0.979 and 0.928 / 0.988). With 2, cell states
#: are left to the test and it over-calls (FPR 0.056 on the paper's design).
GENES_PER_LATENT_DIMENSION = 50
LATENT_DIMENSIONS = (3, 10)
#: Training of the cell-state model: at most 200 epochs at scvi-tools' default learning rate
#: (1e-3) and batch size (128), the configuration every figure of ``benchmarks/README.md``
#: measures. A larger data set trains for fewer epochs (:func:`training`).
TRAINING: dict[str, float | int] = {"max_epochs": 200, "lr": 1e-3, "batch_size": 128}
#: Above this many cells the epochs shrink so that every data set gets the optimiser steps of
#: ``max_epochs`` epochs over this many cells (the calibration designs' size); None: always
#: ``max_epochs`` (``benchmarks/zi_common.py --fixed-epochs`` measures what the rule changes).
REFERENCE_CELLS: int | None = 3_000
#: The fewest epochs of the rule, however large the data set.
MIN_EPOCHS = 20
#: Posterior samples of each cell's latent state averaged for its means.
N_SAMPLES = 10
#: Cells per call of scvi-tools' posterior means in :func:`log_means` (128 of its mini-batches):
#: every data set of the benchmarks' designs, the seed's 12,039 cells included, fits in one.
LOG_MEANS_BLOCK_CELLS = 128 * 128
#: Folds of genes hidden from the encoder (:class:`_HeldOutFoldsVAE`): with 2, it infers each
#: cell's state from half of the genes, and a gene's means from the half without it. None: the
#: encoder sees every gene, the model before version 0.3.0 (``benchmarks/zi_common.py
#: --encoder-sees-every-gene`` measures it).
HELD_OUT_FOLDS: int | None = 2
#: The fewest genes at which folds are held out: above the 450 of ``held_out_few_genes.py``'s largest
#: design, below the 550 of the smallest calibration design.
MIN_GENES_HELD_OUT = 500


def held_out_folds(n_genes: int) -> int | None:
    """Folds of genes hidden from the encoder for data of ``n_genes`` genes (None: none hidden).

    :data:`HELD_OUT_FOLDS` from :data:`MIN_GENES_HELD_OUT` genes up, None below.
    """
    return HELD_OUT_FOLDS if n_genes >= MIN_GENES_HELD_OUT else None


class CellStateModel(scvi.model.SCVI):
    """The cell-state model: scvi-tools' SCVI, trained with the quieter ``EpochLoggingPlan``."""

    _training_plan_cls = EpochLoggingPlan


class _HeldOutFoldsVAE(VAE):
    """scVI's module whose encoder never sees the genes of one fold.

    The genes are split into folds (``gene_folds``). In training, each cell hides one fold,
    drawn at random, from the encoder (its counts read as zeros), while the decoder still
    reconstructs every gene. For the means, every cell hides ``held_out_fold``: a gene's means
    then come from latent states inferred without its own counts, so they cannot learn its
    zeros. scVI's library size is the cell's total count over all genes; :func:`log_means`
    rescales each gene's means to the total over the other genes.
    """

    def __init__(self, n_input: int, *args, gene_folds: list[int], **kwargs):
        super().__init__(n_input, *args, **kwargs)
        self.register_buffer("gene_folds", torch.as_tensor(gene_folds, dtype=torch.long))
        self.n_folds = int(max(gene_folds)) + 1
        self.held_out_fold: int | None = None

    def _regular_inference(self, x, batch_index, cont_covs=None, cat_covs=None, n_samples=1):
        if self.training:
            hidden = torch.randint(self.n_folds, (x.shape[0], 1), device=x.device)
        elif self.held_out_fold is None:
            return super()._regular_inference(x, batch_index, cont_covs, cat_covs, n_samples)
        else:
            hidden = torch.full((x.shape[0], 1), self.held_out_fold, device=x.device)
        seen = (self.gene_folds.unsqueeze(0) != hidden).to(x.dtype)
        outputs = super()._regular_inference(x * seen, batch_index, cont_covs, cat_covs, n_samples)
        if self.use_observed_lib_size:
            library = torch.log(x.sum(1)).unsqueeze(1)
            if n_samples > 1:
                library = library.unsqueeze(0).expand((n_samples, *library.shape))
            outputs[MODULE_KEYS.LIBRARY_KEY] = library
        return outputs


class HeldOutCellStateModel(CellStateModel):
    """The cell-state model with :class:`_HeldOutFoldsVAE` as its module."""

    _module_cls = _HeldOutFoldsVAE


def gene_folds(totals: np.ndarray, n_folds: int) -> np.ndarray:
    """Each gene's fold: genes ranked by total count and dealt in turn, so folds span expression alike."""
    folds = np.empty(len(totals), dtype=np.int64)
    folds[np.argsort(-np.asarray(totals, dtype=np.float64), kind="stable")] = np.arange(len(totals)) % n_folds
    return folds


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


def training(n_cells: int) -> dict[str, float | int]:
    """Training settings of the cell-state model for a data set of ``n_cells`` cells.

    Up to :data:`REFERENCE_CELLS` cells, :data:`TRAINING` as it is. Above, the epochs fall in
    proportion to the cells (never below :data:`MIN_EPOCHS`), so that the model takes about the
    same number of optimiser steps whatever the size: 200 epochs of 12,000 cells would take four
    times the steps of 200 epochs of 3,000 for the same model. scvi-tools' KL warm-up, 400
    epochs by default, is scaled alike (twice the epochs), so that training ends at the same
    point of it.

    Parameters
    ----------
    n_cells
        Cells the model is trained on.

    Returns
    -------
    dict
        ``max_epochs``, ``lr``, ``batch_size`` and ``n_epochs_kl_warmup``.
    """
    if n_cells < 1:
        raise ValueError(f"n_cells must be at least 1, got {n_cells}.")
    epochs = int(TRAINING["max_epochs"])
    if REFERENCE_CELLS is not None and n_cells > REFERENCE_CELLS:
        epochs = min(epochs, max(MIN_EPOCHS, round(epochs * REFERENCE_CELLS / n_cells)))
    return {**TRAINING, "max_epochs": epochs, "n_epochs_kl_warmup": 2 * epochs}


def log_means(model, adata: AnnData | None = None, n_samples: int = N_SAMPLES) -> np.ndarray:
    """Log of a trained scvi-tools model's NB mean for every cell and gene.

    Parameters
    ----------
    model
        A trained ``scvi.model.SCVI`` (``gene_likelihood="nb"``) or ``scvi.model.AUTOZI``;
        for AUTOZI the mean of its NB component is used. For a :class:`HeldOutCellStateModel`,
        each gene's means come from the states inferred with its own fold hidden, scaled to
        the cell's total count over the other genes.
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
    if not isinstance(model.module, _HeldOutFoldsVAE):
        return _log_means(model, adata, n_samples)
    module = model.module
    folds = module.gene_folds.cpu().numpy()
    data = adata if adata is not None else model.adata
    result = np.empty((data.n_obs, data.n_vars), dtype=np.float64)
    try:
        for fold in range(module.n_folds):
            module.held_out_fold = fold
            genes = folds == fold
            result[:, genes] = _log_means(model, adata, n_samples, gene_list=list(data.var_names[genes]))
    finally:
        module.held_out_fold = None
    _scale_to_other_genes(result, model.get_anndata_manager(data, required=True).get_from_registry("X"))
    return result


def _scale_to_other_genes(log_means: np.ndarray, counts) -> None:
    """Scale each gene's means to the cell's total count over the other genes, in place.

    scVI's mean of gene g in cell c is the cell's total count times the decoder's share of g,
    and the total holds g's own count: a cell where g happens to count high gets a higher
    mean for g, and the test, reading the counts against those means, finds the NB less
    dispersed than it is and more zeros than it allows (``benchmarks/README.md``, "Calibration
    of the ZI test"). The total over the other genes, divided by the share they have, has the
    same expectation without g's count in it. A cell with no count outside g is given one.
    """
    for start in range(0, len(log_means), LOG_MEANS_BLOCK_CELLS):
        rows = slice(start, start + LOG_MEANS_BLOCK_CELLS)
        block = counts[rows]
        block = np.asarray(block.toarray() if hasattr(block, "toarray") else block, dtype=np.float64)
        total = block.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.minimum(np.exp(log_means[rows]) / total, 1.0 - 1e-12)
            scaled = log_means[rows] + np.log(np.maximum(total - block, 1.0) / total) - np.log1p(-share)
        log_means[rows] = np.where(total > 0, scaled, log_means[rows])


def _log_means(
    model, adata: AnnData | None, n_samples: int, gene_list: list[str] | None = None
) -> np.ndarray:
    """:func:`log_means` of the genes of ``gene_list`` (None: every gene), from the module as it is set."""
    n_cells = (adata if adata is not None else model.adata).n_obs
    # scvi-tools holds every posterior sample of every cell before averaging them: asked a block
    # of cells at a time, memory holds one block's samples. Up to one block, this is a single
    # call, exactly scvi-tools' means; above, each call's data loader draws a seed of its own,
    # so the samples, not the means they estimate, differ from those of a single call.
    means = [
        model.get_normalized_expression(
            adata,
            indices=np.arange(start, min(start + LOG_MEANS_BLOCK_CELLS, n_cells)),
            gene_list=gene_list,
            library_size="latent",
            n_samples=n_samples,
            return_mean=True,
            return_numpy=True,
        )
        for start in range(0, n_cells, LOG_MEANS_BLOCK_CELLS)
    ]
    return np.log(np.concatenate(means).astype(np.float64))


def fit(
    adata: AnnData,
    *,
    layer: str | None = None,
    batch_key: str | None = None,
    random_state: int = 0,
    accelerator: str = "auto",
    callbacks: list | None = None,
    n_latent: int | None = None,
) -> CellStateModel:
    """Train the cell-state model (:func:`model_settings`, :func:`training`) on a copy of ``adata``.

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
    CellStateModel
        The trained model, an ``scvi.model.SCVI`` (its AnnData is the copy).
    """
    scvi.settings.seed = random_state
    data = AnnData(X=adata.layers[layer] if layer is not None else adata.X, obs=adata.obs[[]].copy())
    data.var_names = adata.var_names.copy()
    if batch_key is not None:
        data.obs[batch_key] = adata.obs[batch_key].to_numpy()
    settings = model_settings(adata.n_vars)
    if n_latent is not None:
        settings["n_latent"] = n_latent
    model_class, folds = CellStateModel, held_out_folds(adata.n_vars)
    if folds:
        model_class = HeldOutCellStateModel
        settings["gene_folds"] = gene_folds(np.asarray(data.X.sum(axis=0)).ravel(), folds).tolist()
    model_class.setup_anndata(data, batch_key=batch_key)
    model = model_class(data, **settings)
    schedule = training(adata.n_obs)
    model.train(
        max_epochs=int(schedule["max_epochs"]),
        batch_size=int(schedule["batch_size"]),
        plan_kwargs={"lr": float(schedule["lr"]), "n_epochs_kl_warmup": int(schedule["n_epochs_kl_warmup"])},
        accelerator=resolve_accelerator(accelerator),
        enable_progress_bar=False,
        callbacks=list(callbacks or []),
    )
    return model
