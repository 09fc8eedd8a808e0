"""Figures of the tools' results: AnnData (or a table of simulated genes) in, a Figure out.

Every figure says so in the figure when there is nothing to show (no gene called, a rate of
0, a pile of genes at one value), so that an empty result reads as a result and not as a
broken plot. Fonts are sized to stay readable when a page shows the figure narrower than
drawn.
"""

from __future__ import annotations

import functools
import itertools
import textwrap
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from anndata import AnnData
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .evaluation import EXPRESSION_BINS, METHODS, evaluate_methods, roc_points
from .get import autozi_df, call_summary, zi_test_df
from .lrt import dispersion_groups
from .validation import counts_matrix

__all__ = [
    "autozi_prob_hist",
    "autozi_prob_vs_expression",
    "calls",
    "design_false_positives",
    "error_rates_by_expression",
    "label_fractions",
    "positive_control_genes",
    "roc",
    "seed_stability",
    "zero_diagnostic",
]

COLOURS = {"autozi": "#7570b3", "zi_test": "#d95f02", "both": "#e7298a", "neither": "#bdbdbd"}
#: One colour per call of the simulation lesson (:data:`autozi_tutorial.evaluation.METHODS`).
METHOD_COLOURS = dict(zip(METHODS, ("#7570b3", "#1b9e77", "#d95f02", "#e7298a"), strict=True))
#: Font sizes (points) for every figure of this module.
STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
}


