"""The ZI test on any AnnData: more zeros than the learned cell states explain?"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

from .. import cell_states
from ..devices import training_device
from ..lrt import benjamini_hochberg, converged_pvalues, dispersion_groups, zinb_lrt, zinb_lrt_by_label
from ..progress import TrainingProgress
from ..validation import InputDataError, counts_matrix, validate_counts, validate_obs_key
from ._calibration import EXPRESSED_MEAN_COUNT, MIN_GENES, inflation_factor, null_counts
from ._common import check_key_added, group_mean_counts, mean_counts, package_versions, plain

#: ``cell_state_means`` value for a test that knows each cell's library size only.
LIBRARY_SIZE = "library_size"
#: ``calibration`` values. ``"auto"``: ``"none"`` where the cell-state model hides the tested
#: gene from its encoder, which removes the excess the bootstrap measured at its source
#: (``benchmarks/zi_common.py``); ``"bootstrap"`` where it cannot (learned cell states on fewer
#: than ``cell_states.MIN_GENES_HELD_OUT`` genes).
CALIBRATIONS = ("auto", "bootstrap", "none")
#: Warn that zero inflation is common when at least this share of the well-expressed genes is
#: called (``benchmarks/zi_common.py``: none of the designs without zero inflation, nor the
#: real PBMC counts, come near it).
COMMON_SHARE = 0.2
#: Columns written to ``var`` (``<key_added>_<column>``), from the engine's table.
VAR_COLUMNS = (
    "pvalue",
    "qvalue",
    "call",
    "statistic",
    "extra_zeros",
    "dispersion",
    "converged",
    "mean_count",
)
#: Per gene x cell type tables written to ``varm`` (``<key_added>_<name>``).
VARM_TABLES = ("pvalue", "qvalue", "call", "extra_zeros", "converged", "testable", "mean_count", "dispersion")


def _calibration(calibration, cell_state_means, n_genes: int) -> str:
    """The calibration the run uses (never ``"auto"``); a clear error for one it cannot use."""
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, got {calibration!r}.")
    if calibration == "bootstrap" and cell_state_means is not None:
        raise ValueError(
            f"calibration={calibration!r} recalibrates the test for the error of learned cell states "
            "by learning them again; with cell_state_means given there is none to learn. Use "
            "calibration='none' or 'auto'."
        )
    if calibration == "auto":
        learned_from_every_gene = cell_state_means is None and cell_states.held_out_folds(n_genes) is None
        return "bootstrap" if learned_from_every_gene else "none"
    return calibration


def _check_bootstrap(bootstrap, calibration: str, per_type: bool) -> None:
    """A reused bootstrap must come from an earlier run of the tool, with a factor for each test run now."""
    if bootstrap is None:
        return
    if calibration != "bootstrap":
        raise ValueError(f"bootstrap= reuses a bootstrap, which calibration={calibration!r} does not use.")
    needed = ("inflation", "inflation_by_label") if per_type else ("inflation",)
    usable = isinstance(bootstrap, Mapping) and all(
        isinstance(bootstrap.get(name), Real) and bootstrap[name] >= 1.0 for name in needed
    )
    if not usable:
        raise ValueError(
            "bootstrap must be an earlier run's adata.uns['zi_test']['calibration']['bootstrap'], with "
            f"factors of at least 1 under {', '.join(map(repr, needed))} (a run with labels_key and "
            "by_label for the per-type test)."
        )


def _check_inputs(adata, layer, labels_key, batch_key, fdr, cell_state_means, key_added, random_state):
    """Every check on the user's input, before anything is trained."""
    if not isinstance(adata, AnnData):
        raise TypeError(f"adata must be an AnnData, got {type(adata).__name__}.")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputDataError(f"adata has {adata.n_obs} cells x {adata.n_vars} genes; the test needs both.")
    if adata.var_names.has_duplicates:
        duplicated = adata.var_names[adata.var_names.duplicated()].unique()[:5].tolist()
        raise InputDataError(
            f"adata has duplicate gene names ({', '.join(map(str, duplicated))}, ...); results are "
            "stored per gene name. Run adata.var_names_make_unique() first."
        )
    if not (isinstance(fdr, Real) and not isinstance(fdr, bool) and 0.0 < fdr < 1.0):
        raise ValueError(f"fdr must be a number in (0, 1), got {fdr!r}.")
    if not (isinstance(random_state, Integral) and not isinstance(random_state, bool) and random_state >= 0):
        raise ValueError(f"random_state must be a whole number >= 0, got {random_state!r}.")
    check_key_added(key_added)
    where = "adata.X" if layer is None else f"adata.layers[{layer!r}]"
    counts = counts_matrix(adata, layer)
    validate_counts(counts, where)
    empty = int((np.asarray(counts.sum(axis=1)).ravel() == 0).sum())
    if empty:
        raise InputDataError(
            f"{empty} cells have no counts in {where}; drop them first, e.g. with "
            "sc.pp.filter_cells(adata, min_counts=1)."
        )
    for key, role in ((labels_key, "labels_key"), (batch_key, "batch_key")):
        if key is not None:
            validate_obs_key(adata, key, role)
    if isinstance(cell_state_means, str) and cell_state_means not in (LIBRARY_SIZE, *adata.layers):
        raise InputDataError(
            f"cell_state_means={cell_state_means!r} is neither {LIBRARY_SIZE!r} nor a layer of adata "
            f"(layers: {sorted(adata.layers) or 'none'}). Pass None to learn the cell states."
        )


