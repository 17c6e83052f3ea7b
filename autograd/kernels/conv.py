"""Convolution and pooling kernels: numpy twins (im2col + BLAS GEMM) and their dispatch.

Layout: channels_last.  ``x`` is (N, H, W, C), a kernel (kh, kw, C // groups, Cout), output
channel ``o`` belongs to group ``o // (Cout // groups)`` (PyTorch's and Keras' grouping).
Geometry is explicit and already validated by the caller (``autograd/ops/conv.py``):
``stride=(sh, sw)``, ``dilation=(dh, dw)``, ``pads=((top, bottom), (left, right))`` (>= 0).
A 1-d convolution is a 2-d one with H = 1.

Two paths per kernel, same results:

- numpy (``*_np``): im2col (kh*kw strided copies) + one GEMM per group through BLAS; the
  input gradient is the GEMM ``g K^T`` followed by col2im (kh*kw strided adds).
- numba (``autograd/kernels/_jit_conv.py``): a direct loop, channels innermost, that makes
  no column matrix, meant for GEMMs too thin for BLAS to pay (few channels).

``CONV_DIRECT_MAX`` (below) picks between them per call from the GEMM's size; measured, the
direct loop lost everywhere, so ``auto`` takes im2col + BLAS (figures beside the constant).
Max pooling routes each output's gradient to one input, the first maximum of its window in
row-major window order (NaN counts as the maximum), as PyTorch's CPU kernel does.  Average
pooling divides by the number of real (unpadded) elements of each window (Keras' 'same').
"""
from __future__ import annotations

import numpy as np

from ..errors import DTypeError, ShapeError

__all__ = ["conv_forward", "conv_input_grad", "conv_kernel_grad", "max_pool_forward",
           "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
           "conv_forward_np", "conv_input_grad_np", "conv_kernel_grad_np",
           "max_pool_forward_np", "max_pool_backward_np", "avg_pool_forward_np",
           "avg_pool_backward_np"]

# ----------------------------------------------------------------------------- thresholds
# The direct numba loop is used while the per-group GEMM size kh*kw*Cin_g*Cout_g
# (multiply-adds per output pixel) is at most CONV_DIRECT_MAX; above, im2col + BLAS.
# Measured with ``python -m benchmarks.conv_step --kernels``: float32, batch 64,
# 3x3 kernels, medians of 15, OPENBLAS_NUM_THREADS=1, load average ~14 on 2 cores;
# direct vs im2col, forward / input grad / kernel grad, in us:
#   8x8x1->16   (144):    904/1102/1163  vs  127/157/103    (direct 8.2x slower)
#   8x8x4->8    (288):   1514/1450/1375  vs  357/819/334    (2.9x)
#   28x28x1->32 (288):  82524/71101/63015 vs 1954/8019/2357 (17.6x)
#   4x4x16->32  (4608): 21364/22636/30247 vs 278/522/299    (68x)
# The direct loop lost at every size, so auto never takes it (as the dense GEMM_MIN):
# AUTOGRAD_KERNELS=numba still runs it, and its twin tests keep it correct.
CONV_DIRECT_MAX = -1
# Pooling (2x2, stride 2), numba loop vs numpy's pool-size strided passes, forward/backward:
# 64x8x8x16 537/99 vs 874/360 us; 64x4x4x32 273/51 vs 416/463 us; 64x26x26x32 61.5/18.8 vs
# 126/40 ms (same load).  numba wins from the smallest measured size; below 4096 elements
# numpy keeps small models from importing numba at all (~0.45 s a process, see SMALL).
POOL_NUMBA_MIN = 4096


