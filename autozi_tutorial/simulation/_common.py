"""The set-up every simulator shares, and the one place where counts and truth become an AnnData.

The draws are separate functions because the designs interleave them with their own (cell
types, sub-states, pseudotime, batches) in a fixed order: each simulator calls them in the
order that keeps its output, for a given seed, what it has always been.

- cells: :func:`size_factors` (log-normal, sd 0.4, mean 1);
- genes: :func:`draw_genes` (mean counts log-uniform over a range, optional per-type
  log-normal fold changes, sd 0.5, and inverse dispersions log-normal around 3, sd 0.5);
- zero inflation: :class:`ZeroInflation` (which genes, their dropout, the zeroing);
- spike-ins: :class:`SpikeIns` (ERCC-like Poisson counts that follow the size factors);
- packaging: :func:`simulated_anndata` (the truth table ``var``, optional true means,
  cells without counts dropped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData


def check_share(name: str, share: float) -> None:
    """Refuse a share of genes outside [0, 1], naming the argument."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {share}.")


def dropout_range(dropout: float | tuple[float, float]) -> tuple[float, float]:
    """One dropout probability, or a (low, high) range, as (low, high); checked to lie in [0, 1)."""
    low, high = (dropout, dropout) if np.isscalar(dropout) else dropout
    if not 0.0 <= low <= high < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1) or a (low, high) range, got {dropout}.")
    return low, high


