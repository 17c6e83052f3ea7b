"""autograd.numpy's functions beyond the registry sweep: stable forms at the edges, numpy's
argument conventions, values and gradients against numpy and against hand derivations."""
import numpy
import pytest

import autograd as ag
import autograd.numpy as np
from autograd import Tensor


def grad_of(f, x):
    return ag.grad(f)(numpy.asarray(x, dtype=float))


def numeric(f, x, eps=1e-6):
    x = numpy.asarray(x, dtype=float)
    out = numpy.zeros_like(x)
    for i in numpy.ndindex(x.shape):
        e = numpy.zeros_like(x)
        e[i] = eps
        out[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


# ----------------------------------------------------------------------------- elementwise
def test_log1p_and_expm1_keep_precision_near_zero():
    x = 1e-12
    assert np.log1p(Tensor(x)).item() == pytest.approx(x, rel=1e-12)
    assert np.expm1(Tensor(x)).item() == pytest.approx(x, rel=1e-12)
    assert grad_of(np.log1p, x) == pytest.approx(1.0 / (1.0 + x), rel=1e-15)
    assert grad_of(np.expm1, x) == pytest.approx(1.0 + x, rel=1e-15)   # e^x


def test_logaddexp_is_stable_for_large_and_small_arguments():
    for a, b in [(1000.0, 1000.0), (-1000.0, -1001.0), (800.0, -800.0)]:
        g = ag.grad(lambda x: np.logaddexp(x, b))(a)
        want = 1.0 / (1.0 + numpy.exp(b - a))
        assert numpy.isfinite(g) and g == pytest.approx(want, rel=1e-12)
        g2 = ag.grad(lambda x: np.logaddexp2(x, b))(a)
        assert g2 == pytest.approx(1.0 / (1.0 + 2.0 ** (b - a)), rel=1e-12)


@pytest.mark.parametrize("x", [0.0, 1e-9, -1e-5, 1e-3, 2e-3, 0.37, -2.5])
def test_sinc_gradient_is_exact_near_zero(x):
    # d/dx sin(pi x)/(pi x) = (pi x cos(pi x) - sin(pi x)) / (pi x^2), series -pi^2 x / 3 at 0
    t = numpy.pi * x
    want = -numpy.pi ** 2 * x / 3 if abs(x) < 1e-4 else (t * numpy.cos(t) - numpy.sin(t)) / (numpy.pi * x * x)
    assert grad_of(np.sinc, x) == pytest.approx(want, rel=1e-7, abs=1e-15)
    # second derivative at 0 is -pi^2/3
    if x == 0.0:
        assert ag.grad(ag.grad(np.sinc))(0.0) == pytest.approx(-numpy.pi ** 2 / 3, rel=1e-6)


def test_zero_gradient_functions():
    for f in (np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix, np.sign):
        assert numpy.all(grad_of(lambda x: np.sum(f(x)), [1.3, -2.7]) == 0.0)
    # d/dx floor(x) x = floor(x) between the jumps
    numpy.testing.assert_array_equal(grad_of(lambda x: np.sum(np.floor(x) * x), [1.3, -2.7]),
                                     [1.0, -3.0])
    numpy.testing.assert_array_equal(np.round(Tensor([1.234, 2.5]), 1).data, [1.2, 2.5])


def test_reciprocal_mod_and_arctan2_off_the_sweep_domain():
    numpy.testing.assert_allclose(grad_of(np.reciprocal, -4.0), -1.0 / 16.0)
    # x mod y for negative y: numpy's sign convention; d/dy = -floor(x / y)
    x, y = 5.5, -2.0
    numpy.testing.assert_allclose(np.mod(Tensor(x), y).data, numpy.mod(x, y))
    numpy.testing.assert_allclose(ag.grad(lambda v: np.mod(x, v))(y), -numpy.floor(x / y))
    numpy.testing.assert_allclose(ag.grad(lambda v: np.fmod(x, v))(y), -numpy.trunc(x / y))
    gy = ag.grad(lambda v: np.arctan2(v, -1.0))(0.5)
    assert gy == pytest.approx(-1.0 / 1.25)


def test_fmax_fmin_send_the_gradient_past_nan():
    x = Tensor([numpy.nan, 2.0, 1.0], requires_grad=True)
    y = Tensor([1.0, numpy.nan, 3.0], requires_grad=True)
    np.sum(np.fmax(x, y)).backward()
    numpy.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    numpy.testing.assert_array_equal(y.grad, [1.0, 0.0, 1.0])


def test_nan_to_num_passes_the_gradient_only_where_finite():
    x = Tensor([numpy.nan, numpy.inf, 2.0], requires_grad=True)
    out = np.nan_to_num(x, posinf=7.0)
    numpy.testing.assert_array_equal(out.data, [0.0, 7.0, 2.0])
    np.sum(out).backward()
    numpy.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def test_aliases_and_float_power():
    assert np.radians is np.deg2rad and np.degrees is np.rad2deg and np.remainder is np.mod
    assert np.fabs is np.absolute and np.around is np.round
    out = np.float_power(Tensor([2.0], dtype=numpy.float32), 2)
    assert out.dtype == numpy.float64 and out.data[0] == 4.0
