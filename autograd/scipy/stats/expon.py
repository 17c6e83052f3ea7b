"""Exponential distribution (scipy's: rate 1/scale, shifted by loc)."""
from ...ops.elementwise import exp, log, log1p, expm1


def logpdf(x, loc=0.0, scale=1.0):
    """-z - log(scale), z = (x - loc)/scale >= 0."""
    z = (x - loc) / scale
    return -z - log(scale)


def pdf(x, loc=0.0, scale=1.0):
    return exp(logpdf(x, loc, scale))


def cdf(x, loc=0.0, scale=1.0):
    """1 - exp(-z), as -expm1(-z)."""
    return -expm1(-(x - loc) / scale)


def logcdf(x, loc=0.0, scale=1.0):
    """log(1 - exp(-z)) as log(-expm1(-z)): exact near z = 0, where 1 - exp(-z) cancels."""
    return log(-expm1(-(x - loc) / scale))


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.expon.rvs(*args, **kwargs)
