"""Poisson distribution with mean mu (k: integer counts, a constant)."""
import numpy as np

from ...ops.elementwise import exp, log
from ...ops._util import data_of
from ..special import xlogy, gammaln, gammaincc


def logpmf(k, mu, loc=0):
    """k log(mu) - mu - gammaln(k + 1) for integer k >= 0; -inf otherwise, a constant there
    (gradient 0 in mu)."""
    k = np.asarray(data_of(k)) - loc
    ok = (k >= 0) & (k == np.floor(k))
    kk = np.where(ok, k, 0.0)
    out = xlogy(kk, mu) - mu - gammaln(kk + 1.0)
    return out * np.where(ok, 1.0, 0.0) + np.where(ok, 0.0, -np.inf)


def pmf(k, mu, loc=0):
    return exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    """Q(floor(k) + 1, mu) (0 for k < 0); gradient in mu."""
    k = np.floor(np.asarray(data_of(k)) - loc)
    ok = k >= 0
    return gammaincc(np.where(ok, k, 0.0) + 1.0, mu) * np.where(ok, 1.0, 0.0)


def logcdf(k, mu, loc=0):
    """log Q(floor(k) + 1, mu); -inf for k < 0, a constant there (gradient 0 in mu, not the
    nan of log 0)."""
    k = np.floor(np.asarray(data_of(k)) - loc)
    ok = k >= 0
    return (log(gammaincc(np.where(ok, k, 0.0) + 1.0, mu)) * np.where(ok, 1.0, 0.0)
            + np.where(ok, 0.0, -np.inf))


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.poisson.rvs(*args, **kwargs)
