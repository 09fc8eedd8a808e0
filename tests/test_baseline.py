import numpy as np
import pytest

from autozi_tutorial.baseline import benjamini_hochberg, boundary_lrt_pvalue, calibrated_call, zinb_lrt
from autozi_tutorial.simulation import simulate_nb


def test_benjamini_hochberg_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.5, np.nan])
    # Sorted 0.01, 0.03, 0.04, 0.5 times 4/rank: 0.04, 0.06, 0.0533, 0.5 -> running min from the top.
    expected = [0.04, 0.0533333, 0.0533333, 0.5, np.nan]
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-5)


def test_boundary_pvalue_halves_chi2():
    np.testing.assert_allclose(boundary_lrt_pvalue(np.array([0.0, 3.841459])), [1.0, 0.025], rtol=1e-5)


@pytest.fixture(scope="module")
def null_and_zinb():
    null = simulate_nb(n_cells=1500, n_genes=200, zi_share=0.0, n_spike_ins=20, seed=11)
    zinb = simulate_nb(n_cells=1500, n_genes=60, zi_share=1.0, dropout=0.3, mean_range=(2.0, 20.0), seed=12)
    return (
        zinb_lrt(null, labels_key="cell_type"),
        zinb_lrt(zinb, labels_key="cell_type"),
        null,
    )


def test_lrt_null_pvalues_are_calibrated(null_and_zinb):
    null_result, _, null = null_and_zinb
    p = null_result["lrt_pvalue"].to_numpy()
    # Under 0.5 chi2(0) + 0.5 chi2(1), about half the p-values are 1 and P(p < a) = a.
    assert 0.3 < (p == 1).mean() < 0.7
    assert (p < 0.1).mean() < 0.2
    assert (null_result["lrt_qvalue"] < 0.05).mean() <= 0.05
    assert not (null_result.loc[null.var["spike_in"].to_numpy(), "lrt_qvalue"] < 0.05).any()


def test_lrt_detects_clear_zero_inflation(null_and_zinb):
    _, zinb_result, _ = null_and_zinb
    assert (zinb_result["lrt_qvalue"] < 0.05).mean() >= 0.95
    assert zinb_result["zinb_pi"].median() == pytest.approx(0.3, abs=0.08)


def test_lrt_rejects_non_counts(counts_adata):
    counts_adata.layers["counts"][0, 0] = 0.5
    with pytest.raises(ValueError, match="non-integer"):
        zinb_lrt(counts_adata)


def test_calibrated_call_is_the_test_at_the_fdr():
    np.testing.assert_array_equal(calibrated_call(np.array([0.01, 0.05, 0.2])), [True, False, False])
    np.testing.assert_array_equal(calibrated_call(np.array([0.01, 0.05, 0.2]), fdr=0.1), [True, True, False])
    with pytest.raises(ValueError, match="fdr"):
        calibrated_call(np.array([0.01]), fdr=0.0)