def _styled(plot: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draw ``plot``'s figure with :data:`STYLE`'s font sizes."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs) -> Figure:
        with plt.rc_context(STYLE):
            return plot(*args, **kwargs)

    return wrapper


def _note(ax: Axes, text: str) -> None:
    """A boxed note in the middle of the axes (for empty results)."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#888888"},
    )


def _threshold(adata: AnnData, key: str) -> float:
    return float(adata.uns[key]["params"]["threshold"])


@_styled
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


@_styled
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
        transform=ax.get_xaxis_transform(),
        va="bottom",
    )
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean raw count per cell (log scale)")
    ax.set_ylabel("q(δ < 0.5)")
    ax.legend(frameon=False, loc="lower right")
    sns.despine(fig)
    fig.tight_layout()
    return fig


@_styled
def calls(
    adata: AnnData, *, autozi_key: str = "autozi", zi_test_key: str = "zi_test", n_named: int = 10
) -> Figure:
    """Both calls per gene: AUTOZI's probability (x) against the ZI test's evidence (y).

    The test's evidence is -log10 of its q-value; genes above the dotted line are called by
    the test, genes right of the dashed line by AUTOZI's rule. The test's calls (smallest q
    first) are named or, when the test calls none, its strongest candidate (AUTOZI's top genes
    would all sit at the bottom right, their names on top of each other). The legend lists only
    the groups that hold genes, and the figure says how many genes sit at the bottom line (a
    q-value near 1: no evidence of extra zeros beyond chance), where their points overlap.

    Parameters
    ----------
    adata
        Results of :func:`autozi_tutorial.tl.autozi` and :func:`autozi_tutorial.tl.zi_test`.
    autozi_key, zi_test_key
        The tools' keys.
    n_named
        At most this many genes are named.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
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
    fig, ax = plt.subplots(figsize=(10, 5))
    for key in ("neither", "autozi", "zi_test", "both"):
        chosen = group == key
        if not chosen.any():
            continue
        ax.scatter(
            autozi["prob"][chosen],
            evidence[chosen],
            s=18,
            color=COLOURS[key],
            linewidths=0,
            label=f"{names[key]} ({chosen.sum()})",
        )
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
    ax.axhline(-np.log10(fdr), color="black", linestyle=":", linewidth=1)
    data = pd.DataFrame({"gene": test["gene"], "x": autozi["prob"], "y": evidence, "q": test["qvalue"]})
    named = data[test["call"]].nsmallest(n_named, "q")
    notes = []
    if named.empty:
        named = data.nsmallest(1, "q")
        notes.append(
            f"The ZI test calls no gene\n(no q-value below {fdr:g});\nnamed: its strongest candidate."
        )
    for row in named.itertuples():
        ax.annotate(row.gene, (row.x, row.y), fontsize=10, xytext=(4, 3), textcoords="offset points")
    bottom = int((evidence < 0.05).sum())
    if bottom:
        notes.append(
            f"{bottom} of {len(evidence)} genes lie on the bottom line\n(q-value about 1: no evidence of\n"
            "extra zeros beyond chance once their cells'\nstates are known)."
        )
    if notes:
        # Under the legend, outside the axes: no point or line runs through them.
        ax.text(1.02, 0.45, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=10)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(bottom=-0.05, top=max(float(evidence.max()) * 1.15, -np.log10(fdr) * 1.3))
    ax.set_xlabel(f"AUTOZI's score q(δ < 0.5)   (dashed: threshold {threshold:g})")
    ax.set_ylabel(f"ZI test: -log10 q-value\n(dotted: q-value {fdr:g})")
    # Outside the axes, right of them: no point or line runs through it.
    ax.legend(title="called ZI by", frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    sns.despine(fig)
    fig.tight_layout()
    return fig


@_styled
def label_fractions(
    adata: AnnData,
    *,
    expression_cutoff: float = 1.0,
    autozi_key: str = "autozi_label",
    zi_test_key: str = "zi_test",
) -> Figure:
    """Per cell type: the share of its expressed genes called by AUTOZI's rule and by the ZI test.

    A call that finds no gene in any type gets no bars: the figure says so in words instead.

    Parameters
    ----------
    adata
        Results of the per-cell-type AUTOZI (``autozi_key``) and of the ZI test run with
        cell types (``zi_test_key``).
    expression_cutoff
        A gene counts in a type when its mean count per cell there exceeds this.
    autozi_key, zi_test_key
        The tools' keys.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    summary = call_summary(
        adata,
        expression_cutoff=expression_cutoff,
        by_label=True,
        autozi_key=autozi_key,
        zi_test_key=zi_test_key,
    )
    n_cells = adata.obs[adata.uns[zi_test_key]["params"]["labels_key"]].astype(str).value_counts()
    names = [f"{label} ({n_cells.get(label, 0)} cells)" for label in summary["label"]]
    rules = {"autozi_share_expressed": "AUTOZI's rule", "zi_test_share_expressed": "ZI test"}
    rules = {column: name for column, name in rules.items() if column in summary}
    shares = {column: summary[column].fillna(0.0).to_numpy() for column in rules}
    drawn = {column: name for column, name in rules.items() if shares[column].max() > 0}
    empty = [name for column, name in rules.items() if column not in drawn]
    height = max(3.5, 0.5 * len(summary) + 2.0)
    fig, ax = plt.subplots(figsize=(8, height))
    positions = np.arange(len(summary))
    width = 0.8 / max(len(drawn), 1)
    largest = max([float(values.max()) for values in shares.values()] + [0.0])
    for i, (column, name) in enumerate(drawn.items()):
        colour = COLOURS["autozi" if column.startswith("autozi") else "zi_test"]
        values = shares[column]
        # The calls the bars show: among each type's genes above the cutoff.
        n_calls = int(np.round(values * summary["n_expressed"].to_numpy()).sum())
        offsets = positions + (i - (len(drawn) - 1) / 2) * width
        label = f"{name} ({n_calls} calls among the expressed gene x type pairs)"
        ax.barh(offsets, values, height=width, color=colour, label=label)
        for y, value in zip(offsets, values, strict=True):
            ax.text(value + largest * 0.01, y, f"{value:.2f}", va="center", fontsize=9)
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlim(0, max(largest * 1.15, 0.05))
    ax.set_xlabel(f"share of the type's genes (mean count > {expression_cutoff:g}) called ZI")
    if drawn:
        ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2)
    for row, name in enumerate(empty):
        # Below the x-axis label, where no bar can be.
        ax.annotate(
            f"{name}: no gene called in any cell type (no bar)",
            xy=(1.0, 0.0),
            xycoords="axes fraction",
            xytext=(0, -42 - 16 * row),
            textcoords="offset points",
            ha="right",
            va="top",
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#888888"},
            annotation_clip=False,
        )
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


def _qvalue_text(qvalue: float) -> str:
    """A q-value for a panel title: "not tested", "q-value < 0.001" or two significant digits."""
    if np.isnan(qvalue):
        return "not tested"
    return "q-value < 0.001" if qvalue < 0.001 else f"q-value {qvalue:.2g}"


#: Characters per line of a :func:`zero_diagnostic` panel's title (gene and note).
TITLE_WIDTH = 30


@_styled
def zero_diagnostic(
    adata: AnnData,
    genes: Sequence[str] | Mapping[str, str],
    *,
    key_added: str = "zi_test",
    n_bins: int = 10,
) -> Figure:
    """Observed against expected zeros, per gene: what "more zeros than the cell states explain" looks like.

    Cells are sorted by their expected share of zeros for the gene under the test's NB fit
    (from the learned cell states) and cut into ``n_bins`` groups of equal size; each point is
    one group: its mean expected share (x) and the share of its cells where the gene has a
    count of 0 (y). On the diagonal the cell states explain the zeros; above it the gene has
    extra zeros. Groups with the same expected share overlap, which each panel says.

    Parameters
    ----------
    adata
        Results of :func:`autozi_tutorial.tl.zi_test` run with ``save_means=True``.
    genes
        Gene names, one panel each; or a mapping of gene names to a note each (why the gene
        is shown), written in its panel's title.
    key_added
        The test's key.
    n_bins
        Groups of cells per gene.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    notes = dict(genes) if isinstance(genes, Mapping) else {}
    genes = list(genes)
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
    columns = n if n <= 3 else 2  # up to three genes in one row, no empty panel
    rows = int(np.ceil(n / columns)) if n else 1
    # Narrow panels: shrunk to a notebook's or the website's width, the text stays readable.
    width = 3.6 if columns == 3 else 4.2
    fig, axes = plt.subplots(
        rows, max(columns, 1), figsize=(width * max(columns, 1), 4.0 * rows + 0.6), squeeze=False
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
        order = np.argsort(expected, kind="stable")
        bins = np.empty(len(order), dtype=np.int64)
        bins[order] = np.arange(len(order)) * min(n_bins, len(order)) // max(len(order), 1)
        frame = pd.DataFrame({"bin": bins, "expected": expected, "observed": observed})
        points = frame.groupby("bin").agg(expected=("expected", "mean"), observed=("observed", "mean"))
        per_point = len(order) // max(len(points), 1)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1.2, label="no extra zeros")
        ax.scatter(
            points["expected"],
            points["observed"],
            s=45,
            color=COLOURS["zi_test"],
            edgecolors="white",
            linewidths=0.5,
            zorder=3,
            label=f"{len(points)} equal groups of cells, each point about {per_point} cells\n"
            "(groups overlap where their cells expect alike)",
        )
        row = table.iloc[g]
        verdict = "called" if row["call"] else "not called"
        note = textwrap.fill(f"{gene}, {notes[gene]}", TITLE_WIDTH) if notes.get(gene) else gene
        ax.set_title(f"{note}\n{verdict} ({_qvalue_text(row['qvalue'])})")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("expected share of zeros")
        ax.set_ylabel("observed share of zeros")
    sns.despine(fig)
    if n:  # one legend for every panel, below them: it covers no point
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, frameon=False, loc="lower center", ncol=2)
        fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 1))
    else:
        fig.tight_layout()
    return fig


