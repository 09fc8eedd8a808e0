import numpy as np
import pandas as pd
import pytest

from autozi_tutorial import cell_states
from autozi_tutorial.evaluation import (
    METHODS,
    add_test_columns,
    call_metrics,
    evaluate_methods,
    roc_points,
    score_simulated_genes,
)
from autozi_tutorial.simulation import simulate_nb


def test_call_metrics_hand_computed():
    truth = np.array([True, True, True, False, False])
    called = np.array([True, True, False, True, False])
    score = np.array([0.9, 0.8, 0.3, 0.7, 0.1])
    metrics = call_metrics(truth, called, score)
    assert metrics["tpr"] == pytest.approx(2 / 3)
    assert metrics["fpr"] == pytest.approx(1 / 2)
    assert metrics["precision"] == pytest.approx(2 / 3)
    # Pairs (positive, negative) ranked correctly: 0.9, 0.8 beat both; 0.3 beats only 0.1 -> 5/6.
    assert metrics["roc_auc"] == pytest.approx(5 / 6)
    assert 0 < metrics["pr_auc"] <= 1


def test_call_metrics_empty_denominators_are_nan():
    metrics = call_metrics(np.zeros(3, bool), np.zeros(3, bool), np.arange(3.0))
    assert np.isnan(metrics["tpr"]) and np.isnan(metrics["precision"]) and np.isnan(metrics["roc_auc"])
    assert metrics["fpr"] == 0


def test_evaluate_methods_by_bin():
    table = pd.DataFrame(
        {
            "zi_true": [True, False, True, False],
            "call": [True, True, False, False],
            "score": [0.9, 0.6, 0.4, 0.1],
            "mean_count": [0.05, 0.05, 5.0, 5.0],
        }
    )
    result = evaluate_methods(table, {"m": ("call", "score")}, bins=(0, 1, np.inf)).set_index(
        "expression_bin"
    )
    assert list(result.index) == ["all", "[0.0, 1.0)", "[1.0, inf)"]
    assert result.loc["[0.0, 1.0)", "fpr"] == 1.0 and result.loc["[1.0, inf)", "tpr"] == 0.0
    assert result.loc["all", "n_genes"] == 4


def test_roc_points_span_the_square():
    points = roc_points([True, False, True], [0.9, 0.5, 0.2], "m")
    assert points[["fpr", "tpr"]].iloc[-1].tolist() == [1.0, 1.0]
    assert (points["method"] == "m").all()


def test_seed_agreement_takes_the_worst_pair():
    from autozi_tutorial.evaluation import seed_agreement

    table = pd.DataFrame(
        {
            "autozi_prob_seed0": [0.9, 0.9, 0.1, 0.1],
            "autozi_prob_seed1": [0.9, 0.1, 0.1, 0.1],
            "autozi_prob_seed2": [0.1, 0.1, 0.9, 0.9],
        }
    )
    assert seed_agreement(table, [0, 1]) == 0.75
    assert seed_agreement(table, [0, 1, 2]) == 0.0
    assert np.isnan(seed_agreement(table, [0]))


def test_error_rate_summary_excludes_spike_ins_and_splits_by_expression():
    from autozi_tutorial.evaluation import error_rate_summary

    genes = pd.DataFrame(
        {
            "zi_true": [True, False, True, False, False],
            "spike_in": [False, False, False, False, True],
            "mean_count": [5.0, 5.0, 0.2, 0.2, 9.0],
            "call": [True, False, True, True, True],
        }
    )
    summary = error_rate_summary(genes, {"m": ("call", None)}).set_index("genes")
    assert summary.loc["all", "n_genes"] == 4  # the spike-in is left out
    assert summary.loc["all", "fpr"] == 0.5
    assert summary.loc["mean count > 1", "n_genes"] == 2
    assert summary.loc["mean count > 1", "fpr"] == 0.0


def test_unconverged_genes_rank_last_and_are_not_called():
    table = pd.DataFrame(index=["a", "b", "c"])
    result = pd.DataFrame(
        {
            "pvalue": [1e-12, np.nan, 0.5],
            "qvalue": [1e-11, np.nan, 0.5],
            "call": [True, False, False],
            "converged": [True, False, True],
        }
    )
    add_test_columns(table, "test", result)
    assert table["test_call"].tolist() == [True, False, False]
    np.testing.assert_allclose(table["test_score"], [12.0, 0.0, -np.log10(0.5)])
    assert table["test_converged"].tolist() == [True, False, True]
    metrics = call_metrics(np.array([True, True, False]), table["test_call"], table["test_score"])
    assert metrics["roc_auc"] == 0.5


def test_every_method_is_scored_through_the_tools(monkeypatch):
    """Each method of METHODS gets a boolean call and a finite score, from tl.autozi and tl.zi_test."""
    monkeypatch.setitem(cell_states.TRAINING, "max_epochs", 2)  # the everyday tier stays fast
    adata = simulate_nb(n_cells=300, n_genes=30, n_spike_ins=5, seed=0)
    before = adata.copy()
    table = score_simulated_genes(adata, max_epochs=2)
    assert list(adata.var.columns) == list(before.var.columns)  # the simulation is not modified
    for call, score in METHODS.values():
        assert table[call].dtype == bool
        if score is not None:
            assert np.isfinite(table[score]).all()
    for name in ("lrt_types", "zi_test"):
        np.testing.assert_array_equal(table[f"{name}_call"], table[f"{name}_qvalue"] < 0.05)
        assert table[f"{name}_converged"].dtype == bool
    np.testing.assert_array_equal(table["agreement_call"], table["autozi_call"] & table["zi_test_call"])
    rates = evaluate_methods(table, METHODS, bins=None)
    assert list(rates["method"]) == list(METHODS)
    # The same run before calibration: its statistics' boundary-null p-values, never smaller.
    assert (table["zi_test_raw_score"] >= table["zi_test_score"] - 1e-12).all()
    np.testing.assert_array_equal(table["zi_test_raw_call"], table["zi_test_raw_qvalue"] < 0.05)
    # Without AUTOZI, the tests' columns are the same (the same seeded cell-state model).
    tests_only = score_simulated_genes(adata, max_epochs=2, autozi=False)
    assert not [column for column in tests_only if "autozi_prob" in column or "autozi" in column]
    np.testing.assert_allclose(tests_only["zi_test_score"], table["zi_test_score"])
