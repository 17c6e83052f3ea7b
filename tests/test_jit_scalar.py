"""The scalar compiler (autograd/jit/scalar.py) and its tape kernel (autograd/kernels/tape.py):
compiled calls equal eager Value calls (float64, 1e-12), updates of captured parameters are
part of the program, retracing, and the eager fallback with one warning."""
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag
from autograd import Value, kernels as K
from autograd.jit.scalar import compile_scalar
from autograd.kernels.tape import OPS, Tape, run_tape, run_tape_np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGE = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, 0.5, 1e308, -1e-300, math.inf, -math.inf, math.nan]


def close(a, b):
    """Equal to 1e-12 relative (nan where the other is nan, infs equal)."""
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12, atol=0,
                               equal_nan=True)


# ----------------------------------------------------------------------------- the tape kernel
@st.composite
def tapes(draw):
    n = draw(st.integers(2, 12))
    vals = draw(st.lists(st.one_of(st.sampled_from(EDGE), st.floats(-5, 5)), min_size=n,
                         max_size=n))
    rows = []
    for _ in range(draw(st.integers(1, 30))):
        op = draw(st.sampled_from(sorted(OPS)))
        d, x, y, z = (draw(st.integers(0, n - 1)) for _ in range(4))
        if op == "ZERO":
            x, y = sorted((x, y))
        rows.append((OPS[op], d, x, y, z))
    return Tape(np.array(rows), n), np.array(vals, dtype=np.float64)


@settings(deadline=None)
@given(tapes())
def test_tape_kernel_equals_its_twin(tb):
    pytest.importorskip("numba")
    tape, buf = tb
    a, b = buf.copy(), buf.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with K.forced("numba"):
            run_tape(tape, a)
        run_tape_np(tape, b)
    close(a, b)


def test_tape_refuses_bad_programs_and_buffers():
    with pytest.raises(ag.IndexOutOfRangeError, match="slot indices"):
        Tape(np.array([[OPS["ADD"], 0, 1, 5, 0]]), 3)
    with pytest.raises(ag.IndexOutOfRangeError, match="instruction codes"):
        Tape(np.array([[99, 0, 0, 0, 0]]), 3)
    with pytest.raises(ag.IndexOutOfRangeError, match="ZERO"):
        Tape(np.array([[OPS["ZERO"], 0, 2, 1, 0]]), 3)
    t = Tape(np.array([[OPS["ADD"], 0, 1, 2, 0]]), 3)
    with pytest.raises(ag.ShapeError, match="needs 3"):
        run_tape(t, np.zeros(2))
    with pytest.raises(ag.DTypeError, match="float64"):
        run_tape(t, np.zeros(3, np.float32))
    buf = np.array([0.0, 1.5, 2.0])
    run_tape(t, buf)
    assert buf[0] == 3.5


# ----------------------------------------------------------------------------- equality to eager
UNARY = ["neg", "relu", "tanh", "exp", "log", "sigmoid"]
BINARY = ["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv", "pow"]


def _apply(name, a, b):
    if name == "neg":
        return -a
    if name in UNARY:
        return getattr(a, name)()
    return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
            "div": lambda: a / b, "pow": lambda: a ** b, "radd": lambda: b + a,
            "rsub": lambda: b - a, "rmul": lambda: b * a, "rdiv": lambda: b / a}[name]()


@st.composite
def programs(draw):
    """A random scalar program: ops on params, a float argument and earlier results."""
    n_par = draw(st.integers(1, 4))
    pars = draw(st.lists(st.floats(-2, 2), min_size=n_par, max_size=n_par))
    steps = []
    for i in range(draw(st.integers(1, 14))):
        op = draw(st.sampled_from(UNARY + BINARY))
        a = draw(st.integers(0, n_par + i))          # param, the argument, or an earlier result
        if op == "pow":
            b = draw(st.sampled_from([2.0, 3.0, 0.5, -1.0, 0.0]))
        elif op in BINARY and draw(st.booleans()):
            b = draw(st.integers(0, n_par + i))
        else:
            b = draw(st.floats(-2, 2))
        steps.append((op, a, b))
    zero = draw(st.sampled_from(["none", "zero", "keep"]))
    return pars, steps, zero


def _make(pars, steps, zero):
    ps = [Value(x) for x in pars]

    def f(x, lr):
        nodes = ps + [x]
        for op, a, b in steps:
            bb = nodes[b] if isinstance(b, int) else b
            nodes.append(_apply(op, nodes[a], bb))
        if zero == "none":
            for p in ps:
                p.grad = None
        elif zero == "zero":
            for p in ps:
                p.grad = 0.0
        loss = nodes[-1] * 1.0 + sum(p * p for p in ps) * 1e-3
        loss.backward()
        for p in ps:
            if p.grad is not None:
                p.data -= lr * p.grad
        return loss, [p.data for p in ps]
    return ps, f


def _state(ps):
    return [p._v for p in ps], [np.nan if p.grad is None else float(p.grad) for p in ps]


