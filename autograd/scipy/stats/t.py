"""Student's t distribution with df degrees of freedom."""
import math

from ...ops.elementwise import exp, log, log1p, where
from ...ops._util import data_of
from ..special import gammaln, betainc


def logpdf(x, df, loc=0.0, scale=1.0):
    """gammaln((df+1)/2) - gammaln(df/2) - log(pi df)/2 - log(scale)
    - (df+1)/2 log1p(z^2/df), z = (x - loc)/scale."""
    z = (x - loc) / scale
    return (gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * log(math.pi * df)
            - log(scale) - 0.5 * (df + 1.0) * log1p(z * z / df))


def pdf(x, df, loc=0.0, scale=1.0):
    return exp(logpdf(x, df, loc, scale))


def cdf(x, df, loc=0.0, scale=1.0):
    """Through the incomplete beta: for z < 0, I_{df/(df+z^2)}(df/2, 1/2) / 2; for z >= 0,
    one minus that.  Differentiable in x, loc, scale (df: raises)."""
    z = (x - loc) / scale
    tail = 0.5 * betainc(0.5 * df, 0.5, df / (df + z * z))
    return where(data_of(z) < 0, tail, 1.0 - tail)


def logcdf(x, df, loc=0.0, scale=1.0):
    return log(cdf(x, df, loc, scale))


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.t.rvs(*args, **kwargs)
