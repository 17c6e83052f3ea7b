"""The engine: backward semantics, accumulation, graph release, no_grad, long chains."""
import gc
import threading
import time
import weakref

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def test_scalar_seed_is_one_and_nonscalar_needs_a_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 3])
    y = x * 2
    with pytest.raises(ag.GraphError, match="non-scalar"):
        y.backward()
    with pytest.raises(ag.ShapeError, match=r"gradient of shape \(3,\)"):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [3 + 2, 3 + 20])  # accumulated


def test_backward_without_grad_is_an_error():
    with pytest.raises(ag.GraphError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_gradients_accumulate_across_backward_calls():
    x = Tensor(3.0, requires_grad=True)
    for _ in range(3):
        (x * x).backward()
    assert x.grad == pytest.approx(3 * 6.0)
    x.zero_grad()
    assert x.grad is None


def test_only_leaves_get_grad_unless_retained():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    k = (x * 3).retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad, 2 * np.array([1.0, 2.0]))      # d(h k)/dk = h
    np.testing.assert_allclose(x.grad, 12 * np.array([1.0, 2.0]))     # d(6x^2)/dx


def test_same_tensor_used_many_times_accumulates_exactly():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = x
    total = None
    for _ in range(1000):
        total = x if total is None else total + x
    total.sum().backward()
    np.testing.assert_array_equal(x.grad, [1000.0, 1000.0])


def test_broadcast_gradient_is_summed_to_the_operand_shape():
    a = Tensor(np.ones((3, 1)), requires_grad=True)
    b = Tensor(np.arange(4.0), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 6.0))
    np.testing.assert_array_equal(b.grad, np.full(4, 3.0))


def test_long_chain_has_no_recursion_limit():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_backward_time_is_linear_in_chain_length():
    # CPU time of this process (not wall time: the machine may be shared), best of 3.
    def run(n):
        x = Tensor(1.0, requires_grad=True)
        y = x
        for _ in range(n):
            y = y + 0.0
        gc.disable()            # a gen-2 collection inside one timed backward is not the engine's cost
        try:
            t0 = time.process_time()
            y.backward()
            return time.process_time() - t0
        finally:
            gc.enable()
    run(1000)
    small = min(run(10_000) for _ in range(3))
    big = min(run(100_000) for _ in range(5))
    assert big / small < 40   # linear is 10x (n log n from the backward heap: ~12x); quadratic 100x


def test_graph_is_released_after_backward():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2
    ref = weakref.ref(h)
    loss = (h * h).sum()
    del h
    loss.backward()
    gc.disable()
    try:
        assert ref() is None       # freed by refcounting alone: no cycles
    finally:
        gc.enable()
    with pytest.raises(ag.GraphError, match="second time"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = Tensor(2.0, requires_grad=True)
    y = x ** 3
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == pytest.approx(2 * 12.0)


def test_no_grad_records_nothing_and_is_thread_local():
    x = Tensor([1.0], requires_grad=True)
    with ag.no_grad():
        y = x * 2
        assert not ag.is_grad_enabled()
        seen = []
        t = threading.Thread(target=lambda: seen.append((x * 2).requires_grad))
        t.start(); t.join()
    assert not y.requires_grad and y.is_leaf
    assert seen == [True]
    assert (x * 2).requires_grad

    @ag.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad


def test_enable_grad_inside_no_grad():
    x = Tensor([1.0], requires_grad=True)
    with ag.no_grad():
        with ag.enable_grad():
            assert (x * 2).requires_grad


def _micrograd_expression(a, b):
    """The expression from micrograd's README, in plain python floats (no autograd)."""
    relu = lambda v: v if v > 0 else 0.0
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + relu(b + a)
    d = d + 3 * d + relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def test_micrograd_expression_against_independent_finite_differences():
    a = ag.Value(-4.0)
    b = ag.Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    h = 1e-6
    want_g = _micrograd_expression(-4.0, 2.0)
    da = (_micrograd_expression(-4.0 + h, 2.0) - _micrograd_expression(-4.0 - h, 2.0)) / (2 * h)
    db = (_micrograd_expression(-4.0, 2.0 + h) - _micrograd_expression(-4.0, 2.0 - h)) / (2 * h)
    assert g.item() == pytest.approx(want_g, rel=1e-12)
    assert a.grad == pytest.approx(da, rel=1e-6)
    assert b.grad == pytest.approx(db, rel=1e-6)


def test_micrograd_small_expression_by_hand():
    # d = a*b + b**3: dd/da = b = 2, dd/db = a + 3 b^2 = -4 + 12 = 8
    a, b = ag.Value(-4.0), ag.Value(2.0)
    d = a * b + b ** 3
    d.backward()
    assert (a.grad, b.grad) == (2.0, 8.0)


def test_leaf_grad_is_not_aliased_between_tensors():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()
    x.grad *= 0          # users may mutate a grad in place ...
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])  # ... without touching another's


def test_create_graph_makes_grad_differentiable():
    x = Tensor(1.5, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    gx = x.grad
    assert isinstance(gx, Tensor) and gx.item() == pytest.approx(3 * 1.5 ** 2)
    x.grad = None
    gx.backward()
    assert x.grad.item() == pytest.approx(6 * 1.5)


def test_accumulated_scalar_gradient_stays_an_array_for_kernels():
    # a 0-d node used twice: numpy's 0-d + 0-d is a scalar; relu's fast vjp needs an array
    x = ag.Value(1.5)
    h = ag.relu(x * 2.0)
    y = h * 1.0 + h              # relu's output used twice: its gradient is accumulated
    y.backward()
    assert isinstance(x.grad, np.ndarray) and x.grad == pytest.approx(4.0)
