"""Helpers for the AutoZI tutorials: data, ZI metrics, the recommended test, tables, figures, simulation.

The notebooks call scvi-tools directly for the lesson itself; everything else lives here.
"""

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
    CANDIDATES,
    call_metrics,
    error_rate_summary,
    evaluate_methods,
    roc_points,
    score_simulated_genes,
    seed_agreement,
)
from .fit import TRAINING_PRESETS, check_strategy, fit_autozi, fit_autozi_model, training_arguments
from .lrt import benjamini_hochberg, calibrated_call, zinb_lrt, zinb_lrt_by_label
from .offsets import fit_offset_model, latent_log_means, offset_model_settings
from .outputs import fraction_summary, package_versions, write_outputs, write_results
from .parameters import (
    ParameterError,
    check_output_dir,
    check_run_parameters,
    check_simulation_parameters,
    parse_seeds,
)
from .plots import (
    plot_calls,
    plot_label_zi_fractions,
    plot_zi_probability_hist,
    plot_zi_probability_vs_expression,
)
from .progress import TrainingProgress
from .results import read_results, results_anndata
from .simulation import (
    load_pln_parameters,
    simulate_bursty,
    simulate_hidden_states,
    simulate_nb,
    simulate_pln,
)
from .tables import (
    MIN_CELLS_PER_TYPE,
    add_calibrated_call,
    gene_label_zi_table,
    gene_zi_table,
    group_means,
    zi_fractions,
)
from .validation import InputDataError, counts_matrix, validate_anndata, validate_counts
from .zi import call_zi, check_autozi_priors, registry_labels, zi_probability

__version__ = "0.1.0"

__all__ = [
    "ACCELERATOR_ENV",
    "CANDIDATES",
    "DATASET_DEFAULTS",
    "MIN_CELLS_PER_TYPE",
    "TRAINING_PRESETS",
    "InputDataError",
    "LoadedDataset",
    "ParameterError",
    "TrainingProgress",
    "add_calibrated_call",
    "benjamini_hochberg",
    "calibrated_call",
    "call_metrics",
    "call_zi",
    "check_autozi_priors",
    "check_dataset",
    "check_output_dir",
    "check_run_parameters",
    "check_simulation_parameters",
    "check_strategy",
    "counts_matrix",
    "drop_cells_without_counts",
    "error_rate_summary",
    "evaluate_methods",
    "fit_autozi",
    "fit_autozi_model",
    "fit_offset_model",
    "fraction_summary",
    "gene_label_zi_table",
    "gene_zi_table",
    "group_means",
    "latent_log_means",
    "load_dataset",
    "load_pbmc",
    "load_pbmc68k",
    "load_pln_parameters",
    "offset_model_settings",
    "package_versions",
    "parse_seeds",
    "plot_calls",
    "plot_label_zi_fractions",
    "plot_zi_probability_hist",
    "plot_zi_probability_vs_expression",
    "read_results",
    "registry_labels",
    "resolve_accelerator",
    "results_anndata",
    "roc_points",
    "score_simulated_genes",
    "seed_agreement",
    "simulate_bursty",
    "simulate_hidden_states",
    "simulate_nb",
    "simulate_pln",
    "training_arguments",
    "training_device",
    "validate_anndata",
    "validate_counts",
    "write_outputs",
    "write_results",
    "zi_fractions",
    "zi_probability",
    "zinb_lrt",
    "zinb_lrt_by_label",
]
