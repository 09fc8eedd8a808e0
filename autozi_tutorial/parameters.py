"""Checking a notebook's parameters before any data is loaded or any model is trained.

Each notebook's parameters are described once, in :data:`NOTEBOOK_PARAMETERS`: one
:class:`Parameter` per variable of its parameters cell, saying what it accepts, giving an
example and the test a value must pass. :func:`check_parameters` applies a notebook's
description to the values given and raises :class:`ParameterError` listing each bad parameter
with its value, what is accepted and an example; the checks read files and folders but change
nothing.

Papermill hands parameters over as they were typed (``-p n_top_genes 0`` arrives as the int 0,
``-p seeds "[0, 1]"`` as a string), so the checks take values as they come and turn them into
what the notebook uses where several forms are allowed (:func:`parse_seeds`).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from .data import check_dataset
from .devices import (
    ACCELERATORS,
    DEVICES_ACCEPTED,
    NOTEBOOK_DDP_STRATEGY,
    device_problems,
    resolve_accelerator,
)
from .errors import ParameterError, problem_message
from .fit import TRAINING_PRESETS
from .outputs import check_output_dir
from .validation import InputDataError

#: Largest seed Lightning and numpy accept.
MAX_SEED = 2**32 - 1


def _anything(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook: what it accepts, an example, and how a value is tested.

    Attributes
    ----------
    name
        The variable's name in the notebook's parameters cell.
    accepted
        What is accepted, in words; a value that fails ``valid`` is reported as
        ``name=value: expected <accepted>, e.g. `-p name <example>`.``
    example
        A value that works, shown in that message; None for no example.
    valid
        Test of the value on its own; the default accepts anything.
    check
        A further test for what needs more than the value (other parameters, files, the
        machine), run once ``valid`` passed: given the parameter, the value and all the
        notebook's values, it returns the whole message, or None when the value works.
    parse
        Turns the value into the one the notebook uses (e.g. :func:`parse_seeds`), run once
        both tests passed; a :class:`ParameterError` it raises is reported as the message.
    """

    name: str
    accepted: str
    example: Any = None
    valid: Callable[[Any], bool] = _anything
    check: Callable[[Parameter, Any, Mapping[str, Any]], str | None] | None = None
    parse: Callable[[Any], Any] | None = None

    def problem(self, value: Any) -> str:
        """The message for a ``value`` this parameter does not accept."""
        return problem_message(self.name, value, self.accepted, self.example)


# Tests of a value on its own.


