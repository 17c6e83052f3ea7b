"""Elementwise fusion (autograd/jit/codegen.py, kernels/codegen_compile.py): every generated
kernel equals the numpy replay of the instructions it replaces (float64 1e-12, float32 1e-5
relative), on random chains and on an MLP training step written with elementwise ops."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag
from autograd import Tensor, kernels as K
from autograd.jit import codegen

# generated numba code is this file's subject (tests/conftest.py)
pytestmark = pytest.mark.codegen

pytest.importorskip("numba")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = {"float64": 1e-12, "float32": 1e-5}


def _programs(f, args):
    """(the traced program unfused, the same program with fusion forced on)."""
    j = ag.jit(f, validate=False)
    with K.forced("numpy"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j(*args)
    e = next(iter(j.cache.d.values()))
    assert e.exe is not None, j.fallbacks
    prog = e.exe.program
    assert not any(i.op == "fused" for i in prog.instrs)
    return prog


def _compare(prog, args, dtype, expect_fused=True, bounds=None):
    """Fused against replay: equal to ``TOL`` relative, or, where ``bounds`` (one array per
    output, None: rtol alone) is given, within that many units of absolute difference."""
    replay = prog.lower(backend=lambda p: p)
    fused = prog.lower(backend=lambda p: codegen.fuse_elementwise(p, min_size=0))
    n = sum(i.op == "fused" for i in fused.program.instrs)
    if expect_fused:
        assert n >= 1
    for _ in range(2):                   # buffers reused on the second run
        with np.errstate(all="ignore"):
            a = replay.run(list(args))
            b = fused.run(list(args))
        for k, (x, y) in enumerate(zip(a, b)):
            x, y = np.asarray(x, float), np.asarray(y, float)
            if bounds is not None:
                with np.errstate(all="ignore"):
                    near = np.abs(y - x) <= bounds[k]
                    near |= ~np.isfinite(bounds[k])     # a blow-up in the chain: no bound
                y = np.where(near, x, y)
            np.testing.assert_allclose(y, x, rtol=TOL[dtype], atol=0, equal_nan=True)
    return n


#: The chain ops in numpy float64, with the magnitude of their derivative(s) (first order)
_F64 = {"exp": (np.exp, lambda v: np.exp(v)), "log": (np.log, lambda v: 1 / np.abs(v)),
        "sqrt": (np.sqrt, lambda v: 0.5 / np.sqrt(v)),
        "tanh": (np.tanh, lambda v: 1 - np.tanh(v) ** 2),
        "sin": (np.sin, lambda v: np.abs(np.cos(v))), "cos": (np.cos, lambda v: np.abs(np.sin(v))),
        "abs": (np.abs, lambda v: 1.0), "relu": (lambda v: np.maximum(v, 0), lambda v: 1.0),
        "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), lambda v: 0.25),
        "negative": (np.negative, lambda v: 1.0)}


def _chain_bounds(steps, x, y, bias, dtype):
    """How far the fused kernel and the replay may differ on the chain's two outputs, to
    first order: each op may round its result differently by a few units in the last place
    (numba's libm and numpy's SIMD functions differ by an ulp or two), and each op passes
    the difference it receives on, scaled by its derivative (log near 1 turns one ulp of
    its argument into 1e-5 of its result in float32, a subtraction that cancels loses all
    relative accuracy).  Twice the propagated bound, doubled again for the first-order
    neglect; a wrong kernel is off by far more."""
    u = 4 * np.finfo(dtype).eps
    with np.errstate(all="ignore"):
        v = [x.astype(float), y.astype(float), x.astype(float) + bias.astype(float)]
        e = [np.zeros(x.shape), np.zeros(x.shape), u * np.abs(v[2])]
        for op, a, b in steps:
            if b is None:
                f, d = _F64[op]
                r = f(v[a])
                err = np.abs(d(v[a])) * e[a] + u * np.abs(r)
            else:
                p, q = v[a], (v[b] if isinstance(b, int) else float(b))
                ep, eq = e[a], (e[b] if isinstance(b, int) else 0.0)
                if op in ("add", "subtract"):
                    r = p + q if op == "add" else p - q
                    err = ep + eq
                elif op == "multiply":
                    r = p * q
                    err = np.abs(q) * ep + np.abs(p) * eq
                elif op == "divide":
                    r = p / q
                    err = ep / np.abs(q) + np.abs(p) * eq / q ** 2
                else:
                    r = np.maximum(p, q) if op == "maximum" else np.minimum(p, q)
                    err = np.maximum(ep, eq)
                err = err + u * np.abs(r)
            v.append(r)
            e.append(np.where(np.isnan(err), np.inf, err))
    return [4 * e[-1], 4 * e[-2]]


UN = ["exp", "log", "sqrt", "tanh", "sin", "cos", "abs", "relu", "sigmoid", "negative"]
BIN = ["add", "subtract", "multiply", "divide", "maximum", "minimum"]


@st.composite
def chains(draw):
    steps = []
    for i in range(draw(st.integers(2, 8))):
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(UN)), draw(st.integers(0, 2 + i)), None))
        else:
            other = draw(st.one_of(st.integers(0, 2 + i), st.sampled_from([0.5, -2.0, 3.0])))
            steps.append((draw(st.sampled_from(BIN)), draw(st.integers(0, 2 + i)), other))
    return steps


@settings(deadline=None, max_examples=15)
@given(chains(), st.sampled_from(["float64", "float32"]), st.sampled_from([(5, 3), (2, 4, 3)]))
def test_fused_random_chains_equal_the_replay(steps, dtype, shape):
    _check_chain(steps, dtype, shape)


def _check_chain(steps, dtype, shape):
    rng = np.random.default_rng(len(steps))
    x = rng.uniform(-2, 2, shape).astype(dtype)
    y = rng.uniform(-2, 2, shape).astype(dtype)
    bias = rng.uniform(-2, 2, shape[-1:]).astype(dtype)

    def f(x, y, bias):
        vals = [x, y, x + bias]
        for op, a, b in steps:
            if b is None:
                vals.append(getattr(ag, op)(vals[a]))
            else:
                vals.append(getattr(ag, op)(vals[a], vals[b] if isinstance(b, int) else b))
        return vals[-1], vals[-2]
    bounds = _chain_bounds(steps, x, y, bias, dtype)
    _compare(_programs(f, (x, y, bias)), (x, y, bias), dtype, bounds=bounds)
    return x, y, bias, bounds


def test_chain_bound_covers_log_near_one_and_stays_tight():
    # the flake scan's seed 19: log(tanh(x + b)) with tanh(.) = 0.9957 in float32; one ulp
    # of tanh between numba and numpy is 1.4e-5 of the log, over rtol 1e-5 alone
    steps = [("add", 0, 0), ("tanh", 2, None), ("exp", 0, None), ("add", 0, 0),
             ("add", 0, 0), ("exp", 0, None), ("log", 4, None)]
    x, y, bias, bounds = _check_chain(steps, "float32", (2, 4, 3))
    t = np.tanh(x.astype(float) + bias)
    with np.errstate(invalid="ignore"):
        out = np.log(t)
    ok = np.isfinite(out)
    # the bound admits two ulps of tanh (eps / 2 each below 1) passed through log (/ t) ...
    assert np.all(bounds[0][ok] >= np.finfo(np.float32).eps / t[ok])
    # ... and stays far below what a wrong kernel would miss by
    assert np.all(bounds[0][ok] < 1e-4 * np.maximum(1, np.abs(out[ok])))
    assert np.all(bounds[1] < 1e-4 * np.maximum(1, np.abs(np.exp(x.astype(float)))))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_mlp_step_equals_replay_and_eager(dtype):
    rng = np.random.default_rng(0)
    sizes = [4, 16, 16, 3]
    x = rng.standard_normal((32, 4)).astype(dtype)
    y = rng.integers(0, 3, 32)

    def make():
        return [(Tensor(rng2.standard_normal((i, o)).astype(dtype) * 0.5, requires_grad=True),
                 Tensor(np.zeros(o, dtype), requires_grad=True))
                for i, o in zip(sizes[:-1], sizes[1:])]

    def step_of(ps):
        def step(x, y):
            h = x
            for i, (W, b) in enumerate(ps):
                h = h @ W + b
                if i < len(ps) - 1:
                    h = ag.relu(h) * 1.0 + ag.tanh(h) * 0.1
            loss = ag.softmax_cross_entropy(h, y)
            loss.backward()
            with ag.no_grad():
                for W, b in ps:
                    for p in (W, b):
                        p -= 0.1 * Tensor(p.grad)
                        p.grad = None
            return loss
        return step
    rng2 = np.random.default_rng(1)
    pe = make()
    rng2 = np.random.default_rng(1)
    pj = make()
    eager, jitted = step_of(pe), ag.jit(step_of(pj))
    with K.forced("numba"):
        for _ in range(4):
            le, lj = eager(x, y), jitted(x, y)
            np.testing.assert_allclose(np.asarray(lj), le.data, rtol=TOL[dtype])
    e = next(iter(jitted.cache.d.values()))
    assert any(i.op == "fused" for i in e.exe.program.instrs), e.exe.program
    for (a, b), (c, d) in zip(pe, pj):
        np.testing.assert_allclose(c.data, a.data, rtol=TOL[dtype], atol=TOL[dtype] * 1e-2)
        np.testing.assert_allclose(d.data, b.data, rtol=TOL[dtype], atol=TOL[dtype] * 1e-2)
    # and the lowered program fused vs the same program replayed by numpy
    prog = e.exe.program
    unfused = type(prog)()
    unfused.slots, unfused.inputs, unfused.outputs = prog.slots, prog.inputs, prog.outputs
    unfused.out_spec, unfused.out_kinds = prog.out_spec, prog.out_kinds
    unfused.instrs = [b for i in prog.instrs for b in (i.info["body"] if i.op == "fused" else [i])]
    assert len(unfused.instrs) > len(prog.instrs)


def test_numpy_mode_keeps_the_replay():
    x = np.ones((200, 200))
    f = ag.jit(lambda x: ag.exp(x * 2.0 + 1.0) - x)
    with K.forced("numpy"):
        for _ in range(3):
            f(x)
    e = next(iter(f.cache.d.values()))
    assert not any(i.op == "fused" for i in e.exe.program.instrs)
    g = ag.jit(lambda x: ag.exp(x * 2.0 + 1.0) - x)
    with K.forced("numba"):
        for _ in range(3):
            out = g(x)
    e = next(iter(g.cache.d.values()))
    assert any(i.op == "fused" for i in e.exe.program.instrs)
    np.testing.assert_allclose(out, np.exp(x * 2.0 + 1.0) - x, rtol=1e-12)


def test_disabled_keeps_the_replay_and_only_inside_the_block():
    # the suite's switch (tests/conftest.py): inside codegen.disabled() a program lowers to
    # the numpy replay even with numba kernels forced; after the block, generated code again
    x = np.ones((200, 200))

    def lowered(fn):
        e = next(iter(fn.cache.d.values()))
        return any(i.op == "fused" for i in e.exe.program.instrs)
    f = ag.jit(lambda x: ag.exp(x * 2.0 + 1.0) - x)
    with K.forced("numba"), codegen.disabled():
        with codegen.disabled():            # nested: still off after the inner block
            pass
        for _ in range(3):
            got = f(x)
    assert not lowered(f)
    np.testing.assert_allclose(got, np.exp(x * 2.0 + 1.0) - x, rtol=1e-12)
    g = ag.jit(lambda x: ag.exp(x * 2.0 + 1.0) - x)
    with K.forced("numba"):
        for _ in range(3):
            g(x)
    assert lowered(g)


def test_groups_respect_shape_dtype_and_broadcasting():
    x = np.ones((8, 3))
    prog = _programs(lambda x, v: ag.exp(x + v) * 2.0 + ag.sum(x) * x.T.T, (x, np.ones(3)))
    runs = codegen.groups(prog, min_size=0)
    assert runs and all(e - s >= codegen.MIN_GROUP for s, e in runs)
    for s, e in runs:
        shapes = {tuple(prog.slots[i.outs[0]].shape) for i in prog.instrs[s:e]}
        assert shapes == {(8, 3)}


def test_kernels_are_cached_on_disk_across_processes(tmp_path):
    code = ("import numpy as np, autograd as ag, warnings\n"
            "from autograd import kernels as K\n"
            "f = ag.jit(lambda x: ag.tanh(x * 3.0 + 1.0) * x)\n"
            "with K.forced('numba'):\n"
            "    for _ in range(3): out = f(np.linspace(-1, 1, 6).reshape(2, 3))\n"
            "print(np.allclose(out, np.tanh(np.linspace(-1, 1, 6).reshape(2, 3) * 3 + 1) * "
            "np.linspace(-1, 1, 6).reshape(2, 3)))\n")
    env = dict(os.environ, PYTHONPATH=ROOT, AUTOGRAD_JIT_CACHE=str(tmp_path))
    # numba writes its index beside the source unless NUMBA_CACHE_DIR redirects it (a fresh
    # machine's run with that variable set failed the .nbi check below)
    env.pop("NUMBA_CACHE_DIR", None)
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        assert p.stdout.strip() == "True"
    files = os.listdir(tmp_path)
    assert sum(f.startswith("fused_") and f.endswith(".py") for f in files) == 1
    assert any(f.endswith(".nbi") for _, _, fs in os.walk(tmp_path) for f in fs)


def test_import_autograd_and_jit_do_not_import_numba():
    code = ("import sys, autograd, autograd.jit, autograd.jit.codegen, autograd.jit.scalar\n"
            "assert 'numba' not in sys.modules, 'numba imported'\n")
    p = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=ROOT),
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]


# ----------------------------------------------------------------------------- whole segments
def _mlp_step(sizes, acts, dtype, seed=0):
    rng = np.random.default_rng(seed)
    ps = [(Tensor((rng.standard_normal((i, o)) * 0.5).astype(dtype), requires_grad=True),
           Tensor((rng.standard_normal(o) * 0.1).astype(dtype), requires_grad=True))
          for i, o in zip(sizes[:-1], sizes[1:])]

    def step(x, y):
        h = x
        for (W, b), act in zip(ps, acts):
            h = ag.dense(h, W, b, activation=act)
        loss = ag.softmax_cross_entropy(h, y)
        loss.backward()
        with ag.no_grad():
            for W, b in ps:
                for p in (W, b):
                    p -= 0.05 * Tensor(p.grad)
                    p.grad = None
        return loss
    return ps, step


@pytest.mark.parametrize("dtype, acts", [
    ("float64", ("relu", "relu", None)), ("float32", ("tanh", "sigmoid", "linear")),
    pytest.param("float32", ("relu", "relu", None), marks=pytest.mark.slow),
    pytest.param("float64", ("tanh", "sigmoid", "linear"), marks=pytest.mark.slow),
    pytest.param("float64", ("leaky_relu", None, None), marks=pytest.mark.slow),
    pytest.param("float32", ("leaky_relu", None, None), marks=pytest.mark.slow)])
def test_segment_step_equals_replay_and_eager(dtype, acts):
    sizes = [3, 8, 6, 4]
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((16, 3)).astype(dtype) for _ in range(4)]
    ys = [rng.integers(0, 4, 16) for _ in range(4)]
    pe, fe = _mlp_step(sizes, acts, dtype)
    pj, fj = _mlp_step(sizes, acts, dtype)
    jf = ag.jit(fj)
    with K.forced("auto"):
        for x, y in zip(xs, ys):
            le, lj = fe(x, y), jf(x, y)
            np.testing.assert_allclose(np.asarray(lj), le.data, rtol=TOL[dtype])
    e = next(iter(jf.cache.d.values()))
    fused = [i for i in e.exe.program.instrs if i.op == "fused"]
    # forward, backward and the SGD updates (p -= 0.05 * g): one guarded segment
    # (codegen.whole_step), the parameters' loads around it and nothing else
    assert len(fused) == 1, e.exe.program
    assert [b.op for b in fused[0].info["body"]].count("inplace") == 6
    assert {i.op for i in e.exe.program.instrs} == {"load", "fused"}, e.exe.program
    tol = TOL[dtype]
    for (a, b), (c, d) in zip(pe, pj):
        np.testing.assert_allclose(c.data, a.data, rtol=tol, atol=tol)
        np.testing.assert_allclose(d.data, b.data, rtol=tol, atol=tol)
    # the segment against the numpy replay of the same program, from the same parameters
    prog = e.exe.program
    flat = type(prog)()
    flat.slots, flat.inputs, flat.outputs = prog.slots, prog.inputs, prog.outputs
    flat.out_spec, flat.out_kinds = prog.out_spec, prog.out_kinds
    flat.instrs = [b for i in prog.instrs for b in (i.info["body"] if i.op == "fused" else [i])]
    replay = flat.lower(backend=lambda p: p, fold=False)
    seg = flat.lower(backend=codegen.fuse_segments, fold=False)
    params = [t for wb in pj for t in wb]
    start = [t.data.copy() for t in params]
    results = []
    for exe in (replay, seg):
        for t, s in zip(params, start):
            t._data[...] = s
        out = exe.run([xs[0], ys[0]])
        results.append((np.asarray(out[0]).copy(), [t.data.copy() for t in params]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=tol)
    for a, b in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_segment_name_changes_with_the_kernels_source(monkeypatch):
    # numba caches a segment's machine code, the library kernels it calls included, under
    # the segment's name: a changed autograd/kernels/_jit.py must give another name
    pj, fj = _mlp_step([3, 8, 6, 4], ("relu", "relu", None), "float64")
    jf = ag.jit(fj)
    rng = np.random.default_rng(5)
    with K.forced("auto"):
        for _ in range(3):
            jf(rng.standard_normal((16, 3)), rng.integers(0, 4, 16))
    prog = next(iter(jf.cache.d.values())).exe.program
    body = next(i for i in prog.instrs if i.op == "fused").info["body"]
    needed = set(range(len(prog.slots)))
    src, name = codegen.segment_source(prog, body, needed)[:2]
    with open(os.path.join(os.path.dirname(K.__file__), "_jit.py"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    assert f"kernels {digest}" in src
    monkeypatch.setattr(codegen, "_DIGEST", ["0" * 16])
    src2, name2 = codegen.segment_source(prog, body, needed)[:2]
    assert src2 == src.replace(digest, "0" * 16)
    assert name2 != name


def test_segment_refuses_labels_out_of_range_before_numba():
    ps, f = _mlp_step([2, 4, 3], ("relu", None), "float64")
    jf = ag.jit(f)
    x = np.ones((5, 2))
    for _ in range(3):
        jf(x, np.array([0, 1, 2, 0, 1]))
    assert any(i.op == "fused" for i in next(iter(jf.cache.d.values())).exe.program.instrs)
    with pytest.raises(ag.InvalidValueError, match=r"labels must be in \[0, 3\)"):
        jf(x, np.array([0, 1, 3, 0, 1]))


def test_numpy_mode_keeps_the_segment_replay():
    ps, f = _mlp_step([2, 4, 3], ("relu", None), "float64")
    jf = ag.jit(f)
    with K.forced("numpy"):
        for _ in range(3):
            jf(np.ones((5, 2)), np.array([0, 1, 2, 0, 1]))
    assert not any(i.op == "fused" for i in next(iter(jf.cache.d.values())).exe.program.instrs)


@settings(deadline=None, max_examples=30)
@given(st.lists(st.integers(-3, 12), max_size=20), st.integers(1, 10))
def test_labels_check_kernel_equals_its_twin(labels, n):
    from autograd.kernels import _jit_codegen
    from autograd.kernels.codegen_compile import labels_ok_np
    a = np.array(labels, dtype=np.int64)
    assert _jit_codegen.labels_ok(a, n) == labels_ok_np(a, n) == all(0 <= v < n for v in labels)


def test_tiered_segment_replays_until_hot_then_switches(monkeypatch):
    """Without a build description the HOT_CALLS-th call builds in place and runs the built
    function; a build that raises keeps the replay and records the error."""
    monkeypatch.setattr(codegen, "HOT_CALLS", 3)
    built = []

    def build():
        built.append(1)
        return lambda *v: ("numba",) + v
    t = codegen._Tiered(build, lambda *v: ("replay",) + v)
    assert [t(1)[0] for _ in range(2)] == ["replay"] * 2 and built == []
    assert t(2) == ("numba", 2) and t(3) == ("numba", 3) and built == [1]
    bad = codegen._Tiered(lambda: 1 / 0, lambda *v: "replay")
    assert [bad() for _ in range(5)] == ["replay"] * 5
    assert isinstance(bad.error, ZeroDivisionError)


def test_tiered_build_that_fails_in_its_child_process_keeps_the_replay(monkeypatch):
    """A child build that fails (here: a module that does not exist) leaves the replay in
    place and the child's message in ``error``; what ``build`` imported is not used."""
    monkeypatch.setattr(codegen, "HOT_CALLS", 2)
    spec = {"module": "autograd.kernels._no_such_module", "function": "f", "args": []}
    t = codegen._Tiered(lambda: (lambda *v: "numba"), lambda *v: "replay", lambda vals: spec)
    assert [t(1) for _ in range(3)] == ["replay"] * 3
    assert t.job is not None
    codegen.wait(300)
    assert [t(), t()] == ["replay", "replay"] and t.fn is None
    assert "_no_such_module" in str(t.error)


