"""results.h5ad and the result tables: the analysed AnnData with every tool's results, by position."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import autozi_tutorial as azt
from autozi_tutorial.outputs import gene_tables
from autozi_tutorial.results import RESULTS_FILE


@pytest.fixture
def analysed(counts_adata):
    """counts_adata after both tools (the ZI test on library sizes: no training), with scvi entries."""
    adata = counts_adata.copy()
    adata.obs["cell_type"] = adata.obs["cell_type"].replace({"NK": "CD4+/CD25 T Reg"})  # HDF5-unsafe
    adata.X = sp.csr_matrix(np.log1p(adata.layers["counts"].toarray()))
    model = azt.fit_autozi_model(adata, labels_key="cell_type", max_epochs=1, accelerator="cpu")
    azt.tl.autozi(adata, model=model)
    azt.tl.zi_test(adata, layer="counts", labels_key="cell_type", cell_state_means="library_size")
    adata.obs["_scvi_labels"] = 0
    adata.uns["_scvi_uuid"] = "abc"
    return adata


def test_tables_are_the_anndata_by_position(analysed):
    tables = gene_tables(analysed)
    genes = tables["gene_zi.csv"]
    assert genes["gene"].tolist() == analysed.var_names.tolist()
    np.testing.assert_array_equal(genes["autozi_prob"], analysed.var["autozi_prob"])
    np.testing.assert_array_equal(genes["zi_test_qvalue"], analysed.var["zi_test_qvalue"])
    labels = tables["gene_label_zi.csv"]
    assert len(labels) == 3 * analysed.n_vars
    row = labels[(labels["gene"] == "gene4") & (labels["label"] == "CD4+/CD25 T Reg")].iloc[0]
    assert row["zi_test_qvalue"] == analysed.varm["zi_test_qvalue"].loc["gene4", "CD4+/CD25 T Reg"]


def test_results_round_trip(analysed, tmp_path):
    before = analysed.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no cell-type name becomes an HDF5 key
        azt.write_outputs(tmp_path / "out", analysed, summary={"dataset": "mine.h5ad", "batch_key": None})
    assert "_scvi_labels" in analysed.obs  # the analysed AnnData itself is not modified
    back = azt.read_results(tmp_path / "out")
    assert back.uns["summary"] == {"dataset": "mine.h5ad", "batch_key": None}
    assert "_scvi_labels" not in back.obs and "_scvi_uuid" not in back.uns
    pd.testing.assert_frame_equal(azt.get.zi_test_df(back), azt.get.zi_test_df(before))
    pd.testing.assert_frame_equal(azt.get.autozi_df(back), azt.get.autozi_df(before))
    np.testing.assert_array_equal(back.layers["counts"].toarray(), before.layers["counts"].toarray())
    assert back.uns["zi_test"]["params"]["cell_states"] == "library size"
    pd.testing.assert_frame_equal(back.varm["zi_test_qvalue"], before.varm["zi_test_qvalue"])
    assert "CD4+/CD25 T Reg" in back.varm["zi_test_qvalue"].columns
    pd.testing.assert_frame_equal(
        azt.get.zi_test_df(back, by_label=True), azt.get.zi_test_df(before, by_label=True)
    )


def test_read_results_refuses_other_files(tmp_path, counts_adata):
    with pytest.raises(FileNotFoundError, match=RESULTS_FILE):
        azt.read_results(tmp_path)
    counts_adata.write_h5ad(tmp_path / RESULTS_FILE)
    with pytest.raises(ValueError, match="not written by these notebooks"):
        azt.read_results(tmp_path)
