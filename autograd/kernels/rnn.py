"""Recurrent kernels: LSTM, GRU and simple-RNN sequences, time-major, one call per sequence.

The caller (``autograd.ops.rnn``) computes the input projections of every step at once
(``xw = x @ kernel + bias``, one GEMM, shape (T, N, G)); these functions run the recurrence:
per step one GEMM through numpy's BLAS (``h @ recurrent_kernel``) and one fused elementwise
step (gates, cell, output), numba or numpy.  The backwards return the gradients of the
pre-activations of every step (``dz``, (T, N, G)), from which the caller gets the input and
kernel gradients with one GEMM each, plus the recurrent-kernel gradient (one GEMM over all
steps) and the initial-state gradients.

Gate layouts (columns of the (.., G) pre-activations; Keras' layout, which the layers use):

- LSTM, G = 4U: input i, forget f, cell candidate g, output o (PyTorch's order too:
  ``weight_ih_l0`` is ``kernel.T``, ``weight_hh_l0`` is ``recurrent_kernel.T``, and Keras'
  one bias is PyTorch's ``bias_ih + bias_hh``).
  c' = f c + i g,  h' = o tanh(c'),  i, f, o = sigmoid,  g = tanh.
- GRU (Keras ``reset_after=True``), G = 3U: update z, reset r, candidate hh (PyTorch orders
  them r, z, n).  With xw = x W + b_in and rh = h U + b_rec:
  z = sigmoid(xw_z + rh_z), r = sigmoid(xw_r + rh_r), hh = tanh(xw_h + r rh_h),
  h' = z h + (1 - z) hh (PyTorch's formula with its z).
- simple RNN, G = U: h' = tanh(xw + h U).

The numba step kernels are in ``_jit_rnn.py`` (imported on first use).
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError

__all__ = ["lstm_fwd", "lstm_bwd", "gru_fwd", "gru_bwd", "rnn_fwd", "rnn_bwd",
           "lstm_step_fwd_np", "lstm_step_bwd_np", "gru_step_fwd_np", "gru_step_bwd_np",
           "LSTM_FWD_MIN", "LSTM_BWD_MIN", "GRU_FWD_MIN", "GRU_BWD_MIN"]

NEVER = 1 << 62
# Step kernels, numba vs numpy, per call of one step (N*U elements); ``python -m
# benchmarks.seq_kernels --threads 1``, float32, medians of 9 interleaved repeats on a busy
# machine (load ~10 on 2 cores), numpy / numba in µs (one-step calls include the GEMM):
#   LSTM fwd 8x16 166/115, 32x64 263/1244, 64x128 1773/7633, 256x256 14329/56608
#   LSTM bwd 8x16 233/76, 32x64 404/307, 64x128 3650/2033, 256x256 21614/20616
#   GRU fwd 8x16 122/64, 32x64 433/1022, 64x128 1126/4964, 256x256 11883/41194
#   GRU bwd 8x16 202/70, 32x64 503/269, 64x128 2113/1547, 256x256 25980/18182
# The forwards lose from 32x64 on: numba's scalar tanh/exp against numpy's SIMD ones (as
# the activation kernels found), so numpy.  The backwards (no transcendentals) win at every
# size; numba is used from 2048 elements per step (below, the step is too short for the
# 0.45 s numba start-up to pay back in a small model).
LSTM_FWD_MIN = NEVER
LSTM_BWD_MIN = 2048
GRU_FWD_MIN = NEVER
GRU_BWD_MIN = 2048

_JR = None


def _jr():
    global _JR
    if _JR is None:
        from . import _load
        _load()
        from . import _jit_rnn
        _JR = _jit_rnn
    return _JR


def _use_numba(size: int, threshold: int, dtype) -> bool:
    from . import _numba
    return _numba(size, threshold, dtype)


def _check(op, xw, g_per_unit, rk, *states):
    if xw.ndim != 3 or rk.ndim != 2 or xw.shape[2] != g_per_unit * rk.shape[0] \
            or rk.shape[1] != xw.shape[2]:
        raise ShapeError(f"kernels.{op}: projections {xw.shape} and recurrent kernel {rk.shape} "
                         f"do not fit ({g_per_unit} gates per unit)")
    for s in states:
        if s is not None and s.shape != (xw.shape[1], rk.shape[0]):
            raise ShapeError(f"kernels.{op}: state of shape {s.shape}, expected "
                             f"{(xw.shape[1], rk.shape[0])}")


# ----------------------------------------------------------------------------- numpy steps
def _sig_inplace(a):
    """a = sigmoid(a) = (1 + tanh(a/2)) / 2, in place (stable at any a)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def lstm_step_fwd_np(z, c_prev, c, h, tc):
    """z (N, 4U) pre-activations -> activated gates in place; c, h, tc = tanh(c) written."""
    u = c_prev.shape[1]
    _sig_inplace(z[:, :2 * u])
    np.tanh(z[:, 2 * u:3 * u], out=z[:, 2 * u:3 * u])
    _sig_inplace(z[:, 3 * u:])
    i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
    np.multiply(f, c_prev, out=c)
    c += i * g
    np.tanh(c, out=tc)
    np.multiply(o, tc, out=h)