def positive_control_genes(control: AnnData, key_added: str = "zi_test") -> dict[str, str]:
    """Injected genes worth showing from a positive control, each with why.

    Parameters
    ----------
    control
        A copy made by :func:`autozi_tutorial.positive_control`, after
        :func:`autozi_tutorial.tl.zi_test` ran on it (``key_added``).
    key_added
        The test's key.

    Returns
    -------
    dict
        Gene name -> note: for each size of injection, the gene found with the smallest
        q-value; then, among the injected genes missed, the one given the largest share of
        zeros (ties: the larger q-value). Each note gives the share of the gene's counts set
        to zero.
    """
    table = zi_test_df(control, key_added).set_index("gene")
    injected = control.var_names[control.var["zeros_injected"].astype(bool)]
    genes = table.loc[injected].assign(
        size=control.var.loc[injected, "injected_size"].astype(str),
        share=control.var.loc[injected, "injected_share"],
    )
    chosen: dict[str, str] = {}
    for size in ("strong", "weak"):
        found = genes[genes["call"].astype(bool) & (genes["size"] == size)]
        if len(found):
            gene = found["qvalue"].idxmin()
            chosen[gene] = f"{found.at[gene, 'share']:.0%} of counts set to 0, found"
    missed = genes[~genes["call"].astype(bool)]
    if len(missed):
        gene = missed.assign(qvalue=missed["qvalue"].fillna(1.0)).sort_values(["share", "qvalue"]).index[-1]
        chosen[gene] = f"{missed.at[gene, 'share']:.0%} of counts set to 0, missed"
    return chosen


