"""The registry sweep: every primitive in ``autograd.OPS`` gets a generated property test of
its first-order gradients, and of its second-order gradients when it declares
``higher_order``.  Inputs come from ``autograd.testing.op_strategy`` (float64, drawn shapes
with broadcasting, size-1 and 0-d, values from the op's declared domain, away from kinks).

The completeness test fails when a primitive lacks a vjp, a declared domain or a strategy,
so no op can exist untested.
"""

import numpy as np
import pytest
from hypothesis import given, settings

import autograd as ag
from autograd import OPS, gradcheck, gradgradcheck
from autograd.testing import OP_STRATEGIES, op_strategy

try:                    # autograd.scipy's primitives register on import: sweep them too
    import autograd.scipy  # noqa: F401
    import autograd.testing  # noqa: F401
except ImportError:     # scipy is an optional extra
    pass

# Collected once, at import: test modules that define custom primitives remove them again.
ALL_OPS = sorted(OPS)
HIGHER = sorted(n for n in ALL_OPS if OPS[n].higher_order)

# The sweep is the library's main gradient test: twice the active profile's examples
# (ci: 50 per op and order, about 40 s on one core).
SWEEP = settings(max_examples=2 * settings().max_examples)
# Primitives whose one second-order example costs seconds (odeint: a nested adjoint ODE
# solve): fewer drawn examples at second order; tests/test_odeint.py adds fixed cases.
COSTLY_SECOND = {"odeint": 25}


def registry_problems(names):
    """What each named primitive lacks: a vjp, a declared domain (one entry per tensor
    input; None entries mean unbounded), or an input strategy."""
    problems = []
    for name in names:
        op = OPS[name]
        if op.vjp is None and op.vjps is None:
            problems.append(f"{name}: no vjp (declare one with @{name}.defvjp)")
        if op.domain is None:
            problems.append(f"{name}: no declared domain (use domain=[None, ...] for unbounded "
                            f"inputs)")
        elif len(op.domain) != (op.nin if op.nin >= 0 else 1):
            problems.append(f"{name}: domain {op.domain} does not match nin={op.nin}")
        if name not in OP_STRATEGIES:
            problems.append(f"{name}: no input strategy (autograd.testing.register_op_strategy)")
    return problems


def test_registry_is_complete():
    problems = registry_problems(ALL_OPS)
    assert not problems, "\n".join(problems)


def test_completeness_check_catches_a_bare_primitive():
    bare = ag.primitive(lambda x: x * 2.0, name="_test_bare")
    try:
        assert registry_problems(["_test_bare"]) == [
            "_test_bare: no vjp (declare one with @_test_bare.defvjp)",
            "_test_bare: no declared domain (use domain=[None, ...] for unbounded inputs)",
            "_test_bare: no input strategy (autograd.testing.register_op_strategy)"]
        bare.defvjp(lambda g, out, x: g * 2.0)
        bare.domain = (None,)
        assert registry_problems(["_test_bare"]) == [
            "_test_bare: no input strategy (autograd.testing.register_op_strategy)"]
    finally:
        OPS.pop("_test_bare", None)


def test_library_has_the_expected_primitives():
    # a guard against the sweep silently covering nothing
    for name in ("add", "exp", "sum", "getitem", "matmul", "softmax", "dense",
                 "softmax_cross_entropy", "sigmoid_binary_cross_entropy", "concatenate"):
        assert name in ALL_OPS


@pytest.mark.parametrize("name", ALL_OPS)
def test_first_order(name):
    @SWEEP
    @given(case=op_strategy(name))
    def check(case):
        assert gradcheck(case.fn, *case.args)
    check()


@pytest.mark.parametrize("name", HIGHER)
def test_second_order(name):
    @(settings(max_examples=COSTLY_SECOND[name]) if name in COSTLY_SECOND else SWEEP)
    @given(case=op_strategy(name))
    def check(case):
        assert gradgradcheck(case.fn, *case.args)
    check()


@pytest.mark.parametrize("name", [n for n in ALL_OPS if OPS[n].reference is not None])
def test_forward_matches_numpy_reference(name):
    """The forward agrees with its numpy reference on the same drawn inputs."""
    op = OPS[name]

    @given(case=op_strategy(name))
    def check(case):
        out = case.fn(*case.args)
        want = op.reference(*case.datas(), **case.kwargs)
        dt = np.complex128 if np.iscomplexobj(want) else np.float64   # fft: complex values
        np.testing.assert_allclose(np.asarray(out.data, dtype=dt),
                                   np.asarray(want, dtype=dt), rtol=1e-10, atol=1e-12)
    check()


# ----------------------------------------------------------------------------- complex
# Every primitive declared complex=True is checked again with complex inputs (the float
# inputs of its cases get imaginary parts; some stay real, so mixed calls are drawn):
# first order, second order where declared, and the forward against numpy.
from autograd.testing import complex_op_strategy  # noqa: E402

# Complex results of real inputs only (numpy's rfft family refuses complex input): the first
# sweep covers them (complex outputs included); no complex draws.
REAL_INPUT_ONLY = {"rfft", "rfft2", "rfftn"}
COMPLEX = sorted(n for n in ALL_OPS if OPS[n].complex and n not in REAL_INPUT_ONLY)
# half the real sweep's examples per op and order (the real cases are swept already)
COMPLEX_SWEEP = settings(max_examples=max(5, settings().max_examples // 2))


def test_complex_primitives_are_declared():
    # a guard against the complex sweep silently covering nothing
    for name in ("add", "multiply", "exp", "abs", "sum", "matmul", "real", "imag", "conj",
                 "angle", "getitem"):
        assert name in COMPLEX
    for name in ("relu", "maximum", "floor", "softmax", "dense"):
        assert name not in COMPLEX


@pytest.mark.parametrize("name", COMPLEX)
def test_complex_first_order(name):
    @COMPLEX_SWEEP
    @given(case=complex_op_strategy(name))
    def check(case):
        assert gradcheck(case.fn, *case.args)
    check()


@pytest.mark.parametrize("name", [n for n in COMPLEX if OPS[n].higher_order])
def test_complex_second_order(name):
    @COMPLEX_SWEEP
    @given(case=complex_op_strategy(name))
    def check(case):
        assert gradgradcheck(case.fn, *case.args)
    check()


@pytest.mark.parametrize("name", [n for n in COMPLEX if OPS[n].reference is not None])
def test_complex_forward_matches_numpy_reference(name):
    op = OPS[name]

    @given(case=complex_op_strategy(name))
    def check(case):
        out = case.fn(*case.args)
        want = op.reference(*case.datas(), **case.kwargs)
        np.testing.assert_allclose(np.asarray(out.data, dtype=np.complex128),
                                   np.asarray(want, dtype=np.complex128), rtol=1e-10, atol=1e-12)
    check()