@settings(deadline=None, max_examples=40)
@given(programs(), st.sampled_from(["numba", "numpy"]))
def test_compiled_calls_equal_eager_calls(prog, mode):
    if mode == "numba":
        pytest.importorskip("numba")
    pars, steps, zero = prog
    pe, fe = _make(pars, steps, zero)
    pj, fj = _make(pars, steps, zero)
    cf = compile_scalar(fj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with K.forced(mode):
            for k, (x, lr) in enumerate([(0.7, 0.1), (-1.3, 0.05), (0.2, 0.2), (1.1, 0.1)]):
                le, de = fe(Value(x, requires_grad=False), lr)
                lj, dj = cf(Value(x, requires_grad=False), lr)
                close(float(le._v), float(lj._v))
                close([float(d) for d in de], [float(d._v) for d in dj])
                for a, b in zip(_state(pe), _state(pj)):
                    close(a, b)
    assert cf.trace_count <= 2          # "keep": gradients None on the first call only


# ----------------------------------------------------------------------------- the demo step
def _mlp(seed=0, points=6):
    rng = np.random.default_rng(seed)
    sizes = [2, 4, 4, 1]
    layers = [[([Value(float(w)) for w in rng.uniform(-1, 1, i)], Value(0.0)) for _ in range(o)]
              for i, o in zip(sizes[:-1], sizes[1:])]
    xs = rng.standard_normal((points, 2)).tolist()
    ys = [1.0 if r[0] > 0 else -1.0 for r in xs]
    flat = [v for layer in layers for ws, b in layer for v in ws + [b]]

    def step(lr):
        for p in flat:
            p.grad = None
        losses = []
        for row, y in zip(xs, ys):
            h = row
            for li, layer in enumerate(layers):
                h = [sum((w * x for w, x in zip(ws, h)), b) for ws, b in layer]
                if li < len(layers) - 1:
                    h = [v.relu() for v in h]
            losses.append((1 - y * h[0]).relu())
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in flat)
        total.backward()
        for p in flat:
            p.data -= lr * p.grad
        return total
    return flat, step


@pytest.mark.parametrize("mode", ["numba", "numpy"])
def test_the_micrograd_demo_step_compiles_and_matches(mode):
    if mode == "numba":
        pytest.importorskip("numba")
    fe_flat, fe = _mlp()
    fj_flat, fj = _mlp()
    cf = compile_scalar(fj)
    with K.forced(mode):
        for k in range(4):
            lr = 1.0 - 0.9 * k / 100
            close(fe(lr)._v, cf(lr)._v)
            close([p._v for p in fe_flat], [p._v for p in fj_flat])
            close([float(p.grad) for p in fe_flat], [float(p.grad) for p in fj_flat])
    assert cf.trace_count == 1
    assert all(isinstance(p.grad, np.ndarray) and p.grad.shape == () for p in fj_flat)


# ----------------------------------------------------------------------------- updates, state
def test_inplace_updates_under_no_grad_and_zeroing_with_floats():
    we, wj = Value(0.5), Value(0.5)

    def body(w):
        def f(x):
            w.grad = 0.0
            loss = (w * x - 1.0) ** 2
            loss.backward()
            with ag.no_grad():
                w.__isub__(0.1 * w.grad)
            return loss
        return f
    fe, fj = body(we), compile_scalar(body(wj))
    for x in (1.0, 2.0, 3.0):
        close(fe(x)._v, fj(x)._v)
        close(we._v, wj._v)
        close(float(we.grad), float(wj.grad))
    assert fj.trace_count == 1 and wj._version == we._version


def test_gradients_accumulate_across_calls_when_not_zeroed():
    we, wj = Value(1.5), Value(1.5)

    def body(w):
        def f():
            (w * w).backward()
            return w.grad
        return f
    fe, fj = body(we), compile_scalar(body(wj))
    for _ in range(4):
        close(float(fe()), fj()._v)
        close(float(we.grad), float(wj.grad))
    assert fj.trace_count == 2          # first call: no gradient yet; then one accumulating
    wj.grad = None                      # back to the first state: its program again
    close(fj()._v, 3.0)
    assert fj.trace_count == 2


def test_value_arguments_are_traced_and_written_back():
    def f(a, b):
        c = a * b + a.exp()
        c.backward()
        with ag.no_grad():
            a.data = a.data - 0.5 * a.grad
        return c
    cf = compile_scalar(f)
    for x in (0.3, -1.0, 2.0):
        ae, be = Value(x), Value(2 * x)
        aj, bj = Value(x), Value(2 * x)
        close(f(ae, be)._v, cf(aj, bj)._v)
        close([ae._v, float(ae.grad), float(be.grad)], [aj._v, float(aj.grad), float(bj.grad)])
    assert cf.trace_count == 1
    out = cf(Value(1.0), Value(2.0))
    assert isinstance(out, Value) and not out.requires_grad and out._op is None


def test_requires_grad_change_retraces():
    w = Value(2.0)

    def f(x):
        w.grad = None
        y = w * x
        y.backward()
        return y, w.grad
    cf = compile_scalar(f)
    y, g = cf(3.0)
    assert g._v == 3.0
    w.requires_grad = False
    with pytest.raises(ag.AutogradError):
        cf(3.0)                         # eager raises: nothing requires grad
    assert cf.trace_count == 2


