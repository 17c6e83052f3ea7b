"""grad / value_and_grad / hvp and higher-order gradients, against hand-derived values.

Every expected value here comes from calculus done by hand (written next to it) or from
numpy evaluating that formula, never from the library's own output.
"""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, grad, hvp, value_and_grad


def T(a, rg=True):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


# ----------------------------------------------------------------------------- grad, value_and_grad
def f_xy(x, y):
    return (x * y * y).sum()          # df/dx = y^2, df/dy = 2 x y


def test_grad_int_argnum():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_allclose(grad(f_xy)(x, y), y ** 2)
    np.testing.assert_allclose(grad(f_xy, argnum=1)(x, y), 2 * x * y)
    np.testing.assert_allclose(grad(f_xy, argnum=-1)(x, y), 2 * x * y)


def test_grad_tuple_argnum_and_value():
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    gx, gy = grad(f_xy, argnum=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y ** 2)
    np.testing.assert_allclose(gy, 2 * x * y)
    value, (gy2,) = value_and_grad(f_xy, argnum=(1,))(x, y)
    assert float(value) == pytest.approx(1 * 9 + 2 * 1)
    np.testing.assert_allclose(gy2, 2 * x * y)
    value, g = value_and_grad(f_xy)(x, y)
    assert isinstance(value, np.ndarray) and isinstance(g, np.ndarray)


def test_grad_accepts_scalars_lists_ints_and_tensors_and_leaves_them_alone():
    f = lambda x: (x ** 2).sum()          # 2x
    assert grad(f)(3.0) == pytest.approx(6.0)
    # a list is a pytree (HIPS/JAX): one gradient per element, in a list
    g = grad(lambda xs: xs[0] ** 2 + 3.0 * xs[1])([1.0, 2.0])
    assert isinstance(g, list) and [float(v) for v in g] == [2.0, 3.0]
    np.testing.assert_allclose(grad(f)(np.array([1, 2])), [2.0, 4.0])   # ints become floats
    t = T([1.0, -1.0])
    np.testing.assert_allclose(grad(f)(t), [2.0, -2.0])
    assert t.grad is None and t.is_leaf
    g = grad(f)(np.ones((2, 3)))
    assert g.shape == (2, 3) and isinstance(g, np.ndarray)


def test_grad_of_unused_argument_is_zeros():
    np.testing.assert_array_equal(grad(lambda x, y: (x * 2.0).sum(), 1)(T([1.0]), np.ones(3)),
                                  np.zeros(3))


def test_grad_errors():
    with pytest.raises(ag.GraphError, match="single value"):
        grad(lambda x: x * 2.0)(np.ones(3))
    with pytest.raises(IndexError, match="argnum"):
        grad(f_xy, argnum=2)(1.0, 2.0)


# ----------------------------------------------------------------------------- higher order
@pytest.mark.parametrize("x", [-2.0, -0.3, 0.0, 0.7, 1.9])
def test_second_derivative_of_tanh(x):
    # tanh' = 1 - tanh^2;  tanh'' = -2 tanh (1 - tanh^2)
    t = np.tanh(x)
    assert grad(grad(ag.tanh))(x) == pytest.approx(-2 * t * (1 - t * t), abs=1e-12)


@pytest.mark.parametrize("x", [-2.0, 0.0, 0.5, 3.0])
def test_second_and_third_derivative_of_cube(x):
    cube = lambda x: x ** 3                      # (x^3)' = 3x^2, '' = 6x, ''' = 6
    assert grad(cube)(x) == pytest.approx(3 * x * x)
    assert grad(grad(cube))(x) == pytest.approx(6 * x)
    assert grad(grad(grad(cube)))(x) == pytest.approx(6.0)
    cube_mul = lambda x: x * x * x               # the same through multiply
    assert grad(grad(cube_mul))(x) == pytest.approx(6 * x)


