"""Regression tests for bugs the registry sweep found (each with its hand-derived value)."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def test_power_second_derivative_at_zero_exponent():
    # f(x, y) = x**y;  d2f/dxdy = x**(y-1) (1 + y log x) = 1/x at y = 0.  The vjp used to
    # mask d/dx to a constant 0 wherever y == 0, which dropped this term.
    x = 2.0
    assert ag.grad(lambda y: ag.grad(lambda x: x ** y)(x))(0.0) == pytest.approx(1 / x)
    assert ag.gradgradcheck(ag.power, Tensor([1.0, 2.5], requires_grad=True),
                            Tensor([0.0, 0.0], requires_grad=True))
    # first order at x = 0 is still finite: d(x**0)/dx = 0, d(x**2)/dx = 0
    assert ag.grad(lambda x: x ** 0.0)(0.0) == 0.0
    assert ag.grad(lambda x: x ** 2.0)(0.0) == 0.0


def test_inner_grad_records_when_the_outer_variable_is_not_its_argnum():
    # d/dy [d/dx x**y at x = 2] = d/dy [y 2**(y-1)] = 2**(y-1) (1 + y log 2); 0.5 at y = 0.
    # The inner grad used to return a constant unless its own argnum required grad.
    want = lambda y: 2 ** (y - 1) * (1 + y * np.log(2))
    assert ag.grad(lambda y: ag.grad(lambda x, y: x ** y)(2.0, y))(0.0) == pytest.approx(0.5)
    assert ag.grad(lambda y: ag.grad(lambda x: x ** y)(2.0))(1.5) == pytest.approx(want(1.5))


def test_gelu_of_a_0d_tensor():
    # the numpy twin of the gelu kernel wrote into a numpy scalar for 0-d input
    x = 0.3
    want = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    for dt in (np.float64, np.float32):
        out = ag.gelu(Tensor(np.array(x, dtype=dt)))
        assert out.shape == () and out.dtype == dt
        assert float(out.data) == pytest.approx(want, rel=1e-6)
    assert ag.gradcheck(ag.gelu, Tensor(0.3, requires_grad=True))


def test_gradcheck_of_ops_that_return_their_input():
    # astype to the same dtype returns x itself; gradcheck's finite differences read the
    # perturbed buffer twice and saw a zero numeric gradient
    x = Tensor([0.5, -1.0], requires_grad=True)
    assert ag.gradcheck(lambda x: ag.astype(x, np.float64), x)
    assert ag.gradcheck(ag.identity, x)


def test_gradcheck_fails_on_nan_gradients():
    f = ag.primitive(lambda x: x * 1.0, name="_test_nan_vjp", register=False)
    f.defvjp(lambda g, out, x: g * np.nan)
    assert ag.gradcheck(f, Tensor([1.0], requires_grad=True), raise_exception=False) is False
