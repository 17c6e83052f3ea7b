"""Gamma distribution with shape a (scipy's parametrisation: loc, scale)."""
from ...ops.elementwise import exp, log, log1p, where
from ...ops._util import data_of
from ..special import gammaln, gammainc, gammaincc


def logpdf(x, a, loc=0.0, scale=1.0):
    """(a-1) log z - z - gammaln(a) - log(scale), z = (x - loc)/scale > 0."""
    z = (x - loc) / scale
    return (a - 1.0) * log(z) - z - gammaln(a) - log(scale)


def pdf(x, a, loc=0.0, scale=1.0):
    return exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0.0, scale=1.0):
    """P(a, z); differentiable in x, loc, scale (a: raises)."""
    return gammainc(a, (x - loc) / scale)


def logcdf(x, a, loc=0.0, scale=1.0):
    """log P(a, z); where P > 1/2 as log1p(-Q(a, z)), exact in the upper tail where log P
    is tiny.  Differentiable in x, loc, scale (a: raises)."""
    z = (x - loc) / scale
    return log_of_cdf(gammainc(a, z), lambda: gammaincc(a, z))


def log_of_cdf(c, sf):
    """log c, or log1p(-sf()) where c > 1/2; each branch fed a safe value where it is not
    taken, so neither sends a nan gradient through the other's zeros."""
    lo = data_of(c) < 0.5
    return where(lo, log(where(lo, c, 1.0)), log1p(-where(lo, 0.0, sf())))


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.gamma.rvs(*args, **kwargs)
