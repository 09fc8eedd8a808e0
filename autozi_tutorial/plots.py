"""Figures for AutoZI results. Each function takes a tidy table and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

ZI_PALETTE = {True: "#d95f02", False: "#1b9e77"}


def _call_labels(is_zi: pd.Series) -> pd.Series:
    return is_zi.map({True: "ZI", False: "not ZI"})


def plot_zi_probability_hist(gene_table: pd.DataFrame, threshold: float) -> Figure:
    """Histogram of q(delta < 0.5) over genes with the decision threshold marked."""
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.histplot(data=gene_table, x="zi_prob", bins=40, binrange=(0, 1), color="#7570b3", ax=ax)
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold = {threshold:g}")
    ax.set_xlabel("posterior probability of zero inflation, q(δ < 0.5)")
    ax.set_ylabel("number of genes")
    ax.set_title("How sure AUTOZI is about each gene")
    ax.legend(frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def plot_zi_probability_vs_expression(
    gene_table: pd.DataFrame, threshold: float, expression: str = "mean_counts"
) -> Figure:
    """Each gene's ZI probability against its mean expression (log x axis), coloured by call."""
    data = gene_table.assign(call=_call_labels(gene_table["is_zi"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.scatterplot(
        data=data,
        x=expression,
        y="zi_prob",
        hue="call",
        palette={"ZI": ZI_PALETTE[True], "not ZI": ZI_PALETTE[False]},
        s=12,
        alpha=0.7,
        linewidth=0,
        ax=ax,
    )
    ax.set_xscale("log")
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
    scale = "raw counts per cell" if expression == "mean_counts" else "log-normalized"
    ax.set_xlabel(f"mean expression ({scale}, log scale)")
    ax.set_ylabel("q(δ < 0.5)")
    ax.set_title("Zero-inflation calls against expression")
    ax.legend(title="call", frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def plot_label_zi_fractions(label_fractions: pd.DataFrame, expression_cutoff: float) -> Figure:
    """Per-cell-type share of ZI genes, all genes versus sufficiently expressed genes.

    Parameters
    ----------
    label_fractions
        Output of ``zi_fractions(gene_label_table, cutoff, by="label")``.
    expression_cutoff
        Cutoff used for the "sufficiently expressed" bars (for the legend).

    A column ``n_cells``, when present, is shown beside each cell type's name.
    """
    if "n_cells" in label_fractions:
        names = label_fractions["label"].astype(str) + " (n=" + label_fractions["n_cells"].astype(str) + ")"
        label_fractions = label_fractions.assign(label=names)
    long = label_fractions.melt(
        id_vars="label",
        value_vars=["zi_fraction", "zi_fraction_sufficient"],
        var_name="genes",
        value_name="fraction ZI",
    )
    long["genes"] = long["genes"].map(
        {
            "zi_fraction": "all genes",
            "zi_fraction_sufficient": f"mean log-expression > {expression_cutoff:g}",
        }
    )
    height = max(3.0, 0.45 * label_fractions.shape[0] + 1.5)
    fig, ax = plt.subplots(figsize=(7, height))
    sns.barplot(data=long, y="label", x="fraction ZI", hue="genes", palette="Set2", ax=ax)
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of genes called zero-inflated")
    ax.set_ylabel("cell type")
    ax.set_title("Zero inflation per cell type", pad=28)
    sns.move_legend(ax, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, title=None, frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return fig
