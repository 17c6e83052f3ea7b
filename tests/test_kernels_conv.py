"""Convolution and pooling kernels: numba direct loops against their numpy (im2col + GEMM)
twins through the dispatcher forced each way, on hypothesis shapes, strides, paddings,
dilations, groups, float32/float64 and non-contiguous inputs; and the primitives' forwards
against PyTorch (skipped without torch) and against plain loops written here."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import kernels as K

DTYPES = [np.float32, np.float64]


def _tol(dt):
    return dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else dict(rtol=1e-11, atol=1e-12)


@st.composite
def arrays(draw, shape, dt):
    """A float array of ``shape`` in a drawn layout: C, Fortran, strided slice or permuted."""
    layout = draw(st.sampled_from(["C", "F", "strided", "T"]))
    elems = st.floats(-3, 3, width=32)
    if layout == "strided":
        return draw(hnp.arrays(dt, (shape[0] * 2,) + shape[1:], elements=elems))[::2]
    a = draw(hnp.arrays(dt, shape, elements=elems))
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "T":
        return np.ascontiguousarray(a.transpose(3, 2, 1, 0)).transpose(3, 2, 1, 0)
    return a


def both(f):
    with K.forced("numba"):
        a = f()
    with K.forced("numpy"):
        b = f()
    return a, b


@st.composite
def conv_setups(draw):
    dt = draw(st.sampled_from(DTYPES))
    groups = draw(st.integers(1, 3))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    h = max(dil[0] * (kh - 1) + 1 - sum(pads[0]), 1) + draw(st.integers(0, 4))
    w = max(dil[1] * (kw - 1) + 1 - sum(pads[1]), 1) + draw(st.integers(0, 4))
    x = draw(arrays((draw(st.integers(1, 3)), h, w, groups * cg), dt))
    k = draw(arrays((kh, kw, cg, groups * og), dt))
    return x, k, stride, dil, pads, groups


@settings(deadline=None)
@given(setup=conv_setups(), data=st.data())
def test_conv_kernels_numba_equals_numpy(setup, data):
    x, k, stride, dil, pads, groups = setup
    y, y2 = both(lambda: K.conv_forward(x, k, stride, dil, pads, groups))
    tol = _tol(x.dtype)
    np.testing.assert_allclose(y, y2, **tol)
    g = data.draw(arrays(y.shape, x.dtype))
    gx, gx2 = both(lambda: K.conv_input_grad(g, k, x.shape, stride, dil, pads, groups))
    np.testing.assert_allclose(gx, gx2, **tol)
    gk, gk2 = both(lambda: K.conv_kernel_grad(x, g, k.shape, stride, dil, pads, groups))
    np.testing.assert_allclose(gk, gk2, **tol)
    # the two gradients are the adjoints of the forward: <conv(x, k), g> = <x, gx> = <k, gk>
    yg = float(np.sum(y2.astype(np.float64) * g))
    assert np.isclose(yg, float(np.sum(x.astype(np.float64) * gx2)), rtol=1e-4, atol=1e-4)
    assert np.isclose(yg, float(np.sum(k.astype(np.float64) * gk2)), rtol=1e-4, atol=1e-4)
    assert y.dtype == y2.dtype == gx.dtype == gk.dtype == x.dtype


@settings(deadline=None)
@given(data=st.data(), dt=st.sampled_from(DTYPES))
def test_pool_kernels_numba_equals_numpy(data, dt):
    pool = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    pads = tuple((data.draw(st.integers(0, p - 1)), data.draw(st.integers(0, p - 1))) for p in pool)
    shape = (data.draw(st.integers(1, 2)), pool[0] + data.draw(st.integers(0, 3)),
             pool[1] + data.draw(st.integers(0, 3)), data.draw(st.integers(1, 3)))
    x = data.draw(arrays(shape, dt))
    if data.draw(st.booleans()):                 # ties: small integers repeat in windows
        x = np.round(x).astype(dt)
    (y, arg), (y2, arg2) = both(lambda: K.max_pool_forward(x, pool, stride, pads))
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(arg, arg2)
    g = data.draw(arrays(y.shape, dt))
    gx, gx2 = both(lambda: K.max_pool_backward(g, arg, x.shape, pool, stride, pads))
    np.testing.assert_allclose(gx, gx2, **_tol(dt))
    a, a2 = both(lambda: K.avg_pool_forward(x, pool, stride, pads))
    np.testing.assert_allclose(a, a2, **_tol(dt))
    ga, ga2 = both(lambda: K.avg_pool_backward(g, x.shape, pool, stride, pads))
    np.testing.assert_allclose(ga, ga2, **_tol(dt))


def test_max_pool_routes_ties_to_the_first_maximum():
    x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    for mode in ("numpy", "numba"):
        with K.forced(mode):
            t = ag.Tensor(x, requires_grad=True)
            ag.max_pool2d(t, 2).sum().backward()
        np.testing.assert_array_equal(t.grad.reshape(2, 2), [[0, 1], [0, 0]])


def test_max_pool_nan_wins():
    x = np.array([1.0, np.nan, 5.0, 2.0]).reshape(1, 4, 1)
    for mode in ("numpy", "numba"):
        with K.forced(mode):
            y = ag.max_pool1d(ag.Tensor(x), 2).data
        assert np.isnan(y[0, 0, 0]) and y[0, 1, 0] == 5.0


# ----------------------------------------------------------------------------- references
def _loop_conv2d(x, k, b, stride, pads, dil, groups):
    """A conv written as the definition: four nested loops over one output element's sum."""
    n, h, w, c = x.shape
    kh, kw, cg, cout = k.shape
    og = cout // groups
    oh = (h + sum(pads[0]) - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + sum(pads[1]) - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, oh, ow, cout))
    for p in range(oh):
        for q in range(ow):
            for o in range(cout):
                gi = o // og
                s = 0.0
                for i in range(kh):
                    for j in range(kw):
                        ih, iw = p * stride[0] - pads[0][0] + i * dil[0], q * stride[1] - pads[1][0] + j * dil[1]
                        if 0 <= ih < h and 0 <= iw < w:
                            s = s + x[:, ih, iw, gi * cg:(gi + 1) * cg] @ k[i, j, :, o]
                y[:, p, q, o] = s + (b[o] if b is not None else 0.0)
    return y


