import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from autozi_tutorial import add_calibrated_call, gene_label_zi_table, gene_zi_table, group_means, zi_fractions
from autozi_tutorial.tables import GENE_COLUMNS, GENE_LABEL_COLUMNS


@pytest.mark.parametrize("to_matrix", [np.asarray, sp.csr_matrix])
def test_group_means_hand_computed(to_matrix):
    matrix = to_matrix(np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 4.0]]))
    means = group_means(matrix, np.array([0, 0, 1]), 3)
    np.testing.assert_allclose(means[:, :2], [[2.0, 5.0], [1.0, 4.0]])
    assert np.isnan(means[:, 2]).all()  # a group with no cells


def test_gene_zi_table(counts_adata):
    n = counts_adata.n_vars
    alphas_betas = {"alpha_posterior": np.full(n, 1.0), "beta_posterior": np.linspace(0.5, 2.0, n)}
    table = gene_zi_table(counts_adata, alphas_betas, threshold=0.6)
    assert list(table.columns) == GENE_COLUMNS
    assert table["gene"].tolist() == counts_adata.var_names.tolist()
    # Beta(1, b) has cdf 1 - 0.5**b at 0.5.
    np.testing.assert_allclose(table["zi_prob"], 1 - 0.5 ** alphas_betas["beta_posterior"])
    np.testing.assert_array_equal(table["is_zi"], table["zi_prob"] > 0.6)
    np.testing.assert_allclose(table["mean_counts"], counts_adata.layers["counts"].toarray().mean(0))


def test_gene_zi_table_rejects_label_posteriors(counts_adata):
    shape = (counts_adata.n_vars, 3)
    with pytest.raises(ValueError, match="gene_label_zi_table"):
        gene_zi_table(counts_adata, {"alpha_posterior": np.ones(shape), "beta_posterior": np.ones(shape)})


def test_gene_label_table_maps_columns_to_given_label_order(counts_adata):
    labels = ["NK", "T cell", "B cell"]  # deliberately neither sorted nor in obs order
    n = counts_adata.n_vars
    # Column j has beta = j + 1, so zi_prob = 1 - 0.5 ** (j + 1) identifies the column.
    beta = np.tile(np.arange(1.0, 4.0), (n, 1))
    table = gene_label_zi_table(
        counts_adata, {"alpha_posterior": np.ones((n, 3)), "beta_posterior": beta}, labels, "cell_type"
    )
    assert list(table.columns) == GENE_LABEL_COLUMNS
    assert len(table) == 3 * n
    assert list(table["label"].cat.categories) == labels
    counts = counts_adata.layers["counts"].toarray()
    for j, label in enumerate(labels):
        rows = table[table["label"] == label]
        np.testing.assert_allclose(rows["zi_prob"], 1 - 0.5 ** (j + 1))
        in_label = (counts_adata.obs["cell_type"] == label).to_numpy()
        np.testing.assert_allclose(rows["mean_counts"], counts[in_label].mean(0))
        assert rows["gene"].tolist() == counts_adata.var_names.tolist()


def test_gene_label_table_rejects_unknown_labels(counts_adata):
    n = counts_adata.n_vars
    ones = np.ones((n, 2))
    with pytest.raises(ValueError, match="missing from `labels`"):
        gene_label_zi_table(
            counts_adata, {"alpha_posterior": ones, "beta_posterior": ones}, ["NK", "B cell"], "cell_type"
        )


def test_zi_fractions_hand_computed():
    table = pd.DataFrame(
        {
            "label": ["a", "a", "a", "a", "a", "b", "b"],
            "is_zi": [True, True, False, False, False, False, False],
            "is_zi_calibrated": [True, False, False, True, False, False, False],
            "mean_counts": [2.0, 0.1, 3.0, 1.5, 0.0, 0.2, 0.3],
            "testable": [True, True, True, True, False, True, True],
        }
    )
    overall = zi_fractions(table, expression_cutoff=1.0).iloc[0]
    assert overall["n_genes"] == 6  # the untestable row is left out
    assert overall["zi_fraction"] == pytest.approx(2 / 6)
    assert overall["sufficient_expression_fraction"] == pytest.approx(3 / 6)
    assert overall["zi_fraction_sufficient"] == pytest.approx(1 / 3)
    assert overall["calibrated_zi_fraction"] == pytest.approx(2 / 6)
    assert overall["calibrated_zi_fraction_sufficient"] == pytest.approx(2 / 3)
    by_label = zi_fractions(table, expression_cutoff=1.0, by="label").set_index("label")
    assert by_label.loc["a", "n_genes"] == 4
    assert by_label.loc["a", "zi_fraction"] == pytest.approx(0.5)
    assert by_label.loc["a", "zi_fraction_sufficient"] == pytest.approx(1 / 3)
    assert by_label.loc["b", "sufficient_expression_fraction"] == 0.0
    assert np.isnan(by_label.loc["b", "zi_fraction_sufficient"])  # no gene passes the cutoff


def test_gene_label_table_marks_pairs_without_counts_untestable(counts_adata):
    counts = counts_adata.layers["counts"].toarray()
    in_nk = (counts_adata.obs["cell_type"] == "NK").to_numpy()
    counts[in_nk, 4] = 0
    counts_adata.layers["counts"] = sp.csr_matrix(counts)
    n = counts_adata.n_vars
    certain = {"alpha_posterior": np.full((n, 2), 0.01), "beta_posterior": np.full((n, 2), 50.0)}
    table = gene_label_zi_table(
        counts_adata[counts_adata.obs["cell_type"] != "B cell"], certain, ["NK", "T cell"], "cell_type"
    )
    pair = table[(table["gene"] == "gene4") & (table["label"] == "NK")].iloc[0]
    assert not pair["testable"] and np.isnan(pair["zi_prob"]) and not pair["is_zi"]
    others = table.drop(index=pair.name)
    assert others["testable"].all() and others["is_zi"].all()


def test_add_calibrated_call_to_gene_label_table():
    labels = pd.DataFrame({"gene": ["a", "a", "b", "b"], "label": pd.Categorical(["x", "y", "x", "y"])})
    lrt = pd.DataFrame(
        {
            "gene": ["b", "a", "b", "a"],
            "label": ["x", "y", "y", "x"],
            "lrt_pvalue": [0.001, np.nan, 0.3, 0.002],
            "lrt_qvalue": [0.004, np.nan, 0.3, 0.004],
        }
    )
    table = add_calibrated_call(labels, lrt)
    assert table["lrt_pvalue"].tolist()[:1] == [0.002] and np.isnan(table.at[1, "lrt_pvalue"])
    assert table["is_zi_calibrated"].tolist() == [True, False, True, False]


def test_add_calibrated_call_matches_genes_by_name():
    genes = pd.DataFrame({"gene": ["a", "b", "c"], "zi_prob": [0.9, 0.9, 0.1]})
    lrt = pd.DataFrame(
        {"gene": ["c", "b", "a"], "lrt_pvalue": [0.001, 0.5, 0.001], "lrt_qvalue": [0.003, 0.5, 0.003]}
    )
    table = add_calibrated_call(genes, lrt)
    assert table["is_zi_calibrated"].tolist() == [True, False, True]
    assert table["lrt_qvalue"].tolist() == [0.003, 0.5, 0.003]
    assert "lrt_pvalue" not in genes  # the input is left alone
    with pytest.raises(ValueError, match="lacks some rows"):
        add_calibrated_call(genes, lrt.iloc[:2])
