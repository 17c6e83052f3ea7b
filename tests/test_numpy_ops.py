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


# ----------------------------------------------------------------------------- products
@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0], [1e-200, 1e-200, 3.0]])
def test_prod_gradient_is_the_product_of_the_others_even_at_zeros(x):
    x = numpy.array(x)
    want = [numpy.prod(numpy.delete(x, i)) for i in range(len(x))]
    numpy.testing.assert_allclose(grad_of(np.prod, x), want, rtol=1e-12)
    # recorded backward (second order) at zeros: d^2 prod / dx_i dx_j = prod of the rest
    h = numpy.array([ag.grad(lambda v, i=i: ag.grad(np.prod)(v)[i])(x) for i in range(len(x))])
    want_h = [[0.0 if i == j else numpy.prod(numpy.delete(x, [i, j])) for j in range(len(x))]
              for i in range(len(x))]
    numpy.testing.assert_allclose(h, want_h, rtol=1e-12, atol=0)


def test_cumprod_gradient_with_zeros():
    x = numpy.array([2.0, 0.0, 3.0, 4.0])
    w = numpy.array([1.0, 2.0, 3.0, 4.0])
    f = lambda v: np.sum(np.cumprod(v) * w)      # noqa: E731
    # f = x0 + 2 x0 x1 + 3 x0 x1 x2 + 4 x0 x1 x2 x3
    numpy.testing.assert_allclose(grad_of(f, x), [1.0, 2 * 2 + 3 * 6 + 4 * 24, 0.0, 0.0])
    numpy.testing.assert_allclose(grad_of(f, x + 1.0), numeric(f, x + 1.0), rtol=1e-7)


def test_cumsum_flattens_without_axis():
    x = Tensor(numpy.arange(6.0).reshape(2, 3), requires_grad=True)
    np.sum(np.cumsum(x) * numpy.arange(6.0)).backward()
    # d/dx_i sum_k k * cumsum_k = sum_{k >= i} k
    numpy.testing.assert_allclose(x.grad.ravel(), [15.0, 15.0, 14.0, 12.0, 9.0, 5.0])


# ----------------------------------------------------------------------------- HIPS extras
def test_std_gradient_is_zero_without_spread_and_exact_with_it():
    assert grad_of(np.std, 3.5) == 0.0
    x = numpy.array([1.0, 2.0, 4.0])
    numpy.testing.assert_allclose(grad_of(np.std, x), numeric(lambda v: numpy.std(v), x), rtol=1e-7)


def test_make_diagonal_is_the_inverse_of_diagonal():
    d = Tensor(numpy.arange(6.0).reshape(2, 3), requires_grad=True)
    m = np.make_diagonal(d, axis1=-1, axis2=-2)
    want = numpy.zeros((2, 3, 3))
    for i in range(2):
        want[i] = numpy.diag(numpy.arange(6.0).reshape(2, 3)[i])
    numpy.testing.assert_array_equal(m.data, want)
    np.sum(m * numpy.arange(9.0).reshape(3, 3)).backward()
    numpy.testing.assert_array_equal(d.grad, [[0.0, 4.0, 8.0]] * 2)


def test_real_input_complex_helpers():
    x = Tensor([-1.0, 2.0], requires_grad=True)
    np.sum(np.real(x) * 2 + np.conj(x) + np.imag(x) + np.angle(x)).backward()
    numpy.testing.assert_array_equal(x.grad, [3.0, 3.0])
    numpy.testing.assert_array_equal(np.angle(x).data, [numpy.pi, 0.0])


def test_reductions_of_python_scalars_and_bools():
    assert np.sum(True) == 1 and np.mean(3.0) == 3.0


# ----------------------------------------------------------------------------- einsum
def test_einsum_gradient_where_a_letter_broadcasts_from_size_1():
    a = Tensor(numpy.arange(6.0).reshape(2, 3), requires_grad=True)
    b = Tensor(numpy.ones((1, 4)), requires_grad=True)       # j: 3 in a, 1 (broadcast) in b
    out = np.einsum("ij,jk->ik", a, b)
    numpy.testing.assert_allclose(out.data, numpy.einsum("ij,jk->ik", a.data, b.data))
    np.sum(out).backward()
    numpy.testing.assert_allclose(a.grad, numpy.full((2, 3), 4.0))     # sum over k of b
    numpy.testing.assert_allclose(b.grad, numpy.full((1, 4), 15.0))    # sum over i, j of a
    assert ag.gradgradcheck(lambda x, y: np.einsum("ij,jk->ik", x, y), a, b)


# ----------------------------------------------------------------------------- hand-picked
# derivatives by hand (textbook forms, independent of the vjps), at a few points each
DERIVATIVES = {
    "tan": (lambda x: 1.0 / numpy.cos(x) ** 2, [-1.2, 0.3, 1.0]),
    "arcsin": (lambda x: 1.0 / numpy.sqrt(1.0 - x * x), [-0.9, 0.0, 0.5]),
    "arccos": (lambda x: -1.0 / numpy.sqrt(1.0 - x * x), [-0.9, 0.0, 0.5]),
    "arctan": (lambda x: 1.0 / (1.0 + x * x), [-3.0, 0.0, 2.0]),
    "sinh": (numpy.cosh, [-2.0, 0.0, 1.5]),
    "cosh": (numpy.sinh, [-2.0, 0.0, 1.5]),
    "arcsinh": (lambda x: 1.0 / numpy.sqrt(x * x + 1.0), [-2.0, 0.0, 3.0]),
    "arccosh": (lambda x: 1.0 / numpy.sqrt(x * x - 1.0), [1.1, 2.0, 5.0]),
    "arctanh": (lambda x: 1.0 / (1.0 - x * x), [-0.9, 0.0, 0.5]),
    "log2": (lambda x: 1.0 / (x * numpy.log(2.0)), [0.1, 1.0, 8.0]),
    "log10": (lambda x: 1.0 / (x * numpy.log(10.0)), [0.1, 1.0, 8.0]),
    "exp2": (lambda x: numpy.log(2.0) * 2.0 ** x, [-3.0, 0.0, 2.5]),
    "cbrt": (lambda x: 1.0 / (3.0 * numpy.abs(x) ** (2.0 / 3.0)), [-8.0, 0.5, 27.0]),
    "rad2deg": (lambda x: numpy.full_like(x, 180.0 / numpy.pi), [-1.0, 2.0]),
    "deg2rad": (lambda x: numpy.full_like(x, numpy.pi / 180.0), [-90.0, 45.0]),
}


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_unary_derivative_by_hand(name):
    d, points = DERIVATIVES[name]
    x = numpy.array(points)
    f = getattr(np, name)
    numpy.testing.assert_allclose(f(Tensor(x)).data, getattr(numpy, name)(x), rtol=1e-15)
    numpy.testing.assert_allclose(grad_of(lambda v: np.sum(f(v)), x), d(x), rtol=1e-12)


def test_hypot_and_arctan2_by_hand():
    x, y = 3.0, 4.0
    # d hypot = (x, y) / r;  d atan2(y, x) = (-y, x) / r^2 in (dx, dy)
    assert ag.grad(lambda a: np.hypot(a, y))(x) == pytest.approx(0.6)
    assert ag.grad(lambda b: np.hypot(x, b))(y) == pytest.approx(0.8)
    assert ag.grad(lambda b: np.arctan2(b, x))(y) == pytest.approx(3.0 / 25.0)
    assert ag.grad(lambda a: np.arctan2(y, a))(x) == pytest.approx(-4.0 / 25.0)
