"""Per-entry NB and ZINB log-likelihood terms and their derivatives, exact in float64.

Everything here works on cells x genes tensors at once. With r = mu / (theta + mu) and
sp = log(1 + mu / theta), the NB log-probability of a count y (without log y!) is
``lgamma(y + theta) - lgamma(theta) - theta * sp + y * (eta - psi - sp)``, with eta = log mu
and psi = log theta; a zero of the ZINB has probability pi + (1 - pi) NB(0). Differences of
gamma-type functions use asymptotic series where theta is large, where the direct
differences lose their digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: Theta above which lgamma/digamma/trigamma differences use their asymptotic series.
SERIES_MIN_THETA = 100.0


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
