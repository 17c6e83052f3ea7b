"""Elementwise primitives.  Broadcasting follows numpy; the engine unbroadcasts gradients.

Each vjp is written with this library's own functions, so it runs on ndarrays in an
ordinary backward and records a graph under ``create_graph`` (higher-order gradients).
"""
from __future__ import annotations

import numpy as np

from ..registry import primitive, at_points
from .. import kernels as K
from ._util import data_of

__all__ = ["add", "subtract", "multiply", "divide", "negative", "power", "exp", "log", "sqrt",
           "abs", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "clip", "maximum",
           "minimum", "where", "square"]

_POS = [(0.0, None)]
_ANY1 = [None]          # one input, unbounded
_ANY2 = [None, None]    # two inputs, unbounded

# ----------------------------------------------------------------------------- arithmetic
add = primitive(np.add, name="add", library=True, domain=_ANY2)
add.defvjp(lambda g, out, x, y: g,                 # d(x + y) = dx + dy
           lambda g, out, x, y: g)

subtract = primitive(np.subtract, name="subtract", library=True, domain=_ANY2)
subtract.defvjp(lambda g, out, x, y: g,            # d(x - y) = dx - dy
                lambda g, out, x, y: negative(g))

multiply = primitive(np.multiply, name="multiply", library=True, domain=_ANY2)
multiply.defvjp(lambda g, out, x, y: g * y,        # d(xy) = y dx + x dy
                lambda g, out, x, y: g * x)

divide = primitive(np.divide, name="divide", library=True, domain=[None, (0.0, None)])
divide.defvjp(lambda g, out, x, y: g / y,          # d(x/y) = dx/y - x dy/y^2
              lambda g, out, x, y: negative(g) * x / (y * y))

negative = primitive(np.negative, name="negative", library=True, domain=_ANY1)
negative.defvjp(lambda g, out, x: negative(g))


def _safe_log_abs(x):
    """log|x| with log|0| read as 0: the x-factor of d(x**y)/dy where x**y is 0 or real."""
    xd = data_of(x)
    return log(abs(where(xd == 0, 1.0, x)))


def _power_dx(g, out, x, y):
    # d(x**y)/dx = y * x**(y-1); taken as 0 at x == y == 0 (where it reads 0 * inf).
    # Only there: elsewhere y == 0 still has d/dy (y x**(y-1)) = 1/x, needed by grad of grad.
    zero = (data_of(y) == 0) & (data_of(x) == 0)
    return where(zero, 0.0, g * y * power(where(zero, 1.0, x), y - 1))


def _power_dy(g, out, x, y):
    # d(x**y)/dy = x**y * log(x), real part for x < 0; 0 at x == 0 (complex x: log x)
    xd = data_of(x)
    if np.iscomplexobj(xd):
        return g * out * log(where(xd == 0, 1.0, x))
    return g * out * _safe_log_abs(x)


power = primitive(np.power, name="power", library=True, domain=[(0.0, None), None])
power.defvjp(_power_dx, _power_dy)


def square(x):
    """``x * x`` (a composition, not a primitive)."""
    return multiply(x, x)


# ----------------------------------------------------------------------------- smooth unary
exp = primitive(np.exp, name="exp", library=True, domain=[(None, 20.0)])
exp.defvjp(lambda g, out, x: g * out)              # d exp(x) = exp(x) dx

log = primitive(np.log, name="log", library=True, domain=_POS)
log.defvjp(lambda g, out, x: g / x)                # d log(x) = dx / x

sqrt = primitive(np.sqrt, name="sqrt", library=True, domain=_POS)
sqrt.defvjp(lambda g, out, x: g / (2.0 * out))     # d sqrt(x) = dx / (2 sqrt(x))

sin = primitive(np.sin, name="sin", library=True, domain=_ANY1)
sin.defvjp(lambda g, out, x: g * cos(x))

cos = primitive(np.cos, name="cos", library=True, domain=_ANY1)
cos.defvjp(lambda g, out, x: negative(g * sin(x)))

tanh = primitive(np.tanh, name="tanh", library=True, domain=_ANY1)
tanh.defvjp(lambda g, out, x: g * (1.0 - out * out))   # d tanh = (1 - tanh^2) dx


def _kernel(x) -> bool:
    """Whether the kernels dispatcher should see this array: numba forced, or big enough for
    numba to win.  Below that the inline numpy below is what the dispatcher would pick anyway,
    minus its per-call checks (this is what keeps 0-d scalar work cheap)."""
    return type(x) is np.ndarray and x.dtype.kind == "f" and (
        K.MODE == "numba" or x.size >= K.SMALL)


def _tanh_fast(g, out, x):
    return K.activation_grad(g, out, 3) if _kernel(out) else g * (1.0 - out * out)