# The simulation lesson: a table of simulated genes (one row per gene, the truth in ``zi_true``)
# with each method's call and score (:func:`autozi_tutorial.score_simulated_genes`).


def _rule_rates(genes: pd.DataFrame, call: str, truth: str = "zi_true") -> tuple[float, float]:
    """A call's false- and true-positive rates against the truth."""
    is_zi = genes[truth].astype(bool).to_numpy()
    called = genes[call].astype(bool).to_numpy()
    return float(called[~is_zi].mean()), float(called[is_zi].mean())


@_styled
def roc(genes: pd.DataFrame, methods: dict[str, tuple[str, str | None]] = METHODS) -> Figure:
    """ROC curves of each method's score, and where each method's decision rule lands.

    Parameters
    ----------
    genes
        Simulated genes, spike-ins left out: ``zi_true`` and each method's call and score.
    methods
        Method name -> (call column, score column or None for a call without a score).

    Returns
    -------
    matplotlib.figure.Figure
        The curves, with a two-column legend below the axes (the scores' curves, then where each
        rule lands), so that no marker covers it. A rule that lands on an earlier rule's point
        says so in its entry.
    """
    truth = genes["zi_true"].astype(bool)
    fig, ax = plt.subplots(figsize=(7.5, 6.8))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    for method, (_, score) in methods.items():
        if score is None:
            continue
        points = roc_points(truth, genes[score], method)
        # Straight lines between the curve's corners: genes with tied scores (many q-values of
        # 1) cross as a diagonal, so the area under the drawing is the AUC the tables report.
        ax.plot(
            points["fpr"],
            points["tpr"],
            color=METHOD_COLOURS.get(method),
            label=f"score: {method.split(' >')[0]}",
        )
    landed: dict[tuple[float, float], str] = {}
    for (method, (call, _)), marker in zip(methods.items(), "osDv", strict=False):
        fpr, tpr = _rule_rates(genes, call)
        # A rule landing on an earlier one hides its marker: the legend says whose point it shares.
        shared = landed.setdefault((round(fpr, 2), round(tpr, 2)), method)
        same = "" if shared == method else f"\nsame point as: {shared}"
        ax.scatter(
            fpr,
            tpr,
            marker=marker,
            s=90,
            facecolors="none",
            edgecolors=METHOD_COLOURS.get(method, "black"),
            linewidths=1.8,
            zorder=3,
            label=f"rule: {method}\n(FPR {fpr:.2f}, TPR {tpr:.2f}){same}",
        )
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("false-positive rate (non-ZI genes called ZI)")
    ax.set_ylabel("true-positive rate (ZI genes found)")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=9)
    sns.despine(fig)
    fig.tight_layout()
    return fig


