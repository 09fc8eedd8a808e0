"""Helpers for the AutoZI tutorials: data, ZI metrics, tables, figures, simulation and baselines.

The notebooks call scvi-tools directly for the lesson itself; everything else lives here.
"""

from .baseline import benjamini_hochberg, calibrated_call, zinb_lrt
from .data import (
    DATASET_DEFAULTS,
    LoadedDataset,
    drop_cells_without_counts,
    load_dataset,
    load_pbmc,
    load_pbmc68k,
)
from .evaluation import (
    call_metrics,
    error_rate_summary,
    evaluate_methods,
    roc_points,
    score_simulated_genes,
    seed_agreement,
)
from .fit import TRAINING_PRESETS, check_strategy, fit_autozi, training_arguments
from .outputs import fraction_summary, package_versions, write_outputs, write_results
from .plots import (
    plot_label_zi_fractions,
    plot_zi_probability_hist,
    plot_zi_probability_vs_expression,
)
from .progress import TrainingProgress
from .simulation import load_pln_parameters, simulate_nb, simulate_pln
from .tables import add_calibrated_call, gene_label_zi_table, gene_zi_table, group_means, zi_fractions
from .validation import InputDataError, counts_matrix, validate_anndata, validate_counts
from .zi import call_zi, check_autozi_priors, registry_labels, zi_probability

__version__ = "0.1.0"

__all__ = [
    "DATASET_DEFAULTS",
    "TRAINING_PRESETS",
    "InputDataError",
    "LoadedDataset",
    "TrainingProgress",
    "add_calibrated_call",
    "benjamini_hochberg",
    "calibrated_call",
    "call_metrics",
    "call_zi",
    "check_autozi_priors",
    "check_strategy",
    "counts_matrix",
    "drop_cells_without_counts",
    "error_rate_summary",
    "evaluate_methods",
    "fit_autozi",
    "fraction_summary",
    "gene_label_zi_table",
    "gene_zi_table",
    "group_means",
    "load_dataset",
    "load_pbmc",
    "load_pbmc68k",
    "load_pln_parameters",
    "package_versions",
    "plot_label_zi_fractions",
    "plot_zi_probability_hist",
    "plot_zi_probability_vs_expression",
    "registry_labels",
    "roc_points",
    "score_simulated_genes",
    "seed_agreement",
    "simulate_nb",
    "simulate_pln",
    "training_arguments",
    "validate_anndata",
    "validate_counts",
    "write_outputs",
    "write_results",
    "zi_fractions",
    "zi_probability",
    "zinb_lrt",
]