def lstm_step_bwd_np(gates, c_prev, tc, dh, dc, dz):
    """dz (N, 4U) from dh, dc (N, U) and the step's cache; dc becomes the gradient of c_prev."""
    u = c_prev.shape[1]
    i, f, g, o = gates[:, :u], gates[:, u:2 * u], gates[:, 2 * u:3 * u], gates[:, 3 * u:]
    dc += dh * o * (1.0 - tc * tc)
    np.multiply(dc * g, i * (1.0 - i), out=dz[:, :u])
    np.multiply(dc * c_prev, f * (1.0 - f), out=dz[:, u:2 * u])
    np.multiply(dc * i, 1.0 - g * g, out=dz[:, 2 * u:3 * u])
    np.multiply(dh * tc, o * (1.0 - o), out=dz[:, 3 * u:])
    dc *= f


def gru_step_fwd_np(xw, rh, h_prev, cache, h):
    """cache (N, 4U) = [z, r, hh, rh_h]; h = hh + z (h_prev - hh)."""
    u = h_prev.shape[1]
    zr = cache[:, :2 * u]
    np.add(xw[:, :2 * u], rh[:, :2 * u], out=zr)
    _sig_inplace(zr)
    cache[:, 3 * u:] = rh[:, 2 * u:]
    hh = cache[:, 2 * u:3 * u]
    np.multiply(cache[:, u:2 * u], rh[:, 2 * u:], out=hh)
    hh += xw[:, 2 * u:]
    np.tanh(hh, out=hh)
    np.subtract(h_prev, hh, out=h)
    h *= cache[:, :u]
    h += hh


def gru_step_bwd_np(cache, h_prev, dh, dzx, drh):
    """dzx, drh (N, 3U): gradients of the input and recurrent pre-activations; dh becomes
    the direct part of the gradient of h_prev (dh z)."""
    u = h_prev.shape[1]
    z, r, hh, rhh = cache[:, :u], cache[:, u:2 * u], cache[:, 2 * u:3 * u], cache[:, 3 * u:]
    np.multiply(dh * (h_prev - hh), z * (1.0 - z), out=dzx[:, :u])
    np.multiply(dh * (1.0 - z), 1.0 - hh * hh, out=dzx[:, 2 * u:])
    np.multiply(dzx[:, 2 * u:] * rhh, r * (1.0 - r), out=dzx[:, u:2 * u])
    drh[:, :2 * u] = dzx[:, :2 * u]
    np.multiply(dzx[:, 2 * u:], r, out=drh[:, 2 * u:])
    dh *= z


