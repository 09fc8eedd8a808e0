"""Error rates of ZI calls against known truth: TPR, FPR, precision, ROC AUC and PR AUC."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from . import get, tl
from .lrt import benjamini_hochberg, converged_pvalues
from .zi import call_zi

#: Default bins of mean count per cell used to break error rates down by expression.
EXPRESSION_BINS: tuple[float, ...] = (0.0, 0.1, 1.0, 10.0, np.inf)


def call_metrics(truth: np.ndarray, called: np.ndarray, score: np.ndarray | None = None) -> dict[str, float]:
    """Error rates of boolean calls, and threshold-free ranking quality when a score is given.

    Parameters
    ----------
    truth
        True where the gene is really zero-inflated.
    called
        True where the gene was called zero-inflated.
    score
        Higher means more likely ZI (e.g. ``autozi_prob``); enables ``roc_auc`` and ``pr_auc``.

    Returns
    -------
    dict
        ``n_genes, n_zi, tpr, fpr, precision`` and, with a score, ``roc_auc, pr_auc``.
        A rate with an empty denominator is NaN, and so are the AUCs when only one class
        is present.
    """
    truth = np.asarray(truth, dtype=bool)
    called = np.asarray(called, dtype=bool)
    if truth.shape != called.shape:
        raise ValueError(f"truth has shape {truth.shape}, calls {called.shape}.")
    true_positive = int((truth & called).sum())
    n_zi, n_called = int(truth.sum()), int(called.sum())
    n_negative = len(truth) - n_zi
    metrics = {
        "n_genes": len(truth),
        "n_zi": n_zi,
        "tpr": true_positive / n_zi if n_zi else np.nan,
        "fpr": (n_called - true_positive) / n_negative if n_negative else np.nan,
        "precision": true_positive / n_called if n_called else np.nan,
    }
    if score is not None:
        both_classes = 0 < n_zi < len(truth)
        metrics["roc_auc"] = roc_auc_score(truth, score) if both_classes else np.nan
        metrics["pr_auc"] = average_precision_score(truth, score) if both_classes else np.nan
    return metrics


def evaluate_methods(
    table: pd.DataFrame,
    methods: dict[str, tuple[str, str | None]],
    truth: str = "zi_true",
    expression: str = "mean_count",
    bins: Sequence[float] | None = EXPRESSION_BINS,
) -> pd.DataFrame:
    """Error rates of several methods, overall and by expression bin, as one tidy table.

    Parameters
    ----------
    table
        One row per gene, holding the truth, each method's call and score, and expression.
    methods
        Method name -> (call column, score column or None).
    truth
        Boolean column with the truth.
    expression
        Column binned for the breakdown.
    bins
        Bin edges for ``expression``; None for the overall rows only.

    Returns
    -------
    pandas.DataFrame
        Columns ``method, expression_bin, n_genes, n_zi, tpr, fpr, precision, roc_auc,
        pr_auc``; ``expression_bin`` is ``"all"`` for the overall rows.
    """
    groups: list[tuple[str, pd.DataFrame]] = [("all", table)]
    if bins is not None:
        binned = pd.cut(table[expression], bins=list(bins), right=False)
        groups += [(str(interval), group) for interval, group in table.groupby(binned, observed=True)]
    rows = []
    for method, (call_column, score_column) in methods.items():
        for name, group in groups:
            score = None if score_column is None else group[score_column].to_numpy()
            metrics = call_metrics(group[truth].to_numpy(), group[call_column].to_numpy(), score)
            rows.append({"method": method, "expression_bin": name, **metrics})
    columns = ["method", "expression_bin", "n_genes", "n_zi", "tpr", "fpr", "precision", "roc_auc", "pr_auc"]
    return pd.DataFrame(rows).reindex(columns=columns)


def error_rate_summary(
    genes: pd.DataFrame, methods: dict[str, tuple[str, str | None]], min_mean: float = 1.0
) -> pd.DataFrame:
    """Error rates over all genes and over genes with ``mean_count > min_mean``, spike-ins excluded.

    Parameters
    ----------
    genes
        Output of :func:`score_simulated_genes`.
    methods
        Method name -> (call column, score column or None), as in :func:`evaluate_methods`.
    min_mean
        Mean count per cell above which a gene counts as expressed enough to decide.

    Returns
    -------
    pandas.DataFrame
        :func:`evaluate_methods`'s columns plus ``genes`` (``"all"`` or ``"mean count > 1"``).
    """
    biological = genes[~genes["spike_in"]]
    expressed = biological[biological["mean_count"] > min_mean]
    return pd.concat(
        [
            evaluate_methods(biological, methods, bins=None).assign(genes="all"),
            evaluate_methods(expressed, methods, bins=None).assign(genes=f"mean count > {min_mean:g}"),
        ],
        ignore_index=True,
    )


def roc_points(truth: np.ndarray, score: np.ndarray, method: str) -> pd.DataFrame:
    """ROC curve of one score as a tidy table (``method, fpr, tpr``) for plotting."""
    fpr, tpr, _ = roc_curve(np.asarray(truth, dtype=bool), np.asarray(score))
    return pd.DataFrame({"method": method, "fpr": fpr, "tpr": tpr})


#: The calls :func:`score_simulated_genes` scores: name -> (call column, score column).
METHODS: dict[str, tuple[str, str | None]] = {
    "AUTOZI q > threshold": ("autozi_call", "autozi_prob"),
    "LRT, cell types as covariate": ("lrt_types_call", "lrt_types_score"),
    "ZI test (recommended)": ("zi_test_call", "zi_test_score"),
    "AUTOZI and ZI test agree": ("agreement_call", None),
}


def add_test_columns(table: pd.DataFrame, name: str, result: pd.DataFrame) -> None:
    """Add a test's ``<name>_qvalue, _score, _call, _converged`` columns to a gene table (by position).

    ``result`` is :func:`autozi_tutorial.get.zi_test_df` (or an engine table with ``pvalue``,
    ``qvalue``, ``converged`` and, when absent, ``call`` taken as q < 0.05). The score is
    -log10 p, 0 where the fit did not converge, so such a gene ranks last.
    """
    table[f"{name}_qvalue"] = result["qvalue"].to_numpy()
    table[f"{name}_score"] = -np.log10(result["pvalue"].clip(lower=1e-300)).fillna(0.0).to_numpy()
    calls = result["call"] if "call" in result else result["qvalue"] < 0.05
    table[f"{name}_call"] = calls.to_numpy(dtype=bool)
    table[f"{name}_converged"] = result["converged"].to_numpy()


def score_simulated_genes(
    adata: AnnData,
    seeds: Sequence[int] = (0,),
    max_epochs: int = 200,
    threshold: float = 0.5,
    fdr: float = 0.05,
    labels_key: str | None = "cell_type",
    batch_key: str | None = None,
    layer: str | None = "counts",
    autozi: bool = True,
) -> pd.DataFrame:
    """Score every gene of a simulation with AUTOZI, the test with cell types only, and the ZI test.

    AUTOZI runs through :func:`autozi_tutorial.tl.autozi`, the ZI test through
    :func:`autozi_tutorial.tl.zi_test`, exactly as the lesson runs them.

    Parameters
    ----------
    adata
        Output of a simulator in :mod:`autozi_tutorial.simulation` (truth in ``var``); not modified.
    seeds
        One AUTOZI fit per seed; the first seed gives ``autozi_prob`` and the calls, and seeds the
        ZI test's cell-state model.
    max_epochs
        Training epochs of AUTOZI (the ZI test's cell-state model has its own, fixed, training).
    threshold, fdr
        AUTOZI's threshold and the tests' false discovery rate.
    labels_key
        Annotated cell types (AUTOZI's labels and the tests' covariate); None when there are none.
    batch_key
        Batches, for every model and test.
    layer
        Layer with the counts.
    autozi
        False: leave AUTOZI out (no ``autozi_prob*``, ``autozi_call`` or ``agreement_call``), to
        rerun the tests alone.

    Returns
    -------
    pandas.DataFrame
        Indexed by gene: ``zi_true, spike_in, mean_count, autozi_prob_seed<s>..., autozi_prob,
        autozi_call``, for each test (``lrt_types``: library size and cell types only;
        ``zi_test``: the recommended call, as the tool calibrates it by default; ``zi_test_raw``:
        the same run's statistics with the boundary null's p-values, the same unless a
        calibration acted) ``<test>_qvalue,
        _score`` (-log10 p; 0 where the fit did not converge), ``_call, _converged``, and
        ``agreement_call`` (AUTOZI's rule and the ZI test at once).
    """
    seeds = list(seeds)
    table = pd.DataFrame(index=adata.var_names)
    table["zi_true"] = adata.var["zi_true"].to_numpy(dtype=bool)
    table["spike_in"] = adata.var["spike_in"].to_numpy(dtype=bool) if "spike_in" in adata.var else False
    table["mean_count"] = np.asarray(adata.layers[layer].mean(axis=0)).ravel()
    keys = {"layer": layer, "labels_key": labels_key, "batch_key": batch_key}
    for seed in seeds if autozi else []:
        scored = tl.autozi(
            adata, threshold=threshold, max_epochs=max_epochs, random_state=seed, copy=True, **keys
        )
        table[f"autozi_prob_seed{seed}"] = scored.var["autozi_prob"].to_numpy()
    if autozi:
        table["autozi_prob"] = table[f"autozi_prob_seed{seeds[0]}"]
        table["autozi_call"] = call_zi(table["autozi_prob"], threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # convergence is recorded per gene instead
        coarse = tl.zi_test(
            adata, fdr=fdr, cell_state_means="library_size", by_label=False, copy=True, **keys
        )
        add_test_columns(table, "lrt_types", get.zi_test_df(coarse))
        tested = tl.zi_test(adata, fdr=fdr, random_state=seeds[0], by_label=False, copy=True, **keys)
        result = get.zi_test_df(tested)
        add_test_columns(table, "zi_test", result)
        # The same run before its calibration: the boundary null's p-values of its statistics.
        raw = result[["statistic", "converged"]].copy()
        raw["pvalue"] = converged_pvalues(raw["statistic"], raw["converged"])
        raw["qvalue"] = benjamini_hochberg(raw["pvalue"].to_numpy())
        add_test_columns(table, "zi_test_raw", raw)
    if autozi:
        table["agreement_call"] = table["autozi_call"] & table["zi_test_call"]
    return table


def seed_agreement(table: pd.DataFrame, seeds: Sequence[int], threshold: float = 0.5) -> float:
    """Smallest share of genes given the same AUTOZI call by any two of ``seeds`` (NaN for one seed)."""
    calls = [table[f"autozi_prob_seed{seed}"] > threshold for seed in seeds]
    pairs = [float((a == b).mean()) for i, a in enumerate(calls) for b in calls[i + 1 :]]
    return min(pairs) if pairs else float("nan")
