"""A run's results on the AnnData a scanpy user continues with: ``results.h5ad``.

``results.h5ad`` is the analysed AnnData itself, as the tools left it: AUTOZI's results
(:func:`autozi_tutorial.tl.autozi`: ``var["autozi_*"]``, per cell type ``varm["autozi_label_*"]``)
and the ZI test's (:func:`autozi_tutorial.tl.zi_test`: ``var["zi_test_*"]``, ``varm["zi_test_*"]``)
with their settings in ``uns``; per-cell-type tables are written as arrays (cell-type names
such as "CD4+/CD25 T Reg" cannot be HDF5 keys) and :func:`read_results` names their columns
again, less scvi-tools' private registry entries, plus the run's
``summary.json`` as JSON text in ``uns["summary"]``, which :func:`read_results` decodes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd
from anndata import AnnData

#: File name of the AnnData result in a run's output folder.
RESULTS_FILE = "results.h5ad"
#: Key of the run's summary (JSON text) in ``uns``.
SUMMARY_KEY = "summary"


def _without_scvi(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy without scvi-tools' private registry columns (``_scvi_*``)."""
    return frame.drop(columns=[column for column in frame.columns if str(column).startswith("_scvi")])


def results_anndata(adata: AnnData, summary: Mapping[str, Any]) -> AnnData:
    """A copy of the analysed AnnData to write as ``results.h5ad``.

    Parameters
    ----------
    adata
        The AnnData the tools wrote their results onto; it is not modified.
    summary
        The run's JSON-serialisable summary (``summary.json``).

    Returns
    -------
    AnnData
        The copy, without scvi-tools' ``_scvi*`` entries, with ``uns["summary"]`` (JSON text).
    """
    result = adata.copy()
    result.obs = _without_scvi(result.obs)
    result.var = _without_scvi(result.var)
    for key in [key for key in result.uns if str(key).startswith("_scvi")]:
        del result.uns[key]
    # Per-cell-type tables are stored as plain arrays: HDF5 cannot take cell-type names such as
    # "CD4+/CD25 T Reg" as keys. Their columns are the tool's labels (uns[key]["labels"]), which
    # the get functions read back.
    for key, frame in list(result.varm.items()):
        if isinstance(frame, pd.DataFrame):
            result.varm[key] = frame.to_numpy()
    result.uns[SUMMARY_KEY] = json.dumps(dict(summary), allow_nan=False)
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
        As written by :func:`results_anndata`, with ``uns["summary"]`` a dict; e.g.
        ``adata.varm["zi_test_qvalue"]["B cells"]`` is then the ZI test's q-value of every gene
        in B cells, and ``azt.get.zi_test_df(adata)`` the per-gene table.

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
    summary = adata.uns.get(SUMMARY_KEY)
    if not isinstance(summary, str):
        raise ValueError(f"{path} has no uns[{SUMMARY_KEY!r}]: it was not written by these notebooks.")
    adata.uns[SUMMARY_KEY] = json.loads(summary)
    # Per-cell-type tables come back as genes x cell types DataFrames, named by each tool's labels.
    for key, value in adata.uns.items():
        labels = value.get("labels") if isinstance(value, Mapping) and "params" in value else None
        if labels is None or not len(labels):
            continue
        for name in [name for name in adata.varm if name.startswith(f"{key}_")]:
            table = adata.varm[name]
            if not isinstance(table, pd.DataFrame) and table.shape[1] == len(labels):
                columns = pd.Index([str(label) for label in labels])
                adata.varm[name] = pd.DataFrame(table, index=adata.var_names.copy(), columns=columns)
    return adata
