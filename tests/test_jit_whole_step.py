"""A whole small step as one guarded generated function (``codegen.whole_step``): equal to
eager and to the instruction form of the same trace (float64 1e-12, float32 1e-5
relative), the guard's fallbacks (a ``.grad`` set between calls, a parameter replaced or
reshaped), versions bumped as eager (an outside graph that saved a parameter raises
``InPlaceError``), and the lowered program's shape (loads and one function)."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, kernels as K
from autograd.jit import codegen

# generated numba code is this file's subject (tests/conftest.py)
pytestmark = pytest.mark.codegen

pytest.importorskip("numba")
TOL = {"float64": 1e-12, "float32": 1e-5}


def _params(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [(Tensor((rng.standard_normal((i, o)) * 0.5).astype(dtype), requires_grad=True),
             Tensor((rng.standard_normal(o) * 0.1).astype(dtype), requires_grad=True))
            for i, o in zip(sizes[:-1], sizes[1:])]


def _xent_step(dtype, zero=True, seed=0):
    """benchmarks._peers' ``jit`` MLP step: dense layers, softmax-cross-entropy, backward,
    ``p -= lr * grad`` and (``zero``) ``p.grad = None``."""
    ps = _params([3, 8, 6, 4], dtype, seed)
    flat = [t for wb in ps for t in wb]

    def step(x, y):
        h = x
        for k, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if k < len(ps) - 1 else None)
        loss = ag.softmax_cross_entropy(h, y)
        loss.backward()
        with ag.no_grad():
            for p in flat:
                p -= 0.05 * Tensor(p.grad)
                if zero:
                    p.grad = None
        return loss
    return flat, step


def _l2_step(dtype, seed=0):
    """micrograd's tensor step (benchmarks.scalar ``tensor-jit``): hinge + L2 penalty, the
    learning rate a 0-d array input; a leaf gets three accumulations (dense vjp, penalty)."""
    ps = _params([2, 16, 16, 1], dtype, seed)
    flat = [t for wb in ps for t in wb]

    def step(x, yv, lr):
        h = x
        for k, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if k < 2 else None)
        total = ag.relu(1.0 - yv * h).mean() + 1e-4 * sum((p * p).sum() for p in flat)
        total.backward()
        with ag.no_grad():
            for p in flat:
                p -= lr * Tensor(p.grad)
                p.grad = None
        return total
    return flat, step


def _xent_data(dtype, n=5, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((16, 3)).astype(dtype), rng.integers(0, 4, 16))
            for _ in range(n)]


def _l2_data(dtype, n=5, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((20, 2)).astype(dtype)
    yv = np.where(rng.standard_normal((20, 1)) > 0, 1.0, -1.0).astype(dtype)
    return [(x, yv, np.array(0.1 - 0.01 * k, dtype=dtype)) for k in range(n)]


def _entry(jf):
    e = next(iter(jf.cache.d.values()))
    assert e.exe is not None, jf.fallbacks
    return e.exe


def _assert_close(a, b, tol):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("which", ["xent", "l2"])
def test_one_function_equals_eager_and_the_instruction_form(dtype, which):
    make, data = (_xent_step, _xent_data) if which == "xent" else (_l2_step, _l2_data)
    pe, fe = make(dtype)
    pw, fw = make(dtype)
    pi, fi = make(dtype)
    jw, ji = ag.jit(fw), ag.jit(fi)
    ji.backend = codegen._segments_and_loops          # the form without this pass
    tol = TOL[dtype]
    with K.forced("numba"):
        for args in data(dtype):
            le = fe(*(Tensor(a) for a in args))
            lw, li = jw(*args), ji(*args)
            _assert_close(lw, le.data, tol)
            _assert_close(lw, li, tol)
            for a, b, c in zip(pe, pw, pi):
                _assert_close(b.data, a.data, tol)
                _assert_close(b.data, c.data, tol)
                assert b.grad is None and a.grad is None
    exe = _entry(jw)
    prog = exe.program
    # loads of the 6 parameters and one generated function: nothing else
    assert [i.op for i in prog.instrs].count("fused") == 1, prog
    assert {i.op for i in prog.instrs} == {"load", "fused"}, prog
    assert len(prog.instrs) == 7, prog
    fused = [i for i in prog.instrs if i.op == "fused"][0]
    assert fused.fn.fn is not None                    # the numba function, built
    body = [b.op for b in fused.info["body"]]
    assert body.count("inplace") == 6 and "vjp" in body and "call" in body
    assert prog.guard is not None and prog.guard.misses == 0
    assert len(prog.guard.none_grad) == 6 and len(prog.guard.loads) == 6
    # the instruction form of the same trace: accumulations, .grad reads and sets in Python
    other = _entry(ji).program
    assert other.guard is None
    kinds = {i.op for i in other.instrs}
    assert {"accum_grad", "load_grad", "set_grad"} <= kinds, other
    assert len(other.instrs) >= 20, other


def test_a_grad_set_between_calls_takes_the_fallback_as_eager():
    """``.grad`` arrays present at the call: the guard fails, the instruction form adds
    into them as eager does; the next call with None grads is fused again."""
    dtype = "float64"
    pe, fe = _xent_step(dtype)
    pj, fj = _xent_step(dtype)
    jf = ag.jit(fj)
    rng = np.random.default_rng(7)
    with K.forced("numba"):
        for k, (x, y) in enumerate(_xent_data(dtype, 6)):
            if k == 3:
                for a, b in zip(pe, pj):
                    g = rng.standard_normal(a.shape)
                    a.grad, b.grad = g.copy(), g.copy()
            le, lj = fe(Tensor(x), Tensor(y)), jf(x, y)
            _assert_close(lj, le.data, 1e-12)
            for a, b in zip(pe, pj):
                _assert_close(b.data, a.data, 1e-12)
                assert b.grad is None
    guard = _entry(jf).program.guard
    assert guard.misses == 1


def test_a_step_that_keeps_its_grads_leaves_them_as_eager():
    """Without ``p.grad = None`` the first call leaves each leaf's gradient (the program's
    buffer); the next calls find ``.grad`` set and accumulate through the fallback."""
    dtype = "float64"
    pe, fe = _xent_step(dtype, zero=False)
    pj, fj = _xent_step(dtype, zero=False)
    jf = ag.jit(fj)
    data = _xent_data(dtype, 6)
    with K.forced("numba"):
        for k, (x, y) in enumerate(data):
            if k in (2, 4):                    # a fresh start: grads cleared by the user
                for a, b in zip(pe, pj):
                    a.grad = b.grad = None
            le, lj = fe(Tensor(x), Tensor(y)), jf(x, y)
            _assert_close(lj, le.data, 1e-12)
            for a, b in zip(pe, pj):
                _assert_close(b.data, a.data, 1e-12)
                _assert_close(b.grad, a.grad, 1e-12)
    prog = _entry(jf).program
    assert prog.guard is not None
    assert [i.op for i in prog.instrs].count("accum_grad") == 6       # the grads it leaves
    # calls 0-1 trace; 2 and 4 (after a clear) fused; 3 and 5 find the grads: fallback
    assert prog.guard.misses == 2


def test_grad_read_and_returned_and_zeroed_first():
    """``p.grad = None`` before the backward for the first layer (no guard needed for those
    leaves: a grad the user set is overwritten, no fallback; their gradients are left
    set), after the update for the second, and a gradient handed back as a result."""
    dtype = "float32"

    def make():
        ps = _params([3, 5, 2], dtype, 3)
        W, b = ps[0]

        def step(x, y):
            for p in (W, b):
                p.grad = None
            h = ag.dense(ag.dense(x, *ps[0], activation="tanh"), *ps[1])
            loss = ag.softmax_cross_entropy(h, y)
            loss.backward()
            gw = W.grad
            with ag.no_grad():
                for wb in ps:
                    for p in wb:
                        p -= 0.1 * Tensor(p.grad)
                for p in ps[1]:
                    p.grad = None
            return loss, gw
        return ps, step
    pe, fe = make()
    pj, fj = make()
    jf = ag.jit(fj)
    rng = np.random.default_rng(2)
    with K.forced("numba"):
        for k, (x, y) in enumerate(_xent_data(dtype, 5)):
            x = x[:, :3]
            y = y % 2
            if k == 3:                                    # set by the user, zeroed by step
                pe[0][0].grad = np.ones((3, 5), dtype)
                pj[0][0].grad = np.ones((3, 5), dtype)
            (le, ge), (lj, gj) = fe(Tensor(x), Tensor(y)), jf(x, y)
            _assert_close(lj, le.data, 1e-5)
            _assert_close(gj, ge, 1e-5)
            for (a, b), (c, d) in zip(pe, pj):
                _assert_close(c.data, a.data, 1e-5)
                _assert_close(d.data, b.data, 1e-5)
                _assert_close(c.grad, a.grad, 1e-5)
                _assert_close(d.grad, b.grad, 1e-5)
    prog = _entry(jf).program
    assert prog.guard is not None and [i.op for i in prog.instrs].count("fused") == 1
    assert len(prog.guard.none_grad) == 2             # the second layer's leaves
    ops = [i.op for i in prog.instrs]
    assert ops.count("accum_grad") == 2 and ops.count("set_grad") == 2   # the first's, left
    assert prog.guard.misses == 0


def test_a_replaced_parameter_is_read_live_and_a_retyped_one_retraces():
    dtype = "float64"
    pe, fe = _xent_step(dtype)
    pj, fj = _xent_step(dtype)
    jf = ag.jit(fj)
    data = _xent_data(dtype, 6)
    rng = np.random.default_rng(5)
    with K.forced("numba"):
        for k, (x, y) in enumerate(data):
            if k == 3:                           # same shape and dtype: a new array
                w = rng.standard_normal(pe[2].shape)
                pe[2].data, pj[2].data = w.copy(), w.copy()
            le, lj = fe(Tensor(x), Tensor(y)), jf(x, y)
            _assert_close(lj, le.data, 1e-12)
            for a, b in zip(pe, pj):
                _assert_close(b.data, a.data, 1e-12)
    guard = _entry(jf).program.guard
    assert guard.misses == 0
    # a parameter of another dtype: the program no longer applies (its buffers and code are
    # typed at the trace), so the call traces again, before the guard is consulted
    n = jf.trace_count
    pj[1].data = pj[1].data.astype(np.float32)
    pe[1].data = pe[1].data.astype(np.float32)
    assert not guard.holds()
    with K.forced("numba"):
        for x, y in data[:3]:
            le, lj = fe(Tensor(x), Tensor(y)), jf(x, y)
            _assert_close(lj, le.data, 1e-12)
            for a, b in zip(pe, pj):
                _assert_close(b.data, a.data, 1e-12)
    assert jf.trace_count == n + 1 and guard.misses == 0


def test_update_bumps_versions_so_an_outside_graph_raises_as_eager():
    """An outside graph saved a parameter; the step updates it in place: the outside
    backward raises InPlaceError, as after an eager step."""
    dtype = "float64"
    results = []
    for jitted in (False, True):
        ps, f = _xent_step(dtype)
        fn = ag.jit(f) if jitted else f
        data = _xent_data(dtype, 4)
        with K.forced("numba"):
            for x, y in data[:3]:
                fn(*((Tensor(x), Tensor(y)) if not jitted else (x, y)))
            W = ps[0]
            v0 = W._version
            outside = (W * W).sum()           # saves W for its vjp
            x, y = data[3]
            fn(*((Tensor(x), Tensor(y)) if not jitted else (x, y)))
        assert W._version > v0
        with pytest.raises(ag.InPlaceError):
            outside.backward()
        results.append(W._version - v0)
    assert results[0] == results[1]


def test_numpy_mode_and_host_effects_keep_the_instruction_form():
    dtype = "float64"
    ps, f = _xent_step(dtype)
    jf = ag.jit(f)
    with K.forced("numpy"):
        for x, y in _xent_data(dtype, 3):
            jf(x, y)
    prog = _entry(jf).program
    assert prog.guard is None and "accum_grad" in {i.op for i in prog.instrs}
    # no leaf accumulation (value_and_grad returns the gradient): no guard either
    w = np.linspace(-1, 1, 6).reshape(2, 3)
    jg = ag.jit(ag.value_and_grad(lambda x: ag.sum(ag.tanh(x * w) * x)))
    with K.forced("numba"):
        for _ in range(3):
            jg(np.ones((2, 3)))
    assert _entry(jg).program.guard is None


def test_an_update_too_large_for_the_segment_stays_numpy_after_it():
    """A weight of more than ``UPDATE_MAX_SIZE`` elements (benchmarks.mlp_step small's
    64x128): its update is a numpy in-place call after the one function, reading the
    gradient that function returns; results equal eager."""
    dtype = "float32"
    rng = np.random.default_rng(6)
    n_in = codegen.UPDATE_MAX_SIZE // 16 + 4                 # n_in x 16 > UPDATE_MAX_SIZE

    def make():
        r = np.random.default_rng(0)
        ps = [(Tensor((r.standard_normal((n_in, 16)) * 0.1).astype(dtype), requires_grad=True),
               Tensor(np.zeros(16, dtype), requires_grad=True)),
              (Tensor((r.standard_normal((16, 3)) * 0.3).astype(dtype), requires_grad=True),
               Tensor(np.zeros(3, dtype), requires_grad=True))]
        flat = [t for wb in ps for t in wb]

        def step(x, y):
            h = ag.dense(ag.dense(x, *ps[0], activation="relu"), *ps[1])
            loss = ag.softmax_cross_entropy(h, y)
            loss.backward()
            with ag.no_grad():
                for p in flat:
                    p -= 0.1 * Tensor(p.grad)
                    p.grad = None
            return loss
        return flat, step
    pe, fe = make()
    pj, fj = make()
    jf = ag.jit(fj)
    with K.forced("numba"):
        for _ in range(4):
            x = rng.standard_normal((8, n_in)).astype(dtype)
            y = rng.integers(0, 3, 8)
            _assert_close(jf(x, y), fe(Tensor(x), Tensor(y)).data, 1e-5)
            for a, b in zip(pe, pj):
                _assert_close(b.data, a.data, 1e-5)
                assert b.grad is None
    prog = _entry(jf).program
    ops = [i.op for i in prog.instrs]
    assert prog.guard is not None and ops.count("fused") == 1 and ops.count("inplace") == 1
    assert set(ops) == {"load", "fused", "inplace"}, prog


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_rewrite_replayed_with_numpy_equals_eager(dtype):
    """The numpy twin of the one function: the rewritten program (no ``.grad`` traffic,
    ``add`` calls for the sums) replayed instruction by instruction equals eager; a hidden
    activation used twice (a gradient sum between nodes) joins the function too."""
    def make():
        ps = _params([3, 6, 6, 2], dtype, 4)
        flat = [t for wb in ps for t in wb]

        def step(x, y):
            h = ag.dense(x, *ps[0], activation="relu")
            h = ag.dense(h, *ps[1], activation="relu") + h        # h used twice
            loss = ag.softmax_cross_entropy(ag.dense(h, *ps[2]), y)
            loss.backward()
            with ag.no_grad():
                for p in flat:
                    p -= 0.1 * Tensor(p.grad)
                    p.grad = None
            return loss
        return flat, step
    pe, fe = make()
    pj, fj = make()
    jf = ag.jit(fj)
    data = _xent_data(dtype, 4)
    tol = TOL[dtype]
    with K.forced("numba"):
        for x, y in data[:3]:
            y = y % 2
            _assert_close(jf(x, y), fe(Tensor(x), Tensor(y)).data, tol)
    prog = _entry(jf).program
    assert set(i.op for i in prog.instrs) == {"load", "fused"}, prog
    body = [b for i in prog.instrs if i.op == "fused" for b in i.info["body"]]
    assert any(b.info.get("whole_step") == "gradient sum" for b in body)
    flat = type(prog)()
    flat.slots, flat.inputs, flat.outputs = prog.slots, prog.inputs, prog.outputs
    flat.out_spec, flat.out_kinds = prog.out_spec, prog.out_kinds
    flat.instrs = [b for i in prog.instrs for b in (i.info["body"] if i.op == "fused" else [i])]
    replay = flat.lower(backend=lambda p: p, fold=False)
    assert replay.program.guard is None
    x, y = data[3]
    y = y % 2
    got = replay.run([x, y])
    _assert_close(got[0], fe(Tensor(x), Tensor(y)).data, tol)
    for a, b in zip(pe, pj):
        _assert_close(b.data, a.data, tol)
        assert b.grad is None
