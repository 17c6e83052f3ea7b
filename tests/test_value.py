"""Value's scalar fast path: the same numbers as the tensor engine, and a Tensor to the rest."""
import gc
import math
import weakref

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as ag
from autograd import Tensor, Value
from autograd.errors import InPlaceError, GraphError

# ----------------------------------------------------------------------------- random programs
# A program is a list of steps over a growing list of slots (the leaves first); each step
# applies an operation to earlier slots or constants.  Run once on Values (the fast path)
# and once on 0-d float64 tensors (the general engine): values and gradients must agree.
UNARY = ["neg", "relu", "tanh", "exp", "log", "sigmoid", "pow2", "pow_half", "pow_m1"]
BINARY = ["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv"]


def _apply(op, a, b, c):
    if op == "neg": return -a
    if op == "relu": return a.relu()
    if op == "tanh": return a.tanh()
    if op == "exp": return (a * 0.1).exp()
    if op == "log": return (a * a + 0.5).log()
    if op == "sigmoid": return a.sigmoid()
    if op == "pow2": return a ** 2
    if op == "pow_half": return (a * a + 0.25) ** 0.5
    if op == "pow_m1": return (a * a + 1.0) ** -1
    if op == "add": return a + b
    if op == "sub": return a - b
    if op == "mul": return a * b
    if op == "div": return a / (b * b + 0.5)
    if op == "radd": return c + a
    if op == "rsub": return c - a
    if op == "rmul": return c * a
    if op == "rdiv": return c / (a * a + 0.5)
    raise AssertionError(op)


programs = st.integers(1, 3).flatmap(lambda n: st.tuples(
    st.just(n),
    st.lists(st.floats(-2.0, 2.0), min_size=n, max_size=n),
    st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 10 ** 6),
                       st.integers(0, 10 ** 6), st.floats(-3.0, 3.0)), min_size=1, max_size=12)))


def _run(make, n, xs, steps):
    leaves = [make(x) for x in xs]
    slots = list(leaves)
    for op, i, j, c in steps:
        slots.append(_apply(op, slots[i % len(slots)], slots[j % len(slots)], c))
    out = slots[-1]
    for s in slots[n:-1]:
        out = out + 0.01 * s          # every intermediate contributes
    return leaves, out


@given(programs)
def test_fast_path_matches_the_tensor_engine(prog):
    n, xs, steps = prog
    vl, vout = _run(lambda x: Value(x), n, xs, steps)
    tl, tout = _run(lambda x: Tensor(x, requires_grad=True), n, xs, steps)
    assert isinstance(vout, Value) and not isinstance(tout, Value)
    np.testing.assert_allclose(vout.item(), tout.item(), rtol=1e-12, atol=1e-14)
    vout.backward()
    tout.backward()
    for v, t in zip(vl, tl):
        want = np.zeros(()) if t.grad is None else t.grad
        got = np.zeros(()) if v.grad is None else v.grad
        assert isinstance(got, np.ndarray) and got.shape == ()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_against_central_differences():
    def f(a, b):
        return ((a * b + b ** 3).tanh() - a / b + (a * a + 1.0).log() * (b * 0.5).exp()).relu()
    a, b = Value(0.7), Value(-1.3)
    f(a, b).backward()
    h = 1e-6
    fa = lambda x, y: f(Value(x, requires_grad=False), Value(y, requires_grad=False)).item()
    da = (fa(0.7 + h, -1.3) - fa(0.7 - h, -1.3)) / (2 * h)
    db = (fa(0.7, -1.3 + h) - fa(0.7, -1.3 - h)) / (2 * h)
    assert a.grad == pytest.approx(da, rel=1e-6) and b.grad == pytest.approx(db, rel=1e-6)


# ----------------------------------------------------------------------------- numpy's edge values
@pytest.mark.parametrize("expr, want", [
    (lambda a: a / 0.0, np.inf), (lambda a: 0.0 / (a - 2.0), np.nan), (lambda a: 1.0 / (a - 2.0), np.inf),
    (lambda a: (a - 2.0) ** -1, np.inf), (lambda a: (-a) ** (1 / 3), np.nan),
    (lambda a: (a - 2.0).log(), -np.inf), (lambda a: (-a).log(), np.nan),
    (lambda a: (a * 1000.0).exp(), np.inf), (lambda a: (a * 1e300) ** 2, np.inf),
    (lambda a: (a * np.nan).relu(), np.nan),
])
def test_edge_values_are_numpys(expr, want):
    a = Value(2.0)
    with np.errstate(all="ignore"):
        got = expr(a)
        ref = expr(Tensor(2.0, requires_grad=True))
    np.testing.assert_equal(got.item(), want)
    np.testing.assert_equal(got.item(), ref.item())


