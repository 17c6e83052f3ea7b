"""autograd.numpy: the numpy namespace with the library's differentiable functions in place
of numpy's, numpy's own for the rest, and no path that drops a gradient silently."""
import subprocess
import sys

import numpy
import pytest

import autograd as ag
import autograd.numpy as np
from autograd import Tensor


def leaf(*values):
    return Tensor(numpy.array(values, dtype=float), requires_grad=True)


def test_arrays_in_plain_numpy_out():
    a = numpy.array([0.5, 1.0, 2.0])
    for f in (np.exp, np.log, np.sum, np.mean, np.sqrt, np.tanh):
        out = f(a)
        assert isinstance(out, (numpy.ndarray, numpy.generic))
        numpy.testing.assert_allclose(out, getattr(numpy, f.__name__)(a))
    assert isinstance(np.add(a, a), numpy.ndarray)


def test_tensors_record_the_graph():
    x = leaf(0.5, 1.0, 2.0)
    y = np.sum(np.exp(x) * np.sin(x), axis=0)
    assert isinstance(y, Tensor) and y.requires_grad
    y.backward()
    xd = x.data
    numpy.testing.assert_allclose(x.grad, numpy.exp(xd) * (numpy.sin(xd) + numpy.cos(xd)))


def test_grad_of_numpy_style_code():
    f = lambda w: np.sum(np.tanh(w) ** 2) / np.mean(w)   # noqa: E731
    w = numpy.array([0.3, 0.7, 1.1])
    g = ag.grad(f)(w)
    eps = 1e-6
    num = [(f(w + eps * e) - f(w - eps * e)) / (2 * eps) for e in numpy.eye(3)]
    numpy.testing.assert_allclose(g, num, rtol=1e-6)


def test_non_differentiable_names_are_numpy_s():
    for name in ("ones", "zeros", "arange", "eye", "allclose", "argmax", "isfinite", "equal",
                 "float64", "float32", "ndarray", "dtype", "pi", "inf", "newaxis", "int64"):
        assert getattr(np, name) is getattr(numpy, name), name
    assert np.random.rand is numpy.random.rand
    assert np.linalg.LinAlgError is numpy.linalg.LinAlgError
    x = leaf(3.0, 1.0, 2.0)
    assert np.argmax(x) == 0 and np.allclose(x, [3.0, 1.0, 2.0])


def test_function_without_gradient_refuses_a_tensor_that_requires_grad():
    x = leaf(1.0, 2.0)
    with pytest.raises(ag.ArgumentTypeError, match="convolve: no differentiable"):
        np.convolve(x, x)
    with pytest.raises(TypeError, match="linalg.tensorsolve"):
        np.linalg.tensorsolve(np.stack([x, x]), x)
    numpy.testing.assert_allclose(np.convolve(x.detach(), [1.0, 1.0]), [1.0, 3.0, 2.0])
    with ag.no_grad():
        numpy.testing.assert_allclose(np.convolve(x, [1.0]), [1.0, 2.0])


@pytest.mark.parametrize("call", [
    lambda x: np.sum(x, out=numpy.zeros(())),
    lambda x: np.exp(x, out=numpy.zeros(2)),
    lambda x: np.add(x, x, numpy.zeros(2)),
    lambda x: np.mean(x, out=numpy.zeros(())),
    lambda x: np.concatenate([x, x], out=numpy.zeros(4)),
    lambda x: np.sum(x, where=numpy.array([True, False])),
    lambda x: np.exp(x, where=numpy.array([True, False])),
])
def test_out_and_unsupported_arguments_are_refused(call):
    with pytest.raises(ag.ArgumentTypeError, match=r"autograd\.numpy\.\w+: (out=|the argument)"):
        call(leaf(1.0, 2.0))


def test_array_of_nested_lists_of_tensors_keeps_the_graph():
    x = leaf(2.0)[0]
    a = np.array([[x, 1.0], [3.0 * x, x * x]])
    assert a.shape == (2, 2) and a.requires_grad
    np.sum(a).backward()
    assert numpy.allclose(x.data, 2.0)
    # d/dx (x + 1 + 3x + x^2) = 4 + 2x = 8, reached through the leaf
    g = ag.grad(lambda v: np.sum(np.array([[v, 1.0], [3.0 * v, v * v]])))(2.0)
    numpy.testing.assert_allclose(g, 8.0)
    assert isinstance(np.array([[1.0, 2.0]]), numpy.ndarray)


def test_var_of_a_list_of_tensors():
    # the example: var([x, 3x]) = x^2, d/dx = 2x
    numpy.testing.assert_allclose(ag.grad(lambda x: np.var(np.array([x, 3.0 * x])))(1.0), 2.0)
    numpy.testing.assert_allclose(ag.grad(lambda x: np.var([x, 3.0 * x]))(1.5), 3.0)


