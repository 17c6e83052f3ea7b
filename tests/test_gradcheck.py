"""gradcheck / gradgradcheck: passing, failing with a useful message, float32 handling, and
custom primitives (a correct one, and a deliberately wrong vjp that both gradcheck and
property_gradcheck catch)."""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as ag
from autograd import GradcheckError, OPS, Tensor, gradcheck, gradgradcheck
from autograd.testing import (OP_STRATEGIES, OpCase, domain_tensors, op_strategy,
                              property_gradcheck, register_op_strategy, tensors)


def T(a, rg=True, dtype=np.float64):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=rg)


@pytest.fixture
def scratch_ops():
    """Names of primitives a test registers; removed from OPS (and the strategy table)
    afterwards so the registry sweep sees only real primitives."""
    names = []
    yield names
    for n in names:
        OPS.pop(n, None)
        OP_STRATEGIES.pop(n, None)


# ----------------------------------------------------------------------------- gradcheck
def test_gradcheck_passes_on_correct_gradients():
    rng = np.random.default_rng(0)
    x, w = T(rng.normal(size=(3, 4))), T(rng.normal(size=(4, 2)))
    assert gradcheck(lambda x, w: ag.tanh(x @ w), x, w) is True
    assert gradcheck(lambda x: (x * x).sum(), x) is True       # scalar output
    assert gradgradcheck(lambda x, w: ag.tanh(x @ w), x, w) is True


def test_gradcheck_checks_only_inputs_that_require_grad_and_passes_others_through():
    seen = {}

    def f(x, c, k, axis):
        seen.update(c=type(c), k=k, axis=axis)
        return (x * c).sum(axis=axis) * k

    c = np.arange(6.0).reshape(2, 3)
    assert gradcheck(f, T(np.ones((2, 3))), c, 3, 1)
    assert seen == {"c": np.ndarray, "k": 3, "axis": 1}
    # an input without requires_grad is a constant: gradcheck does not differentiate it
    assert gradcheck(lambda x, y: x * y, T([1.0, 2.0]), T([3.0, 4.0], rg=False))


def _wrong_sin():
    @ag.primitive(name="_test_wrong_sin")
    def wrong_sin(x):
        return np.sin(x)

    @wrong_sin.defvjp
    def wrong_sin_vjp(g, out, x):
        return g * ag.cos(x) * 1.5    # deliberately wrong: 1.5 cos(x)
    return wrong_sin


def test_gradcheck_error_names_input_index_values_and_largest_error(scratch_ops):
    wrong_sin = _wrong_sin()
    scratch_ops.append("_test_wrong_sin")
    x = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    y = T(x)
    y.name = "angles"
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a * wrong_sin(b), T([1.0], rg=False), y)
    msg = str(info.value)
    assert "input 1 ('angles')" in msg
    assert "shape (2, 3)" in msg
    m = re.search(r"at index \((\d+), (\d+)\): analytic (\S+), numeric (\S+); largest error (\S+)",
                  msg)
    assert m, msg
    i, j = int(m.group(1)), int(m.group(2))
    analytic, numeric = float(m.group(3).rstrip(",")), float(m.group(4).rstrip(";"))
    # independently: the true vjp is v * cos(x), the wrong one 1.5 v * cos(x), same v
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)
    assert numeric != 0 and abs(numeric) <= np.abs(np.cos(x)).max() * 10
    assert 0 <= i < 2 and 0 <= j < 3
    assert float(m.group(5)) >= abs(analytic - numeric) * (1 - 1e-9)
    # GradcheckError is an AssertionError, so plain pytest reporting works
    assert isinstance(info.value, AssertionError)


def test_gradcheck_raise_exception_false_returns_false(scratch_ops):
    wrong_sin = _wrong_sin()
    scratch_ops.append("_test_wrong_sin")
    assert gradcheck(wrong_sin, T([0.3, 1.0]), raise_exception=False) is False
    # gradgradcheck checks the vjp's own derivatives, not the first order: 1.5 g cos(x) is
    # a consistently differentiable (if wrong) vjp, so only gradcheck flags it
    assert gradgradcheck(wrong_sin, T([0.3, 1.0]), raise_exception=False) is True
    assert gradgradcheck(_const_cos_sin(), T([0.3, 1.0]), raise_exception=False) is False