tanh.defvjp_fast(_tanh_fast)


@primitive(library=True, domain=_ANY1, reference=lambda x: 1.0 / (1.0 + np.exp(-x)))
def sigmoid(x):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2: stable for any x.

    x : any shape, float.  Returns the same shape and dtype.
    """
    if _kernel(x):
        return K.activation(x, 2)
    out = np.tanh(np.multiply(x, 0.5))
    out += 1.0
    out *= 0.5
    return out


sigmoid.defvjp(lambda g, out, x: g * out * (1.0 - out))   # s' = s (1 - s)
sigmoid.defvjp_fast(lambda g, out, x: K.activation_grad(g, out, 2) if _kernel(out)
                    else g * (out * (1.0 - out)))


# ----------------------------------------------------------------------------- kinked unary
def _abs_vjp(g, out, x):
    # d|x| = sign(x) dx (0 at 0); complex x: g conj(z) / |z| (autograd.ops.complex)
    xd = data_of(x)
    if xd.dtype.kind == "c":
        from .complex import abs_complex_vjp
        return abs_complex_vjp(g, out, x)
    return g * np.sign(xd)


abs = primitive(np.abs, name="abs", library=True, domain=_ANY1, kinks=at_points(0.0))
abs.defvjp(_abs_vjp)


@primitive(library=True, domain=_ANY1, kinks=at_points(0.0), reference=lambda x: np.maximum(x, 0))
def relu(x):
    """max(x, 0); its gradient at 0 is taken as 0 (as PyTorch and micrograd)."""
    return K.activation(x, 1) if _kernel(x) else np.maximum(x, 0)


relu.defvjp(lambda g, out, x: g * (data_of(x) > 0))
relu.defvjp_fast(lambda g, out, x: K.activation_grad(g, x, 1) if _kernel(x) else g * (x > 0))


@primitive(library=True, domain=_ANY1, kinks=at_points(0.0),
           reference=lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope))
def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, ``negative_slope * x`` otherwise."""
    if _kernel(x) and isinstance(negative_slope, (float, int)):
        return K.activation(x, 4, negative_slope)
    return np.where(x > 0, x, x * negative_slope)


leaky_relu.defvjp(lambda g, out, x, negative_slope=0.01:
                  g * np.where(data_of(x) > 0, 1.0, negative_slope).astype(data_of(x).dtype))
leaky_relu.defvjp_fast(lambda g, out, x, negative_slope=0.01:
                       K.activation_grad(g, x, 4, negative_slope) if _kernel(x)
                       else g * np.where(x > 0, 1.0, negative_slope).astype(x.dtype))


def _clip_distance(x, a_min=None, a_max=None):
    x = np.asarray(x, dtype=np.float64)
    d = np.full(x.shape, np.inf)
    for b in (a_min, a_max):
        if b is not None:
            d = np.minimum(d, np.abs(x - np.asarray(b, dtype=np.float64)))
    return d


@primitive(library=True, domain=_ANY1, kinks=_clip_distance,
           reference=lambda x, a_min=None, a_max=None: np.clip(x, a_min, a_max))
def clip(x, a_min=None, a_max=None):
    """x limited to [a_min, a_max] (either may be None); bounds are constants, not tensors.

    The gradient passes where a_min <= x <= a_max and is 0 outside.
    """
    if a_min is None and a_max is None:
        return np.array(x, copy=True)
    return np.clip(x, a_min, a_max)


def _clip_vjp(g, out, x, a_min=None, a_max=None):
    xd = data_of(x)
    inside = np.ones(xd.shape, dtype=bool)
    if a_min is not None:
        inside &= xd >= a_min
    if a_max is not None:
        inside &= xd <= a_max
    return g * inside


clip.defvjp(_clip_vjp)


def _tie_distance(x, y):
    return np.abs(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64))


def _pick(first, other, strict):
    # 1 where `first` wins, 0 where `other` wins, 1/2 at ties (the gradient is split)
    a, b = data_of(first), data_of(other)
    return strict(a, b) + 0.5 * (a == b)


maximum = primitive(np.maximum, name="maximum", library=True, domain=_ANY2, kinks=_tie_distance)
maximum.defvjp(lambda g, out, x, y: g * _pick(x, y, np.greater),
               lambda g, out, x, y: g * _pick(y, x, np.greater))

minimum = primitive(np.minimum, name="minimum", library=True, domain=_ANY2, kinks=_tie_distance)
minimum.defvjp(lambda g, out, x, y: g * _pick(x, y, np.less),
               lambda g, out, x, y: g * _pick(y, x, np.less))


@primitive(library=True, nin=3, differentiable=(1, 2), domain=[None, None, None],
           reference=np.where)
def where(condition, x, y):
    """x where condition is true, y elsewhere (condition: bool, not differentiated)."""
    return np.where(condition, x, y)


