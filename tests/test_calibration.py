"""The ZI test's calibration: the bootstrap's draws, the inflation factors, and the tool using them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.lrt import boundary_lrt_pvalue
from autozi_tutorial.tl._calibration import NULL_QUANTILE_95, inflation_factor, null_counts


def _boundary_null(n: int, rng: np.random.Generator) -> np.ndarray:
    """Statistics from 0.5 chi2(0) + 0.5 chi2(1)."""
    return np.where(rng.random(n) < 0.5, 0.0, chi2.rvs(1, size=n, random_state=rng))


def test_the_boundary_null_quantile():
    # 0.5 chi2(0) + 0.5 chi2(1) exceeds it with probability 0.05.
    assert 0.5 * chi2.sf(NULL_QUANTILE_95, df=1) == pytest.approx(0.05)


def test_null_counts_follow_the_fitted_negative_binomial():
    rng = np.random.default_rng(0)
    n_cells = 20_000
    means = np.tile([[0.5, 4.0, 4.0, 2.0, 0.0]], (n_cells, 1))
    dispersions = np.array([[2.0, 1.0], [5.0, 0.5], [5.0, 5.0], [np.nan, np.nan], [np.nan, np.nan]])
    groups = np.arange(n_cells) % 2
    counts = null_counts(means, dispersions, groups, rng)
    assert counts.shape == means.shape and counts.dtype == np.float32
    for gene in range(3):
        for group in (0, 1):
            draws = counts[groups == group, gene].astype(np.float64)
            mean, theta = means[0, gene], dispersions[gene, group]
            assert draws.mean() == pytest.approx(mean, rel=0.05)
            # NB variance mu + mu^2 / theta: each cell's dispersion group is used.
            assert draws.var() == pytest.approx(mean + mean**2 / theta, rel=0.1)
    # An unfitted gene gets Poisson counts; a gene without counts stays without.
    assert counts[:, 3].var() == pytest.approx(2.0, rel=0.1)
    assert not counts[:, 4].any()


def test_null_counts_are_the_same_drawn_in_blocks(monkeypatch):
    """Blocks of cells only bound memory: the draws are those of one block of all cells."""
    from autozi_tutorial.tl import _calibration

    rng = np.random.default_rng(3)
    means = rng.gamma(1.0, 3.0, size=(1_000, 7))
    means[5, 2] = np.nan  # a gene without a fit in a cell
    dispersions = np.column_stack([rng.uniform(0.2, 5.0, 7), np.r_[np.nan, rng.uniform(0.2, 5.0, 6)]])
    groups = np.arange(1_000) % 2
    drawn = {}
    for block in (1_000, 97):
        monkeypatch.setattr(_calibration, "DRAW_BLOCK_CELLS", block)
        drawn[block] = null_counts(means, dispersions, groups, np.random.default_rng(11))
    np.testing.assert_array_equal(drawn[1_000], drawn[97])


def test_inflation_factor_measures_how_far_statistics_exceed_the_null():
    rng = np.random.default_rng(1)
    null = _boundary_null(4_000, rng)
    expressed = np.full(null.size, 5.0)
    factor, used = inflation_factor(null, expressed)
    assert factor == pytest.approx(1.0, abs=0.1) and used == null.size
    inflated, _ = inflation_factor(2.0 * null, expressed)
    assert inflated == pytest.approx(2.0, rel=0.1)
    # Never below 1: a pipeline that is conservative keeps its p-values.
    assert inflation_factor(0.5 * null, expressed)[0] == 1.0


def test_inflation_factor_reads_the_expressed_genes_when_there_are_enough():
    rng = np.random.default_rng(2)
    statistics = np.concatenate([3.0 * _boundary_null(500, rng), _boundary_null(500, rng), [np.nan]])
    mean_counts = np.concatenate([np.full(500, 2.0), np.full(500, 0.1), [3.0]])
    factor, used = inflation_factor(statistics, mean_counts)
    assert used == 500 and factor == pytest.approx(3.0, rel=0.15)
    # Fewer than MIN_GENES expressed: every tested gene counts.
    few = mean_counts.copy()
    few[10:500] = 0.1
    assert inflation_factor(statistics, few)[1] == 1_000
    assert inflation_factor(np.full(3, np.nan), np.ones(3)) == (1.0, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration": "permutation"}, "calibration must be one of"),
        ({"calibration": "bootstrap", "cell_state_means": "library_size"}, "none to learn"),
        ({"calibration": "bootstrap+empirical"}, "calibration must be one of"),
    ],
)
def test_unusable_calibrations_are_refused_before_training(counts_adata, monkeypatch, kwargs, message):
    def refuse(*args, **kwargs):
        raise AssertionError("trained before checking")

    monkeypatch.setattr(cell_states, "fit", refuse)
    with pytest.raises(ValueError, match=message):
        azt.tl.zi_test(counts_adata, layer="counts", **kwargs)


def test_given_means_are_not_recalibrated(counts_adata):
    result = azt.tl.zi_test(counts_adata, layer="counts", cell_state_means="library_size", copy=True)
    assert result.uns["zi_test"]["calibration"] == {"method": "none", "called_share": 0.0}
    np.testing.assert_array_equal(
        result.var["zi_test_pvalue"], boundary_lrt_pvalue(result.var["zi_test_statistic"].to_numpy())
    )


@pytest.fixture(scope="module")
def calibrated():
    """The tool with its bootstrap on null counts: 1,000 cells x 300 genes in 3 types, no zero inflation."""
    adata = azt.simulate_nb(n_cells=1_000, n_genes=300, zi_share=0.0, seed=3)
    azt.tl.zi_test(
        adata,
        layer="counts",
        labels_key="cell_type",
        calibration="bootstrap",
        accelerator="cpu",
        random_state=0,
    )
    return adata


@pytest.mark.parametrize(("min_genes", "method", "trainings"), [(10, "none", 1), (1_000, "bootstrap", 2)])
def test_the_default_calibration_follows_the_cell_state_model(
    counts_adata, monkeypatch, min_genes, method, trainings
):
    """Genes held out from the encoder: the statistics as they are, one training. Too few genes
    to hold any out (30 here, against the threshold): the bootstrap, a second training."""
    fits, real_fit = [], cell_states.fit

    def counted_fit(*args, **kwargs):
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(cell_states, "fit", counted_fit)
    monkeypatch.setattr(cell_states, "MIN_GENES_HELD_OUT", min_genes)
    monkeypatch.setitem(cell_states.TRAINING, "max_epochs", 2)
    result = azt.tl.zi_test(counts_adata, layer="counts", copy=True, accelerator="cpu")
    assert len(fits) == trainings
    assert result.uns["zi_test"]["params"]["calibration"] == method
    assert result.uns["zi_test"]["cell_state_model"]["held_out_folds"] == (2 if method == "none" else 0)
    if method == "bootstrap":
        return
    assert set(result.uns["zi_test"]["calibration"]) == {"method", "called_share"}
    table = azt.get.zi_test_df(result)
    converged = table["converged"].to_numpy()
    np.testing.assert_array_equal(
        table["pvalue"][converged], boundary_lrt_pvalue(table["statistic"].to_numpy()[converged])
    )


def test_the_tool_divides_the_statistics_by_the_bootstraps_factors(calibrated):
    settings = calibrated.uns["zi_test"]["calibration"]
    assert settings["method"] == calibrated.uns["zi_test"]["params"]["calibration"] == "bootstrap"
    bootstrap = settings["bootstrap"]
    assert settings["inflation"] == bootstrap["inflation"] >= 1.0
    assert settings["inflation_by_label"] == bootstrap["inflation_by_label"] >= 1.0
    assert settings["acted"] == ("bootstrap" if settings["inflation"] > 1.0 else "none")
    assert 20 <= bootstrap["n_genes"] <= calibrated.n_vars and "reused" not in bootstrap
    table = azt.get.zi_test_df(calibrated)
    expected = boundary_lrt_pvalue(table["statistic"].to_numpy() / settings["inflation"])
    np.testing.assert_allclose(table["pvalue"], expected)


def test_null_genes_keep_the_nominal_rate(calibrated):
    """Seeded: on counts without zero inflation, p < 0.05 for about 5% of expressed genes and no call."""
    table = azt.get.zi_test_df(calibrated)
    expressed = table["mean_count"] > 1
    share = float((table.loc[expressed, "pvalue"] < 0.05).mean())
    # 5% nominal; the bound leaves room for the binomial noise of ~140 genes (2 standard errors).
    assert share <= 0.09, share
    assert not table["call"].any()
    by_type = azt.get.zi_test_df(calibrated, by_label=True)
    assert not by_type["call"].any()


def test_the_draws_keep_every_cell_and_leave_unconverged_fits_out():
    from anndata import AnnData

    from autozi_tutorial.lrt import NullFit
    from autozi_tutorial.tl._zi_test import _converged_statistics, _null_draws

    n_cells = 50
    means = np.full((n_cells, 3), 5.0)
    means[0] = 0.05  # a low-depth cell: most draws leave it without counts
    fit = NullFit(means, np.full((3, 1), 2.0), ["all cells"])
    cells = AnnData(np.ones((n_cells, 3), dtype=np.float32))
    draws = _null_draws(cells, fit, None, None, random_state=0)
    assert draws.n_obs == n_cells and (np.asarray(draws.X.sum(axis=1)).ravel() > 0).all()
    table = pd.DataFrame({"statistic": [3.0, 40.0], "converged": [True, False]})
    np.testing.assert_array_equal(_converged_statistics(table), [3.0, np.nan])


def test_common_zero_inflation_is_said_in_plain_words():
    common = azt.simulate_nb(n_cells=1_500, n_genes=100, zi_share=0.6, dropout=0.4, keep_means=True, seed=5)
    with pytest.warns(UserWarning, match="zero inflation is common in these data") as caught:
        azt.tl.zi_test(common, layer="counts", labels_key="cell_type", cell_state_means="mean_true")
    assert "autozi_tutorial" not in str(caught[0].message)  # no file paths in the words
    assert common.uns["zi_test"]["calibration"]["called_share"] >= 0.2
    rare = azt.simulate_nb(n_cells=1_500, n_genes=100, zi_share=0.0, keep_means=True, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        azt.tl.zi_test(rare, layer="counts", labels_key="cell_type", cell_state_means="mean_true")
        # With library sizes only, cell states are left out on purpose: many calls, no warning.
        azt.tl.zi_test(common, layer="counts", labels_key="cell_type", cell_state_means="library_size")
    assert rare.uns["zi_test"]["calibration"]["called_share"] < 0.2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bootstrap": {"inflation": 1.2}, "calibration": "none"}, "does not use"),
        ({"bootstrap": {"inflation": 0.5}, "calibration": "bootstrap"}, "at least 1"),
        (
            {"bootstrap": {"inflation": 1.2}, "labels_key": "cell_type", "calibration": "bootstrap"},
            "inflation_by_label",
        ),
        ({"bootstrap": 1.2, "calibration": "bootstrap"}, "earlier run"),
    ],
)
def test_a_reused_bootstrap_is_checked_before_training(counts_adata, monkeypatch, kwargs, message):
    def refuse(*args, **kwargs):
        raise AssertionError("trained before checking")

    monkeypatch.setattr(cell_states, "fit", refuse)
    with pytest.raises(ValueError, match=message):
        azt.tl.zi_test(counts_adata, layer="counts", **kwargs)


def test_a_reused_bootstrap_saves_the_second_training(calibrated, monkeypatch):
    fits, real_fit = [], cell_states.fit

    def counted_fit(*args, **kwargs):
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(cell_states, "fit", counted_fit)
    # What is checked is how often the model trains, not what it learns: a short training will do.
    monkeypatch.setitem(cell_states.TRAINING, "max_epochs", 2)
    bootstrap = calibrated.uns["zi_test"]["calibration"]["bootstrap"]
    again = azt.tl.zi_test(
        calibrated,
        layer="counts",
        labels_key="cell_type",
        calibration="bootstrap",
        bootstrap=bootstrap,
        copy=True,
        accelerator="cpu",
    )
    assert len(fits) == 1
    settings = again.uns["zi_test"]["calibration"]
    assert settings["bootstrap"]["reused"] and settings["bootstrap"]["inflation"] == bootstrap["inflation"]
    assert settings["inflation"] == bootstrap["inflation"]
    assert settings["inflation_by_label"] == bootstrap["inflation_by_label"]
