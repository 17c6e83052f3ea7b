"""The instruction form of a step too large for one generated function (benchmarks.mlp_step
medium and large): the ``.grad`` rewrite under a guard (``codegen.guarded_instructions``),
dense vjps into buffers the program owns (``codegen.dense_vjp_buffers``,
``ops.fused.dense_vjp_into``), ``p -= lr * g`` as one pass (``codegen.fuse_updates``,
``kernels.subtract_scaled``) and the dense forward into planned buffers (its ``out=`` form).

Each form is checked against eager (float64 1e-12, float32 1e-5 relative) and against the
numpy replay of the same trace, and the lowered program's shape is asserted, so that a
regression to the plain form fails.  The tests run the backend (marker ``codegen``, see
tests/conftest.py) but build no generated numba code (segments are switched off with
``SEGMENT_MAX_SIZE = 0``): these passes call BLAS and the library's cached kernels."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, kernels as K
from autograd.jit import codegen
from autograd.kernels import blas
from autograd.ops.fused import dense_vjp_into
from autograd.registry import OPS

TOL = {"float64": 1e-12, "float32": 1e-5}
pytestmark = pytest.mark.codegen
SIZES = [40, 480, 24, 5]            # the first weight 40x480 = 19200 > kernels.SMALL


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [(Tensor((rng.standard_normal((i, o)) / np.sqrt(i)).astype(dtype), requires_grad=True),
             Tensor((rng.standard_normal(o) * 0.1).astype(dtype), requires_grad=True))
            for i, o in zip(SIZES[:-1], SIZES[1:])]


def _step(dtype, lr=0.05, seed=0):
    """benchmarks._peers' ``jit`` step: dense layers, softmax-cross-entropy, backward,
    ``p -= lr * grad``, ``p.grad = None``."""
    ps = _params(dtype, seed)
    flat = [t for wb in ps for t in wb]

    def step(x, y):
        h = x
        for k, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if k < len(ps) - 1 else None)
        loss = ag.softmax_cross_entropy(h, y)
        loss.backward()
        with ag.no_grad():
            for p in flat:
                p -= lr * Tensor(p.grad)
                p.grad = None
        return loss
    return flat, step


def _data(dtype, n, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((16, SIZES[0])).astype(dtype), rng.integers(0, SIZES[-1], 16))
            for _ in range(n)]


def _close(a, b, tol):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=tol, atol=tol)


def _exe(jf):
    e = next(iter(jf.cache.d.values()))
    assert e.exe is not None, jf.fallbacks
    return e.exe


@pytest.fixture
def no_segments(monkeypatch):
    """The backend without generated segments (nothing is compiled by numba here), numba
    kernels loaded (``kernels.subtract_scaled`` takes numba above its threshold)."""
    pytest.importorskip("numba")
    monkeypatch.setattr(codegen, "SEGMENT_MAX_SIZE", 0)
    K._load()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_medium_form_equals_eager_and_the_numpy_replay(dtype, no_segments):
    pe, fe = _step(dtype)
    pj, fj = _step(dtype)
    pn, fn = _step(dtype)
    jf, jn = ag.jit(fj), ag.jit(fn)
    jn.backend = lambda p: p                          # the numpy replay of the same trace
    tol = TOL[dtype]
    for x, y in _data(dtype, 5):
        le = fe(Tensor(x), Tensor(y))
        lj, ln = jf(x, y), jn(x, y)
        _close(lj, le.data, tol)
        _close(lj, ln, tol)
        for a, b, c in zip(pe, pj, pn):
            _close(b.data, a.data, tol)
            _close(b.data, c.data, tol)
            assert a.grad is None and b.grad is None
    prog = _exe(jf).program
    ops = [i.op for i in prog.instrs]
    names = [i.info.get("name") for i in prog.instrs if i.op == "fused"]
    # no .grad traffic: the rewrite under a guard
    assert prog.guard is not None and prog.guard.misses == 0, prog
    assert not {"accum_grad", "load_grad", "set_grad", "inplace"} & set(ops), prog
    assert [i.prim.name for i in prog.instrs if i.op == "vjp"] == ["softmax_cross_entropy"]
    assert len(prog.guard.none_grad) == 6
    # three dense vjps into owned buffers, each with its weight's update folded into the
    # weight-gradient GEMM; the three bias updates one pass each; the forward into buffers
    assert names.count("dense_vjp_into+update") == 3, prog
    assert names.count("subtract_scaled") == 3, prog
    dense = [i for i in prog.instrs if i.op == "call" and i.prim.name == "dense"]
    assert len(dense) == 3 and all(i.info.get("out_ok") for i in dense)
    assert all(i.outs[0] in _exe(jf).buffers for i in dense)
    # the numpy replay kept the plain instruction form
    plain = {i.op for i in _exe(jn).program.instrs}
    assert {"vjp", "inplace", "accum_grad", "set_grad"} <= plain


def test_buffers_are_stable_and_versions_bump_as_eager(no_segments):
    """Steady state: the vjp buffers are the same arrays call after call (no allocation of
    the results), and each update bumps the parameter's version once, as eager."""
    dtype = "float32"
    pe, fe = _step(dtype)
    pj, fj = _step(dtype)
    jf = ag.jit(fj)
    data = _data(dtype, 5)
    for x, y in data[:3]:
        fe(Tensor(x), Tensor(y))
        jf(x, y)
    vjps = [i for i in _exe(jf).program.instrs
            if str(i.info.get("name")).startswith("dense_vjp_into")]
    assert len(vjps) == 3
    before = [[id(b) for b in i.fn.bufs if b is not None] for i in vjps]
    ve, vj = [p._version for p in pe], [p._version for p in pj]
    for x, y in data[3:]:
        _close(jf(x, y), fe(Tensor(x), Tensor(y)).data, 1e-5)
    assert [[id(b) for b in i.fn.bufs if b is not None] for i in vjps] == before
    assert [p._version - v for p, v in zip(pj, vj)] == [p._version - v for p, v in zip(pe, ve)]
    for a, b in zip(pe, pj):
        _close(b.data, a.data, 1e-5)