def test_background_describes_arguments_as_numba_types_them():
    """The child compiles for rebuilt example arguments: their numba types are the real
    arguments' (dtype, ndim, layout, read-only arrays, tuples, Python and numpy scalars)."""
    import numba
    from autograd.kernels import background as B
    ro = np.zeros((3, 4), np.float32)
    ro.flags.writeable = False
    vals = [np.ones((5, 2)), ro, np.arange(3), np.zeros(()), (np.ones(4), np.ones(4)),
            1.5, 2, True, np.float32(1), np.zeros(7, np.float32)[::1]]
    for v in vals:
        assert numba.typeof(B._example(B.describe(v))) == numba.typeof(v), v
    with pytest.raises(TypeError, match="cannot describe"):
        B.describe(object())


@pytest.mark.slow
def test_a_fresh_process_replays_first_and_builds_in_the_background():
    code = ("import sys, time, numpy as np, autograd as ag\n"
            "from autograd.jit import codegen\n"
            "from autograd import Tensor\n"
            "rng = np.random.default_rng(0)\n"
            "W = Tensor(rng.normal(size=(3, 4)), requires_grad=True)\n"
            "b = Tensor(np.zeros(4), requires_grad=True)\n"
            "V = Tensor(rng.normal(size=(4, 2)), requires_grad=True)\n"
            "c = Tensor(np.zeros(2), requires_grad=True)\n"
            "@ag.jit\n"
            "def step(x, y):\n"
            "    loss = ag.softmax_cross_entropy(ag.dense(ag.dense(x, W, b, activation='relu'), V, c), y)\n"
            "    loss.backward()\n"
            "    with ag.no_grad():\n"
            "        for p in (W, b, V, c):\n"
            "            p -= 0.1 * Tensor(p.grad)\n"
            "            p.grad = None\n"
            "    return loss\n"
            "x, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)\n"
            "for _ in range(5): step(x, y)\n"
            "assert 'numba' not in sys.modules, 'numba at the first calls'\n"
            "import threading, warnings\n"
            "entered = []\n"                    # catch_warnings entered by other threads
            "_enter = warnings.catch_warnings.__enter__\n"
            "def enter(self):\n"
            "    if threading.current_thread() is not threading.main_thread():\n"
            "        entered.append(threading.current_thread().name)\n"
            "    return _enter(self)\n"
            "warnings.catch_warnings.__enter__ = enter\n"
            "for _ in range(codegen.HOT_CALLS): step(x, y)\n"
            "fn = [i.fn for i in next(iter(step.cache.d.values())).exe.program.instrs if i.op == 'fused'][0]\n"
            "assert fn.job is not None and fn.fn is None\n"
            "warnings.simplefilter('error', UserWarning)\n"   # set while the child compiles
            "for _ in range(20): step(x, y)\n"
            "codegen.wait(600)\n"
            "step(x, y)\n"
            "st = fn.fn.kernel.stats\n"
            "print(fn.fn is not None, fn.error, sum(st.cache_hits.values()),"
            " sum(st.cache_misses.values()), entered,"
            " warnings.filters[0][:3] == ('error', None, UserWarning))\n")
    d = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONPATH=ROOT, AUTOGRAD_JIT_CACHE=os.path.join(d, "jit"),
               NUMBA_CACHE_DIR=os.path.join(d, "numba"))
    env.pop("AUTOGRAD_KERNELS", None)
    p = subprocess.run([sys.executable, "-c", code], env=env,
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    shutil.rmtree(d, ignore_errors=True)
    assert p.returncode == 0, p.stderr[-2000:]
    # built by the child, loaded here from numba's cache (one hit, no compile in this
    # process), no thread but the main one entered catch_warnings (the import thread
    # only imports), and the filter set meanwhile is still in force
    assert p.stdout.strip() == "True None 1 0 [] True"


# ----------------------------------------------------------------------------- segment forms
def _l2_step(dtype, seed=0):
    """micrograd's tensor step (benchmarks.scalar): MLP 2-16-16-1, hinge + L2 penalty
    (sum of p * p per parameter), backward, ``p -= lr * grad`` with lr a 0-d array input."""
    rng = np.random.default_rng(seed)
    ps = [(Tensor(rng.uniform(-1, 1, (i, o)).astype(dtype), requires_grad=True),
           Tensor((rng.standard_normal(o) * 0.1).astype(dtype), requires_grad=True))
          for i, o in ((2, 16), (16, 16), (16, 1))]
    flat = [t for wb in ps for t in wb]

    def step(x, yv, lr):
        h = x
        for i, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if i < 2 else None)
        data_loss = ag.relu(1.0 - yv * h).mean()
        reg = 1e-4 * sum((p * p).sum() for p in flat)
        total = data_loss + reg
        total.backward()
        with ag.no_grad():
            for p in flat:
                p -= lr * Tensor(p.grad)
                p.grad = None
        return total
    return flat, step


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_l2_penalty_and_update_fuse_and_equal_eager(dtype):
    """The L2 penalty (elementwise squares, full sums, their vjps) joins the forward/backward
    segment, and the 6 in-place updates with a 0-d lr input form one more; parameters and
    losses equal eager at the dtype's tolerance, with the generated code and its replay."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 2)).astype(dtype)
    yv = np.where(rng.standard_normal((20, 1)) > 0, 1.0, -1.0).astype(dtype)
    pe, fe = _l2_step(dtype)
    pj, fj = _l2_step(dtype)
    jf = ag.jit(fj)
    tol = TOL[dtype]
    with K.forced("numba"):
        for k in range(5):
            lr = np.array(0.1 - 0.01 * k, dtype=dtype)
            le, lj = fe(Tensor(x), Tensor(yv), Tensor(lr)), jf(x, yv, lr)
            np.testing.assert_allclose(np.asarray(lj), le.data, rtol=tol)
            for a, b in zip(pe, pj):
                np.testing.assert_allclose(b.data, a.data, rtol=tol, atol=tol)
                assert b.grad is None
    assert not jf.fallbacks
    prog = next(iter(jf.cache.d.values())).exe.program
    fused = [i for i in prog.instrs if i.op == "fused"]
    assert len(fused) == 1, prog                          # codegen.whole_step: one function
    body0 = [b.name for b in fused[0].info["body"]]
    assert body0.count("call:sum") == 6 and body0.count("vjp:sum") == 6, body0
    assert "call:mean" in body0 and "vjp:relu" in body0
    assert [b.op for b in fused[0].info["body"]].count("inplace") == 6
    assert all(f.fn.fn is not None for f in fused)        # built (numba loaded): not replayed
    # no per-instruction elementwise call is left outside the generated functions
    assert not [i for i in prog.instrs if i.op in ("call", "vjp", "inplace")], prog


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_reduction_chain_and_its_gradient_fuse(dtype):
    """sum/mean of an elementwise chain and their vjps in one generated function, equal to
    eager (both dtypes), the 0-d results handed back as 0-d arrays of the dtype."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((7, 5)).astype(dtype)

    def f(x):
        return ag.mean(ag.tanh(x * w) - 0.5) * 3.0 + ag.sum(ag.exp(x) * x)

    g = ag.value_and_grad(f)
    jg = ag.jit(g)
    x = rng.standard_normal((7, 5)).astype(dtype)
    with K.forced("numba"):
        for _ in range(3):
            v, d = jg(x)
    ve, de = g(Tensor(x))
    tol = TOL[dtype]
    assert np.asarray(v).dtype == np.dtype(dtype) and np.asarray(v).shape == ()
    np.testing.assert_allclose(np.asarray(v), ve.data, rtol=tol)
    np.testing.assert_allclose(np.asarray(d), de.data, rtol=tol, atol=tol)
    prog = next(iter(jg.cache.d.values())).exe.program
    names = [b.name for i in prog.instrs if i.op == "fused" for b in i.info["body"]]
    assert {"call:mean", "call:sum", "vjp:mean", "vjp:sum", "vjp:tanh"} - set(names) \
        == {"vjp:tanh"}, names                    # tanh's vjp is not a segment form