def _window_slice(i, j, stride, dilation, oh, ow):
    """The (H, W) slices of a padded input that window offset (i, j) reads for every output."""
    sh, sw = stride
    dh, dw = dilation
    return (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def _pad(x, pads, value=0.0):
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, h, w, c = x.shape
    xp = np.full((n, h + pt + pb, w + pl + pr, c), value, x.dtype)
    xp[:, pt:pt + h, pl:pl + w] = x
    return xp


def _out_size(size, k, s, d, p):
    return (size + p[0] + p[1] - d * (k - 1) - 1) // s + 1


def im2col_np(x, ksize, stride, dilation, pads):
    """(N, OH, OW, kh, kw, C) patches of the zero-padded x."""
    kh, kw = ksize
    xp = _pad(x, pads)
    oh = _out_size(x.shape[1], kh, stride[0], dilation[0], pads[0])
    ow = _out_size(x.shape[2], kw, stride[1], dilation[1], pads[1])
    cols = np.empty((x.shape[0], oh, ow, kh, kw, x.shape[3]), x.dtype)
    for i in range(kh):
        for j in range(kw):
            hs, ws = _window_slice(i, j, stride, dilation, oh, ow)
            cols[:, :, :, i, j, :] = xp[:, hs, ws, :]
    return cols


def _grouped(cols, k, groups):
    """cols (M, kh, kw, C) times kernel (kh, kw, Cg, Cout), per group: (M, Cout)."""
    m = cols.shape[0]
    kh, kw, cg, cout = k.shape
    if groups == 1:
        return cols.reshape(m, kh * kw * cg) @ k.reshape(kh * kw * cg, cout)
    og = cout // groups
    c5 = cols.reshape(m, kh * kw, groups, cg).transpose(2, 0, 1, 3).reshape(groups, m, kh * kw * cg)
    k3 = k.reshape(kh * kw * cg, groups, og).transpose(1, 0, 2)
    return np.matmul(c5, k3).transpose(1, 0, 2).reshape(m, cout)


def conv_forward_np(x, k, stride, dilation, pads, groups):
    """y (N, OH, OW, Cout) = sum over the window and the group's channels of x * k."""
    cols = im2col_np(x, k.shape[:2], stride, dilation, pads)
    n, oh, ow = cols.shape[:3]
    y = _grouped(cols.reshape(n * oh * ow, k.shape[0], k.shape[1], x.shape[3]), k, groups)
    return np.ascontiguousarray(y.reshape(n, oh, ow, k.shape[3]))


def conv_input_grad_np(g, k, x_shape, stride, dilation, pads, groups):
    """gx (x_shape) = col2im(g K^T): the adjoint of ``conv_forward_np`` in x."""
    n, oh, ow, cout = g.shape
    kh, kw, cg, _ = k.shape
    m = n * oh * ow
    g2 = g.reshape(m, cout)
    if groups == 1:
        gcols = g2 @ k.reshape(kh * kw * cg, cout).T
    else:
        og = cout // groups
        g3 = g2.reshape(m, groups, og).transpose(1, 0, 2)                    # (G, M, og)
        k3 = k.reshape(kh * kw * cg, groups, og).transpose(1, 2, 0)          # (G, og, K)
        gcols = np.matmul(g3, k3).reshape(groups, m, kh * kw, cg).transpose(1, 2, 0, 3)
    gcols = gcols.reshape(n, oh, ow, kh, kw, cg * groups)
    (pt, pb), (pl, pr) = pads
    _, h, w, c = x_shape
    gxp = np.zeros((n, h + pt + pb, w + pl + pr, c), g.dtype)
    for i in range(kh):
        for j in range(kw):
            hs, ws = _window_slice(i, j, stride, dilation, oh, ow)
            gxp[:, hs, ws, :] += gcols[:, :, :, i, j, :]
    return np.ascontiguousarray(gxp[:, pt:pt + h, pl:pl + w, :])


def conv_kernel_grad_np(x, g, k_shape, stride, dilation, pads, groups):
    """gk (k_shape) = im2col(x)^T g, per group: the adjoint of ``conv_forward_np`` in k."""
    kh, kw, cg, cout = k_shape
    cols = im2col_np(x, (kh, kw), stride, dilation, pads)
    m = g.shape[0] * g.shape[1] * g.shape[2]
    g2 = g.reshape(m, cout)
    if groups == 1:
        return (cols.reshape(m, kh * kw * cg).T @ g2).reshape(k_shape)
    og = cout // groups
    c3 = cols.reshape(m, kh * kw, groups, cg).transpose(2, 3, 1, 0)    # (G, cg, kh*kw, M)
    c3 = c3.transpose(0, 2, 1, 3).reshape(groups, kh * kw * cg, m)
    g3 = g2.reshape(m, groups, og).transpose(1, 0, 2)                  # (G, M, og)
    gk = np.matmul(c3, g3)                                             # (G, K, og)
    return np.ascontiguousarray(gk.transpose(1, 0, 2).reshape(k_shape))


# ----------------------------------------------------------------------------- pooling
def _pool_out(x_shape, pool, stride, pads):
    return (_out_size(x_shape[1], pool[0], stride[0], 1, pads[0]),
            _out_size(x_shape[2], pool[1], stride[1], 1, pads[1]))


def max_pool_forward_np(x, pool, stride, pads):
    """(y, arg): y the window maxima (N, OH, OW, C); arg (int32) the row-major offset in
    the window of the first maximum (NaN counts as the maximum), for the backward."""
    oh, ow = _pool_out(x.shape, pool, stride, pads)
    xp = _pad(x, pads, -np.inf)
    y = np.full((x.shape[0], oh, ow, x.shape[3]), -np.inf, x.dtype)
    arg = np.zeros(y.shape, np.int32)
    isnan = np.zeros(y.shape, bool)
    for i in range(pool[0]):
        for j in range(pool[1]):
            hs, ws = _window_slice(i, j, stride, (1, 1), oh, ow)
            v = xp[:, hs, ws, :]
            take = (v > y) & ~isnan
            vn = np.isnan(v) & ~isnan
            take |= vn
            isnan |= vn
            np.copyto(y, v, where=take)
            arg[take] = i * pool[1] + j
    return y, arg


def max_pool_backward_np(g, arg, x_shape, pool, stride, pads):
    """gx: each output's gradient added to the input its ``arg`` names."""
    n, oh, ow, c = g.shape
    (pt, pb), (pl, pr) = pads
    gxp = np.zeros((n, x_shape[1] + pt + pb, x_shape[2] + pl + pr, c), g.dtype)
    for i in range(pool[0]):
        for j in range(pool[1]):
            hs, ws = _window_slice(i, j, stride, (1, 1), oh, ow)
            gxp[:, hs, ws, :] += np.where(arg == i * pool[1] + j, g, 0)
    return np.ascontiguousarray(gxp[:, pt:pt + x_shape[1], pl:pl + x_shape[2], :])


def pool_counts(x_shape, pool, stride, pads):
    """(OH, OW, 1): how many real (unpadded) elements each window holds."""
    oh, ow = _pool_out(x_shape, pool, stride, pads)
    (pt, pb), (pl, pr) = pads
    def one(size, k, s, lo, o):
        start = np.arange(o) * s - lo
        return np.minimum(start + k, size) - np.maximum(start, 0)
    return (one(x_shape[1], pool[0], stride[0], pt, oh)[:, None]
            * one(x_shape[2], pool[1], stride[1], pl, ow)[None, :])[:, :, None]


def avg_pool_forward_np(x, pool, stride, pads):
    """y (N, OH, OW, C): window sums over real elements divided by their count."""
    oh, ow = _pool_out(x.shape, pool, stride, pads)
    xp = _pad(x, pads)
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]), x.dtype)
    for i in range(pool[0]):
        for j in range(pool[1]):
            hs, ws = _window_slice(i, j, stride, (1, 1), oh, ow)
            y += xp[:, hs, ws, :]
    y /= pool_counts(x.shape, pool, stride, pads).astype(x.dtype)
    return y


