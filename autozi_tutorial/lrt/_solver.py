"""Fitting NB and ZINB models to every gene of a chunk at once: projected damped Newton.

The per-gene gradient and Hessian come from the per-entry terms of
:mod:`autozi_tutorial.lrt._likelihood`, summed within the cell groups of a
:class:`~autozi_tutorial.lrt._design.Design`, and each gene's Newton system is solved by
Cholesky. A fit has converged when its Newton decrement (the gain in log-likelihood that one
more full step would bring) is below ``tol``; parameters held at a bound (pi = 0, or an
infinite dispersion) are left out of that measure. :func:`test_chunk` fits the NB, the ZINB
from the NB optimum, and refits the NB from the NB with the ZINB optimum's mean and variance,
so the statistic is positive only when the ZINB beats the best NB fit found.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._design import Design
from ._likelihood import _entry_terms

#: Bounds of log(theta): theta from 4.5e-5 (extreme overdispersion) to 6.6e7 (Poisson).
LOG_THETA_BOUNDS = (-10.0, 18.0)
#: Bounds of the log-mean covariates: a cell type without counts for a gene reaches e^-30
#: (no expression) instead of running off to minus infinity.
BETA_BOUNDS = (-30.0, 30.0)
#: Largest zero-inflation probability a ZINB fit may take.
MAX_PI = 0.999
#: log(theta) above which a rising dispersion is tried at the Poisson bound directly.
POISSON_PROBE = 6.0


@dataclass
class _Fit:
    """Per-gene parameters and state of one model over the genes of a chunk."""

    beta: torch.Tensor  # p x genes
    phi: torch.Tensor  # d x genes (log theta per dispersion group)
    pi: torch.Tensor | None  # genes, None for the NB
    log_lik: torch.Tensor  # genes
    converged: torch.Tensor  # genes, bool


def _log_theta(design: Design, phi: torch.Tensor) -> torch.Tensor:
    """Per-entry log(theta): a 1 x genes row (broadcast) with one dispersion per gene."""
    return phi if design.one_dispersion else design.disp @ phi


def _gene_log_lik(y, offset, design: Design, beta, phi, pi) -> torch.Tensor:
    eta = offset + design.mean @ beta
    psi = _log_theta(design, phi)
    return _entry_terms(y, eta, psi, pi, derivatives=False).log_lik.sum(0)


def _gradient_and_hessian(y, offset, design: Design, beta, phi, pi):
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
        rows.append(torch.ones(len(design.mean_rows), 1, dtype=y.dtype, device=y.device))
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
    eye = torch.eye(k, dtype=gradient.dtype, device=gradient.device)
    mask = free[:, :, None] & free[:, None, :]
    neg_h = torch.where(mask, -hessian, 0.0) + torch.diag_embed((~free).to(gradient.dtype))
    g = torch.where(free, gradient, 0.0)
    scale = neg_h.diagonal(dim1=1, dim2=2).abs().amax(1).clamp_min(1e-12)
    damping = torch.zeros(len(g), dtype=g.dtype, device=g.device)
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
    design: Design,
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
    converged = torch.zeros(n_genes, dtype=torch.bool, device=y.device)
    active = torch.arange(n_genes, device=y.device)
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
        done = done | torch.isin(torch.arange(len(active), device=y.device), pending)
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


def _nb_start(y: torch.Tensor, offset: torch.Tensor, design: Design) -> tuple[torch.Tensor, torch.Tensor]:
    """Starting values: per cell type, log(sum of counts / sum of offsets' means); theta by moments."""
    n_labels = design.n_label_columns
    labels = design.mean[:, :n_labels]
    scale = offset.exp().expand_as(y)
    beta = torch.zeros(design.mean.shape[1], y.shape[1], dtype=y.dtype, device=y.device)
    beta[:n_labels] = torch.log((labels.T @ y + 0.5) / (labels.T @ scale + 0.5))
    mean = (offset + design.mean @ beta).exp()
    excess = ((y - mean) ** 2 - y).mean(0)
    theta = (mean**2).mean(0) / excess.clamp_min(1e-8)
    # Start at a moderate dispersion: near the Poisson limit the likelihood is flat in theta,
    # and Newton steps from there creep; from below they reach that limit in a few steps.
    phi = torch.log(theta).clamp(LOG_THETA_BOUNDS[0], 3.0).expand(design.disp.shape[1], -1).clone()
    return beta, phi


def _excess_zeros(y: torch.Tensor, offset: torch.Tensor, design: Design, fit: _Fit) -> torch.Tensor:
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


def test_chunk(
    y, offset, design: Design, max_iter: int, tol: float
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
        "statistic": torch.where(gain > tol, 2.0 * gain, 0.0),
        "extra_zeros": zinb.pi,
        "dispersion": nb.phi.mean(0).exp(),
        "nb_log_lik": nb.log_lik,
        "zinb_log_lik": zinb.log_lik,
        "converged": nb.converged & zinb.converged,
    }
    return columns, nb, zinb
