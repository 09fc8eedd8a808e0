"""results.h5ad: the analysed genes with every result attached, written and read back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from autozi_tutorial import (
    gene_label_zi_table,
    gene_zi_table,
    read_results,
    results_anndata,
    write_outputs,
)
from autozi_tutorial.results import RESULTS_FILE

#: A registry order that is neither alphabetical nor the order cells appear in.
REGISTRY_LABELS = ["NK", "T cell", "B cell"]


@pytest.fixture
def analysed(counts_adata):
    """counts_adata as the notebook leaves it: log-normalized X, counts layer, scvi columns."""
    adata = counts_adata.copy()
    adata.X = sp.csr_matrix(np.log1p(adata.layers["counts"].toarray()))
    adata.obs["_scvi_labels"] = 0
    adata.uns["_scvi_uuid"] = "abc"
    rng = np.random.default_rng(1)
    gene_posteriors = {"alpha_posterior": rng.uniform(0.1, 2, 30), "beta_posterior": rng.uniform(0.1, 2, 30)}
    label_posteriors = {key: rng.uniform(0.1, 2, (30, 3)) for key in gene_posteriors}
    genes = gene_zi_table(adata, gene_posteriors, threshold=0.5)
    genes["is_zi_calibrated"] = rng.random(30) < 0.3
    labels = gene_label_zi_table(adata, label_posteriors, REGISTRY_LABELS, "cell_type", threshold=0.5)
    summary = {"dataset": "mine.h5ad", "labels_key": "cell_type", "threshold": 0.5, "batch_key": None}
    return adata, genes, labels, summary


def test_results_anndata_layout(analysed):
    adata, genes, labels, summary = analysed
    before = adata.copy()
    result = results_anndata(adata, genes, labels, summary)
    assert result.shape == adata.shape
    assert list(result.var_names) == list(genes["gene"])
    for column in genes.columns.drop("gene"):
        np.testing.assert_array_equal(result.var[column].to_numpy(), genes[column].to_numpy())
    np.testing.assert_array_equal(result.layers["counts"].toarray(), adata.layers["counts"].toarray())
    np.testing.assert_array_equal(result.X.toarray(), adata.X.toarray())
    assert result.uns["autozi"]["labels"].tolist() == REGISTRY_LABELS
    for column in labels.columns.drop(["gene", "label"]):
        frame = result.varm[f"label_{column}"]
        assert list(frame.columns) == REGISTRY_LABELS
        for row in labels.sample(20, random_state=0).itertuples():
            assert frame.loc[row.gene, row.label] == pytest.approx(getattr(row, column), nan_ok=True)
    assert not [name for name in result.obs.columns if name.startswith("_scvi")]
    assert "_scvi_uuid" not in result.uns
    # The analysed AnnData itself is left as it was.
    assert list(adata.obs.columns) == list(before.obs.columns) and "_scvi_uuid" in adata.uns
    assert list(adata.var.columns) == list(before.var.columns)


def test_results_need_every_gene(analysed):
    adata, genes, labels, summary = analysed
    with pytest.raises(ValueError, match="one row per gene"):
        results_anndata(adata, genes.iloc[1:], labels, summary)
    with pytest.raises(ValueError, match="cover exactly the genes"):
        results_anndata(adata, genes, labels[labels["gene"] != "gene0"], summary)


def test_written_with_the_outputs_and_read_back(tmp_path, analysed):
    adata, genes, labels, summary = analysed
    written = write_outputs(tmp_path / "out", genes, labels, summary, adata=adata)
    assert RESULTS_FILE in {str(path) for path in written}
    result = read_results(tmp_path / "out")
    assert result.uns["autozi"]["summary"] == json.loads((tmp_path / "out" / "summary.json").read_text())
    assert result.uns["autozi"]["labels"] == REGISTRY_LABELS
    assert result.uns["autozi"]["labels_key"] == "cell_type"
    on_disk = pd.read_csv(tmp_path / "out" / "gene_zi.csv")
    np.testing.assert_allclose(result.var["zi_prob"].to_numpy(), on_disk["zi_prob"].to_numpy())
    assert result.varm["label_is_zi"].dtypes.eq(bool).all()
    assert read_results(tmp_path / "out" / RESULTS_FILE).shape == adata.shape


def test_without_labels(tmp_path, analysed):
    adata, genes, _, summary = analysed
    write_outputs(tmp_path / "out", genes, None, {**summary, "labels_key": None}, adata=adata)
    result = read_results(tmp_path / "out")
    assert result.uns["autozi"]["labels"] == [] and len(result.varm) == 0


def test_read_results_refuses_other_files(tmp_path, counts_adata):
    with pytest.raises(FileNotFoundError, match="No results file"):
        read_results(tmp_path)
    counts_adata.write_h5ad(tmp_path / "other.h5ad")
    with pytest.raises(ValueError, match="not written by these notebooks"):
        read_results(tmp_path / "other.h5ad")
