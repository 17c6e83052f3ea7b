"""Tensor: construction, dtypes, attributes, operators, comparisons, in-place rules."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def test_attributes_and_conversions():
    t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert isinstance(t.data, np.ndarray)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.dtype == np.float64 and t.grad is None and not t.requires_grad
    assert t.numpy() is t.data
    assert Tensor(3.5).item() == 3.5
    assert np.asarray(t).shape == (2, 3)
    d = (Tensor([1.0], requires_grad=True) * 2).detach()
    assert not d.requires_grad and d.is_leaf


def test_repr_shows_data_and_op():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert "1." in repr(x) and "requires_grad=True" in repr(x)
    assert "op=multiply" in repr(y) and "4." in repr(y)
    assert "float32" in repr(Tensor(np.zeros(2, np.float32)))


@pytest.mark.parametrize("data, dtype", [(1.0, np.float64), ([1, 2], np.int64), ([1.0, 2], np.float64),
                                         (np.zeros(2, np.float32), np.float32), (True, np.bool_)])
def test_dtypes_follow_numpy(data, dtype):
    assert Tensor(data).dtype == dtype


def test_dtype_argument_and_promotion():
    a = Tensor([1, 2], dtype=np.float32)
    assert a.dtype == np.float32
    assert (a * 2.0).dtype == np.float32           # python scalars are weak (numpy 2 rules)
    assert (a + Tensor([1.0, 1.0])).dtype == np.float64
    assert (a + np.ones(2)).dtype == np.float64
    assert (Tensor([1, 2]) * 0.5).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_has_the_tensors_dtype(dtype):
    x = Tensor(np.ones(3, dtype), requires_grad=True)
    y = Tensor(np.ones(3, np.float64))
    (x * y).sum().backward()
    assert x.grad.dtype == dtype and x.grad.shape == (3,)


@pytest.mark.parametrize("data", [[1, 2], [True, False], np.arange(3)])
def test_integer_and_bool_cannot_require_grad(data):
    with pytest.raises(ag.DTypeError, match="only float or complex tensors can require grad"):
        Tensor(data, requires_grad=True)
    t = Tensor(data)
    with pytest.raises(TypeError):
        t.requires_grad = True


@pytest.mark.parametrize("bad", [np.array(["2020-01-01"], dtype="M8[D]"), np.array(["a"]), np.array([object()]), [[1.0], [1.0, 2.0]]])
def test_unsupported_data_is_refused(bad):
    with pytest.raises(ag.AutogradError):
        Tensor(bad)


def test_operators_and_reflected_forms():
    x = Tensor([1.0, 2.0, 4.0])
    arr = np.array([2.0, 2.0, 2.0])
    cases = [(x + 1, [2, 3, 5]), (1 + x, [2, 3, 5]), (x - 1, [0, 1, 3]), (2.0 - x, [1, 0, -2]),
             (x * 3, [3, 6, 12]), (arr * x, [2, 4, 8]), (x * arr, [2, 4, 8]), (x / 2, [0.5, 1, 2]),
             (1 / x, [1, 0.5, 0.25]), (x ** 2, [1, 4, 16]), (2 ** x, [2, 4, 16]), (-x, [-1, -2, -4]),
             (abs(-x), [1, 2, 4]), (arr - x, [1, 0, -2])]
    for got, want in cases:
        assert isinstance(got, Tensor)
        np.testing.assert_array_equal(got.data, want)
    m = Tensor(np.eye(2)) @ np.array([[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(m, Tensor)
    np.testing.assert_array_equal(m.data, [[1, 2], [3, 4]])
    r = np.array([[1.0, 2.0]]) @ Tensor(np.eye(2))
    assert isinstance(r, Tensor)


def test_comparisons_are_elementwise_bool_tensors():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for got, want in [(x > 1.5, [0, 1, 1]), (x >= 2, [0, 1, 1]), (x < 2, [1, 0, 0]),
                      (x <= 2, [1, 1, 0]), (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1])]:
        assert isinstance(got, Tensor) and got.dtype == np.bool_ and not got.requires_grad
        np.testing.assert_array_equal(got.data, np.array(want, bool))
    assert len({x, x * 1}) == 2  # hashable by identity


def test_methods_exist_where_numpy_has_them():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.sum(axis=0).data, [3, 5, 7])
    np.testing.assert_array_equal(x.T.data, np.arange(6.0).reshape(2, 3).T)
    np.testing.assert_array_equal(x.reshape(3, 2).data, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(x.transpose(1, 0).data, np.arange(6.0).reshape(2, 3).T)
    assert x.max().item() == 5 and x.min().item() == 0 and x.mean().item() == 2.5
    np.testing.assert_allclose(x.var().item(), np.var(np.arange(6.0)))
    assert x[None].squeeze(0).shape == (2, 3)
    assert ag.expand_dims(x, 0).shape == (1, 2, 3)


def test_inplace_on_a_tensor_the_graph_needs_is_refused():
    x = Tensor([1.0, 2.0], requires_grad=True)
    mask = Tensor([1.0, 0.0])
    y = (x * mask).sum()
    mask[0] = 5.0                       # allowed: mask does not require grad ...
    with pytest.raises(ag.InPlaceError, match="modified in place"):
        y.backward()                    # ... but the graph saved it, so backward refuses
    with pytest.raises(ag.InPlaceError):
        x[0] = 3.0                      # never into a tensor that requires grad


def test_data_assignment_is_seen_by_backward():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0], requires_grad=True)
    y = (w * x).sum()
    w.data = np.array([10.0, 20.0])
    with pytest.raises(ag.InPlaceError):
        y.backward()


def test_augmented_assignment_is_safe():
    # a leaf that requires grad, grad mode on: refused (PyTorch's rule), pointing to no_grad
    leaf = Tensor(2.0, requires_grad=True)
    with pytest.raises(ag.InPlaceError, match="no_grad"):
        leaf += leaf * 3
    # a non-leaf: in place, recorded (micrograd's c += c + 1 must differentiate)
    a = Tensor(2.0, requires_grad=True)
    c = a * 1.0
    orig, mem = c, c.data
    c += c * 3
    assert c is orig and c.op == "add" and np.shares_memory(c._data, mem)
    c.backward()
    assert a.grad == 4.0
    # under no_grad: in place (optimizer updates)
    p = Tensor([1.0, 2.0], requires_grad=True)
    data = p.data
    with ag.no_grad():
        p -= np.array([0.5, 0.5])
    assert p.data is data
    np.testing.assert_array_equal(p.data, [0.5, 1.5])
    # a plain tensor: in place, like numpy
    q = Tensor([1.0])
    q *= 3
    assert q.item() == 3.0


def test_value_is_a_micrograd_style_scalar():
    v = ag.Value(2)
    assert v.requires_grad and v.dtype == np.float64 and v.ndim == 0
    assert f"{v.data:.2f}" == "2.00"
