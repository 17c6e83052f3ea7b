"""Reductions over ``axis`` (None, int, tuple, negatives) with ``keepdims``."""
from __future__ import annotations

import builtins

import numpy as np

from ..registry import primitive
from ._util import data_of, normalize_axis
from .shape import reshape, broadcast_to, transpose, expand_dims, getitem, concatenate
from .elementwise import where

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
    is ~0 the max is not differentiable (tests keep away from ties).  Complex x (numpy orders
    it by real part first): the gap between real parts."""
    x = np.asarray(x)
    x = (x.real if x.dtype.kind == "c" else x).astype(np.float64)
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
    if data_of(x).dtype.kind == "c":            # var = mean |x - m|^2: u_x - i u_y = 2 conj(.)
        from .complex import conj
        centered = conj(centered)
    return expand_reduced(g, x, axis, keepdims) * centered * np.divide(2.0, n)


var.defvjp(_var_vjp)


# ============================================================================= numpy's products
# and cumulative reductions (autograd.numpy)
def _to_last(x, axis):
    """x with the reduced axes moved last and merged: shape-(..., n), and how to undo it."""
    shape = tuple(x.shape)
    axes = normalize_axis("prod", axis, len(shape))
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    perm = rest + axes
    moved = transpose(x, perm) if perm != tuple(range(len(shape))) else x
    n = 1
    for a in axes:
        n *= shape[a]
    flat = reshape(moved, tuple(shape[i] for i in rest) + (n,))

    def back(y):
        y = reshape(y, tuple(shape[i] for i in perm))
        return transpose(y, tuple(np.argsort(perm))) if perm != tuple(range(len(shape))) else y
    return flat, back


def _prod_others(x, axis):
    """prod over ``axis`` of x without each element itself, shaped like x; exact with zeros
    (no division): the running products from the left and from the right, multiplied."""
    flat, back = _to_last(x, axis)
    n = flat.shape[-1]
    ones = np.ones(tuple(flat.shape[:-1]) + (1,), dtype=data_of(flat).dtype)
    left = cumprod(concatenate([ones, getitem(flat, (Ellipsis, slice(0, n - 1)))], axis=-1),
                   axis=-1)
    rev = getitem(flat, (Ellipsis, slice(n - 1, 0, -1)))
    right = cumprod(concatenate([ones, rev], axis=-1), axis=-1)
    return back(left * getitem(right, (Ellipsis, slice(None, None, -1))))


def _prod_others_fast(x, axis):
    """numpy-only ``_prod_others``: products of everything left and right of each element."""
    xd = np.asarray(x)
    flat, back = _to_last(xd, axis)
    ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return back(left * right)


@primitive(library=True, domain=[None], reference=np.prod)
def prod(x, axis=None, keepdims=False):
    """Product over ``axis``.  Gradient: the product of the other elements of each group
    (exact where x has zeros: at a single zero it is the product of the rest)."""
    if axis is not None:
        normalize_axis("prod", axis, x.ndim)
    return np.prod(x, axis=axis, keepdims=keepdims)


def _divisible(x) -> bool:
    """Whether dividing by every element of x (and its higher powers, for higher-order
    gradients) stays finite: no zeros, nothing near underflow."""
    xd = data_of(x)
    return bool(np.all(np.abs(xd) > np.finfo(xd.dtype).tiny ** 0.25)) if xd.dtype.kind == "f" \
        else bool(np.all(xd != 0))


def _prod_vjp(g, out, x, axis=None, keepdims=False):
    # d prod = sum_i (prod_{j != i} x_j) dx_i
    return expand_reduced(g, x, axis, keepdims) * _prod_others(x, axis)


def _prod_fast(g, out, x, axis=None, keepdims=False):
    # first order: out / x_i where that is safe, the left/right products otherwise
    ge = expand_reduced(g, x, axis, keepdims)
    if _divisible(x):
        return ge * expand_reduced(out, x, axis, keepdims) / x
    return ge * _prod_others_fast(x, axis)


prod.defvjp(_prod_vjp)
prod.defvjp_fast(_prod_fast)


def _flipped(x, axis):
    return getitem(x, (slice(None),) * axis + (slice(None, None, -1),))


@primitive(library=True, nin=1, domain=[None], reference=np.cumsum)
def cumsum(x, axis=None):
    """Running sum along ``axis`` (numpy: over the flattened array when axis is None)."""
    if axis is not None:
        normalize_axis("cumsum", axis, x.ndim)
    return np.cumsum(x, axis=axis)


def _cumsum_vjp(g, out, x, axis=None):
    # dx_i = sum_{k >= i} g_k: a reversed running sum
    ax = 0 if axis is None else normalize_axis("cumsum", axis, len(x.shape))[0]
    r = _flipped(cumsum(_flipped(g, ax), axis=ax), ax)
    return reshape(r, x.shape) if axis is None else r


cumsum.defvjp(_cumsum_vjp)


@primitive(library=True, nin=1, domain=[None], reference=np.cumprod)
def cumprod(x, axis=None):
    """Running product along ``axis`` (flattened when axis is None)."""
    if axis is not None:
        normalize_axis("cumprod", axis, x.ndim)
    return np.cumprod(x, axis=axis)


def _cumprod_vjp(g, out, x, axis=None):
    # dx_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j: exact with zeros, no division (a
    # masked running product, O(n^2) per line; the first-order backward uses _cumprod_fast)
    if axis is None:
        return reshape(_cumprod_vjp(g, out, reshape(x, (-1,)), 0), x.shape)
    ax = normalize_axis("cumprod", axis, len(x.shape))[0]
    xl, gl = moveaxis_(x, ax), moveaxis_(g, ax)             # the running axis last: (..., n)
    n = xl.shape[-1]
    eye = np.eye(n, dtype=bool)
    rows = cumprod(where(eye, 1.0, expand_dims(xl, -2)), axis=-1)   # [i, k]: prod_{j<=k, j!=i}
    upper = np.triu(np.ones((n, n), dtype=bool))                     # k >= i
    d = sum(where(upper, rows, 0.0) * expand_dims(gl, -2), axis=-1)
    return moveaxis_(d, -1, ax)


def _cumprod_fast(g, out, x, axis=None):
    # without zeros: dx_i = (sum_{k >= i} g_k out_k) / x_i, a reversed running sum
    if not _divisible(x):
        return _cumprod_vjp(g, out, x, axis)
    if axis is None:
        return (np.cumsum((g * out)[::-1])[::-1] / x.reshape(-1)).reshape(x.shape)
    ax = normalize_axis("cumprod", axis, x.ndim)[0]
    return np.flip(np.cumsum(np.flip(g * out, ax), axis=ax), ax) / x


def moveaxis_(x, src, dst=-1):
    """x with axis ``src`` moved to ``dst`` (a transpose)."""
    nd = len(x.shape)
    order = [i for i in range(nd) if i != src % nd]
    order.insert(dst % nd, src % nd)
    return transpose(x, tuple(order))


cumprod.defvjp(_cumprod_vjp)
cumprod.defvjp_fast(_cumprod_fast)

__all__ += ["prod", "cumsum", "cumprod"]


# ============================================================================= numpy's other
# reductions (autograd.numpy): compositions of the primitives above and of ``shape``'s
# rearrangements, exact (no approximation) and twice differentiable.  Given no tensor they
# are numpy's own functions.
from .shape import numpy_for_arrays, _as_tensor_like, _data, sort as _sort, take as _take
from .elementwise import sqrt as _sqrt, subtract as _subtract, multiply as _multiply
from ..errors import InvalidValueError as _InvalidValueError


@numpy_for_arrays(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=np._NoValue,
        mean=np._NoValue, correction=np._NoValue):
    """numpy's ``std``: sqrt(var).  Where the spread is exactly 0 (a single element, or all
    equal) its gradient is taken as 0 (for one element it is exactly 0)."""
    from .npapi import var as _var
    from .elementwise import where as _where
    v = _var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where,
             mean=mean, correction=correction)
    pos = np.asarray(_data(v)) > 0
    return _where(pos, _sqrt(_where(pos, v, 1.0)), 0.0)


@numpy_for_arrays(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    """numpy's ``ptp``: max - min (each gradient split between ties)."""
    from .npapi import refuse
    refuse("ptp", out)
    a = _as_tensor_like(a)
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


