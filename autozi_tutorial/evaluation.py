"""Error rates of ZI calls against known truth: TPR, FPR, precision, ROC AUC and PR AUC."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from sklearn.cluster import KMeans
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from .fit import fit_autozi_model
from .lrt import calibrated_call, zinb_lrt
from .offsets import fit_offset_model, latent_log_means
from .zi import call_zi, zi_probability

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
        Higher means more likely ZI (e.g. ``zi_prob``); enables ``roc_auc`` and ``pr_auc``.

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
    expression: str = "mean_counts",
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
    """Error rates over all genes and over genes with ``mean_counts > min_mean``, spike-ins excluded.

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
    expressed = biological[biological["mean_counts"] > min_mean]
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


#: Candidate ZI calls scored by :func:`score_simulated_genes`: name -> (call column, score column).
CANDIDATES: dict[str, tuple[str, str | None]] = {
    "AUTOZI q > threshold": ("autozi_call", "zi_prob"),
    "LRT, cell types as covariate": ("lrt_types_call", "lrt_types_score"),
    "LRT, fine clusters as covariate": ("lrt_clusters_call", "lrt_clusters_score"),
    "LRT, fine clusters, dispersion per cluster": (
        "lrt_cluster_dispersion_call",
        "lrt_cluster_dispersion_score",
    ),
    "LRT, NB-scVI offsets and fine clusters, dispersion per cluster": (
        "lrt_offset_clusters_call",
        "lrt_offset_clusters_score",
    ),
    "LRT, AUTOZI's NB means as offsets": ("lrt_autozi_call", "lrt_autozi_score"),
    "LRT, NB-scVI offsets, one dispersion per gene": ("lrt_latent_call", "lrt_latent_score"),
    "LRT, NB-scVI offsets, dispersion per type (recommended)": (
        "lrt_recommended_call",
        "lrt_recommended_score",
    ),
    "AUTOZI and recommended agree": ("agreement_call", None),
}
#: Fine clusters of the NB-scVI latent space used by the "fine clusters" candidate.
N_FINE_CLUSTERS = 15
#: The tests :func:`score_simulated_genes` can run, named by the prefix of their columns.
TESTS = (
    "lrt_types",
    "lrt_clusters",
    "lrt_cluster_dispersion",
    "lrt_offset_clusters",
    "lrt_autozi",
    "lrt_latent",
    "lrt_recommended",
)


def _add_test(table: pd.DataFrame, name: str, lrt: pd.DataFrame, fdr: float) -> None:
    lrt = lrt.set_index("gene")
    table[f"{name}_qvalue"] = lrt["lrt_qvalue"]
    # A gene whose fit did not converge has no p-value: it is never called and ranks last.
    table[f"{name}_score"] = -np.log10(lrt["lrt_pvalue"].clip(lower=1e-300)).fillna(0.0)
    table[f"{name}_call"] = calibrated_call(table[f"{name}_qvalue"], fdr)
    table[f"{name}_converged"] = lrt["converged"]


