"""Checking a notebook's parameters before any data is loaded or any model is trained.

Papermill hands parameters over as they were typed (``-p n_top_genes 0`` arrives as the int 0,
``-p seeds "[0, 1]"`` as a string), so every parameter is checked here first. A failed check
raises :class:`ParameterError` listing each bad parameter with its value, what is accepted and
an example; the checks read files and folders but change nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from .data import check_dataset
from .devices import ACCELERATORS, accelerator_unavailable
from .fit import TRAINING_PRESETS
from .results import RESULTS_FILE
from .validation import InputDataError

#: Largest seed Lightning and numpy accept.
MAX_SEED = 2**32 - 1
#: File a run writes into its result folder, listing the files of that result.
RESULT_MANIFEST = ".autozi-result.json"
#: Files the notebooks write at the top of a result folder (besides ``figures/*.png``).
KNOWN_RESULT_FILES = frozenset(
    {"summary.json", "gene_zi.csv", "gene_label_zi.csv", RESULTS_FILE, "gene_scores.csv", "error_rates.csv"}
)


class ParameterError(ValueError):
    """A parameter has a value the run cannot use; the message names it, the value and what is accepted."""


class _Problems:
    """Collects one message per bad parameter, so that a user sees them all at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, name: str, value: Any, accepted: str, example: Any = None) -> None:
        hint = "" if example is None else f", e.g. `-p {name} {example}`"
        self.messages.append(f"{name}={value!r}: expected {accepted}{hint}.")

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        if len(self.messages) == 1:
            raise ParameterError(self.messages[0] + " Nothing was loaded or trained.")
        listing = "\n".join(f"- {message}" for message in self.messages)
        raise ParameterError(
            f"{len(self.messages)} parameters cannot be used; nothing was loaded or trained:\n{listing}"
        )