@pytest.mark.parametrize("stride, padding, pads, dil, groups", [
    (1, "valid", ((0, 0), (0, 0)), 1, 1), (2, "same", ((0, 1), (0, 1)), 1, 1),
    ((1, 2), ((1, 0), (2, 1)), ((1, 0), (2, 1)), (2, 1), 2), (1, "same", ((2, 2), (1, 1)), 2, 4)])
def test_conv2d_forward_against_the_definition(stride, padding, pads, dil, groups):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 5, 4))
    k = rng.standard_normal((3, 2, 4 // groups, 4))
    b = rng.standard_normal(4)
    y = ag.conv2d(x, k, b, strides=stride, padding=padding, dilation=dil, groups=groups)
    s = (stride, stride) if isinstance(stride, int) else stride
    d = (dil, dil) if isinstance(dil, int) else dil
    np.testing.assert_allclose(np.asarray(y.data if hasattr(y, "data") else y),
                               _loop_conv2d(x, k, b, s, pads, d, groups), rtol=1e-12, atol=1e-12)


def test_pools_against_the_definition():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 5, 5, 2))
    y = np.asarray(ag.max_pool2d(x, 2, padding="same"))       # windows start at 0, 2, 4
    want = np.array([[x[0, 2 * p:2 * p + 2, 2 * q:2 * q + 2, c].max() for c in range(2)]
                     for p in range(3) for q in range(3)]).reshape(1, 3, 3, 2)
    np.testing.assert_array_equal(y, want)
    a = np.asarray(ag.avg_pool2d(x, 2, padding="same"))
    want = np.array([[x[0, 2 * p:2 * p + 2, 2 * q:2 * q + 2, c].mean() for c in range(2)]
                     for p in range(3) for q in range(3)]).reshape(1, 3, 3, 2)
    np.testing.assert_allclose(a, want, rtol=1e-12)


