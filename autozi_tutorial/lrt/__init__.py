"""The ZI test's engine: a per-gene likelihood-ratio test of NB against ZINB, all genes at once.

For each gene, two generalised linear models are fitted to the raw counts by maximum
likelihood: a negative binomial (NB) and a zero-inflated NB (ZINB) with one zero-inflation
probability pi. The log-mean of cell c is ``offset[c] + X[c] @ beta``, where the offset is
either the cell's log library size or the log of a cell-state model's mean for that cell and
gene (:mod:`autozi_tutorial.cell_states`), and the design ``X`` holds cell types and batches
(:mod:`._design`). The log-dispersion is one value per gene, or one per gene and cell type.
The NB is the ZINB with pi = 0, on the boundary of the parameter space, so under the null the
statistic follows 0.5 chi2(0) + 0.5 chi2(1) (Self and Liang, 1987).

Layout: :mod:`._likelihood` (per-entry terms and derivatives), :mod:`._design` (cell groups
and sums over them), :mod:`._solver` (batched Newton fits); this module is the AnnData-level
API. The user-facing tool is :func:`autozi_tutorial.tl.zi_test`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from anndata import AnnData
from scipy.stats import chi2, false_discovery_control

from ..validation import InputDataError, counts_matrix, validate_counts, validate_obs_key
from ._design import build_design
from ._solver import test_chunk

#: Default memory budget of one chunk: cells x genes entries fitted together.
MAX_ENTRIES = 1_000_000
DISPERSIONS = ("auto", "gene", "gene-label", "gene-label-batch")
_RESULT_COLUMNS = ("statistic", "extra_zeros", "dispersion", "nb_log_lik", "zinb_log_lik", "converged")

__all__ = [
    "NullFit",
    "benjamini_hochberg",
    "boundary_lrt_pvalue",
    "boundary_lrt_statistic",
    "converged_pvalues",
    "dispersion_groups",
    "zinb_lrt",
    "zinb_lrt_by_label",
]


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values over the finite p-values (scipy's); NaN stays NaN."""
    pvalues = np.asarray(pvalues, dtype=np.float64)
    qvalues = np.full_like(pvalues, np.nan)
    finite = ~np.isnan(pvalues)
    if finite.any():
        qvalues[finite] = false_discovery_control(pvalues[finite], method="bh")
    return qvalues