def test_gradcheck_nan_gradient_fails():
    @ag.primitive(name="_test_nan_grad", register=False)
    def f(x):
        return x * 2.0

    f.defvjp(lambda g, out, x: g * np.nan)
    with pytest.raises(GradcheckError, match="analytic nan"):
        gradcheck(f, T([1.0, 2.0]))


def test_gradcheck_misuse_errors():
    with pytest.raises(ag.GraphError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, T([1.0], rg=False))
    with pytest.raises(ag.GraphError, match="must return a Tensor"):
        gradcheck(lambda x: 3.0, T([1.0]))


def test_gradcheck_leaves_callers_tensors_alone():
    x = T([1.0, 2.0])
    w = T([3.0, 4.0])          # captured, requires grad: its .grad must stay untouched
    data = x.data.copy()
    assert gradcheck(lambda x: (x * w).sum(), x)
    assert x.grad is None and w.grad is None
    np.testing.assert_array_equal(x.data, data)


def test_gradgradcheck_catches_a_vjp_that_is_not_differentiable_in_g():
    """A vjp that reads g's numbers (not g itself) is right to first order, but the outer
    backward cannot see through it: gradgradcheck catches it via the seed input."""
    @ag.primitive(name="_test_detached_g", register=False)
    def f(x):
        return np.sin(x)

    def vjp(g, out, x):
        gd = g.data if isinstance(g, Tensor) else g
        return ag.cos(x) * gd
    f.defvjp(vjp)
    x = T([0.3, -1.2, 2.0])
    assert gradcheck(f, x)
    with pytest.raises(GradcheckError, match="output seed v"):
        gradgradcheck(f, x)


def _const_cos_sin():
    """sin with its vjp written with numpy's cos on x's numbers: right to first order, but
    the recorded backward sees cos(x) as a constant, so second order is wrong."""
    @ag.primitive(name="_test_const_cos", register=False)
    def f(x):
        return np.sin(x)

    f.defvjp(lambda g, out, x: g * np.cos(getattr(x, "data", x)))
    return f


def test_gradgradcheck_catches_a_wrong_second_derivative():
    f = _const_cos_sin()
    x = T([0.3, -1.2, 2.0])
    assert gradcheck(f, x)
    with pytest.raises(GradcheckError, match=r"gradgradcheck: the second-order gradient w\.r\.t\. "
                                             r"input 0"):
        gradgradcheck(f, x)


# ----------------------------------------------------------------------------- float32
def test_float32_inputs_are_checked_in_float64_copies():
    seen = []

    def f(x):
        seen.append(x.dtype)
        return ag.exp(x) * 3.0

    x = Tensor(np.array([0.5, 1.5, -2.0], dtype=np.float32), requires_grad=True)
    before = x.data.copy()
    assert gradcheck(f, x)
    assert gradgradcheck(f, x)
    assert set(seen) == {np.dtype(np.float64)}
    assert x.dtype == np.float32 and x.grad is None
    np.testing.assert_array_equal(x.data, before)


def test_float32_finite_differences_would_be_noise():
    """Why the float64 copies: the same central difference done in float32 is far off."""
    x = np.float32(1.5)
    eps = np.float32(1e-6)
    fd32 = (np.exp(x + eps) - np.exp(x - eps)) / (2 * eps)
    assert abs(float(fd32) - np.exp(1.5)) > 1e-2 * np.exp(1.5)


