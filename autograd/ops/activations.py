"""softmax, log_softmax, logsumexp (stable for logits of any size) and gelu."""
from __future__ import annotations

import math

import numpy as np

from ..registry import primitive
from .. import kernels as K
from ._util import normalize_axis
from .elementwise import exp, tanh, clip
from .reduce import sum, expand_reduced

__all__ = ["softmax", "log_softmax", "logsumexp", "gelu"]


def _shifted(x, axis):
    """x - max(x) along axis (finite maxima only), so exp never overflows."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
    return x - m, m


def _ref_lse(x, axis=None, keepdims=False):
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)      # a row of -inf has logsumexp -inf, not NaN
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis)


@primitive(library=True, domain=[None], reference=_ref_lse)
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, shifted by the max: finite for logits of +-1000."""
    normalize_axis("logsumexp", axis, x.ndim)
    z, m = _shifted(x, axis)
    out = np.log(np.sum(np.exp(z), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _lse_vjp(g, out, x, axis=None, keepdims=False):
    # d lse = softmax(x) dx = exp(x - lse) dx
    return expand_reduced(g, x, axis, keepdims) * exp(x - expand_reduced(out, x, axis, keepdims))


logsumexp.defvjp(_lse_vjp)


def _ref_shifted(x, axis):
    """float64 x - max(x) (finite maxima only): no cancellation against a huge lse."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(m), m, 0.0)


def _ref_softmax(x, axis=-1):
    e = np.exp(_ref_shifted(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _ref_log_softmax(x, axis=-1):
    z = _ref_shifted(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@primitive(library=True, domain=[None], reference=_ref_softmax)
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (shifted by the max, so stable)."""
    normalize_axis("softmax", axis, x.ndim)
    z, _ = _shifted(x, axis)
    e = np.exp(z)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


softmax.defvjp(lambda g, out, x, axis=-1:          # J^T g = s * (g - <g, s>)
               out * (g - sum(g * out, axis=axis, keepdims=True)))


@primitive(library=True, domain=[None], reference=_ref_log_softmax)
def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis`` (stable)."""
    normalize_axis("log_softmax", axis, x.ndim)
    z, _ = _shifted(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


log_softmax.defvjp(lambda g, out, x, axis=-1:      # J^T g = g - softmax * sum(g)
                   g - exp(out) * sum(g, axis=axis, keepdims=True))


_C = math.sqrt(2.0 / math.pi)
_A = 0.044715


def _ref_gelu(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + np.tanh(_C * (x + _A * x ** 3)))


@primitive(library=True, domain=[None], reference=_ref_gelu)
def gelu(x):
    """GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    This is the approximation of GPT-2, Keras ``gelu(approximate=True)`` and PyTorch
    ``gelu(approximate='tanh')``; it differs from the erf form by < 1e-3.
    """
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return K.activation(x, 5)
    inner = x * x
    inner *= _A
    inner += 1.0
    inner *= x
    inner *= _C
    t = np.tanh(inner)
    t += 1.0
    t *= 0.5
    t *= x
    return t


_GELU_FLAT = 10.0


def _gelu_vjp(g, out, x):
    # d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) C (1 + 3 A x^2),  t = tanh(C (x + A x^3));
    # x clipped to +-10 first (the sech^2 term is < 1e-35 there; x^2 would overflow to inf*0)
    x = clip(x, -_GELU_FLAT, _GELU_FLAT)
    x2 = x * x
    t = tanh((x + x2 * x * _A) * _C)
    return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * (_C * (1.0 + 3.0 * _A * x2)))


gelu.defvjp(_gelu_vjp)
gelu.defvjp_fast(lambda g, out, x: K.activation_grad(g, x, 5))
