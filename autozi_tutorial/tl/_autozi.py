"""AUTOZI's answer on the AnnData: q(delta < 0.5) per gene (or gene and cell type) and its call."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
import scvi
from anndata import AnnData

from ..devices import training_device
from ..fit import fit_autozi_model, training_arguments
from ..progress import TrainingProgress
from ..validation import counts_matrix, validate_anndata
from ..zi import call_zi, posterior_arrays, registry_labels, zi_probability
from ._common import check_key_added, group_mean_counts, mean_counts, package_versions, plain

ZERO_INFLATION = ("gene", "gene-label")
#: Default ``key_added`` per mode, so both AUTOZI models' results live on one AnnData.
DEFAULT_KEYS = {"gene": "autozi", "gene-label": "autozi_label"}
COLUMNS = ("alpha", "beta", "prob", "call", "mean_count")


def _check_model(model, adata: AnnData) -> str:
    """The mode of a trained AUTOZI whose genes are ``adata``'s, in the same order."""
    if not isinstance(model, scvi.model.AUTOZI):
        raise TypeError(f"model must be a trained scvi.model.AUTOZI, got {type(model).__name__}.")
    if not model.is_trained:
        raise ValueError("model has not been trained yet: call model.train() first.")
    if not model.adata.var_names.equals(adata.var_names):
        raise ValueError("model was trained on other genes (or another gene order) than adata's.")
    return model.module.zero_inflation


def autozi(
    adata: AnnData,
    *,
    model: scvi.model.AUTOZI | None = None,
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    zero_inflation: str = "gene",
    threshold: float = 0.5,
    preset: str = "default",
    max_epochs: int | None = None,
    lr: float | None = None,
    key_added: str | None = None,
    accelerator: str = "auto",
    random_state: int = 0,
    copy: bool = False,
    progress: bool = False,
) -> AnnData | None:
    """AUTOZI's posterior probability that each gene is zero-inflated, and the threshold call.

    Per gene g, AUTOZI learns a posterior Beta(alpha_g, beta_g) of delta_g, the probability
    that g is NOT zero-inflated; ``prob`` is q(delta_g < 0.5) =
    ``scipy.stats.beta.cdf(0.5, alpha_g, beta_g)`` and the call is ``prob > threshold``. The
    probability ranks genes well but is not calibrated (``benchmarks/README.md``).

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    model
        A trained ``scvi.model.AUTOZI`` set up on ``adata`` (same genes, same order): its
        results are stored and nothing is trained. None trains one with
        :func:`autozi_tutorial.fit.fit_autozi_model`.
    layer, labels_key, batch_key
        Where the counts, cell types and batches are (for training, and the per-type means).
    zero_inflation
        ``"gene"``: one probability per gene; ``"gene-label"``: one per gene and cell type
        (needs ``labels_key``; one dispersion per gene and type too). With ``model``, the
        model's own mode is used.
    threshold
        Call a gene ZI when its probability exceeds this, in [0, 1).
    preset, max_epochs, lr
        Training settings (:data:`autozi_tutorial.fit.TRAINING_PRESETS`) when training.
    key_added
        Prefix of the results' keys; None: ``"autozi"`` (gene mode) or ``"autozi_label"``.
    accelerator, random_state, progress
        Where to train, the seed, and a progress line every few epochs (training only).
    copy
        Return a copy with the results instead of writing onto ``adata``.

    Returns
    -------
    AnnData or None
        The copy with ``copy=True``, else None. Gene mode writes ``var[f"{key}_alpha"]``,
        ``_beta``, ``_prob``, ``_call``, ``_mean_count``; gene-label mode writes the same
        names to ``varm`` as genes x cell types DataFrames (the registry's label order), plus
        ``_testable`` (a gene without counts in a type has NaN probability there and is not
        called). ``uns[key]`` holds ``params``, ``training``, ``device``, ``labels`` and
        ``versions``.
    """
    if model is not None:
        zero_inflation = _check_model(model, adata)
    if zero_inflation not in ZERO_INFLATION:
        raise ValueError(f"zero_inflation must be one of {ZERO_INFLATION}, got {zero_inflation!r}.")
    if not (isinstance(threshold, Real) and not isinstance(threshold, bool) and 0.0 <= threshold < 1.0):
        raise ValueError(f"threshold must be a number in [0, 1), got {threshold!r}.")
    key = DEFAULT_KEYS[zero_inflation] if key_added is None else key_added
    check_key_added(key)
    per_label = zero_inflation == "gene-label"
    if model is None:
        if per_label and labels_key is None:
            raise ValueError("zero_inflation='gene-label' needs labels_key.")
        validate_anndata(adata, layer, labels_key if per_label else None, batch_key)
        training = training_arguments(preset, max_epochs, lr)
        model = fit_autozi_model(
            adata,
            layer=layer,
            labels_key=labels_key,
            batch_key=batch_key,
            preset=preset,
            max_epochs=max_epochs,
            lr=lr,
            seed=random_state,
            accelerator=accelerator,
            callbacks=[TrainingProgress(name=f"AUTOZI ({zero_inflation})")] if progress else None,
            zero_inflation=zero_inflation,
            **({"dispersion": "gene-label"} if per_label else {}),
        )
        training = {"preset": preset, **training, "lr": training["plan_kwargs"]["lr"]}
        training.pop("plan_kwargs")
    else:
        training = {"max_epochs": len(model.history["elbo_train"]), "trained_here": False}
        if per_label:
            labels_key = model.adata_manager.get_state_registry("labels").original_key

    target = adata.copy() if copy else adata
    alpha, beta = posterior_arrays(model.get_alphas_betas())
    prob = zi_probability(alpha, beta)
    counts = counts_matrix(target, layer)
    labels: list[str] = []
    if per_label:
        labels = registry_labels(model)
        mean_count = group_mean_counts(target, layer, labels_key, labels)
        testable = mean_count > 0
        prob = np.where(testable, prob, np.nan)
        values = {"alpha": alpha, "beta": beta, "prob": prob, "mean_count": mean_count, "testable": testable}
        values["call"] = testable & call_zi(np.nan_to_num(prob), threshold)
        for name, array in values.items():
            target.varm[f"{key}_{name}"] = pd.DataFrame(
                array, index=target.var_names.copy(), columns=pd.Index(labels)
            )
    else:
        mean_count = mean_counts(counts)
        values = {"alpha": alpha, "beta": beta, "prob": prob, "call": call_zi(prob, threshold)}
        values["mean_count"] = mean_count
        for name in COLUMNS:
            target.var[f"{key}_{name}"] = values[name]
    target.uns[key] = plain(
        {
            "params": {
                "method": "autozi",
                "zero_inflation": zero_inflation,
                "threshold": threshold,
                "layer": layer,
                "labels_key": labels_key,
                "batch_key": batch_key,
                "random_state": random_state,
            },
            "training": training,
            "device": training_device(model),
            "labels": labels,
            "n_called": int(np.sum(values["call"])),
            "versions": package_versions(),
        }
    )
    return target if copy else None
