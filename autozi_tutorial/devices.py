"""Where training runs: the accelerator switch for tests and CI, and the device a model actually used.

Setting the environment variable ``AUTOZI_ACCELERATOR`` to ``"cpu"`` or ``"gpu"`` makes every
``accelerator="auto"`` in the notebooks and in :func:`autozi_tutorial.fit_autozi` mean that
accelerator instead, so one switch runs a whole test suite (papermill and nbval alike) on the
CPU or on the GPU. Explicit values such as ``accelerator="cpu"`` are never overridden.

:func:`device_problems` is the one check of the training-device settings (``accelerator``,
``devices``, ``strategy``): the notebooks' parameter checks use it, and scripts call
:func:`check_devices` before training.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from numbers import Integral
from typing import Any

from .errors import ParameterError, problem_message

#: Environment variable that replaces ``accelerator="auto"`` (the test suite's CPU/GPU switch).
ACCELERATOR_ENV = "AUTOZI_ACCELERATOR"
#: Accelerators the tutorials accept (Lightning names; ``"cuda"`` is a synonym of ``"gpu"``).
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
#: The strategy for several devices in a notebook or under papermill (one machine).
NOTEBOOK_DDP_STRATEGY = "ddp_notebook_find_unused_parameters_true"
#: What ``devices`` accepts, in words (Lightning's forms).
DEVICES_ACCEPTED = "'auto', a number of devices >= 1 (-1 for all), or a list of device indices"


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


def device_in_words(accelerator: str) -> str:
    """Where the models will train, in words for a learner, e.g. ``"the CPU (no GPU found)"``.

    Parameters
    ----------
    accelerator
        A checked accelerator (``"cpu"``, ``"gpu"``, ``"cuda"``, ``"mps"`` or ``"auto"``, which
        Lightning turns into a CUDA GPU, else Apple's GPU, else the CPU).

    Returns
    -------
    str
        The device, with the GPU's name where there is one.
    """
    device = resolved_device(accelerator)
    if device["device"] == "cuda:0":
        found = ", found automatically" if accelerator == "auto" else ""
        return f"the GPU ({device['device_name']}{found})"
    if device["device"] == "mps":
        return "Apple's GPU (MPS)"
    return "the CPU (no GPU found)" if accelerator == "auto" else "the CPU"


def resolved_device(accelerator: str) -> dict[str, str | None]:
    """Where Lightning trains for a checked ``accelerator``, in :func:`training_device`'s form.

    Parameters
    ----------
    accelerator
        As for :func:`device_in_words` (``"auto"``: a CUDA GPU, else Apple's GPU, else the CPU).

    Returns
    -------
    dict
        ``device`` (``"cuda:0"``, ``"mps"`` or ``"cpu"``) and ``device_name`` (the CUDA GPU's
        name, None otherwise), for a run's summary when no trained model is at hand.
    """
    import torch

    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return {"device": "cuda:0", "device_name": torch.cuda.get_device_name(0)}
    if accelerator in ("mps", "auto") and torch.backends.mps.is_available():
        return {"device": "mps", "device_name": None}
    return {"device": "cpu", "device_name": None}


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


@dataclass(frozen=True)
class DeviceProblem:
    """Why one training-device setting cannot be used.

    Attributes
    ----------
    name
        ``"accelerator"``, ``"devices"`` or ``"strategy"``.
    value
        The value given.
    accepted
        What is accepted instead, in words.
    example
        A value that works.
    """

    name: str
    value: Any
    accepted: str
    example: Any

    def message(self) -> str:
        """The problem in the words of every parameter check (see :mod:`autozi_tutorial.errors`)."""
        return problem_message(self.name, self.value, self.accepted, self.example)


def ddp_strategies() -> list[str]:
    """Lightning's DDP strategies that train AUTOZI: the ``*_find_unused_parameters_true`` ones.

    AUTOZI has parameters that some training steps do not use, which plain DDP rejects (after
    starting the processes). In a notebook or under papermill use
    ``"ddp_notebook_find_unused_parameters_true"``; in a script
    ``"ddp_find_unused_parameters_true"`` (the script re-launched per device) or
    ``"ddp_spawn_find_unused_parameters_true"``.
    """
    from lightning.pytorch.strategies import StrategyRegistry

    return sorted(
        name
        for name in StrategyRegistry.available_strategies()
        if name.startswith("ddp") and name.endswith("_find_unused_parameters_true")
    )


def _is_whole(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _device_count(devices: Any) -> tuple[list[int], int] | None:
    """The indices or count given in one of Lightning's forms of ``devices``, and how many devices
    that is (-1: all); None for ``"auto"``; raises ValueError for anything else."""
    if isinstance(devices, str) and re.fullmatch(r"\s*(-1|\d+|\d+(\s*,\s*\d+)+)\s*", devices):
        parts = [int(part) for part in devices.split(",")]
        return parts, parts[0] if len(parts) == 1 else len(parts)
    if _is_whole(devices) and (devices >= 1 or devices == -1):
        return [int(devices)], int(devices)
    if isinstance(devices, list | tuple) and devices and all(_is_whole(d) and d >= 0 for d in devices):
        return [int(d) for d in devices], len(devices)
    if isinstance(devices, str) and devices == "auto":
        return None
    raise ValueError(devices)


def device_problems(
    accelerator: Any = "auto", devices: Any = "auto", strategy: Any = "auto"
) -> list[DeviceProblem]:
    """Every reason these training-device settings cannot train AUTOZI on this machine.

    ``accelerator`` must be one of :data:`ACCELERATORS` that this machine has; ``devices`` one
    of Lightning's forms, with no more GPUs than present; ``strategy`` ``"auto"``, a Lightning
    ``Strategy`` or one of :func:`ddp_strategies`, and a DDP one when ``devices`` asks for more
    than one device. Nothing is started.

    Parameters
    ----------
    accelerator, devices, strategy
        As they would be passed to ``AUTOZI.train`` (after :func:`resolve_accelerator`).

    Returns
    -------
    list of DeviceProblem
        At most one per setting, in the order accelerator, devices, strategy; empty when they work.
    """
    problems: list[DeviceProblem] = []
    usable_accelerator = isinstance(accelerator, str) and accelerator in ACCELERATORS
    if not usable_accelerator:
        problems.append(DeviceProblem("accelerator", accelerator, f"one of {list(ACCELERATORS)}", "cpu"))
    else:
        reason = accelerator_unavailable(accelerator)
        if reason:
            accepted = f"an accelerator this machine has, but {reason}"
            problems.append(DeviceProblem("accelerator", accelerator, accepted, "cpu"))
    try:
        counted = _device_count(devices)
    except ValueError:
        problems.append(DeviceProblem("devices", devices, DEVICES_ACCEPTED, 1))
        counted = None
    strategy_problem = _strategy_problem(strategy)
    if counted is not None:
        parts, count = counted
        if usable_accelerator and accelerator in ("gpu", "cuda") and not accelerator_unavailable(accelerator):
            import torch

            available = torch.cuda.device_count()
            listed = isinstance(devices, list | tuple) or (isinstance(devices, str) and "," in devices)
            if (max(parts) + 1 if listed else count) > available:
                accepted = f"at most the {available} GPU(s) this machine has"
                problems.append(DeviceProblem("devices", devices, accepted, 1))
            count = available if count == -1 else count
        if count != 1 and isinstance(strategy, str) and strategy == "auto":
            accepted = (
                f"a DDP strategy that allows unused parameters when devices={devices!r} (AUTOZI has "
                "parameters some steps leave unused)"
            )
            strategy_problem = DeviceProblem("strategy", strategy, accepted, NOTEBOOK_DDP_STRATEGY)
    if strategy_problem is not None:
        problems.append(strategy_problem)
    return problems


def _strategy_problem(strategy: Any) -> DeviceProblem | None:
    """``strategy`` is neither ``"auto"``, a Lightning ``Strategy`` nor one of :func:`ddp_strategies`."""
    from lightning.pytorch.strategies import Strategy

    if isinstance(strategy, Strategy) or (isinstance(strategy, str) and strategy == "auto"):
        return None
    accepted = ddp_strategies()
    if isinstance(strategy, str) and strategy in accepted:
        return None
    return DeviceProblem(
        "strategy",
        strategy,
        f"'auto' or a DDP strategy that allows AUTOZI's unused parameters: {accepted}",
        NOTEBOOK_DDP_STRATEGY,
    )


def check_devices(accelerator: Any = "auto", devices: Any = "auto", strategy: Any = "auto") -> None:
    """Refuse training-device settings that cannot train AUTOZI here, before any process starts.

    For scripts: the notebooks check these settings with their other parameters. Plain DDP
    strategies (``"ddp"``, ``"ddp_spawn"``, ...) are refused, naming those that work (see
    :func:`ddp_strategies`).

    Parameters
    ----------
    accelerator, devices, strategy
        As they would be passed to ``AUTOZI.train``.

    Raises
    ------
    autozi_tutorial.errors.ParameterError
        A ``ValueError`` listing every problem of :func:`device_problems`.
    """
    problems = device_problems(accelerator, devices, strategy)
    if problems:
        raise ParameterError.listing([problem.message() for problem in problems])