# ----------------------------------------------------------------------------- custom primitives
def test_custom_primitive_is_registered_usable_and_checkable(scratch_ops):
    @ag.primitive(name="_test_cube", domain=[None])
    def cube(x):
        return x ** 3

    @cube.defvjp
    def cube_vjp(g, out, x):       # d x^3 = 3 x^2 dx, written with library ops: differentiable
        return g * 3.0 * x * x

    scratch_ops.append("_test_cube")
    assert OPS["_test_cube"] is cube and not cube.library
    # usable in the graph like any op
    x = T([1.0, -2.0, 0.5])
    (cube(x) * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, 6.0 * np.array([1.0, 4.0, 0.25]))
    assert cube(np.array([2.0])).tolist() == [8.0]     # ndarray in, ndarray out
    # checkable by gradcheck, to second order, and by the strategies
    assert gradcheck(cube, x) and gradgradcheck(cube, x)
    assert ag.grad(ag.grad(lambda x: cube(x)))(2.0) == pytest.approx(12.0)   # (x^3)'' = 6x


def test_custom_primitive_with_per_input_vjps(scratch_ops):
    @ag.primitive(name="_test_hypot", domain=[None, None])
    def hypot(x, y):
        return np.sqrt(x * x + y * y)

    hypot.defvjp(lambda g, out, x, y: g * x / out,    # d sqrt(x^2+y^2)/dx = x / r
                 lambda g, out, x, y: g * y / out)
    scratch_ops.append("_test_hypot")
    assert gradcheck(hypot, T([3.0, 1.0]), T([[4.0], [2.0]]))
    assert gradgradcheck(hypot, T([3.0, 1.0]), T([[4.0], [2.0]]))


def test_wrong_vjp_is_caught_by_gradcheck_and_by_property_gradcheck(scratch_ops):
    wrong_sin = _wrong_sin()
    scratch_ops.append("_test_wrong_sin")
    with pytest.raises(GradcheckError):
        gradcheck(wrong_sin, T([0.1, 0.7]))

    test_wrong = property_gradcheck(wrong_sin, tensors(min_value=-3.0, max_value=3.0),
                                    max_examples=20)
    assert test_wrong.__name__ == "test_gradcheck_wrong_sin"
    with pytest.raises(GradcheckError, match="gradcheck: the gradient"):
        test_wrong()


def test_wrong_vjp_is_caught_through_a_registered_op_strategy(scratch_ops):
    wrong_sin = _wrong_sin()
    scratch_ops.append("_test_wrong_sin")
    register_op_strategy("_test_wrong_sin", tensors().map(lambda x: OpCase((x,))))
    with pytest.raises(GradcheckError):
        property_gradcheck("_test_wrong_sin", max_examples=10)()


def test_property_gradcheck_passes_a_correct_function_and_op():
    calls = []

    def softplus(x):
        calls.append(x.shape)
        return ag.log(1.0 + ag.exp(x))

    test = property_gradcheck(softplus, tensors(), max_examples=5, order=2)
    test()
    assert calls                                         # it ran
    property_gradcheck("matmul", max_examples=5, order=2)()
    property_gradcheck(OPS["relu"], max_examples=5)()


def test_property_gradcheck_user_primitive_with_static_parameter(scratch_ops):
    @ag.primitive(name="_test_scale_pow", domain=[(0.0, None)])
    def scale_pow(x, k=2):
        return x ** k

    scale_pow.defvjp(lambda g, out, x, k=2: g * k * x ** (k - 1))
    scratch_ops.append("_test_scale_pow")

    @register_op_strategy("_test_scale_pow")
    @st.composite
    def cases(draw):
        x = draw(domain_tensors("_test_scale_pow", 0))
        return OpCase((x,), {"k": draw(st.integers(1, 4))})

    property_gradcheck("_test_scale_pow", max_examples=10, order=2)()

    @given(case=op_strategy("_test_scale_pow"))
    def drawn_from_domain(case):
        assert (case.args[0].data > 0).all() and case.kwargs["k"] in range(1, 5)
    drawn_from_domain()


def test_property_gradcheck_argument_errors():
    with pytest.raises(ValueError, match="input strategy"):
        property_gradcheck(lambda x: x)
    with pytest.raises(ValueError, match="order"):
        property_gradcheck(lambda x: x, tensors(), order=3)
    with pytest.raises(ag.InvalidValueError, match="no input strategy registered"):
        op_strategy(ag.primitive(lambda x: x, name="_test_unregistered", register=False))
