"""The recommended call's engine: a per-gene likelihood-ratio test of NB against ZINB.

For each gene, two generalised linear models are fitted to the raw counts by maximum
likelihood: a negative binomial (NB) and a zero-inflated NB (ZINB) with one zero-inflation
probability pi. The log-mean of cell c is ``offset[c] + X[c] @ beta``, where the offset is
either the cell's log library size or, better, the log of a latent model's NB mean for that
cell and gene (see :mod:`autozi_tutorial.offsets`), and the design ``X`` holds cell types and
batches. The log-dispersion is one value per gene, or one per gene and cell type. The NB is
the ZINB with pi = 0, on the boundary of the parameter space, so under the null the
statistic follows 0.5 chi2(0) + 0.5 chi2(1) (Self and Liang, 1987).

All genes of a chunk are fitted at once by projected Newton steps on the exact float64
likelihood, with the derivatives written out per entry (``_entry_terms``), summed within
groups of cells that share every covariate (cell type x batch), and the per-gene Hessians
solved by Cholesky. A fit has converged when its Newton decrement (the increase in
log-likelihood that one more full step would bring) is below ``tol``; parameters held at a
bound (pi = 0, or an infinite dispersion) are left out of that measure. The ZINB always
starts from the NB optimum, and the NB is refitted from the NB with the ZINB optimum's mean
and variance, so the statistic is positive only when the ZINB beats the best NB fit found.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from anndata import AnnData
from scipy.stats import chi2

from .validation import InputDataError, counts_matrix, validate_counts, validate_obs_key

#: Bounds of log(theta): theta from 4.5e-5 (extreme overdispersion) to 6.6e7 (Poisson).
LOG_THETA_BOUNDS = (-10.0, 18.0)
#: Bounds of the log-mean covariates: a cell type without counts for a gene reaches e^-30
#: (no expression) instead of running off to minus infinity.
BETA_BOUNDS = (-30.0, 30.0)
#: Largest zero-inflation probability a ZINB fit may take.
MAX_PI = 0.999
#: log(theta) above which a rising dispersion is tried at the Poisson bound directly.
POISSON_PROBE = 6.0
#: Theta above which lgamma/digamma/trigamma differences use their asymptotic series.
SERIES_MIN_THETA = 100.0
#: Default memory budget of one chunk: cells x genes entries fitted together.
MAX_ENTRIES = 1_000_000
DISPERSIONS = ("auto", "gene", "gene-label")
_RESULT_COLUMNS = ("lrt_statistic", "zinb_pi", "nb_theta", "nb_log_lik", "zinb_log_lik", "converged")


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN.

    Parameters
    ----------
    pvalues
        P-values in [0, 1], NaN for untested genes.

    Returns
    -------
    numpy.ndarray
        ``min(1, min_{j >= i} p_(j) * m / j)`` mapped back to the input order, ``m`` the
        number of finite p-values.
    """
    pvalues = np.asarray(pvalues, dtype=np.float64)
    qvalues = np.full_like(pvalues, np.nan)
    finite = ~np.isnan(pvalues)
    p = pvalues[finite]
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty_like(p)
    result[order] = np.minimum(adjusted, 1.0)
    qvalues[finite] = result
    return qvalues


