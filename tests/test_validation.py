import numpy as np
import pytest
import scipy.sparse as sp
from anndata import AnnData

from autozi_tutorial import InputDataError, validate_anndata, validate_counts
from autozi_tutorial.validation import counts_matrix


def test_valid_counts_pass(counts_adata):
    validate_anndata(counts_adata, "counts", "cell_type", "batch")


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize(
    ("bad_value", "message"),
    [(-1.0, "negative"), (0.5, "non-integer"), (np.nan, "NaN"), (np.inf, "infinite")],
)
def test_bad_values_are_named(dense, bad_value, message):
    matrix = np.ones((4, 3))
    matrix[1, 2] = bad_value
    with pytest.raises(InputDataError, match=message):
        validate_counts(matrix if dense else sp.csr_matrix(matrix))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0)])
def test_empty_matrix(shape):
    with pytest.raises(InputDataError, match="at least one"):
        validate_counts(np.zeros(shape))


def test_missing_layer_lists_available(counts_adata):
    with pytest.raises(InputDataError, match=r"'raw_counts' not found.*\['counts'\]"):
        counts_matrix(counts_adata, "raw_counts")


def test_missing_obs_key(counts_adata):
    with pytest.raises(InputDataError, match="labels_key='celltype' is not a column"):
        validate_anndata(counts_adata, "counts", labels_key="celltype")


def test_single_category_labels_rejected(counts_adata):
    counts_adata.obs["one"] = "T"
    with pytest.raises(InputDataError, match="at least 2"):
        validate_anndata(counts_adata, "counts", labels_key="one")


def test_missing_label_values_rejected(counts_adata):
    counts_adata.obs.loc[counts_adata.obs_names[0], "cell_type"] = None
    with pytest.raises(InputDataError, match="1 missing values"):
        validate_anndata(counts_adata, "counts", labels_key="cell_type")


def test_cells_without_counts_rejected():
    adata = AnnData(X=np.array([[1.0, 2.0], [0.0, 0.0]]))
    with pytest.raises(InputDataError, match="1 cells have no counts"):
        validate_anndata(adata)


def test_validation_does_not_modify_input(counts_adata):
    before = counts_adata.X.toarray().copy()
    obs_before = counts_adata.obs.copy()
    validate_anndata(counts_adata, "counts", "cell_type", "batch")
    np.testing.assert_array_equal(counts_adata.X.toarray(), before)
    assert counts_adata.obs.equals(obs_before)
