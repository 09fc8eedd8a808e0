"""Find zero-inflated genes in single-cell counts: AUTOZI's calls, the ZI test, lessons' helpers.

Public tools follow scanpy: :mod:`~autozi_tutorial.tl` writes results onto an AnnData,
:mod:`~autozi_tutorial.get` reads them back as tidy tables, :mod:`~autozi_tutorial.pl` draws
them. The rest serves the lessons: loading and checking data, simulation with known truth,
error rates against it, and writing a run's result folder.
"""

from . import get, lrt, pl, tl
from .data import (
    DATASET_DEFAULTS,
    LoadedDataset,
    check_dataset,
    drop_cells_without_counts,
    load_dataset,
    load_pbmc,
    load_pbmc68k,
)
from .devices import ACCELERATOR_ENV, resolve_accelerator, training_device
from .evaluation import (
    METHODS,
    call_metrics,
    error_rate_summary,
    evaluate_methods,
    roc_points,
    score_simulated_genes,
    seed_agreement,
)
from .fit import TRAINING_PRESETS, fit_autozi, fit_autozi_model, training_arguments
from .outputs import write_outputs, write_results
from .parameters import ParameterError, check_parameters, parse_seeds
from .progress import TrainingProgress
from .results import read_results
from .simulation import (
    inject_zeros,
    load_pln_parameters,
    simulate_batches,
    simulate_bursty,
    simulate_hidden_states,
    simulate_nb,
    simulate_pln,
    simulate_trajectory,
)
from .tl._common import package_versions
from .validation import InputDataError, counts_matrix, validate_anndata, validate_counts
from .zi import call_zi, check_autozi_priors, registry_labels, zi_probability

__version__ = "0.1.0"

__all__ = [
    "ACCELERATOR_ENV",
    "DATASET_DEFAULTS",
    "METHODS",
    "TRAINING_PRESETS",
    "InputDataError",
    "LoadedDataset",
    "ParameterError",
    "TrainingProgress",
    "call_metrics",
    "call_zi",
    "check_autozi_priors",
    "check_dataset",
    "check_parameters",
    "counts_matrix",
    "drop_cells_without_counts",
    "error_rate_summary",
    "evaluate_methods",
    "fit_autozi",
    "fit_autozi_model",
    "get",
    "inject_zeros",
    "load_dataset",
    "load_pbmc",
    "load_pbmc68k",
    "load_pln_parameters",
    "lrt",
    "package_versions",
    "parse_seeds",
    "pl",
    "read_results",
    "registry_labels",
    "resolve_accelerator",
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
