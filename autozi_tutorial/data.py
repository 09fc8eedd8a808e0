"""Loading the tutorial's datasets: the seed's PBMC download, scanpy's bundled PBMC counts, or a user file.

``load_dataset`` resolves a dataset name (or path) into an AnnData of raw counts plus the
keys that describe it, and validates it before anything is trained.
"""

from __future__ import annotations

import os
import socket
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .validation import InputDataError, counts_matrix, validate_anndata

#: Keys used by default for each named dataset (an explicit argument always wins).
DATASET_DEFAULTS: dict[str, dict[str, str | None]] = {
    "pbmc": {"labels_key": "str_labels", "batch_key": "batch"},
    "pbmc68k": {"labels_key": "bulk_labels", "batch_key": None},
}
#: Hosts ``scvi.data.pbmc_dataset`` downloads from.
PBMC_HOSTS: tuple[str, ...] = ("github.com", "cf.10xgenomics.com")
#: File in ``data_dir`` caching the assembled seed PBMC dataset after its first download.
PBMC_CACHE_NAME = "pbmc_dataset.h5ad"
#: Environment variable that, when set to a non-empty value, makes ``dataset="auto"`` skip the
#: network probe and use the offline data (the test suite sets it).
OFFLINE_ENV = "AUTOZI_OFFLINE"
#: Largest distance to the nearest integer tolerated when recovering pbmc68k counts (float32 noise).
MAX_ROUNDING_ERROR = 0.25


@dataclass(frozen=True)
class LoadedDataset:
    """A validated dataset of raw counts and the keys that describe it.

    Attributes
    ----------
    adata
        Cells x genes; raw counts in ``adata.X`` or ``adata.layers[counts_layer]``.
    name
        ``"pbmc"``, ``"pbmc68k"`` or the path of the user's ``.h5ad`` file.
    reason
        Why this dataset was used (matters when ``dataset="auto"`` chose it).
    counts_layer, labels_key, batch_key
        Where counts, cell types and batches live (None when absent).
    """

    adata: AnnData
    name: str
    reason: str
    counts_layer: str | None
    labels_key: str | None
    batch_key: str | None

    @property
    def banner(self) -> str:
        """A framed, multi-line description to print so nobody misses which data was used."""
        lines = [
            f"DATASET USED: {self.name} ({self.adata.n_obs} cells x {self.adata.n_vars} genes)",
            *textwrap.wrap(f"why: {self.reason}", width=88, subsequent_indent="     "),
            f"counts: {'adata.X' if self.counts_layer is None else self.counts_layer}, "
            f"labels_key: {self.labels_key}, batch_key: {self.batch_key}",
        ]
        rule = "=" * max(len(line) for line in lines)
        return "\n".join([rule, *lines, rule])


def hosts_reachable(hosts: tuple[str, ...] = PBMC_HOSTS, timeout: float = 3.0) -> bool:
    """Return True when a TCP connection to port 443 of every host succeeds within ``timeout`` s."""
    for host in hosts:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
        except OSError:
            return False
    return True


def load_pbmc68k() -> AnnData:
    """Real PBMC UMI counts recovered from scanpy's bundled ``pbmc68k_reduced``.

    ``pbmc68k_reduced().raw.X`` stores ``log1p(counts / n_counts * 1e4)`` for 765 genes,
    so the counts come back exactly as ``round(expm1(raw.X) * n_counts / 1e4)``.

    Returns
    -------
    AnnData
        700 cells x 765 genes, integer counts (float32) in ``X``, cell types in
        ``obs["bulk_labels"]``.
    """
    import scanpy as sc

    reference = sc.datasets.pbmc68k_reduced()
    lognorm = sp.csr_matrix(reference.raw.X, dtype=np.float64)
    size_factors = reference.obs["n_counts"].to_numpy(dtype=np.float64) / 1e4
    scaled = sp.diags(size_factors) @ lognorm.expm1()
    counts = scaled.copy()
    counts.data = np.round(counts.data)
    error = np.abs(scaled.data - counts.data).max(initial=0.0)
    if error > MAX_ROUNDING_ERROR:
        raise RuntimeError(
            f"pbmc68k_reduced no longer round-trips to integer counts (max error {error:.3f}); "
            "this scanpy version stores different data. Use dataset='pbmc' or a .h5ad of counts."
        )
    counts.eliminate_zeros()
    obs = reference.obs[["bulk_labels", "louvain", "n_counts"]].copy()
    var = pd.DataFrame(index=reference.raw.var_names.copy())
    return AnnData(X=counts.astype(np.float32), obs=obs, var=var)