def choose_genes(n_genes: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask over genes marking ``round(share * n_genes)`` of them, chosen at random."""
    chosen = np.zeros(n_genes, dtype=bool)
    chosen[rng.choice(n_genes, size=round(share * n_genes), replace=False)] = True
    return chosen


def log_uniform(value_range: tuple[float, float], size: int, rng: np.random.Generator) -> np.ndarray:
    """Values whose logarithm is uniform between the logarithms of ``value_range``."""
    return np.exp(rng.uniform(np.log(value_range[0]), np.log(value_range[1]), size=size))


def size_factors(n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """Each cell's size factor: log-normal with log-scale sd 0.4 and mean 1 (log-mean -0.08)."""
    return rng.lognormal(mean=-0.08, sigma=0.4, size=n_cells)


@dataclass(frozen=True)
class Genes:
    """The genes of an NB design: ``base`` mean counts per cell at size factor 1, per-type fold
    changes ``fold`` (types x genes, None without types) and inverse dispersions ``theta``."""

    base: np.ndarray
    fold: np.ndarray | None
    theta: np.ndarray


def draw_genes(
    n_genes: int, mean_range: tuple[float, float], rng: np.random.Generator, *, n_types: int | None = None
) -> Genes:
    """Draw, in this order, the base means (log-uniform over ``mean_range``), the fold change of
    each type and gene (log-normal, sd 0.5; only with ``n_types``) and the inverse dispersions
    (log-normal around 3, sd 0.5)."""
    base = log_uniform(mean_range, n_genes, rng)
    fold = None if n_types is None else rng.lognormal(0.0, 0.5, size=(n_types, n_genes))
    theta = rng.lognormal(np.log(3.0), 0.5, size=n_genes)
    return Genes(base=base, fold=fold, theta=theta)


def nb_counts(mean: np.ndarray, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Negative-binomial counts with the given means and inverse dispersions (broadcast over cells)."""
    return rng.negative_binomial(theta, theta / (theta + mean))


@dataclass(frozen=True)
class ZeroInflation:
    """The truth about zero inflation: which genes (``zi_true``) and the probability that an entry
    of each gene is zeroed (``dropout``, 0 for the other genes)."""

    zi_true: np.ndarray
    dropout: np.ndarray

    @classmethod
    def draw(
        cls,
        n_genes: int,
        zi_share: float,
        dropout: float | tuple[float, float],
        rng: np.random.Generator,
    ) -> ZeroInflation:
        """Choose ``round(zi_share * n_genes)`` genes, then draw every gene's dropout uniformly over
        ``dropout`` (one value or a (low, high) range; kept for the chosen genes only)."""
        low, high = dropout_range(dropout)
        zi_true = choose_genes(n_genes, zi_share, rng)
        return cls(zi_true, np.where(zi_true, rng.uniform(low, high, size=n_genes), 0.0))

    @classmethod
    def fixed(cls, n_genes: int, zi_share: float, dropout: float, rng: np.random.Generator) -> ZeroInflation:
        """Choose the genes as :meth:`draw` does, all with the same ``dropout`` (nothing else drawn)."""
        zi_true = choose_genes(n_genes, zi_share, rng)
        return cls(zi_true, np.where(zi_true, dropout, 0.0))

    def apply(self, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Set each entry of gene g to 0 with probability ``dropout[g]``, independently of its value."""
        keep = rng.random(counts.shape) >= self.dropout[None, :]
        return counts * keep


@dataclass(frozen=True)
class SpikeIns:
    """ERCC-like spike-ins: their ``counts`` and true ``mean`` (cells x spike-ins)."""

    counts: np.ndarray
    mean: np.ndarray

    @classmethod
    def draw(cls, size_factor: np.ndarray, n_spike_ins: int, rng: np.random.Generator) -> SpikeIns:
        """Poisson sampling of a fixed concentration (log-uniform on [0.1, 50]) scaled by each
        cell's size factor: pure sampling noise, the textbook case of *no* zero inflation."""
        concentration = log_uniform((0.1, 50.0), n_spike_ins, rng)
        mean = size_factor[:, None] * concentration[None, :]
        return cls(rng.poisson(mean), mean)

    @classmethod
    def none(cls, n_cells: int) -> SpikeIns:
        """No spike-in (nothing drawn), for designs that still mark ``var["spike_in"]``."""
        return cls(np.zeros((n_cells, 0), dtype=np.int64), np.zeros((n_cells, 0)))

    @property
    def n(self) -> int:
        return self.counts.shape[1]


def gene_names(n_genes: int, n_spike_ins: int = 0) -> list[str]:
    """``gene0``, ``gene1``, ... then ``ERCC-00000``, ... for the spike-ins."""
    return [f"gene{g}" for g in range(n_genes)] + [f"ERCC-{i:05d}" for i in range(n_spike_ins)]


def pad(values: np.ndarray, n_spike_ins: int, fill: object) -> np.ndarray:
    """Gene truth followed by ``fill`` for each spike-in."""
    return np.concatenate([values, np.full(n_spike_ins, fill, dtype=np.asarray(values).dtype)])


def simulated_anndata(
    counts: np.ndarray,
    mean: np.ndarray,
    cell_type: np.ndarray,
    zi: ZeroInflation,
    *,
    theta: np.ndarray | None = None,
    gene_truth: Mapping[str, tuple[np.ndarray, object]] | None = None,
    spikes: SpikeIns | None = None,
    obs_extra: Mapping[str, object] | None = None,
    labels: Sequence[str] | None = None,
    keep_means: bool = False,
) -> AnnData:
    """Package a design's counts and truth as every simulator returns them.

    ``var`` holds, in this order, ``zi_true`` and ``dropout`` (from ``zi``), ``mean_true`` (the
    mean over cells of ``mean``, the expected count before zero inflation), ``theta`` when
    given, the design's own columns ``gene_truth`` (name: (values, value for spike-ins)) and
    ``spike_in``. Spike-ins (``spikes``) are appended after the genes, with ``zi_true`` False,
    ``dropout`` 0 and ``theta`` infinite; ``spikes=None`` means no spike-ins and no
    ``spike_in`` column. With ``keep_means``, ``layers["mean_true"]`` holds ``mean`` (and the
    spike-ins' means) as dense float32. Cells without counts are dropped.
    """
    n_genes, n = counts.shape[1], 0 if spikes is None else spikes.n
    columns: dict[str, np.ndarray] = {
        "zi_true": pad(zi.zi_true, n, False),
        "dropout": pad(zi.dropout, n, 0.0),
    }
    columns["mean_true"] = mean.mean(axis=0)
    if spikes is not None:
        columns["mean_true"] = np.concatenate([columns["mean_true"], spikes.mean.mean(axis=0)])
        counts = np.hstack([counts, spikes.counts])
        mean = np.hstack([mean, spikes.mean]) if keep_means else mean
    if theta is not None:
        columns["theta"] = pad(theta, n, np.inf)
    for name, (values, fill) in (gene_truth or {}).items():
        columns[name] = pad(values, n, fill)
    if spikes is not None:
        columns["spike_in"] = np.arange(n_genes + n) >= n_genes
    var = pd.DataFrame(columns, index=gene_names(n_genes, n))
    layers = {"mean_true": mean.astype(np.float32)} if keep_means else None
    return _as_anndata(counts, cell_type, var, obs_extra, labels=labels, layers=layers)


def _as_anndata(
    counts: np.ndarray,
    cell_type: np.ndarray,
    var: pd.DataFrame,
    obs_extra: Mapping[str, object] | None = None,
    *,
    labels: Sequence[str] | None = None,
    layers: Mapping[str, np.ndarray] | None = None,
) -> AnnData:
    """Package counts and truth, dropping cells without counts (as real pipelines do).

    ``cell_type`` holds integer codes, named ``type{k}`` (categories: the names present, sorted)
    or ``labels[k]`` (categories: ``labels`` in that order); ``layers`` are extra cells x genes
    arrays subset along with the cells. ``X`` and ``layers["counts"]`` hold the counts as float32
    CSR.
    """
    has_counts = counts.sum(axis=1) > 0
    if labels is None:
        cell_labels = pd.Categorical([f"type{k}" for k in cell_type])
    else:
        cell_labels = pd.Categorical.from_codes(np.asarray(cell_type), categories=list(labels))
    obs = pd.DataFrame({"cell_type": cell_labels}, index=[f"cell{i}" for i in range(len(counts))])
    for key, values in (obs_extra or {}).items():
        obs[key] = values
    adata = AnnData(X=sp.csr_matrix(counts.astype(np.float32)), obs=obs, var=var)
    for key, values in (layers or {}).items():
        adata.layers[key] = values
    adata = adata[has_counts].copy()
    adata.layers["counts"] = adata.X.copy()
    return adata
