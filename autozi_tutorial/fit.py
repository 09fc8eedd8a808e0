"""Training AUTOZI: settings presets and a one-call fit.

The main tutorial spells the fit out with scvi-tools; ``fit_autozi`` repeats it for the
simulation study and the benchmarks, so that every fit there uses the same settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from anndata import AnnData

from .devices import resolve_accelerator
from .zi import check_autozi_priors, zi_probability

if TYPE_CHECKING:
    import scvi

#: The seed tutorial's AutoZI settings.
DEFAULT_PRIORS = {"alpha_prior": 0.5, "beta_prior": 0.5, "minimal_dropout": 0.01}
#: Training settings: the seed tutorial's, and a faster set chosen from
#: ``benchmarks/bench_training.py`` (see ``benchmarks/README.md`` for the measurements).
TRAINING_PRESETS: dict[str, dict[str, float | int]] = {
    "default": {"max_epochs": 200, "lr": 1e-2, "batch_size": 128},
    "fast": {"max_epochs": 60, "lr": 3e-2, "batch_size": 128},
}


def training_arguments(
    preset: str = "default",
    max_epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
) -> dict:
    """Keyword arguments for ``scvi.model.AUTOZI.train`` from a preset and optional overrides.

    Parameters
    ----------
    preset
        A key of :data:`TRAINING_PRESETS`.
    max_epochs, lr, batch_size
        Override the preset's value when not None.

    Returns
    -------
    dict
        ``max_epochs``, ``batch_size`` and ``plan_kwargs={"lr": ...}``.
    """
    if preset not in TRAINING_PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(TRAINING_PRESETS)}.")
    overrides = {"max_epochs": max_epochs, "lr": lr, "batch_size": batch_size}
    settings = {**TRAINING_PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return {
        "max_epochs": int(settings["max_epochs"]),
        "batch_size": int(settings["batch_size"]),
        "plan_kwargs": {"lr": float(settings["lr"])},
    }


def lesson_training(
    preset: str = "default",
    max_epochs: int | None = None,
    lr: float | None = None,
    *,
    accelerator: str = "auto",
    devices: int | str | list[int] = "auto",
    strategy: str = "auto",
) -> dict:
    """Everything the lessons pass to ``scvi.model.AUTOZI.train``: how long, how fast, on what.

    Parameters
    ----------
    preset, max_epochs, lr
        See :func:`training_arguments`.
    accelerator, devices, strategy
        Where to train, passed to Lightning as they are.

    Returns
    -------
    dict
        :func:`training_arguments`' keys, ``accelerator``, ``devices``, ``strategy``, and
        ``enable_progress_bar=False`` (the lessons print progress lines instead).
    """
    return {
        **training_arguments(preset, max_epochs, lr),
        "accelerator": accelerator,
        "devices": devices,
        "strategy": strategy,
        "enable_progress_bar": False,
    }


def fit_autozi_model(
    adata: AnnData,
    layer: str | None = "counts",
    labels_key: str | None = None,
    batch_key: str | None = None,
    preset: str = "default",
    max_epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    accelerator: str = "auto",
    plan_kwargs: dict | None = None,
    callbacks: list | None = None,
    **model_kwargs,
) -> scvi.model.AUTOZI:
    """Train an AUTOZI on a copy of ``adata`` with the tutorial's settings and return the model.

    Parameters
    ----------
    adata
        Cells x genes with raw counts; it is not modified.
    layer, labels_key, batch_key
        Passed to ``scvi.model.AUTOZI.setup_anndata``.
    preset, max_epochs, lr, batch_size
        Training settings, see :func:`training_arguments`.
    seed
        ``scvi.settings.seed`` for this fit.
    accelerator
        Passed to Lightning; ``"auto"`` follows ``$AUTOZI_ACCELERATOR`` when it is set
        (:func:`autozi_tutorial.resolve_accelerator`).
    plan_kwargs
        Further ``scvi.train.TrainingPlan`` arguments (e.g. ``n_epochs_kl_warmup``).
    callbacks
        Lightning callbacks for the trainer.
    **model_kwargs
        Overrides of :data:`DEFAULT_PRIORS` and other ``scvi.model.AUTOZI`` arguments.

    Returns
    -------
    scvi.model.AUTOZI
        The trained model.
    """
    import scvi  # here, with the model below: checking parameters needs no scvi-tools

    from .training_plan import EpochLoggingAUTOZI

    settings = {**DEFAULT_PRIORS, **model_kwargs}
    check_autozi_priors(
        settings["alpha_prior"], settings["beta_prior"], settings.get("zero_inflation", "gene")
    )
    train_kwargs = training_arguments(preset, max_epochs, lr, batch_size)
    train_kwargs["plan_kwargs"].update(plan_kwargs or {})
    scvi.settings.seed = seed
    data = adata.copy()
    EpochLoggingAUTOZI.setup_anndata(data, layer=layer, labels_key=labels_key, batch_key=batch_key)
    model = EpochLoggingAUTOZI(data, **settings)
    model.train(
        accelerator=resolve_accelerator(accelerator),
        enable_progress_bar=False,
        callbacks=list(callbacks or []),
        **train_kwargs,
    )
    return model


def fit_autozi(adata: AnnData, **kwargs) -> np.ndarray:
    """Train a per-gene AUTOZI (see :func:`fit_autozi_model`) and return q(delta_g < 0.5) per gene.

    Parameters
    ----------
    adata
        Cells x genes with raw counts; it is not modified.
    **kwargs
        Passed to :func:`fit_autozi_model`.

    Returns
    -------
    numpy.ndarray
        The posterior probability that each gene is zero-inflated.
    """
    alphas_betas = fit_autozi_model(adata, **kwargs).get_alphas_betas()
    return zi_probability(alphas_betas["alpha_posterior"], alphas_betas["beta_posterior"])