def test_a_grad_set_between_calls_takes_the_fallback(no_segments):
    """A ``.grad`` present at the call: the guard fails and the instruction form of the
    same trace adds into it as eager does; the next call is guarded again."""
    dtype = "float64"
    pe, fe = _step(dtype)
    pj, fj = _step(dtype)
    jf = ag.jit(fj)
    rng = np.random.default_rng(3)
    for k, (x, y) in enumerate(_data(dtype, 6)):
        if k == 3:
            for a, b in zip(pe, pj):
                g = rng.standard_normal(a.shape)
                a.grad, b.grad = g.copy(), g.copy()
        _close(jf(x, y), fe(Tensor(x), Tensor(y)).data, 1e-12)
        for a, b in zip(pe, pj):
            _close(b.data, a.data, 1e-12)
            assert b.grad is None
    assert _exe(jf).program.guard.misses == 1


def test_a_returned_gradient_keeps_its_own_array(no_segments):
    """A weight gradient handed back as a result leaves the program: its vjp keeps
    allocating (no owned buffer a later call would overwrite), the others take buffers."""
    dtype = "float64"
    ps = _params(dtype)
    flat = [t for wb in ps for t in wb]

    def step(x, y):
        h = x
        for k, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if k < 2 else None)
        loss = ag.softmax_cross_entropy(h, y)
        loss.backward()
        g0 = Tensor(ps[0][0].grad)
        with ag.no_grad():
            for p in flat:
                p -= 0.05 * Tensor(p.grad)
                p.grad = None
        return loss, g0
    jf = ag.jit(step)
    outs = [jf(x, y)[1] for x, y in _data(dtype, 4)]
    assert not np.shares_memory(np.asarray(outs[-1]), np.asarray(outs[-2]))
    assert not np.allclose(np.asarray(outs[-1]), np.asarray(outs[-2]))
    names = [i.info.get("name") for i in _exe(jf).program.instrs if i.op == "fused"]
    assert names.count("dense_vjp_into+update") == 2, _exe(jf).program


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("mode", ["auto", "numpy"])
def test_dense_vjp_into_equals_the_fast_vjp(dtype, activation, mode):
    """The same values (bits) as the vjp the jit replaces, for every needs pattern, on both
    sides of the numba threshold."""
    pytest.importorskip("numba")
    K._load()                      # loaded: the vjp's numba kernel is called without checks
    prim = OPS["dense"]
    rng = np.random.default_rng(5)
    for rows, n_in, units in ((7, 5, 3), (160, 12, 128)):       # 128 * 160 > SMALL
        x = rng.standard_normal((rows, n_in)).astype(dtype)
        W = rng.standard_normal((n_in, units)).astype(dtype)
        b = rng.standard_normal(units).astype(dtype)
        g = rng.standard_normal((rows, units)).astype(dtype)
        with K.forced(mode):
            out = prim.fwd(x, W, b, activation=activation)
            for needs in ([True, True, True], [False, True, True], [True, False, False]):
                ref = prim.vjp_fast(g, out, x, W, b, activation=activation, needs=needs)
                bufs = (np.empty((rows, units), dtype), np.empty(units, dtype),
                        np.empty((rows, n_in), dtype), np.empty((n_in, units), dtype))
                got = dense_vjp_into(g, out, x, W, b, activation, 0.01, needs, bufs)
                for r, v in zip(ref, got):
                    assert (r is None) == (v is None)
                    if r is not None:
                        assert v.dtype == r.dtype and np.array_equal(v, r)
                if needs[1]:
                    assert got[1] is bufs[3]                   # written into, not allocated


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(7,), (200, 100)])
def test_subtract_scaled_equals_its_twin_and_numpy(dtype, shape):
    pytest.importorskip("numba")
    rng = np.random.default_rng(2)
    p = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    want = p.copy()
    want -= 0.013 * g                                  # eager's two passes
    for mode in ("numba", "numpy"):
        q = p.copy()
        with K.forced(mode):
            K.subtract_scaled(q, g, 0.013)
        assert np.array_equal(q, want), mode
    q = p.copy()
    K.subtract_scaled(q[::2], g[::2], 0.013)           # strided: the twin
    ref = p.copy()
    ref[::2] -= 0.013 * g[::2]
    assert np.array_equal(q, ref)


