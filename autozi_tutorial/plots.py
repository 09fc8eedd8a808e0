"""Figures for AutoZI results. Each function takes a tidy table and returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
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


def plot_calls(gene_table: pd.DataFrame, threshold: float, fdr: float = 0.05, n_named: int = 15) -> Figure:
    """The answer: AUTOZI's probability against the test's evidence, recommended genes named.

    Parameters
    ----------
    gene_table
        Gene table with ``zi_prob``, ``lrt_qvalue`` and ``is_zi_calibrated``.
    threshold
        AUTOZI's decision threshold (vertical line).
    fdr
        The test's false discovery rate (horizontal line).
    n_named
        How many of the recommended genes (smallest q first) get their name written.
    """
    evidence = -np.log10(gene_table["lrt_qvalue"].clip(lower=1e-300))
    autozi, test = gene_table["zi_prob"] > threshold, gene_table["is_zi_calibrated"]
    groups = np.select(
        [autozi & test, test, autozi], ["both", "recommended test only", "AUTOZI rule only"], "neither"
    )
    palette = {
        "both": "#d95f02",
        "recommended test only": "#e7298a",
        "AUTOZI rule only": "#7570b3",
        "neither": "#bdbdbd",
    }
    data = gene_table.assign(evidence=evidence, called=groups)
    fig, ax = plt.subplots(figsize=(7, 5))
    sns.scatterplot(
        data=data.sort_values("called", key=lambda c: c != "neither", kind="stable"),
        x="zi_prob",
        y="evidence",
        hue="called",
        hue_order=[name for name in palette if (groups == name).any()],
        palette=palette,
        s=18,
        linewidth=0,
        ax=ax,
    )
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
    ax.axhline(-np.log10(fdr), color="black", linestyle=":", linewidth=1)
    named = data[data["is_zi_calibrated"]].nsmallest(n_named, "lrt_qvalue")
    for row in named.itertuples():
        position = (row.zi_prob, row.evidence)
        ax.annotate(row.gene, position, fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.set_xlabel(f"AUTOZI: q(δ < 0.5)   (dashed: threshold {threshold:g})")
    ax.set_ylabel(f"test: -log10 q-value   (dotted: q = {fdr:g})")
    ax.set_title("Which genes have more zeros than their cell states explain?")
    ax.legend(title="called ZI by", frameon=False, fontsize=8)
    sns.despine(fig)
    fig.tight_layout()
    return fig


def plot_label_zi_fractions(
    label_fractions: pd.DataFrame, expression_cutoff: float, threshold: float
) -> Figure:
    """Per cell type: share of expressed genes called ZI by AUTOZI's rule and by the recommended test.

    Parameters
    ----------
    label_fractions
        Output of ``zi_fractions(gene_label_table, cutoff, by="label")`` for a gene-label table
        with the recommended call; untestable pairs are already left out. A column
        ``n_cells``, when present, is shown beside each cell type's name.
    expression_cutoff
        Mean count above which a gene counts as expressed in a type (for the axis label).
    threshold
        AUTOZI's threshold (for the legend).
    """
    if "n_cells" in label_fractions:
        names = label_fractions["label"].astype(str) + " (n=" + label_fractions["n_cells"].astype(str) + ")"
        label_fractions = label_fractions.assign(label=names)
    rules = {
        "zi_fraction_sufficient": f"AUTOZI q > {threshold:g}",
        "calibrated_zi_fraction_sufficient": "recommended test",
    }
    long = label_fractions.melt(
        id_vars="label", value_vars=list(rules), var_name="call", value_name="fraction ZI"
    ).assign(call=lambda frame: frame["call"].map(rules))
    height = max(3.0, 0.45 * label_fractions.shape[0] + 1.5)
    fig, ax = plt.subplots(figsize=(7, height))
    sns.barplot(data=long, y="label", x="fraction ZI", hue="call", palette=["#7570b3", "#e7298a"], ax=ax)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of genes with mean count > {expression_cutoff:g} in the type called ZI")
    ax.set_ylabel("cell type (cells)")
    ax.set_title("Zero inflation per cell type", pad=28)
    sns.move_legend(ax, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, title=None, frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return fig
