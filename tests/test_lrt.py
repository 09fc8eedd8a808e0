"""The NB-vs-ZINB test: exact fits checked against statsmodels, calibration, covariates, edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.special
import scipy.stats
import torch
from _reference import exact_log_likelihood
from anndata import AnnData
from scipy.special import gammaln

from autozi_tutorial.lrt import (
    _design,
    _solver,
    benjamini_hochberg,
    boundary_lrt_pvalue,
    boundary_lrt_statistic,
    converged_pvalues,
    dispersion_groups,
    zinb_lrt,
    zinb_lrt_by_label,
)
from autozi_tutorial.simulation import simulate_nb

sm = pytest.importorskip("statsmodels.api")
from statsmodels.discrete.count_model import (  # noqa: E402
    ZeroInflatedNegativeBinomialP,
    ZeroInflatedPoisson,
)

#: Our optimum may fall below the best statsmodels reaches by at most this (log-likelihood
#: units): theta stops at 6.6e7, short of the Poisson limit, which costs at most a few 1e-6 here.
NEVER_WORSE = 1e-5
N_CELLS = 600


def _design_of(adata: AnnData, labels_key: str, batch_key: str | None, dispersion: str) -> _design.Design:
    """The engine's design for obs columns (as zinb_lrt builds it)."""
    labels = pd.factorize(adata.obs[labels_key], sort=True)[0]
    batches = (
        np.zeros(adata.n_obs, int) if batch_key is None else pd.factorize(adata.obs[batch_key], sort=True)[0]
    )
    codes, names = dispersion_groups(adata, labels_key, batch_key, dispersion)
    return _design.build_design(labels, batches, codes if len(names) > 1 else None)


def _adata(counts: np.ndarray, obs: pd.DataFrame) -> AnnData:
    adata = AnnData(X=sp.csr_matrix(counts.astype(np.float32)), obs=obs)
    adata.layers["counts"] = adata.X.copy()
    return adata


@pytest.fixture(scope="module")
def reference_grid():
    """Genes over a grid of means, dispersions and zero inflation, with offsets and a covariate."""
    rng = np.random.default_rng(7)
    size = rng.lognormal(0.0, 0.4, N_CELLS)
    label = rng.integers(3, size=N_CELLS)
    grid, columns = [], []
    for mean in (0.05, 0.5, 5.0, 50.0, 1000.0):
        for theta in (0.3, 3.0, np.inf):
            for pi in (0.0, 0.3):
                mu = mean * size * np.exp(rng.normal(0.0, 0.5, 3))[label]
                y = rng.poisson(mu) if np.isinf(theta) else rng.negative_binomial(theta, theta / (theta + mu))
                columns.append(y * (rng.random(N_CELLS) >= pi))
                grid.append({"mean": mean, "theta": theta, "pi": pi})
    obs = pd.DataFrame({"type": pd.Categorical(label.astype(str))}, index=[f"c{i}" for i in range(N_CELLS)])
    adata = _adata(np.array(columns).T, obs)
    offsets = np.log(size)[:, None] * np.ones((1, adata.n_vars))
    # One dispersion per gene, as statsmodels' models have.
    result = zinb_lrt(adata, labels_key="type", offsets=offsets, dispersion="gene")
    return adata, offsets, pd.DataFrame(grid), result


def test_reference_likelihood_matches_scipy():
    """The independent scorer equals scipy's NB/Poisson pmfs where those are accurate."""
    rng = np.random.default_rng(4)
    exog = np.eye(2)[rng.integers(2, size=200)]
    offset, beta = rng.normal(0, 0.3, 200), np.array([0.5, 2.0])
    mu = np.exp(offset + exog @ beta)
    y = rng.poisson(mu)
    nbinom = scipy.stats.nbinom.logpmf(y, 2.5, 2.5 / (2.5 + mu))
    assert exact_log_likelihood(y, exog, offset, beta, 2.5) == pytest.approx(nbinom.sum(), rel=1e-12)
    poisson = scipy.stats.poisson.logpmf(y, mu).sum()
    assert exact_log_likelihood(y, exog, offset, beta, np.inf) == pytest.approx(poisson, rel=1e-12)
    zinb = np.where(y == 0, np.log(0.2 + 0.8 * np.exp(nbinom)), np.log(0.8) + nbinom).sum()
    assert exact_log_likelihood(y, exog, offset, beta, 2.5, 0.2) == pytest.approx(zinb, rel=1e-12)