where.defvjp(None,
             lambda g, out, c, x, y: where(c, g, 0.0),
             lambda g, out, c, x, y: where(c, 0.0, g))


# ============================================================================= numpy's other
# elementwise functions (autograd.numpy).  Domains keep samples where finite differences
# resolve the derivative (poles and branch points excluded).
_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))


def _unary(fn, name, vjp, domain=_ANY1, kinks=None):
    """Register numpy's unary ``fn`` as primitive ``name`` with ``vjp(g, out, x)``."""
    p = primitive(fn, name=name, library=True, domain=domain, kinks=kinks)
    p.defvjp(vjp)
    return p


tan = _unary(np.tan, "tan", lambda g, out, x: g * (1.0 + out * out),       # tan' = 1 + tan^2
             domain=[(-1.4, 1.4)])
arcsin = _unary(np.arcsin, "arcsin", lambda g, out, x: g / sqrt(1.0 - x * x),
                domain=[(-1.0, 1.0)])                                       # 1/sqrt(1-x^2)
arccos = _unary(np.arccos, "arccos", lambda g, out, x: negative(g) / sqrt(1.0 - x * x),
                domain=[(-1.0, 1.0)])                                       # -1/sqrt(1-x^2)
arctan = _unary(np.arctan, "arctan", lambda g, out, x: g / (1.0 + x * x))  # 1/(1+x^2)
sinh = _unary(np.sinh, "sinh", lambda g, out, x: g * cosh(x))
cosh = _unary(np.cosh, "cosh", lambda g, out, x: g * sinh(x))
arcsinh = _unary(np.arcsinh, "arcsinh", lambda g, out, x: g / sqrt(x * x + 1.0))
arccosh = _unary(np.arccosh, "arccosh", lambda g, out, x: g / sqrt(x * x - 1.0),
                 domain=[(1.0, None)])                                      # 1/sqrt(x^2-1)
arctanh = _unary(np.arctanh, "arctanh", lambda g, out, x: g / (1.0 - x * x),
                 domain=[(-1.0, 1.0)])                                      # 1/(1-x^2)
log2 = _unary(np.log2, "log2", lambda g, out, x: g / (x * _LN2), domain=_POS)
log10 = _unary(np.log10, "log10", lambda g, out, x: g / (x * _LN10), domain=_POS)
# log1p and expm1 keep their precision near 0 (numpy's stable forms, vjps without 1 + tiny)
log1p = _unary(np.log1p, "log1p", lambda g, out, x: g / (1.0 + x), domain=[(-1.0, None)])
expm1 = _unary(np.expm1, "expm1", lambda g, out, x: g * (out + 1.0), domain=[(None, 20.0)])
exp2 = _unary(np.exp2, "exp2", lambda g, out, x: g * out * _LN2, domain=[(None, 20.0)])
reciprocal = _unary(np.reciprocal, "reciprocal",                            # d(1/x) = -dx/x^2
                    lambda g, out, x: negative(g) * out * out, domain=_POS)
cbrt = _unary(np.cbrt, "cbrt", lambda g, out, x: g / (3.0 * out * out),    # x^(1/3)' = 1/(3 x^(2/3))
              kinks=at_points(0.0))
rad2deg = _unary(np.rad2deg, "rad2deg", lambda g, out, x: g * (180.0 / np.pi))
deg2rad = _unary(np.deg2rad, "deg2rad", lambda g, out, x: g * (np.pi / 180.0))


def _sinc_grad(x):
    """d sinc(x)/dx = (cos(pi x) - sinc(x)) / x, by its series -pi t/3 + pi t^3/30 (t = pi x)
    near 0, where the formula cancels; the unused branch never sees x == 0 (double where)."""
    small = np.abs(data_of(x)) < 1e-3
    xs = where(small, 1.0, x)
    t = x * np.pi
    series = np.pi * (t * t * t * (1.0 / 30.0) - t * (1.0 / 3.0))
    return where(small, series, (cos(xs * np.pi) - sinc(xs)) / xs)


sinc = _unary(np.sinc, "sinc", lambda g, out, x: g * _sinc_grad(x))


def _integer_distance(x, *rest, **params):
    x = np.asarray(x, dtype=np.float64)
    return np.abs(x - np.round(x))


def _half_distance(x, decimals=0):
    s = np.asarray(x, dtype=np.float64) * 10.0 ** decimals
    return np.abs(s - np.floor(s) - 0.5) / 10.0 ** decimals


def _zero_vjp(g, out, x, *rest, **params):
    return g * 0.0                      # piecewise constant: zero gradient between the jumps


