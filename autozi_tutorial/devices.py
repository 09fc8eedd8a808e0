"""Where training runs: the accelerator switch for tests and CI, and the device a model actually used.

Setting the environment variable ``AUTOZI_ACCELERATOR`` to ``"cpu"`` or ``"gpu"`` makes every
``accelerator="auto"`` in the notebooks and in :func:`autozi_tutorial.fit_autozi` mean that
accelerator instead, so one switch runs a whole test suite (papermill and nbval alike) on the
CPU or on the GPU. Explicit values such as ``accelerator="cpu"`` are never overridden.
"""

from __future__ import annotations

import os
from typing import Any

#: Environment variable that replaces ``accelerator="auto"`` (the test suite's CPU/GPU switch).
ACCELERATOR_ENV = "AUTOZI_ACCELERATOR"
#: Accelerators the tutorials accept (Lightning names; ``"cuda"`` is a synonym of ``"gpu"``).
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


def resolve_accelerator(accelerator: str = "auto") -> str:
    """The accelerator to train on: ``accelerator``, or ``$AUTOZI_ACCELERATOR`` when it is ``"auto"``.

    Parameters
    ----------
    accelerator
        The notebook's ``accelerator`` parameter.

    Returns
    -------
    str
        ``accelerator`` unchanged unless it is ``"auto"`` and ``AUTOZI_ACCELERATOR`` is set.

    Raises
    ------
    ValueError
        If ``AUTOZI_ACCELERATOR`` holds a value that is not an accelerator.
    """
    switch = os.environ.get(ACCELERATOR_ENV, "").strip().lower()
    if accelerator != "auto" or not switch:
        return accelerator
    if switch not in ACCELERATORS:
        raise ValueError(
            f"The environment variable {ACCELERATOR_ENV}={switch!r} is not an accelerator; set it to "
            f"one of {list(ACCELERATORS)} or unset it."
        )
    return switch


def accelerator_unavailable(accelerator: str) -> str | None:
    """Why ``accelerator`` cannot be used on this machine, or None when it can.

    Only ``"gpu"``/``"cuda"`` and ``"mps"`` need hardware; ``"cpu"`` and ``"auto"`` always work.
    """
    import torch

    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        build = f"torch {torch.__version__}" + ("" if torch.version.cuda else ", a build without CUDA")
        return f"torch sees no CUDA GPU ({build})"
    if accelerator == "mps" and not torch.backends.mps.is_available():
        return "torch sees no Apple MPS device"
    return None


def training_device(model: Any) -> dict[str, str | None]:
    """The device a trained scvi-tools model's parameters live on, for a run's summary.

    Parameters
    ----------
    model
        A trained model, e.g. ``scvi.model.AUTOZI`` (anything with a ``device`` attribute).

    Returns
    -------
    dict
        ``device`` (e.g. ``"cpu"`` or ``"cuda:0"``) and ``device_name`` (the GPU's name, None
        for the CPU).
    """
    import torch

    device = torch.device(model.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {"device": str(device), "device_name": name}
