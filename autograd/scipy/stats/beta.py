"""Beta distribution with shapes a, b."""
from ...ops.elementwise import exp, log, log1p
from ..special import betaln, betainc
from .gamma import log_of_cdf


def logpdf(x, a, b, loc=0.0, scale=1.0):
    """(a-1) log z + (b-1) log(1-z) - betaln(a, b) - log(scale), z in (0, 1)."""
    z = (x - loc) / scale
    return (a - 1.0) * log(z) + (b - 1.0) * log1p(-z) - betaln(a, b) - log(scale)


def pdf(x, a, b, loc=0.0, scale=1.0):
    return exp(logpdf(x, a, b, loc, scale))


def cdf(x, a, b, loc=0.0, scale=1.0):
    """I_z(a, b); differentiable in x, loc, scale (a, b: raise)."""
    return betainc(a, b, (x - loc) / scale)


def logcdf(x, a, b, loc=0.0, scale=1.0):
    """log I_z(a, b); where I > 1/2 as log1p(-I_{1-z}(b, a)), exact in the upper tail.
    Differentiable in x, loc, scale (a, b: raise)."""
    z = (x - loc) / scale
    return log_of_cdf(betainc(a, b, z), lambda: betainc(b, a, 1.0 - z))


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.beta.rvs(*args, **kwargs)
