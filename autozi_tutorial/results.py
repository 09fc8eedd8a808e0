"""A run's results on the AnnData a scanpy user continues with: ``results.h5ad``.

Layout (written by :func:`results_anndata`, read back by :func:`read_results`):

- ``X``: the analysed matrix (log-normalized in the main tutorial), cells x analysed genes;
  ``layers["counts"]``: the raw counts; ``obs``: the cells' annotations;
- ``var``: the gene-level results, the columns of ``gene_zi.csv`` (``zi_prob``, ``is_zi``,
  ``is_zi_calibrated``, ...), next to the gene-selection columns;
- ``varm["label_<column>"]``: every per-cell-type column of ``gene_label_zi.csv``
  (``label_zi_prob``, ``label_is_zi``, ``label_testable``, ``label_lrt_qvalue``,
  ``label_is_zi_calibrated``, ...), genes x cell types, one column per label;
- ``uns["autozi"]``: ``labels`` (the cell types, in the order of those columns),
  ``labels_key``, and ``summary``: ``summary.json`` as JSON text (parameters, training
  settings, device, package versions and fractions), which :func:`read_results` decodes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from anndata import AnnData

from .validation import counts_matrix

#: File name of the AnnData result in a run's output folder.
RESULTS_FILE = "results.h5ad"
#: Key of the run's metadata in ``uns``.
UNS_KEY = "autozi"


def _without_scvi(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy without scvi-tools' private registry columns (``_scvi_*``)."""
    return frame.drop(columns=[column for column in frame.columns if str(column).startswith("_scvi")])


def _label_order(gene_label_table: pd.DataFrame) -> list[str]:
    labels = gene_label_table["label"]
    if isinstance(labels.dtype, pd.CategoricalDtype):
        return [str(label) for label in labels.cat.categories]
    return [str(label) for label in pd.unique(labels)]


def results_anndata(
    adata: AnnData,
    gene_table: pd.DataFrame,
    gene_label_table: pd.DataFrame | None,
    summary: Mapping[str, Any],
    counts_layer: str | None = "counts",
) -> AnnData:
    """Build the ``results.h5ad`` AnnData: the analysed genes with every result attached.

    Parameters
    ----------
    adata
        The AnnData the models were trained on; it is not modified.
    gene_table
        One row per gene (``gene_zi.csv``), covering exactly ``adata.var_names``.
    gene_label_table
        One row per gene and label (``gene_label_zi.csv``), or None / empty without labels.
    summary
        The run's JSON-serialisable summary (``summary.json``).
    counts_layer
        Layer of ``adata`` with the raw counts (None for ``adata.X``).

    Returns
    -------
    AnnData
        Laid out as described in :mod:`autozi_tutorial.results`.

    Raises
    ------
    ValueError
        If the tables do not cover the genes of ``adata``.
    """
    genes = adata.var_names
    by_gene = gene_table.set_index("gene")
    if set(by_gene.index) != set(genes) or by_gene.index.has_duplicates:
        raise ValueError("gene_table must have exactly one row per gene of adata.var_names.")
    var = _without_scvi(adata.var)
    for column, values in by_gene.reindex(genes).items():
        var[column] = values.to_numpy()
    result = AnnData(
        X=adata.X.copy(),
        obs=_without_scvi(adata.obs).copy(),
        var=var,
        layers={"counts": counts_matrix(adata, counts_layer).copy()},
        uns={key: value for key, value in adata.uns.items() if not key.startswith("_scvi")},
    )
    labels: list[str] = []
    if gene_label_table is not None and len(gene_label_table):
        labels = _label_order(gene_label_table)
        table = gene_label_table.assign(label=gene_label_table["label"].astype(str))
        if set(table["gene"]) != set(genes):
            raise ValueError("gene_label_table must cover exactly the genes of adata.var_names.")
        for column in table.columns.drop(["gene", "label"]):
            frame = table.pivot(index="gene", columns="label", values=column)
            frame = frame.reindex(index=genes, columns=labels)
            frame.columns = pd.Index(labels)
            result.varm[f"label_{column}"] = frame.astype(gene_label_table[column].dtype)
    result.uns[UNS_KEY] = {
        "labels": np.array(labels, dtype=object),
        "labels_key": str(summary.get("labels_key") or ""),
        "summary": json.dumps(dict(summary), allow_nan=False),
    }
    return result


def read_results(path: str | os.PathLike) -> AnnData:
    """Read a run's ``results.h5ad`` back, its summary decoded into a dict.

    Parameters
    ----------
    path
        The ``results.h5ad`` file, or the run's output folder holding it.

    Returns
    -------
    AnnData
        As written by :func:`results_anndata`, with ``uns["autozi"]["summary"]`` a dict and
        ``uns["autozi"]["labels"]`` a list; ``varm["label_zi_prob"]["B cells"]`` is then the
        ZI probability of every gene in B cells.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a result of these notebooks.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No results file at {path}; a run's output folder holds {RESULTS_FILE}.")
    adata = ad.read_h5ad(path)
    meta = adata.uns.get(UNS_KEY)
    if not isinstance(meta, Mapping) or "summary" not in meta:
        raise ValueError(f"{path} has no uns[{UNS_KEY!r}]: it was not written by these notebooks.")
    adata.uns[UNS_KEY] = {
        **meta,
        "labels": [str(label) for label in meta.get("labels", [])],
        "summary": json.loads(meta["summary"]),
    }
    return adata
