"""Reductions over ``axis`` (None, int, tuple, negatives) with ``keepdims``."""
from __future__ import annotations

import builtins

import numpy as np

from ..registry import primitive
from ._util import data_of, normalize_axis
from .shape import reshape, broadcast_to

__all__ = ["sum", "mean", "max", "min", "var", "expand_reduced"]


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def expand_reduced(g, x, axis, keepdims):
    """Broadcast ``g``, the gradient of a reduction of ``x`` over ``axis``, back to x's shape."""
    shape = x.shape
    if type(g) is np.ndarray or isinstance(g, np.generic):
        # first order: one fresh array (np.broadcast_to costs more than the copy for small x)
        out = np.empty(shape, dtype=g.dtype)
        if axis is None or keepdims:
            out[...] = g
        else:
            out[...] = g.reshape(_kept_shape(shape, normalize_axis("reduce", axis, len(shape))))
        return out
    if not keepdims:
        g = reshape(g, _kept_shape(shape, normalize_axis("reduce", axis, len(shape))))
    return broadcast_to(g, shape)


def _count(x, axis) -> int:
    shape = x.shape
    n = 1
    for a in normalize_axis("reduce", axis, len(shape)):
        n *= shape[a]
    return n


@primitive(library=True, domain=[None], reference=np.sum)
def sum(x, axis=None, keepdims=False):
    """Sum over ``axis``.  x : shape-(*S).  Gradient: ones (g broadcast back)."""
    if axis is not None:
        normalize_axis("sum", axis, x.ndim)
    return x.sum(axis=axis, keepdims=keepdims)


sum.defvjp(lambda g, out, x, axis=None, keepdims=False: expand_reduced(g, x, axis, keepdims))


@primitive(library=True, domain=[None], reference=np.mean)
def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``.  Gradient: 1/N for each of the N elements averaged."""
    if axis is not None:
        normalize_axis("mean", axis, x.ndim)
    return x.mean(axis=axis, keepdims=keepdims)


mean.defvjp(lambda g, out, x, axis=None, keepdims=False:
            expand_reduced(g, x, axis, keepdims) * (1.0 / builtins.max(_count(x, axis), 1)))


def _extreme_vjp(g, out, x, axis=None, keepdims=False):
    # The gradient goes to the elements equal to the extreme, split evenly between ties.
    xd, od = data_of(x), data_of(out)
    if not keepdims:
        od = od.reshape(_kept_shape(xd.shape, normalize_axis("max", axis, xd.ndim)))
    mask = (xd == od)
    share = mask / mask.sum(axis=axis, keepdims=True)
    return expand_reduced(g, x, axis, keepdims) * share.astype(xd.dtype)


@primitive(library=True, domain=[None], reference=np.max,
           kinks=lambda x, axis=None, keepdims=False: _gap(x, axis))
def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``; the gradient is split evenly between tied maxima."""
    if axis is not None:
        normalize_axis("max", axis, x.ndim)
    return x.max(axis=axis, keepdims=keepdims)


@primitive(library=True, domain=[None], reference=np.min,
           kinks=lambda x, axis=None, keepdims=False: _gap(-np.asarray(x), axis))
def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``; the gradient is split evenly between tied minima."""
    if axis is not None:
        normalize_axis("min", axis, x.ndim)
    return x.min(axis=axis, keepdims=keepdims)


def _gap(x, axis):
    """Distance between the largest and second largest value of each reduced group: where it
    is ~0 the max is not differentiable (tests keep away from ties)."""
    x = np.asarray(x, dtype=np.float64)
    axes = normalize_axis("max", axis, x.ndim)
    if x.size == 0:
        return np.inf
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0))) if axes else x[..., None]
    flat = moved.reshape(moved.shape[:moved.ndim - builtins.max(len(axes), 1)] + (-1,))
    if flat.shape[-1] < 2:
        return np.inf
    top = np.sort(flat, axis=-1)
    return np.min(top[..., -1] - top[..., -2])


max.defvjp(_extreme_vjp)
min.defvjp(_extreme_vjp)


@primitive(library=True, domain=[None], reference=np.var)
def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` with ``ddof`` (numpy's meaning: divide by N - ddof)."""
    if axis is not None:
        normalize_axis("var", axis, x.ndim)
    return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)


def _var_vjp(g, out, x, axis=None, keepdims=False, ddof=0):
    # d var = 2 (x - mean) / (N - ddof) dx
    n = _count(x, axis) - ddof
    n = n if n > 0 else 0                       # numpy's divisor; 0 gives inf/nan, as forward
    centered = x - mean(x, axis=axis, keepdims=True)
    return expand_reduced(g, x, axis, keepdims) * centered * np.divide(2.0, n)


var.defvjp(_var_vjp)
