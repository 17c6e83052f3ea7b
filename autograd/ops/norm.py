"""Normalization primitives: ``batch_norm`` and ``layer_norm``, one fused node each.

Each has a numpy/numba first-order backward (``vjp_fast``, through ``autograd.kernels.norm``,
reusing the mean and ``1/sqrt(var + eps)`` its forward computed) and a vjp written with the
library's ops, so second-order gradients work.  Variances are two-pass (no cancellation).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError, DTypeError, InvalidValueError, AxisError
from ..registry import primitive
from ..kernels import norm as KN
from ._util import data_of, normalize_axis
from .elementwise import sqrt
from .reduce import mean as _mean, sum as _sum
from .shape import reshape

__all__ = ["batch_norm", "layer_norm"]


def _float(op, name, a):
    if a is not None and a.dtype.kind != "f":
        raise DTypeError(f"{op}: {name} must be float, got {a.dtype} (shape {a.shape})")


def _check_eps(op, eps):
    if not isinstance(eps, (int, float, np.floating)) or not eps > 0 or not math.isfinite(eps):
        raise InvalidValueError(f"{op}: eps must be a positive finite number, got {eps!r}")


# ----------------------------------------------------------------------------- batch norm
def _bn_axis(x, axis):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise AxisError(f"batch_norm: axis must be an int (the channel axis), got {axis!r}")
    if x.ndim < 1 or not -x.ndim <= axis < x.ndim:
        raise AxisError(f"batch_norm: axis {axis} is out of bounds for x of shape {x.shape}")
    return int(axis) % x.ndim


def _bn_check(x, gamma, beta, mean, var, eps, axis, training, momentum):
    op = "batch_norm"
    for nm, a in (("x", x), ("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var)):
        _float(op, nm, a)
    a = _bn_axis(x, axis)
    c = x.shape[a]
    for nm, v in (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var)):
        if v is not None and v.shape != (c,):
            raise ShapeError(f"batch_norm: {nm} of shape {v.shape} does not match x of shape "
                             f"{x.shape} with channel axis {axis}; expected ({c},)")
    _check_eps(op, eps)
    if not training and (mean is None or var is None):
        raise InvalidValueError("batch_norm: inference (training=False) needs mean and var")
    if training:
        if not 0.0 <= momentum <= 1.0:
            raise InvalidValueError(f"batch_norm: momentum must be in [0, 1], got {momentum!r}")
        for nm, v in (("mean", mean), ("var", var)):
            if v is not None and not v.flags.writeable:
                raise InvalidValueError(f"batch_norm: the moving {nm} (shape {v.shape}) is "
                                        f"read-only; training updates it in place")
    return a


def _rows(x, a):
    """x as (M, C) with the channel axis last (a view when it already is)."""
    if a == x.ndim - 1:
        return x.reshape(-1, x.shape[a]) if x.ndim != 1 else x.reshape(1, -1)
    return np.moveaxis(x, a, -1).reshape(-1, x.shape[a])


def _unrows(y2, x, a):
    if a == x.ndim - 1:
        return y2.reshape(x.shape)
    moved = x.shape[:a] + x.shape[a + 1:] + (x.shape[a],)
    return np.moveaxis(y2.reshape(moved), -1, a)


def _bn_ref(x, gamma, beta, mean, var, eps=1e-3, axis=-1, training=False, momentum=0.99):
    x = np.asarray(x, dtype=np.float64)
    a = int(axis) % x.ndim
    red = tuple(i for i in range(x.ndim) if i != a)
    shp = [1] * x.ndim
    shp[a] = x.shape[a]
    if training:
        mean = x.mean(axis=red, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=red, keepdims=True)
    else:
        mean, var = np.reshape(mean, shp), np.reshape(var, shp)
    y = (x - mean) / np.sqrt(var + eps)
    if gamma is not None:
        y = y * np.reshape(gamma, shp)
    return y + np.reshape(beta, shp) if beta is not None else y


@primitive(library=True, name="batch_norm", nin=5, reference=_bn_ref, aux=True,
           domain=[None, None, None, None, (0, None)])
def _batch_norm(x, gamma, beta, mean, var, eps=1e-3, axis=-1, training=False, momentum=0.99,
                want_aux=False):
    a = _bn_check(x, gamma, beta, mean, var, eps, axis, training, momentum)
    if not training:                                   # y = (x - mean) inv gamma + beta
        dt = x.dtype
        inv = (1.0 / np.sqrt(var.astype(dt) + eps)).astype(dt, copy=False)
        scale = inv * gamma if gamma is not None else inv
        shift = -mean * scale + (beta if beta is not None else 0.0)
        shp = [1] * x.ndim
        shp[a] = x.shape[a]
        return x * scale.astype(dt).reshape(shp) + shift.astype(dt).reshape(shp), None
    x2 = _rows(x, a)
    out2, bmean, inv = KN.batch_norm_fwd(x2, gamma, beta, eps)
    m = x2.shape[0]
    if mean is not None:                               # Keras: moving = moving m + batch (1 - m)
        mean *= momentum
        mean += (1.0 - momentum) * bmean
    if var is not None and m:
        var *= momentum
        var += (1.0 - momentum) * (1.0 / (inv.astype(np.float64) ** 2) - eps)
    return _unrows(out2, x, a), (x2, bmean, inv, a)


def _bn_fast(g, out, x, gamma, beta, mean, var, eps=1e-3, axis=-1, training=False,
             momentum=0.99, needs=None, aux=None):
    if not training:
        return _bn_vjp(g, out, x, gamma, beta, mean, var, eps, axis, training, momentum)
    x2, bmean, inv, a = aux
    g2 = _rows(np.asarray(g, dtype=x.dtype), a)
    gx, gg, gb = KN.batch_norm_bwd(g2, x2, bmean, inv, gamma)
    return _unrows(gx, x, a), (gg if gamma is not None else None), \
        (gb if beta is not None else None), None, None


def _bn_vjp(g, out, x, gamma, beta, mean, var, eps=1e-3, axis=-1, training=False,
            momentum=0.99):
    # training: dx = gamma inv (g - mean(g) - xh mean(g xh)); dgamma = sum g xh; dbeta = sum g
    # inference: y = (x - mean) inv gamma + beta with inv = (var + eps)^(-1/2), all linear
    xd = data_of(x)
    a = int(axis) % xd.ndim
    red = tuple(i for i in range(xd.ndim) if i != a)
    shp = [1] * xd.ndim
    shp[a] = xd.shape[a]
    shp = tuple(shp)
    gam = reshape(gamma, shp) if gamma is not None else 1.0
    if training:
        mu = _mean(x, axis=red, keepdims=True)
        xc = x - mu
        inv = 1.0 / sqrt(_mean(xc * xc, axis=red, keepdims=True) + eps)
        xh = xc * inv
        gx = (g - _mean(g, axis=red, keepdims=True)
              - xh * _mean(g * xh, axis=red, keepdims=True)) * (gam * inv)
        gm = gv = None
    else:
        xc = x - reshape(mean, shp)
        inv = 1.0 / sqrt(reshape(var, shp) + eps)
        xh = xc * inv
        gx = g * (gam * inv)
        gm = -_sum(gx, axis=red) if mean is not None else None
        gv = _sum(g * gam * xc, axis=red) * reshape(inv * inv * inv, (shp[a],)) * -0.5 \
            if var is not None else None
    gg = _sum(g * xh, axis=red) if gamma is not None else None
    gb = _sum(g, axis=red) if beta is not None else None
    return gx, gg, gb, gm, gv


_batch_norm.defvjp(_bn_vjp)
_batch_norm.defvjp_fast(_bn_fast, needs=True)
# in training the forward writes the moving statistics (arguments 3, 4) in place: under
# autograd.jit that call is an effect re-run on the live tensors at each replay
_batch_norm.mutates = lambda kw: (3, 4) if kw.get("training") else ()


def batch_norm(x, gamma=None, beta=None, mean=None, var=None, eps=1e-3, axis=-1,
               training=False, momentum=0.99):
    """Batch normalization, one graph node: ``(x - mean) / sqrt(var + eps) * gamma + beta``,
    per channel along ``axis`` (Keras' default -1: channels last).

    x : shape-(..., C, ...), float.  gamma, beta, mean, var : shape-(C,) or None (gamma None:
    no scale; beta None: no shift).

    training=False (inference): normalizes with the given ``mean`` and ``var`` (the moving
    statistics); differentiable in all five inputs.
    training=True: normalizes with the batch's own statistics over every axis but ``axis``
    (biased variance, two-pass) and differentiates through them.  ``mean`` and ``var``, when
    given, are the moving statistics and are updated **in place** (as PyTorch's
    ``F.batch_norm`` does): ``moving = moving * momentum + batch * (1 - momentum)`` (Keras'
    convention, momentum 0.99; Keras, unlike PyTorch, keeps the biased batch variance);
    they get no gradient then.
    """
    return _batch_norm(x, gamma, beta, mean, var, eps=eps, axis=axis, training=training,
                       momentum=momentum)


# ----------------------------------------------------------------------------- layer norm
def _ln_check(x, gamma, beta, axis, eps):
    op = "layer_norm"
    for nm, v in (("x", x), ("gamma", gamma), ("beta", beta)):
        _float(op, nm, v)
    if x.ndim < 1:
        raise ShapeError(f"layer_norm: x must have at least one axis, got shape {x.shape}")
    axes = normalize_axis(op, axis, x.ndim)
    if not axes:
        raise AxisError(f"layer_norm: axis {axis!r} selects no axis")
    pshape = tuple(x.shape[i] for i in axes)
    for nm, v in (("gamma", gamma), ("beta", beta)):
        if v is not None and v.shape != pshape:
            raise ShapeError(f"layer_norm: {nm} of shape {v.shape} does not match x of shape "
                             f"{x.shape} normalized over axes {axes}; expected {pshape}")
    _check_eps(op, eps)
    return axes


def _ln_bshape(shape, axes):
    return tuple(s if i in axes else 1 for i, s in enumerate(shape))


def _ln_ref(x, gamma, beta, axis=-1, eps=1e-3):
    x = np.asarray(x, dtype=np.float64)
    axes = normalize_axis("layer_norm", axis, x.ndim)
    mu = x.mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(((x - mu) ** 2).mean(axis=axes, keepdims=True) + eps)
    b = _ln_bshape(x.shape, axes)
    if gamma is not None:
        y = y * np.reshape(gamma, b)
    return y + np.reshape(beta, b) if beta is not None else y


@primitive(library=True, name="layer_norm", nin=3, reference=_ln_ref, aux=True,
           domain=[None, None, None])
def _layer_norm(x, gamma, beta, axis=-1, eps=1e-3, want_aux=False):
    axes = _ln_check(x, gamma, beta, axis, eps)
    nd = x.ndim
    if axes == tuple(range(nd - len(axes), nd)):        # trailing axes: rows of a 2-d view
        d = math.prod(x.shape[nd - len(axes):])
        x2 = x.reshape(-1, d) if d else x.reshape(math.prod(x.shape[:nd - len(axes)]), 0)
        gm = gamma.reshape(-1) if gamma is not None else None
        bt = beta.reshape(-1) if beta is not None else None
        out2, mu, inv = KN.layer_norm_fwd(x2, gm, bt, eps)
        return out2.reshape(x.shape), (x2, mu, inv)
    b = _ln_bshape(x.shape, axes)
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    out = xc / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)
    if gamma is not None:
        out = out * gamma.reshape(b)
    if beta is not None:
        out = out + beta.reshape(b)
    return out.astype(x.dtype, copy=False), None


def _ln_fast(g, out, x, gamma, beta, axis=-1, eps=1e-3, needs=None, aux=None):
    if aux is None:                                     # general axes: the composed vjp
        return _ln_vjp(g, out, x, gamma, beta, axis, eps)
    x2, mu, inv = aux
    want_p = (gamma is not None and needs[1]) or (beta is not None and needs[2])
    gm = gamma.reshape(-1) if gamma is not None else None
    gx, gg, gb = KN.layer_norm_bwd(np.asarray(g, dtype=x.dtype).reshape(x2.shape), x2, mu, inv,
                                   gm, want_p)
    return (gx.reshape(x.shape),
            gg.reshape(gamma.shape) if gamma is not None and want_p else None,
            gb.reshape(beta.shape) if beta is not None and want_p else None)


def _ln_vjp(g, out, x, gamma, beta, axis=-1, eps=1e-3):
    # xh = (x - mean) inv;  dx = inv (dxh - mean(dxh) - xh mean(dxh xh)), dxh = g gamma
    xd = data_of(x)
    axes = normalize_axis("layer_norm", axis, xd.ndim)
    other = tuple(i for i in range(xd.ndim) if i not in axes)
    b = _ln_bshape(xd.shape, axes)
    mu = _mean(x, axis=axes, keepdims=True)
    xc = x - mu
    inv = 1.0 / sqrt(_mean(xc * xc, axis=axes, keepdims=True) + eps)
    xh = xc * inv
    dxh = g * reshape(gamma, b) if gamma is not None else g
    gx = (dxh - _mean(dxh, axis=axes, keepdims=True)
          - xh * _mean(dxh * xh, axis=axes, keepdims=True)) * inv
    pshape = tuple(xd.shape[i] for i in axes)
    gg = reshape(_sum(g * xh, axis=other), pshape) if gamma is not None else None
    gb = reshape(_sum(g, axis=other), pshape) if beta is not None else None
    return gx, gg, gb


_layer_norm.defvjp(_ln_vjp)
_layer_norm.defvjp_fast(_ln_fast, needs=True)


def layer_norm(x, gamma=None, beta=None, axis=-1, eps=1e-3):
    """Layer normalization, one graph node: each sample normalized over ``axis`` (int or
    tuple; Keras' default -1), ``(x - mean) / sqrt(var + eps) * gamma + beta``.

    x : float array.  gamma, beta : shape ``tuple(x.shape[a] for a in axes)`` or None.
    Variance biased, two-pass.  eps defaults to Keras' 1e-3 (PyTorch's is 1e-5).
    """
    return _layer_norm(x, gamma, beta, axis=axis, eps=eps)
