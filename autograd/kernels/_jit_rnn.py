"""numba step kernels for LSTM and GRU (twins in ``rnn.py``); imported on first use only.

2-d arrays of one float dtype; some are row-strided views (a step's slice of a (T, N, 2U)
buffer), which numba takes as 'A'-layout arrays.
"""
from __future__ import annotations

import math

import numba as nb

_jit = nb.njit(cache=True, fastmath=False, nogil=True, error_model="numpy")   # see _jit.py


def _sig(v):
    return 0.5 * (1.0 + math.tanh(0.5 * v))


def _lstm_step_fwd(z, c_prev, c, h, tc):
    n, u = c_prev.shape
    for r in range(n):
        for j in range(u):
            i = _sig_j(z[r, j])
            f = _sig_j(z[r, u + j])
            g = math.tanh(z[r, 2 * u + j])
            o = _sig_j(z[r, 3 * u + j])
            z[r, j] = i
            z[r, u + j] = f
            z[r, 2 * u + j] = g
            z[r, 3 * u + j] = o
            cv = f * c_prev[r, j] + i * g
            c[r, j] = cv
            t = math.tanh(cv)
            tc[r, j] = t
            h[r, j] = o * t


def _lstm_step_bwd(gates, c_prev, tc, dh, dc, dz):
    n, u = c_prev.shape
    for r in range(n):
        for j in range(u):
            i = gates[r, j]
            f = gates[r, u + j]
            g = gates[r, 2 * u + j]
            o = gates[r, 3 * u + j]
            t = tc[r, j]
            d_h = dh[r, j]
            d_c = dc[r, j] + d_h * o * (1.0 - t * t)
            dz[r, j] = d_c * g * i * (1.0 - i)
            dz[r, u + j] = d_c * c_prev[r, j] * f * (1.0 - f)
            dz[r, 2 * u + j] = d_c * i * (1.0 - g * g)
            dz[r, 3 * u + j] = d_h * t * o * (1.0 - o)
            dc[r, j] = d_c * f


def _gru_step_fwd(xw, rh, h_prev, cache, h):
    n, u = h_prev.shape
    for r in range(n):
        for j in range(u):
            z = _sig_j(xw[r, j] + rh[r, j])
            rr = _sig_j(xw[r, u + j] + rh[r, u + j])
            rhh = rh[r, 2 * u + j]
            hh = math.tanh(xw[r, 2 * u + j] + rr * rhh)
            cache[r, j] = z
            cache[r, u + j] = rr
            cache[r, 2 * u + j] = hh
            cache[r, 3 * u + j] = rhh
            h[r, j] = hh + z * (h_prev[r, j] - hh)


def _gru_step_bwd(cache, h_prev, dh, dzx, drh):
    n, u = h_prev.shape
    for r in range(n):
        for j in range(u):
            z = cache[r, j]
            rr = cache[r, u + j]
            hh = cache[r, 2 * u + j]
            rhh = cache[r, 3 * u + j]
            d = dh[r, j]
            dz = d * (h_prev[r, j] - hh) * z * (1.0 - z)
            dhh = d * (1.0 - z) * (1.0 - hh * hh)
            dr = dhh * rhh * rr * (1.0 - rr)
            dzx[r, j] = dz
            dzx[r, u + j] = dr
            dzx[r, 2 * u + j] = dhh
            drh[r, j] = dz
            drh[r, u + j] = dr
            drh[r, 2 * u + j] = dhh * rr
            dh[r, j] = d * z


_sig_j = _jit(_sig)
lstm_step_fwd = _jit(_lstm_step_fwd)
lstm_step_bwd = _jit(_lstm_step_bwd)
gru_step_fwd = _jit(_gru_step_fwd)
gru_step_bwd = _jit(_gru_step_bwd)