def _user_log_means(adata: AnnData, cell_state_means) -> np.ndarray:
    """Log of the expected counts the user gave (a layer name or an array), checked."""
    means = adata.layers[cell_state_means] if isinstance(cell_state_means, str) else cell_state_means
    means = np.asarray(means.toarray() if hasattr(means, "toarray") else means, dtype=np.float64)
    if means.shape != adata.shape:
        raise InputDataError(
            f"cell_state_means has shape {means.shape}; it must be cells x genes {adata.shape}."
        )
    if not (np.isfinite(means).all() and (means > 0).all()):
        raise InputDataError(
            "cell_state_means must hold positive, finite expected counts (not log values, no zeros)."
        )
    return np.log(means)


def _cell_states_source(cell_state_means) -> str:
    if cell_state_means is None:
        return "learned"
    if isinstance(cell_state_means, str):
        return "library size" if cell_state_means == LIBRARY_SIZE else f"layer {cell_state_means}"
    return "given"


def _label_order(adata: AnnData, labels_key: str) -> list[str]:
    return [str(name) for name in pd.factorize(adata.obs[labels_key], sort=True)[1]]


def _train_cell_states(data: AnnData, layer: str | None, progress: str | bool, **training):
    """The cell-state model, with progress lines named ``progress`` unless it is False."""
    callbacks = [TrainingProgress(name=progress)] if progress else None
    return cell_states.fit(data, layer=layer, callbacks=callbacks, **training)


def _test(data, layer, offsets, *, null_means, labels_key, batch_key, labels, **keys):
    """The test over all cells and, for ``labels``, within each type: (table, null fit, per-type table)."""
    table, null_fit = zinb_lrt(
        data,
        layer=layer,
        labels_key=labels_key,
        batch_key=batch_key,
        offsets=offsets,
        return_null_fit=True,
        null_means=null_means,
        **keys,
    )
    by_type = None
    if labels:
        by_type = zinb_lrt_by_label(
            data, labels_key, layer=layer, batch_key=batch_key, offsets=offsets, labels=labels, **keys
        )
    return table, null_fit, by_type


def _null_draws(adata: AnnData, null_fit, labels_key, batch_key, random_state) -> AnnData:
    """The bootstrap's data: counts drawn from the test's fitted NB, with the cells' types and batches."""
    groups, _ = dispersion_groups(adata, labels_key, batch_key)
    rng = np.random.default_rng(random_state)
    counts = null_counts(null_fit.means, null_fit.dispersions, groups, rng)
    # Every real cell has counts: a cell drawn without any is drawn again (a few low-depth cells),
    # so that the draws keep the cells whose states are hardest to learn.
    for _ in range(100):
        empty = np.flatnonzero(counts.sum(axis=1) == 0)
        if not len(empty):
            break
        counts[empty] = null_counts(null_fit.means[empty], null_fit.dispersions, groups[empty], rng)
    keys = [key for key in (labels_key, batch_key) if key is not None]
    draws = AnnData(X=counts, obs=adata.obs[keys].copy())
    draws.var_names = adata.var_names.copy()
    # A cell still without counts (its expected counts all but zero) is left out.
    return draws[counts.sum(axis=1) > 0].copy()