@_styled
def error_rates_by_expression(
    genes: pd.DataFrame, methods: dict[str, tuple[str, str | None]] = METHODS
) -> Figure:
    """True- and false-positive rates of each method by the genes' mean count per cell.

    Methods with equal rates are shifted sideways, and a rate of 0 shared by several methods
    is said in the panel. Each bin's label gives the number of genes its rates are shares of.

    Parameters
    ----------
    genes
        Simulated genes, spike-ins left out, with ``mean_count``.
    methods
        Method name -> (call column, score column or None).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: true-positive rate, false-positive rate.
    """
    rates = evaluate_methods(genes, methods)
    rates = rates[rates["expression_bin"] != "all"]
    edges = list(EXPRESSION_BINS)
    inner = [f"{low:g}-{high:g}" for low, high in itertools.pairwise(edges[1:-1])]
    names = [f"< {edges[1]:g}", *inner, f"> {edges[-2]:g}"]
    # Bins without genes are left out of the table: name each bin by its own interval.
    rename = {
        str(pd.Interval(low, high, closed="left")): name
        for (low, high), name in zip(itertools.pairwise(edges), names, strict=True)
    }
    order = list(dict.fromkeys(rates["expression_bin"]))
    sizes = rates.drop_duplicates("expression_bin").set_index("expression_bin")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    shift = np.linspace(-0.15, 0.15, len(methods))
    for ax, (rate, title, counted) in zip(
        axes,
        (("tpr", "true-positive rate", "ZI"), ("fpr", "false-positive rate", "not ZI")),
        strict=True,
    ):
        for offset, method in zip(shift, methods, strict=True):
            part = rates[rates["method"] == method].set_index("expression_bin").loc[order]
            x = np.arange(len(order)) + offset
            ax.plot(x, part[rate], "o", markersize=7, color=METHOD_COLOURS.get(method), label=method)
        # Each rate is a share of the bin's ZI genes (TPR) or of its other genes (FPR): their number.
        n = sizes["n_zi"] if counted == "ZI" else sizes["n_genes"] - sizes["n_zi"]
        ax.set_xticks(np.arange(len(order)), [f"{rename[name]}\n{n[name]} {counted}" for name in order])
        ax.set_title(title)
        ax.set_xlabel("mean count per cell")
        ax.set_ylim(-0.04, 1.04)
        at_zero = [m for m in methods if (rates.loc[rates["method"] == m, rate].fillna(0) == 0).all()]
        if len(at_zero) > 1:
            ax.text(
                0.5, 0.1, f"{len(at_zero)} methods at 0 in every bin", transform=ax.transAxes, ha="center"
            )
    axes[0].set_ylabel("rate")
    axes[1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    sns.despine(fig)
    fig.tight_layout()
    return fig


#: :func:`seed_stability` counts the genes above this q under both seeds, where points overlap.
NEAR_ONE = 0.9


@_styled
def seed_stability(genes: pd.DataFrame, seeds: Sequence[int], threshold: float = 0.5) -> Figure:
    """AUTOZI's q(δ < 0.5) for each gene under two seeds, the diagonal and the threshold drawn.

    Parameters
    ----------
    genes
        Simulated genes with ``zi_true`` and ``autozi_prob_seed<seed>`` for the first two seeds.
    seeds
        At least two seeds; the first two are drawn.
    threshold
        AUTOZI's threshold (dashed).

    Returns
    -------
    matplotlib.figure.Figure
        The figure; genes in the two off-diagonal quadrants change their call. A note gives
        their number, and that of the genes above :data:`NEAR_ONE` under both seeds.
    """
    if len(seeds) < 2:
        raise ValueError(f"seed_stability needs two seeds, got {list(seeds)}.")
    first, second = (genes[f"autozi_prob_seed{seed}"] for seed in seeds[:2])
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1.2, label="same q under both seeds")
    for is_zi, name, colour in ((False, "not ZI", COLOURS["neither"]), (True, "ZI", COLOURS["autozi"])):
        chosen = genes["zi_true"].astype(bool).to_numpy() == is_zi
        ax.scatter(first[chosen], second[chosen], s=18, color=colour, linewidths=0, label=f"truth: {name}")
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    changed = int(((first > threshold) != (second > threshold)).sum())
    # Genes near q = 1 under both seeds overlap in one cluster: their number is said instead.
    near_one = int(((first > NEAR_ONE) & (second > NEAR_ONE)).sum())
    ax.text(  # under the legend, outside the axes: no point is covered
        1.03,
        0.62,
        f"{changed} of {len(genes)} genes change their call\n(top-left and bottom-right);\n"
        f"{near_one} have q > {NEAR_ONE:g} under both seeds\n(overlapping at the top right)",
        transform=ax.transAxes,
        va="top",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"q(δ < 0.5), seed {seeds[0]}")
    ax.set_ylabel(f"q(δ < 0.5), seed {seeds[1]}")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    sns.despine(fig)
    fig.tight_layout()
    return fig