def load_pbmc(data_dir: str | os.PathLike) -> AnnData:
    """The seed tutorial's PBMC data (12,039 cells), downloaded once and cached in ``data_dir``.

    The first call runs ``scvi.data.pbmc_dataset(save_path=data_dir)``, which needs network
    access, and caches the counts and cell metadata as ``data_dir/pbmc_dataset.h5ad``.
    """
    cache = Path(data_dir) / PBMC_CACHE_NAME
    if cache.exists():
        return _read_h5ad(cache, f"the cached PBMC data {cache} (delete it to download again)")
    import scvi

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    full = scvi.data.pbmc_dataset(save_path=str(data_dir))
    adata = AnnData(X=full.X, obs=full.obs[["batch", "labels", "str_labels"]].copy(), var=full.var)
    handle, partial = tempfile.mkstemp(dir=data_dir, suffix=".h5ad.partial")
    os.close(handle)
    try:
        adata.write_h5ad(partial)
        os.replace(partial, cache)
    finally:
        Path(partial).unlink(missing_ok=True)
    return adata


def check_dataset(dataset: str | os.PathLike) -> None:
    """Check the ``dataset`` argument without loading it: a known name, or a readable ``.h5ad`` file.

    Parameters
    ----------
    dataset
        ``"auto"``, ``"pbmc"``, ``"pbmc68k"`` or the path of a ``.h5ad`` file.

    Raises
    ------
    InputDataError
        For an unknown name, a missing or unreadable file, or a file that is not HDF5 (every
        ``.h5ad`` is), naming the path.
    """
    if not isinstance(dataset, str | os.PathLike):
        raise InputDataError(
            f"dataset={dataset!r}: expected 'auto', 'pbmc', 'pbmc68k' or the path of a .h5ad file."
        )
    name = str(dataset)
    if name == "auto" or name in DATASET_DEFAULTS:
        return
    path = Path(name)
    if path.suffix != ".h5ad" or not path.is_file():
        problem = "no such file" if path.suffix == ".h5ad" else "unknown dataset name"
        raise InputDataError(
            f"dataset={name!r}: {problem}. Use 'auto', 'pbmc', 'pbmc68k', or the path of "
            "an existing .h5ad file of raw counts."
        )
    if not os.access(path, os.R_OK):
        raise InputDataError(f"dataset={name!r}: {path} exists but cannot be read (permission denied).")
    if not h5py.is_hdf5(path):
        raise InputDataError(
            f"dataset={name!r}: {path} is not a readable .h5ad file (it is not in the HDF5 format "
            "that AnnData.write_h5ad produces; was it renamed from another format?)."
        )


def _read_h5ad(path: Path, what: str) -> AnnData:
    """``anndata.read_h5ad(path)``, with an error naming ``what`` when the file cannot be read."""
    try:
        return ad.read_h5ad(path)
    except Exception as error:
        raise InputDataError(
            f"{what}: {path} is not a readable .h5ad file ({type(error).__name__}: {error})."
        ) from error


