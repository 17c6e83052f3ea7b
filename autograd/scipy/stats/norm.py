"""Normal distribution N(loc, scale^2)."""
import math

from ...ops.elementwise import exp, log
from ..special import ndtr, log_ndtr

_LOG_2PI = math.log(2 * math.pi)


def logpdf(x, loc=0.0, scale=1.0):
    """-((x - loc)/scale)^2 / 2 - log(scale) - log(2 pi) / 2."""
    z = (x - loc) / scale
    return -0.5 * z * z - log(scale) - 0.5 * _LOG_2PI


def pdf(x, loc=0.0, scale=1.0):
    return exp(logpdf(x, loc, scale))


def cdf(x, loc=0.0, scale=1.0):
    return ndtr((x - loc) / scale)


def logcdf(x, loc=0.0, scale=1.0):
    return log_ndtr((x - loc) / scale)


def sf(x, loc=0.0, scale=1.0):
    """1 - cdf, computed as cdf(-z) (no cancellation)."""
    return ndtr(-(x - loc) / scale)


def logsf(x, loc=0.0, scale=1.0):
    return log_ndtr(-(x - loc) / scale)


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.norm.rvs(*args, **kwargs)