def boundary_lrt_pvalue(statistic: np.ndarray) -> np.ndarray:
    """P-value of a likelihood ratio under 0.5 chi2(0) + 0.5 chi2(1): 1 at 0, else 0.5 * sf; NaN stays NaN."""
    statistic = np.asarray(statistic, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        pvalue = np.where(statistic > 0, 0.5 * chi2.sf(np.clip(statistic, 0.0, None), df=1), 1.0)
    return np.where(np.isnan(statistic), np.nan, pvalue)


def boundary_lrt_statistic(pvalue: np.ndarray) -> np.ndarray:
    """The likelihood ratio whose :func:`boundary_lrt_pvalue` is ``pvalue``: 0 from 0.5 up; NaN stays NaN.

    For statistics stored only as p-values (the benchmarks' tables); a p-value clipped at a
    floor gives the statistic of the floor.
    """
    pvalue = np.asarray(pvalue, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        statistic = np.where(pvalue < 0.5, chi2.isf(np.clip(2.0 * pvalue, 0.0, 1.0), df=1), 0.0)
    return np.where(np.isnan(pvalue), np.nan, statistic)


def converged_pvalues(statistic: np.ndarray, converged: np.ndarray, inflation: float = 1.0) -> np.ndarray:
    """P-values of ``statistic / inflation`` under the boundary null where the fits converged.

    A fit that did not reach its optimum is no evidence either way: NaN there (never called).
    ``inflation`` is the ZI test's calibration factor (1: the boundary null as it is).
    """
    pvalue = boundary_lrt_pvalue(np.asarray(statistic, dtype=np.float64) / inflation)
    return np.where(np.asarray(converged, dtype=bool), pvalue, np.nan)


@dataclass
class NullFit:
    """The fitted NB (the null model) of :func:`zinb_lrt`, for diagnostics.

    ``means`` is cells x genes (float32): each cell's expected count under the NB fit (None
    unless asked for);
    ``dispersions`` is genes x dispersion groups (in the order of ``dispersion_groups``,
    see :func:`dispersion_groups`); NaN for untestable genes.
    ``component_means`` and ``component_dispersions`` (when asked for) are the same for the
    ZINB fit's negative-binomial part, its zero inflation left out: the counts as they would
    be without extra zeros (a bootstrap ``benchmarks/zi_common.py`` measured). They equal the
    NB fit's for genes whose ZINB gained nothing.
    """

    means: np.ndarray | None
    dispersions: np.ndarray
    dispersion_groups: list[str]
    component_means: np.ndarray | None = None
    component_dispersions: np.ndarray | None = None


def _codes(adata: AnnData, key: str | None, role: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes of an obs column (all zeros for None) and the names they stand for."""
    if key is None:
        return np.zeros(adata.n_obs, dtype=np.int64), ["all cells"]
    validate_obs_key(adata, key, role)
    codes, names = pd.factorize(adata.obs[key], sort=True)
    return codes.astype(np.int64), [str(name) for name in names]


def dispersion_groups(
    adata: AnnData, labels_key: str | None = None, batch_key: str | None = None, dispersion: str = "auto"
) -> tuple[np.ndarray, list[str]]:
    """Each cell's dispersion group in the test, and the groups' names.

    Parameters
    ----------
    adata
        The cells.
    labels_key, batch_key
        Columns of ``adata.obs`` with cell types and batches, or None.
    dispersion
        ``"gene"``: one group, ``"all cells"``; ``"gene-label"``: one per cell type;
        ``"gene-label-batch"``: one per cell type x batch (``"<type> | <batch>"``; per batch
        without cell types); ``"auto"``: ``"gene-label-batch"`` with ``batch_key``, else
        ``"gene-label"`` with ``labels_key``, else ``"gene"``.

    Returns
    -------
    tuple of (numpy.ndarray, list of str)
        Codes from 0 for each cell, and the names of the groups in code order (sorted).
    """
    if dispersion not in DISPERSIONS:
        raise ValueError(f"dispersion must be one of {DISPERSIONS}, got {dispersion!r}.")
    if dispersion == "gene-label" and labels_key is None:
        raise ValueError("dispersion='gene-label' needs labels_key.")
    if dispersion == "gene-label-batch" and batch_key is None:
        raise ValueError("dispersion='gene-label-batch' needs batch_key.")
    if dispersion == "auto":
        dispersion = "gene-label-batch" if batch_key else "gene-label" if labels_key else "gene"
    labels, label_names = _codes(adata, labels_key, "labels_key")
    if dispersion == "gene":
        return np.zeros(adata.n_obs, dtype=np.int64), ["all cells"]
    if dispersion == "gene-label":
        return labels, label_names
    batches, batch_names = _codes(adata, batch_key, "batch_key")
    n_batches = len(batch_names)
    pairs, codes = np.unique(labels * n_batches + batches, return_inverse=True)
    names = [f"{label_names[pair // n_batches]} | {batch_names[pair % n_batches]}" for pair in pairs]
    return codes.ravel().astype(np.int64), names


def _dense_columns(matrix, start: int, stop: int, device: torch.device) -> torch.Tensor:
    block = matrix[:, start:stop]
    dense = block.toarray() if sp.issparse(block) else np.asarray(block)
    return torch.as_tensor(dense, dtype=torch.float64, device=device)


def _check_offsets(offsets, shape: tuple[int, int]) -> np.ndarray:
    offsets = np.asarray(offsets)
    if offsets.shape != shape:
        raise InputDataError(f"offsets has shape {offsets.shape}; it must be cells x genes {shape}.")
    if not np.isfinite(offsets).all():
        raise InputDataError("offsets has non-finite values; pass log-means from a cell-state model.")
    return offsets


def zinb_lrt(
    adata: AnnData,
    layer: str | None = "counts",
    labels_key: str | None = None,
    batch_key: str | None = None,
    offsets: np.ndarray | None = None,
    dispersion: str = "auto",
    max_iter: int = 200,
    tol: float = 1e-8,
    chunk_size: int | None = None,
    device: torch.device | str = "cpu",
    return_null_fit: bool = False,
    null_means: bool = False,
    component_means: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, NullFit]:
    """Per-gene likelihood-ratio test of NB (no zero inflation) against ZINB.

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    layer
        Layer holding the counts (None for ``adata.X``).
    labels_key
        Column of ``adata.obs`` with cell types: one log-mean per type (and, with
        ``dispersion="gene-label"``, one dispersion per type). None fits one intercept.
    batch_key
        Column of ``adata.obs`` with batches: an additive log-mean effect per batch.
    offsets
        Cells x genes log-means from a cell-state model
        (:func:`autozi_tutorial.cell_states.log_means`), so the test asks whether a gene has
        more zeros than the cell states explain. None uses each cell's log library size,
        relative to the median.
    dispersion
        ``"gene"``: one dispersion per gene; ``"gene-label"``: one per gene and cell type;
        ``"gene-label-batch"``: one per gene and cell type x batch (:func:`dispersion_groups`);
        ``"auto"`` (default): ``"gene-label-batch"`` with ``batch_key``, else ``"gene-label"``
        with ``labels_key``, else ``"gene"``. Chosen by measurement
        (``benchmarks/evaluate_calls.py``, ``benchmarks/calibration.py``): a gene whose
        dispersion differs between cell types, or between batches, otherwise looks
        zero-inflated.
    max_iter
        Most Newton iterations per model.
    tol
        Convergence threshold on the Newton decrement, in log-likelihood units.
    chunk_size
        Genes fitted together; None chooses it so that cells x genes stays under
        :data:`MAX_ENTRIES`, so the fits need the same memory whatever the number of cells.
    device
        Torch device the fits run on (e.g. the cell-state model's GPU).
    return_null_fit
        Also return the fitted NB's dispersions (:class:`NullFit`).
    null_means
        With ``return_null_fit``, also its expected count for every cell and gene (a cells x
        genes float32 array).
    component_means
        With ``null_means``, the same for the ZINB's negative-binomial part.

    Returns
    -------
    pandas.DataFrame
        One row per gene, in ``adata``'s order: ``gene, statistic, pvalue, qvalue,
        extra_zeros, dispersion, nb_log_lik, zinb_log_lik, converged``. ``extra_zeros`` is
        the ZINB's zero-inflation probability pi; ``dispersion`` the NB's theta (geometric
        mean over cell types with one per type). Log-likelihoods omit ``-sum(log y!)``. A gene
        without counts cannot be tested: NaN statistic, p and q. ``converged`` is False where
        either fit stopped before its optimum: such a gene gets no p- or q-value (it is never
        called), and a warning names it. With ``return_null_fit``, a tuple (table, NullFit).

    Raises
    ------
    InputDataError
        For counts that are not raw counts, cells without counts, missing keys, or offsets
        of the wrong shape or with non-finite values.
    """
    disp_codes, group_names = dispersion_groups(adata, labels_key, batch_key, dispersion)
    device = torch.device(device)
    counts = counts_matrix(adata, layer)
    validate_counts(counts, "adata.X" if layer is None else f"adata.layers[{layer!r}]")
    if offsets is None:
        library = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
        if (library == 0).any():
            raise InputDataError(
                f"{int((library == 0).sum())} cells have no counts; drop them first, e.g. with "
                "autozi_tutorial.drop_cells_without_counts."
            )
        cell_offsets = torch.as_tensor(np.log(library / np.median(library)), device=device)[:, None]
    else:
        offsets = _check_offsets(offsets, adata.shape)
    labels, _ = _codes(adata, labels_key, "labels_key")
    batches, _ = _codes(adata, batch_key, "batch_key")
    design = build_design(labels, batches, disp_codes if len(group_names) > 1 else None, device)
    if chunk_size is None:
        chunk_size = max(1, MAX_ENTRIES // max(adata.n_obs, 1))

    n_groups = len(group_names)
    means = np.full(adata.shape, np.nan, dtype=np.float32) if return_null_fit and null_means else None
    dispersions = np.full((adata.n_vars, n_groups), np.nan)
    component = (means.copy(), dispersions.copy()) if means is not None and component_means else None
    parts = []
    for start in range(0, adata.n_vars, chunk_size):
        stop = min(start + chunk_size, adata.n_vars)
        y = _dense_columns(counts, start, stop, device)
        if offsets is None:
            offset = cell_offsets
        else:
            offset = torch.as_tensor(offsets[:, start:stop], dtype=torch.float64, device=device)
        # A gene without counts has nothing to test: NaN, and no fit.
        testable = torch.nonzero(y.sum(0) > 0).ravel()
        part = pd.DataFrame(np.nan, index=range(stop - start), columns=list(_RESULT_COLUMNS))
        part["converged"] = True
        if len(testable):
            offset = offset if offset.shape[1] == 1 else offset[:, testable]
            fitted, nb, zinb = test_chunk(y[:, testable], offset, design, max_iter, tol)
            columns = testable.cpu().numpy()
            for name, value in fitted.items():
                part.loc[columns, name] = value.cpu().numpy()
            dispersions[start + columns] = nb.phi.T.exp().cpu().numpy()
            if means is not None:
                means[:, start + columns] = (offset + design.mean @ nb.beta).exp().cpu().numpy()
            if component is not None:
                # The ZINB's NB part where it gained on the NB (pi > 0), the NB elsewhere.
                gained = zinb.pi > 0
                beta = torch.where(gained, zinb.beta, nb.beta)
                component[0][:, start + columns] = (offset + design.mean @ beta).exp().cpu().numpy()
                component[1][start + columns] = torch.where(gained, zinb.phi, nb.phi).T.exp().cpu().numpy()
        parts.append(part)
    table = pd.concat(parts, ignore_index=True).astype({"converged": bool})
    table.insert(0, "gene", adata.var_names.to_numpy(dtype=str))
    table.insert(2, "pvalue", converged_pvalues(table["statistic"], table["converged"]))
    table.insert(3, "qvalue", benjamini_hochberg(table["pvalue"].to_numpy()))
    unconverged = table.loc[~table["converged"], "gene"].tolist()
    if unconverged:
        shown = ", ".join(unconverged[:10]) + (" ..." if len(unconverged) > 10 else "")
        warnings.warn(
            f"The NB/ZINB fits of {len(unconverged)} gene{'s' if len(unconverged) > 1 else ''} did not "
            f"converge in {max_iter} iterations "
            f"({shown}); they get no p-value and are not called. Raise max_iter to test them.",
            RuntimeWarning,
            stacklevel=2,
        )
    if not return_null_fit:
        return table
    return table, NullFit(means, dispersions, group_names, *(component or (None, None)))


def zinb_lrt_by_label(
    adata: AnnData,
    labels_key: str,
    layer: str | None = "counts",
    batch_key: str | None = None,
    offsets: np.ndarray | None = None,
    labels: list[str] | None = None,
    **kwargs,
) -> pd.DataFrame:
    """The test within each cell type: one p- and q-value per gene and cell type.

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    labels_key
        Column of ``adata.obs`` with the cell types.
    layer, batch_key, offsets
        As in :func:`zinb_lrt` (offsets are cut to each type's cells).
    labels
        Cell types to test, in the order wanted; None takes them sorted.
    **kwargs
        Passed to :func:`zinb_lrt` (``max_iter``, ``tol``, ``chunk_size``, ``device``).

    Returns
    -------
    pandas.DataFrame
        Label-major rows ``gene, label, statistic, pvalue, qvalue, extra_zeros, dispersion,
        converged``. A gene with no counts among a type's cells is untestable there: NaN
        p- and q-values. q-values are Benjamini-Hochberg over all testable pairs.
    """
    validate_obs_key(adata, labels_key, "labels_key")
    cell_labels = adata.obs[labels_key].astype(str).to_numpy()
    labels = sorted(set(cell_labels)) if labels is None else [str(label) for label in labels]
    if offsets is not None:
        offsets = _check_offsets(offsets, adata.shape)
    parts = []
    for label in labels:
        cells = np.flatnonzero(cell_labels == label)
        subset = adata[cells]
        one_batch = batch_key is not None and subset.obs[batch_key].nunique() < 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = zinb_lrt(
                subset,
                layer=layer,
                batch_key=None if one_batch else batch_key,
                offsets=None if offsets is None else offsets[cells],
                **kwargs,
            )
        result.insert(1, "label", label)
        parts.append(result)
    table = pd.concat(parts, ignore_index=True)
    table["label"] = pd.Categorical(table["label"], categories=labels)
    table["qvalue"] = benjamini_hochberg(table["pvalue"].to_numpy())
    unconverged = table[~table["converged"]]
    if len(unconverged):
        pairs = ", ".join(f"{g} in {lab}" for g, lab in unconverged[["gene", "label"]].head(10).to_numpy())
        warnings.warn(
            f"{len(unconverged)} gene x cell-type fits did not converge ({pairs}); they get no "
            "p-value and are not called.",
            RuntimeWarning,
            stacklevel=2,
        )
    return table[["gene", "label", "statistic", "pvalue", "qvalue", "extra_zeros", "dispersion", "converged"]]
