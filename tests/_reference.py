"""An exact NB/ZINB log-likelihood, written independently of :mod:`autozi_tutorial.lrt`.

It scores any fit's parameters (ours, statsmodels') on one scale, which the tests and
``benchmarks/bench_lrt.py`` use to check our fits against statsmodels'.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def exact_log_likelihood(
    y: np.ndarray,
    exog: np.ndarray,
    offset: np.ndarray,
    beta: np.ndarray,
    theta: float,
    pi: float = 0.0,
) -> float:
    """Full ZINB log-likelihood of one gene, log(y!) included; NB at ``pi = 0``.

    Parameters
    ----------
    y
        Counts of the gene in each cell.
    exog
        Cells x covariates design of the log-mean.
    offset
        Log-mean offset of each cell.
    beta
        Covariate coefficients.
    theta
        Inverse dispersion; ``numpy.inf`` gives the Poisson limit.
    pi
        Zero-inflation probability.

    Returns
    -------
    float
        The log-likelihood. log Gamma(y + theta) - log Gamma(theta) is summed as
        log(theta + k) over k < y, which stays exact where lgamma differences lose digits at
        large theta.
    """
    mu = np.exp(offset + exog @ beta)
    y = np.asarray(y).astype(np.int64)
    if np.isinf(theta):
        log_pmf = y * np.log(mu) - mu - gammaln(y + 1)
    else:
        rising = np.concatenate([[0.0], np.cumsum(np.log(theta + np.arange(y.max())))])
        log_nb0 = -theta * np.log1p(mu / theta)
        log_pmf = rising[y] - gammaln(y + 1) + log_nb0 + y * (np.log(mu) - np.log(theta + mu))
    if pi == 0:
        return float(log_pmf.sum())
    zero = np.log(pi + (1 - pi) * np.exp(log_pmf))
    return float(np.where(y == 0, zero, np.log1p(-pi) + log_pmf).sum())