@_styled
def design_false_positives(rates: pd.DataFrame, methods: Sequence[str], *, target: float = 0.05) -> Figure:
    """False-positive rate of each method on each design, every bar labelled, 0 included.

    Parameters
    ----------
    rates
        One row per design and method: ``design``, ``method``, ``fpr``; with ``n_genes`` and
        ``n_zi`` (:func:`autozi_tutorial.evaluation.evaluate_methods`'s), each label also gives
        the false calls and the genes without zero inflation the rate is a share of.
    methods
        The methods to draw, in order.
    target
        The target false-positive rate (dashed).

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal bars per design; a rate of 0 is written "0: no false call" where its bar
        would be. Every label starts right of the target line.
    """
    designs = list(dict.fromkeys(rates["design"]))
    counted = {"n_genes", "n_zi"} <= set(rates.columns)
    fig, ax = plt.subplots(figsize=(10, 1.5 * len(designs) + 1.8))
    width = 0.8 / len(methods)
    largest = float(rates["fpr"].max()) if len(rates) else 0.0
    for i, method in enumerate(methods):
        part = rates[rates["method"] == method].set_index("design").reindex(designs)
        offsets = np.arange(len(designs)) + (i - (len(methods) - 1) / 2) * width
        values = part["fpr"].fillna(0.0).to_numpy()
        nulls = (part["n_genes"] - part["n_zi"]).to_numpy() if counted else [None] * len(values)
        colour = METHOD_COLOURS.get(method)
        ax.barh(offsets, values, height=width, color=colour, label=method)
        for y, value, n in zip(offsets, values, nulls, strict=True):
            if value == 0:  # no bar to see: a tick in the method's colour, and words
                ax.plot([0, 0], [y - width * 0.4, y + width * 0.4], color=colour, linewidth=4, zorder=3)
            label = f"{value:.2f}" if value > 0 else "0: no false call"
            if n is not None:
                label += f" ({round(value * n)} of {n:g})" if value > 0 else f" (of {n:g})"
            ax.text(  # right of the target line, which would otherwise cross the small values' labels
                max(value, target) + largest * 0.015,
                y,
                label,
                va="center",
                fontsize=10,
                zorder=4,
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
            )
    ax.axvline(target, color="black", linestyle="--", linewidth=1, label=f"target {target:g}", zorder=2)
    ax.set_yticks(np.arange(len(designs)), designs)
    ax.invert_yaxis()
    ax.set_xlim(0, max(largest * 1.25, target * 2))
    ax.set_xlabel("false-positive rate (non-ZI genes called ZI), genes with mean count > 1")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    sns.despine(fig)
    fig.tight_layout()
    return fig
