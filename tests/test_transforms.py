"""The transforms (HIPS names, JAX aliases): each checked against an independent answer
(closed-form derivatives, finite differences, or another transform), with pytrees, argnum
tuples, closures and nesting."""
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import (grad, value_and_grad, grad_and_aux, elementwise_grad, deriv, jacobian,
                      hessian, hessian_tensor_product, hessian_vector_product, make_hvp,
                      make_vjp, make_jvp, make_ggnvp, tensor_jacobian_product,
                      vector_jacobian_product, multigrad_dict, checkpoint, holomorphic_grad,
                      jvp, vjp, jacfwd, jacrev, Tensor)

vec = hnp.arrays(np.float64, st.integers(1, 4), elements=st.floats(-2, 2))


def f_cubic(x):            # sum x^3 sin-free: gradient 3x^2, Hessian diag(6x)
    return ag.sum(x * x * x)


def numeric_jacobian(f, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        J[(...,) + idx] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    return J


@given(vec)
def test_grad_jacobian_hessian_closed_forms(x):
    np.testing.assert_allclose(grad(f_cubic)(x), 3 * x ** 2, rtol=1e-12)
    np.testing.assert_allclose(jacobian(ag.tanh)(x), np.diag(1 - np.tanh(x) ** 2), atol=1e-12)
    np.testing.assert_allclose(hessian(f_cubic)(x), np.diag(6 * x), atol=1e-12)
    np.testing.assert_allclose(elementwise_grad(ag.sin)(x), np.cos(x), atol=1e-12)
    assert deriv is elementwise_grad and jacfwd is jacobian and jacrev is jacobian


@given(vec, st.data())
def test_products_agree_with_the_full_matrices(x, data):
    v = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2)))
    f = lambda a: ag.sum(ag.tanh(a) * a)
    H = hessian(f)(x)
    np.testing.assert_allclose(hessian_tensor_product(f)(x, v), H @ v, atol=1e-10)
    assert hessian_vector_product is hessian_tensor_product
    hvp_fn, g = make_hvp(f)(x)
    np.testing.assert_allclose(hvp_fn(v), H @ v, atol=1e-10)
    np.testing.assert_allclose(g, grad(f)(x), atol=1e-12)
    J = jacobian(ag.tanh)(x)
    vjp_fn, ans = make_vjp(ag.tanh)(x)
    np.testing.assert_allclose(vjp_fn(v), v @ J, atol=1e-12)
    np.testing.assert_allclose(ans, np.tanh(x))
    ans2, jv = make_jvp(ag.tanh)(x)(v)
    np.testing.assert_allclose(jv, J @ v, atol=1e-12)
    np.testing.assert_allclose(tensor_jacobian_product(ag.tanh)(x, v), v @ J, atol=1e-12)
    assert vector_jacobian_product is tensor_jacobian_product


def test_jacobian_matches_finite_differences_on_matrices():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 2))
    f = lambda a: ag.matmul(ag.tanh(a), np.ones((2, 4)))
    np.testing.assert_allclose(jacobian(f)(A), numeric_jacobian(lambda a: np.tanh(a) @ np.ones((2, 4)), A),
                               atol=1e-8)


def test_tensor_jacobian_product_over_leading_axes():
    rng = np.random.default_rng(2)
    a, V = rng.standard_normal((3, 2, 2)), rng.standard_normal((3, 2))
    J = jacobian(ag.sin)(a)
    np.testing.assert_allclose(tensor_jacobian_product(ag.sin)(a, V),
                               np.tensordot(V, J, axes=2), atol=1e-12)


def test_make_ggnvp_is_jt_h_j():
    rng = np.random.default_rng(3)
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    W = rng.standard_normal((2, 3))
    f = lambda a: ag.tanh(ag.matmul(W, a))
    J = jacobian(f)(x)
    np.testing.assert_allclose(make_ggnvp(f)(x)(v), J.T @ J @ v, atol=1e-10)   # H_g = I
    g = lambda y: ag.sum(ag.exp(y))
    Hg = np.diag(np.exp(f(x).data if isinstance(f(x), Tensor) else f(x)))
    np.testing.assert_allclose(make_ggnvp(f, g)(x)(v), J.T @ Hg @ J @ v, atol=1e-10)


