"""No silent gradient loss: lists of tensors, keyword tensors, nested grads closing over
tensors, scalars given to ops, numpy's dot, and numpy's own functions called on tensors
(``__array_ufunc__`` / ``__array_function__``)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import Tensor

floats = st.floats(-3, 3, allow_nan=False)


def T(x, rg=True):
    return Tensor(np.asarray(x, dtype=np.float64), requires_grad=rg)


# ------------------------------------------------------------------ lists of tensors
def test_a_list_of_tensors_given_to_an_op_keeps_the_graph():
    # var([x, 3x]) = x^2 (mean 2x, deviations -x and x), so d/dx = 2x
    assert float(ag.grad(lambda x: ag.var([x, 3.0 * x]))(1.5)) == pytest.approx(3.0)
    # nested lists: sum([[x, 2x], [3x, 4]]) = 6x + 4
    assert float(ag.grad(lambda x: ag.sum([[x, 2.0 * x], [3.0 * x, 4.0]]))(0.7)) == pytest.approx(6.0)
    x = T([1.0, 2.0])
    y = ag.exp((x, x * 2.0))          # a tuple of tensors as the single input
    assert y.shape == (2, 2) and y.op == "exp"


@given(st.lists(floats, min_size=1, max_size=5))
def test_mean_of_a_list_of_scaled_tensors(cs):
    # mean([c_i x]) = x mean(c), derivative mean(c)
    g = ag.grad(lambda x: ag.mean([c * x for c in cs]))(0.3)
    assert float(g) == pytest.approx(np.mean(cs), abs=1e-12)


# ------------------------------------------------------------------ nesting
def test_inner_grad_closing_over_an_outer_tensor_records_its_backward():
    x = T(1.0)
    (x * ag.grad(lambda y: x * y)(2.0)).backward()   # x * x -> 2x
    assert float(x.grad) == pytest.approx(2.0)


def test_closure_nesting_three_deep():
    # f(x) = x * d/dy[ x * y * d/dz (x y z) ] = x * d/dy[x^2 y^2] = 2 x^3 y -> d/dx = 6 x^2 y
    def f(x, y0):
        inner = ag.grad(lambda y: x * y * ag.grad(lambda z: x * y * z)(1.0))(y0)
        return x * inner
    g = ag.grad(f)(1.5, 2.0)
    assert float(g) == pytest.approx(6 * 1.5 ** 2 * 2.0)


def test_inner_grad_not_touching_outer_returns_arrays():
    g = ag.grad(lambda y: y * y)(3.0)
    assert type(g) is np.ndarray


# ------------------------------------------------------------------ scalars and keywords
def test_scalars_to_ops_give_numpy_answers_or_clear_errors():
    assert ag.sum(3.0) == 3.0
    assert float(ag.mean([1.0, 2.0])) == 1.5
    with pytest.raises(ag.ShapeError, match="matmul"):
        ag.matmul(T(1.0), 2.0)


def test_tensors_by_keyword():
    c = np.array([True, False, True])
    a, b = T([1.0, 2.0, 3.0]), T([4.0, 5.0, 6.0])
    out = ag.where(condition=c, x=a, y=b)
    np.testing.assert_array_equal(out.data, [1.0, 5.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 0.0])
    with pytest.raises(ag.ArgumentTypeError, match="missing input 'y'"):
        ag.where(c, x=a)


# ------------------------------------------------------------------ dot
DOT_SHAPES = [((), (3,)), ((3,), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
              ((2, 3), (3, 4)), ((5, 2, 3), (3,)), ((5, 2, 3), (3, 4)), ((3,), (2, 3, 4)),
              ((5, 2, 3), (4, 3, 6)), ((2, 3), (2, 3, 4))]


@pytest.mark.parametrize("sa, sb", DOT_SHAPES)
def test_tensor_dot_is_numpys_dot(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    np.testing.assert_allclose(Tensor(a).dot(b).data, np.dot(a, b), rtol=1e-12)
    assert ag.gradcheck(lambda x, y: x.dot(y), T(a), T(b))


# ------------------------------------------------------------------ numpy's protocols
def test_numpy_functions_on_tensors_record_the_graph():
    assert ag.grad(lambda w: np.dot(w, w))(np.ones(3)).tolist() == [2.0, 2.0, 2.0]
    x = T([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    y = np.sum(np.exp(x), axis=0)
    assert isinstance(y, Tensor) and y.shape == (3,)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data))
    z = np.ones(3) * T([1.0, 2.0, 3.0])        # ndarray on the left goes through the ufunc
    assert isinstance(z, Tensor) and z.op == "multiply"


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=floats))
def test_numpy_ufuncs_match_the_library(a):
    x = T(a)
    for f in (np.exp, np.tanh, np.sin, np.negative, np.abs):
        out = f(x)
        assert isinstance(out, Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, f(a))
    np.testing.assert_allclose(np.maximum(x, 0.5).data, np.maximum(a, 0.5))


def test_linalg_norm_on_a_tensor_records_or_refuses():
    x = T([3.0, 4.0])
    try:
        n = np.linalg.norm(x)
    except ag.UnsupportedFunctionError as e:        # until autograd.numpy.linalg.norm exists
        assert "numpy.linalg.norm" in str(e) and "autograd.numpy" in str(e)
    else:
        n.backward()
        np.testing.assert_allclose(x.grad, [0.6, 0.8])


def test_unknown_numpy_function_on_a_grad_tensor_raises_naming_it():
    x = T([1.0, 2.0, 3.0])
    with pytest.raises(ag.UnsupportedFunctionError, match=r"numpy\.cov") as info:
        np.cov(x)
    assert isinstance(info.value, TypeError) and "autograd.numpy" in str(info.value)
    # without grad it is numpy's answer, and integer/bool results are fine either way
    np.testing.assert_allclose(np.cov(T([1.0, 2.0, 3.0], rg=False)), 1.0)
    assert np.argmax(x) == 2 and np.shape(x) == (3,) and np.allclose(x, [1, 2, 3])
    with ag.no_grad():
        assert np.cov(x) == pytest.approx(1.0)


def test_ufunc_out_refuses_a_result_that_requires_grad():
    buf = np.zeros(2)
    with pytest.raises(ag.InPlaceError):
        np.exp(T([0.0, 1.0]), out=buf)
    np.exp(T([0.0, 1.0], rg=False), out=buf)
    np.testing.assert_allclose(buf, np.exp([0.0, 1.0]))
    with pytest.raises(ag.UnsupportedFunctionError, match="numpy.add.outer"):
        np.add.outer(T([1.0]), T([2.0]))


def test_asarray_inside_a_transform_raises_outside_returns_the_data():
    x = T([1.0, 2.0])
    assert np.asarray(x) is x.data            # eager code: the values, as before
    with pytest.raises(ag.GraphError, match="asarray"):
        ag.grad(lambda w: np.asarray(w).sum())(np.ones(2))
    with pytest.raises(ag.GraphError):
        ag.grad(lambda w: (w * np.array(x)).sum())(np.ones(2))   # a closed-over grad tensor
    # a tensor that does not require grad converts anywhere
    c = T([1.0, 2.0], rg=False)
    assert ag.grad(lambda w: (w * np.asarray(c)).sum())(np.ones(2)).tolist() == [1.0, 2.0]