def test_numpy_spellings_of_arguments():
    x = leaf(1.0, -2.0, 3.0)
    numpy.testing.assert_allclose(np.clip(x, min=0.0, max=2.0).data, [1.0, 0.0, 2.0])
    numpy.testing.assert_allclose(np.var(x, correction=1).data, numpy.var(x.data, ddof=1))
    assert np.reshape(x, 3).shape == (3,) and np.reshape(x, shape=(3, 1)).shape == (3, 1)
    assert np.sum(x, dtype=numpy.float32).dtype == numpy.float32
    assert np.concatenate([x, x], axis=None).shape == (6,)
    numpy.testing.assert_array_equal(np.where(numpy.array([0, 1, 1]))[0], [1, 2])
    assert np.max is np.amax and np.true_divide is np.divide


def test_submodules():
    import autograd.numpy.linalg as la
    import autograd.numpy.random as rnd
    assert np.linalg is la and np.random is rnd
    assert la.matmul is np.matmul
    rnd.seed(0)
    a = rnd.randn(3)
    numpy.random.seed(0)
    numpy.testing.assert_array_equal(a, numpy.random.randn(3))


def test_star_import_and_dir():
    ns: dict = {}
    exec("from autograd.numpy import *", ns)
    assert ns["sum"] is np.sum and ns["ones"] is numpy.ones
    assert "exp" in dir(np) and "linalg" in dir(np)


def test_import_autograd_does_not_import_the_namespace():
    code = "import sys, autograd; print('autograd.numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ufunc_methods_are_numpy_s_for_arrays_and_refuse_tensors():
    numpy.testing.assert_array_equal(np.add.reduce(numpy.arange(3.0)), 3.0)
    numpy.testing.assert_array_equal(np.multiply.outer([1, 2], [3, 4]), [[3, 4], [6, 8]])
    with pytest.raises(ag.ArgumentTypeError, match="add.reduce"):
        np.add.reduce(leaf(1.0, 2.0))


def test_out_is_refused_by_the_compositions_too():
    x = leaf(1.0, 2.0)
    for call in (lambda: np.take(x, [0], out=numpy.zeros(1)), lambda: np.median(x, out=numpy.zeros(())),
                 lambda: np.cumsum(x, out=numpy.zeros(2)), lambda: np.dot(x, x, out=numpy.zeros(()))):
        with pytest.raises(ag.ArgumentTypeError, match="out="):
            call()


def test_plain_numpy_on_tensors_reaches_the_compositions():
    # numpy's own functions dispatch (Tensor.__array_function__) to autograd.numpy's
    x = leaf(3.0, 1.0, 2.0)
    y = numpy.sort(x)
    assert isinstance(y, Tensor) and y.requires_grad
    numpy.sum(numpy.einsum("i,i->", y, numpy.arange(3.0))).backward()
    numpy.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])   # x's rank is its weight
    assert numpy.median(x).requires_grad and numpy.tensordot(x, x, 1).requires_grad


def test_where_keeps_python_values_python():
    """HIPS's ``where`` (which its users' code relies on): Python scalars and lists in, a
    Python value or list out; any array, numpy scalar or tensor among the inputs gives
    numpy's result (an array, or a tensor recording the graph)."""
    assert np.where(True, 1, 2) == 1 and type(np.where(True, 1, 2)) is int
    assert type(np.where(False, 1, 2.0)) is float and np.where(False, 1, 2.0) == 2.0
    assert np.where(True, [1, 2], [3, 4]) == [1, 2]
    assert np.where([True, False], 1.0, 2.0) == [1.0, 2.0]
    assert type(np.where(numpy.bool_(True), 1, 2)) is numpy.ndarray
    out = np.where(True, numpy.array([1.0], dtype=numpy.float32), 2.0)
    assert out.dtype == numpy.float32
    x = leaf(1.0, 2.0)
    y = np.where([True, False], x, 5.0)
    assert isinstance(y, Tensor) and y.requires_grad
    numpy.testing.assert_allclose(ag.grad(lambda v: np.sum(np.where([True, False], v, 5.0)))(
        numpy.array([1.0, 2.0])), [1.0, 0.0])


def test_numpy_names_looked_up_do_not_shadow_the_guard_s_builtins():
    """Names are cached in the module's globals on first use; np.any (numpy's) must not
    replace the builtin any the guard uses, or every guarded call would refuse arrays."""
    assert np.any is numpy.any and np.all is numpy.all
    numpy.testing.assert_allclose(np.convolve(numpy.array([1.0, 2.0]), [1.0, 1.0]), [1, 3, 2])
    numpy.testing.assert_allclose(np.convolve(leaf(1.0, 2.0).detach(), [1.0]), [1.0, 2.0])
    with pytest.raises(ag.ArgumentTypeError, match="convolve"):
        np.convolve(leaf(1.0, 2.0), [1.0])
