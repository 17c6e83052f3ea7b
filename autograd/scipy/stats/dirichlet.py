"""Dirichlet distribution with concentrations alpha (shape-(K,)); x : shape-(K,) or (K, N)
(scipy's layout: the simplex coordinates along the first axis)."""
import numpy as np

from ...ops.elementwise import exp, log
from ...ops.reduce import sum as _sum
from ...ops.shape import reshape
from ..special import gammaln


def logpdf(x, alpha):
    """sum((alpha - 1) log x) + gammaln(sum alpha) - sum gammaln(alpha)."""
    a = alpha if np.ndim(x) == 1 else reshape(alpha, (-1, 1))
    return _sum((a - 1.0) * log(x), axis=0) + gammaln(_sum(alpha)) - _sum(gammaln(alpha))


def pdf(x, alpha):
    return exp(logpdf(x, alpha))


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.dirichlet.rvs(*args, **kwargs)