# ----------------------------------------------------------------------------- PyTorch
def _t(a):
    torch = pytest.importorskip("torch")
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("stride, padding, dil, groups", [
    (1, "valid", 1, 1), (2, 1, 1, 2), (1, "same", 2, 1), ((2, 1), (1, 0), (1, 2), 4)])
def test_conv2d_matches_torch(stride, padding, dil, groups):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 7, 6, 4)).astype(np.float32)
    k = rng.standard_normal((3, 3, 4 // groups, 8)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    y = ag.conv2d(x, k, b, strides=stride, padding=padding, dilation=dil, groups=groups).data
    want = torch.nn.functional.conv2d(_t(x.transpose(0, 3, 1, 2)), _t(k.transpose(3, 2, 0, 1)),
                                      _t(b), stride=stride, padding=padding, dilation=dil,
                                      groups=groups).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride, padding, outp, dil", [(2, 0, 0, 1), (2, 1, 1, 1), (3, 2, 2, 1),
                                                          (1, 1, 0, 2)])
def test_conv2d_transpose_matches_torch(stride, padding, outp, dil):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    k = rng.standard_normal((3, 3, 6, 3)).astype(np.float32)     # (kh, kw, filters, in)
    b = rng.standard_normal(6).astype(np.float32)
    y = ag.conv2d_transpose(x, k, b, strides=stride, padding=padding, output_padding=outp,
                            dilation=dil).data
    want = torch.nn.functional.conv_transpose2d(
        _t(x.transpose(0, 3, 1, 2)), _t(k.transpose(3, 2, 0, 1)), _t(b), stride=stride,
        padding=padding, output_padding=outp, dilation=dil).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_conv1d_and_pools_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 9, 3)).astype(np.float32)
    k = rng.standard_normal((3, 3, 5)).astype(np.float32)
    y = ag.conv1d(x, k, strides=2, padding=1, dilation=2).data
    want = F.conv1d(_t(x.transpose(0, 2, 1)), _t(k.transpose(2, 1, 0)), stride=2, padding=1,
                    dilation=2).numpy().transpose(0, 2, 1)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    causal = ag.conv1d(x, k, padding="causal", dilation=2).data
    want = F.conv1d(F.pad(_t(x.transpose(0, 2, 1)), (4, 0)), _t(k.transpose(2, 1, 0)),
                    dilation=2).numpy().transpose(0, 2, 1)
    np.testing.assert_allclose(causal, want, rtol=1e-5, atol=1e-5)
    x2 = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)
    xt = _t(x2.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(ag.max_pool2d(x2, 3, strides=2).data,
                               F.max_pool2d(xt, 3, 2).numpy().transpose(0, 2, 3, 1), rtol=1e-6)
    np.testing.assert_allclose(ag.avg_pool2d(x2, (2, 3), strides=(1, 2)).data,
                               F.avg_pool2d(xt, (2, 3), (1, 2)).numpy().transpose(0, 2, 3, 1),
                               rtol=1e-5, atol=1e-6)
    # gradient routing of max pooling with ties, as PyTorch
    xi = np.round(x2 * 2).astype(np.float32)
    t = ag.Tensor(xi, requires_grad=True)
    ag.max_pool2d(t, 2).sum().backward()
    tt = _t(xi.transpose(0, 3, 1, 2)).requires_grad_()
    F.max_pool2d(tt, 2).sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy().transpose(0, 2, 3, 1))
