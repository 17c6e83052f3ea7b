"""Configuration and argument errors (issue 17): bad environment variables are reported as
configuration errors naming the variable; gradcheck refuses bad arguments; gelu's gradient
is finite wherever its forward is (float32 at +-1e20)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd as ag
from autograd import kernels as K

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USE_NUMBA = ("import numpy as np; from autograd import kernels as K\n"
             "with K.forced('numba'): K.activation(np.ones(3), 1)")


@pytest.mark.parametrize("env, code, words", [
    ({"AUTOGRAD_KERNELS": ""}, "import autograd", "AUTOGRAD_KERNELS"),
    ({"AUTOGRAD_KERNELS": "fast"}, "import autograd", "AUTOGRAD_KERNELS"),
    ({"NUMBA_NUM_THREADS": "0"}, USE_NUMBA, "NUMBA_NUM_THREADS"),
    ({"NUMBA_NUM_THREADS": "two"}, USE_NUMBA, "NUMBA_NUM_THREADS"),
])
def test_bad_environment_is_a_configuration_error_naming_the_variable(env, code, words):
    pytest.importorskip("numba")
    full = dict(os.environ, PYTHONPATH=ROOT, **env)
    p = subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode != 0
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("autograd.errors.InvalidValueError: configuration:"), p.stderr[-1500:]
    assert words in last


@pytest.mark.parametrize("kw, words", [
    ({"eps": 0}, "eps"), ({"eps": -1e-6}, "eps"), ({"eps": float("nan")}, "eps"),
    ({"eps": "1e-6"}, "eps"), ({"atol": -1.0}, "atol"), ({"rtol": float("inf")}, "rtol"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
])
def test_gradcheck_refuses_bad_arguments(kw, words):
    x = ag.Tensor([1.0, 2.0], requires_grad=True)
    for check in (ag.gradcheck, ag.gradgradcheck):
        with pytest.raises(ag.InvalidValueError, match=words):
            check(lambda t: (t * t).sum(), x, **kw)
    with pytest.raises(ag.InvalidValueError, match="callable"):
        ag.gradcheck(3, x)


@pytest.mark.parametrize("mode", ["numpy", "numba"])
def test_gelu_gradient_is_finite_where_the_forward_is(mode):
    x = ag.Tensor(np.array([1e20, -1e20, 3e38, -3e38, 2.0], np.float32), requires_grad=True)
    with K.forced(mode), np.errstate(over="ignore", invalid="ignore"):
        y = ag.gelu(x)
        y.backward(np.ones(5, np.float32))
    assert np.all(np.isfinite(y.data))
    np.testing.assert_array_equal(x.grad[:4], [1.0, 0.0, 1.0, 0.0])
    assert np.isfinite(x.grad[4])


def test_gelu_second_order_is_finite_at_the_edge():
    x = ag.Tensor(np.array([1e20, -1e20, 0.5]), requires_grad=True)
    with np.errstate(over="ignore", invalid="ignore"):
        y = ag.gelu(x).sum()
        y.backward(create_graph=True)
        gx = x.grad
        x.grad = None
        gx.sum().backward()
    assert np.all(np.isfinite(x.grad))
