"""Every numba kernel against its numpy twin (through the dispatcher, forced each way), the
fused primitives' gradients against finite differences, and the AUTOGRAD_KERNELS switch.

Kernels see only C-contiguous float32/float64 data (the dispatcher converts layouts), so
the whole file compiles each kernel for at most two signatures.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import kernels as K

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = [np.float32, np.float64]


def _tol(dt):
    return dict(rtol=2e-5, atol=2e-6) if dt == np.float32 else dict(rtol=1e-12, atol=1e-13)


@st.composite
def arrays(draw, min_dims=1, max_dims=3, shape=None, dtype=None, lo=-4.0, hi=4.0):
    """A float array in one of four layouts: C, Fortran, strided (a slice) or transposed."""
    dt = np.dtype(dtype or draw(st.sampled_from(DTYPES)))
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=9))
    layout = draw(st.sampled_from(["C", "F", "strided", "T"]))
    elems = st.floats(lo, hi, width=32, allow_nan=False)
    if layout == "strided" and len(shape):
        big = draw(hnp.arrays(dt, (shape[0] * 2,) + tuple(shape[1:]), elements=elems))
        return big[::2]
    a = draw(hnp.arrays(dt, shape, elements=elems))
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "T":
        return np.ascontiguousarray(a.T).T
    return a


def both(f):
    """f() under forced numba and forced numpy."""
    with K.forced("numba"):
        a = f()
    with K.forced("numpy"):
        b = f()
    return a, b


def close(a, b, dt):
    if a is None or b is None:
        assert a is None and b is None
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, **_tol(dt))


KINDS = st.sampled_from([0, 1, 2, 3, 4, 5])


# --------------------------------------------------------------------------- elementwise
@given(arrays(), KINDS)
def test_activation_matches_twin(x, kind):
    y1, y2 = both(lambda: K.activation(x, kind, 0.1))
    assert y1.dtype == x.dtype
    close(y1, y2, x.dtype)


@given(st.data(), KINDS)
def test_activation_grad_matches_twin(data, kind):
    x = data.draw(arrays())
    g = data.draw(arrays(shape=x.shape, dtype=x.dtype))
    a = K.activation(x, kind) if kind in (2, 3) else x     # sigmoid, tanh take the output
    close(*both(lambda: K.activation_grad(g, a, kind, 0.1)), x.dtype)


@given(arrays(min_dims=2, max_dims=2), KINDS)
def test_parallel_forms_match_serial(x, kind):
    saved = K.ACT_PAR_MIN, K.BIAS_ACT_PAR_MIN
    try:
        K.ACT_PAR_MIN = K.BIAS_ACT_PAR_MIN = 0
        y1, y2 = both(lambda: K.activation(x, kind, 0.1))
        z1, z2 = both(lambda: K.bias_act(np.array(x), np.ones(x.shape[1], x.dtype), kind))
    finally:
        K.ACT_PAR_MIN, K.BIAS_ACT_PAR_MIN = saved
    close(y1, y2, x.dtype)
    close(z1, z2, x.dtype)


# --------------------------------------------------------------------------- dense parts
@given(st.data(), KINDS, st.booleans())
def test_bias_act_matches_twin(data, kind, has_bias):
    z = data.draw(arrays(min_dims=1, max_dims=3))
    b = data.draw(arrays(shape=z.shape[-1:], dtype=z.dtype)) if has_bias else None
    zc = np.ascontiguousarray(z)             # bias_act works in place on the GEMM's output
    r1, r2 = both(lambda: K.bias_act(zc.copy(), b, kind, 0.1))
    close(r1, r2, z.dtype)


@given(st.data(), KINDS, st.booleans())
def test_dense_grad_z_matches_twin(data, kind, want_gb):
    a = data.draw(arrays(min_dims=1, max_dims=3))
    g = data.draw(arrays(shape=a.shape, dtype=a.dtype))
    (gz1, gb1), (gz2, gb2) = both(lambda: K.dense_grad_z(g, a, kind, 0.1, want_gb))
    close(gz1, gz2, a.dtype)
    if want_gb:
        np.testing.assert_allclose(gb1, gb2, rtol=1e-4 if a.dtype == np.float32 else 1e-10,
                                   atol=1e-4 if a.dtype == np.float32 else 1e-10)
    else:
        assert gb1 is None and gb2 is None


@given(st.data(), st.integers(0, 7), st.integers(0, 7), st.integers(0, 7))
def test_gemm_matches_blas(data, m, k, n):
    a = data.draw(arrays(shape=(m, k)))
    b = data.draw(arrays(shape=(k, n), dtype=a.dtype))
    saved = K.GEMM_PAR_MIN
    try:
        for par in (False, True):
            K.GEMM_PAR_MIN = 0 if par else K.NEVER
            c1, c2 = both(lambda: K.matmul(a, b))
            np.testing.assert_allclose(c1, c2, rtol=1e-4 if a.dtype == np.float32 else 1e-10,
                                       atol=1e-4 if a.dtype == np.float32 else 1e-10)
    finally:
        K.GEMM_PAR_MIN = saved


# --------------------------------------------------------------------------- losses
@given(st.data(), st.integers(0, 6), st.integers(1, 6), st.booleans())
def test_xent_sparse_matches_twin(data, n, c, want):
    z = data.draw(arrays(shape=(n, c), lo=-30, hi=30))
    labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)),
                        dtype=data.draw(st.sampled_from([np.int64, np.int32])))
    (t1, g1), (t2, g2) = both(lambda: K.xent_sparse(z, labels, 0.5, want))
    np.testing.assert_allclose(t1, t2, rtol=1e-5, atol=1e-5)
    close(g1, g2, z.dtype)


@given(st.data(), st.integers(0, 6), st.integers(1, 6), st.booleans(), st.booleans())
def test_xent_dense_matches_twin(data, n, c, want, want_t):
    z = data.draw(arrays(shape=(n, c), lo=-30, hi=30))
    t = data.draw(arrays(shape=(n, c), dtype=z.dtype, lo=0, hi=1))
    (s1, g1, h1), (s2, g2, h2) = both(lambda: K.xent_dense(z, t, 0.5, want, want and want_t))
    np.testing.assert_allclose(s1, s2, rtol=1e-5, atol=1e-4)
    close(g1, g2, z.dtype)
    close(h1, h2, z.dtype)


@given(st.data(), st.booleans(), st.booleans())
def test_bce_matches_twin(data, want, want_t):
    z = data.draw(arrays(lo=-30, hi=30))
    t = data.draw(arrays(shape=z.shape, dtype=z.dtype, lo=0, hi=1))
    (s1, g1, h1), (s2, g2, h2) = both(lambda: K.bce(z, t, 0.5, want, want and want_t))
    np.testing.assert_allclose(s1, s2, rtol=1e-5, atol=1e-4)
    close(g1, g2, z.dtype)
    close(h1, h2, z.dtype)


# --------------------------------------------------------------------------- optimizers
OPT_KINDS = ["sgd", "sgd_momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad",
             "adadelta", "adamax", "nadam", "lion"]
HYPER = st.floats(1e-4, 0.999)     # Python floats: each rounds to the array's dtype


def _opt(kind, p, g, s1, s2, lr=0.1, mu=0.9, b2=0.999, eps=1e-8, wd=0.01, step=3):
    if kind == "sgd":
        K.sgd_update(p, g, None, lr, weight_decay=wd)
    elif kind == "sgd_momentum":
        K.sgd_update(p, g, s1, lr, momentum=mu, weight_decay=wd)
    elif kind == "nesterov":
        K.sgd_update(p, g, s1, lr, momentum=mu, nesterov=True, weight_decay=wd)
    elif kind in ("adam", "adamw"):
        K.adam_update(p, g, s1, s2, step, lr, mu, b2, eps, wd, kind == "adamw")
    elif kind == "rmsprop":
        K.rmsprop_update(p, g, s2, lr, mu, eps, wd)
    elif kind == "adagrad":
        K.adagrad_update(p, g, s2, lr, eps, wd)
    elif kind == "adadelta":
        K.adadelta_update(p, g, s2, s1, lr, mu, eps, wd)   # (the test draws s1 >= 0 here)
    elif kind == "adamax":
        K.adamax_update(p, g, s1, s2, step, lr, mu, b2, eps, wd)
    elif kind == "nadam":
        mu_t = mu * (1 - 0.5 * 0.96 ** (0.004 * step))
        mu_next = mu * (1 - 0.5 * 0.96 ** (0.004 * (step + 1)))
        K.nadam_update(p, g, s1, s2, step, mu_t, mu_next, mu_t * 0.8, lr, mu, b2, eps, wd)
    else:
        K.lion_update(p, g, s1, lr, mu, b2, wd)


@pytest.mark.parametrize("kind", OPT_KINDS)
def test_optimizer_numpy_scalar_hyperparameters_take_the_twin(kind):
    # np.float64 beside float32 arrays: numpy computes in float64 (NEP 50: a numpy scalar
    # is not weak), a float32 kernel could not give those bits, so numba is not used
    rng = np.random.default_rng(7)
    p0, g = (rng.standard_normal(64).astype(np.float32) for _ in range(2))
    m0, v0 = np.abs(rng.standard_normal((2, 64)).astype(np.float32))
    results = []
    for mode in ("numba", "numpy"):
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        with K.forced(mode):
            _opt(kind, p, g, m, v, lr=np.float64(0.1234567891), wd=np.float64(0.0123456789))
        results.append((p, m, v))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", OPT_KINDS)
@pytest.mark.parametrize("alias", ["param", "state"])
def test_optimizer_aliased_arrays_take_the_twin(kind, alias):
    # the parameter passed as its own gradient (or a state slot as the gradient): the twin
    # reads it after some of its whole-array writes, a kernel element by element, so numba
    # is not used and both give the twin's bits
    rng = np.random.default_rng(8)
    p0 = rng.standard_normal(64).astype(np.float32)
    m0, v0 = np.abs(rng.standard_normal((2, 64)).astype(np.float32))
    results = []
    for mode in ("numba", "numpy"):
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        g = p if alias == "param" else (v if kind in ("rmsprop", "adagrad") else m)
        with K.forced(mode):
            _opt(kind, p, g, m, v, wd=0.3)
        results.append((p, m, v))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", OPT_KINDS)
@given(data=st.data())
def test_optimizer_updates_match_twins(data, kind):
    """The numba updates give the numpy twins' bits (each hyperparameter rounded to the
    array's dtype, each operation in the twin's order), so the dispatcher's choice of
    kernel never changes a trained model."""
    p0 = data.draw(arrays())
    g = data.draw(arrays(shape=p0.shape, dtype=p0.dtype))
    m0 = data.draw(arrays(shape=p0.shape, dtype=p0.dtype))
    if kind == "adadelta":                  # m0 is Adadelta's u, a mean of squares
        m0 = np.abs(m0)
    v0 = np.abs(data.draw(arrays(shape=p0.shape, dtype=p0.dtype)))
    hyper = dict(lr=data.draw(HYPER), mu=data.draw(HYPER), b2=data.draw(HYPER),
                 eps=data.draw(st.sampled_from([1e-8, 1e-7, 0.1])),
                 wd=data.draw(st.sampled_from([0.0, 0.01, 0.3])),
                 step=data.draw(st.integers(1, 50)))
    results = []
    for mode in ("numba", "numpy"):
        p, m, v = p0.copy(order="K"), m0.copy(order="K"), v0.copy(order="K")  # in place, any layout
        with K.forced(mode):
            _opt(kind, p, g, m, v, **hyper)
            _opt(kind, p, g, m, v, **hyper)
        results.append((p, m, v))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_optimizer_updates_strided_views_in_place():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    for mode in ("numba", "numpy"):
        b = base.copy()
        with K.forced(mode):
            K.sgd_update(b[:, ::2], np.ones((4, 3), np.float32), None, 1.0)
        assert np.array_equal(b[:, ::2], base[:, ::2] - 1) and np.array_equal(b[:, 1::2], base[:, 1::2])


# --------------------------------------------------------------------------- primitives
ACTS = [None, "relu", "sigmoid", "tanh", "leaky_relu", "gelu"]


@pytest.mark.parametrize("mode", ["numba", "numpy"])
@pytest.mark.parametrize("activation", ACTS)
def test_dense_gradcheck(mode, activation):
    rng = np.random.default_rng(1)
    x = ag.Tensor(rng.standard_normal((5, 4)) + 0.05, requires_grad=True)
    w = ag.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = ag.Tensor(rng.standard_normal(3), requires_grad=True)
    with K.forced(mode):
        assert ag.gradcheck(lambda x, w, b: ag.dense(x, w, b, activation=activation), x, w, b)
        assert ag.gradcheck(lambda x, w: ag.dense(x, w, activation=activation), x, w)
        x3 = ag.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
        assert ag.gradcheck(lambda x, w, b: ag.dense(x, w, b, activation=activation), x3, w, b)
    if activation is not None:
        assert ag.gradgradcheck(lambda x, w, b: ag.dense(x, w, b, activation=activation), x, w, b)


def test_dense_skips_unneeded_gradients_but_matches():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4)).astype(np.float32)       # data: no gradient wanted
    w = ag.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    b = ag.Tensor(np.zeros(3, np.float32), requires_grad=True)
    ag.dense(x, w, b, activation="relu").sum().backward()
    ref = (x.T @ ((x @ w.data + b.data) > 0)).astype(np.float32)
    np.testing.assert_allclose(w.grad, ref, rtol=1e-5)
    assert w.grad.dtype == np.float32 and b.grad.shape == (3,)


@pytest.mark.parametrize("mode", ["numba", "numpy"])
def test_loss_gradchecks(mode):
    rng = np.random.default_rng(3)
    z = ag.Tensor(rng.standard_normal((5, 4)) * 3, requires_grad=True)
    t = ag.Tensor(rng.random((5, 4)), requires_grad=True)
    labels = np.array([0, 3, 1, 2, 3])
    with K.forced(mode):
        assert ag.gradcheck(lambda z: ag.softmax_cross_entropy(z, labels), z)
        assert ag.gradcheck(lambda z, t: ag.softmax_cross_entropy(z, t), z, t)
        assert ag.gradcheck(lambda z, t: ag.sigmoid_binary_cross_entropy(z, t), z, t)
        assert ag.gradcheck(lambda z: ag.sigmoid_binary_cross_entropy(z, (t.data > .5)), z)
    assert ag.gradgradcheck(lambda z: ag.softmax_cross_entropy(z, labels), z)


@pytest.mark.parametrize("mode", ["numba", "numpy"])
@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh", "leaky_relu", "gelu"])
def test_activation_primitives_gradcheck(mode, op):
    rng = np.random.default_rng(4)
    x = ag.Tensor(rng.standard_normal((3, 4)) + 0.05, requires_grad=True)
    with K.forced(mode):
        assert ag.gradcheck(getattr(ag, op), x)
        np.testing.assert_allclose(getattr(ag, op)(x).data, ag.OPS[op].reference(x.data),
                                   rtol=1e-12, atol=1e-12)


def test_losses_stable_and_match_references():
    z = np.array([[1000.0, -1000.0, 0.0], [-5.0, 2.0, 1.0]], np.float32)
    labels = np.array([0, 1])
    for mode in ("numba", "numpy"):
        with K.forced(mode):
            v = np.asarray(ag.softmax_cross_entropy(z, labels))
            np.testing.assert_allclose(v, ag.OPS["softmax_cross_entropy"].reference(z, labels),
                                       rtol=1e-5)
            assert v.dtype == np.float32
            b = np.asarray(ag.sigmoid_binary_cross_entropy(z, np.ones_like(z)))
            np.testing.assert_allclose(b, ag.OPS["sigmoid_binary_cross_entropy"].reference(
                z, np.ones_like(z)), rtol=1e-5)


@pytest.mark.parametrize("mode", ["numba", "numpy"])
def test_validation_happens_before_kernels(mode):
    with K.forced(mode):
        with pytest.raises(ag.ShapeError, match=r"dense.*\(3, 4\).*\(5, 2\)"):
            ag.dense(np.ones((3, 4), np.float32), ag.Tensor(np.ones((5, 2), np.float32), requires_grad=True))
        with pytest.raises(ag.DTypeError, match="dense"):
            ag.dense(np.ones((3, 4), np.int64), ag.Tensor(np.ones((4, 2)), requires_grad=True))
        with pytest.raises(ag.InvalidValueError, match=r"softmax_cross_entropy.*\[0, 3\)"):
            ag.softmax_cross_entropy(ag.Tensor(np.ones((2, 3)), requires_grad=True), np.array([0, 3]))
        with pytest.raises(ag.ShapeError, match="sigmoid_binary_cross_entropy"):
            ag.sigmoid_binary_cross_entropy(ag.Tensor(np.ones((2, 3)), requires_grad=True), np.ones(3))


# --------------------------------------------------------------------------- switch, start-up
def _run(code, **env):
    e = dict(os.environ)
    e.update(env)
    e["PYTHONPATH"] = ROOT
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          cwd=ROOT)


STEP = ("import sys, numpy as np, autograd as ag\nfrom autograd import kernels as K\n"
        "w = ag.Tensor(np.ones((300, 300), np.float32), requires_grad=True)\n"
        "x = np.ones((100, 300), np.float32)\n"
        "ag.softmax_cross_entropy(ag.dense(x, w, activation='relu')[:, :10] * 1.0, "
        "np.zeros(100, np.int64)).backward()\n"
        "K.sgd_update(w.data, w.grad, None, 0.1)\n")


def test_switch_numpy_never_imports_numba():
    r = _run(STEP + "print('numba' in sys.modules, K.MODE)", AUTOGRAD_KERNELS="numpy")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "numpy"]


def test_switch_numba_uses_numba():
    r = _run(STEP + "print(K.loaded(), K.MODE)", AUTOGRAD_KERNELS="numba")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "numba"]


def test_auto_small_model_and_import_never_import_numba():
    r = _run("import sys, autograd as ag, numpy as np\nprint('numba' in sys.modules)\n"
             "w = ag.Tensor(np.ones((16, 16), np.float32), requires_grad=True)\n"
             "ag.softmax_cross_entropy(ag.dense(np.ones((32, 16), np.float32), w, "
             "activation='relu'), np.zeros(32, np.int64)).backward()\n"
             "print('numba' in sys.modules)", AUTOGRAD_KERNELS="auto")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_bad_switch_value_is_refused():
    r = _run("import autograd", AUTOGRAD_KERNELS="fast")
    assert r.returncode != 0 and "AUTOGRAD_KERNELS" in r.stderr


def test_unwritable_cache_falls_back_with_one_warning(tmp_path):
    # Make every numba cache location unwritable except the temp dir we fall back to.
    code = (
        "import os, tempfile, warnings, numba.core.caching as c\n"
        "orig = c._CacheLocator.ensure_cache_path\n"
        "def deny(self):\n"
        "    if not self.get_cache_path().startswith(tempfile.gettempdir() + '/autograd-numba-cache-'):\n"
        "        raise PermissionError('read-only')\n"
        "    return orig(self)\n"
        "c._CacheLocator.ensure_cache_path = deny\n"
        "c.InTreeCacheLocator.from_function = classmethod(lambda cls, f, p: None)\n"
        "import numpy as np\nfrom autograd import kernels as K\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    with K.forced('numba'):\n"
        "        p = np.ones(4); K.sgd_update(p, np.ones(4), None, 0.5)\n"
        "print(p.tolist(), sum('no writable numba cache' in str(x.message) for x in w))\n"
        "print(K.TMP_CACHE[0], os.path.isdir(K.TMP_CACHE[0]))\n")
    r = _run(code, NUMBA_CACHE_DIR="", HOME=str(tmp_path / "nohome"), XDG_CACHE_HOME="/proc/nope")
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()
    assert first.split() == ["[0.5,", "0.5,", "0.5,", "0.5]", "1"]
    tmp, existed = second.split()
    # the process's temporary cache existed while it ran and is removed at its exit
    assert existed == "True" and "autograd-numba-cache-" in tmp and not os.path.exists(tmp)