def test_fourth_derivative_of_sin():
    f = grad(grad(grad(grad(ag.sin))))           # sin'''' = sin
    assert f(0.8) == pytest.approx(np.sin(0.8))


def test_mixed_partial_through_argument_and_closure():
    # f = x^2 y^3:  d2f/dxdy = 6 x y^2
    f = lambda x, y: x * x * y ** 3
    x, y = 1.5, -2.0
    via_arg = grad(lambda y: grad(f, 0)(x, y))(y)
    via_closure = grad(lambda y: grad(lambda x: f(x, y))(x))(y)
    assert via_arg == pytest.approx(6 * x * y * y)
    assert via_closure == pytest.approx(6 * x * y * y)


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_logsumexp_hessian_is_diag_p_minus_ppT():
    # d lse / dx = p = softmax(x);  d2 lse / dx2 = diag(p) - p p^T
    rng = np.random.default_rng(3)
    x = rng.normal(size=4)
    p = _softmax(x)
    want = np.diag(p) - np.outer(p, p)
    lse = lambda x: ag.logsumexp(x)
    cols = [hvp(lse)(x, e) for e in np.eye(4)]
    np.testing.assert_allclose(np.stack(cols, axis=1), want, atol=1e-12)
    v = rng.normal(size=4)
    np.testing.assert_allclose(hvp(lse)(x, v), want @ v, atol=1e-12)
    # and as a Jacobian of the gradient, row by row with grad of grad
    for i in range(4):
        row = grad(lambda x: grad(lse)(x)[i])(x)
        np.testing.assert_allclose(row, want[i], atol=1e-12)


def test_hvp_of_sum_of_cubes_and_of_a_quadratic_form():
    x = np.array([1.0, -2.0, 0.5])
    v = np.array([0.3, 1.0, -1.0])
    np.testing.assert_allclose(hvp(lambda x: (x ** 3).sum())(x, v), 6 * x * v)   # H = diag(6x)
    A = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, -1.0], [1.0, 0.0, 1.0]])
    quad = lambda x: (x * (A @ x)).sum()          # x^T A x: H = A + A^T
    np.testing.assert_allclose(hvp(quad)(x, v), (A + A.T) @ v)


def test_backward_create_graph_records_the_backward_pass():
    x = T([1.0, 2.0, -1.0])
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Tensor) and g.requires_grad              # 3 x^2, recorded
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    x.grad = None
    (g * np.array([1.0, 10.0, 100.0])).sum().backward()           # d/dx sum(c 3x^2) = 6 c x
    np.testing.assert_allclose(x.grad, 6 * np.array([1.0, 10.0, 100.0]) * x.data)
    assert type(x.grad) is np.ndarray


def test_ordinary_backward_gives_plain_arrays_and_releases_the_graph():
    x = T([[1.0, 2.0], [3.0, 4.0]])
    w = T([0.5, -1.0])
    y = ag.tanh(x * w).sum()
    y.backward()
    assert type(x.grad) is np.ndarray and type(w.grad) is np.ndarray
    t = np.tanh(x.data * w.data)
    np.testing.assert_allclose(x.grad, (1 - t * t) * w.data)
    with pytest.raises(ag.GraphError, match="second time"):
        y.backward()


def test_grad_of_grad_through_every_activation_at_a_point():
    # d2/dx2 of each activation at x = 0.3, by hand
    x = 0.3
    s = 1 / (1 + np.exp(-x))
    cases = {
        ag.sigmoid: s * (1 - s) * (1 - 2 * s),
        ag.exp: np.exp(x),
        ag.log: -1 / x ** 2,
        ag.sqrt: -0.25 * x ** -1.5,
        ag.sin: -np.sin(x),
        ag.cos: -np.cos(x),
        ag.relu: 0.0,
        ag.abs: 0.0,
    }
    for f, want in cases.items():
        assert grad(grad(f))(x) == pytest.approx(want, rel=1e-9, abs=1e-12), f
