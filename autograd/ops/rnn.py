"""Recurrent primitives: whole sequences and single cells, one fused node each.

- ``lstm(x, h0, c0, kernel, recurrent_kernel, bias)`` -> (N, T, 2U): every step's [h | c]
- ``gru(x, h0, kernel, recurrent_kernel, bias)`` -> (N, T, U) (Keras ``reset_after=True``)
- ``simple_rnn(x, h0, kernel, recurrent_kernel, bias)`` -> (N, T, U), tanh
- ``lstm_cell(x, h, c, ...)`` -> (N, 2U) [h' | c'], ``gru_cell(x, h, ...)`` -> (N, U),
  ``rnn_cell(x, h, ...)`` -> (N, U): one step (the same code on a length-1 sequence).

Shapes: x (N, T, F) batch-major (cells: (N, F)); kernel (F, G), recurrent_kernel (U, G),
bias (G,) (GRU: (2, G), input and recurrent biases), G = 4U (LSTM), 3U (GRU), U (RNN);
h0, c0 (N, U) or None (zeros).  Gate layouts: see ``autograd.kernels.rnn`` (Keras'; LSTM
gates are in PyTorch's order, GRU's differ: Keras z, r, h vs PyTorch r, z, n).

Why whole-sequence primitives: the input projections of all T steps are one GEMM, the
weight gradients are one GEMM each over all steps, and the recurrence runs in one call
(``autograd.kernels.rnn``) instead of T graph nodes.  Backpropagation through time happens
inside the node's backward.  Each op also has a vjp written with library ops (the unrolled
recurrence), so second-order gradients work.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, DTypeError
from ..registry import primitive
from ..kernels import rnn as KR
from ._util import data_of
from .elementwise import sigmoid, tanh
from .linalg import matmul
from .reduce import sum as _sum
from .shape import concatenate, stack, reshape, transpose

__all__ = ["lstm", "gru", "simple_rnn", "lstm_cell", "gru_cell", "rnn_cell"]

_GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _prep(op, x, states, kernel, rk, bias):
    """Validate; return (dtype, N, T, F, U)."""
    arrays = [("x", x), ("kernel", kernel), ("recurrent_kernel", rk), ("bias", bias)] + states
    for nm, a in arrays:
        if a is not None and a.dtype.kind != "f":
            raise DTypeError(f"{op}: {nm} must be float, got {a.dtype} (shape {a.shape})")
    if x.ndim != 3:
        raise ShapeError(f"{op}: x must be 3-d (batch, time, features), got shape {x.shape}")
    n, t, f = x.shape
    k = _GATES[op]
    if rk.ndim != 2 or rk.shape[1] != k * rk.shape[0]:
        raise ShapeError(f"{op}: recurrent_kernel must be (units, {k} * units), got {rk.shape}")
    u = rk.shape[0]
    if kernel.shape != (f, k * u):
        raise ShapeError(f"{op}: kernel of shape {kernel.shape} does not fit x {x.shape} and "
                         f"recurrent_kernel {rk.shape}; expected {(f, k * u)}")
    bshape = (2, k * u) if op == "gru" else (k * u,)
    if bias is not None and bias.shape != bshape:
        raise ShapeError(f"{op}: bias of shape {bias.shape}, expected {bshape}")
    for nm, s in states:
        if s is not None and s.shape != (n, u):
            raise ShapeError(f"{op}: {nm} of shape {s.shape}, expected {(n, u)} (batch, units)")
    dt = np.result_type(*[a.dtype for _, a in arrays if a is not None])
    return dt, n, t, f, u


def _c(a, dt, shape=None):
    if a is None:
        return np.zeros(shape, dt)
    return np.ascontiguousarray(a, dtype=dt)


def _project(x, kernel, bias, dt):
    """Time-major inputs xt (T, N, F) and projections xw = xt kernel + bias (T, N, G)."""
    n, t, f = x.shape
    xt = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dt)
    k = kernel.astype(dt, copy=False)
    xw = np.matmul(xt.reshape(t * n, f), k).reshape(t, n, k.shape[1])
    if bias is not None:
        xw += bias.astype(dt, copy=False)
    return xt, xw


def _input_grads(dz, xt, kernel, x, needs_x, needs_k):
    t, n, g = dz.shape
    dz2 = dz.reshape(t * n, g)
    dx = dk = None
    if needs_x:
        f = kernel.shape[0]
        dx = (dz2 @ kernel.T.astype(dz.dtype, copy=False)).reshape(t, n, f).transpose(1, 0, 2)
    if needs_k:
        dk = xt.reshape(t * n, xt.shape[2]).T @ dz2
    return dx, dk


def _mask(op, mask, n, t):
    """The (N, T) step mask as a time-major (T, N) bool array, or None."""
    if mask is None:
        return None
    m = np.asarray(getattr(mask, "_data", mask))
    if m.shape != (n, t):
        raise ShapeError(f"{op}: mask of shape {m.shape} does not match (batch, time) = {(n, t)}")
    if m.dtype.kind not in "biu":
        raise DTypeError(f"{op}: mask must be bool (or 0/1 integers), got {m.dtype}")
    return np.ascontiguousarray(m.astype(bool, copy=False).T)


def _mask_col(mask, s, dt):
    """Step s of the (N, T) mask as a float (N, 1) column (for the differentiable vjps)."""
    return np.asarray(getattr(mask, "_data", mask))[:, s, None].astype(dt)


def _time_major(g, dt):
    return np.ascontiguousarray(np.asarray(g).transpose(1, 0, 2), dtype=dt)


# ----------------------------------------------------------------------------- LSTM
def _lstm_ref(x, h0, c0, kernel, rk, bias, mask=None):
    x = np.asarray(x, np.float64)
    n, t, _ = x.shape
    u = rk.shape[0]
    h = np.zeros((n, u)) if h0 is None else np.asarray(h0, np.float64)
    c = np.zeros((n, u)) if c0 is None else np.asarray(c0, np.float64)
    sg = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    outs = []
    for s in range(t):
        z = x[:, s] @ kernel + h @ rk + (0.0 if bias is None else bias)
        i, f, g, o = sg(z[:, :u]), sg(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sg(z[:, 3 * u:])
        cn = f * c + i * g
        hn = o * np.tanh(cn)
        m = 1.0 if mask is None else np.asarray(mask, bool)[:, s, None]
        h, c = np.where(m, hn, h), np.where(m, cn, c)
        outs.append(np.concatenate([h, c], axis=1))
    return np.stack(outs, axis=1) if outs else np.zeros((n, 0, 2 * u))


@primitive(library=True, name="lstm", nin=6, reference=_lstm_ref, aux=True,
           domain=[None] * 6)
def lstm(x, h0, c0, kernel, recurrent_kernel, bias, mask=None, want_aux=False):
    """A whole LSTM sequence: returns (N, T, 2U), every step's [h_t | c_t].

    The last hidden state is ``out[:, -1, :U]``, the last cell state ``out[:, -1, U:]``.
    mask : (N, T) bool or None; where False the step is skipped (the state carries over, as
    Keras does for masked time steps)."""
    dt, n, t, f, u = _prep("lstm", x, [("h0", h0), ("c0", c0)], kernel, recurrent_kernel, bias)
    xt, xw = _project(x, kernel, bias, dt)
    h, c = _c(h0, dt, (n, u)), _c(c0, dt, (n, u))
    rk = _c(recurrent_kernel, dt)
    m = _mask("lstm", mask, n, t)
    states, gates, tc = KR.lstm_fwd(xw, h, c, rk, m, overwrite=True)   # xw is ours
    return states.transpose(1, 0, 2), (xt, states, gates, tc, h, c, rk, m)


def _lstm_fast(g, out, x, h0, c0, kernel, recurrent_kernel, bias, mask=None, needs=None,
               aux=None):
    xt, states, gates, tc, h, c, rk, m = aux
    dz, dh0, dc0, drk = KR.lstm_bwd(_time_major(g, states.dtype), states, gates, tc, h, c, rk,
                                    m)
    dx, dk = _input_grads(dz, xt, kernel, x, needs[0], needs[3])
    db = dz.sum(axis=(0, 1)) if bias is not None and needs[5] else None
    return dx, dh0, dc0, dk, drk, db


def _lstm_vjp(g, out, x, h0, c0, kernel, recurrent_kernel, bias, mask=None):
    # the unrolled recurrence and its backward, in library ops (differentiable)
    n, t, _ = data_of(x).shape
    u = data_of(recurrent_kernel).shape[0]
    dt = data_of(out).dtype
    h = h0 if h0 is not None else np.zeros((n, u), dt)
    c = c0 if c0 is not None else np.zeros((n, u), dt)
    cache = []
    for s in range(t):
        xs = x[:, s]
        z = matmul(xs, kernel) + matmul(h, recurrent_kernel)
        if bias is not None:
            z = z + bias
        i, f = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u])
        gg, o = tanh(z[:, 2 * u:3 * u]), sigmoid(z[:, 3 * u:])
        cn = f * c + i * gg
        tcn = tanh(cn)
        cache.append((xs, h, c, i, f, gg, o, tcn))
        if mask is None:
            h, c = o * tcn, cn
        else:                                  # skipped steps keep the state
            m = _mask_col(mask, s, dt)
            h, c = m * (o * tcn) + (1.0 - m) * h, m * cn + (1.0 - m) * c
    dh = dc = np.zeros((n, u), dt)
    dxs, dk, drk, db = [None] * t, 0.0, 0.0, 0.0
    for s in range(t - 1, -1, -1):
        xs, hp, cp, i, f, gg, o, tcn = cache[s]
        dh = dh + g[:, s, :u]
        dc = dc + g[:, s, u:]
        if mask is not None:
            m = _mask_col(mask, s, dt)
            dh_pass, dc_pass, dh, dc = dh * (1.0 - m), dc * (1.0 - m), dh * m, dc * m
        dc = dc + dh * o * (1.0 - tcn * tcn)
        dz = concatenate([dc * gg * i * (1.0 - i), dc * cp * f * (1.0 - f),
                          dc * i * (1.0 - gg * gg), dh * tcn * o * (1.0 - o)], axis=1)
        dxs[s] = matmul(dz, transpose(kernel))
        dk = dk + matmul(transpose(xs), dz)
        drk = drk + matmul(transpose(hp), dz)
        db = db + _sum(dz, axis=0)
        dh = matmul(dz, transpose(recurrent_kernel))
        dc = dc * f
        if mask is not None:
            dh, dc = dh + dh_pass, dc + dc_pass
    if t == 0:
        z4 = np.zeros(data_of(kernel).shape, dt)
        return (np.zeros(data_of(x).shape, dt), dh, dc, z4, np.zeros(data_of(recurrent_kernel).shape, dt),
                None if bias is None else np.zeros(data_of(bias).shape, dt))
    return (stack(dxs, axis=1), dh if h0 is not None else None, dc if c0 is not None else None,
            dk, drk, db if bias is not None else None)


lstm.defvjp(_lstm_vjp)
lstm.defvjp_fast(_lstm_fast, needs=True)


# ----------------------------------------------------------------------------- GRU
def _gru_ref(x, h0, kernel, rk, bias, mask=None):
    x = np.asarray(x, np.float64)
    n, t, _ = x.shape
    u = rk.shape[0]
    h = np.zeros((n, u)) if h0 is None else np.asarray(h0, np.float64)
    bi, br = (0.0, 0.0) if bias is None else (bias[0], bias[1])
    sg = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    outs = []
    for s in range(t):
        xw = x[:, s] @ kernel + bi
        rh = h @ rk + br
        z = sg(xw[:, :u] + rh[:, :u])
        r = sg(xw[:, u:2 * u] + rh[:, u:2 * u])
        hh = np.tanh(xw[:, 2 * u:] + r * rh[:, 2 * u:])
        hn = z * h + (1.0 - z) * hh
        h = hn if mask is None else np.where(np.asarray(mask, bool)[:, s, None], hn, h)
        outs.append(h)
    return np.stack(outs, axis=1) if outs else np.zeros((n, 0, u))


@primitive(library=True, name="gru", nin=5, reference=_gru_ref, aux=True, domain=[None] * 5)
def gru(x, h0, kernel, recurrent_kernel, bias, mask=None, want_aux=False):
    """A whole GRU sequence (Keras ``reset_after=True``): returns (N, T, U), every h_t.
    mask : (N, T) bool or None (False: the step keeps the previous state)."""
    dt, n, t, f, u = _prep("gru", x, [("h0", h0)], kernel, recurrent_kernel, bias)
    xt, xw = _project(x, kernel, None if bias is None else bias[0], dt)
    h = _c(h0, dt, (n, u))
    rk = _c(recurrent_kernel, dt)
    brec = None if bias is None else _c(bias[1], dt)
    m = _mask("gru", mask, n, t)
    states, cache = KR.gru_fwd(xw, h, rk, brec, m)
    return states.transpose(1, 0, 2), (xt, states, cache, h, rk, m)


def _gru_fast(g, out, x, h0, kernel, recurrent_kernel, bias, mask=None, needs=None, aux=None):
    xt, states, cache, h, rk, m = aux
    dzx, drh, dh0, drk = KR.gru_bwd(_time_major(g, states.dtype), states, cache, h, rk, m)
    dx, dk = _input_grads(dzx, xt, kernel, x, needs[0], needs[2])
    db = None
    if bias is not None and needs[4]:
        db = np.stack([dzx.sum(axis=(0, 1)), drh.sum(axis=(0, 1))])
    return dx, dh0, dk, drk, db


def _gru_vjp(g, out, x, h0, kernel, recurrent_kernel, bias, mask=None):
    n, t, _ = data_of(x).shape
    u = data_of(recurrent_kernel).shape[0]
    dt = data_of(out).dtype
    h = h0 if h0 is not None else np.zeros((n, u), dt)
    cache = []
    for s in range(t):
        xs = x[:, s]
        xw, rh = matmul(xs, kernel), matmul(h, recurrent_kernel)
        if bias is not None:
            xw, rh = xw + bias[0], rh + bias[1]
        z = sigmoid(xw[:, :u] + rh[:, :u])
        r = sigmoid(xw[:, u:2 * u] + rh[:, u:2 * u])
        rhh = rh[:, 2 * u:]
        hh = tanh(xw[:, 2 * u:] + r * rhh)
        cache.append((xs, h, z, r, hh, rhh))
        hn = hh + z * (h - hh)
        if mask is None:
            h = hn
        else:
            m = _mask_col(mask, s, dt)
            h = m * hn + (1.0 - m) * h
    dh = np.zeros((n, u), dt)
    dxs, dk, drk, dbi, dbr = [None] * t, 0.0, 0.0, 0.0, 0.0
    for s in range(t - 1, -1, -1):
        xs, hp, z, r, hh, rhh = cache[s]
        dh = dh + g[:, s]
        if mask is not None:
            m = _mask_col(mask, s, dt)
            dh_pass, dh = dh * (1.0 - m), dh * m
        dzp = dh * (hp - hh) * z * (1.0 - z)
        dhp = dh * (1.0 - z) * (1.0 - hh * hh)
        drp = dhp * rhh * r * (1.0 - r)
        dzx = concatenate([dzp, drp, dhp], axis=1)
        drh = concatenate([dzp, drp, dhp * r], axis=1)
        dxs[s] = matmul(dzx, transpose(kernel))
        dk = dk + matmul(transpose(xs), dzx)
        drk = drk + matmul(transpose(hp), drh)
        dbi, dbr = dbi + _sum(dzx, axis=0), dbr + _sum(drh, axis=0)
        dh = dh * z + matmul(drh, transpose(recurrent_kernel))
        if mask is not None:
            dh = dh + dh_pass
    if t == 0:
        return (np.zeros(data_of(x).shape, dt), dh, np.zeros(data_of(kernel).shape, dt),
                np.zeros(data_of(recurrent_kernel).shape, dt),
                None if bias is None else np.zeros(data_of(bias).shape, dt))
    db = stack([dbi, dbr], axis=0) if bias is not None else None
    return stack(dxs, axis=1), dh if h0 is not None else None, dk, drk, db


gru.defvjp(_gru_vjp)
gru.defvjp_fast(_gru_fast, needs=True)


# ----------------------------------------------------------------------------- simple RNN
def _rnn_ref(x, h0, kernel, rk, bias, mask=None):
    x = np.asarray(x, np.float64)
    n, t, _ = x.shape
    u = rk.shape[0]
    h = np.zeros((n, u)) if h0 is None else np.asarray(h0, np.float64)
    outs = []
    for s in range(t):
        hn = np.tanh(x[:, s] @ kernel + h @ rk + (0.0 if bias is None else bias))
        h = hn if mask is None else np.where(np.asarray(mask, bool)[:, s, None], hn, h)
        outs.append(h)
    return np.stack(outs, axis=1) if outs else np.zeros((n, 0, u))


@primitive(library=True, name="simple_rnn", nin=5, reference=_rnn_ref, aux=True,
           domain=[None] * 5)
def simple_rnn(x, h0, kernel, recurrent_kernel, bias, mask=None, want_aux=False):
    """A whole simple (Elman) RNN sequence, h_t = tanh(x_t W + h_{t-1} U + b): (N, T, U).
    mask : (N, T) bool or None (False: the step keeps the previous state)."""
    dt, n, t, f, u = _prep("simple_rnn", x, [("h0", h0)], kernel, recurrent_kernel, bias)
    xt, xw = _project(x, kernel, bias, dt)
    h = _c(h0, dt, (n, u))
    rk = _c(recurrent_kernel, dt)
    m = _mask("simple_rnn", mask, n, t)
    states = KR.rnn_fwd(xw, h, rk, m)
    return states.transpose(1, 0, 2), (xt, states, h, rk, m)


def _rnn_fast(g, out, x, h0, kernel, recurrent_kernel, bias, mask=None, needs=None, aux=None):
    xt, states, h, rk, m = aux
    dz, dh0, drk = KR.rnn_bwd(_time_major(g, states.dtype), states, h, rk, m)
    dx, dk = _input_grads(dz, xt, kernel, x, needs[0], needs[2])
    db = dz.sum(axis=(0, 1)) if bias is not None and needs[4] else None
    return dx, dh0, dk, drk, db


def _rnn_vjp(g, out, x, h0, kernel, recurrent_kernel, bias, mask=None):
    n, t, _ = data_of(x).shape
    u = data_of(recurrent_kernel).shape[0]
    dt = data_of(out).dtype
    h = h0 if h0 is not None else np.zeros((n, u), dt)
    cache = []
    for s in range(t):
        xs = x[:, s]
        z = matmul(xs, kernel) + matmul(h, recurrent_kernel)
        hn = tanh(z + bias if bias is not None else z)
        cache.append((xs, h, hn))
        if mask is None:
            h = hn
        else:
            m = _mask_col(mask, s, dt)
            h = m * hn + (1.0 - m) * h
    dh = np.zeros((n, u), dt)
    dxs, dk, drk, db = [None] * t, 0.0, 0.0, 0.0
    for s in range(t - 1, -1, -1):
        xs, hp, hn = cache[s]
        dh = dh + g[:, s]
        if mask is not None:
            m = _mask_col(mask, s, dt)
            dh_pass, dh = dh * (1.0 - m), dh * m
        dz = dh * (1.0 - hn * hn)
        dxs[s] = matmul(dz, transpose(kernel))
        dk = dk + matmul(transpose(xs), dz)
        drk = drk + matmul(transpose(hp), dz)
        db = db + _sum(dz, axis=0)
        dh = matmul(dz, transpose(recurrent_kernel))
        if mask is not None:
            dh = dh + dh_pass
    if t == 0:
        return (np.zeros(data_of(x).shape, dt), dh, np.zeros(data_of(kernel).shape, dt),
                np.zeros(data_of(recurrent_kernel).shape, dt),
                None if bias is None else np.zeros(data_of(bias).shape, dt))
    return (stack(dxs, axis=1), dh if h0 is not None else None, dk, drk,
            db if bias is not None else None)


simple_rnn.defvjp(_rnn_vjp)
simple_rnn.defvjp_fast(_rnn_fast, needs=True)


# ----------------------------------------------------------------------------- cells
def _cell_x(op, x):
    if x.ndim != 2:
        raise ShapeError(f"{op}: x must be 2-d (batch, features), got shape {x.shape}")
    return x[:, None, :]


def _squeeze_grads(gs, x):
    gs = list(gs)
    if gs[0] is not None:
        gs[0] = reshape(gs[0], data_of(x).shape)
    return tuple(gs)


def _cell(name, seq, nin, doc):
    """A one-step primitive ``name`` on (N, F) inputs, computed by the sequence op ``seq``."""
    ref = (lambda x, *rest: seq.reference(np.asarray(x)[:, None, :], *rest)[:, 0])

    def fwd(x, *rest, want_aux=False):
        out, aux = seq.fwd(_cell_x(name, x), *rest, want_aux=want_aux)   # no mask: one step
        return out[:, 0], aux

    def fast(g, out, x, *rest, needs=None, aux=None):
        return _squeeze_grads(seq.vjp_fast(np.asarray(g)[:, None], None, x[:, None], *rest,
                                           needs=needs, aux=aux), x)

    def vjp(g, out, x, *rest):
        n = data_of(g).shape
        g3 = reshape(g, (n[0], 1, n[1]))
        x3 = reshape(x, (data_of(x).shape[0], 1, data_of(x).shape[1]))
        return _squeeze_grads(seq.vjp(g3, reshape(out, g3.shape), x3, *rest), x)

    fwd.__name__ = fwd.__qualname__ = name
    fwd.__doc__ = doc
    p = primitive(fwd, library=True, name=name, nin=nin, reference=ref, aux=True,
                  domain=[None] * nin)
    p.defvjp(vjp)
    p.defvjp_fast(fast, needs=True)
    return p


lstm_cell = _cell("lstm_cell", lstm, 6, """One LSTM step: ``lstm_cell(x, h, c, kernel,
    recurrent_kernel, bias)`` with x (N, F), h, c (N, U) or None, returns (N, 2U) = [h' | c'].
    Gates i, f, g, o (Keras' and PyTorch's order); c' = f c + i g, h' = o tanh(c').""")
gru_cell = _cell("gru_cell", gru, 5, """One GRU step (Keras ``reset_after=True``):
    ``gru_cell(x, h, kernel, recurrent_kernel, bias)`` with bias (2, 3U), returns h' (N, U).""")
rnn_cell = _cell("rnn_cell", simple_rnn, 5, """One simple tanh RNN step:
    ``rnn_cell(x, h, kernel, recurrent_kernel, bias)`` -> h' = tanh(x W + h U + b), (N, U).""")