def _dispersion_by_label(adata: AnnData, null_fit, labels_key, batch_key, labels) -> np.ndarray:
    """Genes x ``labels``: the test's NB dispersion in each type (geometric mean over its batches)."""
    groups, _ = dispersion_groups(adata, labels_key, batch_key)
    cell_labels = adata.obs[labels_key].astype(str).to_numpy()
    log_dispersions = np.log(null_fit.dispersions)
    columns = [log_dispersions[:, np.unique(groups[cell_labels == label])].mean(axis=1) for label in labels]
    return np.exp(np.column_stack(columns))


def _converged_statistics(table: pd.DataFrame) -> np.ndarray:
    """The statistics of the fits that converged; NaN for the others (no evidence either way)."""
    return np.where(table["converged"], table["statistic"], np.nan)


def _bootstrap_factors(table, means, by_type, type_means) -> dict:
    """The bootstrap's inflation factors, read off the draws' statistics, over all cells and per type."""
    factor, genes = inflation_factor(_converged_statistics(table), means)
    factors = {"inflation": factor, "n_genes": genes}
    if by_type is not None:
        factor, pairs = inflation_factor(_converged_statistics(by_type), type_means.T.ravel())
        factors |= {"inflation_by_label": factor, "n_pairs": pairs}
    return factors


def _is_library_size(cell_state_means) -> bool:
    return isinstance(cell_state_means, str) and cell_state_means == LIBRARY_SIZE


def common_calls(pvalue: pd.Series, mean_count: pd.Series, call: pd.Series) -> tuple[int, int, bool]:
    """The calls the warning that zero inflation is common counts, and whether it warns.

    Returns
    -------
    tuple of (int, int, bool)
        Genes called among the tested genes with a mean count above
        :data:`EXPRESSED_MEAN_COUNT` ("above 1", as the lessons' cut-off reads), those genes,
        and whether they are enough (:data:`MIN_GENES`) and called often enough
        (:data:`COMMON_SHARE`) for the warning.
    """
    expressed = pvalue.notna() & (mean_count > EXPRESSED_MEAN_COUNT)
    called, n = int((call.astype(bool) & expressed).sum()), int(expressed.sum())
    return called, n, n >= MIN_GENES and called / max(n, 1) >= COMMON_SHARE


def _warn_if_common(table: pd.DataFrame, *, warn: bool) -> float:
    """Share of the well-expressed tested genes called; with ``warn``, a plain warning when it is large."""
    called, expressed, common = common_calls(table["pvalue"], table["mean_count"], table["call"])
    share = called / max(expressed, 1)
    if warn and common:
        warnings.warn(
            f"{called} of the {expressed} genes with a mean count above "
            f"{EXPRESSED_MEAN_COUNT:g} ({share:.0%}) have more zeros than their cells' states explain: "
            "zero inflation is common in these data. That is rare in droplet (UMI) counts: check that "
            "the counts are raw, one cell each, neither normalised nor scaled. In plate-based (read) "
            "counts it is expected.",
            UserWarning,
            stacklevel=3,
        )
    return share


def _recalibrate(table: pd.DataFrame, inflation: float) -> None:
    """P-values of the statistics divided by ``inflation``, and their q-values, in place."""
    table["pvalue"] = converged_pvalues(table["statistic"], table["converged"], inflation)
    table["qvalue"] = benjamini_hochberg(table["pvalue"].to_numpy())