def _is_whole(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _whole(low: int, high: int | None = None) -> Callable[[Any], bool]:
    """A whole number (not a bool, not a float) from ``low`` to ``high`` (no upper limit if None)."""
    return lambda value: _is_whole(value) and value >= low and (high is None or value <= high)


def _number(
    low: float | None = None, high: float | None = None, *, low_open: bool = False, high_open: bool = False
) -> Callable[[Any], bool]:
    """A finite real number (not a bool) between ``low`` and ``high``, each included unless open."""

    def test(value: Any) -> bool:
        if not _is_real(value):
            return False
        above = low is None or (value > low if low_open else value >= low)
        below = high is None or (value < high if high_open else value <= high)
        return above and below

    return test


def _optional(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """None, or a value that passes ``test``."""
    return lambda value: value is None or test(value)


def _one_of(choices: Mapping[str, Any] | tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in choices


def _key(value: Any) -> bool:
    """A column or layer name: a non-empty string."""
    return isinstance(value, str) and bool(value)


def _download_folder(value: Any) -> bool:
    """A path that is a folder, or nothing yet (it is created when needed)."""
    return isinstance(value, str | os.PathLike) and not (Path(value).exists() and not Path(value).is_dir())


def _existing_folder(value: Any) -> bool:
    return isinstance(value, str | os.PathLike) and Path(value).is_dir()


# Tests that need more than the value.


def _dataset(parameter: Parameter, value: Any, values: Mapping[str, Any]) -> str | None:
    """A dataset name, or a ``.h5ad`` file that exists and is HDF5 (see :func:`check_dataset`)."""
    try:
        check_dataset(value)
    except InputDataError as error:
        return str(error)
    return None


def _output_dir(parameter: Parameter, value: Any, values: Mapping[str, Any]) -> str | None:
    """A folder a run can (re)place with its result (see :func:`check_output_dir`)."""
    problem = check_output_dir(value)
    return None if problem is None else f"{parameter.name}={value!r}: {problem}"


def _training_device(parameter: Parameter, value: Any, values: Mapping[str, Any]) -> str | None:
    """``accelerator``, ``devices`` and ``strategy`` together (see :func:`device_problems`)."""
    settings = {name: values.get(name, "auto") for name in ("accelerator", "devices", "strategy")}
    problems = [problem for problem in device_problems(**settings) if problem.name == parameter.name]
    return problems[0].message() if problems else None


def _not_below(other: str) -> Callable[[Parameter, Any, Mapping[str, Any]], str | None]:
    """At least the parameter ``other``, when that one is a number."""

    def check(parameter: Parameter, value: Any, values: Mapping[str, Any]) -> str | None:
        low = values.get(other)
        return parameter.problem(value) if _is_real(low) and value < low else None

    return check


def parse_seeds(seeds: Any) -> list[int]:
    """Turn the ``seeds`` parameter, however papermill delivered it, into a list of seeds.

    Accepts a whole number (``-p seeds 0``), a list (``-y "seeds: [0, 1]"``, or Python), or a
    string holding either (``-p seeds "[0, 1]"``, ``-p seeds "0,1"``).

    Parameters
    ----------
    seeds
        The value to read.

    Returns
    -------
    list of int
        Distinct seeds in the order given; ``seeds`` itself is not changed.

    Raises
    ------
    ParameterError
        When the value is not one or more distinct whole numbers from 0 to 2**32 - 1.
    """
    values = seeds
    if isinstance(seeds, str):
        text = seeds.strip()
        try:
            if text.startswith("["):
                values = json.loads(text)
            else:
                values = [int(part) for part in re.split(r"[,\s]+", text)]
        except ValueError:
            values = None
    if _is_whole(values):
        values = [values]
    ok = (
        isinstance(values, list | tuple)
        and len(values) > 0
        and all(_is_whole(seed) and 0 <= seed <= MAX_SEED for seed in values)
        and len(set(values)) == len(values)
    )
    if not ok:
        raise ParameterError(
            f"seeds={seeds!r}: expected one whole number from 0 to {MAX_SEED} or a list of distinct "
            'ones, e.g. `-p seeds 0`, `-p seeds "[0, 1]"` or `-y "seeds: [0, 1]"`.'
        )
    return [int(seed) for seed in values]


_KEY = "a column or layer name (a non-empty string) or None"
_THRESHOLD = Parameter(
    "threshold",
    "a number in [0, 1) (a gene is called ZI when q(delta < 0.5) exceeds it)",
    0.5,
    _number(0, 1, high_open=True),
)
_OUTPUT_DIR = Parameter("output_dir", "the path of a folder for the results", check=_output_dir)

#: The main lesson's parameters (``notebooks/autozi_pbmc.py``), in the order of its cells of
#: parameters: the learner's (tagged ``learner-parameters``), then the advanced ones (tagged
#: ``parameters``, which papermill replaces).
AUTOZI_PBMC: tuple[Parameter, ...] = (
    Parameter(
        "dataset", "'auto', 'pbmc', 'pbmc68k' or the path of a .h5ad file of raw counts", check=_dataset
    ),
    _THRESHOLD,
    Parameter("n_top_genes", "a whole number >= 1", 1000, _whole(1)),
    Parameter("expression_cutoff", "a number >= 0 (mean raw count per cell)", 1.0, _number(0)),
    Parameter("seed", f"a whole number from 0 to {MAX_SEED}", 0, _whole(0, MAX_SEED)),
    _OUTPUT_DIR,
    Parameter(
        "data_dir", "the path of a folder for downloads (created if missing)", "data", _download_folder
    ),
    Parameter("counts_layer", _KEY, "None", _optional(_key)),
    Parameter("labels_key", _KEY, "None", _optional(_key)),
    Parameter("batch_key", _KEY, "None", _optional(_key)),
    Parameter("preset", f"one of {sorted(TRAINING_PRESETS)}", "default", _one_of(TRAINING_PRESETS)),
    Parameter("max_epochs", "a whole number >= 1, or None for the preset's", 200, _optional(_whole(1))),
    Parameter(
        "lr",
        "a learning rate in (0, 1], or None for the preset's",
        0.01,
        _optional(_number(0, 1, low_open=True)),
    ),
    Parameter("accelerator", f"one of {list(ACCELERATORS)}", "cpu", check=_training_device),
    Parameter("devices", DEVICES_ACCEPTED, 1, check=_training_device),
    Parameter(
        "strategy",
        "'auto', or a DDP strategy that allows AUTOZI's unused parameters for several devices",
        NOTEBOOK_DDP_STRATEGY,
        check=_training_device,
    ),
)

#: The simulation lesson's parameters (``notebooks/autozi_simulation.py``), in the same order.
AUTOZI_SIMULATION: tuple[Parameter, ...] = (
    Parameter("n_cells", "a whole number >= 10", 1500, _whole(10)),
    Parameter("n_genes", "a whole number >= 1", 200, _whole(1)),
    Parameter("zi_share", "a share of genes in [0, 1]", 0.5, _number(0, 1)),
    Parameter("max_epochs", "a whole number >= 1", 100, _whole(1)),
    Parameter(
        "seeds", f"one whole number from 0 to {MAX_SEED} or a list of distinct ones", 0, parse=parse_seeds
    ),
    _THRESHOLD,
    Parameter("fdr", "a false discovery rate in (0, 1)", 0.05, _number(0, 1, low_open=True, high_open=True)),
    _OUTPUT_DIR,
    Parameter("n_cell_types", "a whole number >= 1", 3, _whole(1)),
    Parameter("dropout_low", "a probability in [0, 1)", 0.1, _number(0, 1, high_open=True)),
    Parameter(
        "dropout_high",
        "a probability in [0, 1), at least dropout_low",
        0.4,
        _number(0, 1, high_open=True),
        check=_not_below("dropout_low"),
    ),
    Parameter("n_spike_ins", "a whole number >= 0", 30, _whole(0)),
    Parameter(
        "pln_dir",
        "None or an existing folder with the paper's PLN parameters",
        "None",
        _optional(_existing_folder),
    ),
)

#: Each notebook's parameters, by the notebook's name (its file name without the extension).
NOTEBOOK_PARAMETERS: dict[str, tuple[Parameter, ...]] = {
    "autozi_pbmc": AUTOZI_PBMC,
    "autozi_simulation": AUTOZI_SIMULATION,
}


def check_parameters(notebook: str, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check every parameter of a notebook at once, and return them as the notebook uses them.

    Parameters
    ----------
    notebook
        The notebook's name, a key of :data:`NOTEBOOK_PARAMETERS`: ``"autozi_pbmc"`` or
        ``"autozi_simulation"``.
    values
        The parameters' values by name; other names are ignored. None reads them from the
        caller's global names, which in a notebook are the variables its cells set.

    Returns
    -------
    dict
        Every parameter of the notebook by name: the value given, or the form the notebook
        uses where several are accepted (``seeds`` as a list of int, see :func:`parse_seeds`;
        ``accelerator="auto"`` as :func:`~autozi_tutorial.devices.resolve_accelerator` turns it,
        before it is checked).

    Raises
    ------
    ParameterError
        Listing every parameter that cannot be used (or is missing from ``values``), with its
        value, what is accepted and an example; a ``dataset`` file that is missing or not a
        readable ``.h5ad`` and an ``output_dir`` a run cannot replace are named too.
    ValueError
        For a ``notebook`` that is not described here, or an ``AUTOZI_ACCELERATOR``
        environment variable that names no accelerator.
    """
    if notebook not in NOTEBOOK_PARAMETERS:
        raise ValueError(f"notebook={notebook!r}: expected one of {sorted(NOTEBOOK_PARAMETERS)}.")
    if values is None:
        values = sys._getframe(1).f_globals
    if "accelerator" in values:
        values = {**values, "accelerator": resolve_accelerator(values["accelerator"])}
    messages: list[str] = []
    checked: dict[str, Any] = {}
    for parameter in NOTEBOOK_PARAMETERS[notebook]:
        if parameter.name not in values:
            messages.append(f"{parameter.name} is not set: expected {parameter.accepted}.")
            continue
        value = values[parameter.name]
        message = None if parameter.valid(value) else parameter.problem(value)
        if message is None and parameter.check is not None:
            message = parameter.check(parameter, value, values)
        if message is None and parameter.parse is not None:
            try:
                value = parameter.parse(value)
            except ParameterError as error:
                message = str(error)
        if message is None:
            checked[parameter.name] = value
        else:
            messages.append(message)
    if messages:
        raise ParameterError.listing(messages)
    return checked
