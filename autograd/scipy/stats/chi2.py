"""Chi-squared distribution with df degrees of freedom (a gamma with a = df/2, scale 2)."""
from . import gamma as _gamma


def logpdf(x, df, loc=0.0, scale=1.0):
    return _gamma.logpdf(x, 0.5 * df, loc, 2.0 * scale)


def pdf(x, df, loc=0.0, scale=1.0):
    return _gamma.pdf(x, 0.5 * df, loc, 2.0 * scale)


def cdf(x, df, loc=0.0, scale=1.0):
    """P(df/2, z/2); differentiable in x, loc, scale (df: raises)."""
    return _gamma.cdf(x, 0.5 * df, loc, 2.0 * scale)


def logcdf(x, df, loc=0.0, scale=1.0):
    """log P(df/2, z/2); differentiable in x, loc, scale (df: raises)."""
    return _gamma.logcdf(x, 0.5 * df, loc, 2.0 * scale)


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.chi2.rvs(*args, **kwargs)