def _apply_calibration(settings: dict, table: pd.DataFrame, by_type: pd.DataFrame | None) -> None:
    """Divide the statistics by the bootstrap's factors, in place; record them and whether they acted."""
    for name, frame in (("inflation", table), ("inflation_by_label", by_type)):
        if frame is not None:
            settings[name] = settings["bootstrap"][name]
            _recalibrate(frame, settings[name])
    settings["acted"] = "bootstrap" if settings["inflation"] > 1.0 else "none"


def zi_test(
    adata: AnnData,
    *,
    layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    fdr: float = 0.05,
    cell_state_means: str | np.ndarray | None = None,
    by_label: bool = True,
    key_added: str = "zi_test",
    save_means: bool = False,
    calibration: str = "auto",
    bootstrap: Mapping | None = None,
    accelerator: str = "auto",
    random_state: int = 0,
    copy: bool = False,
    progress: bool = False,
    max_iter: int = 200,
    tol: float = 1e-8,
) -> AnnData | None:
    """Find genes with more zeros than their cells' states explain (NB vs ZINB test per gene).

    An scVI model with a negative-binomial likelihood learns each cell's state
    (:mod:`autozi_tutorial.cell_states`: one configuration, 200 epochs at learning rate 1e-3
    up to 3,000 cells and the same number of optimiser steps above, one latent dimension per 50
    genes from 3 to 10, as measured in ``benchmarks/evaluate_calls.py`` and
    ``benchmarks/zi_common.py``). From 500 genes up its encoder never sees the gene whose
    means it gives (the genes are split into two folds, and a gene's means come from the
    states inferred from the other fold), so the states cannot learn a gene's own zeros. Its
    mean for every cell and gene is the offset of a per-gene likelihood-ratio test of a
    negative binomial against a zero-inflated negative binomial
    (:func:`autozi_tutorial.lrt.zinb_lrt`), with one log-mean per cell type, an additive effect
    per batch, and one dispersion per cell type and batch. A gene is called
    when its Benjamini-Hochberg q-value is below ``fdr``.

    The test takes the learned means as known. Means learned from the tested gene's own counts
    would make its statistics too large for genes without zero inflation, the more so the more
    genes are zero-inflated; learned without them, they leave the statistics as the null
    expects, and the p-values are those of the statistics as they are. Measured on known
    truth (``benchmarks/zi_common.py``, zero inflation rare and common), the calls keep their
    false-discovery rate and find about what the same test finds with the true means; a
    parametric bootstrap of the whole pipeline found little or nothing left to discount.
    With fewer genes, where the encoder reads every gene, ``calibration="auto"`` runs that
    bootstrap (:mod:`autozi_tutorial.tl._calibration`), as ``calibration="bootstrap"`` does:
    counts drawn from the fitted NB, in which no gene is zero-inflated, go through the
    cell-state model and the test again; how much larger than the null their statistics are,
    at the 95th percentile, is the inflation factor, and the real statistics are divided by it
    (the per-type test by its own factor, from the same draws). It costs a second training,
    which a run on a copy of the same cells (a positive control) can skip by reusing an
    earlier run's factors (``bootstrap``).

    Parameters
    ----------
    adata
        Cells x genes with raw counts (whole numbers). Every cell needs at least one count.
    layer
        Layer with the raw counts; None reads ``adata.X``.
    labels_key
        Column of ``adata.obs`` with cell types: a log-mean and a dispersion per type, and,
        with ``by_label``, one test per gene and type.
    batch_key
        Column of ``adata.obs`` with batches: a covariate of the cell-state model and of the test.
    fdr
        Call genes with q-value below this, in (0, 1).
    cell_state_means
        None: learn the cell states. A layer name or a cells x genes array: the expected count
        of every cell and gene from a model of your own. ``"library_size"``: no cell states,
        each cell's library size only (with ``labels_key``, the annotated types): a coarser
        test, for comparison.
    by_label
        With ``labels_key``, also test each gene within each cell type (``varm``).
    key_added
        Prefix of the results' keys.
    save_means
        Also store the null (NB) fit's expected count per cell and gene in
        ``layers[f"{key_added}_means"]``, for :func:`autozi_tutorial.pl.zero_diagnostic`.
    calibration
        ``"auto"`` (default): ``"none"``, or ``"bootstrap"`` for cell states learned on fewer
        than 500 genes. ``"none"``: the boundary null's p-values of the statistics as they
        are. ``"bootstrap"``: divided first by the bootstrap's inflation factor (learned cell
        states only; one more training of the cell-state model).
    bootstrap
        An earlier run's bootstrap factors, ``adata.uns[key_added]["calibration"]["bootstrap"]``,
        to reuse instead of drawing and training again: only for the same cells, for example
        a copy with zeros injected (a positive control), with ``calibration="bootstrap"``.
    accelerator
        Where the cell-state model trains and the test runs: ``"auto"`` (a GPU when there is
        one, or ``$AUTOZI_ACCELERATOR``), ``"cpu"``, ``"gpu"``.
    random_state
        Seed of the cell-state model's training.
    copy
        Return a copy with the results instead of writing them onto ``adata``.
    progress
        Print a line of training progress every few epochs.
    max_iter, tol
        Newton iterations and convergence threshold (log-likelihood units) of the fits.

    Returns
    -------
    AnnData or None
        The copy with ``copy=True``, else None. Results, by position (never by name):

        - ``var[f"{key_added}_pvalue"]``, ``_qvalue``, ``_call`` (``qvalue < fdr``),
          ``_statistic``, ``_extra_zeros`` (the ZINB's zero-inflation share),
          ``_dispersion`` (the NB's theta), ``_converged``, ``_mean_count``;
        - with ``labels_key`` and ``by_label``: ``varm[f"{key_added}_pvalue"]``, ``_qvalue``,
          ``_call``, ``_extra_zeros``, ``_converged``, ``_testable``, ``_mean_count``,
          ``_dispersion`` (geometric mean over batches): genes x cell types DataFrames; a gene
          without counts in a type is not testable there (NaN, not called);
        - ``uns[key_added]``: ``params``, ``cell_state_model`` (settings, ``held_out_folds``,
          0 where the encoder reads every gene, and device),
          ``dispersion_groups`` (:func:`autozi_tutorial.lrt.dispersion_groups`) and
          ``group_dispersions`` (genes x groups, the NB's theta),
          ``calibration`` (``method``; ``called_share``, the share of the genes with a mean
          count above 1 called, with a warning in plain words when it is 0.2 or more
          and the cell states are not left out (``"library_size"``);
          unless ``"none"``, the ``inflation`` factor applied, per type
          ``inflation_by_label``, ``acted`` (``"bootstrap"``, or ``"none"`` when the factor
          is 1), and ``bootstrap``: its factors with the ``n_genes`` and ``n_pairs`` they were
          read off, ``reused`` when they came from an earlier run), ``labels`` and package
          ``versions``.

        ``_statistic`` is the likelihood ratio itself; the p-values are those of the
        statistic divided by the inflation factor.

        A gene without counts, or whose fits did not converge, gets no p-value and is not
        called (a warning names unconverged genes).

    Raises
    ------
    InputDataError
        Before any training, for counts that are not raw counts, empty data, cells without
        counts, duplicate gene names, missing keys, or unusable ``cell_state_means``.

    Examples
    --------
    >>> import autozi_tutorial as azt
    >>> azt.tl.zi_test(adata, layer="counts", labels_key="cell_type")  # doctest: +SKIP
    >>> azt.get.zi_test_df(adata).query("call")  # doctest: +SKIP
    """
    _check_inputs(adata, layer, labels_key, batch_key, fdr, cell_state_means, key_added, random_state)
    calibration = _calibration(calibration, cell_state_means, adata.n_vars)
    _check_bootstrap(bootstrap, calibration, labels_key is not None and by_label)
    target = adata.copy() if copy else adata
    state_model = None
    device: dict[str, str | None] = {"device": "cpu", "device_name": None}
    if cell_state_means is None:
        training = {"batch_key": batch_key, "random_state": random_state, "accelerator": accelerator}
        model = _train_cell_states(target, layer, progress and "cell states", **training)
        offsets = cell_states.log_means(model)
        device = training_device(model)
        state_model = {
            **cell_states.model_settings(target.n_vars),
            **cell_states.training(target.n_obs),
            "n_samples": cell_states.N_SAMPLES,
            # 0: the encoder reads every gene.
            "held_out_folds": cell_states.held_out_folds(target.n_vars) or 0,
        }
    elif _is_library_size(cell_state_means):
        offsets = None
    else:
        offsets = _user_log_means(target, cell_state_means)

    # The fits need float64, which Apple's MPS devices lack: there they run on the CPU.
    torch_device = torch.device(device["device"])
    if torch_device.type == "mps":
        torch_device = torch.device("cpu")
    labels = _label_order(target, labels_key) if labels_key is not None and by_label else []
    test = {"labels_key": labels_key, "batch_key": batch_key, "labels": labels, "device": torch_device}
    test |= {"max_iter": max_iter, "tol": tol}
    draw = calibration == "bootstrap" and bootstrap is None
    table, null_fit, by_type = _test(target, layer, offsets, null_means=save_means or draw, **test)
    table["mean_count"] = mean_counts(counts_matrix(target, layer))
    type_means = group_mean_counts(target, layer, labels_key, labels) if labels else None
    settings: dict = {"method": calibration}
    if draw:
        # No gene of the draws is zero-inflated: their statistics show how far the pipeline's exceed the null.
        draws = _null_draws(target, null_fit, labels_key, batch_key, random_state)
        model = _train_cell_states(draws, None, progress and "calibration", **training)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # unconverged draws are left out below
            draws_offsets = cell_states.log_means(model)
            null_table, _, null_by_type = _test(draws, None, draws_offsets, null_means=False, **test)
        draws_means = mean_counts(counts_matrix(draws, None))
        draws_type_means = group_mean_counts(draws, None, labels_key, labels) if labels else None
        settings["bootstrap"] = _bootstrap_factors(null_table, draws_means, null_by_type, draws_type_means)
    elif calibration == "bootstrap":
        settings["bootstrap"] = {**plain(dict(bootstrap)), "reused": True}
    if calibration != "none":
        _apply_calibration(settings, table, by_type)

    table["call"] = (table["qvalue"] < fdr).to_numpy()
    # Over library sizes only, many calls are expected: cell states are left out on purpose.
    settings["called_share"] = _warn_if_common(table, warn=not _is_library_size(cell_state_means))
    per_type: dict[str, pd.DataFrame] = {}
    if labels:
        by_type["call"] = (by_type["qvalue"] < fdr).to_numpy()
        by_type["testable"] = type_means.T.ravel() > 0
        for name in VARM_TABLES:
            if name == "mean_count":
                values = type_means
            elif name == "dispersion":
                values = _dispersion_by_label(target, null_fit, labels_key, batch_key, labels)
            else:
                values = by_type[name].to_numpy().reshape(len(labels), target.n_vars).T
            per_type[name] = pd.DataFrame(np.array(values), index=target.var_names.copy(), columns=labels)

    # Everything is computed: only now are the results written, all together.
    for column in VAR_COLUMNS:
        target.var[f"{key_added}_{column}"] = table[column].to_numpy()
    for name, frame in per_type.items():
        target.varm[f"{key_added}_{name}"] = frame
    if save_means:
        target.layers[f"{key_added}_means"] = null_fit.means
    target.uns[key_added] = plain(
        {
            "params": {
                "method": "nb_zinb_lrt",
                "layer": layer,
                "labels_key": labels_key,
                "batch_key": batch_key,
                "fdr": fdr,
                "by_label": bool(by_label and labels_key is not None),
                "cell_states": _cell_states_source(cell_state_means),
                "calibration": calibration,
                "random_state": random_state,
                "max_iter": max_iter,
                "tol": tol,
            },
            "cell_state_model": {**(state_model or {}), **device},
            "calibration": settings,
            "labels": labels,
            "dispersion_groups": null_fit.dispersion_groups,
            "group_dispersions": null_fit.dispersions,
            "n_called": int(table["call"].sum()),
            "n_tested": int(table["pvalue"].notna().sum()),
            "n_converged": int(table["converged"].sum()),
            "versions": package_versions(),
        }
    )
    return target if copy else None
