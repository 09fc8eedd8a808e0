"""Tidy result tables: one row per gene, or per gene and cell type, plus ZI fraction summaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .lrt import calibrated_call
from .validation import counts_matrix
from .zi import call_zi, posterior_arrays, zi_probability

GENE_COLUMNS = [
    "gene",
    "alpha_posterior",
    "beta_posterior",
    "zi_prob",
    "is_zi",
    "mean_counts",
    "mean_lognorm",
]
GENE_LABEL_COLUMNS = ["gene", "label", *GENE_COLUMNS[1:], "testable"]
#: Columns the recommended call adds to the gene and gene-label tables.
CALIBRATED_COLUMNS = ["lrt_pvalue", "lrt_qvalue", "is_zi_calibrated"]
#: Cell types with fewer cells than this give little evidence either way (warned about).
MIN_CELLS_PER_TYPE = 20
FRACTION_COLUMNS = [
    "n_genes",
    "zi_fraction",
    "sufficient_expression_fraction",
    "zi_fraction_sufficient",
    "calibrated_zi_fraction",
    "calibrated_zi_fraction_sufficient",
]


def group_means(matrix, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-gene mean of ``matrix`` within each group of cells.

    Parameters
    ----------
    matrix
        Dense or sparse cells x genes matrix.
    groups
        Integer group code in ``[0, n_groups)`` for every cell.
    n_groups
        Number of groups.

    Returns
    -------
    numpy.ndarray
        Genes x groups; NaN for a group with no cells.
    """
    groups = np.asarray(groups)
    membership = sp.csr_matrix(
        (np.ones(len(groups)), (groups, np.arange(len(groups)))), shape=(n_groups, len(groups))
    )
    sums = membership @ matrix
    sums = np.asarray(sums.toarray() if sp.issparse(sums) else sums, dtype=np.float64)
    sizes = np.asarray(membership.sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / sizes[:, None]).T


def gene_zi_table(
    adata: AnnData,
    alphas_betas: Mapping[str, np.ndarray],
    threshold: float = 0.5,
    counts_layer: str | None = "counts",
) -> pd.DataFrame:
    """One row per gene: posterior, ZI probability, call and mean expression.

    Parameters
    ----------
    adata
        The data the model was trained on, log-normalized values in ``adata.X``.
    alphas_betas
        ``model.get_alphas_betas()`` of a gene-mode AUTOZI.
    threshold
        Call a gene ZI when ``zi_prob > threshold``.
    counts_layer
        Layer with raw counts (None for ``adata.X``).

    Returns
    -------
    pandas.DataFrame
        Columns ``gene, alpha_posterior, beta_posterior, zi_prob, is_zi, mean_counts,
        mean_lognorm``; ``mean_lognorm`` is the mean of ``adata.X``.
    """
    alpha, beta = posterior_arrays(alphas_betas)
    if alpha.shape != (adata.n_vars,):
        raise ValueError(
            f"Expected one posterior per gene ({adata.n_vars}), got shape {alpha.shape}; "
            "for a 'gene-label' model use gene_label_zi_table."
        )
    zi_prob = zi_probability(alpha, beta)
    everyone = np.zeros(adata.n_obs, dtype=int)
    return pd.DataFrame(
        {
            "gene": adata.var_names.to_numpy(dtype=str),
            "alpha_posterior": alpha,
            "beta_posterior": beta,
            "zi_prob": zi_prob,
            "is_zi": call_zi(zi_prob, threshold),
            "mean_counts": group_means(counts_matrix(adata, counts_layer), everyone, 1)[:, 0],
            "mean_lognorm": group_means(adata.X, everyone, 1)[:, 0],
        }
    )


def gene_label_zi_table(
    adata: AnnData,
    alphas_betas: Mapping[str, np.ndarray],
    labels: Sequence[str],
    labels_key: str,
    threshold: float = 0.5,
    counts_layer: str | None = "counts",
) -> pd.DataFrame:
    """One row per gene and cell type, from a 'gene-label' AUTOZI.

    Parameters
    ----------
    adata
        The data the model was trained on, log-normalized values in ``adata.X``.
    alphas_betas
        ``model.get_alphas_betas()``: posteriors of shape genes x labels.
    labels
        Label names in the order of the posterior's columns: pass
        ``registry_labels(model)``, never the order of ``adata.obs``.
    labels_key
        Column of ``adata.obs`` with the labels, used for the per-label means.
    threshold
        Call ZI when ``zi_prob > threshold``.
    counts_layer
        Layer with raw counts (None for ``adata.X``).

    Returns
    -------
    pandas.DataFrame
        Columns ``gene, label, alpha_posterior, beta_posterior, zi_prob, is_zi, mean_counts,
        mean_lognorm, testable``; the means are taken over the cells of that label. ``label``
        is categorical in registry order. A gene with no counts among a label's cells is not
        ``testable`` there: its ``zi_prob`` is NaN and it is not called.
    """
    alpha, beta = posterior_arrays(alphas_betas)
    labels = [str(label) for label in labels]
    if alpha.shape != (adata.n_vars, len(labels)):
        raise ValueError(
            f"Expected posteriors of shape (genes, labels) = {(adata.n_vars, len(labels))}, "
            f"got {alpha.shape}."
        )
    cell_labels = adata.obs[labels_key].astype(str).to_numpy()
    unknown = sorted(set(cell_labels) - set(labels))
    if unknown:
        raise ValueError(f"adata.obs[{labels_key!r}] has labels missing from `labels`: {unknown}.")
    codes = pd.Index(labels).get_indexer(cell_labels)
    mean_counts = group_means(counts_matrix(adata, counts_layer), codes, len(labels))
    mean_lognorm = group_means(adata.X, codes, len(labels))
    testable = mean_counts > 0
    zi_prob = np.where(testable, zi_probability(alpha, beta), np.nan)
    # Label-major order: all genes of the first registry label, then the next.
    table = pd.DataFrame(
        {
            "gene": np.tile(adata.var_names.to_numpy(dtype=str), len(labels)),
            "label": pd.Categorical(np.repeat(labels, adata.n_vars), categories=labels),
            "alpha_posterior": alpha.T.ravel(),
            "beta_posterior": beta.T.ravel(),
            "zi_prob": zi_prob.T.ravel(),
            "is_zi": (testable & call_zi(np.nan_to_num(zi_prob), threshold)).T.ravel(),
            "mean_counts": mean_counts.T.ravel(),
            "mean_lognorm": mean_lognorm.T.ravel(),
            "testable": testable.T.ravel(),
        }
    )
    return table


