"""``autograd.scipy.special``: scipy's special functions as primitives.

Each is elementwise (numpy broadcasting), its forward is scipy's, and its vjp is written with
these same primitives (so second order works: ``gamma' = gamma * digamma``,
``digamma' = polygamma(1, .)``, ``jn' = (jn(n-1) - jn(n+1)) / 2``, ...).  Arguments that are
orders (``polygamma``'s n, ``iv``'s v, ``jn``'s n) are static.  Where a gradient is not
implemented (``betainc`` in a and b, ``gammainc`` in a), asking for it raises GraphError:
it is never silently zero.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.special as sc

from ..errors import GraphError
from ..registry import primitive
from ..ops.elementwise import exp, log, sqrt, where, log1p, sign, abs as _abs
from ..ops.reduce import sum as _sum
from ..ops.activations import logsumexp as _lse
from ..ops._util import data_of

__all__ = ["gamma", "gammaln", "digamma", "psi", "polygamma", "rgamma", "multigammaln",
           "beta", "betaln", "betainc", "gammainc", "gammaincc", "erf", "erfc", "erfinv",
           "erfcinv", "expit", "logit", "logsumexp", "xlogy", "xlog1py", "entr", "i0", "i1",
           "iv", "ive", "j0", "j1", "jn", "y0", "y1", "yn", "log_ndtr", "ndtr", "ndtri", "gammasgn"]

_POS = [(0.0, None)]
_ANY = [None]
_SQRT_2PI = math.sqrt(2 * math.pi)


def _unary(fn, name, domain, deriv, doc, complex=False):
    """A primitive ``name`` with forward ``fn`` and vjp ``g * deriv(x, out)`` (``complex``:
    holomorphic, so the same vjp serves complex x under the convention of ops/complex)."""
    p = primitive(lambda x: fn(x), name=name, library=False, domain=domain, reference=fn,
                  nin=1, complex=complex)
    p.__doc__ = f"scipy.special.{name}(x), elementwise; d/dx = {doc}"
    p.defvjp(lambda g, out, x: g * deriv(x, out))
    return p


# ----------------------------------------------------------------------------- gamma family
gamma = _unary(sc.gamma, "gamma", _POS, lambda x, out: out * digamma(x),
               "gamma(x) digamma(x)")
gammaln = _unary(sc.gammaln, "gammaln", _POS, lambda x, out: digamma(x),
                 "digamma(x)")
digamma = _unary(sc.digamma, "digamma", _POS, lambda x, out: _polygamma(x, n=1),
                 "polygamma(1, x)")
psi = digamma
rgamma = _unary(sc.rgamma, "rgamma", _POS, lambda x, out: -out * digamma(x),
                "-rgamma(x) digamma(x)")


@primitive(name="polygamma", library=False, domain=_POS, nin=1,
           reference=lambda x, n: sc.polygamma(n, x))
def _polygamma(x, n):
    """polygamma(n, x): the n-th derivative of digamma; d/dx = polygamma(n + 1, x)."""
    return sc.polygamma(n, x)


_polygamma.defvjp(lambda g, out, x, n: g * _polygamma(x, n=n + 1))


def polygamma(n, x):
    """scipy.special.polygamma(n, x); n a non-negative integer (static)."""
    return _polygamma(x, n=int(n))


def multigammaln(a, d):
    """log of the multivariate gamma function of dimension d (static):
    ``d (d-1)/4 log(pi) + sum_j gammaln(a - j/2)``, j = 0..d-1 (a composition)."""
    d = int(d)
    out = d * (d - 1) / 4.0 * math.log(math.pi)
    for j in range(d):
        out = out + gammaln(a - 0.5 * j)
    return out


@primitive(name="beta", library=False, domain=[(0.0, None), (0.0, None)], reference=sc.beta)
def beta(a, b):
    """B(a, b) = gamma(a) gamma(b) / gamma(a + b); d/da = B (digamma(a) - digamma(a + b))."""
    return sc.beta(a, b)


beta.defvjp(lambda g, out, a, b: g * out * (digamma(a) - digamma(a + b)),
            lambda g, out, a, b: g * out * (digamma(b) - digamma(a + b)))


@primitive(name="betaln", library=False, domain=[(0.0, None), (0.0, None)], reference=sc.betaln)
def betaln(a, b):
    """log |B(a, b)|; d/da = digamma(a) - digamma(a + b)."""
    return sc.betaln(a, b)


betaln.defvjp(lambda g, out, a, b: g * (digamma(a) - digamma(a + b)),
              lambda g, out, a, b: g * (digamma(b) - digamma(a + b)))


def _no_grad(name, arg):
    def vjp(g, out, *args):
        raise GraphError(f"{name}: the gradient with respect to {arg} is not implemented (only "
                         f"with respect to x); pass {arg} as a constant")
    return vjp


@primitive(name="betainc", library=False, domain=[(0.0, None), (0.0, None), (0.0, 1.0)],
           reference=sc.betainc)
def betainc(a, b, x):
    """Regularized incomplete beta I_x(a, b); differentiable in x only:
    d/dx = x^(a-1) (1-x)^(b-1) / B(a, b)."""
    return sc.betainc(a, b, x)


betainc.defvjp(_no_grad("betainc", "a"), _no_grad("betainc", "b"),
               lambda g, out, a, b, x: g * exp((a - 1.0) * log(x) + (b - 1.0) * log1p(-x)
                                               - betaln(a, b)))


@primitive(name="gammainc", library=False, domain=[(0.0, None), (0.0, None)],
           reference=sc.gammainc)
def gammainc(a, x):
    """Regularized lower incomplete gamma P(a, x); differentiable in x only:
    d/dx = x^(a-1) e^-x / gamma(a)."""
    return sc.gammainc(a, x)


def _gammainc_dx(a, x):
    return exp((a - 1.0) * log(x) - x - gammaln(a))


gammainc.defvjp(_no_grad("gammainc", "a"), lambda g, out, a, x: g * _gammainc_dx(a, x))


@primitive(name="gammaincc", library=False, domain=[(0.0, None), (0.0, None)],
           reference=sc.gammaincc)
def gammaincc(a, x):
    """Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x); differentiable in x only."""
    return sc.gammaincc(a, x)


gammaincc.defvjp(_no_grad("gammaincc", "a"), lambda g, out, a, x: -g * _gammainc_dx(a, x))


# ----------------------------------------------------------------------------- error function
erf = _unary(sc.erf, "erf", _ANY, lambda x, out: (2.0 / math.sqrt(math.pi)) * exp(-x * x),
             "2/sqrt(pi) exp(-x^2)", complex=True)
erfc = _unary(sc.erfc, "erfc", _ANY, lambda x, out: (-2.0 / math.sqrt(math.pi)) * exp(-x * x),
              "-2/sqrt(pi) exp(-x^2)", complex=True)
erfinv = _unary(sc.erfinv, "erfinv", [(-1.0, 1.0)],
                lambda x, out: (math.sqrt(math.pi) / 2.0) * exp(out * out),
                "sqrt(pi)/2 exp(erfinv(x)^2)")
erfcinv = _unary(sc.erfcinv, "erfcinv", [(0.0, 2.0)],
                 lambda x, out: (-math.sqrt(math.pi) / 2.0) * exp(out * out),
                 "-sqrt(pi)/2 exp(erfcinv(x)^2)")
ndtr = _unary(sc.ndtr, "ndtr", _ANY, lambda x, out: exp(-0.5 * x * x) / _SQRT_2PI,
              "exp(-x^2/2) / sqrt(2 pi)")
log_ndtr = _unary(sc.log_ndtr, "log_ndtr", _ANY,
                  lambda x, out: exp(-0.5 * x * x - out) / _SQRT_2PI,
                  "phi(x) / Phi(x) = exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi) (stable)")
ndtri = _unary(sc.ndtri, "ndtri", [(0.0, 1.0)],
               lambda x, out: _SQRT_2PI * exp(0.5 * out * out),
               "sqrt(2 pi) exp(ndtri(x)^2 / 2)")

# ----------------------------------------------------------------------------- logistic
expit = _unary(sc.expit, "expit", _ANY, lambda x, out: out * (1.0 - out),
               "expit(x) (1 - expit(x))")
logit = _unary(sc.logit, "logit", [(0.0, 1.0)], lambda x, out: 1.0 / (x * (1.0 - x)),
               "1 / (x (1 - x))")


# ----------------------------------------------------------------------------- x log y
@primitive(name="xlogy", library=False, domain=[None, (0.0, None)], reference=sc.xlogy)
def xlogy(x, y):
    """x log(y), 0 where x == 0; d/dx = log(y) (0 where x == y == 0), d/dy = x / y."""
    return sc.xlogy(x, y)


def _both_zero(x, y, y0):
    return (np.asarray(data_of(x)) == 0) & (np.asarray(data_of(y)) == y0)


# d/dx is log(y) (x log y is smooth in x); at x == 0 and y == 0, where scipy defines 0, it is 0
xlogy.defvjp(lambda g, out, x, y: g * where(_both_zero(x, y, 0.0), 0.0, log(y)),
             lambda g, out, x, y: g * x / y)


@primitive(name="xlog1py", library=False, domain=[None, (-1.0, None)], reference=sc.xlog1py)
def xlog1py(x, y):
    """x log(1 + y), 0 where x == 0; d/dx = log1p(y) (0 where x == 0, y == -1),
    d/dy = x / (1 + y)."""
    return sc.xlog1py(x, y)


xlog1py.defvjp(lambda g, out, x, y: g * where(_both_zero(x, y, -1.0), 0.0, log1p(y)),
               lambda g, out, x, y: g * x / (1.0 + y))

entr = _unary(sc.entr, "entr", _POS, lambda x, out: -(log(x) + 1.0),
              "-(log(x) + 1)")


# ----------------------------------------------------------------------------- Bessel
def _ordered(name, fn, domain, deriv, doc):
    """A primitive ``fn(v, x)`` with the order v static: ``name(x, v=...)``."""
    p = primitive(lambda x, v: fn(v, x), name=name, library=False, domain=domain, nin=1,
                  reference=lambda x, v: fn(v, x))
    p.__doc__ = doc
    p.defvjp(lambda g, out, x, v: g * deriv(x, v, out))
    return p


_iv = _ordered("iv", sc.iv, _ANY, lambda x, v, out: 0.5 * (_iv(x, v=v - 1) + _iv(x, v=v + 1)),
               "modified Bessel I_v(x); d/dx = (I_{v-1} + I_{v+1}) / 2")
_ive = _ordered("ive", sc.ive, _ANY,
                lambda x, v, out: 0.5 * (_ive(x, v=v - 1) + _ive(x, v=v + 1))
                - sign(data_of(x)) * out,
                "exponentially scaled I_v(x) e^-|x|; d/dx = (ive_{v-1} + ive_{v+1}) / 2 - "
                "sign(x) ive_v")
_jv = _ordered("jv", sc.jv, _ANY, lambda x, v, out: 0.5 * (_jv(x, v=v - 1) - _jv(x, v=v + 1)),
               "Bessel J_v(x); d/dx = (J_{v-1} - J_{v+1}) / 2")
_yv = _ordered("yv", sc.yv, _POS, lambda x, v, out: 0.5 * (_yv(x, v=v - 1) - _yv(x, v=v + 1)),
               "Bessel Y_v(x), x > 0; d/dx = (Y_{v-1} - Y_{v+1}) / 2")


def iv(v, x):
    """scipy.special.iv(v, x), the order v static."""
    return _iv(x, v=v)


def ive(v, x):
    """scipy.special.ive(v, x), the order v static."""
    return _ive(x, v=v)


def jn(n, x):
    """scipy.special.jn(n, x) (= jv for integer n), the order static."""
    return _jv(x, v=n)


def yn(n, x):
    """scipy.special.yn(n, x) (= yv for integer n), x > 0, the order static."""
    return _yv(x, v=n)


def i0(x):
    """Modified Bessel I_0; d/dx = I_1."""
    return _iv(x, v=0)


def i1(x):
    """Modified Bessel I_1; d/dx = (I_0 + I_2) / 2."""
    return _iv(x, v=1)


def j0(x):
    """Bessel J_0; d/dx = -J_1."""
    return _jv(x, v=0)


def j1(x):
    """Bessel J_1."""
    return _jv(x, v=1)


def y0(x):
    """Bessel Y_0 (x > 0)."""
    return _yv(x, v=0)


def y1(x):
    """Bessel Y_1 (x > 0)."""
    return _yv(x, v=1)


def gammasgn(x):
    """The sign of gamma(x): piecewise constant, so scipy's (no gradient), on the data."""
    return sc.gammasgn(np.asarray(data_of(x)))


# ----------------------------------------------------------------------------- logsumexp
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """scipy.special.logsumexp: ``log |sum(b * exp(a))|`` over ``axis``, stably (the max is
    subtracted first); with ``return_sign`` also the sign of the sum (a constant).
    Differentiable in a and b."""
    if b is None:
        out = _lse(a, axis=axis, keepdims=keepdims)
        if return_sign:
            return out, np.ones(np.shape(data_of(out)))
        return out
    ad = np.asarray(data_of(a), dtype=np.float64)
    m = np.max(ad, axis=axis, keepdims=True) if ad.size else np.zeros((1,) * ad.ndim)
    m = np.where(np.isfinite(m), m, 0.0)                     # a constant shift
    s = _sum(b * exp(a - m), axis=axis, keepdims=True)
    sgn = np.sign(data_of(s))
    out = log(_abs(s)) + m
    if not keepdims:
        from ..ops.shape import squeeze
        out = squeeze(out, axis=axis) if axis is not None else squeeze(out)
        sgn = np.squeeze(sgn, axis=axis) if axis is not None else np.squeeze(sgn)
    if return_sign:
        return out, sgn
    return out