def test_argnum_tuples_and_jax_spellings():
    f = lambda x, y, z: ag.sum(x * y * y) + z
    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    gx, gy = grad(f, (0, 1))(x, y, 5.0)
    np.testing.assert_allclose(gx, y ** 2)
    np.testing.assert_allclose(gy, 2 * x * y)
    (gy2,) = grad(f, argnums=[1])(x, y, 5.0)
    np.testing.assert_allclose(gy2, 2 * x * y)
    (val, aux), g = value_and_grad(lambda a: (ag.sum(a * a), "aux"), has_aux=True)(x)
    assert float(val) == 5.0 and aux == "aux"
    g, aux = grad_and_aux(lambda a: (ag.sum(a * a), a * 2))(x)
    np.testing.assert_allclose(g, 2 * x)
    np.testing.assert_allclose(aux, 2 * x)
    out, tangent = jvp(lambda a, b: a * b, (x, y), (np.ones(2), np.zeros(2)))
    np.testing.assert_allclose(tangent, y)
    out, vjp_fn = vjp(lambda a, b: a * b, x, y)
    ga, gb = vjp_fn(np.ones(2))
    np.testing.assert_allclose(ga, y)
    np.testing.assert_allclose(gb, x)
    np.testing.assert_allclose(holomorphic_grad(f_cubic)(x), 3 * x ** 2)


Pair = namedtuple("Pair", "w b")


def test_pytrees_in_and_out():
    params = {"layer": [np.array([1.0, 2.0]), Pair(np.array(3.0), 0.5)], "s": 2.0}

    def loss(p):
        w, pair = p["layer"]
        return ag.sum(w * w) * p["s"] + pair.w * pair.b
    g = grad(loss)(params)
    assert set(g) == {"layer", "s"} and isinstance(g["layer"][1], Pair)
    np.testing.assert_allclose(g["layer"][0], 2 * params["layer"][0] * 2.0)
    assert float(g["layer"][1].w) == 0.5 and float(g["layer"][1].b) == 3.0
    assert float(g["s"]) == 5.0
    # outputs as pytrees: the vjp takes a cotangent of the same structure
    vjp_fn, out = make_vjp(lambda a: {"sq": a * a, "neg": [-a]})(np.array([1.0, 3.0]))
    assert set(out) == {"sq", "neg"}
    np.testing.assert_allclose(vjp_fn({"sq": np.ones(2), "neg": [np.ones(2)]}), [1.0, 5.0])


def test_multigrad_dict_names_every_argument():
    def f(a, b, *rest, c=1.0, **kw):
        return a * b + c * sum(rest) + kw["d"] ** 2
    g = multigrad_dict(f)(2.0, 3.0, 1.0, 1.0, c=4.0, d=5.0)
    assert list(g) == ["a", "b", "rest", "c", "kw"]
    assert float(g["a"]) == 3.0 and float(g["b"]) == 2.0 and float(g["c"]) == 2.0
    assert [float(v) for v in g["rest"]] == [4.0, 4.0] and float(g["kw"]["d"]) == 10.0


def test_nesting_to_depth_three_and_closures():
    # d^3/dx^3 of x^4 = 24 x
    f3 = grad(grad(grad(lambda x: x ** 4)))
    assert float(f3(1.5)) == pytest.approx(36.0)
    # hessian of a function closing over a tensor that requires grad, then backward to it
    w = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    H = hessian(lambda x: ag.sum(w * x ** 3))(np.array([1.0, 1.0]))   # diag(6 w x)
    ag.sum(H).backward()
    np.testing.assert_allclose(w.grad, [6.0, 6.0])
    # jacobian inside grad: d/dx sum(J(tanh)(x)) = d/dx sum(1 - tanh^2) = -2 tanh sech^2
    x = np.array([0.3, -0.4])
    g = grad(lambda a: ag.sum(jacobian(ag.tanh)(a)))(x)
    np.testing.assert_allclose(g, -2 * np.tanh(x) * (1 - np.tanh(x) ** 2), atol=1e-12)


def test_checkpoint_gives_the_same_gradients_first_and_second_order():
    body = lambda a: ag.tanh(ag.sin(a) * 2.0)
    ck = checkpoint(body)
    x = np.array([0.1, -0.7, 1.3])
    np.testing.assert_allclose(grad(lambda a: ag.sum(ck(a)))(x), grad(lambda a: ag.sum(body(a)))(x),
                               atol=1e-12)
    np.testing.assert_allclose(hessian(lambda a: ag.sum(ck(a)))(x),
                               hessian(lambda a: ag.sum(body(a)))(x), atol=1e-10)
    t = Tensor(x, requires_grad=True)
    y = ck(t)
    assert y.op.startswith("checkpoint") and "checkpoint(<lambda>)" not in ag.OPS


def test_errors_are_the_builtins_hips_users_catch():
    with pytest.raises(TypeError, match="single value"):
        grad(lambda x: x * 2.0)(np.ones(3))
    with pytest.raises(TypeError):
        grad(lambda x: bool(ag.sum(x) > 0))(np.ones(3))
    t = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError):
        t[0] = 2.0
    with pytest.raises(IndexError):
        grad(lambda x: x, 3)(1.0)


def test_names_and_docs_follow_hips():
    def foo(x):
        return x
    assert grad(foo, 1).__name__ == "grad_of_foo_wrt_argnum_1"
    assert "Returns a function which" in grad.__doc__