def _is_whole(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _whole(problems: _Problems, name: str, value: Any, low: int, high: int | None = None, *, example: Any):
    if _is_whole(value) and value >= low and (high is None or value <= high):
        return
    accepted = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"
    problems.add(name, value, accepted, example)


def _optional_key(problems: _Problems, name: str, value: Any) -> None:
    if value is not None and not (isinstance(value, str) and value):
        problems.add(name, value, "a column or layer name (a non-empty string) or None", "None")


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


def _check_devices(problems: _Problems, devices: Any, accelerator: str, strategy: Any) -> None:
    """``devices`` in one of Lightning's forms, not more GPUs than present, and a strategy for several."""
    if isinstance(devices, str) and re.fullmatch(r"\s*(-1|\d+|\d+(\s*,\s*\d+)+)\s*", devices):
        parts = [int(part) for part in devices.split(",")]
        count = parts[0] if len(parts) == 1 else len(parts)
    elif _is_whole(devices) and (devices >= 1 or devices == -1):
        parts, count = [int(devices)], int(devices)
    elif isinstance(devices, list | tuple) and devices and all(_is_whole(d) and d >= 0 for d in devices):
        parts, count = [int(d) for d in devices], len(devices)
    elif devices == "auto":
        return
    else:
        accepted = "'auto', a number of devices >= 1 (-1 for all), or a list of device indices"
        problems.add("devices", devices, accepted, 1)
        return
    if accelerator in ("gpu", "cuda") and not accelerator_unavailable(accelerator):
        import torch

        available = torch.cuda.device_count()
        listed = isinstance(devices, list | tuple) or (isinstance(devices, str) and "," in devices)
        wanted = max(parts) + 1 if listed else count
        if wanted > available:
            problems.add("devices", devices, f"at most the {available} GPU(s) this machine has", 1)
        count = available if count == -1 else count
    if count != 1 and strategy == "auto":
        problems.add(
            "strategy",
            strategy,
            f"a DDP strategy that allows unused parameters when devices={devices!r} (AUTOZI has "
            "parameters some steps leave unused)",
            "ddp_notebook_find_unused_parameters_true",
        )


def _ddp_strategies() -> list[str]:
    from lightning.pytorch.strategies import StrategyRegistry

    return sorted(
        name
        for name in StrategyRegistry.available_strategies()
        if name.startswith("ddp") and name.endswith("_find_unused_parameters_true")
    )


def _check_strategy(problems: _Problems, strategy: Any) -> None:
    from lightning.pytorch.strategies import Strategy

    if strategy == "auto" or isinstance(strategy, Strategy):
        return
    accepted = _ddp_strategies()
    if strategy not in accepted:
        problems.add(
            "strategy",
            strategy,
            f"'auto' or a DDP strategy that allows AUTOZI's unused parameters: {accepted}",
            "ddp_notebook_find_unused_parameters_true",
        )


def _check_accelerator(problems: _Problems, accelerator: Any) -> None:
    if accelerator not in ACCELERATORS:
        problems.add("accelerator", accelerator, f"one of {list(ACCELERATORS)}", "cpu")
        return
    reason = accelerator_unavailable(accelerator)
    if reason:
        problems.add("accelerator", accelerator, f"an accelerator this machine has, but {reason}", "cpu")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _files(folder: Path) -> list[str]:
    """Every file under ``folder`` (links included, not followed), as POSIX paths relative to it."""
    paths = [path for path in folder.rglob("*") if path.is_file() or path.is_symlink()]
    return sorted(path.relative_to(folder).as_posix() for path in paths)


def _is_notebook(relative: str) -> bool:
    """Executed notebooks (papermill may save its output into the result folder) and their checkpoints."""
    return relative.endswith(".ipynb") or relative.startswith(".ipynb_checkpoints/")


def previous_result_files(folder: Path) -> set[str]:
    """The files of an earlier result in ``folder``, which a new result replaces.

    The manifest a run writes lists them. A folder without one (written before manifests
    existed) counts as an earlier result when it holds only files these notebooks write
    (:data:`KNOWN_RESULT_FILES`, ``figures/*.png``) and notebooks.
    """
    manifest = folder / RESULT_MANIFEST
    try:
        return {*json.loads(manifest.read_text())["files"], RESULT_MANIFEST}
    except (OSError, ValueError, KeyError, TypeError):
        return {
            name
            for name in _files(folder)
            if name in KNOWN_RESULT_FILES or (name.startswith("figures/") and name.endswith(".png"))
        }


def _foreign_files(folder: Path) -> list[str]:
    """Files of an existing result folder that a run would have to delete although no run wrote
    them; files beside a manifest's result are carried over instead, so only a folder without
    one can have any."""
    if (folder / RESULT_MANIFEST).is_file():
        return []
    owned = previous_result_files(folder)
    return [name for name in _files(folder) if name not in owned and not _is_notebook(name)]


def check_output_dir(output_dir: str | os.PathLike) -> str | None:
    """Why a run cannot write its result folder to ``output_dir``, or None when it can.

    A run writes a complete folder beside ``output_dir`` and then swaps it in, so
    ``output_dir`` must not be a file, a link, the current folder or one containing it; its
    parent must be writable; and an existing ``output_dir`` must hold an earlier result and
    executed notebooks (see :func:`previous_result_files`), never unrelated files that the swap
    would delete. Nothing is created or changed, except a temporary folder made and removed to
    test writability.

    Parameters
    ----------
    output_dir
        The folder a run is asked to write to.

    Returns
    -------
    str or None
        The problem, in words, or None.
    """
    if not isinstance(output_dir, str | os.PathLike) or not str(output_dir).strip():
        return "expected the path of a folder (a non-empty string)."
    target = Path(os.path.abspath(output_dir))
    if target == target.parent:
        return "the filesystem root cannot be a result folder; name a folder inside it."
    if Path.cwd() == target or target in Path.cwd().parents:
        return (
            f"{target} is the current folder or contains it, and a run replaces the whole result "
            "folder; name a new folder such as 'results'."
        )
    if target.is_symlink():
        return f"{target} is a symbolic link; give the folder it points to, or a new folder."
    if target.exists() and not target.is_dir():
        return f"{target} exists and is not a folder; choose another name."
    if target.is_dir():
        foreign = _foreign_files(target)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            return (
                f"{target} already holds files that no earlier run of these notebooks wrote ({shown}); a "
                "run replaces the whole result folder, so choose a new or empty folder, or move them."
            )
    ancestor = _nearest_existing(target.parent)
    if not ancestor.is_dir():
        return f"{ancestor} is not a folder, so {target} cannot be created inside it."
    try:
        shutil.rmtree(tempfile.mkdtemp(prefix=".autozi-write-test-", dir=ancestor))
    except OSError as error:
        return f"cannot write in {ancestor} ({error.strerror or error}); choose a writable location."
    return None


def _check_common(problems: _Problems, max_epochs: Any, threshold: Any, output_dir: Any) -> None:
    if max_epochs is not None:
        _whole(problems, "max_epochs", max_epochs, 1, example=200)
    if not (_is_real(threshold) and 0 <= threshold < 1):
        problems.add(
            "threshold",
            threshold,
            "a number in [0, 1) (a gene is called ZI when q(delta < 0.5) exceeds it)",
            0.5,
        )
    problem = check_output_dir(output_dir)
    if problem:
        problems.messages.append(f"output_dir={output_dir!r}: {problem}")


def check_run_parameters(
    *,
    dataset: Any = "auto",
    data_dir: Any = "data",
    counts_layer: Any = None,
    labels_key: Any = None,
    batch_key: Any = None,
    n_top_genes: Any = 1000,
    preset: Any = "default",
    max_epochs: Any = None,
    lr: Any = None,
    threshold: Any = 0.5,
    expression_cutoff: Any = 1.0,
    seed: Any = 0,
    accelerator: Any = "auto",
    devices: Any = "auto",
    strategy: Any = "auto",
    output_dir: Any = "results",
) -> None:
    """Check every parameter of the main notebook (``notebooks/autozi_pbmc.ipynb``).

    Parameters
    ----------
    dataset, data_dir, counts_layer, labels_key, batch_key, n_top_genes, preset, max_epochs, lr, \
threshold, expression_cutoff, seed, accelerator, devices, strategy, output_dir
        The notebook's parameters, as given (see the README's parameter table).

    Raises
    ------
    ParameterError
        Listing every parameter that cannot be used, with its value, what is accepted and an
        example; a ``dataset`` file that is missing or not a readable ``.h5ad`` is named too.
    """
    problems = _Problems()
    try:
        check_dataset(dataset)
    except InputDataError as error:
        problems.messages.append(str(error))
    is_path = isinstance(data_dir, str | os.PathLike)
    if not is_path or (Path(data_dir).exists() and not Path(data_dir).is_dir()):
        problems.add("data_dir", data_dir, "the path of a folder for downloads (created if missing)", "data")
    for name, value in (("counts_layer", counts_layer), ("labels_key", labels_key), ("batch_key", batch_key)):
        _optional_key(problems, name, value)
    _whole(problems, "n_top_genes", n_top_genes, 1, example=1000)
    if preset not in TRAINING_PRESETS:
        problems.add("preset", preset, f"one of {sorted(TRAINING_PRESETS)}", "default")
    if lr is not None and not (_is_real(lr) and 0 < lr <= 1):
        problems.add("lr", lr, "a learning rate in (0, 1], or None for the preset's", 0.01)
    if not (_is_real(expression_cutoff) and expression_cutoff >= 0):
        problems.add("expression_cutoff", expression_cutoff, "a number >= 0 (mean raw count per cell)", 1.0)
    _whole(problems, "seed", seed, 0, MAX_SEED, example=0)
    _check_accelerator(problems, accelerator)
    _check_devices(problems, devices, accelerator, strategy)
    _check_strategy(problems, strategy)
    _check_common(problems, max_epochs, threshold, output_dir)
    problems.raise_if_any()


def check_simulation_parameters(
    *,
    n_cells: Any,
    n_genes: Any,
    n_cell_types: Any,
    zi_share: Any,
    dropout_low: Any,
    dropout_high: Any,
    n_spike_ins: Any,
    max_epochs: Any,
    seeds: Any,
    threshold: Any,
    fdr: Any,
    pln_dir: Any,
    output_dir: Any,
) -> list[int]:
    """Check every parameter of the simulation notebook and return its seeds as a list.

    Parameters
    ----------
    n_cells, n_genes, n_cell_types, zi_share, dropout_low, dropout_high, n_spike_ins, \
max_epochs, seeds, threshold, fdr, pln_dir, output_dir
        The notebook's parameters, as given.

    Returns
    -------
    list of int
        ``seeds`` read with :func:`parse_seeds`.

    Raises
    ------
    ParameterError
        Listing every parameter that cannot be used, with its value and what is accepted.
    """
    problems = _Problems()
    _whole(problems, "n_cells", n_cells, 10, example=1500)
    _whole(problems, "n_genes", n_genes, 1, example=200)
    _whole(problems, "n_cell_types", n_cell_types, 1, example=3)
    _whole(problems, "n_spike_ins", n_spike_ins, 0, example=30)
    if not (_is_real(zi_share) and 0 <= zi_share <= 1):
        problems.add("zi_share", zi_share, "a share of genes in [0, 1]", 0.5)
    if not (_is_real(dropout_low) and 0 <= dropout_low < 1):
        problems.add("dropout_low", dropout_low, "a probability in [0, 1)", 0.1)
    if not (_is_real(dropout_high) and 0 <= dropout_high < 1) or (
        _is_real(dropout_low) and _is_real(dropout_high) and dropout_high < dropout_low
    ):
        problems.add("dropout_high", dropout_high, "a probability in [0, 1), at least dropout_low", 0.4)
    if not (_is_real(fdr) and 0 < fdr < 1):
        problems.add("fdr", fdr, "a false discovery rate in (0, 1)", 0.05)
    if pln_dir is not None and not (isinstance(pln_dir, str | os.PathLike) and Path(pln_dir).is_dir()):
        problems.add("pln_dir", pln_dir, "None or an existing folder with the paper's PLN parameters", "None")
    _check_common(problems, max_epochs, threshold, output_dir)
    if max_epochs is None:
        problems.add("max_epochs", max_epochs, "a whole number >= 1", 100)
    try:
        parsed = parse_seeds(seeds)
    except ParameterError as error:
        problems.messages.append(str(error))
    problems.raise_if_any()
    return parsed
