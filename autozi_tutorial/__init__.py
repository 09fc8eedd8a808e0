"""Find zero-inflated genes in single-cell counts: AUTOZI's calls, the ZI test, lessons' helpers.

Public tools follow scanpy: :mod:`~autozi_tutorial.tl` writes results onto an AnnData,
:mod:`~autozi_tutorial.get` reads them back as tidy tables, :mod:`~autozi_tutorial.pl` draws
them. The rest serves the lessons: loading and checking data, simulation with known truth,
error rates against it, and writing a run's result folder.

Every name is imported on first use (PEP 562): ``import autozi_tutorial`` loads none of
torch, scvi-tools, scanpy or anndata, so that ``python -m autozi_tutorial check`` can report a
missing or broken package instead of failing on it.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("autozi-tutorial")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

#: Submodules, reachable as attributes (``azt.tl``, ``azt.cell_states``) once asked for.
_SUBMODULES = frozenset(
    {
        "cell_states",
        "data",
        "descriptions",
        "devices",
        "errors",
        "estimate",
        "evaluation",
        "figures",
        "fit",
        "get",
        "lrt",
        "messages",
        "outputs",
        "parameters",
        "pl",
        "progress",
        "reports",
        "results",
        "simulation",
        "tl",
        "training_plan",
        "validation",
        "versions",
        "zi",
    }
)
#: Each public function, class and constant, by the module that defines it.
_DEFINED_IN = {
    "ACCELERATOR_ENV": "devices",
    "add_zero_inflation": "simulation",
    "answer": "reports",
    "lesson_summary": "reports",
    "lesson_training": "fit",
    "DATASET_DEFAULTS": "data",
    "METHODS": "evaluation",
    "TRAINING_PRESETS": "fit",
    "InputDataError": "validation",
    "LessonFigures": "figures",
    "LoadedDataset": "data",
    "ParameterError": "parameters",
    "TrainingProgress": "progress",
    "call_metrics": "evaluation",
    "call_zi": "zi",
    "check_autozi_priors": "zi",
    "check_dataset": "data",
    "check_parameters": "parameters",
    "compare_descriptions": "descriptions",
    "counts_matrix": "validation",
    "drop_cells_without_counts": "data",
    "error_rate_summary": "evaluation",
    "estimate_run": "estimate",
    "evaluate_methods": "evaluation",
    "fit_autozi": "fit",
    "fit_autozi_model": "fit",
    "inject_zeros": "simulation",
    "load_dataset": "data",
    "load_pbmc": "data",
    "load_pbmc68k": "data",
    "load_pln_parameters": "simulation",
    "package_versions": "versions",
    "parse_seeds": "parameters",
    "positive_control": "simulation",
    "positive_control_report": "reports",
    "readable": "reports",
    "quiet_lesson": "messages",
    "read_results": "results",
    "registry_labels": "zi",
    "resolve_accelerator": "devices",
    "resolved_device": "devices",
    "device_in_words": "devices",
    "roc_points": "evaluation",
    "score_simulated_genes": "evaluation",
    "seed_agreement": "evaluation",
    "simulate_batches": "simulation",
    "simulate_bursty": "simulation",
    "simulate_hidden_states": "simulation",
    "simulate_nb": "simulation",
    "simulate_pln": "simulation",
    "simulate_trajectory": "simulation",
    "training_arguments": "fit",
    "training_device": "devices",
    "validate_anndata": "validation",
    "validate_counts": "validation",
    "write_outputs": "outputs",
    "write_results": "outputs",
    "zi_probability": "zi",
}

__all__ = [
    "ACCELERATOR_ENV",
    "DATASET_DEFAULTS",
    "METHODS",
    "TRAINING_PRESETS",
    "InputDataError",
    "LessonFigures",
    "LoadedDataset",
    "ParameterError",
    "TrainingProgress",
    "add_zero_inflation",
    "answer",
    "call_metrics",
    "call_zi",
    "check_autozi_priors",
    "check_dataset",
    "check_parameters",
    "compare_descriptions",
    "counts_matrix",
    "device_in_words",
    "drop_cells_without_counts",
    "error_rate_summary",
    "evaluate_methods",
    "fit_autozi",
    "fit_autozi_model",
    "get",
    "inject_zeros",
    "lesson_summary",
    "lesson_training",
    "load_dataset",
    "load_pbmc",
    "load_pbmc68k",
    "load_pln_parameters",
    "lrt",
    "package_versions",
    "parse_seeds",
    "pl",
    "positive_control",
    "positive_control_report",
    "quiet_lesson",
    "read_results",
    "readable",
    "registry_labels",
    "resolve_accelerator",
    "resolved_device",
    "roc_points",
    "score_simulated_genes",
    "seed_agreement",
    "simulate_batches",
    "simulate_bursty",
    "simulate_hidden_states",
    "simulate_nb",
    "simulate_pln",
    "simulate_trajectory",
    "tl",
    "training_arguments",
    "training_device",
    "validate_anndata",
    "validate_counts",
    "write_outputs",
    "write_results",
    "zi_probability",
]


def __getattr__(name: str) -> Any:
    """Import a submodule, or the module defining a public name, the first time it is asked for.

    Parameters
    ----------
    name : str
        A submodule (``"tl"``) or a public name (``"simulate_nb"``).

    Returns
    -------
    object
        The submodule, or the object the name stands for (kept here for later look-ups).

    Raises
    ------
    AttributeError
        When the package has no such submodule or public name.
    """
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    if name not in _DEFINED_IN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_DEFINED_IN[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's attributes with every public name and submodule, imported or not yet."""
    return sorted({*globals(), *__all__, *_SUBMODULES})
