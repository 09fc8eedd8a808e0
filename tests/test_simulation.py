from pathlib import Path

import numpy as np
import pytest

from autozi_tutorial.simulation import PLNParameters, load_pln_parameters, simulate_nb, simulate_pln

SHARED_PLN = Path(__file__).resolve().parents[2] / "shared" / "data" / "autozi_pln"


def _counts(adata):
    return adata.layers["counts"].toarray()


def test_nb_truth_is_recorded():
    adata = simulate_nb(n_cells=400, n_genes=60, n_cell_types=4, zi_share=0.25, n_spike_ins=10, seed=1)
    assert adata.n_vars == 70
    assert adata.var["zi_true"].sum() == 15 and not adata.var.loc[adata.var["spike_in"], "zi_true"].any()
    assert adata.var["spike_in"].sum() == 10
    assert (adata.var.loc[adata.var["zi_true"], "dropout"].between(0.1, 0.4)).all()
    assert (adata.var.loc[~adata.var["zi_true"], "dropout"] == 0).all()
    assert adata.obs["cell_type"].nunique() == 4
    counts = _counts(adata)
    np.testing.assert_array_equal(counts, np.round(counts))
    assert (counts.sum(axis=1) > 0).all()


def test_nb_batches_scale_means():
    plain = simulate_nb(n_cells=600, n_genes=40, seed=2)
    batched = simulate_nb(n_cells=600, n_genes=40, n_batches=2, seed=2)
    assert set(batched.obs["batch"]) == {"batch0", "batch1"}
    assert (plain.obs["batch"] == "batch0").all()
    assert plain.var["zi_true"].sum() == batched.var["zi_true"].sum() == 20
    assert not np.allclose(plain.var["mean_true"], batched.var["mean_true"])


def test_nb_seeds():
    first, again, other = (simulate_nb(n_cells=200, n_genes=30, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(_counts(first), _counts(again))
    assert not np.array_equal(_counts(first), _counts(other))


def test_nb_dropout_removes_the_expected_share_of_nonzeros():
    kwargs = {"n_cells": 2000, "n_genes": 50, "seed": 3}
    plain = simulate_nb(zi_share=0.0, **kwargs)
    inflated = simulate_nb(zi_share=1.0, dropout=0.3, **kwargs)
    ratio = (_counts(inflated) > 0).sum() / (_counts(plain) > 0).sum()
    assert ratio == pytest.approx(0.7, abs=0.02)


def test_pln_design():
    n_genes = 8
    parameters = PLNParameters(
        means=(np.zeros(n_genes), np.ones(n_genes)),
        covariances=(np.eye(n_genes) * 0.2, np.eye(n_genes) * 0.2),
    )
    adata = simulate_pln(parameters, zi_share=0.5, dropout=0.1, n_cells=3000, seed=0)
    assert adata.var["zi_true"].sum() == 4
    share_type1 = (adata.obs["cell_type"] == "type1").mean()
    assert share_type1 == pytest.approx(0.7, abs=0.05)
    # Type 1 has latent mean 1 vs 0: more counts per cell.
    counts = _counts(adata)
    by_type = [counts[(adata.obs["cell_type"] == t).to_numpy()].mean() for t in ("type0", "type1")]
    assert by_type[1] > 2 * by_type[0]


def test_pln_parameters_are_validated(tmp_path):
    with pytest.raises(ValueError, match="covariance"):
        PLNParameters(means=(np.zeros(3), np.zeros(3)), covariances=(np.eye(3), np.eye(2)))
    with pytest.raises(FileNotFoundError, match=r"mu_0\.npy"):
        load_pln_parameters(tmp_path)


@pytest.mark.skipif(
    not SHARED_PLN.is_dir(), reason="the AutoZI paper's parameters are not beside the checkout"
)
def test_shared_pln_parameters_load():
    parameters = load_pln_parameters(SHARED_PLN)
    assert parameters.means[0].shape == (50,) and parameters.covariances[1].shape == (50, 50)
