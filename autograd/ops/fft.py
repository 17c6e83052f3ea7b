"""Discrete Fourier transforms: numpy.fft's twelve transforms as primitives.

``fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn``, with numpy's
arguments (``n``/``axis`` or ``s``/``axes``, ``norm`` in None, 'backward', 'ortho',
'forward') and numpy's values (each forward is numpy's own function).

Gradients follow the complex convention of ``autograd.ops.complex`` (HIPS autograd's and
JAX's): for a complex-linear map ``out = A x`` the vjp is ``A^T g`` (the plain transpose), and
a real input gets the real part.  Every transform is a chain of 1-d steps along single axes,
the chain numpy runs (``fftn`` is ``fft`` along each axis, last axis first; ``rfftn`` is
``rfft`` along the last axis, then ``fft``; ``irfftn`` is ``ifft``, then ``irfft`` along the
last axis), each step preceded by zero-padding or truncation to its length ``n``.  The vjp
walks the chain backwards with each step's adjoint:

- ``fft``/``ifft`` of length n: the same transform of ``g`` (the DFT matrix is symmetric),
  then truncated or zero-padded back to the input's length (the adjoint of pad/truncate);
- ``rfft`` (the first ``n//2+1`` rows of the DFT): ``real(fft(g zero-padded to n))``;
- ``irfft`` to length n: ``c * ifft(g)[:n//2+1]``, ``c = 2`` except ``c = 1`` at index 0 and,
  n even, at ``n/2`` (irfft reads the real part only of those two, and every other input
  entry stands for itself and its conjugate mirror).

Odd and even lengths, repeated axes and any ``s``/``n`` are handled alike; the vjps are
written with these primitives, so they differentiate again (second order).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DTypeError, InvalidValueError, ShapeError
from ..registry import primitive
from .shape import getitem, scatter_add

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn"]

_NORMS = (None, "backward", "ortho", "forward")


def _check(op: str, a: np.ndarray, norm: Any, real_in: bool = False) -> None:
    if norm not in _NORMS:
        raise InvalidValueError(f"{op}: norm must be None, 'backward', 'ortho' or 'forward', "
                                f"got {norm!r}")
    if real_in and a.dtype.kind == "c":
        raise DTypeError(f"{op}: takes real input, got {a.dtype} (shape {a.shape}); use fft "
                         f"for complex input")
    if a.ndim == 0:
        raise ShapeError(f"{op}: needs at least one axis, got a 0-d array")


def _axis(op: str, axis: Any, ndim: int) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or \
            not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis!r} is out of bounds for an array of {ndim} dims")
    return int(axis) % ndim


def _steps(op: str, shape: tuple, s: Any, axes: Any) -> list:
    """The 1-d steps numpy runs for ``op`` on an array of ``shape``, in order:
    ``(kind, n, axis)``.  ``s``/``axes`` are the n-d arguments (``n``/``axis`` for 1-d)."""
    nd = len(shape)
    kind1 = op.rstrip("2n")                               # fft, ifft, rfft or irfft
    if op == kind1:                                       # 1-d: s is n, axes is axis
        ax = _axis(op, axes, nd)
        n = shape[ax] if s is None else s
        if kind1 == "irfft" and s is None:
            n = 2 * (shape[ax] - 1)
        return [(kind1, _n(op, n), ax)]
    if axes is None:                                      # numpy: all axes, or s's last ones
        axes = tuple(range(nd)) if s is None else tuple(range(-len(s), 0))
    axes = [_axis(op, a, nd) for a in np.atleast_1d(axes).tolist()]
    if s is None:
        s = [shape[a] for a in axes]
        if kind1 == "irfft":
            s[-1] = 2 * (shape[axes[-1]] - 1)
    s = list(np.atleast_1d(s).tolist())
    if len(s) != len(axes):
        raise ShapeError(f"{op}: s {tuple(s)} and axes {tuple(axes)} have different lengths")
    s = [shape[a] if v == -1 else _n(op, v) for v, a in zip(s, axes)]
    if kind1 == "fft" or kind1 == "ifft":                 # last axis first
        return [(kind1, s[i], axes[i]) for i in reversed(range(len(axes)))]
    if kind1 == "rfft":
        return [("rfft", s[-1], axes[-1])] + [("fft", s[i], axes[i])
                                               for i in reversed(range(len(axes) - 1))]
    return [("ifft", s[i], axes[i]) for i in range(len(axes) - 1)] + \
        [("irfft", s[-1], axes[-1])]


def _n(op: str, n: Any) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InvalidValueError(f"{op}: the transform length must be a positive int, got {n!r}")
    return int(n)


def _fit(g, n: int, axis: int):
    """g truncated or zero-padded to length n along axis (the adjoint of the same fit)."""
    m = g.shape[axis]
    if m == n:
        return g
    lead = (slice(None),) * axis
    if m > n:
        return getitem(g, lead + (slice(0, n),))
    shape = tuple(g.shape[:axis]) + (n,) + tuple(g.shape[axis + 1:])
    return scatter_add(g, idx=lead + (slice(0, m),), shape=shape)


def _irfft_weights(n: int, m: int, axis: int, ndim: int) -> np.ndarray:
    """c of the irfft adjoint, shaped to broadcast along ``axis``: 1 at 0 and (n even) n/2."""
    c = np.full(m, 2.0)
    c[0] = 1.0
    if n % 2 == 0 and n // 2 < m:
        c[n // 2] = 1.0
    return c.reshape((m,) + (1,) * (ndim - 1 - axis))


def _step_vjp(g, kind: str, n: int, axis: int, n_in: int, norm):
    """The adjoint of one 1-d step (its output cotangent g -> its input cotangent)."""
    if kind == "fft":
        return _fit(fft(g, axis=axis, norm=norm), n_in, axis)
    if kind == "ifft":
        return _fit(ifft(g, axis=axis, norm=norm), n_in, axis)
    from .complex import real
    if kind == "rfft":
        return _fit(real(fft(g, n=n, axis=axis, norm=norm)), n_in, axis)
    m = n // 2 + 1                                        # irfft
    half = getitem(ifft(g, axis=axis, norm=norm), (slice(None),) * axis + (slice(0, m),))
    return _fit(half * _irfft_weights(n, m, axis, len(g.shape)), n_in, axis)


def _vjp(op: str, g, x, s, axes, norm):
    steps = _steps(op, x.shape, s, axes)
    shapes, shape = [], list(x.shape)
    for kind, n, ax in steps:                             # input shape of every step
        shapes.append(shape[ax])
        shape[ax] = n // 2 + 1 if kind == "rfft" else n
    for (kind, n, ax), n_in in zip(reversed(steps), reversed(shapes)):
        g = _step_vjp(g, kind, n, ax, n_in, norm)
    return g


def _ref(name: str):
    return getattr(np.fft, name)


def _declare_1d(name: str, real_in: bool):
    npf = getattr(np.fft, name)

    def fwd(a, n=None, axis=-1, norm=None):
        _check(name, a, norm, real_in)
        _steps(name, a.shape, n, axis)                     # argument errors, named
        return npf(a, n=n, axis=axis, norm=norm)
    fwd.__name__ = name
    fwd.__doc__ = (f"numpy.fft.{name}(a, n=None, axis=-1, norm=None): a : any shape "
                   f"({'real' if real_in else 'real or complex'}); the result is "
                   f"{'real' if name == 'irfft' else 'complex'}.")
    p = primitive(fwd, name=name, library=True, nin=1, domain=[None], complex=True,
                  reference=npf)
    p.defvjp(lambda g, out, a, n=None, axis=-1, norm=None:
             _vjp(name, g, a, n, axis, norm))
    p.reads = {0: ()}                                      # the vjp reads a's shape only
    return p


def _declare_nd(name: str, real_in: bool, default_axes):
    npf = getattr(np.fft, name)

    def fwd(a, s=None, axes=default_axes, norm=None):
        _check(name, a, norm, real_in)
        _steps(name, a.shape, s, axes)
        return npf(a, s=s, axes=axes, norm=norm)
    fwd.__name__ = name
    fwd.__doc__ = (f"numpy.fft.{name}(a, s=None, axes={default_axes!r}, norm=None).")
    p = primitive(fwd, name=name, library=True, nin=1, domain=[None], complex=True,
                  reference=npf)
    p.defvjp(lambda g, out, a, s=None, axes=default_axes, norm=None:
             _vjp(name, g, a, s, axes, norm))
    p.reads = {0: ()}
    return p


fft = _declare_1d("fft", False)          # X_k = sum_j x_j e^{-2 pi i jk/n}
ifft = _declare_1d("ifft", False)        # x_j = (1/n) sum_k X_k e^{+2 pi i jk/n}
rfft = _declare_1d("rfft", True)         # fft's first n//2+1 entries, real input
irfft = _declare_1d("irfft", False)      # the real signal of a Hermitian half-spectrum
fft2 = _declare_nd("fft2", False, (-2, -1))
ifft2 = _declare_nd("ifft2", False, (-2, -1))
rfft2 = _declare_nd("rfft2", True, (-2, -1))
irfft2 = _declare_nd("irfft2", False, (-2, -1))
fftn = _declare_nd("fftn", False, None)
ifftn = _declare_nd("ifftn", False, None)
rfftn = _declare_nd("rfftn", True, None)
irfftn = _declare_nd("irfftn", False, None)
