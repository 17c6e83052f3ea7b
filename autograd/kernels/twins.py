"""numpy twins of the numba kernels in ``_jit.py``: same arguments, same results.

They are the reference in tests and the path taken below the dispatch thresholds (or with
``AUTOGRAD_KERNELS=numpy``).  Like the kernels they write into the arrays they are given.
Activation codes: 0 identity, 1 relu, 2 sigmoid, 3 tanh, 4 leaky_relu, 5 gelu.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["activation_np", "activation_grad_np", "bias_act_np", "dense_grad_z_np", "gemm_np",
           "xent_sparse_np", "xent_dense_np", "bce_np", "subtract_scaled_np"]

_C = math.sqrt(2.0 / math.pi)
_A = 0.044715


def activation_np(x, y, kind, slope):
    """y = act(x) (y may be x)."""
    if kind == 1:
        np.maximum(x, 0, out=y)
    elif kind == 2:                                   # (1 + tanh(x/2)) / 2: stable
        np.multiply(x, 0.5, out=y)
        np.tanh(y, out=y)
        y += 1.0
        y *= 0.5
    elif kind == 3:
        np.tanh(x, out=y)
    elif kind == 4:
        np.multiply(x, np.where(x > 0, 1.0, slope).astype(x.dtype), out=y)
    elif kind == 5:                                   # 0.5 x (1 + tanh(C (x + A x^3)))
        t = np.multiply(x, x, out=np.empty(np.shape(x), y.dtype))   # an array even when 0-d
        t *= _A
        t += 1.0
        t *= x
        t *= _C
        np.tanh(t, out=t)
        t += 1.0
        t *= 0.5
        np.multiply(t, x, out=y)
    elif y is not x:
        y[...] = x


def activation_grad_np(g, a, gx, kind, slope):
    """gx = g * act'(.); ``a`` is x for relu, leaky_relu, gelu and the output for sigmoid, tanh."""
    if kind == 1:
        np.multiply(g, a > 0, out=gx)
    elif kind == 2:
        np.multiply(g, a * (1.0 - a), out=gx)
    elif kind == 3:
        np.multiply(g, 1.0 - a * a, out=gx)
    elif kind == 4:
        np.multiply(g, np.where(a > 0, 1.0, slope).astype(a.dtype), out=gx)
    elif kind == 5:    # a clipped to +-10: the slope is exactly 0 or 1 beyond (no inf * 0)
        a = np.clip(a, -10.0, 10.0)
        x2 = a * a
        t = np.tanh((a + x2 * a * _A) * _C)
        np.multiply(g, 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * (_C * (1.0 + 3.0 * _A * x2)),
                    out=gx)
    else:
        gx[...] = g


def bias_act_np(z, b, has_bias, kind, slope):
    """In place: z = act(z + b)."""
    if has_bias:
        z += b
    activation_np(z, z, kind, slope)


def dense_grad_z_np(g, a, gz, gb, want_gb, kind, slope):
    """gz = g * act'(a); gb = column sums of gz if want_gb."""
    activation_grad_np(g, a, gz, kind, slope)
    if want_gb:
        np.add.reduce(gz, axis=0, out=gb)


def gemm_np(a, b, c):
    """c = a @ b (BLAS)."""
    np.matmul(a, b, out=c)


def _lse_rows(z):
    z = z.astype(np.float64, copy=False)    # float32 logits near 3e38: z - max overflows in float32
    m = z.max(axis=1, keepdims=True)
    zs = z - m
    e = np.exp(zs)
    s = e.sum(axis=1, keepdims=True)
    return zs, e, s, np.log(s)


def xent_sparse_np(z, labels, gl, scale, want_grad):
    """Sum over rows of lse(z_r) - z_r[label_r]; gl = (softmax - onehot) scale if want_grad.

    The numbers of ``_lse_rows`` (float64 throughout: float32 logits near 3e38 overflow
    ``z - max`` in float32) with fewer numpy calls, as small batches pay per call: one
    float64 C-order copy shifted and exponentiated in place, the label entries read (and the
    gradient's written) through flat indices ``r C + label_r`` instead of a 2-d fancy index."""
    n = z.shape[0]
    if n == 0:
        return 0.0
    c = z.shape[1]
    zs = z.astype(np.float64, order="C")    # a copy: shifted and exponentiated in place
    np.subtract(zs, np.maximum.reduce(zs, axis=1, keepdims=True), out=zs)
    flat = np.arange(0, n * c, c)
    flat += labels if labels.dtype == flat.dtype else labels.astype(flat.dtype)
    picked = zs.reshape(-1)[flat]           # z_r[label_r] - max_r
    e = np.exp(zs, out=zs)
    s = np.add.reduce(e, axis=1, keepdims=True)
    total = float(np.add.reduce(np.log(s)[:, 0] - picked))
    if want_grad:
        np.multiply(e, np.divide(scale, s, out=s), out=gl)
        if gl.flags.c_contiguous:
            gl.reshape(-1)[flat] -= scale
        else:
            gl[np.arange(n), labels] -= scale
    return total


def xent_dense_np(z, t, gl, gt, scale, want_grad, want_gt):
    """Sum over rows of lse sum(t) - sum(t (z - max)); gl, gt as in ``_jit._xent_dense``."""
    if z.shape[0] == 0:
        return 0.0
    zs, e, s, lse = _lse_rows(z)
    t = t.astype(np.float64, copy=False)
    tsum = t.sum(axis=1, keepdims=True)
    total = float((lse * tsum).sum() - (t * zs).sum())
    if want_grad:
        np.multiply(e * (tsum / s) - t, scale, out=gl)
        if want_gt:
            np.multiply(lse - zs, scale, out=gt)
    return total


def bce_np(z, t, gz, gt, scale, want_grad, want_gt):
    """Sum of max(z,0) - z t + log1p(exp(-|z|)); gz = (sigmoid(z) - t) scale, gt = -z scale."""
    z64, t64 = z.astype(np.float64, copy=False), t.astype(np.float64, copy=False)
    # the loss in float64: |z| (1 + |t|) overflows float32 for logits near 3e38 (the mean may not)
    total = float((np.maximum(z64, 0) - z64 * t64 + np.log1p(np.exp(-np.abs(z64)))).sum())
    if want_grad:
        s = np.tanh(z * 0.5)
        s += 1.0
        s *= 0.5
        np.multiply(s - t, scale, out=gz)
        if want_gt:
            np.multiply(z, -scale, out=gt)
    return total


def subtract_scaled_np(p, g, c):
    """In place: p -= c * g (c a Python float: rounded to p's dtype, NEP 50), two passes."""
    np.subtract(p, np.multiply(c, g), out=p)
