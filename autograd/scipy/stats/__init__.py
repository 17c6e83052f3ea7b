"""``autograd.scipy.stats``: distributions as compositions of differentiable primitives.

Each distribution is a module (``autograd.scipy.stats.norm``, ...; HIPS autograd's layout)
with scipy's signatures for ``logpdf``/``pdf`` (``logpmf``/``pmf``) and, where scipy has a
closed form here, ``cdf``/``logcdf`` (every distribution but the multivariate ones; ``sf``/
``logsf`` for norm).  Gradients flow to the
data and to every parameter, except the shape parameters inside incomplete beta/gamma
functions (``t.cdf`` in df, ``gamma.cdf`` in a, ``beta.cdf`` in a and b, ``chi2.cdf`` in df),
where asking for one raises instead of returning zero.
"""
from . import norm, t, gamma, beta, chi2, poisson, expon, multivariate_normal, dirichlet  # noqa

__all__ = ["norm", "t", "gamma", "beta", "chi2", "poisson", "expon", "multivariate_normal",
           "dirichlet"]
