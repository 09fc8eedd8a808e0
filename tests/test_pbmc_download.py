"""The online path, offline: scvi-tools' own ``pbmc_dataset`` code run on small downloads.

``scvi.data.pbmc_dataset`` downloads four files: two from the scVI-data repository
(``gene_info.csv``, saved as ``gene_info_pbmc.csv``, and ``pbmc_metadata.pickle``) and the
filtered 10x matrices of ``pbmc8k`` and ``pbmc4k`` (``filtered_gene_bc_matrices.tar.gz``). The
tests build tiny files in those formats and serve them by replacing ``urllib.request.urlopen``
only; downloading to disk, extracting, parsing, filtering and assembling are scvi-tools' and
scanpy's real code.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import papermill as pm
import pytest
import scipy.io
import scipy.sparse as sp
import scvi

from autozi_tutorial import data as data_module
from autozi_tutorial import load_dataset, read_results

MAIN = Path(__file__).resolve().parents[1] / "notebooks" / "autozi_pbmc.ipynb"
SCVI_DATA = "https://github.com/YosefLab/scVI-data/raw/master/"
TENX = "http://cf.10xgenomics.com/samples/cell-exp/2.1.0/{0}/{0}_filtered_gene_bc_matrices.tar.gz"
CELL_TYPES = np.array(["B cells", "CD14+ Monocytes", "CD4 T cells"])
N_GENES = 40
#: Cells per 10x dataset, of which the last QC_FAILED are absent from the metadata.
N_CELLS = {"pbmc8k": 45, "pbmc4k": 36}
QC_FAILED = 3


@dataclass
class PbmcDownloads:
    """The fixture's files and what scvi-tools should make of them."""

    files: dict[str, bytes]  # URL -> content
    saved_as: dict[str, str]  # URL -> path under save_path where scvi-tools keeps it
    counts: dict[str, np.ndarray]  # dataset -> cells x genes
    barcodes: dict[str, list[str]]
    genes: list[str]  # 10x gene ids, in the matrices' order
    expected_genes: list[str]  # gene_info order, restricted to genes kept
    expected_cells: list[str]  # metadata order, QC-failed cells removed
    expected_labels: list[str]

    def write(self, save_path: Path) -> None:
        """Put the files where a previous download would have left them."""
        for url, relative in self.saved_as.items():
            (save_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (save_path / relative).write_bytes(self.files[url])


def _tenx_archive(counts: np.ndarray, genes: list[str], barcodes: list[str]) -> bytes:
    """A CellRanger 2 ``filtered_gene_bc_matrices.tar.gz``: genes x cells MatrixMarket + TSVs."""
    matrix = io.BytesIO()
    scipy.io.mmwrite(matrix, sp.coo_matrix(counts.T), field="integer")
    members = {
        "matrix.mtx": matrix.getvalue(),
        "genes.tsv": "".join(f"{gene}\tSYMBOL{gene[-3:]}\n" for gene in genes).encode(),
        "barcodes.tsv": "".join(f"{barcode}\n" for barcode in barcodes).encode(),
    }
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(f"filtered_gene_bc_matrices/GRCh38/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return archive.getvalue()


def build_pbmc_downloads(seed: int = 0) -> PbmcDownloads:
    """Tiny stand-ins for the four files ``scvi.data.pbmc_dataset`` downloads (a few KB)."""
    rng = np.random.default_rng(seed)
    genes = [f"ENSG{index:011d}" for index in range(N_GENES)]
    files, saved_as, counts, barcodes = {}, {}, {}, {}
    for name, n_cells in N_CELLS.items():
        cell_types = rng.integers(len(CELL_TYPES), size=n_cells)
        means = rng.lognormal(0.0, 1.0, size=(len(CELL_TYPES), N_GENES))[cell_types]
        matrix = rng.negative_binomial(2, 2 / (2 + means)).astype(np.int64)
        matrix[np.arange(N_GENES) % n_cells, np.arange(N_GENES)] += 1  # every gene detected
        matrix[:, 0] += 1  # every cell has counts
        if name == "pbmc4k":
            matrix[:, -1] = 0  # undetected in pbmc4k: dropped by the inner join
        counts[name] = matrix
        barcodes[name] = ["".join(rng.choice(list("ACGT"), 16)) + "-1" for _ in range(n_cells)]
        url = TENX.format(name)
        files[url] = _tenx_archive(matrix, genes, barcodes[name])
        saved_as[url] = f"{name}/filtered_gene_bc_matrices.tar.gz"
    # gene_info: the genes with differential-expression data, in its own order; one gene of
    # the matrices is missing, and one listed gene is absent from the matrices.
    listed = [genes[index] for index in rng.permutation(N_GENES) if index != 5] + ["ENSG99999999999"]
    gene_info = pd.DataFrame({"ENSG": listed, "GS": [f"SYMBOL{gene[-3:]}" for gene in listed]})
    kept = [barcode for name in N_CELLS for barcode in barcodes[name][:-QC_FAILED]]
    # Barcodes ending in "11" are in the metadata but were filtered from 10x's files.
    metadata_barcodes = [*kept, "AAACCTGAGAAGGCCT-11", "TTTGTCATCTCGCATC-11"]
    n_meta = len(metadata_barcodes)
    clusters = rng.integers(len(CELL_TYPES), size=n_meta)
    metadata = {
        "barcodes": pd.DataFrame(index=metadata_barcodes),
        "design": pd.DataFrame(rng.normal(size=(n_meta, 2)), columns=["d1", "d2"]),
        "raw_qc": pd.DataFrame(rng.normal(size=(n_meta, 3)), columns=["q1", "q2", "q3"]),
        "normalized_qc": pd.DataFrame(rng.normal(size=(n_meta, 3)), columns=["q1", "q2", "q3"]),
        "qc_pc": rng.normal(size=(n_meta, 2)),
        "clusters": clusters,
        "list_clusters": CELL_TYPES,
    }
    for url, name, content in (
        (SCVI_DATA + "gene_info.csv", "gene_info_pbmc.csv", gene_info.to_csv(index=False).encode()),
        (SCVI_DATA + "pbmc_metadata.pickle", "pbmc_metadata.pickle", pickle.dumps(metadata)),
    ):
        files[url], saved_as[url] = content, name
    in_matrices = set(genes[:-1])
    return PbmcDownloads(
        files=files,
        saved_as=saved_as,
        counts=counts,
        barcodes=barcodes,
        genes=genes,
        expected_genes=[gene for gene in listed if gene in in_matrices],
        expected_cells=kept,
        expected_labels=list(CELL_TYPES[clusters[: len(kept)]]),
    )


class _Response(io.BytesIO):
    """What ``urlopen`` returns, as far as scvi-tools' ``_download`` reads it."""

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return str(len(self.getvalue())) if name == "Content-Length" else default


@pytest.fixture
def served(monkeypatch):
    """Serve the fixture's files to ``urllib.request.urlopen``; record every URL asked for."""
    downloads = build_pbmc_downloads()
    requested: list[str] = []

    def urlopen(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        requested.append(url)
        if url not in downloads.files:
            raise urllib.error.URLError(f"no fixture for {url}")
        return _Response(downloads.files[url])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return downloads, requested


def _check_assembled(adata, downloads: PbmcDownloads) -> None:
    assert list(adata.obs_names) == downloads.expected_cells
    assert list(adata.var_names) == downloads.expected_genes
    assert adata.obs["batch"].dtype == np.int64
    expected_batch = [0] * (N_CELLS["pbmc8k"] - QC_FAILED) + [1] * (N_CELLS["pbmc4k"] - QC_FAILED)
    assert adata.obs["batch"].tolist() == expected_batch
    assert adata.obs["str_labels"].tolist() == downloads.expected_labels
    # Counts come through the MatrixMarket (genes x cells) and the gene/cell subsetting intact.
    for name, batch in (("pbmc8k", 0), ("pbmc4k", 1)):
        rows = [
            downloads.barcodes[name].index(barcode)
            for barcode in adata.obs_names[adata.obs["batch"] == batch]
        ]
        columns = [downloads.genes.index(gene) for gene in adata.var_names]
        dense = adata.X[np.flatnonzero(adata.obs["batch"] == batch)].toarray()
        np.testing.assert_array_equal(dense, downloads.counts[name][np.ix_(rows, columns)])


def test_pbmc_is_assembled_by_scvi_tools_and_cached(served, tmp_path):
    downloads, requested = served
    loaded = load_dataset("pbmc", data_dir=tmp_path)
    assert sorted(requested) == sorted(downloads.files)  # each file downloaded once
    assert (loaded.name, loaded.labels_key, loaded.batch_key) == ("pbmc", "str_labels", "batch")
    _check_assembled(loaded.adata, downloads)
    assert (tmp_path / data_module.PBMC_CACHE_NAME).is_file()
    for relative in downloads.saved_as.values():
        assert (tmp_path / relative).is_file()
    assert not (tmp_path / "pbmc8k" / "filtered_gene_bc_matrices").exists()  # extracted, then removed


def test_second_load_reads_the_cache(served, tmp_path, monkeypatch):
    downloads, requested = served
    first = load_dataset("pbmc", data_dir=tmp_path).adata
    monkeypatch.setattr(scvi.data, "pbmc_dataset", lambda **kwargs: pytest.fail("rebuilt, not cached"))
    requested.clear()
    again = load_dataset("pbmc", data_dir=tmp_path)
    assert requested == []
    _check_assembled(again.adata, downloads)
    np.testing.assert_array_equal(again.adata.X.toarray(), first.X.toarray())


def test_auto_takes_pbmc_when_its_hosts_are_reachable(served, tmp_path, monkeypatch):
    downloads, requested = served
    monkeypatch.delenv(data_module.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(data_module, "hosts_reachable", lambda **kwargs: True)
    loaded = load_dataset("auto", data_dir=tmp_path)
    assert loaded.name == "pbmc" and "network available" in loaded.reason
    assert sorted(requested) == sorted(downloads.files)
    _check_assembled(loaded.adata, downloads)


@pytest.mark.full  # executes the main lesson
def test_main_notebook_on_the_pbmc_downloads(tmp_path):
    """End to end: the notebook's kernel runs scvi-tools' parsing on the downloaded files."""
    downloads = build_pbmc_downloads()
    data_dir = tmp_path / "data"
    downloads.write(data_dir)
    output_dir = tmp_path / "results"
    pm.execute_notebook(
        MAIN,
        tmp_path / "out.ipynb",
        parameters={
            "dataset": "pbmc",
            "data_dir": str(data_dir),
            "n_top_genes": 20,
            "max_epochs": 5,
            "output_dir": str(output_dir),
        },
        cwd=str(tmp_path),
        progress_bar=False,
    )
    summary = json.loads((output_dir / "summary.json").read_text())
    assert summary["dataset"] == "pbmc"
    assert (summary["labels_key"], summary["batch_key"]) == ("str_labels", "batch")
    assert summary["n_cells"] == len(downloads.expected_cells) and summary["n_genes"] == 20
    assert (data_dir / data_module.PBMC_CACHE_NAME).is_file()
    result = read_results(output_dir)
    assert set(result.uns["autozi_label"]["labels"]) == set(downloads.expected_labels)
    assert set(result.obs["batch"]) == {0, 1}
    # The registry's label order, in the AnnData and in the per-cell-type table alike.
    table_labels = pd.read_csv(output_dir / "gene_label_zi.csv")["label"].unique().tolist()
    assert table_labels == list(result.uns["autozi_label"]["labels"])
