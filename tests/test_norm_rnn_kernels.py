"""The normalization and recurrent kernels: numba forms against their numpy twins (forced each
way through the dispatchers), float32 and float64, C, Fortran, strided and transposed layouts;
and the twins against plain-formula references (two-pass statistics, the gate equations).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from autograd import kernels as K
from autograd.kernels import norm as KN, rnn as KR

DTYPES = [np.float32, np.float64]


def _tol(dt):
    # float32: numba accumulates statistics in float64, numpy in float32 (pairwise), and
    # (x - mean) * inv amplifies that difference by up to 1 / sqrt(eps)
    return dict(rtol=1e-4, atol=1e-4) if dt == np.float32 else dict(rtol=1e-10, atol=1e-11)


@st.composite
def arrays(draw, shape, dtype, lo=-4.0, hi=4.0):
    """A float array of ``shape`` in a drawn layout: C, Fortran, strided or transposed."""
    layout = draw(st.sampled_from(["C", "F", "strided", "T"]))
    elems = st.floats(lo, hi, width=32, allow_nan=False)
    if layout == "strided":
        big = draw(hnp.arrays(dtype, (shape[0] * 2,) + tuple(shape[1:]), elements=elems))
        return big[::2]
    a = draw(hnp.arrays(dtype, shape, elements=elems))
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "T":
        return np.ascontiguousarray(a.T).T
    return a


def both(f):
    with K.forced("numba"):
        a = f()
    with K.forced("numpy"):
        b = f()
    return a, b


def close(a, b, dt):
    if a is None or b is None:
        assert a is None and b is None
        return
    assert np.asarray(a).shape == np.asarray(b).shape
    np.testing.assert_allclose(a, b, **_tol(dt))


@st.composite
def norm_case(draw):
    dt = draw(st.sampled_from(DTYPES))
    m, d = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    x = draw(arrays((m, d), dt))
    g = draw(arrays((m, d), dt))
    return dt, x, g, draw(st.booleans()), draw(st.booleans())


@given(norm_case(), st.booleans())
def test_layer_norm_kernels_match_twins(case, want_params):
    dt, x, g, has_g, has_b = case
    gamma = np.linspace(0.5, 1.5, x.shape[1]).astype(dt) if has_g else None
    beta = np.linspace(-1, 1, x.shape[1]).astype(dt) if has_b else None
    (o1, m1, i1), (o2, m2, i2) = both(lambda: KN.layer_norm_fwd(x, gamma, beta, 1e-3))
    for a, b in ((o1, o2), (m1, m2), (i1, i2)):
        close(a, b, dt)
    assert o1.dtype == dt and o2.dtype == dt
    b1, b2 = both(lambda: KN.layer_norm_bwd(g, x, m2, i2, gamma, want_params))
    for a, b in zip(b1, b2):
        close(a, b, dt)


@given(norm_case())
def test_batch_norm_kernels_match_twins(case):
    dt, x, g, has_g, has_b = case
    gamma = np.linspace(0.5, 1.5, x.shape[1]).astype(dt) if has_g else None
    beta = np.linspace(-1, 1, x.shape[1]).astype(dt) if has_b else None
    (o1, m1, i1), (o2, m2, i2) = both(lambda: KN.batch_norm_fwd(x, gamma, beta, 1e-3))
    for a, b in ((o1, o2), (m1, m2), (i1, i2)):
        close(a, b, dt)
    b1, b2 = both(lambda: KN.batch_norm_bwd(g, x, m2, i2, gamma))
    for a, b in zip(b1, b2):
        close(a, b, dt)


def test_norm_twins_match_the_formulas():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (5, 7))
    gamma, beta = rng.normal(size=7), rng.normal(size=7)
    out, mean, inv = KN.layer_norm_fwd_np(x, gamma, beta, 1e-3)
    mu = x.mean(1, keepdims=True)
    want = (x - mu) / np.sqrt(((x - mu) ** 2).mean(1, keepdims=True) + 1e-3) * gamma + beta
    np.testing.assert_allclose(out, want, rtol=1e-12)
    out, mean, inv = KN.batch_norm_fwd_np(x, gamma, beta, 1e-3)
    mu = x.mean(0)
    want = (x - mu) / np.sqrt(((x - mu) ** 2).mean(0) + 1e-3) * gamma + beta
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_two_pass_statistics_survive_a_large_mean():
    # one-pass E[x^2] - E[x]^2 would lose every digit here in float32
    x = (1e4 + np.array([[0.0, 1.0, 2.0, 3.0]])).astype(np.float32)
    for mode in ("numpy", "numba"):
        with K.forced(mode):
            out, _, _ = KN.layer_norm_fwd(x, None, None, 1e-5)
        want = (np.arange(4) - 1.5) / np.sqrt(1.25 + 1e-5)
        np.testing.assert_allclose(out[0], want, rtol=1e-4, err_msg=mode)


@st.composite
def rnn_case(draw, gates):
    dt = draw(st.sampled_from(DTYPES))
    t, n, u = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    xw = draw(arrays((t, n, gates * u), dt, -2.0, 2.0))
    rk = draw(arrays((u, gates * u), dt, -1.0, 1.0))
    h0 = draw(arrays((n, u), dt, -1.0, 1.0))
    c0 = draw(arrays((n, u), dt, -1.0, 1.0))
    ds = draw(arrays((t, n, (2 if gates == 4 else 1) * u), dt, -1.0, 1.0))
    mask = draw(st.none() | hnp.arrays(np.bool_, (t, n)))
    return dt, np.ascontiguousarray(xw), rk, h0, c0, np.ascontiguousarray(ds), mask


@given(rnn_case(4))
def test_lstm_kernels_match_twins(case):
    dt, xw, rk, h0, c0, ds, mask = case
    f1, f2 = both(lambda: KR.lstm_fwd(xw, h0, c0, rk, mask))
    for a, b in zip(f1, f2):
        close(a, b, dt)
    b1, b2 = both(lambda: KR.lstm_bwd(ds, f2[0], f2[1], f2[2], h0, c0, rk, mask))
    for a, b in zip(b1, b2):
        close(a, b, dt)


@given(rnn_case(3), st.booleans())
def test_gru_kernels_match_twins(case, has_brec):
    dt, xw, rk, h0, _, ds, mask = case
    brec = np.linspace(-0.5, 0.5, xw.shape[2]).astype(dt) if has_brec else None
    f1, f2 = both(lambda: KR.gru_fwd(xw, h0, rk, brec, mask))
    for a, b in zip(f1, f2):
        close(a, b, dt)
    b1, b2 = both(lambda: KR.gru_bwd(ds, f2[0], f2[1], h0, rk, mask))
    for a, b in zip(b1, b2):
        close(a, b, dt)


def test_lstm_twin_matches_the_gate_equations():
    rng = np.random.default_rng(1)
    n, u = 3, 4
    z = rng.normal(size=(n, 4 * u))
    c_prev = rng.normal(size=(n, u))
    sig = 1 / (1 + np.exp(-z))
    i, f, g, o = sig[:, :u], sig[:, u:2 * u], np.tanh(z[:, 2 * u:3 * u]), sig[:, 3 * u:]
    c, h, tc = np.empty((n, u)), np.empty((n, u)), np.empty((n, u))
    gates = z.copy()
    KR.lstm_step_fwd_np(gates, c_prev, c, h, tc)
    np.testing.assert_allclose(c, f * c_prev + i * g, rtol=1e-12)
    np.testing.assert_allclose(h, o * np.tanh(f * c_prev + i * g), rtol=1e-12)


def test_kernels_validate_shapes_before_running():
    from autograd import ShapeError
    with pytest.raises(ShapeError):
        KN.layer_norm_fwd(np.zeros((2, 3)), np.ones(4), None, 1e-3)
    with pytest.raises(ShapeError):
        KN.batch_norm_bwd(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros(3), np.ones(3), None)
    with pytest.raises(ShapeError):
        KR.lstm_fwd(np.zeros((2, 3, 8)), np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((2, 6)))
