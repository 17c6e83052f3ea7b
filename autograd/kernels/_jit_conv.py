"""numba convolution and pooling kernels: direct loops, channels innermost (channels_last).

Imported only by ``autograd.kernels._load_conv``.  Each kernel is a plain function ``_name``
jitted at module level as ``name`` (``cache=True``, compiled on first call).  They take
C-contiguous float32/float64 arrays in the layout of ``autograd/kernels/conv.py`` and the
top/left padding; out-of-range window positions read as 0 (convolution: so a NaN or inf
weight meets the padding as in the im2col twin) or -inf (max pooling).  Their numpy twins are the ``*_np`` functions of ``conv.py``.
"""
from __future__ import annotations

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, fastmath=False, nogil=True, error_model="numpy")   # see _jit.py


def _conv_forward(x, k, y, sh, sw, dh, dw, pt, pl, groups):
    """y[n, p, q, o] = sum_{i, j, c in o's group} x[n, p sh - pt + i dh, q sw - pl + j dw, c] k[i, j, c, o]."""
    n_, h, w, _ = x.shape
    kh, kw, cg, cout = k.shape
    og = cout // groups
    zero = x.dtype.type(0.0)
    for n in range(n_):
        for p in range(y.shape[1]):
            for q in range(y.shape[2]):
                acc = y[n, p, q]
                for o in range(cout):
                    acc[o] = 0.0
                for i in range(kh):
                    ih = p * sh - pt + i * dh
                    for j in range(kw):
                        iw = q * sw - pl + j * dw
                        inb = 0 <= ih < h and 0 <= iw < w      # padding is 0 (0 * nan = nan)
                        for gi in range(groups):
                            for c in range(cg):
                                xv = x[n, ih, iw, gi * cg + c] if inb else zero
                                for o in range(gi * og, gi * og + og):
                                    acc[o] += xv * k[i, j, c, o]


def _conv_input_grad(g, k, gx, sh, sw, dh, dw, pt, pl, groups):
    """gx (zeroed) += the adjoint of ``_conv_forward`` in x applied to g."""
    n_, h, w, _ = gx.shape
    kh, kw, cg, cout = k.shape
    og = cout // groups
    for n in range(n_):
        for p in range(g.shape[1]):
            for q in range(g.shape[2]):
                gr = g[n, p, q]
                for i in range(kh):
                    ih = p * sh - pt + i * dh
                    if ih < 0 or ih >= h:
                        continue
                    for j in range(kw):
                        iw = q * sw - pl + j * dw
                        if iw < 0 or iw >= w:
                            continue
                        for gi in range(groups):
                            for c in range(cg):
                                s = 0.0
                                for o in range(gi * og, gi * og + og):
                                    s += gr[o] * k[i, j, c, o]
                                gx[n, ih, iw, gi * cg + c] += s


def _conv_kernel_grad(x, g, gk, sh, sw, dh, dw, pt, pl, groups):
    """gk (zeroed) += the adjoint of ``_conv_forward`` in k applied to g."""
    n_, h, w, _ = x.shape
    kh, kw, cg, cout = gk.shape
    og = cout // groups
    zero = x.dtype.type(0.0)
    for n in range(n_):
        for p in range(g.shape[1]):
            for q in range(g.shape[2]):
                gr = g[n, p, q]
                for i in range(kh):
                    ih = p * sh - pt + i * dh
                    for j in range(kw):
                        iw = q * sw - pl + j * dw
                        inb = 0 <= ih < h and 0 <= iw < w
                        for gi in range(groups):
                            for c in range(cg):
                                xv = x[n, ih, iw, gi * cg + c] if inb else zero
                                for o in range(gi * og, gi * og + og):
                                    gk[i, j, c, o] += xv * gr[o]


def _max_pool_forward(x, y, arg, ph, pw, sh, sw, pt, pl):
    """y = window maxima, arg = row-major offset of the first maximum (NaN wins; padding is -inf)."""
    n_, h, w, c_ = x.shape
    for n in range(n_):
        for p in range(y.shape[1]):
            for q in range(y.shape[2]):
                for c in range(c_):
                    best = -np.inf
                    at = 0
                    nan = False
                    for i in range(ph):
                        ih = p * sh - pt + i
                        for j in range(pw):
                            iw = q * sw - pl + j
                            v = -np.inf
                            if 0 <= ih < h and 0 <= iw < w:
                                v = x[n, ih, iw, c]
                            if not nan and (v > best or v != v):
                                best = v
                                at = i * pw + j
                                nan = v != v
                    y[n, p, q, c] = best
                    arg[n, p, q, c] = at


def _max_pool_backward(g, arg, gx, ph, pw, sh, sw, pt, pl):
    """gx (zeroed) += g at the input each output's arg names (dropped if it is padding)."""
    n_, h, w, c_ = gx.shape
    for n in range(n_):
        for p in range(g.shape[1]):
            for q in range(g.shape[2]):
                for c in range(c_):
                    a = arg[n, p, q, c]
                    ih = p * sh - pt + a // pw
                    iw = q * sw - pl + a % pw
                    if 0 <= ih < h and 0 <= iw < w:
                        gx[n, ih, iw, c] += g[n, p, q, c]


def _avg_pool_forward(x, y, ph, pw, sh, sw, pt, pl):
    """y = mean of each window's real (unpadded) elements."""
    n_, h, w, c_ = x.shape
    for n in range(n_):
        for p in range(y.shape[1]):
            for q in range(y.shape[2]):
                row = y[n, p, q]
                for c in range(c_):
                    row[c] = 0.0
                cnt = 0
                for i in range(ph):
                    ih = p * sh - pt + i
                    if ih < 0 or ih >= h:
                        continue
                    for j in range(pw):
                        iw = q * sw - pl + j
                        if iw < 0 or iw >= w:
                            continue
                        cnt += 1
                        for c in range(c_):
                            row[c] += x[n, ih, iw, c]
                for c in range(c_):
                    row[c] /= cnt


def _avg_pool_backward(g, gx, ph, pw, sh, sw, pt, pl):
    """gx (zeroed) += g / count at every real element of the window."""
    n_, h, w, c_ = gx.shape
    for n in range(n_):
        for p in range(g.shape[1]):
            for q in range(g.shape[2]):
                i0, i1 = max(p * sh - pt, 0), min(p * sh - pt + ph, h)
                j0, j1 = max(q * sw - pl, 0), min(q * sw - pl + pw, w)
                cnt = (i1 - i0) * (j1 - j0)
                for ih in range(i0, i1):
                    for iw in range(j0, j1):
                        for c in range(c_):
                            gx[n, ih, iw, c] += g[n, p, q, c] / cnt


conv_forward = _jit(_conv_forward)
conv_input_grad = _jit(_conv_input_grad)
conv_kernel_grad = _jit(_conv_kernel_grad)
max_pool_forward = _jit(_max_pool_forward)
max_pool_backward = _jit(_max_pool_backward)
avg_pool_forward = _jit(_avg_pool_forward)
avg_pool_backward = _jit(_avg_pool_backward)
