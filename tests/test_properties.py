"""Properties of gradients that hold for any input: shapes under broadcasting, linearity of
backward in its seed (over the whole registry), sum's gradient, and the chain rule."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd as ag
from autograd import OPS, Tensor
from autograd.graph import backward
from autograd.testing import broadcastable_shapes, op_strategy, tensors, valid_axes

ALL_OPS = sorted(OPS)


def vjps(case, seed):
    """The gradient of <case.fn(*case.args), seed> w.r.t. each input requiring grad."""
    args = list(case.args)
    marks = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            args[i] = ag.identity(a)
            marks.append(args[i])
    out = case.fn(*args)
    gs = backward(out, seed, retain_graph=True, inputs=marks) if out.requires_grad else \
        [None] * len(marks)
    return [np.zeros(m.shape) if g is None else np.asarray(g) for m, g in zip(marks, gs)], out


@given(shapes=broadcastable_shapes(2), op=st.sampled_from(["add", "subtract", "multiply",
                                                           "maximum", "divide", "power"]),
       dtype=st.sampled_from(["float64", "float32"]), data=st.data())
def test_gradient_of_broadcast_operand_has_the_operands_shape_and_dtype(shapes, op, dtype, data):
    a = data.draw(tensors(shapes[0], dtype=dtype, min_value=0.5, max_value=2.0), "a")
    b = data.draw(tensors(shapes[1], dtype=dtype, min_value=0.5, max_value=2.0), "b")
    out = OPS[op](a, b)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    out.backward(np.ones(out.shape, dtype=out.dtype))
    for t in (a, b):
        assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
    if op == "add":   # each element of a was used prod(out) / prod(a) times
        np.testing.assert_allclose(a.grad, np.full(a.shape, out.size / max(a.size, 1)))


@pytest.mark.parametrize("name", ALL_OPS)
def test_backward_is_linear_in_the_seed(name):
    @given(case=op_strategy(name), alpha=st.floats(-3, 3), beta=st.floats(-3, 3),
           seed=st.integers(0, 2 ** 32 - 1))
    def check(case, alpha, beta, seed):
        rng = np.random.default_rng(seed)
        out = case.fn(*case.args)
        g1, g2 = rng.normal(size=out.shape), rng.normal(size=out.shape)
        a1, _ = vjps(case, g1)
        a2, _ = vjps(case, g2)
        both, _ = vjps(case, alpha * g1 + beta * g2)
        for x1, x2, x12 in zip(a1, a2, both):
            np.testing.assert_allclose(x12, alpha * x1 + beta * x2, rtol=1e-9, atol=1e-9)
    check()


@given(x=tensors(), data=st.data())
def test_sum_gradient_is_all_ones_and_broadcasts_the_seed(x, data):
    axis = data.draw(valid_axes(x.ndim), "axis")
    keepdims = data.draw(st.booleans(), "keepdims")
    x.sum(axis=axis, keepdims=keepdims).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(x.shape))
    x.grad = None
    s = x.sum(axis=axis, keepdims=keepdims)
    g = data.draw(tensors(s.shape, requires_grad=False), "g").data
    s.backward(g)
    axes = tuple(range(x.ndim)) if axis is None else \
        tuple(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    want = np.broadcast_to(g if keepdims else np.expand_dims(g, axes), x.shape)
    np.testing.assert_array_equal(x.grad, want)


# shape-preserving ops with unbounded domains, as (name, function) pairs
UNARY = {
    "sin": ag.sin, "cos": ag.cos, "tanh": ag.tanh, "sigmoid": ag.sigmoid, "gelu": ag.gelu,
    "negative": ag.negative, "softmax": lambda x: ag.softmax(x, axis=None),
    "log_softmax": lambda x: ag.log_softmax(x, axis=None), "square": lambda x: x * x,
    "transpose": ag.transpose, "exp(tanh)": lambda x: ag.exp(ag.tanh(x)),
}


@given(x=tensors(min_value=-3, max_value=3), f=st.sampled_from(sorted(UNARY)),
       g=st.sampled_from(sorted(UNARY)), seed=st.integers(0, 2 ** 32 - 1))
def test_gradient_of_a_composition_is_the_chain_of_the_parts(x, f, g, seed):
    f, g = UNARY[f], UNARY[g]
    # the composition in one backward
    x1 = Tensor(x.data, requires_grad=True)
    y = f(g(x1))
    v = np.random.default_rng(seed).normal(size=y.shape)
    y.backward(v)
    # the chain by hand: u = g(x) as a fresh leaf, then dL/du, then push it through g
    u = Tensor(g(Tensor(x.data)).data, requires_grad=True)
    f(u).backward(v)
    x2 = Tensor(x.data, requires_grad=True)
    g(x2).backward(u.grad)
    np.testing.assert_allclose(x1.grad, x2.grad, rtol=1e-12, atol=1e-12)
