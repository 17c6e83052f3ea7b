"""Multivariate normal N(mean, cov), through the Cholesky factor of cov.

cov is symmetrized first, so its gradient is the symmetric one (scipy reads a symmetric cov;
HIPS autograd and JAX report the symmetric gradient too).  x : shape-(d,) or (..., d).
"""
import math

import numpy as np

from ...ops.elementwise import exp, log
from ...ops.reduce import sum as _sum
from ...errors import InvalidValueError
from ...ops.shape import transpose, reshape
from ...ops import decomp


def logpdf(x, mean=None, cov=1, allow_singular=False):
    """-(d log(2 pi) + log det(cov) + (x-mean)^T cov^-1 (x-mean)) / 2."""
    if allow_singular:
        raise InvalidValueError("multivariate_normal.logpdf: allow_singular=True is not "
                                "supported (the Cholesky factor needs a positive definite cov)")
    diff = x if mean is None else x - mean
    if np.ndim(diff) == 0:
        diff = reshape(diff, (1,))
    d = np.shape(diff)[-1]
    cov = cov if np.ndim(cov) == 2 else np.eye(d) * cov
    L = decomp.cholesky(0.5 * (cov + transpose(cov)))
    z = decomp.solve(L, transpose(reshape(diff, (-1, d))))          # L^-1 (x - mean): (d, N)
    maha = reshape(_sum(z * z, axis=0), np.shape(diff)[:-1])
    logdet = 2.0 * _sum(log(decomp._diag_part(L)))
    return -0.5 * (d * math.log(2 * math.pi) + logdet + maha)


def pdf(x, mean=None, cov=1, allow_singular=False):
    return exp(logpdf(x, mean, cov, allow_singular))


def entropy(mean=None, cov=1):
    """(d (1 + log(2 pi)) + log det(cov)) / 2."""
    d = np.shape(cov)[-1] if np.ndim(cov) == 2 else 1
    cov = cov if np.ndim(cov) == 2 else np.eye(d) * cov
    L = decomp.cholesky(0.5 * (cov + transpose(cov)))
    return 0.5 * (d * (1.0 + math.log(2 * math.pi)) + 2.0 * _sum(log(decomp._diag_part(L))))


def rvs(*args, **kwargs):
    """scipy's sampler, passed through (samples carry no gradient)."""
    import scipy.stats
    return scipy.stats.multivariate_normal.rvs(*args, **kwargs)
