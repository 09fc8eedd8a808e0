"""The ZI test's calibration: the bootstrap's draws, the inflation factors, and the tool using them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

import autozi_tutorial as azt
from autozi_tutorial import cell_states
from autozi_tutorial.lrt import boundary_lrt_pvalue, converged_pvalues
from autozi_tutorial.tl._calibration import (
    CLEAR_EVIDENCE,
    EMPIRICAL_MIN_GENES,
    NULL_QUANTILE_95,
    empirical_inflation,
    inflation_factor,
    null_counts,
)


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


def test_the_empirical_null_leaves_clearly_zero_inflated_genes_out():
    rng = np.random.default_rng(4)
    # 400 null genes with statistics 1.5 x the boundary null, 200 zero-inflated with large ones.
    null = 1.5 * _boundary_null(400, rng)
    zero_inflated = rng.uniform(CLEAR_EVIDENCE, 500.0, 200)
    statistics = np.concatenate([null, zero_inflated])
    expressed = np.full(statistics.size, 5.0)
    factor, used = empirical_inflation(statistics, expressed)
    assert used == int((null < CLEAR_EVIDENCE).sum()) and factor == pytest.approx(1.5, rel=0.15)
    # Read over every gene, the zero-inflated ones would make the factor many times too large.
    assert inflation_factor(statistics, expressed)[0] > 5.0


def test_the_empirical_null_needs_enough_genes():
    rng = np.random.default_rng(5)
    few = 3.0 * _boundary_null(EMPIRICAL_MIN_GENES - 1, rng)
    assert empirical_inflation(few, np.full(few.size, 5.0)) == (1.0, few.size)
    enough = 3.0 * _boundary_null(EMPIRICAL_MIN_GENES, rng)
    assert empirical_inflation(enough, np.full(enough.size, 5.0))[0] > 1.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration": "permutation"}, "calibration must be one of"),
        ({"calibration": "bootstrap", "cell_state_means": "library_size"}, "none to learn"),
        ({"calibration": "bootstrap+empirical", "cell_state_means": "library_size"}, "none to learn"),
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
    assert result.uns["zi_test"]["calibration"] == {"method": "none"}
    np.testing.assert_array_equal(
        result.var["zi_test_pvalue"], boundary_lrt_pvalue(result.var["zi_test_statistic"].to_numpy())
    )


def test_the_empirical_null_alone_needs_no_second_training(counts_adata, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained a cell-state model")

    monkeypatch.setattr(cell_states, "fit", refuse)
    result = azt.tl.zi_test(
        counts_adata,
        layer="counts",
        labels_key="cell_type",
        cell_state_means="library_size",
        calibration="empirical",
        copy=True,
    )
    settings = result.uns["zi_test"]["calibration"]
    assert settings["method"] == "empirical" and "bootstrap" not in settings
    assert settings["inflation"] == settings["empirical"]["inflation"] >= 1.0
    assert settings["inflation_by_label"] == 1.0  # no empirical factor per type
    table = azt.get.zi_test_df(result)
    statistics = np.where(table["converged"], table["statistic"], np.nan)
    expected = empirical_inflation(statistics, table["mean_count"])
    assert (settings["inflation"], settings["empirical"]["n_genes"]) == pytest.approx(expected)
    np.testing.assert_allclose(
        table["pvalue"], boundary_lrt_pvalue(table["statistic"].to_numpy() / settings["inflation"])
    )


@pytest.fixture(scope="module")
def calibrated():
    """The tool, calibrated, on null counts: 1,000 cells x 300 genes in 3 types, no zero inflation."""
    adata = azt.simulate_nb(n_cells=1_000, n_genes=300, zi_share=0.0, seed=3)
    azt.tl.zi_test(adata, layer="counts", labels_key="cell_type", accelerator="cpu", random_state=0)
    return adata


def test_the_tool_divides_the_statistics_by_the_larger_factor(calibrated):
    settings = calibrated.uns["zi_test"]["calibration"]
    assert settings["method"] == calibrated.uns["zi_test"]["params"]["calibration"] == "bootstrap+empirical"
    parts = [settings["bootstrap"]["inflation"], settings["empirical"]["inflation"]]
    assert min(parts) >= 1.0 and settings["inflation"] == max(parts)
    # Per type, the bootstrap's factor alone.
    assert "inflation_by_label" not in settings["empirical"]
    assert settings["inflation_by_label"] == settings["bootstrap"]["inflation_by_label"] >= 1.0
    assert 20 <= settings["bootstrap"]["n_genes"] <= calibrated.n_vars
    # Enough genes for the empirical null to be read at all (else its factor is 1 by rule).
    assert EMPIRICAL_MIN_GENES <= settings["empirical"]["n_genes"] <= calibrated.n_vars
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


def _benchmark(name: str):
    """A script of ``benchmarks/`` as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_recalibrates_stored_runs_as_the_tool_calibrates():
    """``evaluate_calls.py --recalibrate``: a run calibrated by the bootstrap alone gets the larger factor."""
    evaluate_calls = _benchmark("evaluate_calls")
    rng = np.random.default_rng(6)
    n_null, n_zi = 300, 60
    raw = np.concatenate([1.6 * _boundary_null(n_null, rng), rng.uniform(30.0, 200.0, n_zi)])
    converged = np.ones(raw.size, dtype=bool)
    converged[0] = False
    bootstrap = 1.2
    table = pd.DataFrame(
        {
            "zi_true": np.arange(raw.size) >= n_null,
            "spike_in": False,
            "mean_counts": 3.0,
            "zi_test_raw_score": -np.log10(converged_pvalues(raw, converged)),
            "zi_test_raw_converged": converged,
            "zi_test_score": -np.log10(converged_pvalues(raw, converged, bootstrap)),
            "zi_test_converged": converged,
            "zi_test_qvalue": 1.0,
            "zi_test_call": False,
        },
        index=[f"gene{i}" for i in range(raw.size)],
    )
    table[["zi_test_raw_score", "zi_test_score"]] = table[["zi_test_raw_score", "zi_test_score"]].fillna(0.0)
    recalibrated, factors = evaluate_calls.recalibrate(table)
    part = factors["0.0"]
    assert part["bootstrap"] == pytest.approx(bootstrap, rel=1e-6)
    empirical, _ = empirical_inflation(np.where(converged, raw, np.nan), table["mean_counts"])
    assert part["empirical"] == pytest.approx(empirical, rel=1e-6)
    assert part["empirical"] > bootstrap  # so the empirical factor is the one applied
    expected = converged_pvalues(raw, converged, part["empirical"])
    np.testing.assert_allclose(10.0 ** -recalibrated["zi_test_score"].to_numpy()[1:], expected[1:], rtol=1e-6)
    assert recalibrated["zi_test_call"].to_numpy()[n_null:].all()
    # A pooled design: each part (replicate) gets its own factors and its own q-values.
    second = table.assign(zi_test_score=-np.log10(converged_pvalues(raw, converged, 3.0))).fillna(0.0)
    parts = {"a": table, "b": second}
    pooled = pd.concat([part.rename(index=lambda g, n=name: f"{n}:{g}") for name, part in parts.items()])
    pooled_recalibrated, pooled_factors = evaluate_calls.recalibrate(pooled)
    assert pooled_factors["a"]["bootstrap"] == pytest.approx(bootstrap, rel=1e-6)
    assert pooled_factors["b"]["bootstrap"] == pytest.approx(3.0, rel=1e-6)
    first_part = pooled_recalibrated.loc[[f"a:{gene}" for gene in table.index], "zi_test_score"]
    np.testing.assert_allclose(first_part, recalibrated["zi_test_score"])
    # The former columns are kept; a table is recalibrated once.
    np.testing.assert_array_equal(recalibrated["zi_test_bootstrap_score"], table["zi_test_score"])
    with pytest.raises(ValueError, match="already recalibrated"):
        evaluate_calls.recalibrate(recalibrated)