# ----------------------------------------------------------------------------- sequences
def lstm_fwd(xw, h0, c0, rk, mask=None, overwrite=False):
    """xw (T, N, 4U), h0, c0 (N, U), rk (U, 4U), one float dtype, C-contiguous; mask (T, N)
    bool or None (where False, the step keeps the previous state).  overwrite: xw may become
    the gates buffer (the caller's fresh projections), saving a copy.
    Returns (states (T, N, 2U) = [h | c] per step, gates (T, N, 4U), tc (T, N, U))."""
    _check("lstm_fwd", xw, 4, rk, h0, c0)
    t_len, n, g4 = xw.shape
    u = g4 // 4
    dt = xw.dtype
    h0, c0, rk = (np.ascontiguousarray(a, dtype=dt) for a in (h0, c0, rk))
    states = np.empty((t_len, n, 2 * u), dt)
    tc = np.empty((t_len, n, u), dt)
    gates = xw if overwrite and xw.flags.c_contiguous else np.array(xw, dtype=dt, copy=True)
    tmp = np.empty((n, g4), dt)
    numba = _use_numba(n * u, LSTM_FWD_MIN, dt) and n * u > 0
    step = _jr().lstm_step_fwd if numba else lstm_step_fwd_np
    h, c = h0, c0
    for t in range(t_len):
        z = gates[t]
        np.matmul(h, rk, out=tmp)
        z += tmp
        hv, cv = states[t, :, :u], states[t, :, u:]
        step(z, c, cv, hv, tc[t])
        if mask is not None and not mask[t].all():
            skip = ~mask[t]
            hv[skip] = h[skip]
            cv[skip] = c[skip]
        h, c = hv, cv
    return states, gates, tc


def lstm_bwd(dstates, states, gates, tc, h0, c0, rk, mask=None):
    """Gradients (dz (T, N, 4U), dh0, dc0, drk) from dstates (T, N, 2U) (gradients of every
    step's [h | c])."""
    t_len, n, g4 = gates.shape
    u = g4 // 4
    dt = gates.dtype
    h0, c0, rk = (np.ascontiguousarray(a, dtype=dt) for a in (h0, c0, rk))
    dstates = np.ascontiguousarray(dstates, dtype=dt)
    dz = np.empty_like(gates)
    dh = np.zeros((n, u), dt)
    dc = np.zeros((n, u), dt)
    numba = _use_numba(n * u, LSTM_BWD_MIN, dt) and n * u > 0
    step = _jr().lstm_step_bwd if numba else lstm_step_bwd_np
    rkt = np.ascontiguousarray(rk.T)
    for t in range(t_len - 1, -1, -1):
        dh += dstates[t, :, :u]
        dc += dstates[t, :, u:]
        c_prev = states[t - 1, :, u:] if t else c0
        skip = None if mask is None or mask[t].all() else ~mask[t]
        if skip is not None:                 # skipped rows: the gradient passes straight on
            dh_pass, dc_pass = dh[skip], dc[skip]
            dh[skip] = 0.0
            dc[skip] = 0.0
        step(gates[t], c_prev, tc[t], dh, dc, dz[t])
        np.matmul(dz[t], rkt, out=dh)
        if skip is not None:
            dh[skip] += dh_pass
            dc[skip] += dc_pass
    hprev = np.concatenate([h0[None], states[:-1, :, :u]], axis=0)[:t_len].reshape(t_len * n, u)
    drk = hprev.T @ dz.reshape(t_len * n, g4)
    return dz, dh, dc, drk