def _statsmodels_best(y: np.ndarray, exog: np.ndarray, offset: np.ndarray) -> tuple[float, float]:
    """Best NB2 and ZINB (constant inflation) log-likelihoods statsmodels' optimisers reach.

    Each fit's parameters are scored with :func:`exact_log_likelihood`: near the Poisson limit
    statsmodels' own ZINB likelihood is off by up to 1e-4. Its optimisers fail on some genes
    (NaN, singular Hessians), so every start that fails is dropped. The Poisson and
    zero-inflated Poisson optima are the limits of infinite theta, and the NB optimum is the
    ZINB's limit of pi = 0: all count as candidates.
    """
    expit = scipy.special.expit

    def best_of(fits) -> float:
        values = []
        for fit in fits:
            try:
                value = fit()
            except (np.linalg.LinAlgError, ValueError):
                continue
            if np.isfinite(value):
                values.append(value)
        return max(values, default=-np.inf)

    inflation = np.ones((len(y), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group_means = (exog.T @ y + 0.1) / (exog.T @ np.exp(offset))
        poisson = sm.Poisson(y, exog, offset=offset).fit(
            start_params=np.log(group_means), disp=0, maxiter=100
        )
        nb_model = sm.NegativeBinomial(y, exog, offset=offset, loglike_method="nb2")
        zip_model = ZeroInflatedPoisson(y, exog, exog_infl=inflation, offset=offset)
        zinb_model = ZeroInflatedNegativeBinomialP(y, exog, exog_infl=inflation, offset=offset, p=2)

        def polished(model, start: np.ndarray) -> np.ndarray:
            # Near the Poisson limit the gradient methods stall; a simplex walk gets them going.
            walked = model.fit(start_params=start, disp=0, maxiter=500, method="nm")
            return model.fit(start_params=walked.params, disp=0, maxiter=300, method="bfgs").params

        def nb_score(params: np.ndarray) -> float:
            return exact_log_likelihood(y, exog, offset, params[:-1], 1 / params[-1])

        def zinb_score(params: np.ndarray) -> float:
            return exact_log_likelihood(y, exog, offset, params[1:-1], 1 / params[-1], expit(params[0]))

        zip_params = zip_model.fit(
            start_params=np.concatenate([[-1.0], poisson.params]), disp=0, maxiter=300
        ).params
        nb_llf = best_of(
            [
                lambda: exact_log_likelihood(y, exog, offset, poisson.params, np.inf),
                lambda: nb_score(nb_model.fit(disp=0, maxiter=500, method="bfgs").params),
                lambda: nb_score(polished(nb_model, np.concatenate([poisson.params, [0.1]]))),
            ]
        )
        starts = [np.concatenate([[s], poisson.params, [1.0]]) for s in (-3.0, 0.0)]
        starts += [np.concatenate([zip_params, [a]]) for a in (0.01, 0.1)]
        zinb_llf = best_of(
            [
                lambda: nb_llf,
                lambda: exact_log_likelihood(y, exog, offset, zip_params[1:], np.inf, expit(zip_params[0])),
            ]
            + [lambda s=s: zinb_score(polished(zinb_model, s)) for s in starts]
        )
    return nb_llf, zinb_llf


def test_log_likelihood_at_our_parameters_is_exact(reference_grid):
    """Our likelihood is scipy's at the parameters our fits return."""
    adata, offsets, grid, result = reference_grid
    counts = adata.layers["counts"].toarray().astype(np.float64)
    exog = pd.get_dummies(adata.obs["type"]).to_numpy(dtype=float)
    design = _design_of(adata, "type", None, "gene")
    columns, nb, zinb = _solver.test_chunk(
        torch.as_tensor(counts), torch.as_tensor(offsets), design, max_iter=200, tol=1e-8
    )
    # The public function reports exactly these fits.
    np.testing.assert_array_equal(columns["nb_log_lik"].numpy(), result["nb_log_lik"])
    np.testing.assert_array_equal(columns["zinb_log_lik"].numpy(), result["zinb_log_lik"])
    for g, spec in grid.iterrows():
        y, offset = counts[:, g], offsets[:, g]
        log_factorials = gammaln(y + 1).sum()
        nb_exact = exact_log_likelihood(y, exog, offset, nb.beta[:, g].numpy(), np.exp(nb.phi[0, g].item()))
        zinb_exact = exact_log_likelihood(
            y, exog, offset, zinb.beta[:, g].numpy(), np.exp(zinb.phi[0, g].item()), zinb.pi[g].item()
        )
        if result.at[g, "extra_zeros"] == 0:
            zinb_exact = nb_exact
        where = f"gene {g} {dict(spec)}"
        ours = result.loc[g, ["nb_log_lik", "zinb_log_lik"]].to_numpy(dtype=float) - log_factorials
        np.testing.assert_allclose(ours, [nb_exact, zinb_exact], rtol=1e-11, atol=1e-8, err_msg=where)


def test_optimum_is_never_below_statsmodels(reference_grid):
    """Our optimiser reaches at least the best of several statsmodels fits, gene by gene."""
    adata, offsets, grid, result = reference_grid
    counts = adata.layers["counts"].toarray().astype(np.float64)  # log(y!) in float32 is off by 1e-4
    exog = pd.get_dummies(adata.obs["type"]).to_numpy(dtype=float)
    assert result["converged"].all()
    for g, spec in grid.iterrows():
        y = counts[:, g]
        nb_llf, zinb_llf = _statsmodels_best(y, exog, offsets[:, g])
        log_factorials = gammaln(y + 1).sum()
        where = f"gene {g} {dict(spec)}"
        assert result.at[g, "nb_log_lik"] - log_factorials >= nb_llf - NEVER_WORSE, where
        assert result.at[g, "zinb_log_lik"] - log_factorials >= zinb_llf - NEVER_WORSE, where


def test_statistic_zero_without_gain_and_zero_inflation_found(reference_grid):
    _, _, grid, result = reference_grid
    assert (result["statistic"] >= 0).all()
    stat_zero = result["statistic"] == 0
    assert (result.loc[stat_zero, "extra_zeros"] == 0).all()
    gain = result["zinb_log_lik"] - result["nb_log_lik"]
    assert (gain >= 0).all()
    np.testing.assert_allclose(result["statistic"], np.where(gain > 1e-8, 2 * gain, 0.0))
    clear = (grid["pi"] > 0) & (grid["mean"] >= 5) & (grid["theta"] > 1)
    assert (result.loc[clear, "pvalue"] < 1e-3).all()
    assert result.loc[clear, "extra_zeros"].between(0.2, 0.4).all()


def test_pure_poisson_genes_are_never_called():
    """Issue #11's failure: Poisson genes of mean up to 1,000 must give no evidence of zero inflation."""
    rng = np.random.default_rng(3)
    n_cells = 3000
    label = rng.integers(3, size=n_cells)
    size = rng.lognormal(0.0, 0.3, n_cells)
    means = np.geomspace(2.0, 1000.0, 12)
    counts = rng.poisson(size[:, None] * means[None, :] * np.exp(rng.normal(0, 0.3, (3, 12)))[label])
    obs = pd.DataFrame({"type": pd.Categorical(label.astype(str))}, index=[f"c{i}" for i in range(n_cells)])
    adata = _adata(counts, obs)
    offsets = np.log(size)[:, None] * np.ones((1, 12))
    result = zinb_lrt(adata, labels_key="type", offsets=offsets)
    assert result["converged"].all()
    assert (result["statistic"] < 1.0).all(), result[["statistic", "extra_zeros", "dispersion"]]


def test_null_pvalues_are_calibrated():
    null = simulate_nb(n_cells=1500, n_genes=300, zi_share=0.0, n_spike_ins=30, seed=11)
    result = zinb_lrt(null, labels_key="cell_type")
    p = result["pvalue"].dropna().to_numpy()
    # Under 0.5 chi2(0) + 0.5 chi2(1), about half the p-values are 1 and P(p < a) = a for a < 0.5.
    assert 0.3 < (p == 1).mean() < 0.7
    for alpha in (0.05, 0.1, 0.25):
        assert (p < alpha).mean() < 1.6 * alpha + 0.01
    assert (result["qvalue"] < 0.05).mean() <= 0.05


def test_clear_zero_inflation_is_found():
    zinb = simulate_nb(n_cells=1500, n_genes=60, zi_share=1.0, dropout=0.3, mean_range=(2.0, 20.0), seed=12)
    result = zinb_lrt(zinb, labels_key="cell_type")
    assert (result["qvalue"] < 0.05).mean() >= 0.95
    assert result["extra_zeros"].median() == pytest.approx(0.3, abs=0.08)


def test_the_null_fit_also_gives_the_zinbs_negative_binomial_part():
    """Zero-inflated genes' NB part is the counts without their extra zeros: higher means, less spread."""
    data = simulate_nb(n_cells=1500, n_genes=40, zi_share=0.5, dropout=0.3, mean_range=(2.0, 20.0), seed=12)
    table, fit = zinb_lrt(
        data, labels_key="cell_type", return_null_fit=True, null_means=True, component_means=True
    )
    gained = (table["extra_zeros"] > 0).to_numpy()
    zi = data.var["zi_true"].to_numpy()
    assert gained[zi].all()
    # Where the ZINB gained nothing, its NB part is the NB fit itself.
    np.testing.assert_array_equal(fit.component_means[:, ~gained], fit.means[:, ~gained])
    np.testing.assert_array_equal(fit.component_dispersions[~gained], fit.dispersions[~gained])
    # Where it did, the mean rises by about 1 / (1 - pi) and the NB part is less overdispersed.
    ratio = fit.component_means[:, zi].mean(0) / fit.means[:, zi].mean(0)
    np.testing.assert_allclose(ratio, 1.0 / (1.0 - table.loc[zi, "extra_zeros"]), rtol=0.05)
    assert (fit.component_dispersions[zi] > fit.dispersions[zi]).all()
    # Unless asked for, no NB part.
    fit = zinb_lrt(data, labels_key="cell_type", return_null_fit=True, null_means=True)[1]
    assert fit.means is not None and fit.component_means is None


def test_batch_covariate_removes_a_batch_driven_false_call():
    """A gene switched off in one batch looks zero-inflated unless the batch enters the model."""
    rng = np.random.default_rng(5)
    n_cells = 2000
    batch = rng.integers(2, size=n_cells)
    mean = np.where(batch == 1, 0.5, 8.0)
    counts = rng.negative_binomial(5.0, 5.0 / (5.0 + mean))[:, None] + np.zeros((1, 1), dtype=int)
    counts = np.hstack([counts, rng.negative_binomial(5.0, 5.0 / (5.0 + 4.0), size=(n_cells, 1))])
    obs = pd.DataFrame(
        {"batch": pd.Categorical(np.where(batch, "b", "a"))}, index=[f"c{i}" for i in range(n_cells)]
    )
    adata = _adata(counts, obs)
    known_depth = np.zeros(adata.shape)
    without = zinb_lrt(adata, offsets=known_depth)
    with_batch = zinb_lrt(adata, batch_key="batch", offsets=known_depth)
    assert without.at[0, "pvalue"] < 1e-6
    assert with_batch.at[0, "pvalue"] > 0.01


def _two_dispersions(seed: int, n_cells: int, thetas: tuple[float, float], mean: float):
    """One NB gene whose dispersion differs between two random groups of cells: (group, counts)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(2, size=n_cells)
    theta = np.where(group == 0, *thetas)
    return group, rng.negative_binomial(theta, theta / (theta + mean))[:, None]


def test_dispersion_per_label_fits_types_with_different_dispersions():
    label, counts = _two_dispersions(9, 3000, (0.5, 50.0), 6.0)
    cells = [f"c{i}" for i in range(label.size)]
    obs = pd.DataFrame({"type": pd.Categorical(label.astype(str))}, index=cells)
    adata = _adata(counts, obs)
    known_depth = np.zeros(adata.shape)
    shared = zinb_lrt(adata, labels_key="type", offsets=known_depth, dispersion="gene")
    per_label = zinb_lrt(adata, labels_key="type", dispersion="gene-label", offsets=known_depth)
    assert per_label.at[0, "nb_log_lik"] > shared.at[0, "nb_log_lik"] + 10
    assert per_label.at[0, "pvalue"] > 0.01


def test_dispersion_per_label_and_batch_fits_batches_with_different_dispersions():
    """Two batches of one type whose dispersions differ: the NB mixture's zeros are not zero inflation."""
    batch, counts = _two_dispersions(10, 4000, (0.7, 20.0), 4.0)
    n_cells = batch.size
    obs = pd.DataFrame(
        {"type": pd.Categorical(["t"] * n_cells), "batch": pd.Categorical(batch.astype(str))},
        index=[f"c{i}" for i in range(n_cells)],
    )
    adata = _adata(counts, obs)
    known_depth = np.zeros(adata.shape)
    keys = {"labels_key": "type", "batch_key": "batch", "offsets": known_depth}
    per_label = zinb_lrt(adata, dispersion="gene-label", **keys)
    per_batch = zinb_lrt(adata, **keys)  # "auto" with a batch_key
    assert per_batch.at[0, "nb_log_lik"] > per_label.at[0, "nb_log_lik"] + 10
    assert per_label.at[0, "pvalue"] < 0.01 < per_batch.at[0, "pvalue"]


def test_dispersion_groups_names_and_codes(counts_adata):
    codes, names = dispersion_groups(counts_adata, "cell_type", "batch")
    assert names == [f"{label} | {batch}" for label in ("B cell", "NK", "T cell") for batch in ("b1", "b2")]
    cells = counts_adata.obs.iloc[:4]
    expected = (cells["cell_type"] + " | " + cells["batch"]).tolist()
    assert [names[code] for code in codes[:4]] == expected
    assert dispersion_groups(counts_adata, "cell_type")[1] == ["B cell", "NK", "T cell"]
    assert dispersion_groups(counts_adata, None, "batch")[1] == ["all cells | b1", "all cells | b2"]
    assert dispersion_groups(counts_adata)[1] == ["all cells"]
    with pytest.raises(ValueError, match="needs batch_key"):
        dispersion_groups(counts_adata, "cell_type", dispersion="gene-label-batch")
    _, fit = zinb_lrt(counts_adata, labels_key="cell_type", batch_key="batch", return_null_fit=True)
    assert fit.dispersion_groups == names and fit.dispersions.shape == (counts_adata.n_vars, 6)


def test_genes_without_counts_are_untestable(counts_adata):
    counts_adata.layers["counts"][:, 3] = 0
    counts_adata.layers["counts"].eliminate_zeros()
    result = zinb_lrt(counts_adata)
    assert np.isnan(result.at[3, "pvalue"]) and np.isnan(result.at[3, "qvalue"])
    assert not result.at[3, "qvalue"] < 0.05
    assert result.drop(index=3)["pvalue"].notna().all()


def test_by_label_marks_pairs_without_counts_untestable(counts_adata):
    counts = counts_adata.layers["counts"].toarray()
    in_nk = (counts_adata.obs["cell_type"] == "NK").to_numpy()
    counts[in_nk, 5] = 0
    counts_adata.layers["counts"] = sp.csr_matrix(counts)
    result = zinb_lrt_by_label(counts_adata, "cell_type", labels=["T cell", "NK", "B cell"])
    assert list(result["label"].cat.categories) == ["T cell", "NK", "B cell"]
    assert len(result) == 3 * counts_adata.n_vars
    pair = result[(result["gene"] == "gene5") & (result["label"] == "NK")]
    assert pair["pvalue"].isna().all() and pair["qvalue"].isna().all()
    others = result.drop(index=pair.index)
    assert others["qvalue"].notna().all()
    np.testing.assert_allclose(others["qvalue"], benjamini_hochberg(others["pvalue"].to_numpy()), rtol=1e-12)


def test_bad_offsets_are_refused(counts_adata):
    with pytest.raises(ValueError, match="offsets has shape"):
        zinb_lrt(counts_adata, offsets=np.zeros((3, 3)))
    bad = np.zeros(counts_adata.shape)
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        zinb_lrt(counts_adata, offsets=bad)
    with pytest.raises(ValueError, match="gene-label"):
        zinb_lrt(counts_adata, dispersion="gene-label")


def test_unconverged_fits_are_reported(counts_adata):
    with pytest.warns(RuntimeWarning, match="did not converge"):
        result = zinb_lrt(counts_adata, labels_key="cell_type", max_iter=1)
    unconverged = ~result["converged"]
    assert unconverged.any()
    # Never called on an unconverged fit: no p- or q-value there.
    assert result.loc[unconverged, ["pvalue", "qvalue"]].isna().all().all()
    assert not (result.loc[unconverged, "qvalue"] < 0.05).any()


def test_cell_type_without_counts_converges(counts_adata):
    counts = counts_adata.layers["counts"].toarray()
    counts[(counts_adata.obs["cell_type"] == "NK").to_numpy(), 2] = 0
    counts_adata.layers["counts"] = sp.csr_matrix(counts)
    result = zinb_lrt(counts_adata, labels_key="cell_type")
    assert result["converged"].all() and result.at[2, "pvalue"] >= 0


def test_chunking_does_not_change_results(counts_adata):
    whole = zinb_lrt(counts_adata, labels_key="cell_type", batch_key="batch")
    chunked = zinb_lrt(counts_adata, labels_key="cell_type", batch_key="batch", chunk_size=7)
    pd.testing.assert_frame_equal(whole, chunked, check_exact=False, atol=1e-8)


def _small_design_data(seed: int = 0):
    """Counts of 4 genes in 3 cell types x 2 batches, with per-cell offsets."""
    rng = np.random.default_rng(seed)
    n_cells = 300
    obs = pd.DataFrame(
        {
            "type": pd.Categorical(rng.integers(3, size=n_cells).astype(str)),
            "batch": pd.Categorical(rng.integers(2, size=n_cells).astype(str)),
        },
        index=[f"c{i}" for i in range(n_cells)],
    )
    counts = rng.negative_binomial(2.0, 2.0 / (2.0 + rng.uniform(0.2, 30.0, (1, 4))), size=(n_cells, 4))
    return _adata(counts, obs), torch.as_tensor(rng.normal(0.0, 0.3, (n_cells, 4)))


@pytest.mark.parametrize("dispersion", ["gene", "gene-label", "gene-label-batch"])
@pytest.mark.parametrize("zero_inflated", [False, True])
def test_gradient_and_hessian_match_autograd(dispersion, zero_inflated):
    """The hand-written derivatives, summed within cell groups, are those of the likelihood."""
    adata, offsets = _small_design_data()
    y = torch.as_tensor(adata.layers["counts"].toarray(), dtype=torch.float64)
    design = _design_of(adata, "type", "batch", dispersion)
    p, d = design.mean_rows.shape[1], design.disp_rows.shape[1]
    rng = np.random.default_rng(1)
    beta = torch.as_tensor(rng.normal(1.0, 0.5, (p, 4)))
    # Log-dispersions from strong overdispersion to the large-theta series (theta > 100).
    phi = torch.as_tensor(rng.choice([-1.0, 0.5, 2.0, 6.0], size=(d, 4)))
    pi = torch.tensor([0.05, 0.2, 0.4, 0.6], dtype=torch.float64) if zero_inflated else None
    gradient, hessian, _ = _solver._gradient_and_hessian(y, offsets, design, beta, phi, pi)
    for g in range(4):

        def log_lik(params, g=g):
            b, f = params[:p, None], params[p : p + d, None]
            tail = params[p + d :] if zero_inflated else None
            return _solver._gene_log_lik(y[:, g : g + 1], offsets[:, g : g + 1], design, b, f, tail)[0]

        params = torch.cat([beta[:, g], phi[:, g]] + ([pi[g : g + 1]] if zero_inflated else []))
        expected_gradient = torch.autograd.functional.jacobian(log_lik, params)
        expected_hessian = torch.autograd.functional.hessian(log_lik, params)
        torch.testing.assert_close(gradient[g], expected_gradient, rtol=1e-8, atol=1e-8)
        torch.testing.assert_close(hessian[g], expected_hessian, rtol=1e-8, atol=1e-8)


def test_nb_refit_starts_from_the_zinbs_mean_and_variance():
    """The NB refit's start has the ZINB optimum's mean and variance in every cell."""
    adata, offsets = _small_design_data()
    design = _design_of(adata, "type", "batch", "gene-label")
    rng = np.random.default_rng(2)
    p, d = design.mean_rows.shape[1], design.disp_rows.shape[1]
    beta, phi = torch.as_tensor(rng.normal(1.0, 0.5, (p, 4))), torch.as_tensor(rng.normal(0.5, 1.0, (d, 4)))
    pi = torch.tensor([0.0, 0.1, 0.5, 0.9], dtype=torch.float64)
    zinb = _solver._Fit(beta, phi, pi, torch.zeros(4), torch.ones(4, dtype=torch.bool))
    nb_beta, nb_phi = _solver._nb_matching(zinb, torch.arange(4), design.n_label_columns)
    mu, theta = (offsets + design.mean @ beta).exp(), (design.disp @ phi).exp()
    nb_mean, nb_theta = (offsets + design.mean @ nb_beta).exp(), (design.disp @ nb_phi).exp()
    torch.testing.assert_close(nb_mean, (1 - pi) * mu)
    zinb_variance = (1 - pi) * mu * (1 + mu / theta + pi * mu)
    torch.testing.assert_close(nb_mean + nb_mean**2 / nb_theta, zinb_variance)


def test_benjamini_hochberg_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.5, np.nan])
    # Sorted 0.01, 0.03, 0.04, 0.5 times 4/rank: 0.04, 0.06, 0.0533, 0.5 -> running min from the top.
    expected = [0.04, 0.0533333, 0.0533333, 0.5, np.nan]
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-5)


