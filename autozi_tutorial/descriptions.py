"""The ZI test under coarser descriptions of the cells, beside the learned cell states.

A gene switched off in some cells has zeros there that a coarse description of the cells
(library size only) reads as zero inflation, while a finer one (cell types, clusters, learned
states) explains them. :func:`compare_descriptions` runs the ZI test with each description and
tabulates how many genes each calls.
"""

from __future__ import annotations

import pandas as pd
from anndata import AnnData

from . import tl

__all__ = ["DESCRIPTION_KEYS", "compare_descriptions"]

#: The result key of each coarse description, by its name in the table; finer clusters from
#: ``obs[clusters_key]`` are named ``"<clusters_key> clusters"``, key ``"zi_test_<clusters_key>"``.
DESCRIPTION_KEYS = {
    "library size only": "zi_test_library_size",
    "annotated cell types": "zi_test_cell_types",
}


def compare_descriptions(
    adata: AnnData,
    *,
    layer: str | None = "counts",
    labels_key: str | None = None,
    batch_key: str | None = None,
    clusters_key: str | None = "louvain",
    key: str = "zi_test",
    n_named: int = 6,
) -> pd.DataFrame:
    """Run the ZI test with coarser descriptions of the cells and compare the genes called.

    Each coarse description gives every cell its library size only (no training; seconds):
    alone, then with the annotated cell types (``labels_key``) and the finer clusters
    (``clusters_key``) as groups, when ``adata`` has them. The results land on ``adata``
    under :data:`DESCRIPTION_KEYS` (the clusters' under ``"zi_test_<clusters_key>"``); the
    ZI test's run on the learned cell states (``key``) must have been done already and
    closes the table.

    Parameters
    ----------
    adata
        Counts on which :func:`autozi_tutorial.tl.zi_test` ran under ``key``.
    layer, batch_key
        Where the raw counts and the batches are, as for that run.
    labels_key
        The cell types' column of ``obs``; None leaves that description out.
    clusters_key
        A column of ``obs`` with finer clusters; left out when None or absent.
    key
        The result key of the run on the learned cell states.
    n_named
        How many of each description's calls, smallest q-value first, the table names.

    Returns
    -------
    pandas.DataFrame
        One row per description, coarsest first: ``cells described by``, ``key`` (the
        results' key on ``adata``), ``genes called`` and ``strongest calls`` ("none" without a call).
    """
    if key not in adata.uns:
        raise KeyError(f"adata.uns has no {key!r}: run azt.tl.zi_test(adata, ...) first.")
    groups = [("library size only", None, DESCRIPTION_KEYS["library size only"])]
    if labels_key is not None:
        groups.append(("annotated cell types", labels_key, DESCRIPTION_KEYS["annotated cell types"]))
    if clusters_key is not None and clusters_key in adata.obs:
        groups.append((f"{clusters_key} clusters", clusters_key, f"zi_test_{clusters_key}"))
    rows = []
    for name, group_key, result_key in groups:
        tl.zi_test(
            adata,
            layer=layer,
            labels_key=group_key,
            batch_key=batch_key,
            cell_state_means="library_size",
            by_label=False,
            key_added=result_key,
        )
        rows.append((name, result_key))
    rows.append(("learned cell states", key))
    table = []
    for name, result_key in rows:
        qvalues = adata.var[f"{result_key}_qvalue"]
        called = qvalues[adata.var[f"{result_key}_call"].astype(bool)].sort_values()
        table.append(
            {
                "cells described by": name,
                "key": result_key,
                "genes called": len(called),
                "strongest calls": ", ".join(called.index[:n_named]) or "none",
            }
        )
    return pd.DataFrame(table)
