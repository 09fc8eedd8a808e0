"""Helpers for the AutoZI tutorials: data, ZI metrics, tables, figures and outputs.

The notebooks call scvi-tools directly for the lesson itself; everything else lives here.
"""

from .data import (
    DATASET_DEFAULTS,
    LoadedDataset,
    drop_cells_without_counts,
    load_dataset,
    load_pbmc,
    load_pbmc68k,
)
from .outputs import fraction_summary, package_versions, write_outputs
from .plots import (
    plot_label_zi_fractions,
    plot_zi_probability_hist,
    plot_zi_probability_vs_expression,
)
from .tables import gene_label_zi_table, gene_zi_table, group_means, zi_fractions
from .validation import InputDataError, counts_matrix, validate_anndata, validate_counts
from .zi import call_zi, check_autozi_priors, registry_labels, zi_probability

__version__ = "0.1.0"

__all__ = [
    "DATASET_DEFAULTS",
    "InputDataError",
    "LoadedDataset",
    "call_zi",
    "check_autozi_priors",
    "counts_matrix",
    "drop_cells_without_counts",
    "fraction_summary",
    "gene_label_zi_table",
    "gene_zi_table",
    "group_means",
    "load_dataset",
    "load_pbmc",
    "load_pbmc68k",
    "package_versions",
    "plot_label_zi_fractions",
    "plot_zi_probability_hist",
    "plot_zi_probability_vs_expression",
    "registry_labels",
    "validate_anndata",
    "validate_counts",
    "write_outputs",
    "zi_fractions",
    "zi_probability",
]