def test_boundary_pvalue_halves_chi2():
    np.testing.assert_allclose(
        boundary_lrt_pvalue(np.array([0.0, 3.841459, np.nan])), [1.0, 0.025, np.nan], rtol=1e-5
    )


def test_boundary_statistic_inverts_the_pvalue():
    statistics = np.array([0.0, 0.3, 3.841459, 40.0, np.nan])
    np.testing.assert_allclose(boundary_lrt_statistic(boundary_lrt_pvalue(statistics)), statistics, rtol=1e-9)
    # p-values of 0.5 and above (a statistic of 0 gives p = 1) come back as 0.
    np.testing.assert_array_equal(boundary_lrt_statistic(np.array([0.5, 0.7, 1.0])), [0.0, 0.0, 0.0])


def test_converged_pvalues_divide_by_the_inflation_and_skip_unconverged_fits():
    pvalues = converged_pvalues(np.array([0.0, 7.682918, 5.0]), np.array([True, True, False]), inflation=2.0)
    np.testing.assert_allclose(pvalues, [1.0, 0.5 * scipy.stats.chi2.sf(3.841459, 1), np.nan], rtol=1e-6)


def test_lrt_rejects_non_counts(counts_adata):
    counts_adata.layers["counts"][0, 0] = 0.5
    with pytest.raises(ValueError, match="non-integer"):
        zinb_lrt(counts_adata)
