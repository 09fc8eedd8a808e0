"""Tidy tables of the tools' results, read from the AnnData they were written onto (by position)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from anndata import AnnData

from .tl._autozi import COLUMNS as AUTOZI_COLUMNS
from .tl._zi_test import VAR_COLUMNS as ZI_TEST_COLUMNS
from .tl._zi_test import VARM_TABLES as ZI_TEST_TABLES

__all__ = ["autozi_df", "call_summary", "positive_control_df", "zi_test_df"]


def _settings(adata: AnnData, key_added: str, tool: str) -> Mapping:
    settings = adata.uns.get(key_added)
    if not isinstance(settings, Mapping) or "params" not in settings:
        found = [key for key, value in adata.uns.items() if isinstance(value, Mapping) and "params" in value]
        raise KeyError(
            f"adata.uns has no results under {key_added!r}; run azt.tl.{tool}(adata, "
            f"key_added={key_added!r}) first (keys with results: {found})."
        )
    return settings


def _long(adata: AnnData, key_added: str, names: tuple[str, ...]) -> pd.DataFrame:
    """Gene x cell-type tables of ``varm`` stacked into label-major rows ``gene, label, <names>``."""
    first = adata.varm[f"{key_added}_{names[0]}"]
    if isinstance(first, pd.DataFrame):
        labels = [str(label) for label in first.columns]
    else:  # read back from a file: plain arrays, columns in the tool's label order
        labels = [str(label) for label in adata.uns[key_added]["labels"]]
    table = pd.DataFrame(
        {
            "gene": np.tile(adata.var_names.to_numpy(dtype=str), len(labels)),
            "label": pd.Categorical(np.repeat(labels, adata.n_vars), categories=labels),
        }
    )
    for name in names:
        values = np.asarray(adata.varm[f"{key_added}_{name}"])
        table[name] = values.T.ravel()
    return table


def zi_test_df(adata: AnnData, key_added: str = "zi_test", *, by_label: bool = False) -> pd.DataFrame:
    """The ZI test's results (:func:`autozi_tutorial.tl.zi_test`) as a tidy table.

    Parameters
    ----------
    adata
        The AnnData the test wrote its results onto.
    key_added
        The test's ``key_added``.
    by_label
        The per gene and cell type results instead of the per-gene ones.

    Returns
    -------
    pandas.DataFrame
        One row per gene, in ``adata``'s order: ``gene, pvalue, qvalue, call, statistic,
        extra_zeros, dispersion, converged, mean_count``; with ``by_label``, label-major rows
        ``gene, label, pvalue, qvalue, call, extra_zeros, converged, testable, mean_count,
        dispersion``.
    """
    settings = _settings(adata, key_added, "zi_test")
    if by_label:
        if not settings["params"].get("by_label"):
            raise KeyError(
                f"The test under {key_added!r} ran without cell types; run it with labels_key and "
                "by_label=True."
            )
        return _long(adata, key_added, ZI_TEST_TABLES)
    columns = {name: adata.var[f"{key_added}_{name}"].to_numpy() for name in ZI_TEST_COLUMNS}
    return pd.DataFrame({"gene": adata.var_names.to_numpy(dtype=str), **columns})


def positive_control_df(control: AnnData, key_added: str = "zi_test") -> pd.DataFrame:
    """What the ZI test called in a positive control, per size of the zeros injected.

    Parameters
    ----------
    control
        A copy made by :func:`autozi_tutorial.positive_control`, after
        :func:`autozi_tutorial.tl.zi_test` ran on it.
    key_added
        The test's ``key_added``.

    Returns
    -------
    pandas.DataFrame
        One row per size (``"strong"``, ``"weak"``, ``"none"``: the genes without injected
        zeros): ``genes``, ``called``, ``not_called``, ``share_called`` and ``extra_zeros_injected``
        (the range of the shares injected; 0 for ``"none"``).
    """
    if "injected_size" not in control.var:
        raise KeyError("control has no var['injected_size']: make it with autozi_tutorial.positive_control.")
    called = zi_test_df(control, key_added)["call"].to_numpy()
    var = control.var.assign(called=called)
    rows = {}
    for size, genes in var.groupby("injected_size", observed=False):
        shares = genes["injected_share"]
        low, high = (shares.min(), shares.max()) if len(genes) else (np.nan, np.nan)
        rows[size] = {
            "genes": len(genes),
            "called": int(genes["called"].sum()),
            "not_called": int((~genes["called"]).sum()),
            "share_called": genes["called"].mean() if len(genes) else np.nan,
            "extra_zeros_injected": f"{low:.0%}" if low == high else f"{low:.0%}-{high:.0%}",
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("injected")


def autozi_df(adata: AnnData, key_added: str = "autozi") -> pd.DataFrame:
    """AUTOZI's results (:func:`autozi_tutorial.tl.autozi`) as a tidy table.

    Parameters
    ----------
    adata
        The AnnData the results were written onto.
    key_added
        The tool's ``key_added`` (``"autozi"``, or ``"autozi_label"`` for the gene-label model).

    Returns
    -------
    pandas.DataFrame
        Gene mode: one row per gene, ``gene, alpha, beta, prob, call, mean_count``;
        gene-label mode: label-major rows ``gene, label, alpha, beta, prob, call, mean_count,
        testable``.
    """
    settings = _settings(adata, key_added, "autozi")
    if settings["params"]["zero_inflation"] == "gene-label":
        return _long(adata, key_added, (*AUTOZI_COLUMNS, "testable"))
    columns = {name: adata.var[f"{key_added}_{name}"].to_numpy() for name in AUTOZI_COLUMNS}
    return pd.DataFrame({"gene": adata.var_names.to_numpy(dtype=str), **columns})


def _shares(calls: pd.Series, expressed: pd.Series) -> dict[str, float]:
    calls = calls.astype(bool)
    return {
        "share": float(calls.mean()) if len(calls) else np.nan,
        "share_expressed": float(calls[expressed].mean()) if expressed.any() else np.nan,
        "n_called": int(calls.sum()),
    }


def call_summary(
    adata: AnnData,
    *,
    expression_cutoff: float = 1.0,
    by_label: bool = False,
    autozi_key: str | None = None,
    zi_test_key: str = "zi_test",
) -> pd.DataFrame:
    """How many genes each call finds: overall, and among genes expressed above a cutoff.

    Parameters
    ----------
    adata
        An AnnData holding AUTOZI's and/or the ZI test's results.
    expression_cutoff
        A gene is "expressed" when its mean raw count per cell (within the type, by label)
        exceeds this.
    by_label
        One row per cell type (the gene-label AUTOZI and the per-type test) instead of one.
    autozi_key
        AUTOZI's key; None: ``"autozi"`` (``"autozi_label"`` with ``by_label``). Left out
        when absent.
    zi_test_key
        The ZI test's key; left out when absent.

    Returns
    -------
    pandas.DataFrame
        Columns ``[label,] n_genes, n_expressed`` and, per call present, ``<call>_n_called,
        <call>_share, <call>_share_expressed`` (``autozi`` and ``zi_test``), plus
        ``zi_test_best_qvalue``. Genes untestable in a type are left out of its row.
    """
    autozi_key = autozi_key or ("autozi_label" if by_label else "autozi")
    tables = {}
    if autozi_key in adata.uns:
        tables["autozi"] = autozi_df(adata, autozi_key)
    if zi_test_key in adata.uns:
        tables["zi_test"] = zi_test_df(adata, zi_test_key, by_label=by_label)
    if not tables:
        raise KeyError(f"adata holds neither {autozi_key!r} nor {zi_test_key!r} results.")
    first = next(iter(tables.values()))
    if by_label and "label" not in first:
        raise KeyError(f"{autozi_key!r} holds per-gene results; by_label needs the gene-label model's.")
    labels = list(first["label"].cat.categories) if by_label else [None]
    rows = []
    for label in labels:
        # Each part holds one row per gene, in adata's order.
        parts = {
            name: table if label is None else table[table["label"] == label].reset_index(drop=True)
            for name, table in tables.items()
        }
        reference = next(iter(parts.values()))
        testable = (
            reference["testable"].astype(bool) if "testable" in reference else np.ones(len(reference), bool)
        )
        expressed = (reference["mean_count"] > expression_cutoff)[testable]
        row = {} if label is None else {"label": label}
        row.update(n_genes=int(testable.sum()), n_expressed=int(expressed.sum()))
        for name, part in parts.items():
            for stat, value in _shares(part.loc[testable, "call"], expressed).items():
                row[f"{name}_{stat}"] = value
            if name == "zi_test":
                row["zi_test_best_qvalue"] = float(part["qvalue"].min())
        rows.append(row)
    return pd.DataFrame(rows)
