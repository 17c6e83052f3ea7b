"""The README's gradient-checking examples, run as written (keep the two in sync)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd as ag

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

USER_TEST_FILE = '''
import numpy as np
import autograd as ag
from autograd.testing import tensors, property_gradcheck


@ag.primitive(domain=[None])            # one entry per input: None = any real value
def softplus(x):                         # forward: numpy in, numpy out
    return np.logaddexp(0.0, x)


@softplus.defvjp
def softplus_vjp(g, out, x):             # d softplus(x) = sigmoid(x) dx
    return g * ag.sigmoid(x)             # library ops, so grad of grad works too


# (max_examples kept small here only to keep this test quick)
test_softplus = property_gradcheck(softplus, tensors(), order=2, max_examples=15)
test_weighted = property_gradcheck(lambda x, w: (softplus(x) * w).sum(axis=0),
                                   tensors(shape=(3, 2)), tensors(shape=(2,)), max_examples=15)

@ag.primitive(domain=[None])
def bad_sin(x):
    return np.sin(x)

bad_sin.defvjp(lambda g, out, x: g * ag.cos(x) * 2.0)   # wrong on purpose

test_bad_sin = property_gradcheck(bad_sin, tensors(), max_examples=10)
'''


def test_user_property_tests_are_collected_and_a_wrong_vjp_fails(tmp_path):
    (tmp_path / "test_mine.py").write_text(USER_TEST_FILE)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(tmp_path / "test_mine.py")], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ROOT})
    out = r.stdout + r.stderr
    assert "2 passed" in out and "1 failed" in out, out
    assert "test_bad_sin" in out and "GradcheckError" in out and "analytic" in out


def test_readme_gradcheck_and_functional_examples():
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w = ag.Tensor(rng.normal(size=(4, 2)), requires_grad=True)
    assert ag.gradcheck(lambda x, w: ag.tanh(x @ w), x, w)        # True, or GradcheckError
    assert ag.gradgradcheck(lambda x, w: ag.tanh(x @ w), x, w)    # second derivatives

    @ag.primitive(name="readme_bad_sin", register=False)
    def bad_sin(x):
        return np.sin(x)
    bad_sin.defvjp(lambda g, out, x: g * ag.cos(x) * 2.0)
    with pytest.raises(ag.GradcheckError, match=r"input 0 \(shape \(1,\)\) is wrong at index"):
        ag.gradcheck(bad_sin, ag.Tensor([0.5], requires_grad=True))
    assert ag.gradcheck(bad_sin, ag.Tensor([0.5], requires_grad=True),
                        raise_exception=False) is False

    f = lambda x, y: (x * y ** 2).sum()
    x0, y0 = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_allclose(ag.grad(f)(x0, y0), y0 ** 2)
    gx, gy = ag.grad(f, argnum=(0, 1))(x0, y0)
    np.testing.assert_allclose(gy, 2 * x0 * y0)
    value, g = ag.value_and_grad(f, argnum=1)(x0, y0)
    assert value == 1 * 9 + 2 * 16
    t = np.tanh(0.5)
    assert ag.grad(ag.grad(ag.tanh))(0.5) == pytest.approx(-2 * t * (1 - t * t))
    v = np.array([1.0, 0.0])
    p = np.exp(x0) / np.exp(x0).sum()
    np.testing.assert_allclose(ag.hvp(ag.logsumexp)(x0, v), (np.diag(p) - np.outer(p, p)) @ v)

    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)    # x.grad: 3x^2, a Tensor with a graph
    g = x.grad
    x.grad = None
    g.sum().backward()                            # x.grad == 6x
    np.testing.assert_allclose(x.grad, [6.0, 12.0])


def test_property_gradcheck_has_no_deadline_whatever_the_profile():
    # a profile with hypothesis' default deadline (200 ms) must not reach the gradient check:
    # its first examples pay one-time costs, and a slow one failed as FlakyFailure under load
    from hypothesis import settings
    from autograd.testing import property_gradcheck, tensors
    previous = os.environ.get("AUTOGRAD_HYPOTHESIS_PROFILE", "dev")    # what conftest loaded
    settings.register_profile("with_deadline_200ms", deadline=200)
    settings.load_profile("with_deadline_200ms")
    try:
        assert settings().deadline is not None
        test = property_gradcheck(lambda x: (x * x).sum(), tensors(), max_examples=2)
    finally:
        settings.load_profile(previous)
    assert test._hypothesis_internal_use_settings.deadline is None
    test()
