import hashlib

import numpy as np
import pytest
import scanpy as sc
import scipy.sparse as sp
from anndata import AnnData, read_h5ad

from autozi_tutorial import InputDataError, drop_cells_without_counts, load_dataset, load_pbmc68k
from autozi_tutorial import data as data_module


@pytest.fixture(scope="module")
def pbmc68k():
    return load_pbmc68k()


def test_pbmc68k_counts_are_integers_that_reproduce_raw(pbmc68k):
    reference = sc.datasets.pbmc68k_reduced()
    assert pbmc68k.shape == (700, 765)
    counts = pbmc68k.X.toarray().astype(np.float64)
    np.testing.assert_array_equal(counts, np.round(counts))
    assert counts.min() == 0
    # Forward transform of the recovered counts gives back the stored log-normalized values,
    # which scanpy stores rounded to three decimals.
    size = reference.obs["n_counts"].to_numpy()[:, None] / 1e4
    np.testing.assert_allclose(np.log1p(counts / size), reference.raw.X.toarray(), atol=5.01e-4)
    assert pbmc68k.obs["bulk_labels"].nunique() == 10


def test_auto_without_network_uses_pbmc68k(monkeypatch, tmp_path):
    monkeypatch.delenv(data_module.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(data_module, "hosts_reachable", lambda **kwargs: False)
    loaded = load_dataset("auto", data_dir=tmp_path)
    assert loaded.name == "pbmc68k"
    assert "no network" in loaded.reason
    assert loaded.labels_key == "bulk_labels" and loaded.batch_key is None
    assert "DATASET USED: pbmc68k" in loaded.banner
    assert list(tmp_path.iterdir()) == []  # nothing downloaded or cached


def test_auto_prefers_cached_pbmc(monkeypatch, tmp_path, counts_adata):
    monkeypatch.setattr(data_module, "hosts_reachable", lambda **kwargs: pytest.fail("probed network"))
    cached = counts_adata.copy()
    cached.obs = cached.obs.rename(columns={"cell_type": "str_labels"})
    cached.write_h5ad(tmp_path / data_module.PBMC_CACHE_NAME)
    loaded = load_dataset("auto", data_dir=tmp_path)
    assert loaded.name == "pbmc" and "cached" in loaded.reason
    assert (loaded.labels_key, loaded.batch_key) == ("str_labels", "batch")
    assert loaded.adata.shape == counts_adata.shape


def test_explicit_keys_override_dataset_defaults(tmp_path):
    loaded = load_dataset("pbmc68k", data_dir=tmp_path, labels_key="louvain")
    assert loaded.labels_key == "louvain"


@pytest.mark.parametrize(
    ("dataset", "message"), [("pbcm", "unknown dataset name"), ("missing.h5ad", "no such file")]
)
def test_bad_dataset_names(dataset, message, tmp_path):
    with pytest.raises(InputDataError, match=f"{message}.*'pbmc68k'"):
        load_dataset(str(tmp_path / dataset) if dataset.endswith("h5ad") else dataset)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_user_file_loads_and_is_not_modified(tmp_path, counts_adata):
    path = tmp_path / "mine.h5ad"
    counts_adata.write_h5ad(path)
    before = _digest(path)
    loaded = load_dataset(str(path), counts_layer="counts", labels_key="cell_type")
    loaded.adata.X = None  # changing the loaded copy must not touch the file
    assert loaded.name == str(path) and loaded.batch_key is None
    assert _digest(path) == before


def test_user_file_with_duplicate_gene_names_gets_unique_names(tmp_path, counts_adata, capsys):
    """Duplicate names (common in user files) are made unique in the loaded copy, with a note."""
    path = tmp_path / "duplicates.h5ad"
    counts_adata.var_names = ["CD3E", "CD3E", *counts_adata.var_names[2:]]
    counts_adata.write_h5ad(path)
    loaded = load_dataset(str(path), counts_layer="counts")
    assert loaded.adata.var_names[:2].tolist() == ["CD3E", "CD3E-1"]
    assert not loaded.adata.var_names.has_duplicates
    assert "made unique" in capsys.readouterr().out
    assert read_h5ad(path).var_names[:2].tolist() == ["CD3E", "CD3E"]  # the file is only read


def test_user_file_with_normalized_values_is_refused(tmp_path, counts_adata):
    path = tmp_path / "normalized.h5ad"
    sc.pp.normalize_total(counts_adata, target_sum=1e4)
    counts_adata.write_h5ad(path)
    before = _digest(path)
    with pytest.raises(InputDataError, match=r"non-integer.*counts_layer"):
        load_dataset(str(path))
    load_dataset(str(path), counts_layer="counts")  # the raw layer is fine
    assert _digest(path) == before


def test_drop_cells_without_counts_leaves_input_alone():
    adata = AnnData(X=sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 3.0]])))
    kept = drop_cells_without_counts(adata, layer=None)
    assert kept.n_obs == 2 and adata.n_obs == 3
    with pytest.raises(InputDataError, match="select more genes"):
        drop_cells_without_counts(adata[[1]], layer=None)
