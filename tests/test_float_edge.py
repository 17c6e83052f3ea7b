"""The float32 edge (issue 17): logits and activations near float32's largest finite value.

The rule, per op family:

- Losses (``sigmoid_binary_cross_entropy``, ``softmax_cross_entropy``) accumulate in float64
  and round to the input dtype once: the result is the float64 reference rounded, so it is
  ``inf`` only when the true mean loss exceeds float32's range, and the gradient is finite
  (``sigmoid(z) - t``, ``softmax - onehot`` are bounded by the inputs).
- Bounded elementwise ops (sigmoid, tanh, relu, abs, negative, identity, leaky_relu) return
  numpy's float32 value and a finite gradient at +-3e38 and +-max.
- Ops whose result overflows (exp, multiply, power, ...) return numpy's ``inf``, as numpy does.
"""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from autograd import kernels as K

F32_MAX = float(np.finfo(np.float32).max)
EDGE = np.array([3e38, -3e38, F32_MAX, -F32_MAX, 0.5], dtype=np.float32)
MODES = ["numpy", "numba"]


def _ref32(name, *arrays):
    with np.errstate(all="ignore"):
        return np.float32(ag.OPS[name].reference(
            *[np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in arrays]))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("logits, targets", [
    ([3e38, -3e38], [-1.0, 0.0]),           # one term 6e38 overflows float32, the mean does not
    ([3e38, 3e38], [0.0, 1.0]),
    ([F32_MAX, -F32_MAX, 1.0], [-1.0, 1.0, 0.5]),
    ([3e38], [-1.0]),                        # the mean itself overflows: inf
])
def test_bce_at_the_float32_edge_is_the_rounded_float64_loss_with_a_finite_gradient(mode, logits, targets):
    z = Tensor(np.array(logits, np.float32), requires_grad=True)
    t = Tensor(np.array(targets, np.float32), requires_grad=True)
    with K.forced(mode):
        out = ag.sigmoid_binary_cross_entropy(z, t)
        out.backward()
    want = _ref32("sigmoid_binary_cross_entropy", logits, targets)
    assert out.dtype == np.float32
    if np.isfinite(want):
        np.testing.assert_allclose(out.data, want, rtol=1e-6)
    else:
        assert np.isposinf(out.data)
    assert np.all(np.isfinite(z.grad)) and np.all(np.isfinite(t.grad))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_xent_at_the_float32_edge_is_the_rounded_float64_loss(mode, sparse):
    logits = np.array([[3e38, -3e38], [0.0, 1.0], [-F32_MAX, F32_MAX]], np.float32)
    labels = np.array([1, 0, 1]) if sparse else np.array([[0, 1], [1, 0], [1, 0]], np.float32)
    z = Tensor(logits, requires_grad=True)
    with K.forced(mode):
        out = ag.softmax_cross_entropy(z, Tensor(labels))
        out.backward()
    want = _ref32("softmax_cross_entropy", logits, labels)
    if np.isfinite(want):
        np.testing.assert_allclose(out.data, want, rtol=1e-6)
    else:
        assert np.isposinf(out.data)
    assert np.all(np.isfinite(z.grad))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "abs", "negative", "identity",
                                  "leaky_relu"])
def test_bounded_elementwise_ops_give_numpy_s_value_and_a_finite_gradient_at_the_edge(name):
    x = Tensor(EDGE.copy(), requires_grad=True)
    out = getattr(ag, name)(x)
    ref = ag.OPS[name].reference
    if ref is not None:
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(out.data, np.asarray(ref(EDGE), np.float32), rtol=1e-6)
    out.backward(np.ones(out.shape, out.dtype))
    assert np.all(np.isfinite(x.grad)), (name, x.grad)


def test_overflowing_ops_return_inf_as_numpy_does():
    x = Tensor(EDGE.copy(), requires_grad=True)
    with np.errstate(over="ignore"):
        out = ag.multiply(x, x)
        assert np.array_equal(out.data, EDGE * EDGE)
        assert np.isposinf(out.data[0])
