"""Every numpy name the numpy-surface issue lists exists in ``autograd.numpy`` and is one of:

- a primitive in ``autograd.OPS`` (the function itself, the primitive behind a ufunc front,
  or a numpy-signature front whose result is one call of a registered primitive on the
  inputs), so the registry sweep checks it at first and second order with its domain;
- an exact composition with a case in ``tests/test_numpy_compositions.py`` (forward against
  numpy, gradcheck and gradgradcheck on hypothesis inputs);
- a pass-through in ``autograd.numpy.NONDIFFERENTIABLE`` (numpy's own function: no gradient
  to lose);
- for the array builders (``array``, ``asarray``, ``r_``, ``c_``): the checks below;
- for ``autograd.numpy.linalg``: a front onto the decompositions of ``autograd.ops.decomp``,
  whose primitives are in OPS (the sweep) and whose public forms ``tests/test_decomp.py``
  checks against numpy and by gradcheck.

The lists are the issue's, spelled as there, so a name it promises cannot go missing.
"""
import numpy
import pytest

import autograd as ag
import autograd.numpy as np
from autograd import OPS, Tensor
from autograd.registry import Primitive

from test_numpy_compositions import CASES

ELEMENTWISE = """tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh log2 log10 log1p
expm1 exp2 reciprocal sign floor ceil round around rint rad2deg deg2rad radians degrees sinc
mod remainder fmod arctan2 hypot logaddexp logaddexp2 fmax fmin nan_to_num cbrt square
true_divide absolute fabs""".split()
REDUCTIONS = """std prod cumsum cumprod diff gradient sort partition average nansum nanmean ptp
amax amin median percentile quantile any all argmax argmin argsort count_nonzero""".split()
SHAPE = """ravel swapaxes moveaxis rollaxis flip flipud fliplr rot90 roll repeat tile
atleast_1d atleast_2d atleast_3d split array_split vsplit hsplit dsplit hstack vstack dstack
row_stack column_stack append pad select where take take_along_axis diag diagonal diagflat
trace triu tril full_like zeros_like ones_like array asarray r_ c_ einsum tensordot inner
outer dot vdot kron cross linspace""".split()
LINALG = """inv pinv solve det slogdet norm eigh eig cholesky svd qr matrix_power
lstsq""".split()

#: the builders checked by hand below
BUILDERS = {"array", "asarray", "r_", "c_"}
#: aliases that are the same object as a checked name
ALIASES = {"row_stack": "vstack"}


def _leaf(shape, lo=0.2, hi=0.8, seed=0):
    r = numpy.random.default_rng(seed)
    return Tensor(r.uniform(lo, hi, shape), requires_grad=True)


#: a call of a numpy-signature front, for the names not mapped to a primitive by attribute
SAMPLE = {
    "round": lambda f, x, y: f(x, 1), "around": lambda f, x, y: f(x, 1),
    "nan_to_num": lambda f, x, y: f(x), "sinc": lambda f, x, y: f(x),
    "where": lambda f, x, y: f(x.data > 0.5, x, y),
    "prod": lambda f, x, y: f(x, axis=0), "cumsum": lambda f, x, y: f(x, axis=1),
    "cumprod": lambda f, x, y: f(x, axis=1), "amax": lambda f, x, y: f(x, axis=0),
    "amin": lambda f, x, y: f(x, axis=0), "square": lambda f, x, y: f(x),
}


def _one_primitive_call(name):
    """The primitive whose single call on the inputs gives ``name``'s result, else None."""
    x, y = _leaf((3, 4)), _leaf((3, 4), seed=1)
    out = SAMPLE[name](getattr(np, name), x, y)
    node = out._node
    if node is None or not all(p is x or p is y for _, p in node.parents):
        return None
    return node.prim


def classify(name):
    f = getattr(np, name)
    if name in np.NONDIFFERENTIABLE:
        assert f is getattr(numpy, name), f"{name}: a pass-through must be numpy's own"
        return "pass-through", None
    p = f if isinstance(f, Primitive) else getattr(f, "primitive", None)
    if isinstance(p, Primitive):
        return "primitive", p
    if name in CASES or ALIASES.get(name) in CASES:
        return "composition", None
    if name in SAMPLE:
        p = _one_primitive_call(name)
        if p is not None:
            return "primitive", p
    if name in BUILDERS:
        return "builder", None
    return None, None


@pytest.mark.parametrize("name", ELEMENTWISE + REDUCTIONS + SHAPE)
def test_every_issue_name_is_a_primitive_a_checked_composition_or_a_pass_through(name):
    assert hasattr(np, name), f"autograd.numpy.{name} is missing"
    kind, prim = classify(name)
    assert kind is not None, f"autograd.numpy.{name}: not a primitive, not a composition with " \
                             f"a case in test_numpy_compositions.py, not a pass-through"
    if kind == "primitive":
        assert OPS.get(prim.name) is prim, f"{name}: its primitive {prim.name} is not in OPS"
        assert prim.library and prim.domain is not None, f"{name}: domain not declared"
        assert prim.vjp is not None or prim.vjps is not None


