"""Known zero inflation added to existing counts, real or simulated: the positive control for ZI calls.

:func:`inject_zeros` zeroes entries of genes you name; :func:`add_zero_inflation` picks groups
of genes at random and records the truth as the simulators do. Both zero entries with the same
helper, one uniform draw per cell and chosen gene.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from ._common import check_share


def _probability_or_range(value: float | Sequence[float], name: str) -> tuple[float, float]:
    """A probability, or a (low, high) range, as (low, high), with 0 < low <= high < 1."""
    if np.ndim(value) == 0:
        if not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be strictly between 0 and 1, got {value}.")
        return float(value), float(value)
    try:
        low, high = (float(bound) for bound in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a probability or a (low, high) range, got {value!r}.") from None
    if not 0.0 < low <= high < 1.0:
        raise ValueError(f"{name} must be a (low, high) range with 0 < low <= high < 1, got {value!r}.")
    return low, high


def _check_layer(adata: AnnData, layer: str | None) -> None:
    if layer is None:
        if adata.X is None:
            raise ValueError("adata.X is empty (None): name the layer holding the counts with layer=...")
    elif layer not in adata.layers:
        available = sorted(adata.layers.keys()) or ["<none>"]
        raise ValueError(
            f"Layer {layer!r} not found; available layers: {available}. Pass layer= one of these, "
            "or layer=None to inject zeros into adata.X."
        )


def _zero_entries(
    adata: AnnData, layer: str | None, genes: np.ndarray, shares: np.ndarray, rng: np.random.Generator
) -> None:
    """Set each entry (cell) of gene ``genes[i]`` to 0 with probability ``shares[i]``, in place.

    One ``rng.random(n_obs)`` per gene, in the order of ``genes``. The matrix (``adata.X`` when
    ``layer`` is None) is replaced by a modified copy of the same type and dtype; dense and
    sparse matrices give the same result for the same generator.
    """
    matrix = adata.X if layer is None else adata.layers[layer]
    if sp.issparse(matrix):
        columns = matrix.tocsc(copy=True)
        for gene, share in zip(genes, shares, strict=True):
            zeroed = rng.random(adata.n_obs) < share
            start, end = columns.indptr[gene], columns.indptr[gene + 1]
            block = columns.data[start:end]
            block[zeroed[columns.indices[start:end]]] = 0
        columns.eliminate_zeros()
        matrix = columns.asformat(matrix.format)
    else:
        matrix = np.array(matrix, copy=True)
        for gene, share in zip(genes, shares, strict=True):
            matrix[rng.random(adata.n_obs) < share, gene] = 0
    if layer is None:
        adata.X = matrix
    else:
        adata.layers[layer] = matrix


def _gene_mask(adata: AnnData, genes: object) -> np.ndarray:
    """Turn gene names, a boolean mask over ``var`` or integer positions into a boolean mask."""
    if isinstance(genes, str):
        genes = [genes]
    values = np.asarray(genes.to_numpy() if isinstance(genes, pd.Series | pd.Index) else list(genes))
    n_vars = adata.n_vars
    if values.size == 0:
        raise ValueError("genes is empty: name at least one gene to inject zeros into.")
    if values.dtype == bool:
        if values.shape != (n_vars,):
            raise ValueError(f"A boolean mask over genes must have {n_vars} entries, got {values.shape}.")
        mask = values.copy()
    elif np.issubdtype(values.dtype, np.integer):
        outside = values[(values < 0) | (values >= n_vars)]
        if outside.size:
            raise ValueError(f"Gene positions {outside.tolist()} are outside 0..{n_vars - 1}.")
        mask = np.zeros(n_vars, dtype=bool)
        mask[values] = True
    else:
        names = [str(name) for name in values]
        known = set(adata.var_names)
        unknown = [name for name in dict.fromkeys(names) if name not in known]
        if unknown:
            shown = ", ".join(repr(name) for name in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise ValueError(f"{len(unknown)} gene(s) not in adata.var_names: {shown}{more}.")
        mask = adata.var_names.isin(names)
    if not mask.any():
        raise ValueError("genes selects no gene: name at least one gene to inject zeros into.")
    return mask


def inject_zeros(
    adata: AnnData,
    genes: Sequence[str] | Sequence[int] | np.ndarray | pd.Index | pd.Series | str,
    *,
    share: float | tuple[float, float] = 0.3,
    layer: str | None = "counts",
    random_state: int | np.random.Generator | None = 0,
) -> AnnData:
    """A copy of ``adata`` in which chosen genes get extra zeros: a positive control for ZI calls.

    For each chosen gene, every entry (cell) is picked independently with probability
    ``share`` and set to 0, whatever its count: exactly the zero inflation that the ZINB
    model describes, with zero-inflation share ``share``. Entries that were already 0 stay 0,
    so the share of *non-zero* counts that become 0 is ``share`` in expectation. On real
    data, a sound ZI call must then flag these genes (and a gene's estimated extra zeros
    should rise by about ``share * (1 - extra zeros before)``). With a ``(low, high)`` range,
    each chosen gene gets its own share, drawn uniformly from the range (before the entries
    are picked, from the same ``random_state``), so the control spans weak and strong
    zero inflation.

    Only the matrix named by ``layer`` changes (``adata.X`` when ``layer`` is None). With
    ``layer="counts"`` ``X`` is left as it was, even if it held the same counts: pass
    ``layer=None`` to change ``X`` instead, and read the counts from that same matrix in the
    tool that follows. Dense and sparse matrices (any scipy format) are supported, keep their
    type and dtype, and give the same result for the same ``random_state``.

    Parameters
    ----------
    adata
        Cells x genes data; it is not modified.
    genes
        The genes to inject zeros into: names from ``adata.var_names``, integer positions, or a
        boolean mask over ``var``.
    share
        Probability, strictly between 0 and 1, that an entry of a chosen gene is zeroed; or a
        ``(low, high)`` range (``0 < low <= high < 1``) from which each chosen gene's
        probability is drawn uniformly.
    layer
        Layer holding the counts, or None for ``adata.X``.
    random_state
        Seed or generator for the shares drawn from a range and the choice of entries.

    Returns
    -------
    AnnData
        The modified copy, with ``var["zeros_injected"]`` True for the chosen genes (kept True
        for genes marked by an earlier call), ``var["injected_share"]`` each gene's probability
        of an entry being zeroed (0 for genes never chosen; an earlier call's shares are kept,
        and a gene chosen again gets the combined share ``1 - (1 - a)(1 - b)``), and the
        settings in ``uns["inject_zeros"]`` (``share``: the float, or the ``[low, high]`` pair;
        ``layer``; ``n_genes``).

    Raises
    ------
    ValueError
        If ``share`` is not in (0, 1) or not a range with ``0 < low <= high < 1``, the layer is
        missing, or ``genes`` names unknown genes, holds positions out of range, a mask of the
        wrong length, or no gene at all.
    """
    low, high = _probability_or_range(share, "share")
    _check_layer(adata, layer)
    mask = _gene_mask(adata, genes)
    rng = np.random.default_rng(random_state)
    chosen = np.flatnonzero(mask)
    is_range = np.ndim(share) > 0
    shares = rng.uniform(low, high, size=chosen.size) if is_range else np.full(chosen.size, low)
    out = adata.copy()
    _zero_entries(out, layer, chosen, shares, rng)
    before = out.var["zeros_injected"].to_numpy(dtype=bool) if "zeros_injected" in out.var else False
    out.var["zeros_injected"] = mask | before
    injected = np.zeros(out.n_vars)
    injected[chosen] = shares
    earlier = out.var["injected_share"].to_numpy(dtype=float) if "injected_share" in out.var else 0.0
    # Zeroed by either call: exact when one of the two is 0 (a + b * (1 - a)).
    out.var["injected_share"] = earlier + injected * (1.0 - earlier)
    out.uns["inject_zeros"] = {
        "share": [low, high] if is_range else float(share),
        "layer": layer or "X",
        "n_genes": int(mask.sum()),
    }
    return out


def add_zero_inflation(
    adata: AnnData,
    groups: Sequence[tuple[float, float | tuple[float, float]]],
    *,
    layer: str | None = "counts",
    seed: int = 0,
) -> AnnData:
    """A copy of ``adata`` with zero inflation added to random groups of genes, and its truth in ``var``.

    Meant for data without zero inflation of its own (a simulation with ``zi_share=0``) and
    for real data, which has no truth: it turns either into a data set whose zero-inflated
    genes are known. The candidates are the *expressed* genes (at least one count in the
    matrix) that are not spike-ins (``var["spike_in"]``, when present). Each group
    ``(share_of_genes, dropout)`` takes ``round(share_of_genes * n_candidates)`` of them at
    random, none taken by an earlier group, and every entry of each of its genes is zeroed
    independently with the gene's dropout: ``dropout`` itself, or a value drawn uniformly per
    gene from a ``(low, high)`` range. The zeroing is that of :func:`inject_zeros`. Cells left
    without counts are dropped, as the simulators drop them.

    Only the matrix named by ``layer`` changes (``adata.X`` when ``layer`` is None): with
    ``layer="counts"`` ``X`` keeps the counts it had.

    Parameters
    ----------
    adata
        Cells x genes counts; it is not modified.
    groups
        ``(share_of_genes, dropout)`` pairs: the share in [0, 1] of the candidate genes the
        group takes, and the probability (strictly between 0 and 1), or ``(low, high)`` range
        of probabilities, that an entry of its genes is zeroed.
    layer
        Layer holding the counts, or None for ``adata.X``.
    seed
        Seed of the random generator (genes, their dropout, then the zeroed entries).

    Returns
    -------
    AnnData
        The modified copy, with the truth in ``var`` (replacing any there): ``zi_true`` (the
        chosen genes) and ``dropout`` (their probability, 0 for the other genes); the settings
        in ``uns["add_zero_inflation"]`` (``groups``, ``n_genes`` per group, ``layer``,
        ``seed``, ``n_cells_dropped``).

    Raises
    ------
    ValueError
        If a group is not a pair, its share is outside [0, 1], its dropout is not in (0, 1) or
        not a range with ``0 < low <= high < 1``, the groups ask for more genes than there are
        candidates, or the layer is missing.
    """
    parsed = [_group(i, group) for i, group in enumerate(groups)]
    _check_layer(adata, layer)
    matrix = adata.X if layer is None else adata.layers[layer]
    expressed = np.asarray(matrix.sum(axis=0)).ravel() > 0
    spike_in = adata.var["spike_in"].to_numpy(dtype=bool) if "spike_in" in adata.var else False
    remaining = np.flatnonzero(expressed & ~spike_in)
    n_candidates = remaining.size
    rng = np.random.default_rng(seed)
    chosen, dropouts = [], []
    for i, (share, dropout) in enumerate(parsed):
        n = round(share * n_candidates)
        if n > remaining.size:
            raise ValueError(
                f"groups[{i}] asks for {n} genes ({share} of the {n_candidates} expressed non-spike-in "
                f"genes), but only {remaining.size} remain after the groups before it."
            )
        genes = rng.choice(remaining, size=n, replace=False)
        remaining = remaining[~np.isin(remaining, genes)]
        chosen.append(genes)
        dropouts.append(rng.uniform(*dropout, size=n) if isinstance(dropout, list) else np.full(n, dropout))
    genes = np.concatenate([np.zeros(0, dtype=int), *chosen])
    gene_dropout = np.concatenate([np.zeros(0), *dropouts])
    order = np.argsort(genes)
    out = adata.copy()
    _zero_entries(out, layer, genes[order], gene_dropout[order], rng)
    zi_true, dropout_column = np.zeros(out.n_vars, dtype=bool), np.zeros(out.n_vars)
    zi_true[genes], dropout_column[genes] = True, gene_dropout
    out.var["zi_true"], out.var["dropout"] = zi_true, dropout_column
    matrix = out.X if layer is None else out.layers[layer]
    has_counts = np.asarray(matrix.sum(axis=1)).ravel() > 0
    if not has_counts.all():
        out = out[has_counts].copy()
    out.uns["add_zero_inflation"] = {
        "groups": [[share, dropout] for share, dropout in parsed],
        "n_genes": [int(g.size) for g in chosen],
        "layer": layer or "X",
        "seed": seed,
        "n_cells_dropped": int((~has_counts).sum()),
    }
    return out


def _group(i: int, group: object) -> tuple[float, float | list[float]]:
    """Check ``groups[i]``: (share of genes, dropout as a float or a [low, high] list)."""
    try:
        share, dropout = group
    except (TypeError, ValueError):
        raise ValueError(f"groups[{i}] must be a (share_of_genes, dropout) pair, got {group!r}.") from None
    check_share(f"groups[{i}] share_of_genes", share)
    low, high = _probability_or_range(dropout, f"groups[{i}] dropout")
    return float(share), [low, high] if np.ndim(dropout) > 0 else low


#: The positive control's two sizes of zero inflation: strong, and about what the main lesson's
#: call shows on real PBMC counts (5-10% extra zeros).
CONTROL_SIZES = {"strong": 0.3, "weak": (0.05, 0.1)}


def positive_control(
    adata: AnnData,
    candidates: Sequence[str] | pd.Index,
    *,
    share_of_genes: float = 1 / 3,
    layer: str | None = "counts",
    random_state: int = 0,
) -> AnnData:
    """A copy of ``adata`` in which zero inflation is common: the positive control of a ZI call.

    ``share_of_genes`` of the ``candidates`` (rounded, at least one) are chosen at random; half
    get :data:`CONTROL_SIZES` ``["strong"]`` extra zeros, the other half a share drawn from
    ``["weak"]`` (:func:`inject_zeros`). Cells left without counts are dropped.

    Parameters
    ----------
    adata
        Cells x genes with raw counts; it is not modified.
    candidates
        Genes that may get zeros, e.g. the expressed genes that no call flags.
    share_of_genes
        Share of the candidates that get zeros, in (0, 1].
    layer
        Layer holding the counts, or None for ``adata.X``.
    random_state
        Seed of the choice of genes and entries.

    Returns
    -------
    AnnData
        The copy, with ``var["zeros_injected"]``, ``var["injected_share"]`` and
        ``var["injected_size"]`` (``"strong"``, ``"weak"`` or ``"none"``).

    Raises
    ------
    ValueError
        If ``candidates`` is empty or names unknown genes, or ``share_of_genes`` is out of range.
    """
    if not 0.0 < share_of_genes <= 1.0:
        raise ValueError(f"share_of_genes must be in (0, 1], got {share_of_genes}.")
    names = pd.Index(candidates).astype(str).unique()
    if names.empty:
        raise ValueError(
            "No candidate gene to inject zeros into: every expressed gene is already called, or none "
            "is expressed. A positive control needs genes that the call does not flag."
        )
    rng = np.random.default_rng(random_state)
    chosen = rng.permutation(names)[: max(1, round(share_of_genes * len(names)))]
    strong, weak = chosen[: (len(chosen) + 1) // 2], chosen[(len(chosen) + 1) // 2 :]
    control = inject_zeros(adata, strong, share=CONTROL_SIZES["strong"], layer=layer, random_state=rng)
    if len(weak):
        control = inject_zeros(control, weak, share=CONTROL_SIZES["weak"], layer=layer, random_state=rng)
    size = pd.Series("none", index=control.var_names)
    size[strong], size[weak] = "strong", "weak"
    control.var["injected_size"] = pd.Categorical(size, categories=["strong", "weak", "none"])
    counts = control.X if layer is None else control.layers[layer]
    return control[np.asarray(counts.sum(axis=1)).ravel() > 0].copy()
