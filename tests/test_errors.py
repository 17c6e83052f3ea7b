"""Errors people can act on: each names the op, the shapes and dtypes, and subclasses both
the library's base error and the matching builtin."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def T(*shape, rg=True):
    return Tensor(np.ones(shape), requires_grad=rg)


@pytest.mark.parametrize("bad, exc", [
    (np.array(["2020-01-01"], dtype="M8[D]"), ag.DTypeError), (np.array(["a", "b"]), ag.DTypeError),
    (np.array([object()]), ag.DTypeError), ("text", ag.DTypeError),
    ([[1.0], [1.0, 2.0]], ag.DTypeError),
])
def test_constructor_refuses_bad_data(bad, exc):
    with pytest.raises(exc) as info:
        Tensor(bad)
    assert isinstance(info.value, ag.AutogradError) and isinstance(info.value, TypeError)


@pytest.mark.parametrize("operand, exc, words", [
    ("a", ag.DTypeError, "unsupported operand str"),
    ([1, "a"], ag.DTypeError, "unsupported operand list"),
    (np.array(["2020-01-01"], dtype="M8[D]"), ag.DTypeError, "datetime64"),
    (object(), ag.DTypeError, "unsupported operand object"),
    ([[1.0], [1.0, 2.0]], ag.ShapeError, "cannot make an array"),
])
def test_bad_operands_to_an_op(operand, exc, words):
    with pytest.raises(exc, match=words) as info:
        T(2) + operand
    assert str(info.value).startswith("add:")


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_int_and_bool_cannot_require_grad(dtype):
    with pytest.raises(ag.DTypeError, match=str(np.dtype(dtype))):
        Tensor(np.zeros(2, dtype), requires_grad=True)


BINARY = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum"]


@pytest.mark.parametrize("name", BINARY)
def test_mismatched_shapes_for_every_binary_op(name):
    with pytest.raises(ag.ShapeError) as info:
        getattr(ag, name)(T(2, 3), T(4))
    msg = str(info.value)
    assert msg.startswith(f"{name}:") and "(2, 3)" in msg and "(4,)" in msg and "float64" in msg
    assert isinstance(info.value, ValueError)


def test_matmul_message():
    with pytest.raises(ag.ShapeError, match=r"^matmul: shapes \(3, 4\) and \(5, 2\) are not aligned \(4 != 5\)$"):
        T(3, 4) @ T(5, 2)
    with pytest.raises(ag.ShapeError, match="batch dims"):
        T(2, 3, 4) @ T(3, 4, 5)


@pytest.mark.parametrize("call", [
    lambda t: t.sum(axis=2), lambda t: t.mean(axis=-3), lambda t: t.max(axis=(0, 0)),
    lambda t: ag.softmax(t, axis=5), lambda t: ag.logsumexp(t, axis=2), lambda t: ag.expand_dims(t, 4),
    lambda t: ag.squeeze(t, 0), lambda t: t.var(axis=7),
])
def test_bad_axes(call):
    with pytest.raises(ag.AxisError) as info:
        call(T(2, 3))
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("idx", [5, (0, 9), np.array([0, 7]), -4])
def test_out_of_range_indices(idx):
    with pytest.raises(ag.IndexOutOfRangeError, match=r"getitem: .*shape \(3, 2\)") as info:
        T(3, 2)[idx]
    assert isinstance(info.value, IndexError)


def test_backward_errors():
    with pytest.raises(ag.GraphError, match="does not require grad"):
        Tensor(1.0).backward()
    y = (T(3) * 2)
    with pytest.raises(ag.GraphError, match="non-scalar output"):
        y.backward()
    with pytest.raises(ag.ShapeError, match=r"gradient of shape \(2,\) given for an output of shape \(3,\)"):
        y.backward(np.ones(2))
    z = (T(3) * 2).sum()
    z.backward()
    with pytest.raises(ag.GraphError, match="second time"):
        z.backward()


def test_fused_ops_validate_before_kernels():
    with pytest.raises(ag.ShapeError, match=r"dense: shapes \(2, 3\) and \(4, 2\) are not aligned"):
        ag.dense(T(2, 3), T(4, 2))
    with pytest.raises(ag.ShapeError, match="bias shape"):
        ag.dense(T(2, 3), T(3, 2), T(3))
    with pytest.raises(ag.DTypeError, match="int64"):
        ag.dense(Tensor(np.ones((2, 3), np.int64)), T(3, 2))
    with pytest.raises(ag.InvalidValueError, match=r"labels must be in \[0, 3\)"):
        ag.softmax_cross_entropy(T(2, 3), np.array([0, 3]))
    with pytest.raises(ag.ShapeError, match="do not match logits"):
        ag.softmax_cross_entropy(T(2, 3), np.array([0, 1, 2]))
    with pytest.raises(ag.ShapeError):
        ag.sigmoid_binary_cross_entropy(T(4, 1), np.ones(4))