def add_calibrated_call(table: pd.DataFrame, lrt: pd.DataFrame, fdr: float = 0.05) -> pd.DataFrame:
    """Copy of a gene or gene-label table with ``lrt_pvalue``, ``lrt_qvalue`` and ``is_zi_calibrated``.

    Parameters
    ----------
    table
        Output of :func:`gene_zi_table`, or of :func:`gene_label_zi_table`.
    lrt
        Output of :func:`autozi_tutorial.zinb_lrt` on the same data (matched by ``gene``), or
        of :func:`autozi_tutorial.zinb_lrt_by_label` (matched by ``gene`` and ``label``).
    fdr
        Passed to :func:`autozi_tutorial.calibrated_call`; untestable rows (NaN) are not called.
    """
    keys = ["gene", "label"] if "label" in table and "label" in lrt else ["gene"]
    index = pd.MultiIndex.from_frame(table[keys].astype(str)) if len(keys) > 1 else table["gene"]
    lrt_index = pd.MultiIndex.from_frame(lrt[keys].astype(str)) if len(keys) > 1 else lrt["gene"]
    matched = lrt.set_index(lrt_index)[["lrt_pvalue", "lrt_qvalue"]].reindex(index)
    if not index.isin(lrt_index).all():
        raise ValueError(
            f"lrt lacks some rows of the table (matched on {keys}); run the test on the same AnnData."
        )
    result = table.copy()
    result["lrt_pvalue"] = matched["lrt_pvalue"].to_numpy()
    result["lrt_qvalue"] = matched["lrt_qvalue"].to_numpy()
    result["is_zi_calibrated"] = calibrated_call(result["lrt_qvalue"], fdr)
    return result


def _share(calls: pd.Series) -> float:
    return float(calls.mean()) if len(calls) else np.nan


def _fractions(table: pd.DataFrame, expression_cutoff: float) -> dict[str, float]:
    testable = table[table["testable"]] if "testable" in table else table
    sufficient = testable[testable["mean_counts"] > expression_cutoff]
    fractions = {
        "n_genes": len(testable),
        "zi_fraction": _share(testable["is_zi"]),
        "sufficient_expression_fraction": len(sufficient) / len(testable) if len(testable) else np.nan,
        "zi_fraction_sufficient": _share(sufficient["is_zi"]),
    }
    if "is_zi_calibrated" in table:
        fractions["calibrated_zi_fraction"] = _share(testable["is_zi_calibrated"])
        fractions["calibrated_zi_fraction_sufficient"] = _share(sufficient["is_zi_calibrated"])
    return fractions


def zi_fractions(table: pd.DataFrame, expression_cutoff: float = 1.0, by: str | None = None) -> pd.DataFrame:
    """Share of genes called ZI, overall and among genes expressed above a cutoff.

    Parameters
    ----------
    table
        Output of :func:`gene_zi_table` or :func:`gene_label_zi_table` (with or without
        :func:`add_calibrated_call`). Untestable rows are left out.
    expression_cutoff
        A gene is "sufficiently expressed" when its mean raw count per cell (``mean_counts``,
        within the label for a gene-label table) exceeds this.
    by
        Column to group by (``"label"``), or None for one row.

    Returns
    -------
    pandas.DataFrame
        Columns ``[by,] n_genes, zi_fraction, sufficient_expression_fraction,
        zi_fraction_sufficient`` and, with the recommended call, ``calibrated_zi_fraction,
        calibrated_zi_fraction_sufficient``. ``n_genes`` counts testable rows; a fraction
        over no gene is NaN.
    """
    if by is None:
        return pd.DataFrame([_fractions(table, expression_cutoff)]).astype({"n_genes": int})
    rows = [
        {by: key, **_fractions(group, expression_cutoff)}
        for key, group in table.groupby(by, observed=True, sort=False)
    ]
    return pd.DataFrame(rows).astype({"n_genes": int})