# ----------------------------------------------------------------------------- a Tensor to the rest
def test_mixing_with_tensors_and_other_primitives_keeps_the_gradient():
    a = Value(0.5)
    h = a * 3.0 + 1.0                    # fast path
    y = ag.sin(h) * Tensor([1.0, 2.0]) + a  # the general engine, through a replay of h
    y.sum().backward()
    # d/da sum(sin(3a+1) * [1, 2] + a) = 3 cos(3a + 1) * 3 + 2
    assert a.grad == pytest.approx(9 * math.cos(2.5) + 2)


def test_create_graph_gives_differentiable_gradients():
    x = Value(1.5)
    y = x ** 3 + x * x
    y.backward(create_graph=True)
    gx = x.grad
    assert isinstance(gx, Tensor) and gx.item() == pytest.approx(3 * 1.5 ** 2 + 3.0)
    x.grad = None
    gx.backward()
    assert x.grad == pytest.approx(6 * 1.5 + 2)


def test_replay_refuses_a_graph_whose_leaf_changed_after_use():
    a, b = Value(2.0), Value(0.0)
    y = a * b                            # recorded value 0 whatever a becomes
    a.data = 5.0
    y.backward()                          # the fast path uses the derivatives it took: d/db = 2
    assert b.grad == 2.0
    with pytest.raises(InPlaceError, match="changed after use"):
        ag.exp(y)                         # a replay would compute with a = 5


def test_gradients_accumulate_and_are_arrays():
    a = Value(3.0)
    for _ in range(2):
        (a * a).backward()
    assert isinstance(a.grad, np.ndarray) and a.grad.shape == () and a.grad == 12.0
    a.grad[...] = 0                       # users zero a grad in place
    assert a.grad == 0.0


def test_data_is_a_number_and_assignable():
    p = Value(1.0)
    (p * 4.0).backward()
    p.data -= 0.25 * p.grad              # micrograd's update
    assert isinstance(p.data, np.float64) and p.data == 0.0 and f"{p.data:.1f}" == "0.0"
    with pytest.raises(InPlaceError, match="result of multiply"):
        (p * 2.0).data = 3.0


def test_in_place_on_a_leaf_needs_no_grad():
    p = Value(1.0)
    with pytest.raises(InPlaceError, match="no_grad"):
        p -= 0.5
    with ag.no_grad():
        p -= 0.5
    assert p.item() == 0.5
    c = p * 2.0
    c += 1                                # a result: rebinding, as in micrograd
    assert c.item() == 2.0


def test_no_grad_and_requires_grad_false_record_nothing():
    a = Value(2.0)
    with ag.no_grad():
        y = a * a
    assert not y.requires_grad
    with pytest.raises(GraphError):
        y.backward()
    c = Value(3.0, requires_grad=False)
    z = a * c
    z.backward()
    assert a.grad == 3.0 and c.grad is None


def test_value_of_an_array_is_a_tensor_that_requires_grad():
    t = Value([1, 2])
    assert type(t) is Tensor and t.requires_grad and t.dtype == np.float64
    assert type(Value(np.float32(1.0))) is Tensor
    assert type(Value(np.array(2.0))) is Value and Value(2).dtype == np.float64


def test_long_chain_has_no_recursion_and_no_cycles():
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0
    gc.collect()
    gc.disable()
    try:
        probe = x * 2.0
        ref = weakref.ref(probe)
        del probe
        assert ref() is None              # freed by reference counting: no cycle to collect
    finally:
        gc.enable()


def test_retain_grad_and_backward_seed():
    a = Value(2.0)
    h = (a * a).retain_grad()
    y = h * 3.0
    y.backward(2.0)
    assert h.grad == 6.0 and a.grad == 24.0
    with pytest.raises(ag.ShapeError):
        y.backward(np.ones(2))


def test_gradcheck_and_drawing_work_on_values():
    a = Value(0.3)
    assert ag.gradcheck(lambda v: (v * v).tanh() * 2.0, a)
    y = (a * a).tanh()
    dot = ag.to_dot(y)
    assert "multiply" in dot and "tanh" in dot
