"""Figures of the tools' results: AnnData in, a matplotlib Figure out.

Every figure says so in the figure when there is nothing to show (no gene called, no cell
type), so that an empty result reads as a result and not as a broken plot.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .get import autozi_df, call_summary, zi_test_df
from .lrt import dispersion_groups
from .validation import counts_matrix

__all__ = ["autozi_prob_hist", "autozi_prob_vs_expression", "calls", "label_fractions", "zero_diagnostic"]

COLOURS = {"autozi": "#7570b3", "zi_test": "#d95f02", "both": "#e7298a", "neither": "#bdbdbd"}


def _note(ax: Axes, text: str) -> None:
    """A boxed note in the middle of the axes (for empty results)."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#888888"},
    )


def _threshold(adata: AnnData, key: str) -> float:
    return float(adata.uns[key]["params"]["threshold"])


def autozi_prob_hist(adata: AnnData, *, key_added: str = "autozi") -> Figure:
    """Histogram of AUTOZI's q(δ < 0.5) over genes, with its threshold dashed."""
    table, threshold = autozi_df(adata, key_added), _threshold(adata, key_added)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(table["prob"].dropna(), bins=40, range=(0, 1), color=COLOURS["autozi"])
    ax.axvline(
        threshold,
        color="black",
        linestyle="--",
        label=f"threshold {threshold:g}: {table['call'].sum()} genes called",
    )
    ax.set_xlim(0, 1)
    ax.set_xlabel("AUTOZI's score q(δ < 0.5): higher ranks a gene as more zero-inflated")
    ax.set_ylabel("number of genes")
    # Above the axes, where no bar or line can run through it.
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def autozi_prob_vs_expression(
    adata: AnnData, *, expression_cutoff: float = 1.0, key_added: str = "autozi"
) -> Figure:
    """Each gene's q(δ < 0.5) against its mean count per cell (log scale), the cutoff drawn."""
    table, threshold = autozi_df(adata, key_added), _threshold(adata, key_added)
    fig, ax = plt.subplots(figsize=(6, 4))
    for called, colour, name in (
        (False, COLOURS["neither"], "not called"),
        (True, COLOURS["autozi"], "called ZI"),
    ):
        part = table[table["call"] == called]
        ax.scatter(
            part["mean_count"],
            part["prob"],
            s=10,
            color=colour,
            alpha=0.8,
            linewidths=0,
            label=f"{name} ({len(part)})",
        )
    ax.set_xscale("log")
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
    ax.axvline(expression_cutoff, color="grey", linestyle=":", linewidth=1.2)
    ax.text(
        expression_cutoff,
        1.01,
        f" expressed: mean count > {expression_cutoff:g}",
        fontsize=8,
        transform=ax.get_xaxis_transform(),
        va="bottom",
    )
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean raw count per cell (log scale)")
    ax.set_ylabel("q(δ < 0.5)")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    sns.despine(fig)
    fig.tight_layout()
    return fig


