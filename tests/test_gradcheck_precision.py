"""gradcheck when fn itself computes in float32: the message says so; dtype='float64' checks a
float64 copy of a layer or model."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag

nn = pytest.importorskip("nn")

NOTE = r"fn returned float32 although its float inputs were float64 copies"


def _x(shape=(2, 4), seed=0):
    return ag.Tensor(np.random.default_rng(seed).random(shape), requires_grad=True)


def test_a_float32_layer_fails_with_a_note_on_its_own_precision():
    nn.set_seed(0)
    layer = nn.layers.Dense(3, input_dim=4, activation="tanh")     # float32 weights
    with pytest.raises(ag.GradcheckError, match=NOTE) as e:
        ag.gradcheck(layer, _x())
    msg = str(e.value)
    assert "its own precision" in msg and "dtype='float64'" in msg


def test_a_function_that_casts_to_float32_gets_the_note():
    x = ag.Tensor(np.random.default_rng(1).random(5) + 1, requires_grad=True)
    with pytest.raises(ag.GradcheckError, match=NOTE):
        ag.gradcheck(lambda t: (t.astype(np.float32) ** 3).sum(), x)


def test_a_wrong_gradient_in_float64_gets_no_precision_note():
    @ag.primitive(name="_test_twice_wrong", register=False)
    def twice_wrong(x):
        return 2.0 * x

    @twice_wrong.defvjp
    def twice_wrong_vjp(g, out, x):
        return 3.0 * g                                      # wrong on purpose
    with pytest.raises(ag.GradcheckError) as e:
        ag.gradcheck(lambda t: twice_wrong(t).sum(), _x())
    assert "Note:" not in str(e.value)


def test_dtype_float64_checks_a_float64_copy_of_the_layer():
    nn.set_seed(0)
    layer = nn.layers.Dense(3, input_dim=4, activation="tanh")
    before = layer.kernel.data.copy()
    assert ag.gradcheck(layer, _x(), dtype="float64")
    assert ag.gradgradcheck(layer, _x(), dtype="float64")
    # the caller's layer is untouched: still float32, same values, no grad
    assert layer.kernel.dtype == np.float32 and layer.dtype == np.float32
    np.testing.assert_array_equal(layer.kernel.data, before)
    assert layer.kernel.grad is None


def test_dtype_float64_on_a_model():
    nn.set_seed(0)
    m = nn.Sequential([nn.layers.Dense(5, activation="relu", input_dim=4),
                       nn.layers.Dense(2, activation="sigmoid")])
    x = ag.Tensor(np.random.default_rng(2).random((3, 4)) + 0.1, requires_grad=True)
    assert ag.gradcheck(m, x, dtype="float64")
    with pytest.raises(ag.GradcheckError, match=NOTE):
        ag.gradcheck(m, x)


@pytest.mark.parametrize("bad", ["int32", "complex128", "nonsense", object])
def test_a_bad_dtype_is_refused(bad):
    with pytest.raises(ag.InvalidValueError, match=r"gradcheck: dtype must be a float dtype"):
        ag.gradcheck(lambda t: t.sum(), _x(), dtype=bad)
