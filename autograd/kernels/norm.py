"""Batch and layer normalization kernels: numpy twins, numba forms, one dispatch per kernel.

Every kernel works on a 2-d view ``x2`` of shape (M, D):

- layer norm normalizes each *row* (the D features of one sample),
- batch norm normalizes each *column* (one channel over the M rows of the batch).

Statistics are two-pass (mean, then the mean of squared deviations): no cancellation when
the mean is large against the spread.  The numba forms accumulate in float64 for float32
data; the numpy twins use numpy's pairwise sums.  The forwards return the per-row (layer)
or per-column (batch) mean and ``inv = 1 / sqrt(var + eps)``, which the backwards reuse.

The numba kernels live in ``_jit_norm.py`` and are imported on first use only.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, DTypeError

__all__ = ["layer_norm_fwd", "layer_norm_bwd", "batch_norm_fwd", "batch_norm_bwd",
           "layer_norm_fwd_np", "layer_norm_bwd_np", "batch_norm_fwd_np", "batch_norm_bwd_np",
           "LN_MIN", "BN_MIN"]

# Thresholds (element counts M*D): ``python -m benchmarks.seq_kernels --threads 1``,
# float32, medians of 9 interleaved repeats on a busy machine (load ~10 on 2 cores),
# numpy / numba per call in µs:
#   layer norm fwd 16x32 125/52, 64x128 119/127, 256x128 414/287, 1024x128 1955/1897,
#     4096x64 3960/3956; bwd 16x32 161/47, 64x128 218/142, 256x128 901/673,
#     1024x128 4060/2736, 4096x64 19105/5793
#   batch norm fwd 16x32 77/38, 64x128 165/65, 256x128 282/187, 1024x128 1467/508,
#     4096x64 2047/947; bwd 16x32 97/43, 64x128 231/70, 256x128 680/251,
#     1024x128 2645/1744, 4096x64 5891/1410
# numba wins (or ties) at every measured size, but importing numba costs ~0.45 s per
# process, so as everywhere in the library auto keeps numpy below SMALL (16384) elements.
NEVER = 1 << 62
LN_MIN = 16384
BN_MIN = 16384

_JN = None


def _jn():
    """The numba kernels (imported on first use, after the package's numba set-up)."""
    global _JN
    if _JN is None:
        from . import _load
        _load()
        from . import _jit_norm
        _JN = _jit_norm
    return _JN


def _use_numba(size: int, threshold: int, dtype) -> bool:
    from . import _numba
    return _numba(size, threshold, dtype)


def _check(op: str, x2, *vecs):
    if not isinstance(x2, np.ndarray) or x2.dtype.kind != "f" or x2.ndim != 2:
        raise ShapeError(f"kernels.{op}: x must be a 2-d float array, got "
                         f"{getattr(x2, 'shape', None)} {getattr(x2, 'dtype', type(x2).__name__)}")
    for name, v, n in vecs:
        if v is None:
            continue
        if not isinstance(v, np.ndarray) or v.dtype.kind != "f":
            raise DTypeError(f"kernels.{op}: {name} must be a float array")
        if v.shape != (n,):
            raise ShapeError(f"kernels.{op}: {name} of shape {v.shape} does not fit x of shape "
                             f"{x2.shape}; expected ({n},)")


def _vec(v, dt):
    return np.empty(0, dt) if v is None else np.ascontiguousarray(v, dtype=dt)


# ----------------------------------------------------------------------------- numpy twins
def layer_norm_fwd_np(x, gamma, beta, eps):
    """(out, mean (M,), inv (M,)): out = (x - mean_row) inv_row gamma + beta."""
    mean = x.mean(axis=1)
    xc = x - mean[:, None]
    var = np.einsum("ij,ij->i", xc, xc) / max(x.shape[1], 1)
    inv = 1.0 / np.sqrt(var + eps)
    out = xc
    out *= inv[:, None]
    if gamma is not None:
        out *= gamma
    if beta is not None:
        out += beta
    return out, mean, inv.astype(x.dtype, copy=False)


def layer_norm_bwd_np(g, x, mean, inv, gamma, want_params):
    """(gx, ggamma, gbeta): gx = inv (dxh - mean(dxh) - xh mean(dxh xh)), dxh = g gamma."""
    xh = (x - mean[:, None]) * inv[:, None]
    dxh = g * gamma if gamma is not None else g
    d = max(x.shape[1], 1)
    a = dxh.sum(axis=1, keepdims=True) / d
    b = np.einsum("ij,ij->i", dxh, xh)[:, None] / d
    gx = dxh - a
    gx -= xh * b
    gx *= inv[:, None]
    gg = gb = None
    if want_params:
        gg = np.einsum("ij,ij->j", g, xh)
        gb = g.sum(axis=0)
    return gx, gg, gb


def batch_norm_fwd_np(x, gamma, beta, eps):
    """(out, mean (D,), inv (D,)): each column normalized by its batch statistics."""
    m = max(x.shape[0], 1)
    mean = x.sum(axis=0) / m
    xc = x - mean
    var = np.einsum("ij,ij->j", xc, xc) / m
    inv = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    scale = inv * gamma if gamma is not None else inv
    out = xc
    out *= scale
    if beta is not None:
        out += beta
    return out, mean, inv


def batch_norm_bwd_np(g, x, mean, inv, gamma):
    """(gx, ggamma, gbeta): gx = gamma inv (g - mean(g) - xh mean(g xh)) per column."""
    m = max(x.shape[0], 1)
    xh = (x - mean) * inv
    gb = g.sum(axis=0)
    gg = np.einsum("ij,ij->j", g, xh)
    scale = inv * gamma if gamma is not None else inv
    gx = g - gb / m
    gx -= xh * (gg / m)
    gx *= scale
    return gx, gg, gb


# ----------------------------------------------------------------------------- dispatch
def layer_norm_fwd(x2, gamma, beta, eps: float):
    """Layer norm over the rows of x2 (M, D); gamma, beta (D,) or None.  (out, mean, inv)."""
    _check("layer_norm_fwd", x2, ("gamma", gamma, x2.shape[1]), ("beta", beta, x2.shape[1]))
    dt = x2.dtype
    if _use_numba(x2.size, LN_MIN, dt) and x2.size:
        xc = np.ascontiguousarray(x2)
        out = np.empty_like(xc)
        mean = np.empty(x2.shape[0], dt)
        inv = np.empty(x2.shape[0], dt)
        _jn().layer_norm_fwd(xc, _vec(gamma, dt), _vec(beta, dt), gamma is not None,
                             beta is not None, float(eps), out, mean, inv)
        return out, mean, inv
    return layer_norm_fwd_np(x2, gamma, beta, eps)


def layer_norm_bwd(g2, x2, mean, inv, gamma, want_params: bool):
    """(gx, ggamma or None, gbeta or None) for layer_norm_fwd's output gradient g2."""
    _check("layer_norm_bwd", x2, ("gamma", gamma, x2.shape[1]), ("mean", mean, x2.shape[0]),
           ("inv", inv, x2.shape[0]))
    if g2.shape != x2.shape:
        raise ShapeError(f"kernels.layer_norm_bwd: g of shape {g2.shape} does not match x "
                         f"{x2.shape}")
    dt = x2.dtype
    if g2.dtype == dt and _use_numba(x2.size, LN_MIN, dt) and x2.size:
        gx = np.empty(x2.shape, dt)
        gg = np.empty(x2.shape[1], dt)
        gb = np.empty(x2.shape[1], dt)
        _jn().layer_norm_bwd(np.ascontiguousarray(g2), np.ascontiguousarray(x2), _vec(mean, dt),
                             _vec(inv, dt), _vec(gamma, dt), gamma is not None, want_params,
                             gx, gg, gb)
        return gx, (gg if want_params else None), (gb if want_params else None)
    return layer_norm_bwd_np(g2, x2, mean, inv, gamma, want_params)


def batch_norm_fwd(x2, gamma, beta, eps: float):
    """Batch norm over the columns of x2 (M, C); gamma, beta (C,) or None.  (out, mean, inv)."""
    _check("batch_norm_fwd", x2, ("gamma", gamma, x2.shape[1]), ("beta", beta, x2.shape[1]))
    dt = x2.dtype
    if _use_numba(x2.size, BN_MIN, dt) and x2.size:
        xc = np.ascontiguousarray(x2)
        out = np.empty_like(xc)
        mean = np.empty(x2.shape[1], dt)
        inv = np.empty(x2.shape[1], dt)
        _jn().batch_norm_fwd(xc, _vec(gamma, dt), _vec(beta, dt), gamma is not None,
                             beta is not None, float(eps), out, mean, inv)
        return out, mean, inv
    return batch_norm_fwd_np(x2, gamma, beta, eps)


def batch_norm_bwd(g2, x2, mean, inv, gamma):
    """(gx, ggamma, gbeta) for batch_norm_fwd's output gradient g2."""
    _check("batch_norm_bwd", x2, ("gamma", gamma, x2.shape[1]), ("mean", mean, x2.shape[1]),
           ("inv", inv, x2.shape[1]))
    if g2.shape != x2.shape:
        raise ShapeError(f"kernels.batch_norm_bwd: g of shape {g2.shape} does not match x "
                         f"{x2.shape}")
    dt = x2.dtype
    if g2.dtype == dt and _use_numba(x2.size, BN_MIN, dt) and x2.size:
        gx = np.empty(x2.shape, dt)
        gg = np.empty(x2.shape[1], dt)
        gb = np.empty(x2.shape[1], dt)
        _jn().batch_norm_bwd(np.ascontiguousarray(g2), np.ascontiguousarray(x2), _vec(mean, dt),
                             _vec(inv, dt), _vec(gamma, dt), gamma is not None, gx, gg, gb)
        return gx, gg, gb
    return batch_norm_bwd_np(g2, x2, mean, inv, gamma)
