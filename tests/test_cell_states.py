"""Cell-state offsets from an NB-only scVI model."""

import numpy as np
import pytest

from autozi_tutorial import cell_states
from autozi_tutorial.cell_states import fit, log_means, model_settings
from autozi_tutorial.lrt import zinb_lrt


@pytest.fixture(scope="module")
def trained():
    """The cell-state model trained on counts_adata for a few epochs (the everyday tier stays fast)."""
    from conftest import make_counts_adata

    counts_adata = make_counts_adata()
    before = counts_adata.copy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(cell_states.TRAINING, "max_epochs", 5)
        model = fit(counts_adata, layer="counts", accelerator="cpu")
    assert list(counts_adata.obs.columns) == list(before.obs.columns)  # the input is not touched
    return counts_adata, model


def test_offsets_are_the_models_nb_means(trained):
    adata, model = trained
    offsets = log_means(model, n_samples=3)
    assert offsets.shape == adata.shape and offsets.dtype == np.float64 and np.isfinite(offsets).all()
    # scVI scales its normalized expression by the observed library size: the means add up to it.
    library = np.asarray(adata.layers["counts"].sum(axis=1)).ravel()
    np.testing.assert_allclose(np.exp(offsets).sum(axis=1), library, rtol=1e-4)
    assert model.module.gene_likelihood == "nb"


def test_offsets_feed_the_test(trained):
    adata, model = trained
    result = zinb_lrt(adata, offsets=log_means(model))
    assert result["converged"].all() and result["pvalue"].between(0, 1).all()


def test_n_samples_must_be_positive(trained):
    with pytest.raises(ValueError, match="n_samples"):
        log_means(trained[1], n_samples=0)


@pytest.mark.parametrize(
    ("n_genes", "n_latent"), [(1, 3), (50, 3), (160, 3), (220, 4), (330, 6), (765, 10), (9000, 10)]
)
def test_latent_dimensions_follow_the_number_of_genes(n_genes, n_latent):
    assert model_settings(n_genes) == {"gene_likelihood": "nb", "n_latent": n_latent}


def test_cell_state_model_takes_the_rule_unless_told(trained):
    adata, model = trained
    assert model.module.n_latent == model_settings(adata.n_vars)["n_latent"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(cell_states.TRAINING, "max_epochs", 1)
        assert fit(adata, layer="counts", accelerator="cpu", n_latent=4).module.n_latent == 4
    with pytest.raises(ValueError, match="n_genes"):
        model_settings(0)
