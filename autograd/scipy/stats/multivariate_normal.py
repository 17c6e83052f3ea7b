"""Multivariate normal N(mean, cov), through the Cholesky factor of cov.

cov is symmetrized first, so its gradient is the symmetric one (scipy reads a symmetric cov;
HIPS autograd and JAX report the symmetric gradient too).  x : shape-(d,) or (..., d).
"""
import math

import numpy as np

from ...ops.elementwise import exp, log
from ...ops.reduce import sum as _sum
from ...errors import InvalidValueError, GraphError
from ...ops.shape import transpose, reshape
from ...ops import decomp
from ...ops.elementwise import where
from ...ops.linalg import matmul
from ...ops._util import data_of
from ...tensor import Tensor


def _psd_spectrum(cov, d):
    """eigh of the symmetrized cov's values and scipy's cut-off for a zero eigenvalue
    (1e6 machine epsilons times the largest |eigenvalue|, as scipy.stats)."""
    c = np.asarray(data_of(cov), dtype=np.float64)
    s, u = np.linalg.eigh(0.5 * (c + c.T))
    eps = 1e6 * np.finfo(np.float64).eps * np.max(np.abs(s))
    if s.min() < -eps:
        raise InvalidValueError(f"multivariate_normal: cov (shape {c.shape}) is not positive "
                                f"semidefinite (smallest eigenvalue {s.min():.3g})")
    return s, u, eps


def _logpdf_singular(diff, cov, d):
    """scipy's allow_singular=True density: on the support (the range of cov) the normal of
    cov's rank r, with cov's pseudo-determinant and pseudo-inverse; -inf off the support.
    cov is a constant here (its gradient is refused by the caller)."""
    s, u, eps = _psd_spectrum(cov, d)
    keep = s > eps
    ur, sr, null = u[:, keep], s[keep], u[:, ~keep]
    proj = matmul(diff, ur)                                   # coordinates in the range
    maha = _sum(proj * proj / sr, axis=-1)
    val = -0.5 * (keep.sum() * math.log(2 * math.pi) + np.sum(np.log(sr)) + maha)
    off = np.linalg.norm(np.asarray(data_of(diff)) @ null, axis=-1) >= eps
    return where(off, -np.inf, val) if np.any(off) else val


def logpdf(x, mean=None, cov=1, allow_singular=False):
    """-(d log(2 pi) + log det(cov) + (x-mean)^T cov^-1 (x-mean)) / 2.

    ``allow_singular=True``: a singular (positive semidefinite) cov gives scipy's density on
    its support (rank, pseudo-determinant, pseudo-inverse; -inf off the support),
    differentiable in x and mean; its gradient in a singular cov is refused (GraphError).
    A positive definite cov takes the Cholesky path either way."""
    diff = x if mean is None else x - mean
    if np.ndim(diff) == 0:
        diff = reshape(diff, (1,))
    d = np.shape(diff)[-1]
    cov = cov if np.ndim(cov) == 2 else np.eye(d) * cov
    if allow_singular:
        s, _, eps = _psd_spectrum(cov, d)
        if s.min() <= eps:
            if isinstance(cov, Tensor) and cov.requires_grad:
                raise GraphError("multivariate_normal.logpdf: with allow_singular=True and a "
                                 f"singular cov (shape {np.shape(cov)}) the gradient with "
                                 "respect to cov is not implemented; pass cov as a constant")
            return _logpdf_singular(diff, cov, d)
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
