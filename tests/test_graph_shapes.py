"""Deep, wide and long-running graphs: no recursion limit, exact accumulation, graphs that
free themselves without the cycle collector, flat memory over many steps."""
import gc
import time
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from autograd.graph import Node


def test_million_long_chain():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert y.item() == 1_000_001.0


def test_one_tensor_used_ten_thousand_times():
    x = Tensor(np.array([0.25, -3.0]), requires_grad=True)
    ys = [x * 1.0 for _ in range(10_000)]
    ag.stack(ys).sum().backward()
    np.testing.assert_array_equal(x.grad, [10_000.0, 10_000.0])   # exact in float64
    z = Tensor(2.0, requires_grad=True)
    acc = z
    for _ in range(9_999):
        acc = acc + z
    acc.backward()
    assert z.grad == 10_000.0


def _mlp_step(params, x, y, lr=0.01):
    w1, b1, w2, b2, w3, b3 = params
    h = ag.dense(x, w1, b1, activation="relu")
    h = ag.dense(h, w2, b2, activation="relu")
    loss = ag.softmax_cross_entropy(ag.dense(h, w3, b3), y)
    for p in params:
        p.grad = None
    loss.backward()
    with ag.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss


def _params(rng, sizes, dtype=np.float32):
    ps = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        ps.append(Tensor(rng.normal(0, np.sqrt(2 / a), (a, b)).astype(dtype), requires_grad=True))
        ps.append(Tensor(np.zeros(b, dtype), requires_grad=True))
    return ps


def test_a_training_step_leaves_nothing_alive_and_makes_no_cycles():
    rng = np.random.default_rng(0)
    params = _params(rng, [20, 16, 8, 3])
    x = Tensor(rng.normal(size=(32, 20)).astype(np.float32))
    y = rng.integers(0, 3, 32)
    _mlp_step(params, x, y)            # warm up (kernels compiled, caches filled)
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()
        refs = []
        orig_init = Node.__init__

        def spy(self, *a, **k):
            orig_init(self, *a, **k)
            refs.append(weakref.ref(self))
        Node.__init__ = spy
        try:
            loss = _mlp_step(params, x, y)
        finally:
            Node.__init__ = orig_init
        loss_ref = weakref.ref(loss)
        del loss
        assert refs and all(r() is None for r in refs), "a Node outlived its step"
        assert loss_ref() is None
        assert gc.collect() == 0, "the step created reference cycles"
    finally:
        gc.enable()


def test_memory_is_flat_over_2000_steps():
    rng = np.random.default_rng(1)
    params = _params(rng, [784, 256, 128, 10])
    x = Tensor(rng.normal(size=(128, 784)).astype(np.float32))
    y = rng.integers(0, 10, 128)
    for _ in range(50):
        _mlp_step(params, x, y, lr=1e-4)
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(2000):
            _mlp_step(params, x, y, lr=1e-4)
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert now - base < 5 * 2 ** 20, f"memory grew by {(now - base) / 2**20:.1f} MiB"