def test_edge_values_match_eager():
    def f(a, b):
        return [a / b, (a - a).log(), b ** -1.0, (a * 1e200).exp(), a ** 0.5, (a * 0.0).relu(),
                (-a).sigmoid(), a.tanh()]
    cf = compile_scalar(f)
    with np.errstate(all="ignore"):
        for a, b in [(1.0, 0.0), (-2.0, 0.0), (0.0, 0.0), (-4.0, -0.0), (3.0, 2.0)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                e = f(Value(a), Value(b))
                j = cf(Value(a), Value(b))
            close([v._v for v in e], [v._v for v in j])


# ----------------------------------------------------------------------------- signatures
def test_retrace_per_signature_and_static_arguments():
    w = Value(1.5)

    def f(x, n, flag):
        y = w
        for _ in range(n):
            y = y * x
        return y + 1.0 if flag else y
    cf = compile_scalar(f, static_argnums=(2,))
    close(cf(2.0, 2, True)._v, 1.5 * 4 + 1)
    close(cf(3.0, 2, True)._v, 1.5 * 9 + 1)
    assert cf.trace_count == 1
    close(cf(3.0, 3, True)._v, 1.5 * 27 + 1)          # int: static by value
    close(cf(3.0, 3, False)._v, 1.5 * 27)
    assert cf.trace_count == 3
    close(cf(Value(2.0), 2, False)._v, 6.0)           # a Value where a float was: new signature
    assert cf.trace_count == 4
    with pytest.raises(ag.ArgumentTypeError, match="static_argnums 5"):
        compile_scalar(f, static_argnums=5)(1.0, 1, True)


# ----------------------------------------------------------------------------- fallback
@pytest.mark.parametrize("body", [
    lambda w, x: w * x if float(w * x) > 0 else -w,               # float() of a Value
    lambda w, x: w * x if (w * x) > 0 else -w,                    # Python control flow
    lambda w, x: ag.sin(w * x),                                   # another primitive
    lambda w, x: w * ag.Tensor(np.array(x)),                      # mixing with tensors
])
def test_untraceable_functions_run_eagerly_with_one_warning(body):
    we, wj = Value(0.7), Value(0.7)

    def mk(w):
        def f(x):
            w.grad = None
            y = body(w, x)
            y.backward()
            with ag.no_grad():
                w.data -= 0.1 * w.grad
            return y
        return f
    fe, fj = mk(we), compile_scalar(mk(wj))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for x in (1.0, -2.0, 3.0):
            close(float(fe(x)._data), float(fj(x)._data))
            close(we._v, wj._v)
    msgs = [str(r.message) for r in rec if "runs eagerly" in str(r.message)]
    assert len(msgs) == 1 and "test_jit_scalar.py" in msgs[0], msgs
    assert fj.trace_count == 1


def test_backward_into_a_graph_built_outside_falls_back():
    w = Value(2.0)
    c = w * 3.0                         # made before the call, requires grad

    def f(x):
        y = c * x
        y.backward()
        return y
    cf = compile_scalar(f)
    with pytest.warns(RuntimeWarning, match="computed before the call"):
        cf(1.0)
    cf(1.0)
    close(float(w.grad), 6.0)           # both calls reached w, eagerly


def test_nested_compiled_functions_inline():
    w = Value(1.0)
    inner = compile_scalar(lambda x: w * x)
    outer = compile_scalar(lambda x: inner(x) + inner(2.0 * x))
    close(outer(1.0)._v, 3.0)
    close(outer(2.0)._v, 6.0)
    assert outer.trace_count == 1 and inner.trace_count == 0


# ----------------------------------------------------------------------------- laziness
def test_numba_is_not_imported_until_a_tape_runs():
    code = ("import sys, autograd, autograd.jit.scalar as s\n"
            "from autograd import Value\n"
            "assert 'numba' not in sys.modules\n"
            "f = s.compile_scalar(lambda x: x * x + 1.0)\n"
            "f(2.0)\n"
            "assert 'numba' not in sys.modules   # the trace call is eager\n"
            "print(f(3.0)._v)\n")
    env = dict(os.environ, PYTHONPATH=ROOT, AUTOGRAD_KERNELS="numpy")
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "10.0"


# ----------------------------------------------------------------------------- through autograd.jit
def test_autograd_jit_dispatches_functions_of_values():
    fe_flat, fe = _mlp(seed=1, points=4)
    fj_flat, fj = _mlp(seed=1, points=4)
    jf = ag.jit(fj)                      # float argument only: the Values are captured
    for k in range(4):
        close(fe(0.5)._v, jf(0.5)._v)
        close([p._v for p in fe_flat], [p._v for p in fj_flat])
    assert jf.trace_count == 1
    assert jf._scalar.programs(), "the scalar compiler took the calls"

    def g(a, b):
        return (a * b).tanh() + a
    jg = ag.jit(g)
    for x in (0.5, -1.0, 2.0):
        close(jg(Value(x), Value(3.0))._v, g(Value(x), Value(3.0))._v)
    assert jg.trace_count == 1