def test_the_issue_s_non_differentiable_names_pass_through():
    for name in ("any", "all", "argmax", "argmin", "argsort", "count_nonzero", "zeros_like",
                 "ones_like"):
        assert classify(name)[0] == "pass-through", name


@pytest.mark.parametrize("name", LINALG)
def test_linalg_names_are_fronts_onto_registered_decompositions(name):
    import autograd.numpy.linalg as la
    from autograd.ops import decomp
    f = getattr(la, name)
    assert f is not getattr(numpy.linalg, name) and not hasattr(f, "numpy_function"), \
        f"autograd.numpy.linalg.{name} is numpy's (or the guard), not differentiable"
    assert name in decomp.__all__
    packed = {"eigh": "eigh_packed", "eig": "eig_packed", "svd": "svd_packed",
              "qr": "qr_packed", "slogdet": "slogdet_logabsdet", "lstsq": "lstsq_solution"}
    if name in packed or name in OPS:
        prim = OPS[packed.get(name, name)]
        assert prim.library and prim.domain is not None
    else:                        # compositions of the primitives (matrix_power: matmuls)
        assert name == "matrix_power"


def test_array_and_asarray_stack_nested_tensors_with_the_graph():
    def f(v):
        return np.sum(np.array([[v[0], 2.0 * v[1]], [v[1] * v[1], 3.0]]) ** 2)
    v = numpy.array([0.5, -1.5])
    # d/dv0 v0^2 = 2 v0; d/dv1 (4 v1^2 + v1^4) = 8 v1 + 4 v1^3
    numpy.testing.assert_allclose(ag.grad(f)(v), [2 * v[0], 8 * v[1] + 4 * v[1] ** 3])
    t = Tensor(v, requires_grad=True)
    a = np.asarray([t, 2.0 * t])
    assert a.shape == (2, 2) and a.requires_grad
    assert np.asarray(t) is t
    assert ag.gradgradcheck(lambda u: np.array([u, u * u]), Tensor(v, requires_grad=True))


def test_r_and_c_concatenate_tensors_with_the_graph():
    x = Tensor(numpy.array([1.0, 2.0]), requires_grad=True)
    y = Tensor(numpy.array([3.0]), requires_grad=True)
    r = np.r_[x, 5.0, y]
    numpy.testing.assert_array_equal(r.data, numpy.r_[x.data, 5.0, y.data])
    w = numpy.array([1.0, 10.0, 100.0, 1000.0])
    np.sum(r * w).backward()
    numpy.testing.assert_array_equal(x.grad, [1.0, 10.0])
    numpy.testing.assert_array_equal(y.grad, [1000.0])
    z = Tensor(numpy.array([4.0, 6.0]), requires_grad=True)
    c = np.c_[x, z]
    numpy.testing.assert_array_equal(c.data, numpy.c_[x.data, z.data])
    assert ag.gradcheck(lambda a, b: np.c_[a, b], x, z)
    numpy.testing.assert_array_equal(np.r_[0:3], [0, 1, 2])          # numpy's, for constants


def test_the_issue_s_opening_snippets_give_the_right_numbers_or_clear_errors():
    """The seven lines at the top of the numpy-surface issue, as a new user typed them (plain
    ``import numpy as np`` there), each with the answer worked out by hand."""
    import numpy as onp
    # d/dw w.w = 2w
    assert ag.grad(lambda w: onp.dot(w, w))(onp.ones(3)).tolist() == [2.0, 2.0, 2.0]
    # var([x, 3x]) = x^2, so d/dx at 1 is 2
    assert float(ag.grad(lambda x: ag.var([x, 3.0 * x]))(1.0)) == 2.0
    # the inner grad closes over x: x * d/dy (x y) = x^2, whose derivative at 1 is 2
    x = ag.Tensor(1.0, requires_grad=True)
    (x * ag.grad(lambda y: x * y)(2.0)).backward()
    assert float(x.grad) == 2.0
    s = onp.sum(x)                                   # numpy's sum on a tensor: recorded
    assert isinstance(s, Tensor) and s.requires_grad and float(s.data) == 1.0
    assert ag.sum(3.0) == 3.0                        # numpy's answer for a Python number
    with pytest.raises(ag.ShapeError, match="matmul"):  # numpy refuses a 0-d matmul too
        ag.matmul(x, 2.0)
    with pytest.raises(ValueError):
        onp.matmul(1.0, 2.0)
    c = onp.array([True, False])
    a = ag.Tensor([1.0, 2.0], requires_grad=True)
    b = ag.Tensor([3.0, 4.0], requires_grad=True)
    out = ag.where(condition=c, x=a, y=b)            # tensors by keyword
    out.sum().backward()
    assert out.data.tolist() == [1.0, 4.0] and a.grad.tolist() == [1.0, 0.0] \
        and b.grad.tolist() == [0.0, 1.0]
    m, v = onp.arange(6.0).reshape(2, 3), onp.arange(3.0)
    assert Tensor(m).dot(v).data.tolist() == onp.dot(m, v).tolist()   # numpy's dot, not matmul
    assert Tensor(2.0).dot(Tensor(v)).data.tolist() == [0.0, 2.0, 4.0]
    assert "dot" in (Tensor.dot.__doc__ or "")