def avg_pool_backward_np(g, x_shape, pool, stride, pads):
    """gx: each output's gradient divided by its count, added to every real input of its window."""
    n, oh, ow, c = g.shape
    (pt, pb), (pl, pr) = pads
    gs = g / pool_counts(x_shape, pool, stride, pads).astype(g.dtype)
    gxp = np.zeros((n, x_shape[1] + pt + pb, x_shape[2] + pl + pr, c), g.dtype)
    for i in range(pool[0]):
        for j in range(pool[1]):
            hs, ws = _window_slice(i, j, stride, (1, 1), oh, ow)
            gxp[:, hs, ws, :] += gs
    return np.ascontiguousarray(gxp[:, pt:pt + x_shape[1], pl:pl + x_shape[2], :])


# ----------------------------------------------------------------------------- dispatch
def _check(op, **arrays):
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            raise DTypeError(f"kernels.{op}: {name} must be a float numpy array, got "
                             f"{getattr(a, 'dtype', type(a).__name__)}")
        if a.ndim != 4:
            raise ShapeError(f"kernels.{op}: {name} must be 4-d, got shape {a.shape}")
    dts = {a.dtype for a in arrays.values()}
    if len(dts) != 1:
        raise DTypeError(f"kernels.{op}: arrays must share one dtype, got "
                         f"{', '.join(f'{n} {a.dtype}' for n, a in arrays.items())}")


