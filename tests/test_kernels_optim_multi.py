"""``autograd.kernels.optim_multi``: the multi-tensor optimizer kernels (numba forms forced)
against their numpy twins and against the per-parameter kernels, the finite check (nothing
changes when one gradient holds an inf or NaN), ``checked=True`` on prepared 1-d tuples, and
the argument checks before any kernel runs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import kernels as K
from autograd.kernels import optim_multi as M

KINDS = ["sgd", "sgd_momentum", "nesterov", "adam", "adamw", "rmsprop"]


@st.composite
def param_sets(draw):
    dt = np.dtype(draw(st.sampled_from([np.float32, np.float64])))
    shapes = draw(st.lists(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=6),
                           min_size=1, max_size=4))
    el = st.floats(-3, 3, width=32, allow_nan=False)
    arr = lambda s: draw(hnp.arrays(dt, s, elements=el))
    ps = tuple(arr(s) for s in shapes)
    gs = tuple(arr(s) for s in shapes)
    ms = tuple(arr(s) for s in shapes)
    vs = tuple(np.asarray(np.abs(arr(s))) for s in shapes)
    return ps, gs, ms, vs


def _multi(kind, ps, gs, ms, vs, check=False):
    if kind == "sgd":
        return M.sgd_update_all(ps, gs, None, 0.1, weight_decay=0.01, check=check)
    if kind == "sgd_momentum":
        return M.sgd_update_all(ps, gs, ms, 0.1, momentum=0.9, check=check)
    if kind == "nesterov":
        return M.sgd_update_all(ps, gs, ms, 0.1, 0.9, True, 0.01, check=check)
    if kind in ("adam", "adamw"):
        return M.adam_update_all(ps, gs, ms, vs, 3, 0.01, 0.9, 0.999, 1e-7, 0.01,
                                 kind == "adamw", check=check)
    return M.rmsprop_update_all(ps, gs, vs, 0.01, 0.9, 1e-7, 0.01, check=check)


def _single(kind, ps, gs, ms, vs):
    """The per-parameter kernels (numpy twins), one parameter at a time."""
    for p, g, m, v in zip(ps, gs, ms, vs):
        if kind == "sgd":
            K.sgd_update_np(p, g, None, 0.1, 0.0, False, 0.01)
        elif kind == "sgd_momentum":
            K.sgd_update_np(p, g, m, 0.1, 0.9, False, 0.0)
        elif kind == "nesterov":
            K.sgd_update_np(p, g, m, 0.1, 0.9, True, 0.01)
        elif kind in ("adam", "adamw"):
            K.adam_update_np(p, g, m, v, 3, 0.01, 0.9, 0.999, 1e-7, 0.01, kind == "adamw")
        else:
            K.rmsprop_update_np(p, g, v, 0.01, 0.9, 1e-7, 0.01)


def _copy(t):
    return tuple(a.copy() for a in t)


@settings(max_examples=25, deadline=None)
@given(param_sets(), st.sampled_from(KINDS))
def test_multi_updates_match_twins_and_single_kernels(sets, kind):
    ps, gs, ms, vs = sets
    out = []
    for mode in ("numba", "numpy"):
        p, m, v = _copy(ps), _copy(ms), _copy(vs)
        with K.forced(mode):
            assert _multi(kind, p, gs, m, v) is True
            assert _multi(kind, p, gs, m, v, check=True) is True
        out.append((p, m, v))
    p, m, v = _copy(ps), _copy(ms), _copy(vs)
    _single(kind, p, gs, m, v)
    _single(kind, p, gs, m, v)
    out.append((p, m, v))
    for other in out[1:]:
        for ta, tb in zip(out[0], other):
            for a, b in zip(ta, tb):
                np.testing.assert_array_equal(a, b)     # the same bits (see test_kernels)


@pytest.mark.parametrize("mode", ["numba", "numpy"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_gradient_changes_nothing(mode, kind, bad):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2)]
    ps = tuple(rng.normal(size=s) for s in shapes)
    gs = tuple(rng.normal(size=s) for s in shapes)
    gs[2][1, 0] = bad                       # the last gradient: the first ones are unchanged too
    ms, vs = tuple(np.ones(s) for s in shapes), tuple(np.ones(s) for s in shapes)
    before = [_copy(t) for t in (ps, ms, vs)]
    with K.forced(mode):
        assert M.all_finite(gs) is False
        assert _multi(kind, ps, gs, ms, vs, check=True) is False
    for t0, t in zip(before, (ps, ms, vs)):
        for a0, a in zip(t0, t):
            np.testing.assert_array_equal(a, a0)
    with K.forced(mode):
        assert M.all_finite(tuple(np.ones(s) for s in shapes)) is True


def test_checked_takes_prepared_flat_tuples():
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (4,)]
    ps = tuple(rng.normal(size=s).astype(np.float32) for s in shapes)
    gs = tuple(rng.normal(size=s).astype(np.float32) for s in shapes)
    ms = tuple(np.zeros(s, np.float32) for s in shapes)
    vs = tuple(np.zeros(s, np.float32) for s in shapes)
    ref = [_copy(t) for t in (ps, ms, vs)]
    _single("adam", *[ref[0], gs, ref[1], ref[2]])
    M.check_arrays("adam_update_all", ps, gs, ms, vs, writable=ps + ms + vs)
    flat = lambda t: tuple(a.reshape(-1) for a in t)
    with K.forced("numba"):
        assert M.adam_update_all(flat(ps), flat(gs), flat(ms), flat(vs), 3, 0.01, 0.9, 0.999,
                                 1e-7, 0.01, False, check=True, checked=True)
    for t0, t in zip(ref, (ps, ms, vs)):
        for a0, a in zip(t0, t):
            np.testing.assert_array_equal(a, a0)


@pytest.mark.parametrize("mode", ["numba", "numpy"])
def test_bad_arguments_are_refused_before_any_kernel(mode):
    p = (np.zeros((2, 3)), np.zeros(3))
    g = (np.zeros((2, 3)), np.zeros(3))
    with K.forced(mode):
        with pytest.raises(ag.ShapeError, match="sgd_update_all: array 1 has shape"):
            M.sgd_update_all(p, (np.zeros((2, 3)), np.zeros(4)), None, 0.1)
        with pytest.raises(ag.DTypeError, match="adam_update_all: array 0 is float32"):
            M.adam_update_all(p, (g[0].astype(np.float32), g[1]), p, p, 1, 0.1, 0.9, 0.9, 1e-7)
        with pytest.raises(ag.DTypeError, match="float32 or float64"):
            M.all_finite((np.zeros(3, np.int64),))
        with pytest.raises(ag.ShapeError, match="holds 2 arrays"):
            M.rmsprop_update_all(p, g, (np.zeros((2, 3)),), 0.1, 0.9, 1e-7)
        with pytest.raises(ag.ShapeError, match="not C-contiguous"):
            M.sgd_update_all((np.zeros((3, 2)).T,), (np.zeros((2, 3)),), None, 0.1)
        ro = np.zeros(3)
        ro.flags.writeable = False
        with pytest.raises(ag.ShapeError, match="read-only"):
            M.sgd_update_all((ro,), (np.zeros(3),), None, 0.1)
    assert all((a == 0).all() for a in p)


def test_auto_mode_builds_the_numba_form_in_a_child_process_and_then_takes_it():
    """Under ``auto`` a signature runs its numpy twin for HOT_CALLS calls, then a child process
    builds its numba form (no thread of this process compiles); ``codegen.wait()`` loads it
    here, and the next call runs it with the twin's numbers (float64: the same)."""
    from autograd.jit import codegen
    rng = np.random.default_rng(0)
    n = 7                                   # an array count no other test uses: a fresh key
    key = ("sgd_plain_all", n, "d")
    M._READY.discard(key)
    M._CALLS.pop(key, None)
    ps = tuple(rng.standard_normal(3) for _ in range(n))
    gs = tuple(rng.standard_normal(3) for _ in range(n))
    twin = tuple(p.copy() for p in ps)
    with K.forced("auto"):
        for _ in range(M.HOT_CALLS):
            M.sgd_update_all(ps, gs, None, 0.01)
            M.sgd_update_all_np(twin, gs, None, 0.01, 0.0, False, 0.0)
        assert key not in M._READY and M._JOBS[key].state in ("queued", "running", "done")
        codegen.wait(600)
        assert key in M._READY, M.ERRORS.get(key)
        assert M._use_numba("sgd_plain_all", ps)
        M.sgd_update_all(ps, gs, None, 0.01)
        M.sgd_update_all_np(twin, gs, None, 0.01, 0.0, False, 0.0)
    for a, b in zip(ps, twin):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_a_forked_process_forgets_its_parents_background_builds():
    """A process forked while builds run or wait in the queue (a data-loader worker) has no
    builds of its own: it never polls, starts (a duplicate) or kills the parent's."""
    import os
    from autograd.kernels import background as B
    spec = {"module": "autograd.kernels._no_such_module", "function": "f", "args": []}
    jobs = [B.submit(spec), B.submit(spec)]          # one running, one queued
    try:
        assert B._RUNNING and B._QUEUE
        pid = os.fork()
        if pid == 0:                                  # the forked child
            os._exit(0 if not B._RUNNING and not B._QUEUE else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        for j in jobs:
            j.wait(300)
    assert [j.state for j in jobs] == ["failed", "failed"]
