"""The eager nn step's shortcuts keep every guarantee of the general path:
the interrupt hold after a fork, the loss's label check (run once, by the fused op, yet
named after the loss), the inlined ``Module.__call__`` in ``Layer.__call__``."""
from __future__ import annotations

import os
import signal
import sys
import warnings

import numpy as np
import pytest

import autograd as ag
import nn


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs fork")
def test_hold_interrupt_holds_in_a_forked_child():
    from nn.optimizers.base import _HoldInterrupt
    pid = os.fork()
    if pid == 0:                                  # the child: its main thread is this one
        code = 1
        try:
            got = []
            signal.signal(signal.SIGINT, lambda s, f: got.append(s))
            with _HoldInterrupt():
                signal.raise_signal(signal.SIGINT)
                held = got == []
            code = 0 if held and got == [signal.SIGINT] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("labels, lo, hi", [([0, 1, 3, 1], 0, 3), ([0, -1, 2, 1], -1, 2)])
@pytest.mark.parametrize("dt", [np.int64, np.int32, np.int8])
def test_sparse_xent_refuses_labels_out_of_range_naming_the_loss(labels, lo, hi, dt):
    z = ag.Tensor(np.zeros((4, 3), np.float32), requires_grad=True)
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ag.InvalidValueError,
                       match=rf"SparseCategoricalCrossentropy: labels must be in \[0, 3\) for 3 "
                             rf"classes, got values in \[{lo}, {hi}\]"):
        loss(np.array(labels, dt), z)
    assert z.grad is None


def test_sparse_xent_refuses_huge_unsigned_labels():
    z = ag.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ag.InvalidValueError, match="SparseCategoricalCrossentropy: labels"):
        loss(np.array([1, 2 ** 63 + 1], np.uint64), z)


@pytest.mark.parametrize("labels", [np.array([2, 0, 1, 1]), np.array([2, 0, 1, 1], np.uint8),
                                    np.array([[2], [0], [1], [1]]),
                                    np.array([2.0, 0.0, 1.0, 1.0])])
def test_sparse_xent_equals_the_op_and_a_numpy_reference(labels):
    rng = np.random.default_rng(0)
    z0 = rng.standard_normal((4, 3))
    z = ag.Tensor(z0, requires_grad=True)
    out = nn.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z)
    out.backward()
    lab = np.asarray(labels).reshape(-1).astype(np.int64)
    logp = z0 - z0.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    assert float(out.data) == pytest.approx(-logp[np.arange(4), lab].mean(), rel=1e-12)
    p = np.exp(logp)
    p[np.arange(4), lab] -= 1.0
    np.testing.assert_allclose(z.grad, p / 4, rtol=1e-12, atol=1e-15)


def test_sparse_xent_under_jit_rechecks_new_labels_each_call():
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    w = ag.Tensor(np.zeros((2, 3)), requires_grad=True)

    @ag.jit
    def f(x, y):
        with ag.no_grad():
            return loss(y, ag.dense(x, w))

    x = np.ones((4, 2))
    good = np.array([0, 1, 2, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # compiled, not an eager fallback
        for _ in range(4):
            assert float(np.asarray(f(x, good))) == pytest.approx(np.log(3.0))
    assert f.trace_count == 1
    with pytest.raises(ag.InvalidValueError, match=r"labels must be in \[0, 3\)"):
        f(x, np.array([0, 1, 5, 1]))


def test_a_layer_whose_call_returns_none_is_refused_by_name():
    class Broken(nn.layers.Layer):
        def call(self, x):
            x * 2

    with pytest.raises(ag.OutputError, match=r"Broken 'broken'\.call\(\) returned None"):
        Broken(name="broken")(np.ones((2, 3), np.float32))


def test_layer_call_records_output_shapes_for_tensor_and_other_outputs():
    d = nn.layers.Dense(4)
    d(np.ones((5, 3), np.float32))
    assert d.output_shape == (None, 4) and d.input_shape == (None, 3)

    class Pair(nn.layers.Layer):                  # a non-tensor output with a shape
        def call(self, x):
            return np.zeros((7, 2, 5))

    p = Pair()
    p(np.ones((1, 3), np.float32))
    assert p.__dict__["_output_shape"] == (None, 2, 5)