def test_pairwise_sum_helper_rounds_as_numpy():
    """The segments' float32 sum is numpy's pairwise summation, bit for bit."""
    rng = np.random.default_rng(5)
    with K.forced("numba"):
        for n in (1, 3, 8, 9, 127, 128, 129, 1000, 4097):
            x = (rng.standard_normal(n) * 10).astype(np.float32)
            jf = ag.jit(lambda a: ag.sum(a * 1.5) + 0.0)
            for _ in range(3):
                got = jf(x)
            assert np.asarray(got) == np.float32(np.sum(x * np.float32(1.5))), n


def test_in_place_write_keeps_eager_order_in_a_segment():
    """A captured tensor read before and after its in-place update in one segment: the
    read before sees the old values, the read after the new ones (eager order); a view of
    it made outside the segment keeps the update out of the generated code."""
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((4, 3))

    def make():
        p = Tensor(p0.copy(), requires_grad=True)

        def f(g, lr):
            nonlocal p
            with ag.no_grad():
                before = ag.sum(p * 3.0)
                p -= lr * g
                after = ag.sum(p * 2.0) + before
                p *= 0.5
                return after + ag.sum(p)
        return p, f

    pe, fe = make()
    pj, fj = make()
    jf = ag.jit(fj)
    g = rng.standard_normal((4, 3))
    with K.forced("numba"):
        for k in range(4):
            lr = np.array(0.1 * (k + 1))
            np.testing.assert_allclose(np.asarray(jf(g, lr)), fe(Tensor(g), Tensor(lr)).data,
                                       rtol=1e-12)
            np.testing.assert_allclose(pj.data, pe.data, rtol=1e-12)
    prog = next(iter(jf.cache.d.values())).exe.program
    fused = [i for i in prog.instrs if i.op == "fused"]
    assert len(fused) == 1 and [b.op for b in fused[0].info["body"]].count("inplace") == 2

    def make_view():
        p = Tensor(p0.copy(), requires_grad=True)

        def f(g):
            nonlocal p
            with ag.no_grad():
                pt = p.T                                   # a view of p's memory
                p -= g
                return ag.sum(pt * 2.0) + ag.sum(p * 1.0)
        return p, f
    pe, fe = make_view()
    pj, fj = make_view()
    jf = ag.jit(fj)
    with K.forced("numba"):
        for _ in range(4):
            np.testing.assert_allclose(np.asarray(jf(g)), fe(Tensor(g)).data, rtol=1e-12)
            np.testing.assert_allclose(pj.data, pe.data, rtol=1e-12)


