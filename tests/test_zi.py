import numpy as np
import pytest
import scvi

from autozi_tutorial import call_zi, check_autozi_priors, registry_labels, zi_probability


def test_zi_probability_hand_computed():
    # Beta(1, 1) is uniform: P(delta < 0.5) = 0.5. Beta(1, 2) has cdf 1 - (1 - x)^2: 0.75 at 0.5.
    # Beta(2, 1) has cdf x^2: 0.25. Any symmetric Beta gives 0.5.
    prob = zi_probability(np.array([1.0, 1.0, 2.0, 0.3]), np.array([1.0, 2.0, 1.0, 0.3]))
    np.testing.assert_allclose(prob, [0.5, 0.75, 0.25, 0.5])


def test_zi_probability_keeps_shape_and_rejects_bad_parameters():
    assert zi_probability(np.ones((3, 2)), np.ones((3, 2))).shape == (3, 2)
    with pytest.raises(ValueError, match="positive"):
        zi_probability(np.array([0.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="shape"):
        zi_probability(np.ones(2), np.ones(3))


def test_call_zi_is_strict_and_monotone():
    prob = np.array([0.2, 0.5, 0.51, 0.95])
    np.testing.assert_array_equal(call_zi(prob, 0.5), [False, False, True, True])
    assert call_zi(prob, 0.9).sum() <= call_zi(prob, 0.5).sum()
    with pytest.raises(ValueError, match="threshold"):
        call_zi(prob, 1.0)


@pytest.mark.parametrize(
    ("alpha", "beta", "mode"),
    [(0.3, 0.7, "gene"), (0.3, None, "gene"), (None, 0.2, "gene"), (None, None, "gene-label")],
)
def test_priors_scvi_mishandles_are_refused(alpha, beta, mode):
    with pytest.raises(ValueError, match="scvi-tools"):
        check_autozi_priors(alpha, beta, mode)


@pytest.mark.parametrize(
    ("alpha", "beta", "mode"),
    [(0.5, 0.5, "gene"), (0.5, None, "gene"), (None, None, "gene"), (0.3, 0.7, "gene-label")],
)
def test_priors_that_work_pass(alpha, beta, mode):
    check_autozi_priors(alpha, beta, mode)


def test_priors_outside_unit_interval_refused():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        check_autozi_priors(1.5, 1.5)


def test_registry_labels_follow_scvi_mapping_not_obs_order(counts_adata):
    # Cells appear as "T cell", "B cell", "NK"; the registry sorts string labels.
    scvi.model.AUTOZI.setup_anndata(counts_adata, layer="counts", labels_key="cell_type")
    model = scvi.model.AUTOZI(counts_adata, zero_inflation="gene-label", dispersion="gene-label")
    labels = registry_labels(model)
    mapping = model.adata_manager.get_state_registry("labels").categorical_mapping
    assert labels == list(mapping)
    assert labels == ["B cell", "NK", "T cell"]
    assert list(counts_adata.obs["cell_type"].unique()) != labels
    assert model.get_alphas_betas()["alpha_posterior"].shape == (counts_adata.n_vars, 3)
