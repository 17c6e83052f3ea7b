"""numba kernels for batch and layer normalization (twins in ``norm.py``).

Imported by ``autograd.kernels.norm`` on first use only.  Arrays are C-contiguous, one float
dtype; statistics and parameter-gradient sums accumulate in float64.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, fastmath=False, nogil=True, error_model="numpy")   # see _jit.py


def _layer_norm_fwd(x, gamma, beta, has_g, has_b, eps, out, mean, inv):
    m, d = x.shape
    for r in range(m):
        s = 0.0
        for j in range(d):
            s += x[r, j]
        mu = s / max(d, 1)
        ss = 0.0
        for j in range(d):
            t = x[r, j] - mu
            ss += t * t
        iv = 1.0 / math.sqrt(ss / max(d, 1) + eps)
        mean[r] = mu
        inv[r] = iv
        for j in range(d):
            y = (x[r, j] - mu) * iv
            if has_g:
                y *= gamma[j]
            if has_b:
                y += beta[j]
            out[r, j] = y


def _layer_norm_bwd(g, x, mean, inv, gamma, has_g, want_params, gx, gg, gb):
    m, d = x.shape
    accg = np.zeros(d)
    accb = np.zeros(d)
    for r in range(m):
        mu = mean[r]
        iv = inv[r]
        a = 0.0
        b = 0.0
        for j in range(d):
            xh = (x[r, j] - mu) * iv
            dxh = g[r, j] * gamma[j] if has_g else g[r, j]
            a += dxh
            b += dxh * xh
            if want_params:
                accg[j] += g[r, j] * xh
                accb[j] += g[r, j]
        a /= max(d, 1)
        b /= max(d, 1)
        for j in range(d):
            xh = (x[r, j] - mu) * iv
            dxh = g[r, j] * gamma[j] if has_g else g[r, j]
            gx[r, j] = iv * (dxh - a - xh * b)
    for j in range(d):
        gg[j] = accg[j]
        gb[j] = accb[j]


def _batch_norm_fwd(x, gamma, beta, has_g, has_b, eps, out, mean, inv):
    m, d = x.shape
    s = np.zeros(d)
    for r in range(m):
        for j in range(d):
            s[j] += x[r, j]
    mf = max(m, 1)
    for j in range(d):
        s[j] /= mf
    ss = np.zeros(d)
    for r in range(m):
        for j in range(d):
            t = x[r, j] - s[j]
            ss[j] += t * t
    scale = np.empty(d)
    shift = np.empty(d)
    for j in range(d):
        iv = 1.0 / math.sqrt(ss[j] / mf + eps)
        mean[j] = s[j]
        inv[j] = iv
        scale[j] = iv * gamma[j] if has_g else iv
        shift[j] = (beta[j] if has_b else 0.0) - s[j] * scale[j]
    for r in range(m):
        for j in range(d):
            out[r, j] = x[r, j] * scale[j] + shift[j]


def _batch_norm_bwd(g, x, mean, inv, gamma, has_g, gx, gg, gb):
    m, d = x.shape
    sg = np.zeros(d)
    sgx = np.zeros(d)
    for r in range(m):
        for j in range(d):
            v = g[r, j]
            sg[j] += v
            sgx[j] += v * (x[r, j] - mean[j]) * inv[j]
    mf = max(m, 1)
    for j in range(d):
        gb[j] = sg[j]
        gg[j] = sgx[j]
        sg[j] /= mf
        sgx[j] /= mf
    for r in range(m):
        for j in range(d):
            sc = inv[j] * gamma[j] if has_g else inv[j]
            xh = (x[r, j] - mean[j]) * inv[j]
            gx[r, j] = sc * (g[r, j] - sg[j] - xh * sgx[j])


layer_norm_fwd = _jit(_layer_norm_fwd)
layer_norm_bwd = _jit(_layer_norm_bwd)
batch_norm_fwd = _jit(_batch_norm_fwd)
batch_norm_bwd = _jit(_batch_norm_bwd)
