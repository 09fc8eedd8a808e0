from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from autozi_tutorial.simulation import (
    PLNParameters,
    add_zero_inflation,
    inject_zeros,
    load_pln_parameters,
    simulate_batches,
    simulate_bursty,
    simulate_hidden_states,
    simulate_nb,
    simulate_pln,
    simulate_trajectory,
)

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


# --- trajectory -------------------------------------------------------------------------------


def _binned_means(adata, n_bins=10):
    """Size-factor-normalised mean count of every gene in equal-size pseudotime bins."""
    order = np.argsort(adata.obs["pseudotime"].to_numpy())
    normalised = _counts(adata) / adata.obs["size_factor"].to_numpy()[:, None]
    bins = np.array_split(order, n_bins)
    centres = np.array([adata.obs["pseudotime"].to_numpy()[b].mean() for b in bins])
    return centres, np.array([normalised[b].mean(axis=0) for b in bins])


def test_trajectory_truth_and_stages():
    adata = simulate_trajectory(
        n_cells=900, n_genes=80, switching_share=0.5, zi_share=0.3, n_spike_ins=5, seed=1
    )
    var = adata.var
    assert adata.n_vars == 85 and var["spike_in"].sum() == 5
    assert var["switching"].sum() == 40 and var["zi_true"].sum() == 24
    assert not (var["spike_in"] & (var["switching"] | var["zi_true"])).any()
    switching = var["switching"].to_numpy()
    assert set(var.loc[switching, "direction"]) == {-1, 1} and (var.loc[~switching, "direction"] == 0).all()
    assert (
        var.loc[switching, "midpoint"].between(0.2, 0.8).all()
        and var.loc[~switching, "midpoint"].isna().all()
    )
    assert var.loc[switching, "floor"].between(0.01, 0.2).all() and (var.loc[~switching, "floor"] == 1).all()
    counts = _counts(adata)
    np.testing.assert_array_equal(counts, np.round(counts))
    assert (counts.sum(axis=1) > 0).all()
    # Stages are equal-size pseudotime bins, in order.
    time = adata.obs["pseudotime"]
    assert time.between(0, 1).all()
    assert list(adata.obs["cell_type"].cat.categories) == ["stage 1", "stage 2", "stage 3"]
    sizes = adata.obs["cell_type"].value_counts()
    assert sizes.max() - sizes.min() <= 3
    by_stage = time.groupby(adata.obs["cell_type"], observed=True).agg(["min", "max"])
    assert (by_stage["max"].to_numpy()[:-1] < by_stage["min"].to_numpy()[1:]).all()


def test_trajectory_switching_genes_follow_pseudotime():
    adata = simulate_trajectory(n_cells=3000, n_genes=100, zi_share=0.0, seed=2)
    centres, means = _binned_means(adata)
    var = adata.var
    expressed = var["peak_mean"].to_numpy() > 1
    corr = np.array([np.corrcoef(centres, means[:, g])[0, 1] for g in range(adata.n_vars)])
    direction = var["direction"].to_numpy()
    assert np.median(corr[expressed & (direction == 1)]) > 0.8
    assert np.median(corr[expressed & (direction == -1)]) < -0.8
    assert np.median(np.abs(corr[expressed & (direction == 0)])) < 0.5
    # Switching genes change several-fold between the ends; static genes stay put.
    fold = np.abs(np.log((means[-1] + 0.01) / (means[0] + 0.01)))
    assert np.median(fold[expressed & (direction != 0)]) > np.log(3)
    assert np.median(fold[expressed & (direction == 0)]) < np.log(1.3)


