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


def test_hidden_states_switch_markers_off_together():
    from autozi_tutorial.simulation import simulate_hidden_states

    adata = simulate_hidden_states(n_cells=1500, n_genes=120, n_spike_ins=5, seed=4)
    var = adata.var
    assert var["marker"].sum() == round(0.3 * 120) and var["zi_true"].sum() == round(0.3 * 120)
    assert not (var["spike_in"] & (var["marker"] | var["zi_true"])).any()
    counts = adata.layers["counts"].toarray()
    states = adata.obs["hidden_state"].astype(str).to_numpy()
    # A marker without dropout has no count at all in some hidden state, and counts in others.
    silent = []
    for gene in np.flatnonzero(var["marker"] & ~var["zi_true"]):
        totals = [counts[states == s, gene].sum() for s in np.unique(states)]
        silent.append(min(totals) == 0 and max(totals) > 0)
    assert np.mean(silent) > 0.9
    # Genes that are neither markers nor zero-inflated are expressed in every state.
    plain = np.flatnonzero(~var["marker"] & ~var["zi_true"] & ~var["spike_in"] & (var["mean_true"] > 2))
    assert all(min(counts[states == s, g].sum() for s in np.unique(states)) > 0 for g in plain)
    # The annotation is coarser than the hidden states.
    assert adata.obs["cell_type"].nunique() < adata.obs["hidden_state"].nunique()


def test_bursty_genes_have_more_zeros_at_the_same_mean():
    from autozi_tutorial.simulation import simulate_bursty

    adata = simulate_bursty(n_cells=2000, n_genes=200, seed=5)
    counts = adata.layers["counts"].toarray()
    mean, zeros = counts.mean(axis=0), (counts == 0).mean(axis=0)
    expressed = (mean > 2) & (mean < 10)
    bursty = adata.var["zi_true"].to_numpy()
    assert zeros[expressed & bursty].mean() > 2 * zeros[expressed & ~bursty].mean()
    assert (adata.var.loc[bursty, ["k_on", "k_off"]] < 1).all().all()
    assert (adata.var.loc[~bursty, ["k_on", "k_off"]] > 1).all().all()
    # Cell-level technical efficiency varies, and the target means are met on average.
    assert adata.obs["efficiency"].std() > 0
    assert np.corrcoef(np.log(mean + 0.01), np.log(adata.var["mean_true"] + 0.01))[0, 1] > 0.95


def test_new_designs_refuse_bad_shares():
    from autozi_tutorial.simulation import simulate_bursty, simulate_hidden_states

    with pytest.raises(ValueError, match="marker_share"):
        simulate_hidden_states(marker_share=1.5)
    with pytest.raises(ValueError, match="zi_share"):
        simulate_bursty(zi_share=-0.1)


def test_dispersion_by_type_changes_only_the_dispersion():
    same = simulate_nb(n_cells=400, n_genes=30, seed=8)
    varied = simulate_nb(n_cells=400, n_genes=30, seed=8, dispersion_sd_by_type=1.0)
    np.testing.assert_array_equal(same.var["theta"], varied.var["theta"])
    assert (same.X != varied.X).nnz > 0
