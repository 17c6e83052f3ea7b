"""The eager step's fast paths give what the general paths give.

Backward in reverse creation order (a heap on each node's number), leaf gradients stored
inline, the one-expression check of ``kernels.sgd_update``, the one-reduction label range
check, the loss rounded to float32 without ``errstate``, and the Ctrl-C hold through
``_signal``: each against an independent expectation.
"""
from __future__ import annotations

import signal
import warnings

import numpy as np
import pytest

import autograd as ag
from autograd import kernels as K
from autograd.ops.fused import _labels_below, _round


# ----------------------------------------------------------------------------- backward order
def test_interleaved_branches_and_shared_nodes_get_the_analytic_gradient():
    # d = 2x + (2x)(3x) = 2x + 6x^2: nodes made in an order unlike the graph's depth
    x = ag.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    a = x * 2.0
    b = x * 3.0
    c = a * b
    d = a + c
    d.sum().backward()
    np.testing.assert_allclose(x.grad, 2.0 + 12.0 * x.data, rtol=1e-12)


def test_a_node_reached_by_paths_of_different_lengths_waits_for_both():
    x = ag.Tensor(np.array(1.5), requires_grad=True)
    a = ag.exp(x)                 # used directly and through a chain of three more nodes
    b = ((a * 2.0) + 1.0) * a     # b = 2 e^{2x} + e^x
    y = b + a                     # y = 2 e^{2x} + 2 e^x
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp(3.0) + 2 * np.exp(1.5), rtol=1e-12)


def test_second_order_and_retain_graph_through_the_heap_order():
    x = ag.Tensor(np.array([0.3, -0.7]), requires_grad=True)
    y = (x * x * x).sum()         # dy/dx = 3x^2, d2y/dx2 = 6x
    g = ag.grad(lambda t: (t * t * t).sum())(x)
    np.testing.assert_allclose(np.asarray(g), 3 * x.data ** 2, rtol=1e-12)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 6 * x.data ** 2, rtol=1e-12)   # accumulated twice
    with pytest.raises(ag.GraphError, match="second time"):
        y.backward()
    h = ag.grad(lambda t: ag.grad(lambda u: (u * u * u).sum())(t).sum())(x)
    np.testing.assert_allclose(np.asarray(h), 6 * x.data, rtol=1e-12)


