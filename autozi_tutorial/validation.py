"""Checks that an AnnData holds what AUTOZI needs, with errors that say how to fix it.

Every check reads the data and never changes it, so a failed check leaves the user's
object exactly as it was. All checks run before any training starts.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from anndata import AnnData


class InputDataError(ValueError):
    """The data given to the tutorial cannot be used as it is; the message says why and how to fix it."""


def counts_matrix(adata: AnnData, layer: str | None = None):
    """Return the count matrix of ``adata``: ``adata.layers[layer]``, or ``adata.X`` when ``layer`` is None.

    Parameters
    ----------
    adata
        The annotated data matrix.
    layer
        Name of the layer that holds raw counts, or None for ``adata.X``.

    Returns
    -------
    numpy.ndarray or scipy.sparse.spmatrix
        The matrix itself (not a copy).

    Raises
    ------
    InputDataError
        If the layer does not exist or the matrix is missing.
    """
    if layer is None:
        if adata.X is None:
            raise InputDataError(
                "adata.X is empty (None). Put raw counts in adata.X or name the layer that "
                "holds them with counts_layer=..."
            )
        return adata.X
    if layer not in adata.layers:
        available = sorted(adata.layers.keys()) or ["<none>"]
        raise InputDataError(
            f"Layer {layer!r} not found; available layers: {available}. Pass counts_layer= one of "
            "these, or counts_layer=None to read raw counts from adata.X."
        )
    return adata.layers[layer]


def _stored_values(matrix) -> np.ndarray:
    """Values actually stored in a dense or sparse matrix (implicit zeros of sparse data are valid)."""
    if sp.issparse(matrix):
        return np.asarray(matrix.data)
    return np.asarray(matrix).ravel()


def validate_counts(matrix, where: str = "adata.X") -> None:
    """Check that ``matrix`` holds raw counts: finite, non-negative whole numbers, at least one cell and gene.

    Parameters
    ----------
    matrix
        Dense or sparse cells x genes matrix.
    where
        How the matrix is called in error messages (for example ``"adata.layers['counts']"``).

    Raises
    ------
    InputDataError
        Naming the first problem found and how to fix it.
    """
    n_cells, n_genes = matrix.shape
    if n_cells == 0 or n_genes == 0:
        raise InputDataError(
            f"{where} has {n_cells} cells and {n_genes} genes: AUTOZI needs at least one of each. "
            "Check that filtering upstream did not remove everything."
        )
    values = _stored_values(matrix)
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise InputDataError(f"{where} has dtype {values.dtype}; raw counts must be real numbers.")
    n_nan = int(np.isnan(values).sum()) if np.issubdtype(values.dtype, np.floating) else 0
    if n_nan:
        raise InputDataError(
            f"{where} contains {n_nan} NaN values. AUTOZI needs raw UMI counts: replace the "
            "missing entries or drop the affected cells/genes before running."
        )
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        raise InputDataError(f"{where} contains infinite values; raw counts must be finite.")
    n_negative = int((values < 0).sum())
    if n_negative:
        raise InputDataError(
            f"{where} contains {n_negative} negative values, so it is not raw counts (it may be "
            "scaled or batch-corrected data). Point counts_layer at the layer with raw counts."
        )
    if np.issubdtype(values.dtype, np.floating):
        n_fractional = int((values != np.round(values)).sum())
        if n_fractional:
            raise InputDataError(
                f"{where} contains {n_fractional} non-integer values, so it looks normalized or "
                "log-transformed. AUTOZI models raw counts: set counts_layer to the layer with "
                "raw integer counts (for example 'counts')."
            )


def validate_obs_key(adata: AnnData, key: str, role: str, min_categories: int = 1) -> None:
    """Check that ``adata.obs[key]`` exists, has no missing values and enough categories.

    Parameters
    ----------
    adata
        The annotated data matrix.
    key
        Column of ``adata.obs`` to check.
    role
        What the column is used for (``"labels_key"``, ``"batch_key"``), used in messages.
    min_categories
        Fewest distinct values the column must hold.

    Raises
    ------
    InputDataError
        If the column is missing, has missing values or too few categories.
    """
    if key not in adata.obs.columns:
        raise InputDataError(
            f"{role}={key!r} is not a column of adata.obs; available columns: "
            f"{list(adata.obs.columns)}. Pass one of these, or {role}=None."
        )
    column = adata.obs[key]
    n_missing = int(column.isna().sum())
    if n_missing:
        raise InputDataError(
            f"adata.obs[{key!r}] has {n_missing} missing values. Fill them or drop those cells "
            f"before using it as {role}."
        )
    n_categories = column.nunique()
    if n_categories < min_categories:
        raise InputDataError(
            f"adata.obs[{key!r}] has {n_categories} distinct value(s); as {role} it needs at "
            f"least {min_categories}. Choose another column, or pass {role}=None to skip the "
            "per-cell-type analysis."
        )


def validate_anndata(
    adata: AnnData,
    counts_layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
) -> None:
    """Run every input check the tutorial needs before training.

    Parameters
    ----------
    adata
        The annotated data matrix.
    counts_layer
        Layer holding raw counts, or None for ``adata.X``.
    labels_key
        Column of ``adata.obs`` with cell types (needs at least two), or None.
    batch_key
        Column of ``adata.obs`` with batches, or None.

    Raises
    ------
    InputDataError
        Naming the problem and how to fix it.
    """
    where = "adata.X" if counts_layer is None else f"adata.layers[{counts_layer!r}]"
    counts = counts_matrix(adata, counts_layer)
    validate_counts(counts, where)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    n_empty = int((totals == 0).sum())
    if n_empty:
        raise InputDataError(
            f"{n_empty} cells have no counts in {where}; their library size is zero, which "
            "AUTOZI cannot model. Remove them first, e.g. sc.pp.filter_cells(adata, min_counts=1)."
        )
    if labels_key is not None:
        validate_obs_key(adata, labels_key, "labels_key", min_categories=2)
    if batch_key is not None:
        validate_obs_key(adata, batch_key, "batch_key", min_categories=1)
