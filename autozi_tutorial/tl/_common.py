"""Pieces shared by the tools: key checks, per-type mean counts, versions, uns-safe values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scanpy as sc
from anndata import AnnData

from ..versions import package_versions

__all__ = ["check_key_added", "group_mean_counts", "mean_counts", "package_versions", "plain"]


def check_key_added(key_added: Any) -> None:
    """A usable prefix for the results' keys."""
    if not (isinstance(key_added, str) and key_added.isidentifier()):
        raise ValueError(
            f"key_added must be a name made of letters, digits and underscores, got {key_added!r}."
        )


def mean_counts(counts) -> np.ndarray:
    """Mean count per cell of every gene, accumulated in float64 (dense or sparse counts)."""
    return np.asarray(counts.sum(axis=0, dtype=np.float64)).ravel() / counts.shape[0]


def group_mean_counts(
    adata: AnnData, layer: str | None, labels_key: str, labels: Sequence[str]
) -> np.ndarray:
    """Mean count per cell of every gene within each cell type: genes x ``labels`` (scanpy's aggregation)."""
    aggregated = sc.get.aggregate(adata, by=labels_key, func="mean", layer=layer)
    names = aggregated.obs_names.astype(str)
    rows = [names.get_loc(str(label)) for label in labels]
    return np.asarray(aggregated.layers["mean"], dtype=np.float64)[rows].T


def plain(value: Any) -> Any:
    """A copy of ``value`` that ``.h5ad`` files can hold: no None values, lists, Python scalars."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
