"""Gamma distribution with shape a (scipy's parametrisation: loc, scale)."""
from ...ops.elementwise import exp, log
from ..special import gammaln, gammainc


def logpdf(x, a, loc=0.0, scale=1.0):
    """(a-1) log z - z - gammaln(a) - log(scale), z = (x - loc)/scale > 0."""
    z = (x - loc) / scale
    return (a - 1.0) * log(z) - z - gammaln(a) - log(scale)


def pdf(x, a, loc=0.0, scale=1.0):
    return exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0.0, scale=1.0):
    """P(a, z); differentiable in x, loc, scale (a: raises)."""
    return gammainc(a, (x - loc) / scale)


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.gamma.rvs(*args, **kwargs)