def test_trajectory_seeds():
    first, again, other = (simulate_trajectory(n_cells=300, n_genes=30, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(_counts(first), _counts(again))
    np.testing.assert_array_equal(first.obs["pseudotime"], again.obs["pseudotime"])
    assert not np.array_equal(_counts(first), _counts(other))


# --- zero inflation on top of the NB, for both new designs --------------------------------------


def _zero_shares(adata):
    """Observed share of zeros per gene, and the share the NB (or Poisson) of the true means predicts."""
    counts = _counts(adata)
    mean = adata.layers["mean_true"].astype(float)
    if "batch" in adata.obs:
        codes = adata.obs["batch"].cat.codes.to_numpy()
        thetas = np.stack([adata.var[f"theta_batch{b}"] for b in range(codes.max() + 1)])
        theta = thetas[codes]
    else:
        theta = np.broadcast_to(adata.var["theta"].to_numpy(), mean.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        nb_zero = (theta / (theta + mean)) ** theta
    expected = np.where(np.isinf(theta), np.exp(-mean), nb_zero).mean(axis=0)
    return (counts == 0).mean(axis=0), expected


@pytest.mark.parametrize(
    "simulate",
    [
        lambda: simulate_trajectory(
            n_cells=2000, n_genes=60, zi_share=0.5, n_spike_ins=5, keep_means=True, seed=3
        ),
        lambda: simulate_batches(
            n_cells=2000, n_genes=60, zi_share=0.5, n_spike_ins=5, keep_means=True, seed=3
        ),
    ],
    ids=["trajectory", "batches"],
)
def test_zi_genes_have_zeros_beyond_the_nb(simulate):
    adata = simulate()
    observed, expected = _zero_shares(adata)
    dropout = adata.var["dropout"].to_numpy()
    zi = adata.var["zi_true"].to_numpy()
    # Every gene matches NB (spike-ins: Poisson) zeros plus its dropout, within sampling noise
    # (binomial sd at most 0.011 for 2,000 cells).
    np.testing.assert_allclose(observed, expected + dropout * (1 - expected), atol=0.05)
    assert np.abs(observed - expected)[~zi].max() < 0.05
    excess = observed - expected
    assert excess[zi].mean() > 0.05 > 0.02 > np.abs(excess[~zi]).mean()
    assert (excess[zi & (expected < 0.5)] > 0.03).all()


# --- batches ----------------------------------------------------------------------------------


def test_batches_truth():
    adata = simulate_batches(n_cells=600, n_genes=50, n_types=4, n_batches=3, n_spike_ins=4, seed=4)
    var = adata.var
    assert adata.n_vars == 54 and var["zi_true"].sum() == 10
    assert list(adata.obs["batch"].cat.categories) == ["batch0", "batch1", "batch2"]
    assert list(adata.obs["cell_type"].cat.categories) == [f"type{k}" for k in range(4)]
    assert (var["lfc_batch0"] == 0).all() and (var["theta_batch0"] == var["theta"]).all()
    for b in (1, 2):
        assert (var[f"lfc_batch{b}"] != 0).sum() == 5
        assert var.loc[var[f"lfc_batch{b}"] != 0, f"lfc_batch{b}"].abs().between(0.5, 1.5).all()
    shifted = (var[["lfc_batch1", "lfc_batch2"]] != 0).any(axis=1)
    assert (var["batch_shifted"] == shifted).all() and not var.loc[var["spike_in"], "batch_shifted"].any()
    counts = _counts(adata)
    np.testing.assert_array_equal(counts, np.round(counts))
    single = simulate_batches(n_cells=200, n_genes=20, n_batches=1, seed=4)
    assert set(single.obs["batch"]) == {"batch0"} and not single.var["batch_shifted"].any()


def test_batches_differ_in_depth_genes_and_dispersion():
    adata = simulate_batches(
        n_cells=4000,
        n_genes=120,
        n_types=3,
        zi_share=0.0,
        shift_share=0.3,
        dispersion_sd=1.0,
        keep_means=True,
        seed=5,
    )
    batch = adata.obs["batch"].to_numpy()
    in1 = batch == "batch1"
    counts = _counts(adata)
    size_factor = adata.obs["size_factor"].to_numpy()
    assert size_factor[in1].mean() / size_factor[~in1].mean() == pytest.approx(2.0, rel=0.1)
    library = counts.sum(axis=1)
    assert library[in1].mean() > 1.5 * library[~in1].mean()
    # Shifted genes: the size-normalised log ratio between batches, within each type, tracks the lfc.
    normalised = counts / size_factor[:, None]
    types = adata.obs["cell_type"].to_numpy()
    ratios = [
        np.log(normalised[in1 & (types == t)].mean(axis=0) + 1e-3)
        - np.log(normalised[~in1 & (types == t)].mean(axis=0) + 1e-3)
        for t in np.unique(types)
    ]
    log_ratio = np.mean(ratios, axis=0)
    var = adata.var
    expressed = adata.var["mean_true"].to_numpy() > 1
    shifted = var["batch_shifted"].to_numpy()
    assert np.corrcoef(log_ratio[expressed & shifted], var["lfc_batch1"][expressed & shifted])[0, 1] > 0.95
    assert np.median(np.abs(log_ratio[expressed & ~shifted])) < 0.1
    # Dispersion: a moment estimate of 1/theta from the true means, per batch, follows the truth.
    mean = adata.layers["mean_true"].astype(float)

    def inverse_theta(cells):
        residual = (counts[cells] - mean[cells]) ** 2 - mean[cells]
        return residual.sum(axis=0) / (mean[cells] ** 2).sum(axis=0)

    estimated = np.log(np.clip(inverse_theta(~in1), 1e-3, None) / np.clip(inverse_theta(in1), 1e-3, None))
    truth = np.log(var["theta_batch1"] / var["theta_batch0"]).to_numpy()
    assert np.corrcoef(estimated[expressed], truth[expressed])[0, 1] > 0.8


def test_batches_seeds():
    first, again, other = (simulate_batches(n_cells=300, n_genes=30, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(_counts(first), _counts(again))
    assert (first.obs["batch"] == again.obs["batch"]).all()
    assert not np.array_equal(_counts(first), _counts(other))


def test_trajectory_and_batches_refuse_bad_parameters():
    with pytest.raises(ValueError, match="switching_share"):
        simulate_trajectory(switching_share=1.2)
    with pytest.raises(ValueError, match="n_stages"):
        simulate_trajectory(n_stages=0)
    with pytest.raises(ValueError, match="dropout"):
        simulate_trajectory(n_cells=10, n_genes=5, dropout=1.5)
    with pytest.raises(ValueError, match="shift_share"):
        simulate_batches(shift_share=-0.1)
    with pytest.raises(ValueError, match="depth_ratio"):
        simulate_batches(depth_ratio=0.0)


# --- inject_zeros ----------------------------------------------------------------------------


def _control_data(dense: bool):
    adata = simulate_nb(n_cells=1500, n_genes=40, zi_share=0.0, mean_range=(2.0, 20.0), seed=9)
    if dense:
        adata.layers["counts"] = adata.layers["counts"].toarray()
    return adata


def _as_array(matrix):
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
def test_inject_zeros_zeroes_the_share_asked_for(dense):
    adata = _control_data(dense)
    before_layer, before_x = _as_array(adata.layers["counts"]).copy(), adata.X.toarray()
    chosen = list(adata.var_names[::4])
    out = inject_zeros(adata, chosen, share=0.3, layer="counts", random_state=1)
    # The input is untouched.
    np.testing.assert_array_equal(_as_array(adata.layers["counts"]), before_layer)
    assert "zeros_injected" not in adata.var
    after = out.layers["counts"]
    assert sp.issparse(after) != dense and after.dtype == adata.layers["counts"].dtype
    after = _as_array(after)
    mask = out.var["zeros_injected"].to_numpy()
    assert mask.sum() == len(chosen) and list(out.var_names[mask]) == chosen
    # Other genes and X are unchanged; chosen genes only lose counts.
    np.testing.assert_array_equal(after[:, ~mask], before_layer[:, ~mask])
    np.testing.assert_array_equal(out.X.toarray(), before_x)
    kept = after[:, mask] != 0
    np.testing.assert_array_equal(after[:, mask][kept], before_layer[:, mask][kept])
    # The share of non-zero entries zeroed is within 4 binomial sd of share.
    nonzero = before_layer[:, mask] > 0
    zeroed = (after[:, mask] == 0) & nonzero
    n = nonzero.sum()
    assert abs(zeroed.sum() / n - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    assert out.uns["inject_zeros"] == {"share": 0.3, "layer": "counts", "n_genes": len(chosen)}


def test_inject_zeros_same_result_for_any_way_of_naming_genes():
    sparse, dense = _control_data(False), _control_data(True)
    names = ["gene3", "gene7", "gene11"]
    positions = [3, 7, 11]
    mask = np.isin(np.arange(sparse.n_vars), positions)
    reference = inject_zeros(sparse, names, random_state=2).layers["counts"].toarray()
    for adata, genes in [
        (dense, names),
        (sparse, positions),
        (sparse, mask),
        (sparse, sparse.var_names[mask]),
    ]:
        np.testing.assert_array_equal(
            _as_array(inject_zeros(adata, genes, random_state=2).layers["counts"]), reference
        )
    assert not np.array_equal(
        inject_zeros(sparse, names, random_state=3).layers["counts"].toarray(), reference
    )
    single = inject_zeros(sparse, "gene3", random_state=2)
    assert single.var["zeros_injected"].sum() == 1


def test_inject_zeros_into_x():
    adata = _control_data(False)
    out = inject_zeros(adata, ["gene0"], share=0.5, layer=None)
    assert (out.X[:, 0] != adata.X[:, 0]).nnz > 0
    np.testing.assert_array_equal(out.layers["counts"].toarray(), adata.layers["counts"].toarray())
    assert out.uns["inject_zeros"]["layer"] == "X"
    twice = inject_zeros(out, ["gene1"], layer=None)
    assert list(twice.var_names[twice.var["zeros_injected"]]) == ["gene0", "gene1"]


def test_inject_zeros_refuses_bad_input():
    adata = _control_data(False)
    with pytest.raises(ValueError, match=r"not in adata.var_names: 'CD3E', 'nope'"):
        inject_zeros(adata, ["gene1", "CD3E", "nope"])
    for share in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ValueError, match="share"):
            inject_zeros(adata, ["gene1"], share=share)
    with pytest.raises(ValueError, match=r"Layer 'raw' not found; available layers: \['counts'\]"):
        inject_zeros(adata, ["gene1"], layer="raw")
    with pytest.raises(ValueError, match="40 entries"):
        inject_zeros(adata, np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="outside"):
        inject_zeros(adata, [0, 40])
    with pytest.raises(ValueError, match="at least one gene"):
        inject_zeros(adata, [])
    with pytest.raises(ValueError, match="no gene"):
        inject_zeros(adata, np.zeros(adata.n_vars, dtype=bool))


def _zeroed_share(before, after, gene):
    """Share of a gene's non-zero entries that became 0, and how many non-zero entries it had."""
    nonzero = before[:, gene] > 0
    return (after[nonzero, gene] == 0).mean(), nonzero.sum()


@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
def test_inject_zeros_draws_each_genes_share_from_a_range(dense):
    adata = _control_data(dense)
    before = _as_array(adata.layers["counts"]).copy()
    chosen = np.arange(0, adata.n_vars, 2)
    out = inject_zeros(adata, chosen, share=(0.1, 0.6), random_state=4)
    np.testing.assert_array_equal(_as_array(adata.layers["counts"]), before)
    assert "injected_share" not in adata.var
    recorded = out.var["injected_share"].to_numpy()
    mask = out.var["zeros_injected"].to_numpy()
    assert list(np.flatnonzero(mask)) == list(chosen)
    assert (recorded[~mask] == 0).all() and ((recorded[mask] >= 0.1) & (recorded[mask] <= 0.6)).all()
    assert recorded[mask].max() - recorded[mask].min() > 0.2  # one share per gene, not one for all
    # Each gene loses its own share of its non-zero counts (within 4 binomial sd); the others none.
    after = _as_array(out.layers["counts"])
    for gene in chosen:
        realised, n = _zeroed_share(before, after, gene)
        share = recorded[gene]
        assert abs(realised - share) < 4 * np.sqrt(share * (1 - share) / n), (gene, realised, share)
    np.testing.assert_array_equal(after[:, ~mask], before[:, ~mask])
    assert out.uns["inject_zeros"] == {"share": [0.1, 0.6], "layer": "counts", "n_genes": len(chosen)}
    # Dense and sparse matrices, and a seed or its generator, give the same result.
    again = inject_zeros(
        _control_data(not dense), chosen, share=(0.1, 0.6), random_state=np.random.default_rng(4)
    )
    np.testing.assert_array_equal(_as_array(again.layers["counts"]), after)
    np.testing.assert_array_equal(again.var["injected_share"], recorded)


def test_inject_zeros_records_the_shares_of_every_call():
    adata = _control_data(False)
    first = inject_zeros(adata, ["gene0", "gene1"], share=0.3, random_state=1)
    assert first.var["injected_share"].tolist()[:3] == [0.3, 0.3, 0.0]
    second = inject_zeros(first, ["gene1", "gene2"], share=(0.2, 0.4), random_state=2)
    shares = second.var["injected_share"].to_numpy()
    # Kept from the first call; drawn for the new gene; combined for the gene chosen twice.
    assert shares[0] == 0.3 and 0.2 <= shares[2] <= 0.4
    drawn = inject_zeros(adata, ["gene1", "gene2"], share=(0.2, 0.4), random_state=2).var["injected_share"]
    assert shares[1] == pytest.approx(1 - (1 - 0.3) * (1 - drawn.iloc[1]))
    assert (shares[3:] == 0).all() and second.var["zeros_injected"].sum() == 3


def test_inject_zeros_refuses_bad_ranges():
    adata = _control_data(False)
    for share in [(0.0, 0.5), (0.3, 1.0), (0.6, 0.2), (-0.1, 0.2)]:
        with pytest.raises(ValueError, match=r"share must be a \(low, high\) range with 0 < low <= high < 1"):
            inject_zeros(adata, ["gene1"], share=share)
    for share in [(0.1, 0.2, 0.3), [0.2], ("a", "b")]:
        with pytest.raises(ValueError, match=r"share must be a probability or a \(low, high\) range"):
            inject_zeros(adata, ["gene1"], share=share)
    with pytest.raises(ValueError, match="share must be strictly between 0 and 1"):
        inject_zeros(adata, ["gene1"], share="0.3")


# --- add_zero_inflation ----------------------------------------------------------------------


def _null_data():
    """NB counts without zero inflation, 5 spike-ins and 3 genes without any count."""
    adata = simulate_nb(
        n_cells=1500, n_genes=60, zi_share=0.0, mean_range=(1.0, 20.0), n_spike_ins=5, seed=10
    )
    counts = adata.layers["counts"].toarray()
    counts[:, [0, 1, 2]] = 0
    adata.layers["counts"] = sp.csr_matrix(counts)
    return adata


def test_add_zero_inflation_picks_disjoint_groups_and_records_the_truth():
    adata = _null_data()
    before = adata.layers["counts"].toarray()
    before_x, before_var = adata.X.copy(), adata.var.copy()
    out = add_zero_inflation(adata, [(0.25, 0.3), (0.2, (0.1, 0.5))], seed=1)
    # The input is untouched.
    np.testing.assert_array_equal(adata.layers["counts"].toarray(), before)
    assert (adata.X != before_x).nnz == 0 and adata.var.equals(before_var)
    var = out.var
    zi, dropout = var["zi_true"].to_numpy(), var["dropout"].to_numpy()
    # 57 candidates (60 genes, 3 without counts, spike-ins never): round(14.25) and round(11.4) genes.
    assert out.uns["add_zero_inflation"]["n_genes"] == [14, 11]
    fixed, ranged = zi & (dropout == 0.3), zi & (dropout != 0.3)
    assert fixed.sum() == 14 and ranged.sum() == 11 and zi.sum() == 25  # disjoint groups
    assert ((dropout[ranged] >= 0.1) & (dropout[ranged] <= 0.5)).all() and np.ptp(dropout[ranged]) > 0.1
    assert (dropout[~zi] == 0).all() and not zi[:3].any() and not (zi & var["spike_in"].to_numpy()).any()
    assert out.uns["add_zero_inflation"]["groups"] == [[0.25, 0.3], [0.2, [0.1, 0.5]]]
    # Only the chosen genes lose counts, each about its dropout of its non-zero entries; X is as it was.
    before = before[np.isin(adata.obs_names, out.obs_names)]
    after = out.layers["counts"].toarray()
    np.testing.assert_array_equal(after[:, ~zi], before[:, ~zi])
    np.testing.assert_array_equal(
        out.X.toarray(), before_x.toarray()[np.isin(adata.obs_names, out.obs_names)]
    )
    for gene in np.flatnonzero(zi):
        realised, n = _zeroed_share(before, after, gene)
        assert abs(realised - dropout[gene]) < 4 * np.sqrt(dropout[gene] * (1 - dropout[gene]) / n)
    # The same seed gives the same data; another seed other genes.
    again = add_zero_inflation(adata, [(0.25, 0.3), (0.2, (0.1, 0.5))], seed=1)
    np.testing.assert_array_equal(again.layers["counts"].toarray(), after)
    other = add_zero_inflation(adata, [(0.25, 0.3), (0.2, (0.1, 0.5))], seed=2)
    assert not np.array_equal(other.var["zi_true"], var["zi_true"])


def test_add_zero_inflation_replaces_the_truth_and_drops_emptied_cells():
    adata = simulate_nb(n_cells=300, n_genes=20, zi_share=0.5, mean_range=(0.05, 0.3), seed=3)
    assert adata.var["zi_true"].any()
    out = add_zero_inflation(adata, [(1.0, 0.9)], layer=None, seed=0)
    expressed = np.asarray(adata.X.sum(axis=0)).ravel() > 0
    np.testing.assert_array_equal(out.var["zi_true"], expressed)
    np.testing.assert_array_equal(out.var["dropout"], np.where(expressed, 0.9, 0.0))
    # Cells left without counts in X are dropped, and counted.
    totals = np.asarray(out.X.sum(axis=1)).ravel()
    assert (totals > 0).all() and out.n_obs < adata.n_obs
    assert out.uns["add_zero_inflation"]["n_cells_dropped"] == adata.n_obs - out.n_obs
    assert out.uns["add_zero_inflation"]["layer"] == "X"
    none = add_zero_inflation(adata, [(0.0, 0.3)])
    assert not none.var["zi_true"].any() and (none.var["dropout"] == 0).all()


def test_add_zero_inflation_refuses_bad_groups():
    adata = _null_data()
    with pytest.raises(ValueError, match=r"groups\[1\] asks for 28 genes .* only 14 remain"):
        add_zero_inflation(adata, [(0.75, 0.3), (0.5, 0.3)])
    for share in (1.2, -0.1):
        with pytest.raises(ValueError, match=r"groups\[0\] share_of_genes must be in \[0, 1\]"):
            add_zero_inflation(adata, [(share, 0.3)])
    for dropout in (0.0, 1.0, (0.5, 0.2), (0.0, 0.3)):
        with pytest.raises(ValueError, match=r"groups\[0\] dropout must be"):
            add_zero_inflation(adata, [(0.3, dropout)])
    for group in ((0.3,), 0.3, (0.1, 0.2, 0.3)):
        with pytest.raises(ValueError, match=r"groups\[0\] must be a \(share_of_genes, dropout\) pair"):
            add_zero_inflation(adata, [group])
    with pytest.raises(ValueError, match="Layer 'raw' not found"):
        add_zero_inflation(adata, [(0.3, 0.3)], layer="raw")


# --- every simulator: reproducible, one shared set-up ------------------------------------------


def _small_pln():
    rng = np.random.default_rng(0)
    loadings = rng.normal(0.0, 0.3, size=(6, 6))
    covariance = loadings @ loadings.T + 0.1 * np.eye(6)
    return PLNParameters(means=(np.zeros(6), np.ones(6)), covariances=(covariance, covariance))


SIMULATORS = {
    "pln": lambda seed: simulate_pln(_small_pln(), n_cells=300, seed=seed),
    "nb": lambda seed: simulate_nb(
        n_cells=300,
        n_genes=40,
        n_spike_ins=4,
        n_batches=2,
        dispersion_sd_by_type=1.0,
        keep_means=True,
        seed=seed,
    ),
    "hidden": lambda seed: simulate_hidden_states(n_cells=300, n_genes=40, n_spike_ins=4, seed=seed),
    "bursty": lambda seed: simulate_bursty(n_cells=300, n_genes=40, seed=seed),
    "trajectory": lambda seed: simulate_trajectory(
        n_cells=300, n_genes=40, n_spike_ins=4, keep_means=True, seed=seed
    ),
    "batches": lambda seed: simulate_batches(
        n_cells=300, n_genes=40, n_spike_ins=4, keep_means=True, seed=seed
    ),
}


def _same(first, second):
    """Whether two AnnData hold the same counts, layers, obs and var (values and column order)."""
    return (
        (first.X != second.X).nnz == 0
        and first.layers.keys() == second.layers.keys()
        and all(
            _as_array(first.layers[k]).tolist() == _as_array(second.layers[k]).tolist() for k in first.layers
        )
        and first.obs.equals(second.obs)
        and first.var.equals(second.var)
    )


@pytest.mark.parametrize("design", list(SIMULATORS))
def test_every_simulator_is_reproducible_and_packaged_alike(design):
    simulate = SIMULATORS[design]
    first = simulate(11)
    assert _same(first, simulate(11))
    other = simulate(12)
    assert first.shape != other.shape or not _same(first, other)
    # One packaging for all: counts in X and layers["counts"] (float32 CSR, whole numbers, no empty
    # cell), the truth columns first, spike-ins last and without zero inflation.
    counts = first.layers["counts"]
    assert sp.isspmatrix_csr(counts) and counts.dtype == np.float32 and (first.X != counts).nnz == 0
    dense = counts.toarray()
    np.testing.assert_array_equal(dense, np.round(dense))
    assert (dense.sum(axis=1) > 0).all()
    var = first.var
    assert list(var.columns[:3]) == ["zi_true", "dropout", "mean_true"]
    assert ((var["dropout"] > 0) <= var["zi_true"]).all()
    if "spike_in" in var:
        assert var.columns[-1] == "spike_in"
        spikes = var["spike_in"].to_numpy()
        assert all(name.startswith("ERCC-") for name in first.var_names[spikes])
        assert not var.loc[spikes, "zi_true"].any() and (var.loc[spikes, "dropout"] == 0).all()
        if "theta" in var:
            assert np.isinf(var.loc[spikes, "theta"]).all() and np.isfinite(var.loc[~spikes, "theta"]).all()
    if "mean_true" in first.layers:
        means = first.layers["mean_true"]
        assert means.dtype == np.float32 and means.shape == first.shape
        # Few cells are dropped, so the layer's mean over cells is the truth's.
        np.testing.assert_allclose(means.mean(axis=0), var["mean_true"], rtol=0.02)


def test_the_nb_designs_share_their_size_factors_and_dispersions():
    """simulate_nb, simulate_hidden_states and simulate_trajectory draw cells' size factors and genes'
    inverse dispersions from the same laws (log-normal: mean 1, sd 0.4; around 3, sd 0.5)."""
    designs = {
        "nb": simulate_nb(n_cells=4000, n_genes=400, n_cell_types=2, seed=21),
        "hidden": simulate_hidden_states(n_cells=4000, n_genes=400, n_cell_types=2, seed=22),
        "trajectory": simulate_trajectory(n_cells=4000, n_genes=400, seed=23),
        "batches": simulate_batches(n_cells=4000, n_genes=400, n_batches=1, seed=24),
    }
    for name, adata in designs.items():
        theta = np.log(adata.var["theta"].to_numpy())
        assert theta.mean() == pytest.approx(np.log(3.0), abs=0.08), name
        assert theta.std() == pytest.approx(0.5, abs=0.05), name
        if name == "batches":
            continue  # its size factors follow the batches' depths
        size = np.log(adata.obs["size_factor"].to_numpy())
        assert size.mean() == pytest.approx(-0.08, abs=0.02), name
        assert size.std() == pytest.approx(0.4, abs=0.02), name
    # Their spike-ins too: Poisson around a concentration in [0.1, 50] times the size factor.
    for name in ("nb", "trajectory", "batches"):
        adata = SIMULATORS[name](0)
        spikes = adata.var["spike_in"].to_numpy()
        concentration = adata.var.loc[spikes, "mean_true"] / adata.obs["size_factor"].mean()
        assert concentration.between(0.1 * 0.9, 50 * 1.1).all(), name
        counts = adata.layers["counts"][:, spikes].toarray()
        expected = np.outer(adata.obs["size_factor"], concentration)
        # Poisson: the variance equals the mean (pooled over cells and spike-ins).
        assert ((counts - expected) ** 2).sum() / expected.sum() == pytest.approx(1.0, abs=0.2), name


# --- positive_control -------------------------------------------------------------------------


def test_positive_control_makes_zero_inflation_common_at_two_sizes():
    from autozi_tutorial.simulation import CONTROL_SIZES, positive_control

    adata = simulate_nb(n_cells=2_000, n_genes=60, zi_share=0.0, mean_range=(2.0, 20.0), seed=4)
    before = adata.layers["counts"].copy()
    candidates = adata.var_names[10:40]
    control = positive_control(adata, candidates, random_state=1)
    assert (adata.layers["counts"] != before).nnz == 0  # the input is untouched
    size = control.var["injected_size"]
    assert (size == "strong").sum() == (size == "weak").sum() == 5  # a third of 30, halved
    assert control.var_names[size != "none"].isin(candidates).all()
    shares = control.var["injected_share"]
    assert (shares[size == "strong"] == CONTROL_SIZES["strong"]).all()
    low, high = CONTROL_SIZES["weak"]
    assert shares[size == "weak"].between(low, high).all() and (shares[size == "none"] == 0).all()
    # Every chosen gene lost about its share of non-zero counts.
    counts, original = control.layers["counts"].toarray(), before.toarray()
    for gene in np.flatnonzero(size != "none"):
        kept = (counts[:, gene] > 0).sum() / (original[:, gene] > 0).sum()
        assert 1 - kept == pytest.approx(shares.iloc[gene], abs=0.04)
    same = positive_control(adata, candidates, random_state=1)
    np.testing.assert_array_equal(same.layers["counts"].toarray(), counts)


def test_positive_control_refuses_an_empty_choice():
    from autozi_tutorial.simulation import positive_control

    adata = simulate_nb(n_cells=100, n_genes=10, seed=0)
    with pytest.raises(ValueError, match="No candidate gene"):
        positive_control(adata, [])
    with pytest.raises(ValueError, match="share_of_genes"):
        positive_control(adata, adata.var_names, share_of_genes=0.0)
    with pytest.raises(ValueError, match=r"not in adata\.var_names"):
        positive_control(adata, ["no such gene"])