def _resolve_name(dataset: str, data_dir: str | os.PathLike, timeout: float) -> tuple[str, str]:
    """Turn ``"auto"`` into a concrete dataset name, with the reason for the choice."""
    if dataset != "auto":
        return dataset, f"requested with dataset={dataset!r}"
    if (Path(data_dir) / PBMC_CACHE_NAME).exists():
        return "pbmc", f"dataset='auto': the 12,039 PBMC cells were downloaded before, into {data_dir}"
    if os.environ.get(OFFLINE_ENV):
        return "pbmc68k", (
            f"dataset='auto': working offline ({OFFLINE_ENV} is set) and the 12,039 PBMC cells are not "
            f"in the folder '{data_dir}'; using the 700 real blood cells shipped with scanpy "
            "(pbmc68k_reduced)."
        )
    if hosts_reachable(timeout=timeout):
        return "pbmc", "dataset='auto': network available, downloading the 12,039 PBMC cells"
    return "pbmc68k", (
        f"dataset='auto': no network, and the 12,039 PBMC cells are not in the folder '{data_dir}'; "
        "using the 700 real blood cells shipped with scanpy (pbmc68k_reduced). Results differ from those "
        "on the 12,039 cells."
    )


def load_dataset(
    dataset: str = "auto",
    data_dir: str | os.PathLike = "data",
    counts_layer: str | None = None,
    labels_key: str | None = None,
    batch_key: str | None = None,
    network_timeout: float = 3.0,
) -> LoadedDataset:
    """Load and validate the data a tutorial runs on.

    Parameters
    ----------
    dataset
        ``"pbmc"`` (the seed's data, downloaded once into ``data_dir``), ``"pbmc68k"``
        (real PBMC counts shipped with scanpy), ``"auto"`` (``"pbmc"`` when cached or
        downloadable, otherwise ``"pbmc68k"``), or a path to a ``.h5ad`` file of raw counts.
    data_dir
        Folder for downloads and the PBMC cache.
    counts_layer
        Layer holding raw counts; None reads ``adata.X``.
    labels_key, batch_key
        Columns of ``adata.obs`` with cell types and batches. None takes the named
        dataset's default (none for a user file).
    network_timeout
        Seconds to wait for each download host when ``dataset="auto"``.

    Returns
    -------
    LoadedDataset
        The data, what it is, why it was chosen, and its keys.

    Raises
    ------
    InputDataError
        For an unknown dataset name, a missing file, or data that fails validation.
    """
    name, reason = _resolve_name(str(dataset), data_dir, network_timeout)
    if name in DATASET_DEFAULTS:
        defaults = DATASET_DEFAULTS[name]
        labels_key = labels_key if labels_key is not None else defaults["labels_key"]
        batch_key = batch_key if batch_key is not None else defaults["batch_key"]
        adata = load_pbmc68k() if name == "pbmc68k" else load_pbmc(data_dir)
    else:
        check_dataset(name)
        adata = _read_h5ad(Path(name), f"dataset={name!r}")
        reason = f"user file {name}"
    validate_anndata(adata, counts_layer, labels_key, batch_key)
    if adata.var_names.has_duplicates:
        # Results are stored per gene name: duplicated names are made unique in the loaded copy
        # (the file itself is only read).
        n_duplicated = int(adata.var_names.duplicated().sum())
        adata.var_names_make_unique()
        print(
            f"Note: {n_duplicated} gene names occur more than once in {name}; they were made unique "
            "by appending -1, -2, ... (as adata.var_names_make_unique() does)."
        )
    return LoadedDataset(adata, name, reason, counts_layer, labels_key, batch_key)


def drop_cells_without_counts(adata: AnnData, layer: str | None = "counts") -> AnnData:
    """Copy of ``adata`` without the cells whose counts sum to zero (e.g. after gene selection).

    AUTOZI scales its mean by each cell's observed library size, so a cell with no counts
    in the selected genes has nothing to model. The input object is left untouched.
    """
    totals = np.asarray(counts_matrix(adata, layer).sum(axis=1)).ravel()
    kept = adata[totals > 0].copy()
    if kept.n_obs < adata.n_obs:
        print(f"Dropped {adata.n_obs - kept.n_obs} cells with no counts in the selected genes.")
    if kept.n_obs == 0:
        raise InputDataError("No cell has counts in the selected genes; select more genes.")
    return kept
