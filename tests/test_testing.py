"""autograd.testing: the strategies produce what they promise, the registry table works,
and hypothesis stays a test-only dependency."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as ag
from autograd import OPS, Tensor
from autograd.testing import (OP_STRATEGIES, OpCase, broadcastable_shapes, in_domain,
                              kink_distance, op_strategy, register_op_strategy, shapes,
                              tensors, valid_axes)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_import_autograd_does_not_import_hypothesis():
    r = _python("import sys, autograd; import autograd.gradcheck; "
                "print('hypothesis' in sys.modules, 'autograd.testing' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_testing_without_hypothesis_raises_a_clear_import_error():
    r = _python("import sys; sys.modules['hypothesis'] = None\n"
                "import autograd\n"
                "try:\n    import autograd.testing\n"
                "except ImportError as e:\n    print('MSG', e)\n")
    assert r.returncode == 0, r.stderr
    assert "MSG autograd.testing needs hypothesis" in r.stdout
    assert "pip install hypothesis" in r.stdout


@given(x=tensors())
def test_tensors_defaults(x):
    assert isinstance(x, Tensor) and x.requires_grad and x.dtype == np.float64
    assert x.ndim <= 3 and all(1 <= s <= 4 for s in x.shape)
    assert np.all(np.isfinite(x.data)) and np.all(np.abs(x.data) <= 10.0)


@given(x=tensors((2, 3), dtype="float32", min_value=-1.0, max_value=0.5, requires_grad=False))
def test_tensors_shape_dtype_bounds(x):
    assert x.shape == (2, 3) and x.dtype == np.float32 and not x.requires_grad
    assert np.all(x.data >= -1.0) and np.all(x.data <= 0.5)


@given(x=tensors(domain=(0.0, None), away_from=(1.0,), margin=0.01),
       i=tensors(4, dtype="int64", min_value=-2, max_value=2),
       b=tensors(shape=shapes(min_dims=1), dtype="bool"))
def test_tensors_domain_kinks_and_non_float(x, i, b):
    assert np.all(x.data >= 0.01) and np.all(np.abs(x.data - 1.0) >= 0.01)
    assert i.shape == (4,) and i.dtype == np.int64 and not i.requires_grad
    assert np.all(np.abs(i.data) <= 2)
    assert b.dtype == np.bool_ and b.ndim >= 1


@given(x=tensors(shape=(5,), unique=True))
def test_tensors_unique(x):
    assert len(set(x.data.tolist())) == 5


def test_tensors_rejects_empty_ranges_and_bad_dtypes():
    with pytest.raises(ValueError, match="empty value range"):
        tensors(domain=(20.0, None)).example()
    with pytest.raises(ValueError, match="unsupported dtype"):
        tensors(dtype="float16")


@given(s=shapes(min_dims=2, max_dims=4, min_side=2, max_side=3), pair=broadcastable_shapes(),
       triple=broadcastable_shapes(3, max_dims=2))
def test_shape_strategies(s, pair, triple):
    assert 2 <= len(s) <= 4 and all(2 <= d <= 3 for d in s)
    assert len(pair) == 2 and len(triple) == 3
    np.broadcast_shapes(*pair)
    np.broadcast_shapes(*triple)


@given(ndim=st.integers(0, 4), data=st.data())
def test_valid_axes_are_valid_for_numpy(ndim, data):
    axis = data.draw(valid_axes(ndim))
    np.sum(np.ones((2,) * ndim), axis=axis)     # raises on an invalid axis


def test_op_strategy_respects_declared_domains_and_kinks():
    for name in ("log", "sqrt", "divide", "power", "exp", "relu", "abs", "max", "maximum",
                 "clip", "dense"):
        op = OPS[name]

        @given(case=op_strategy(name))
        def check(case):
            assert case.op is op
            assert in_domain(op, case, margin=0.0)
            assert kink_distance(op, case) >= 1e-3
            if name == "log":
                assert np.all(case.args[0].data > 0)
            if name == "relu":
                assert np.all(np.abs(case.args[0].data) >= 1e-3)
        check()


def test_in_domain_and_kink_distance():
    case = OpCase((Tensor([0.5, -1.0]),), op=OPS["log"])
    assert not in_domain("log", case)
    assert in_domain("log", OpCase((Tensor([0.5, 1.0]),)))
    assert kink_distance("relu", OpCase((Tensor([0.5, -0.25]),))) == 0.25
    assert kink_distance("exp", OpCase((Tensor([0.0]),))) == np.inf


def test_register_op_strategy_checks_its_argument():
    with pytest.raises(TypeError, match="expected a strategy"):
        register_op_strategy("_test_nothing", 42)
    assert "_test_nothing" not in OP_STRATEGIES
    with pytest.raises(ag.InvalidValueError, match="no primitive named"):
        op_strategy("_test_no_such_op")


def test_domain_declarations_are_validated():
    with pytest.raises(ValueError, match="domain has 1 entries for 2"):
        ag.primitive(lambda x, y: x + y, name="_test_bad_domain", domain=[None], register=False)
    with pytest.raises(ValueError, match="low < high"):
        ag.primitive(lambda x: x, name="_test_bad_domain", domain=[(1.0, 0.0)], register=False)
