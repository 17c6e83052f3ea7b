"""Complex numbers: ``real``, ``imag``, ``conj``/``conjugate``, ``angle`` (primitives),
``real_if_close`` (a composition), and which primitives take complex inputs.

The convention (HIPS autograd's, which is also JAX's): write a function of ``z = x + iy``
as ``f(z) = u(x, y) + i v(x, y)``.  The vjp of a primitive with incoming gradient
``g = gx + i gy`` is

    gx (u_x - i u_y) - gy (v_x - i v_y)

so for a holomorphic primitive it is ``g * f'(z)``, the real-variable formula unchanged
(``exp``, ``multiply``, ``matmul``, ... need no complex code), and for a real-valued
function of ``z`` the gradient (seed 1) is ``u_x - i u_y``: ``grad(lambda z: abs(z)**2)(z)
== 2 * conj(z)``.  Gradient descent on a real loss of complex parameters steps along
``-conj(grad)``.  PyTorch's convention is the conjugate of this one (``2 * z`` there).

A real input whose value went through complex arithmetic gets the real part of its complex
gradient (the engine takes it, in ``graph._as_grad``), as HIPS and JAX do: a real-to-real
function that uses complex values inside (an FFT) has the gradient a purely real
implementation would have.

Primitives declare whether they take complex values (``Primitive.complex``); those not
declared raise :class:`~autograd.errors.DTypeError` when a complex value reaches them in a
differentiated computation, never a wrong gradient.  The table at the end of this file
switches the flag on for the library primitives whose vjps were checked for complex
inputs (by the registry sweep, with complex draws, at first and second order).
"""
from __future__ import annotations

import numpy as np

from ..registry import primitive, at_points, OPS
from ._util import data_of
from . import elementwise as E
from . import shape as S

__all__ = ["real", "imag", "conj", "conjugate", "angle", "real_if_close", "iscomplex_data",
           "COMPLEX_PRIMITIVES"]


def iscomplex_data(x) -> bool:
    """Whether the array (or tensor) ``x`` holds complex numbers."""
    return np.asarray(data_of(x)).dtype.kind == "c"


def _copy_real(x):
    return np.array(np.real(x), copy=True)


@primitive(library=True, domain=[None], complex=True, reference=np.real)
def real(x):
    """The real part: x (..., complex or real) -> real array of the same shape (a copy)."""
    return _copy_real(x)


real.defvjp(lambda g, out, x: g)          # u = x: vjp gx (the engine casts to x's dtype)


@primitive(library=True, domain=[None], complex=True, reference=np.imag)
def imag(x):
    """The imaginary part: x (..., complex or real) -> real array (zeros for real x)."""
    return np.array(np.imag(x), copy=True)


imag.defvjp(lambda g, out, x: E.multiply(g, -1j))   # u = y: vjp -i gx (0 for real x)


@primitive(library=True, domain=[None], complex=True, reference=np.conjugate)
def conj(x):
    """The complex conjugate, elementwise (x itself, copied, for real x)."""
    return np.conjugate(x) if x.dtype.kind == "c" else np.array(x, copy=True)


conj.defvjp(lambda g, out, x: conj(g))    # u = x, v = -y: vjp gx - i gy = conj(g)

conjugate = conj


def _angle_distance(x, deg=False):
    # not differentiable at 0; for complex x, discontinuous across the cut x < 0, y = 0
    x = np.asarray(x)
    if x.dtype.kind != "c":
        return np.abs(x)
    return np.minimum(np.abs(x), np.where(x.real < 0, np.abs(x.imag), np.inf))


@primitive(library=True, nin=1, domain=[None], complex=True, kinks=_angle_distance,
           reference=np.angle)
def angle(x, deg=False):
    """The argument of x in (-pi, pi] (degrees with ``deg``); 0 or pi for real x."""
    return np.angle(x, deg)


def _angle_vjp(g, out, x, deg=False):
    # u = atan2(y, x): u_x - i u_y = (-y - i x) / |z|^2 = conj(i z) / |z|^2 (real x: 0)
    r = E.abs(x)
    d = E.divide(conj(E.multiply(x, 1j)), r * r)
    return g * (d * (180.0 / np.pi) if deg else d)


angle.defvjp(_angle_vjp)


def abs_complex_vjp(g, out, x):
    """The vjp of ``abs`` at complex x: g conj(z) / |z| (u = |z|: u_x - i u_y), 0 at 0."""
    zero = data_of(x) == 0
    xs = E.where(zero, 1.0, x)
    return E.where(zero, 0.0, g * conj(xs) / E.abs(xs))


def real_if_close(a, tol=100):
    """numpy's ``real_if_close``: the real part when every imaginary part is within ``tol``
    machine epsilons of 0 (``real``, differentiable), otherwise ``a`` unchanged."""
    d = np.asarray(data_of(a))
    if d.dtype.kind != "c":
        return S.identity(a) if hasattr(a, "_data") else np.real_if_close(a, tol)
    if tol > 1:
        tol = np.finfo(d.dtype).eps * tol
    if np.all(np.abs(d.imag) < tol):
        return real(a)
    return S.identity(a) if hasattr(a, "_data") else a


# ----------------------------------------------------------------------------- the table
#: Library primitives that take complex values, each checked by the sweep with complex
#: inputs (max/min: numpy's order, real part first; the gradient goes to the picked
#: element).  Holomorphic ones keep their real vjps (the convention above); the
#: non-holomorphic ones have complex vjps: abs (elementwise), var (reduce), power's
#: exponent gradient, real/imag/conj/angle (here), and in ops/decomp: eigh (Hermitian),
#: eig, svd, svdvals, norm, slogdet, cholesky (inv, solve, det are holomorphic).
COMPLEX_PRIMITIVES = frozenset("""
add subtract multiply divide negative power exp log sqrt sin cos tanh sigmoid abs where
tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh log2 log10 log1p expm1 exp2
reciprocal sinc
sum mean prod cumsum cumprod var max min
reshape transpose expand_dims squeeze broadcast_to getitem scatter_add concatenate stack
astype identity
matmul einsum
real imag conj angle
inv solve det slogdet_logabsdet eigh_packed eig_packed svd_packed svdvals norm cholesky
""".split())

for _name in COMPLEX_PRIMITIVES:
    OPS[_name].complex = True