def test_update_segment_writes_through_a_non_contiguous_parameter():
    """A captured parameter whose memory is not C-contiguous (a transposed array) is updated
    through a copy written back: the tensor's own memory changes, as eager."""
    rng = np.random.default_rng(4)
    base = rng.standard_normal((3, 5))
    pe = Tensor(base.T.copy(), requires_grad=True)
    pj = Tensor(base.copy().T, requires_grad=True)      # Fortran-ordered memory
    assert not pj._data.flags.c_contiguous

    def make(p):
        def f(g, lr):
            nonlocal p
            with ag.no_grad():
                p -= lr * g
                p -= lr * g * 0.5
            return ag.sum(p * 1.0)
        return f
    jf, fe = ag.jit(make(pj)), make(pe)
    g = rng.standard_normal((5, 3))
    with K.forced("numba"):
        for _ in range(4):
            lr = np.array(0.2)
            np.testing.assert_allclose(np.asarray(jf(g, lr)), fe(Tensor(g), Tensor(lr)).data,
                                       rtol=1e-12)
    np.testing.assert_allclose(pj.data, pe.data, rtol=1e-12)
    prog = next(iter(jf.cache.d.values())).exe.program
    assert any(b.op == "inplace" for i in prog.instrs if i.op == "fused" for b in i.info["body"])