def score_simulated_genes(
    adata: AnnData,
    seeds: Sequence[int] = (0,),
    max_epochs: int = 200,
    threshold: float = 0.5,
    fdr: float = 0.05,
    labels_key: str | None = "cell_type",
    batch_key: str | None = None,
    n_latent: int | None = None,
    n_clusters: int = N_FINE_CLUSTERS,
    tests: Collection[str] = TESTS,
) -> pd.DataFrame:
    """Score every gene of a simulation with AUTOZI and the candidate tests (see :data:`CANDIDATES`).

    Parameters
    ----------
    adata
        Output of a simulator in :mod:`autozi_tutorial.simulation` (truth in ``var``).
    seeds
        One AUTOZI fit per seed; the first seed gives ``zi_prob``, the calls and the NB-scVI fit.
    max_epochs
        Training epochs of AUTOZI and of the NB-scVI offset model.
    threshold, fdr
        AUTOZI threshold and the tests' false discovery rate.
    labels_key
        Annotated cell types (AUTOZI's labels and the covariate); None when there are none.
    batch_key
        Batches, for every model and test.
    n_latent
        Latent dimensions of the NB-scVI offset model (None: :func:`offset_model_settings`'s).
    n_clusters
        KMeans clusters of its latent space for the "fine clusters" candidates.
    tests
        The tests to run, among :data:`TESTS`; the recommended one always runs (the
        agreement call needs it).

    Returns
    -------
    pandas.DataFrame
        Indexed by gene: ``zi_true, spike_in, mean_counts, zi_prob_seed<s>..., zi_prob``, and
        for each test run ``<name>_qvalue, <name>_score`` (-log10 p; 0 where the fit did not
        converge, so such a gene ranks last), ``<name>_call`` and ``<name>_converged``, with
        names ``lrt_types, lrt_clusters, lrt_autozi, lrt_latent`` (one dispersion per gene),
        ``lrt_cluster_dispersion`` (fine clusters, one dispersion per gene and cluster),
        ``lrt_offset_clusters`` (NB-scVI offsets and fine clusters, dispersion per cluster) and
        ``lrt_recommended`` (the recommended call: NB-scVI offsets and :func:`zinb_lrt`'s
        default dispersion, per type when there are labels); ``autozi_call`` (AUTOZI's rule)
        and ``agreement_call`` (AUTOZI's rule and the recommended call at once).
    """
    seeds = list(seeds)
    unknown = sorted(set(tests) - set(TESTS))
    if unknown:
        raise ValueError(f"Unknown tests {unknown}; choose among {list(TESTS)}.")
    tests = {*tests, "lrt_recommended"}
    table = pd.DataFrame(index=adata.var_names)
    table["zi_true"] = adata.var["zi_true"].to_numpy(dtype=bool)
    table["spike_in"] = adata.var["spike_in"].to_numpy(dtype=bool) if "spike_in" in adata.var else False
    table["mean_counts"] = np.asarray(adata.layers["counts"].mean(axis=0)).ravel()
    keys = {"labels_key": labels_key, "batch_key": batch_key}
    for seed in seeds:
        model = fit_autozi_model(adata, max_epochs=max_epochs, seed=seed, **keys)
        posterior = model.get_alphas_betas()
        table[f"zi_prob_seed{seed}"] = zi_probability(
            posterior["alpha_posterior"], posterior["beta_posterior"]
        )
        if seed == seeds[0] and "lrt_autozi" in tests:
            autozi_offsets = latent_log_means(model)
    table["zi_prob"] = table[f"zi_prob_seed{seeds[0]}"]
    table["autozi_call"] = call_zi(table["zi_prob"], threshold)

    offset_model = fit_offset_model(
        adata, batch_key=batch_key, max_epochs=max_epochs, seed=seeds[0], n_latent=n_latent
    )
    offsets = latent_log_means(offset_model)
    if tests & {"lrt_clusters", "lrt_cluster_dispersion", "lrt_offset_clusters"}:
        clustered = adata.copy()
        clustered.obs["fine_cluster"] = KMeans(n_clusters, n_init=4, random_state=seeds[0]).fit_predict(
            offset_model.get_latent_representation()
        )
    one = {"dispersion": "gene", "batch_key": batch_key}
    per_cluster = {"labels_key": "fine_cluster", "batch_key": batch_key}
    runs = {
        "lrt_types": lambda: zinb_lrt(adata, labels_key=labels_key, **one),
        "lrt_clusters": lambda: zinb_lrt(clustered, labels_key="fine_cluster", **one),
        "lrt_cluster_dispersion": lambda: zinb_lrt(clustered, **per_cluster),
        "lrt_offset_clusters": lambda: zinb_lrt(clustered, offsets=offsets, **per_cluster),
        "lrt_autozi": lambda: zinb_lrt(adata, offsets=autozi_offsets, **one),
        "lrt_latent": lambda: zinb_lrt(adata, offsets=offsets, **one),
        "lrt_recommended": lambda: zinb_lrt(adata, offsets=offsets, **keys),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # convergence is recorded per gene instead
        for name in TESTS:
            if name in tests:
                _add_test(table, name, runs[name](), fdr)
    table["agreement_call"] = table["autozi_call"] & table["lrt_recommended_call"]
    return table


def seed_agreement(table: pd.DataFrame, seeds: Sequence[int], threshold: float = 0.5) -> float:
    """Smallest share of genes given the same AUTOZI call by any two of ``seeds`` (NaN for one seed)."""
    calls = [table[f"zi_prob_seed{seed}"] > threshold for seed in seeds]
    pairs = [float((a == b).mean()) for i, a in enumerate(calls) for b in calls[i + 1 :]]
    return min(pairs) if pairs else float("nan")