def boundary_lrt_pvalue(statistic: np.ndarray) -> np.ndarray:
    """P-value of a likelihood ratio under 0.5 chi2(0) + 0.5 chi2(1): 1 at 0, else 0.5 * sf; NaN stays NaN."""
    statistic = np.asarray(statistic, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        pvalue = np.where(statistic > 0, 0.5 * chi2.sf(np.clip(statistic, 0.0, None), df=1), 1.0)
    return np.where(np.isnan(statistic), np.nan, pvalue)


# --- special-function differences, accurate when theta is large -------------------------------


def _split_by_theta(direct, series):
    """Evaluate ``direct(y, theta)`` where theta < SERIES_MIN_THETA and ``series`` elsewhere."""

    def ratio(y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        large = theta >= SERIES_MIN_THETA
        result = torch.empty_like(y)
        result[~large] = direct(y[~large], theta[~large])
        if large.any():
            t, k = theta[large], y[large]
            result[large] = series(k, t, 1.0 / t, 1.0 / (t + k))
        return result

    return ratio


def _lgamma_series(y, t, it, iz):
    """Stirling's series for lgamma(t + y) - lgamma(t), with it = 1 / t and iz = 1 / (t + y)."""
    it2, iz2 = it * it, iz * iz
    return (
        (t - 0.5) * torch.log1p(y * it)
        - y * torch.log(iz)
        - y
        + (iz - it) / 12
        - (iz * iz2 - it * it2) / 360
        + (iz * iz2 * iz2 - it * it2 * it2) / 1260
    )


def _digamma_series(y, t, it, iz):
    """Asymptotic series for digamma(t + y) - digamma(t)."""
    it2, iz2 = it * it, iz * iz
    return torch.log1p(y * it) + 0.5 * y * it * iz - (iz2 - it2) / 12 + (iz2 * iz2 - it2 * it2) / 120


def _trigamma_series(y, t, it, iz):
    """Asymptotic series for trigamma(t + y) - trigamma(t)."""
    it2, iz2 = it * it, iz * iz
    return (
        -y * it * iz
        - 0.5 * y * (2 * t + y) * it2 * iz2
        + (iz * iz2 - it * it2) / 6
        - (iz * iz2 * iz2 - it * it2 * it2) / 30
    )


#: lgamma, digamma and trigamma of (y + theta) minus that of theta, accurate for large theta.
_lgamma_ratio = _split_by_theta(lambda y, t: torch.lgamma(y + t) - torch.lgamma(t), _lgamma_series)
_digamma_ratio = _split_by_theta(lambda y, t: torch.digamma(y + t) - torch.digamma(t), _digamma_series)
_trigamma_ratio = _split_by_theta(
    lambda y, t: torch.polygamma(1, y + t) - torch.polygamma(1, t), _trigamma_series
)


# --- per-entry likelihood and derivatives -------------------------------------------------------


@dataclass
class _Entries:
    """Per-entry log-likelihood and its derivatives by eta (log-mean), psi (log-theta) and pi."""

    log_lik: torch.Tensor
    g_eta: torch.Tensor | None = None
    g_psi: torch.Tensor | None = None
    h_eta: torch.Tensor | None = None
    h_eta_psi: torch.Tensor | None = None
    h_psi: torch.Tensor | None = None
    g_pi: torch.Tensor | None = None
    h_pi: torch.Tensor | None = None
    h_eta_pi: torch.Tensor | None = None
    h_psi_pi: torch.Tensor | None = None


def _entry_terms(
    y: torch.Tensor, eta: torch.Tensor, psi: torch.Tensor, pi: torch.Tensor | None, derivatives: bool
) -> _Entries:
    """ZINB (NB when ``pi`` is None) log-likelihood of every entry, without log(y!).

    With r = mu / (theta + mu) and sp = log(1 + mu / theta), the NB log-probability is
    ``lgamma(y + theta) - lgamma(theta) - theta * sp + y * (eta - psi - sp)``, and
    log NB(0) = -theta * sp. A zero of the ZINB has probability pi + (1 - pi) NB(0).
    """
    theta = psi.exp()
    x = eta - psi
    sp_ = torch.nn.functional.softplus(x)
    log_p0 = -theta * sp_
    is_zero = y == 0
    # The gamma-function differences vanish at y = 0: evaluate them at the non-zero counts only.
    rows, cols = torch.nonzero(~is_zero, as_tuple=True)
    y_nz, theta_nz = y[rows, cols], theta.expand_as(y)[rows, cols]

    def at_counts(ratio) -> torch.Tensor:
        dense = torch.zeros_like(eta)
        dense[rows, cols] = ratio(y_nz, theta_nz)
        return dense

    log_nb = at_counts(_lgamma_ratio) + log_p0 + y * (x - sp_)
    if pi is None:
        log_lik = log_nb
    else:
        log_pi, log_keep = torch.log(pi), torch.log1p(-pi)
        log_zero = torch.logaddexp(log_pi.expand_as(log_p0), log_keep + log_p0).clamp_min(-690.0)
        log_lik = torch.where(is_zero, log_zero, log_keep + log_nb)
    if not derivatives:
        return _Entries(log_lik)

    r = torch.sigmoid(x)
    one_r = torch.sigmoid(-x)
    mu_minus_y = eta.exp() - y
    g_eta = one_r * y - theta * r
    h_eta = -(theta + y) * r * one_r
    # d/dpsi = theta * d/dtheta; (mu - y) / (theta + mu) = (1 - r) (mu - y) / theta
    g_psi = theta * (at_counts(_digamma_ratio) - sp_) + one_r * mu_minus_y
    h_psi = theta * theta * at_counts(_trigamma_ratio) + theta * r * r + one_r * one_r * y + g_psi
    h_eta_psi = -r * one_r * mu_minus_y
    terms = _Entries(log_lik, g_eta, g_psi, h_eta, h_eta_psi, h_psi)
    if pi is None:
        return terms

    # Zeros follow the mixture: q = share of a zero's probability that comes from the NB.
    q = torch.exp(log_keep + log_p0 - log_zero)
    spread = q * (1 - q)
    a_eta, a_psi = -theta * r, theta * (r - sp_)  # derivatives of log NB(0)
    theta_r2 = theta * r * r
    a_eta_eta, a_eta_psi, a_psi_psi = -theta * r * one_r, -theta_r2, theta_r2 + a_psi
    terms.g_eta = torch.where(is_zero, q * a_eta, g_eta)
    terms.g_psi = torch.where(is_zero, q * a_psi, g_psi)
    terms.h_eta = torch.where(is_zero, q * a_eta_eta + spread * a_eta * a_eta, h_eta)
    terms.h_eta_psi = torch.where(is_zero, q * a_eta_psi + spread * a_eta * a_psi, h_eta_psi)
    terms.h_psi = torch.where(is_zero, q * a_psi_psi + spread * a_psi * a_psi, h_psi)
    inv_zero = torch.exp(-log_zero)
    d_zero = inv_zero - torch.exp(log_p0 - log_zero)  # (1 - NB(0)) / P(0)
    p0_over_sq = torch.exp(log_p0 - 2 * log_zero)
    terms.g_pi = torch.where(is_zero, d_zero, -1 / (1 - pi))
    terms.h_pi = torch.where(is_zero, -d_zero * d_zero, -1 / ((1 - pi) * (1 - pi)))
    terms.h_eta_pi = torch.where(is_zero, -p0_over_sq * a_eta, 0.0)
    terms.h_psi_pi = torch.where(is_zero, -p0_over_sq * a_psi, 0.0)
    return terms


# --- fitting all genes of a chunk at once --------------------------------------------------------


@dataclass
class _Design:
    """Cell groups (cell type x batch) within which every covariate is constant.

    ``groups`` is cells x groups (one-hot); ``mean_rows`` (groups x p) holds the log-mean
    covariates of each group and ``disp_rows`` (groups x d) its dispersion group. Sums over
    cells then reduce to sums within groups, whatever the number of covariates.
    """

    groups: torch.Tensor
    mean_rows: torch.Tensor
    disp_rows: torch.Tensor
    n_label_columns: int

    def __post_init__(self) -> None:
        self.one_dispersion = self.disp_rows.shape[1] == 1
        self.mean = self.groups @ self.mean_rows
        self.disp = self.groups @ self.disp_rows

    def sums(self, *entries: torch.Tensor) -> list[torch.Tensor]:
        """Per-group sums (groups x genes) of each cells x genes array, in one product."""
        n_genes = entries[0].shape[1]
        stacked = self.groups.T @ torch.cat(entries, 1)
        return list(stacked.split(n_genes, 1))


@dataclass
class _Fit:
    """Per-gene parameters and state of one model over the genes of a chunk."""

    beta: torch.Tensor  # p x genes
    phi: torch.Tensor  # d x genes (log theta per dispersion group)
    pi: torch.Tensor | None  # genes, None for the NB
    log_lik: torch.Tensor  # genes
    converged: torch.Tensor  # genes, bool


def _log_theta(design: _Design, phi: torch.Tensor) -> torch.Tensor:
    """Per-entry log(theta): a 1 x genes row (broadcast) with one dispersion per gene."""
    return phi if design.one_dispersion else design.disp @ phi


def _gene_log_lik(y, offset, design: _Design, beta, phi, pi) -> torch.Tensor:
    eta = offset + design.mean @ beta
    psi = _log_theta(design, phi)
    return _entry_terms(y, eta, psi, pi, derivatives=False).log_lik.sum(0)


def _gradient_and_hessian(y, offset, design: _Design, beta, phi, pi):
    """Per-gene gradient (genes x k) and Hessian (genes x k x k) over (beta, phi[, pi])."""
    eta = offset + design.mean @ beta
    psi = _log_theta(design, phi)
    t = _entry_terms(y, eta, psi, pi, derivatives=True)
    # Parameter kinds: log-mean covariates, log-dispersions and (ZINB) pi. A kind's rows say
    # how the cells of each group depend on its parameters.
    rows = [design.mean_rows, design.disp_rows]
    first = [t.g_eta, t.g_psi]
    second = {(0, 0): t.h_eta, (0, 1): t.h_eta_psi, (1, 1): t.h_psi}
    if pi is not None:
        rows.append(torch.ones(len(design.mean_rows), 1, dtype=y.dtype))
        first.append(t.g_pi)
        second.update({(0, 2): t.h_eta_pi, (1, 2): t.h_psi_pi, (2, 2): t.h_pi})
    sums = design.sums(*first, *second.values())
    first_sums, second_sums = sums[: len(first)], dict(zip(second, sums[len(first) :], strict=True))
    gradient = torch.cat([torch.einsum("ga,gn->na", r, g) for r, g in zip(rows, first_sums, strict=True)], 1)

    def block(i: int, j: int) -> torch.Tensor:
        if i > j:
            return block(j, i).transpose(1, 2)
        return torch.einsum("ga,gb,gn->nab", rows[i], rows[j], second_sums[i, j])

    kinds = range(len(rows))
    hessian = torch.cat([torch.cat([block(i, j) for j in kinds], 2) for i in kinds], 1)
    return gradient, hessian, t.log_lik.sum(0)


def _newton_direction(gradient: torch.Tensor, hessian: torch.Tensor, free: torch.Tensor):
    """Solve (-H) delta = g over the free parameters; damp H where it is not negative definite.

    Returns the direction and the Newton decrement g . delta (>= 0).
    """
    k = gradient.shape[1]
    eye = torch.eye(k, dtype=gradient.dtype)
    mask = free[:, :, None] & free[:, None, :]
    neg_h = torch.where(mask, -hessian, 0.0) + torch.diag_embed((~free).to(gradient.dtype))
    g = torch.where(free, gradient, 0.0)
    scale = neg_h.diagonal(dim1=1, dim2=2).abs().amax(1).clamp_min(1e-12)
    damping = torch.zeros(len(g), dtype=g.dtype)
    for attempt in range(12):
        factor, info = torch.linalg.cholesky_ex(neg_h + damping[:, None, None] * eye)
        failed = info != 0
        if not failed.any():
            break
        damping = torch.where(failed, torch.where(damping > 0, damping * 100, scale * 1e-10), damping)
        if attempt == 11:
            factor = torch.where(
                failed[:, None, None], torch.diag_embed(scale[:, None].expand(-1, k)).sqrt(), factor
            )
    delta = torch.cholesky_solve(g[:, :, None], factor)[:, :, 0]
    delta = torch.where(free, delta, 0.0)
    return delta, (g * delta).sum(1).clamp_min(0.0)


def _fit_chunk(
    y: torch.Tensor,
    offset: torch.Tensor,
    design: _Design,
    start: tuple[torch.Tensor, torch.Tensor],
    pi_start: torch.Tensor | None,
    max_iter: int,
    tol: float,
) -> _Fit:
    """Projected damped Newton on every gene of the chunk; genes leave once converged.

    ``offset`` is cells x genes (or cells x 1). ``pi_start`` None fits the NB.
    """
    p, d = design.mean.shape[1], design.disp.shape[1]
    beta, phi = (value.clone() for value in start)
    pi = None if pi_start is None else pi_start.clone()
    n_genes = y.shape[1]
    log_lik = _gene_log_lik(y, offset, design, beta, phi, pi)
    converged = torch.zeros(n_genes, dtype=torch.bool)
    active = torch.arange(n_genes)
    low, high = LOG_THETA_BOUNDS
    for _ in range(max_iter):
        if len(active) == 0:
            break
        ya = y[:, active]
        oa = offset if offset.shape[1] == 1 else offset[:, active]
        b, f = beta[:, active], phi[:, active]
        pa = None if pi is None else pi[active]
        gradient, hessian, current = _gradient_and_hessian(ya, oa, design, b, f, pa)
        # Parameters at a bound with the likelihood pushing outwards stay out of the step.
        free = torch.ones_like(gradient, dtype=torch.bool)
        free[:, :p] = ~(
            ((b.T <= BETA_BOUNDS[0]) & (gradient[:, :p] < 0))
            | ((b.T >= BETA_BOUNDS[1]) & (gradient[:, :p] > 0))
        )
        free[:, p : p + d] = ~(
            ((f.T <= low) & (gradient[:, p : p + d] < 0)) | ((f.T >= high) & (gradient[:, p : p + d] > 0))
        )
        if pa is not None:
            free[:, -1] = ~(((pa <= 0) & (gradient[:, -1] <= 0)) | ((pa >= MAX_PI) & (gradient[:, -1] >= 0)))
        delta, decrement = _newton_direction(gradient, hessian, free)
        done = decrement < tol
        # Shorten (never bend) long steps: no log-mean or log-theta moves by more than 2 at once.
        longest = delta[:, : p + d].abs().amax(1)
        delta = delta * (2.0 / longest.clamp_min(2.0))[:, None]
        new_b, new_f, new_p, new_ll = (
            b.clone(),
            f.clone(),
            None if pa is None else pa.clone(),
            current.clone(),
        )
        pending = torch.nonzero(~done).ravel()
        for halving in range(30):
            if len(pending) == 0:
                break
            step = delta[pending] * 0.5**halving
            tb = (b[:, pending] + step[:, :p].T).clamp(*BETA_BOUNDS)
            tf = (f[:, pending] + step[:, p : p + d].T).clamp(low, high)
            tp = None if pa is None else (pa[pending] + step[:, -1]).clamp(0.0, MAX_PI)
            to = oa if oa.shape[1] == 1 else oa[:, pending]
            trial = _gene_log_lik(ya[:, pending], to, design, tb, tf, tp)
            accept = trial > current[pending]
            taken = pending[accept]
            new_b[:, taken], new_f[:, taken], new_ll[taken] = tb[:, accept], tf[:, accept], trial[accept]
            if new_p is not None:
                new_p[taken] = tp[accept]
            pending = pending[~accept]
        # A gene whose step found no improvement at all has reached the precision of its likelihood.
        done = done | torch.isin(torch.arange(len(active)), pending)
        # Towards the Poisson limit the likelihood flattens like 1 / theta and Newton steps climb
        # log(theta) by about 1 at a time: try the bound at once, keep it if it is better.
        rising = (new_f > POISSON_PROBE) & (new_f > f) & (new_f < high)
        probe = torch.nonzero(rising.any(0) & ~done).ravel()
        if len(probe):
            tf = torch.where(rising[:, probe], high, new_f[:, probe])
            to = oa if oa.shape[1] == 1 else oa[:, probe]
            tp = None if new_p is None else new_p[probe]
            trial = _gene_log_lik(ya[:, probe], to, design, new_b[:, probe], tf, tp)
            accept = trial > new_ll[probe]
            new_f[:, probe[accept]], new_ll[probe[accept]] = tf[:, accept], trial[accept]
        beta[:, active], phi[:, active], log_lik[active] = new_b, new_f, new_ll
        if pi is not None:
            pi[active] = new_p
        converged[active[done]] = decrement[done] < tol * 1e3
        active = active[~done]
    return _Fit(beta, phi, pi, log_lik, converged)


def _nb_start(y: torch.Tensor, offset: torch.Tensor, design: _Design) -> tuple[torch.Tensor, torch.Tensor]:
    """Starting values: per cell type, log(sum of counts / sum of offsets' means); theta by moments."""
    n_labels = design.n_label_columns
    labels = design.mean[:, :n_labels]
    scale = offset.exp().expand_as(y)
    beta = torch.zeros(design.mean.shape[1], y.shape[1], dtype=y.dtype)
    beta[:n_labels] = torch.log((labels.T @ y + 0.5) / (labels.T @ scale + 0.5))
    mean = (offset + design.mean @ beta).exp()
    excess = ((y - mean) ** 2 - y).mean(0)
    theta = (mean**2).mean(0) / excess.clamp_min(1e-8)
    # Start at a moderate dispersion: near the Poisson limit the likelihood is flat in theta,
    # and Newton steps from there creep; from below they reach that limit in a few steps.
    phi = torch.log(theta).clamp(LOG_THETA_BOUNDS[0], 3.0).expand(design.disp.shape[1], -1).clone()
    return beta, phi


def _excess_zeros(y: torch.Tensor, offset: torch.Tensor, design: _Design, fit: _Fit) -> torch.Tensor:
    """Share of zeros beyond the NB fit's expectation, as a ZINB starting value for pi (0 if none)."""
    eta = offset + design.mean @ fit.beta
    psi = _log_theta(design, fit.phi)
    expected = torch.exp(-psi.exp() * torch.nn.functional.softplus(eta - psi)).mean(0)
    observed = (y == 0).to(y.dtype).mean(0)
    excess = (observed - expected) / (1.0 - expected).clamp_min(1e-6)
    return torch.where(excess > 0, excess.clamp(0.01, 0.9), 0.0)


def _nb_matching(zinb: _Fit, genes: torch.Tensor, n_labels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The NB with the ZINB's mean and variance in every cell, for ``genes``: a refit's start.

    A ZINB(mu, theta, pi) has mean (1 - pi) mu and variance (1 - pi) mu (1 + mu / theta + pi mu),
    which the NB with mean (1 - pi) mu and theta' = (1 - pi) / (1 / theta + pi) matches.
    """
    keep = torch.log1p(-zinb.pi[genes])
    beta, phi = zinb.beta[:, genes].clone(), zinb.phi[:, genes]
    beta[:n_labels] += keep  # one label column per cell: shifts every cell's log-mean
    phi = (keep - torch.logaddexp(-phi, torch.log(zinb.pi[genes]))).clamp(*LOG_THETA_BOUNDS)
    return beta.clamp(*BETA_BOUNDS), phi


def _test_chunk(
    y, offset, design: _Design, max_iter: int, tol: float
) -> tuple[dict[str, torch.Tensor], _Fit, _Fit]:
    """NB fit, ZINB fit from it, NB refit from the ZINB; the statistic against the best NB.

    Returns the result columns and the two fits (whose parameters the tests check).
    """
    nb = _fit_chunk(y, offset, design, _nb_start(y, offset, design), None, max_iter, tol)
    zinb = _fit_chunk(
        y, offset, design, (nb.beta, nb.phi), _excess_zeros(y, offset, design, nb), max_iter, tol
    )
    improved = torch.nonzero(zinb.log_lik > nb.log_lik + tol).ravel()
    if len(improved):
        o = offset if offset.shape[1] == 1 else offset[:, improved]
        start = _nb_matching(zinb, improved, design.n_label_columns)
        refit = _fit_chunk(y[:, improved], o, design, start, None, max_iter, tol)
        # Only a real gain replaces the first NB fit (not rounding on the same optimum).
        better = refit.log_lik > nb.log_lik[improved] + tol
        for name in ("beta", "phi"):
            getattr(nb, name)[:, improved[better]] = getattr(refit, name)[:, better]
        nb.log_lik[improved[better]] = refit.log_lik[better]
        nb.converged[improved[better]] = refit.converged[better]
    # pi = 0 lies inside the ZINB's parameter space: the ZINB optimum is never below the NB's.
    no_gain = zinb.log_lik <= nb.log_lik
    zinb.log_lik = torch.where(no_gain, nb.log_lik, zinb.log_lik)
    zinb.pi = torch.where(no_gain, 0.0, zinb.pi)
    zinb.converged = torch.where(no_gain, nb.converged, zinb.converged)
    # A gain below the fits' convergence tolerance is no evidence of zero inflation.
    gain = zinb.log_lik - nb.log_lik
    columns = {
        "lrt_statistic": torch.where(gain > tol, 2.0 * gain, 0.0),
        "zinb_pi": zinb.pi,
        "nb_theta": nb.phi.mean(0).exp(),
        "nb_log_lik": nb.log_lik,
        "zinb_log_lik": zinb.log_lik,
        "converged": nb.converged & zinb.converged,
    }
    return columns, nb, zinb


# --- the public test ------------------------------------------------------------------------------


def _codes(adata: AnnData, key: str | None, role: str) -> np.ndarray:
    if key is None:
        return np.zeros(adata.n_obs, dtype=np.int64)
    validate_obs_key(adata, key, role)
    return pd.factorize(adata.obs[key], sort=True)[0].astype(np.int64)


def _design(adata: AnnData, labels_key: str | None, batch_key: str | None, dispersion: str) -> _Design:
    """One log-mean per cell type (or one intercept), plus an additive effect per batch after the first."""
    labels = _codes(adata, labels_key, "labels_key")
    batches = _codes(adata, batch_key, "batch_key")
    n_labels, n_batches = int(labels.max()) + 1, int(batches.max()) + 1
    pairs, group_codes = np.unique(labels * n_batches + batches, return_inverse=True)
    group_labels, group_batches = torch.as_tensor(pairs // n_batches), torch.as_tensor(pairs % n_batches)
    one_hot = torch.nn.functional.one_hot
    label_rows = one_hot(group_labels, n_labels).double()
    batch_rows = one_hot(group_batches, n_batches).double()[:, 1:]
    disp_rows = label_rows if dispersion == "gene-label" else torch.ones(len(pairs), 1, dtype=torch.float64)
    groups = one_hot(torch.as_tensor(group_codes.ravel()), len(pairs)).double()
    return _Design(groups, torch.cat([label_rows, batch_rows], 1), disp_rows, n_labels)


def _dense_columns(matrix, start: int, stop: int) -> torch.Tensor:
    block = matrix[:, start:stop]
    return torch.as_tensor(block.toarray() if sp.issparse(block) else np.asarray(block), dtype=torch.float64)


def zinb_lrt(
    adata: AnnData,
    layer: str | None = "counts",
    labels_key: str | None = None,
    batch_key: str | None = None,
    offsets: np.ndarray | None = None,
    dispersion: str = "auto",
    max_iter: int = 200,
    tol: float = 1e-8,
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """Per-gene likelihood-ratio test of NB (no zero inflation) against ZINB.

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    layer
        Layer holding the counts (None for ``adata.X``).
    labels_key
        Column of ``adata.obs`` with cell types: one log-mean per type (and, with
        ``dispersion="gene-label"``, one dispersion per type). None fits one intercept.
    batch_key
        Column of ``adata.obs`` with batches: an additive log-mean effect per batch.
    offsets
        Cells x genes log-means from a latent model (:func:`autozi_tutorial.latent_log_means`),
        so the test asks whether a gene has more zeros than the model's cell states explain.
        None uses each cell's log library size, relative to the median.
    dispersion
        ``"gene"``: one dispersion per gene; ``"gene-label"``: one per gene and cell type;
        ``"auto"`` (default): ``"gene-label"`` with ``labels_key``, else ``"gene"``. Chosen by
        measurement (``benchmarks/evaluate_calls.py``): a gene whose dispersion differs
        between cell types otherwise looks zero-inflated.
    max_iter
        Most Newton iterations per model.
    tol
        Convergence threshold on the Newton decrement, in log-likelihood units.
    chunk_size
        Genes fitted together; None chooses it so that cells x genes stays under
        :data:`MAX_ENTRIES`, so the fits need the same memory whatever the number of cells.

    Returns
    -------
    pandas.DataFrame
        One row per gene: ``gene, lrt_statistic, lrt_pvalue, lrt_qvalue, zinb_pi, nb_theta,
        nb_log_lik, zinb_log_lik, converged``. Log-likelihoods omit the constant
        ``-sum(log y!)``. A gene without counts cannot be tested: NaN statistic, p and q.
        ``converged`` is False where either fit stopped before its optimum: such a gene gets
        no p- or q-value (it is never called), and a warning names it.

    Raises
    ------
    InputDataError
        For counts that are not raw counts, cells without counts, missing keys, or offsets
        of the wrong shape or with non-finite values.
    """
    if dispersion not in DISPERSIONS:
        raise ValueError(f"dispersion must be one of {DISPERSIONS}, got {dispersion!r}.")
    if dispersion == "gene-label" and labels_key is None:
        raise ValueError("dispersion='gene-label' needs labels_key.")
    if dispersion == "auto":
        dispersion = "gene" if labels_key is None else "gene-label"
    counts = counts_matrix(adata, layer)
    validate_counts(counts, "adata.X" if layer is None else f"adata.layers[{layer!r}]")
    library = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    if offsets is None:
        if (library == 0).any():
            raise InputDataError(
                f"{int((library == 0).sum())} cells have no counts; drop them first, e.g. with "
                "autozi_tutorial.drop_cells_without_counts."
            )
        cell_offsets = torch.as_tensor(np.log(library / np.median(library)))[:, None]
    else:
        offsets = np.asarray(offsets)
        if offsets.shape != adata.shape:
            raise InputDataError(
                f"offsets has shape {offsets.shape}; it must be cells x genes {adata.shape}."
            )
        if not np.isfinite(offsets).all():
            raise InputDataError("offsets has non-finite values; pass log-means from a latent model.")
    design = _design(adata, labels_key, batch_key, dispersion)
    if chunk_size is None:
        chunk_size = max(1, MAX_ENTRIES // max(adata.n_obs, 1))

    parts = []
    for start in range(0, adata.n_vars, chunk_size):
        stop = min(start + chunk_size, adata.n_vars)
        y = _dense_columns(counts, start, stop)
        offset = (
            cell_offsets if offsets is None else torch.as_tensor(offsets[:, start:stop], dtype=torch.float64)
        )
        # A gene without counts has nothing to test: NaN, and no fit.
        testable = torch.nonzero(y.sum(0) > 0).ravel()
        part = pd.DataFrame(np.nan, index=range(stop - start), columns=list(_RESULT_COLUMNS))
        part["converged"] = True
        if len(testable):
            offset = offset if offset.shape[1] == 1 else offset[:, testable]
            fitted, _, _ = _test_chunk(y[:, testable], offset, design, max_iter, tol)
            for name, value in fitted.items():
                part.loc[testable.numpy(), name] = value.numpy()
        parts.append(part)
    table = pd.concat(parts, ignore_index=True).astype({"converged": bool})
    table.insert(0, "gene", adata.var_names.to_numpy(dtype=str))
    # A fit that did not reach its optimum is no evidence either way: no p-value, never called.
    pvalue = boundary_lrt_pvalue(table["lrt_statistic"].to_numpy())
    table.insert(2, "lrt_pvalue", np.where(table["converged"], pvalue, np.nan))
    table.insert(3, "lrt_qvalue", benjamini_hochberg(table["lrt_pvalue"].to_numpy()))
    unconverged = table.loc[~table["converged"], "gene"].tolist()
    if unconverged:
        shown = ", ".join(unconverged[:10]) + (" ..." if len(unconverged) > 10 else "")
        warnings.warn(
            f"The NB/ZINB fits of {len(unconverged)} genes did not converge in {max_iter} iterations "
            f"({shown}); they get no p-value and are not called. Raise max_iter to test them.",
            RuntimeWarning,
            stacklevel=2,
        )
    return table


def zinb_lrt_by_label(
    adata: AnnData,
    labels_key: str,
    layer: str | None = "counts",
    batch_key: str | None = None,
    offsets: np.ndarray | None = None,
    labels: list[str] | None = None,
    **kwargs,
) -> pd.DataFrame:
    """The test within each cell type: one p- and q-value per gene and cell type.

    Parameters
    ----------
    adata
        Cells x genes with raw counts.
    labels_key
        Column of ``adata.obs`` with the cell types.
    layer, batch_key, offsets
        As in :func:`zinb_lrt` (offsets are cut to each type's cells).
    labels
        Cell types to test, in the order wanted (e.g. ``registry_labels(model)``); None
        takes them sorted.
    **kwargs
        Passed to :func:`zinb_lrt` (``max_iter``, ``tol``, ``chunk_size``).

    Returns
    -------
    pandas.DataFrame
        Label-major rows ``gene, label, lrt_statistic, lrt_pvalue, lrt_qvalue, zinb_pi,
        converged``. A gene with no counts among a type's cells is untestable there: NaN
        p- and q-values. q-values are Benjamini-Hochberg over all testable pairs.
    """
    validate_obs_key(adata, labels_key, "labels_key")
    cell_labels = adata.obs[labels_key].astype(str).to_numpy()
    labels = sorted(set(cell_labels)) if labels is None else [str(label) for label in labels]
    parts = []
    for label in labels:
        cells = np.flatnonzero(cell_labels == label)
        subset = adata[cells]
        if batch_key is not None and subset.obs[batch_key].nunique() < 2:
            label_batch_key = None
        else:
            label_batch_key = batch_key
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = zinb_lrt(
                subset,
                layer=layer,
                batch_key=label_batch_key,
                offsets=None if offsets is None else np.asarray(offsets)[cells],
                **kwargs,
            )
        result.insert(1, "label", label)
        parts.append(result)
    table = pd.concat(parts, ignore_index=True)
    table["label"] = pd.Categorical(table["label"], categories=labels)
    table["lrt_qvalue"] = benjamini_hochberg(table["lrt_pvalue"].to_numpy())
    unconverged = table[~table["converged"]]
    if len(unconverged):
        pairs = ", ".join(f"{g} in {lab}" for g, lab in unconverged[["gene", "label"]].head(10).to_numpy())
        warnings.warn(
            f"{len(unconverged)} gene x cell-type fits did not converge ({pairs}); they get no "
            "p-value and are not called.",
            RuntimeWarning,
            stacklevel=2,
        )
    return table[["gene", "label", "lrt_statistic", "lrt_pvalue", "lrt_qvalue", "zinb_pi", "converged"]]


def calibrated_call(lrt_qvalue: np.ndarray, fdr: float = 0.05) -> np.ndarray:
    """The recommended ZI call from the test's q-values: ``q < fdr``; untestable (NaN) is not called.

    Parameters
    ----------
    lrt_qvalue
        ``lrt_qvalue`` column of :func:`zinb_lrt` (run with the offsets of
        :func:`autozi_tutorial.latent_log_means` for the recommended call).
    fdr
        Target false discovery rate, in (0, 1).

    Returns
    -------
    numpy.ndarray
        Boolean calls.
    """
    if not 0.0 < fdr < 1.0:
        raise ValueError(f"fdr must be in (0, 1), got {fdr}.")
    with np.errstate(invalid="ignore"):
        return np.asarray(lrt_qvalue, dtype=np.float64) < fdr