@numpy_for_arrays(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """numpy's ``average``: sum(a w) / sum(w) over ``axis``, differentiable in a and w (a 1-d
    ``weights`` lies along the single ``axis``, as numpy's)."""
    a = _as_tensor_like(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        n = _count(_data(a), axis)
        return avg, np.full(np.shape(_data(avg)), float(n))
    w = _as_tensor_like(weights)
    if tuple(w.shape) != tuple(a.shape):
        if axis is None or not isinstance(axis, (int, np.integer)) or len(w.shape) != 1 \
                or w.shape[0] != a.shape[axis]:
            raise _InvalidValueError(f"average: weights of shape {tuple(w.shape)} do not fit "
                                     f"a of shape {tuple(a.shape)} along axis {axis}")
        ax = normalize_axis("average", axis, len(a.shape))[0]
        w = reshape(w, tuple(-1 if i == ax else 1 for i in range(len(a.shape))))
        w = broadcast_to(w, tuple(a.shape))
    total = sum(w, axis=axis, keepdims=keepdims)
    avg = sum(_multiply(a, w), axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg


def _nan_free(a):
    from .elementwise import where
    a = _as_tensor_like(a)
    return a, where(np.isnan(_data(a)), 0.0, a)


@numpy_for_arrays(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue,
           where=np._NoValue):
    """numpy's ``nansum``: NaNs count as 0 (and get no gradient)."""
    from .npapi import sum as _sum
    return _sum(_nan_free(a)[1], axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                initial=initial, where=where)


@numpy_for_arrays(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=np._NoValue):
    """numpy's ``nanmean``: the mean of the non-NaN elements."""
    from .npapi import sum as _sum
    a, clean = _nan_free(a)
    count = np.sum(~np.isnan(_data(a)), axis=axis, keepdims=keepdims)
    return _sum(clean, axis=axis, dtype=dtype, out=out, keepdims=keepdims, where=where) / count


def _quantile(a, q, axis, keepdims, method, name):
    if method != "linear":
        raise _InvalidValueError(f"{name}: method {method!r} is not supported for tensors; "
                                 f"use 'linear' (numpy's default)")
    q = np.asarray(_data(q), dtype=np.float64)
    if np.any((q < 0) | (q > 1)) or np.any(np.isnan(q)):
        raise _InvalidValueError(f"{name}: quantiles must be in [0, 1] (percentiles in [0, 100])")
    a = _as_tensor_like(a)
    nd = len(a.shape)
    axes = normalize_axis(name, axis, nd)
    if not axes:
        raise _InvalidValueError(f"{name}: needs at least one axis to reduce")
    rest = tuple(i for i in range(nd) if i not in axes)
    moved = transpose(a, axes + rest)                      # reduced axes first, then merged
    flat = reshape(moved, (-1,) + tuple(a.shape[i] for i in rest))
    n = flat.shape[0]
    if n == 0:
        raise _InvalidValueError(f"{name}: cannot take a quantile of an empty axis")
    s = _sort(flat, axis=0)
    pos = q * (n - 1)                                      # linear: virtual index q (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo).reshape(q.shape + (1,) * len(rest))
    out = _take(s, lo, axis=0) * (1.0 - frac) + _take(s, hi, axis=0) * frac
    if keepdims:
        kept = tuple(1 if i in axes else a.shape[i] for i in range(nd))
        out = reshape(out, q.shape + kept)
    return out


@numpy_for_arrays(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None, interpolation=None):
    """numpy's ``quantile`` with linear interpolation (numpy's default method): the gradient
    goes to the two order statistics around each quantile, weighted as interpolated."""
    from .npapi import refuse
    refuse("quantile", out, weights=weights is not None, interpolation=interpolation is not None)
    return _quantile(a, q, axis, keepdims, method, "quantile")


@numpy_for_arrays(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):
    """numpy's ``percentile`` (linear interpolation): ``quantile`` at q / 100."""
    from .npapi import refuse
    refuse("percentile", out, weights=weights is not None, interpolation=interpolation is not None)
    return _quantile(a, np.asarray(_data(q), dtype=np.float64) / 100.0, axis, keepdims, method,
                     "percentile")


@numpy_for_arrays(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """numpy's ``median``: the middle element, or the mean of the two middle ones."""
    from .npapi import refuse
    refuse("median", out)
    return _quantile(a, 0.5, axis, keepdims, "linear", "median")


@numpy_for_arrays(np.diff)
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """numpy's ``diff``: n-th differences along ``axis`` (``prepend``/``append`` joined
    first, broadcast as numpy does)."""
    a = _as_tensor_like(a)
    nd = len(a.shape)
    if nd == 0:
        raise _InvalidValueError("diff: requires input that is at least one dimensional")
    ax = normalize_axis("diff", axis, nd)[0]
    if n == 0:
        return a
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            parts.append(a)
        elif extra is not np._NoValue:
            e = _as_tensor_like(extra)
            if len(e.shape) == 0:
                e = broadcast_to(e, tuple(1 if i == ax else a.shape[i] for i in range(nd)))
            parts.append(e)
    x = concatenate(parts, axis=ax) if len(parts) > 1 else a
    lead = (slice(None),) * ax
    for _ in range(int(n)):
        x = _subtract(getitem(x, lead + (slice(1, None),)), getitem(x, lead + (slice(None, -1),)))
    return x


def _gradient_1(f, ax, h, edge_order):
    lead = (slice(None),) * ax
    at = lambda sl: getitem(f, lead + (sl,))              # noqa: E731
    n = f.shape[ax]
    if n < edge_order + 1:
        raise _InvalidValueError(f"gradient: an axis of length {n} needs at least "
                                 f"{edge_order + 1} points for edge_order={edge_order}")
    inner = (at(slice(2, None)) - at(slice(None, -2))) / (2.0 * h)
    if edge_order == 1:
        first = (at(slice(1, 2)) - at(slice(0, 1))) / h
        last = (at(slice(n - 1, n)) - at(slice(n - 2, n - 1))) / h
    else:
        first = (at(slice(0, 1)) * -1.5 + at(slice(1, 2)) * 2.0 - at(slice(2, 3)) * 0.5) / h
        last = (at(slice(n - 3, n - 2)) * 0.5 - at(slice(n - 2, n - 1)) * 2.0
                + at(slice(n - 1, n)) * 1.5) / h
    return concatenate([first, inner, last], axis=ax)


@numpy_for_arrays(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    """numpy's ``gradient`` with scalar spacings: central differences inside, first or
    second order one-sided differences at the edges (linear in f, so exact)."""
    f = _as_tensor_like(f)
    nd = len(f.shape)
    axes = tuple(range(nd)) if axis is None else \
        tuple(normalize_axis("gradient", a, nd)[0] for a in
              (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if edge_order not in (1, 2):
        raise _InvalidValueError("gradient: edge_order must be 1 or 2")
    hs = list(varargs)
    if len(hs) == 0:
        hs = [1.0] * len(axes)
    elif len(hs) == 1:
        hs = hs * len(axes)
    if len(hs) != len(axes) or builtins.any(np.ndim(_data(h)) != 0 or hasattr(h, "_data")
                                             for h in hs):
        raise _InvalidValueError("gradient: only constant scalar spacings are supported for "
                                 "tensors (one, or one per axis)")
    outs = [_gradient_1(f, ax, float(h), edge_order) for ax, h in zip(axes, hs)]
    return outs[0] if len(outs) == 1 else tuple(outs)


@numpy_for_arrays(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """numpy's ``trace``: the sum of a diagonal."""
    from .shape import diagonal
    from .npapi import sum as _sum
    return _sum(diagonal(_as_tensor_like(a), offset, axis1, axis2), axis=-1, dtype=dtype, out=out)


__all__ += ["std", "ptp", "average", "nansum", "nanmean", "quantile", "percentile", "median",
            "diff", "gradient", "trace"]