def test_subtract_scaled_errors():
    p = np.zeros((3, 2), np.float32)
    with pytest.raises(ag.ShapeError, match="subtract_scaled"):
        K.subtract_scaled(p, np.zeros((2, 3), np.float32), 0.1)
    with pytest.raises(ag.DTypeError, match="subtract_scaled"):
        K.subtract_scaled(p, np.zeros((3, 2), np.int64), 0.1)
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ag.InvalidValueError, match="read-only"):
        K.subtract_scaled(ro, np.zeros(3), 0.1)


def test_an_update_read_before_it_runs_is_not_folded(no_segments):
    """The first weight read between its vjp and its update (a norm taken after the
    backward): folding would move the write before that read, so that update stays a
    separate pass and the norm sees the weight before the update, as eager."""
    dtype = "float64"

    def make():
        ps = _params(dtype)
        flat = [t for wb in ps for t in wb]

        def step(x, y):
            h = x
            for k, (W, b) in enumerate(ps):
                h = ag.dense(h, W, b, activation="relu" if k < 2 else None)
            loss = ag.softmax_cross_entropy(h, y)
            loss.backward()
            with ag.no_grad():
                norm = ag.sum(ps[0][0] * ps[0][0])
                for p in flat:
                    p -= 0.05 * Tensor(p.grad)
                    p.grad = None
            return loss, norm
        return flat, step
    pe, fe = make()
    pj, fj = make()
    jf = ag.jit(fj)
    for x, y in _data(dtype, 4):
        le, ne = fe(Tensor(x), Tensor(y))
        lj, nj = jf(x, y)
        _close(lj, le.data, 1e-12)
        _close(nj, ne.data, 1e-12)
        for a, b in zip(pe, pj):
            _close(b.data, a.data, 1e-12)
    names = [i.info.get("name") for i in _exe(jf).program.instrs if i.op == "fused"]
    assert names.count("dense_vjp_into+update") == 2, _exe(jf).program
    assert names.count("subtract_scaled") == 4, _exe(jf).program


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gemm_acc_tn_equals_numpy(dtype):
    if not blas.available(dtype):
        pytest.skip("numpy's OpenBLAS (its wheel's CBLAS names) is not in this process")
    rng = np.random.default_rng(8)
    tol = TOL[dtype]
    for k, m, n in ((128, 60, 33), (1, 1, 1), (0, 3, 2)):
        a = rng.standard_normal((k, m)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        c = rng.standard_normal((m, n)).astype(dtype)
        want = c - np.asarray(0.03, dtype) * (a.T @ b)
        assert blas.gemm_acc_tn(c, a, b, -0.03)
        _close(c, want, tol)
    # what it does not take: nothing written, False
    c = np.zeros((4, 3), dtype)
    a, b = np.ones((2, 4), dtype), np.ones((2, 3), dtype)
    assert not blas.gemm_acc_tn(c, a.astype(np.float16), b, 1.0)
    assert not blas.gemm_acc_tn(np.asfortranarray(c), a, b, 1.0)
    assert not blas.gemm_acc_tn(c, np.asfortranarray(np.ones((2, 4), dtype)), b, 1.0)
    assert not c.any()
    with pytest.raises(ag.ShapeError, match="gemm_acc_tn"):
        blas.gemm_acc_tn(c, np.ones((2, 5), dtype), b, 1.0)