def test_a_long_chain_needs_no_recursion():
    x = ag.Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_one_array_returned_for_two_leaves_is_stored_twice_as_separate_copies():
    x = ag.Tensor(np.zeros(3), requires_grad=True)
    y = ag.Tensor(np.zeros(3), requires_grad=True)
    seed = np.arange(3.0)
    (x + y).backward(seed)        # add's vjp hands the incoming gradient to both inputs
    assert x.grad is not y.grad and x.grad is not seed and y.grad is not seed
    x.grad[0] = 100.0
    assert y.grad[0] == 0.0 and seed[0] == 0.0
    np.testing.assert_array_equal(y.grad, seed)


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("mode", ["auto", "numpy"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_sgd_fast_path_equals_the_formula(mode, dt):
    rng = np.random.default_rng(0)
    p = rng.standard_normal((5, 3)).astype(dt)
    g = rng.standard_normal((5, 3)).astype(dt)
    want = p - dt(0.1) * g
    with K.forced(mode):
        K.sgd_update(p, g, None, 0.1)
    np.testing.assert_allclose(p, want, rtol=1e-6)


def test_sgd_fast_path_still_refuses_what_the_checks_refuse():
    ro = np.ones(4)
    ro.flags.writeable = False
    with pytest.raises(ag.InvalidValueError, match="read-only"):
        K.sgd_update(ro, np.ones(4), None, 0.1)
    with pytest.raises(ag.ShapeError, match="does not match"):
        K.sgd_update(np.ones(4), np.ones(3), None, 0.1)
    with pytest.raises(ag.InvalidValueError, match="'x'"):
        K.sgd_update(np.ones(4), np.ones(4), None, "x")


@pytest.mark.parametrize("mode", ["auto", "numpy"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_fast_path_equals_the_formula(mode, dt, nesterov):
    # PyTorch's momentum step written out here: v = mu v + (g + wd p); p -= lr (g' + mu v or v)
    rng = np.random.default_rng(1)
    p = rng.standard_normal((4, 3)).astype(dt)
    g = rng.standard_normal((4, 3)).astype(dt)
    v = rng.standard_normal((4, 3)).astype(dt)
    gd = g + dt(0.01) * p
    v_want = dt(0.9) * v + gd
    p_want = p - dt(0.1) * ((gd + dt(0.9) * v_want) if nesterov else v_want)
    with K.forced(mode):
        K.sgd_update(p, g, v, 0.1, 0.9, nesterov, 0.01)
    tol = 1e-6 if dt is np.float32 else 1e-14
    np.testing.assert_allclose(v, v_want, rtol=tol)
    np.testing.assert_allclose(p, p_want, rtol=tol)


@pytest.mark.parametrize("mode", ["auto", "numpy"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_adam_fast_path_equals_the_formula(mode, dt):
    rng = np.random.default_rng(2)
    p = rng.standard_normal(7).astype(dt)
    g = rng.standard_normal(7).astype(dt)
    m = rng.standard_normal(7).astype(dt)
    v = np.abs(rng.standard_normal(7)).astype(dt)
    p64, g64 = p.astype(np.float64), g.astype(np.float64)
    m_want = 0.9 * m.astype(np.float64) + 0.1 * g64
    v_want = 0.999 * v.astype(np.float64) + 0.001 * g64 ** 2
    p_want = p64 - 0.01 * (m_want / (1 - 0.9 ** 3)) / (np.sqrt(v_want / (1 - 0.999 ** 3)) + 1e-7)
    with K.forced(mode):
        K.adam_update(p, g, m, v, 3, 0.01, 0.9, 0.999, 1e-7)
    tol = 1e-5 if dt is np.float32 else 1e-13
    np.testing.assert_allclose(m, m_want, rtol=tol)
    np.testing.assert_allclose(v, v_want, rtol=tol)
    np.testing.assert_allclose(p, p_want, rtol=tol)


def test_momentum_and_adam_fast_paths_still_refuse_what_the_checks_refuse():
    # each refusal raises before anything is written
    ro = np.zeros(4)
    ro.flags.writeable = False
    p = np.ones(4)
    with pytest.raises(ag.InvalidValueError, match="velocity.*read-only"):
        K.sgd_update(p, np.ones(4), ro, 0.1, 0.9)
    with pytest.raises(ag.ShapeError, match="velocity of shape"):
        K.sgd_update(p, np.ones(4), np.zeros(3), 0.1, 0.9)
    with pytest.raises(ag.DTypeError, match="velocity"):
        K.sgd_update(p, np.ones(4), np.zeros(4, np.int64), 0.1, 0.9)
    with pytest.raises(ag.InvalidValueError, match="v .*read-only"):
        K.adam_update(p, np.ones(4), np.zeros(4), ro, 1, 0.1, 0.9, 0.999, 1e-7)
    with pytest.raises(ag.InvalidValueError, match="'b'"):
        K.adam_update(p, np.ones(4), np.zeros(4), np.zeros(4), 1, 0.1, "b", 0.999, 1e-7)
    m = np.zeros(4)
    with pytest.raises(OverflowError):      # a hyperparameter float() cannot take
        K.adam_update(p, np.ones(4), m, np.zeros(4), 1, 10 ** 400, 0.9, 0.999, 1e-7)
    np.testing.assert_array_equal(p, np.ones(4))
    np.testing.assert_array_equal(m, np.zeros(4))


# ----------------------------------------------------------------------------- labels, loss
@pytest.mark.parametrize("dt", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32,
                                np.uint64])
def test_label_range_in_one_reduction(dt):
    ok = np.array([0, 3, 1], dt)
    assert _labels_below(ok, 4) and not _labels_below(ok, 3)
    assert _labels_below(np.array([0, 9, 3, 9, 1], dt)[::2], 4)   # not contiguous
    if np.dtype(dt).kind == "i":
        assert not _labels_below(np.array([0, -1, 2], dt), 4)
        assert not _labels_below(np.array([np.iinfo(dt).min], dt), 4)


def test_negative_label_error_names_the_range():
    z = ag.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    with pytest.raises(ag.InvalidValueError, match=r"labels must be in \[0, 3\), got values in \[-1, 2\]"):
        ag.softmax_cross_entropy(z, np.array([-1, 2]))


def test_round_gives_inf_past_float32_without_a_warning_and_the_value_inside():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(_round(1e39, np.dtype(np.float32)))
        assert np.isinf(_round(-1e39, np.dtype(np.float32)))
        assert np.isnan(_round(float("nan"), np.dtype(np.float32)))
    out = _round(1.25, np.dtype(np.float32))
    assert out.dtype == np.float32 and out.shape == () and out == np.float32(1.25)
    assert _round(1e300, np.float64) == 1e300


# ----------------------------------------------------------------------------- Ctrl-C hold
def test_hold_interrupt_delivers_to_a_python_handler_after_the_block():
    from nn.optimizers.base import _HoldInterrupt
    got = []

    def handler(signum, frame):
        got.append(signum)
    old = signal.signal(signal.SIGINT, handler)
    try:
        with _HoldInterrupt():
            signal.raise_signal(signal.SIGINT)
            assert got == []              # held inside the block
        assert got == [signal.SIGINT]     # delivered once, after it
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, old)


def test_hold_interrupt_leaves_an_ignored_sigint_alone():
    from nn.optimizers.base import _HoldInterrupt
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _HoldInterrupt():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)