def calls(
    adata: AnnData, *, autozi_key: str = "autozi", zi_test_key: str = "zi_test", n_named: int = 10
) -> Figure:
    """Both calls per gene: AUTOZI's probability (x) against the ZI test's evidence (y).

    The test's evidence is -log10 of its q-value; genes above the dotted line are called by
    the test, genes right of the dashed line by AUTOZI's rule. The test's calls (smallest q
    first) and, when the test calls none, AUTOZI's top genes are named.
    """
    autozi, test = autozi_df(adata, autozi_key), zi_test_df(adata, zi_test_key)
    threshold = _threshold(adata, autozi_key)
    fdr = float(adata.uns[zi_test_key]["params"]["fdr"])
    evidence = -np.log10(test["qvalue"].clip(lower=1e-300)).fillna(0.0)
    group = np.select(
        [autozi["call"] & test["call"], test["call"], autozi["call"]],
        ["both", "zi_test", "autozi"],
        "neither",
    )
    names = {"both": "both", "zi_test": "ZI test only", "autozi": "AUTOZI's rule only", "neither": "neither"}
    fig, ax = plt.subplots(figsize=(8.5, 5))
    for key in ("neither", "autozi", "zi_test", "both"):
        chosen = group == key
        ax.scatter(
            autozi["prob"][chosen],
            evidence[chosen],
            s=14,
            color=COLOURS[key],
            linewidths=0,
            label=f"{names[key]} ({chosen.sum()})",
        )
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
    ax.axhline(-np.log10(fdr), color="black", linestyle=":", linewidth=1)
    data = pd.DataFrame({"gene": test["gene"], "x": autozi["prob"], "y": evidence, "q": test["qvalue"]})
    named = data[test["call"]].nsmallest(n_named, "q")
    if named.empty:
        named = data.nlargest(min(n_named, 5), "x")
        ax.text(
            0.02,
            0.97,
            f"the ZI test calls no gene (no q-value below {fdr:g});\nnamed: AUTOZI's top genes",
            transform=ax.transAxes,
            va="top",
            fontsize=9,
        )
    for row in named.itertuples():
        ax.annotate(row.gene, (row.x, row.y), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(bottom=0, top=max(float(evidence.max()) * 1.1, -np.log10(fdr) * 2))
    ax.set_xlabel(f"AUTOZI's score q(δ < 0.5)   (dashed: threshold {threshold:g})")
    ax.set_ylabel(f"ZI test: -log10 q-value   (dotted: q-value {fdr:g})")
    # Outside the axes, right of them: no point or line runs through it.
    ax.legend(title="called ZI by", frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    sns.despine(fig)
    fig.tight_layout()
    return fig


def label_fractions(
    adata: AnnData,
    *,
    expression_cutoff: float = 1.0,
    autozi_key: str = "autozi_label",
    zi_test_key: str = "zi_test",
) -> Figure:
    """Per cell type: the share of its expressed genes called by AUTOZI's rule and by the ZI test."""
    summary = call_summary(
        adata,
        expression_cutoff=expression_cutoff,
        by_label=True,
        autozi_key=autozi_key,
        zi_test_key=zi_test_key,
    )
    n_cells = adata.obs[adata.uns[zi_test_key]["params"]["labels_key"]].astype(str).value_counts()
    names = [f"{label} (n={n_cells.get(label, 0)})" for label in summary["label"]]
    rules = {"autozi_share_expressed": "AUTOZI's rule", "zi_test_share_expressed": "ZI test"}
    rules = {column: name for column, name in rules.items() if column in summary}
    height = max(3.0, 0.45 * len(summary) + 1.5)
    fig, ax = plt.subplots(figsize=(7, height))
    positions = np.arange(len(summary))
    width = 0.8 / len(rules)
    for i, (column, name) in enumerate(rules.items()):
        colour = COLOURS["autozi" if column.startswith("autozi") else "zi_test"]
        values = summary[column].fillna(0.0).to_numpy()
        # The calls the bars show: among each type's genes above the cutoff.
        n_calls = int(np.round(values * summary["n_expressed"].to_numpy()).sum())
        ax.barh(
            positions + (i - (len(rules) - 1) / 2) * width,
            values,
            height=width,
            color=colour,
            label=f"{name} ({n_calls} calls among them)",
        )
        for y, value in zip(positions + (i - (len(rules) - 1) / 2) * width, values, strict=True):
            ax.text(value + 0.01, y, f"{value:.2f}", va="center", fontsize=7)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_xlabel(f"share of the type's genes (mean count > {expression_cutoff:g}) called ZI")
    ax.legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def _cell_dispersions(adata: AnnData, key: str, gene: int) -> np.ndarray:
    """The NB fit's dispersion of one gene for every cell (per dispersion group of the test)."""
    settings = adata.uns[key]
    if "group_dispersions" not in settings:
        return np.full(adata.n_obs, adata.var[f"{key}_dispersion"].iloc[gene])
    params = settings["params"]
    groups, _ = dispersion_groups(adata, params.get("labels_key"), params.get("batch_key"))
    return np.asarray(settings["group_dispersions"], dtype=np.float64)[gene, groups]


def zero_diagnostic(
    adata: AnnData, genes: Sequence[str], *, key_added: str = "zi_test", n_bins: int = 8
) -> Figure:
    """Observed against expected zeros, per gene: what "more zeros than the cell states explain" looks like.

    Cells are binned by their expected share of zeros for the gene under the test's NB fit
    (from the learned cell states); each point is one bin: its mean expected share (x) and
    the share of its cells where the gene has a count of 0 (y). On the diagonal the cell
    states explain the zeros; above it the gene has extra zeros.

    Parameters
    ----------
    adata
        Results of :func:`autozi_tutorial.tl.zi_test` run with ``save_means=True``.
    genes
        Gene names, one panel each.
    key_added
        The test's key.
    n_bins
        Bins of cells per gene (by quantiles of the expected share of zeros).
    """
    means_key = f"{key_added}_means"
    if means_key not in adata.layers:
        raise KeyError(f"adata.layers has no {means_key!r}: run azt.tl.zi_test(..., save_means=True).")
    missing = [gene for gene in genes if gene not in adata.var_names]
    if missing:
        raise KeyError(f"Genes not in adata.var_names: {missing}.")
    layer = adata.uns[key_added]["params"].get("layer")
    counts = counts_matrix(adata, layer)
    table = zi_test_df(adata, key_added)
    n = len(genes)
    columns = min(n, 2)
    rows = int(np.ceil(n / columns)) if n else 1
    fig, axes = plt.subplots(
        rows, max(columns, 1), figsize=(4.2 * max(columns, 1), 3.8 * rows), squeeze=False
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    if n == 0:
        axes[0, 0].set_visible(True)
        _note(axes[0, 0], "no gene to show")
    for ax, gene in zip(axes.ravel(), genes, strict=False):
        g = adata.var_names.get_loc(gene)
        mean = np.asarray(adata.layers[means_key][:, g], dtype=np.float64).ravel()
        theta = _cell_dispersions(adata, key_added, g)
        expected = np.exp(-theta * np.log1p(mean / theta))
        column = counts[:, g]
        observed = np.asarray(column.toarray() if hasattr(column, "toarray") else column).ravel() == 0
        edges = np.unique(np.quantile(expected, np.linspace(0, 1, n_bins + 1)))
        bins = np.clip(np.searchsorted(edges, expected, side="right") - 1, 0, max(len(edges) - 2, 0))
        frame = pd.DataFrame({"bin": bins, "expected": expected, "observed": observed})
        points = frame.groupby("bin").agg(
            expected=("expected", "mean"), observed=("observed", "mean"), cells=("observed", "size")
        )
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="no extra zeros")
        ax.scatter(
            points["expected"],
            points["observed"],
            s=8 + 40 * points["cells"] / points["cells"].max(),
            color=COLOURS["zi_test"],
            zorder=3,
            label="cells, binned",
        )
        row = table.iloc[g]
        verdict = "called" if row["call"] else "not called"
        q = "not tested" if np.isnan(row["qvalue"]) else f"q-value {row['qvalue']:.2g}"
        ax.set_title(f"{gene}: {verdict} ({q})", fontsize=9)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("expected share of zeros", fontsize=8)
        ax.set_ylabel("observed share of zeros", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(frameon=False, fontsize=7, loc="upper left")
    sns.despine(fig)
    fig.tight_layout()
    return fig