def _direct(k_shape, groups, dtype) -> bool:
    from . import _numba
    kh, kw, cg, cout = k_shape
    return _numba(0, 0, dtype) and (_mode() == "numba" or kh * kw * cg * (cout // groups)
                                    <= CONV_DIRECT_MAX)


def _mode():
    from . import MODE
    return MODE


def _jc():
    from . import _load_conv
    return _load_conv()


def conv_forward(x, k, stride, dilation, pads, groups):
    """Dispatch: direct numba loop for thin GEMMs, im2col + BLAS otherwise."""
    _check("conv_forward", x=x, k=k)
    if _direct(k.shape, groups, x.dtype):
        n, h, w, c = x.shape
        oh = _out_size(h, k.shape[0], stride[0], dilation[0], pads[0])
        ow = _out_size(w, k.shape[1], stride[1], dilation[1], pads[1])
        y = np.empty((n, oh, ow, k.shape[3]), x.dtype)
        if y.size:
            _jc().conv_forward(np.ascontiguousarray(x), np.ascontiguousarray(k), y,
                               *stride, *dilation, pads[0][0], pads[1][0], groups)
        return y
    return conv_forward_np(x, k, stride, dilation, pads, groups)


def conv_input_grad(g, k, x_shape, stride, dilation, pads, groups):
    _check("conv_input_grad", g=g, k=k)
    if _direct(k.shape, groups, g.dtype):
        gx = np.zeros(x_shape, g.dtype)
        if g.size and gx.size:
            _jc().conv_input_grad(np.ascontiguousarray(g), np.ascontiguousarray(k), gx,
                                  *stride, *dilation, pads[0][0], pads[1][0], groups)
        return gx
    return conv_input_grad_np(g, k, x_shape, stride, dilation, pads, groups)


def conv_kernel_grad(x, g, k_shape, stride, dilation, pads, groups):
    _check("conv_kernel_grad", x=x, g=g)
    if _direct(k_shape, groups, x.dtype):
        gk = np.zeros(k_shape, x.dtype)
        if g.size and x.size:
            _jc().conv_kernel_grad(np.ascontiguousarray(x), np.ascontiguousarray(g), gk,
                                   *stride, *dilation, pads[0][0], pads[1][0], groups)
        return gk
    return conv_kernel_grad_np(x, g, k_shape, stride, dilation, pads, groups)


def _pool_numba(x) -> bool:
    from . import _numba
    return _numba(x.size, POOL_NUMBA_MIN, x.dtype)


def max_pool_forward(x, pool, stride, pads):
    _check("max_pool_forward", x=x)
    if _pool_numba(x):
        oh, ow = _pool_out(x.shape, pool, stride, pads)
        y = np.empty((x.shape[0], oh, ow, x.shape[3]), x.dtype)
        arg = np.zeros(y.shape, np.int32)
        if y.size:
            _jc().max_pool_forward(np.ascontiguousarray(x), y, arg, pool[0], pool[1],
                                   stride[0], stride[1], pads[0][0], pads[1][0])
        return y, arg
    return max_pool_forward_np(x, pool, stride, pads)


def max_pool_backward(g, arg, x_shape, pool, stride, pads):
    _check("max_pool_backward", g=g)
    if arg.shape != g.shape:
        raise ShapeError(f"kernels.max_pool_backward: arg of shape {arg.shape} does not match "
                         f"g of shape {g.shape}")
    if _pool_numba(g):
        gx = np.zeros(x_shape, g.dtype)
        if g.size:
            _jc().max_pool_backward(np.ascontiguousarray(g), np.ascontiguousarray(arg, np.int32),
                                    gx, pool[0], pool[1], stride[0], stride[1], pads[0][0],
                                    pads[1][0])
        return gx
    return max_pool_backward_np(g, arg, x_shape, pool, stride, pads)


def avg_pool_forward(x, pool, stride, pads):
    _check("avg_pool_forward", x=x)
    if _pool_numba(x):
        oh, ow = _pool_out(x.shape, pool, stride, pads)
        y = np.empty((x.shape[0], oh, ow, x.shape[3]), x.dtype)
        if y.size:
            _jc().avg_pool_forward(np.ascontiguousarray(x), y, pool[0], pool[1], stride[0],
                                   stride[1], pads[0][0], pads[1][0])
        return y
    return avg_pool_forward_np(x, pool, stride, pads)


def avg_pool_backward(g, x_shape, pool, stride, pads):
    _check("avg_pool_backward", g=g)
    if _pool_numba(g):
        gx = np.zeros(x_shape, g.dtype)
        if g.size:
            _jc().avg_pool_backward(np.ascontiguousarray(g), gx, pool[0], pool[1], stride[0],
                                    stride[1], pads[0][0], pads[1][0])
        return gx
    return avg_pool_backward_np(g, x_shape, pool, stride, pads)