def gru_fwd(xw, h0, rk, brec, mask=None):
    """xw (T, N, 3U) = x W + b_in; h0 (N, U); rk (U, 3U); brec (3U,) or None.
    Returns (states (T, N, U), cache (T, N, 4U) = [z, r, hh, rh_h])."""
    _check("gru_fwd", xw, 3, rk, h0)
    t_len, n, g3 = xw.shape
    u = g3 // 3
    dt = xw.dtype
    h0, rk = np.ascontiguousarray(h0, dtype=dt), np.ascontiguousarray(rk, dtype=dt)
    states = np.empty((t_len, n, u), dt)
    cache = np.empty((t_len, n, 4 * u), dt)
    rh = np.empty((n, g3), dt)
    numba = _use_numba(n * u, GRU_FWD_MIN, dt) and n * u > 0
    step = _jr().gru_step_fwd if numba else gru_step_fwd_np
    h = h0
    for t in range(t_len):
        np.matmul(h, rk, out=rh)
        if brec is not None:
            rh += brec
        step(xw[t], rh, h, cache[t], states[t])
        if mask is not None and not mask[t].all():
            states[t][~mask[t]] = h[~mask[t]]
        h = states[t]
    return states, cache


def gru_bwd(dstates, states, cache, h0, rk, mask=None):
    """(dzx (T, N, 3U), drh (T, N, 3U), dh0, drk) from dstates (T, N, U)."""
    t_len, n, u = states.shape
    dt = states.dtype
    h0, rk = np.ascontiguousarray(h0, dtype=dt), np.ascontiguousarray(rk, dtype=dt)
    dstates = np.ascontiguousarray(dstates, dtype=dt)
    dzx = np.empty((t_len, n, 3 * u), dt)
    drh = np.empty((t_len, n, 3 * u), dt)
    dh = np.zeros((n, u), dt)
    numba = _use_numba(n * u, GRU_BWD_MIN, dt) and n * u > 0
    step = _jr().gru_step_bwd if numba else gru_step_bwd_np
    rkt = np.ascontiguousarray(rk.T)
    for t in range(t_len - 1, -1, -1):
        dh += dstates[t]
        skip = None if mask is None or mask[t].all() else ~mask[t]
        if skip is not None:
            dh_pass = dh[skip]
            dh[skip] = 0.0
        step(cache[t], states[t - 1] if t else h0, dh, dzx[t], drh[t])
        dh += drh[t] @ rkt
        if skip is not None:
            dh[skip] += dh_pass
    hprev = np.concatenate([h0[None], states[:-1]], axis=0)[:t_len].reshape(t_len * n, u)
    drk = hprev.T @ drh.reshape(t_len * n, 3 * u)
    return dzx, drh, dh, drk


def rnn_fwd(xw, h0, rk, mask=None):
    """Simple tanh RNN: states (T, N, U), h_t = tanh(xw_t + h_{t-1} rk)."""
    _check("rnn_fwd", xw, 1, rk, h0)
    t_len, n, u = xw.shape
    states = np.empty_like(xw)
    h = h0
    for t in range(t_len):
        z = states[t]
        np.matmul(h, rk, out=z)
        z += xw[t]
        np.tanh(z, out=z)
        if mask is not None and not mask[t].all():
            z[~mask[t]] = h[~mask[t]]
        h = z
    return states


def rnn_bwd(dstates, states, h0, rk, mask=None):
    """(dz (T, N, U), dh0, drk)."""
    t_len, n, u = states.shape
    dz = np.empty_like(states)
    dh = np.zeros((n, u), states.dtype)
    rkt = np.ascontiguousarray(rk.T)
    for t in range(t_len - 1, -1, -1):
        dh += dstates[t]
        np.multiply(dh, 1.0 - states[t] * states[t], out=dz[t])
        skip = None if mask is None or mask[t].all() else ~mask[t]
        if skip is not None:
            dh_pass = dh[skip]
            dz[t][skip] = 0.0
        np.matmul(dz[t], rkt, out=dh)
        if skip is not None:
            dh[skip] += dh_pass
    hprev = np.concatenate([h0[None], states[:-1]], axis=0)[:t_len].reshape(t_len * n, u)
    return dz, dh, hprev.T @ dz.reshape(t_len * n, u)