sign = _unary(np.sign, "sign", _zero_vjp, kinks=at_points(0.0))
floor = _unary(np.floor, "floor", _zero_vjp, kinks=_integer_distance)
ceil = _unary(np.ceil, "ceil", _zero_vjp, kinks=_integer_distance)
trunc = _unary(np.trunc, "trunc", _zero_vjp, kinks=_integer_distance)
fix = _unary(np.fix, "fix", _zero_vjp, kinks=_integer_distance)
rint = _unary(np.rint, "rint", _zero_vjp, kinks=_half_distance)


@primitive(library=True, nin=1, domain=_ANY1, kinks=_half_distance, reference=np.round)
def round(x, decimals=0):
    """numpy's ``round`` (half to even, ``decimals`` places); zero gradient."""
    return np.round(x, decimals)


round.defvjp(_zero_vjp)


@primitive(library=True, nin=1, domain=_ANY1, reference=np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN and +-inf replaced by numbers; the gradient passes where x is finite, 0 elsewhere."""
    return np.nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)


nan_to_num.defvjp(lambda g, out, x, copy=True, nan=0.0, posinf=None, neginf=None:
                  g * np.isfinite(data_of(x)))


# ----------------------------------------------------------------------------- binary
def _binary(fn, name, vjp_x, vjp_y, domain=_ANY2, kinks=None):
    p = primitive(fn, name=name, library=True, domain=domain, kinks=kinks)
    p.defvjp(vjp_x, vjp_y)
    return p


def _origin_distance(a, b):
    return np.hypot(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))


def _arctan2_distance(y, x):
    # not differentiable at the origin, discontinuous across the cut x < 0, y = 0
    y, x = np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
    return np.minimum(np.hypot(y, x), np.where(x < 0, np.abs(y), np.inf))


# d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)
arctan2 = _binary(np.arctan2, "arctan2",
                  lambda g, out, y, x: g * x / (x * x + y * y),
                  lambda g, out, y, x: negative(g) * y / (x * x + y * y),
                  kinks=_arctan2_distance)
# d hypot(x, y) = (x dx + y dy) / hypot(x, y)
hypot = _binary(np.hypot, "hypot", lambda g, out, x, y: g * x / out,
                lambda g, out, x, y: g * y / out, kinks=_origin_distance)
# d logaddexp(x, y) = e^(x - out) dx + e^(y - out) dy  (softmax weights, never overflow)
logaddexp = _binary(np.logaddexp, "logaddexp", lambda g, out, x, y: g * exp(x - out),
                    lambda g, out, x, y: g * exp(y - out))
logaddexp2 = _binary(np.logaddexp2, "logaddexp2", lambda g, out, x, y: g * exp2(x - out),
                     lambda g, out, x, y: g * exp2(y - out))


def _fpick(first, other, strict):
    # as _pick, and a NaN loses: the gradient goes to the number (fmax/fmin ignore NaN)
    a, b = data_of(first), data_of(other)
    share = strict(a, b) + 0.5 * (a == b)
    return np.where(np.isnan(a), 0.0, np.where(np.isnan(b), 1.0, share))


fmax = _binary(np.fmax, "fmax", lambda g, out, x, y: g * _fpick(x, y, np.greater),
               lambda g, out, x, y: g * _fpick(y, x, np.greater), kinks=_tie_distance)
fmin = _binary(np.fmin, "fmin", lambda g, out, x, y: g * _fpick(x, y, np.less),
               lambda g, out, x, y: g * _fpick(y, x, np.less), kinks=_tie_distance)


def _mod_distance(quotient):
    """Distance (in x, scaled for y) from the jumps of x - y * quotient(x / y), and from y = 0."""
    def distance(x, y):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        with np.errstate(all="ignore"):
            r = np.abs(x - y * quotient(x / y))
            q = np.abs(quotient(x / y))
        return np.nan_to_num(np.minimum(np.minimum(r, np.abs(y) - r) / (q + 1.0), np.abs(y)))
    return distance


# x mod y = x - y floor(x / y): d/dx = 1, d/dy = -floor(x / y) (between the jumps)
mod = _binary(np.mod, "mod", lambda g, out, x, y: g,
              lambda g, out, x, y: negative(g) * np.floor(data_of(x) / data_of(y)),
              kinks=_mod_distance(np.floor))
fmod = _binary(np.fmod, "fmod", lambda g, out, x, y: g,
               lambda g, out, x, y: negative(g) * np.trunc(data_of(x) / data_of(y)),
               kinks=_mod_distance(np.trunc))

__all__ += ["tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
            "arctanh", "log2", "log10", "log1p", "expm1", "exp2", "reciprocal", "cbrt",
            "rad2deg", "deg2rad", "sinc", "sign", "floor", "ceil", "trunc", "fix", "rint",
            "round", "nan_to_num", "arctan2", "hypot", "logaddexp", "logaddexp2", "fmax",
            "fmin", "mod", "fmod"]
