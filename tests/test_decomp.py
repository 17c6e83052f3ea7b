"""Linear algebra (autograd.ops.decomp): the public functions against numpy's values, their
gradients (compositions included) against finite differences, and against PyTorch's
autograd where torch is installed.  The primitives themselves are also swept by
tests/test_registry_sweep.py (first and second order, drawn matrices of each kind)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd as ag
from autograd import Tensor, gradcheck, gradgradcheck
from autograd.ops import decomp as L
from autograd.testing import matrices

RNG = np.random.default_rng(12)


def _t(a):
    return Tensor(np.array(a, dtype=np.float64), requires_grad=True)


def _sym(a):
    return (a + ag.transpose(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))) * 0.5


def _dense_spectrum(n, batch=()):
    p = RNG.normal(size=batch + (n, n)) + 3 * np.eye(n)
    return p @ (np.arange(1.0, n + 1) * np.eye(n)) @ np.linalg.inv(p)


# ------------------------------------------------------------------ forward equals numpy
def test_public_functions_return_numpy_s_values_and_signs():
    a = RNG.normal(size=(2, 3, 3))
    s = a @ np.swapaxes(a, -1, -2) + np.eye(3)
    for x in (a, Tensor(a, requires_grad=True)):
        for got, want in [(L.inv(x), np.linalg.inv(a)), (L.det(x), np.linalg.det(a)),
                          (L.pinv(x), np.linalg.pinv(a)), (L.svdvals(x), np.linalg.svdvals(a))]:
            np.testing.assert_array_equal(getattr(got, "data", got), want)
        for got, want in zip(L.svd(x), np.linalg.svd(a)):
            np.testing.assert_array_equal(getattr(got, "data", got), want)
        for got, want in zip(L.qr(x), np.linalg.qr(a)):
            np.testing.assert_array_equal(getattr(got, "data", got), want)
        sign, logdet = L.slogdet(x)
        np.testing.assert_array_equal(sign, np.linalg.slogdet(a)[0])
        np.testing.assert_array_equal(getattr(logdet, "data", logdet), np.linalg.slogdet(a)[1])
    for got, want in zip(L.eigh(Tensor(s)), np.linalg.eigh(s)):
        np.testing.assert_array_equal(got.data, want)
    e = _dense_spectrum(3, (2,))
    for got, want in zip(L.eig(Tensor(e)), np.linalg.eig(e)):
        np.testing.assert_array_equal(got.data, want)
    np.testing.assert_array_equal(L.cholesky(Tensor(s), upper=True).data,
                                  np.linalg.cholesky(s, upper=True))


def test_signs_are_numpy_s_at_diagonal_and_triangular_inputs():
    # where LAPACK's sign conventions make numpy's output jump, the public result is still
    # numpy's (the primitive is canonical; the public function maps back)
    d = np.diag([3.0, -1.0, 2.0])
    for x in (d, np.triu(RNG.normal(size=(3, 3)) + 4 * np.eye(3))):
        for got, want in zip(L.qr(_t(x)), np.linalg.qr(x)):
            np.testing.assert_array_equal(got.data, want)
        for got, want in zip(L.svd(_t(x)), np.linalg.svd(x)):
            np.testing.assert_array_equal(got.data, want)
    for got, want in zip(L.eigh(_t(d)), np.linalg.eigh(d)):
        np.testing.assert_array_equal(got.data, want)


def test_lstsq_matrix_power_norm_match_numpy():
    a, b = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2))
    x, res, rank, s = L.lstsq(_t(a), _t(b))
    want = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(x.data, want[0], rtol=1e-12)
    np.testing.assert_allclose(res.data, want[1], rtol=1e-9)
    assert rank == want[2]
    np.testing.assert_allclose(s.data, want[3], rtol=1e-12)
    _, res1, _, _ = L.lstsq(a, b[:, 0])
    np.testing.assert_allclose(res1, np.linalg.lstsq(a, b[:, 0])[1], rtol=1e-9)
    m = RNG.normal(size=(2, 3, 3)) + 2 * np.eye(3)
    for n in (-3, -1, 0, 1, 2, 5):
        np.testing.assert_allclose(L.matrix_power(_t(m), n).data, np.linalg.matrix_power(m, n),
                                   rtol=1e-10, atol=1e-12)
    x = RNG.normal(size=(2, 3, 4))
    for ord_, axis in [(None, None), (3, 1), (-np.inf, 2), ("nuc", (2, 0)), (-2, (0, 1))]:
        np.testing.assert_array_equal(L.norm(_t(x), ord_, axis, True).data,
                                      np.linalg.norm(x, ord_, axis, True))


# ------------------------------------------------------------------ gradients of compositions
@settings(max_examples=10)
@given(a=matrices("full_rank"))
def test_svd_all_outputs_gradcheck(a):
    # functions invariant to the signs of singular-vector pairs (numpy's signs may jump)
    def f(x):
        u, s, vh = L.svd(x, full_matrices=False)
        return ag.concatenate([ag.reshape(u * u, (-1,)), ag.reshape(s, (-1,)),
                               ag.reshape(vh ** 4, (-1,)),
                               ag.reshape(u[..., :, :1] @ vh[..., :1, :], (-1,))])
    assert gradcheck(f, a)


@settings(max_examples=10)
@given(a=matrices("symmetric"))
def test_eigh_both_outputs_of_symmetrized_input(a):
    def f(x):
        w, v = L.eigh(_sym(x))
        return ag.sum(w * w) + ag.sum(v * v * np.arange(v.shape[-1]))
    assert gradcheck(f, a) and gradgradcheck(f, a)


@settings(max_examples=10)
@given(a=matrices("real_spectrum"))
def test_eig_public_gradcheck(a):
    assert gradcheck(lambda x: L.eig(x)[0] * 2.0, a)
    assert gradcheck(lambda x: L.eig(x)[1] ** 2, a)     # sign-invariant


@pytest.mark.parametrize("n", [-2, -1, 0, 1, 2, 3])
def test_matrix_power_gradients(n):
    a = _t(RNG.normal(size=(2, 3, 3)) * 0.5 + 2 * np.eye(3))
    assert gradcheck(lambda x: L.matrix_power(x, n), a)
    assert gradgradcheck(lambda x: L.matrix_power(x, n), a)


def test_lstsq_residuals_and_singular_values_are_differentiable():
    a, b = _t(RNG.normal(size=(5, 3))), _t(RNG.normal(size=(5,)))
    assert gradcheck(lambda x, y: L.lstsq(x, y)[1], a, b)
    assert gradcheck(lambda x, y: L.lstsq(x, y)[3], a, b)


def test_qr_mode_r_and_svd_values_only():
    a = _t(RNG.normal(size=(4, 3)))
    assert gradcheck(lambda x: L.qr(x, mode="r"), a)
    assert gradcheck(lambda x: L.svd(x, compute_uv=False), a)


def test_symmetric_gradient_convention():
    """On the triangle read (numpy's UPLO='L'): off-diagonal G_ij + G_ji, diagonal G_ii, zero
    above; composed with a symmetrization, the symmetric gradient (HIPS/JAX/PyTorch)."""
    s = RNG.normal(size=(3, 3))
    s = s @ s.T + 3 * np.eye(3)
    x = _t(s)
    ag.sum(L.eigh(x)[0] ** 2).backward()
    sym = 2 * s                                      # d sum(w^2) = d tr(S^2) = 2 S
    np.testing.assert_allclose(x.grad, np.tril(2 * sym, -1) + np.diag(np.diag(sym)), atol=1e-10)
    y = _t(s)
    ag.sum(L.eigh(_sym(y))[0] ** 2).backward()
    np.testing.assert_allclose(y.grad, sym, atol=1e-10)


def test_norm_subgradients_at_zero():
    z = _t(np.zeros(3))
    L.norm(z).backward()
    np.testing.assert_array_equal(z.grad, np.zeros(3))
    z = _t(np.zeros(3))
    L.norm(z, 1).backward()
    np.testing.assert_array_equal(z.grad, np.zeros(3))
    t = _t([3.0, -3.0, 1.0])                  # a tie of |x| for the inf-norm: shared
    L.norm(t, np.inf).backward()
    np.testing.assert_allclose(t.grad, [0.5, -0.5, 0.0])


@pytest.mark.parametrize("ord", [None, 1, 2, np.inf])
@pytest.mark.parametrize("shape,axis", [((0,), None), ((0, 3), 0), ((3, 0), 1)])
def test_norm_of_an_empty_array_has_an_empty_zero_gradient(ord, shape, axis):
    # numpy's norm of no entries is 0 (inf included); backward once raised numpy's "zero-size
    # array to reduction operation maximum" from the inf-norm's tie mask (found by flake_scan)
    x = Tensor(np.zeros(shape, np.float32), requires_grad=True)
    out = L.norm(x, ord, axis=axis)
    np.testing.assert_array_equal(out.data, np.linalg.norm(np.zeros(shape, np.float32), ord, axis=axis))
    ag.sum(out).backward()
    assert x.grad.shape == shape and x.grad.dtype == np.float32 and not x.grad.any()


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    x = _t(a)
    L.det(x).backward()
    np.testing.assert_allclose(x.grad, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)


# ------------------------------------------------------------------ errors
def test_clear_errors():
    with pytest.raises(ag.InvalidValueError, match="inv: Singular"):
        L.inv(_t(np.ones((2, 2))))
    with pytest.raises(ag.ShapeError, match="square"):
        L.det(_t(np.ones((2, 3))))
    with pytest.raises(ag.DTypeError, match="qr: unsupported dtype complex128"):
        L.qr(Tensor(np.eye(2) + 0j, requires_grad=True))   # complex: not supported
    with pytest.raises(ag.InvalidValueError, match="full_matrices"):
        L.svd(_t(np.ones((3, 2))))
    with pytest.raises(ag.InvalidValueError, match="not positive definite"):
        L.cholesky(_t(-np.eye(2)))
    with pytest.raises(ag.InvalidValueError, match="mode"):
        L.qr(_t(np.ones((2, 2))), mode="raw")
    with pytest.raises(ag.ShapeError, match="solve: b of shape"):
        L.solve(_t(np.eye(3)), _t(np.ones(2)))
    with pytest.raises(ag.InvalidValueError, match="integer"):
        L.matrix_power(_t(np.eye(2)), 1.5)


# ------------------------------------------------------------------ against PyTorch
def _torch_grad(torch, fn, *arrays):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward()
    return [t.grad.numpy() for t in ts]


def _ours_grad(fn, *arrays):
    ts = [_t(a) for a in arrays]
    fn(*ts).backward()
    return [t.grad for t in ts]


def test_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    tl = torch.linalg
    a = RNG.normal(size=(2, 3, 3)) + 3 * np.eye(3)
    r = RNG.normal(size=(2, 4, 3))
    b = RNG.normal(size=(2, 3, 2))
    c = RNG.normal(size=(3, 3))
    w3 = np.arange(1.0, 4.0)
    cases = [
        ("inv", lambda x: (tl.inv(x) * torch.tensor(c)).sum(),
         lambda x: ag.sum(L.inv(x) * c), [a]),
        ("det", lambda x: tl.det(x).sum(), lambda x: ag.sum(L.det(x)), [a]),
        ("slogdet", lambda x: tl.slogdet(x)[1].sum(), lambda x: ag.sum(L.slogdet(x)[1]), [a]),
        ("solve", lambda x, y: (tl.solve(x, y) ** 2).sum(),
         lambda x, y: ag.sum(L.solve(x, y) ** 2), [a, b]),
        ("cholesky", lambda x: (tl.cholesky(0.5 * (x + x.mT) @ (0.5 * (x + x.mT)).mT) ** 3).sum(),
         lambda x: ag.sum(L.cholesky(_sym(x) @ ag.transpose(_sym(x), (0, 2, 1))) ** 3), [a]),
        ("eigh", lambda x: (tl.eigh(0.5 * (x + x.mT))[0] ** 3).sum()
         + (tl.eigh(0.5 * (x + x.mT))[1] ** 2 * torch.tensor(w3)).sum(),
         lambda x: ag.sum(L.eigh(_sym(x))[0] ** 3) + ag.sum(L.eigh(_sym(x))[1] ** 2 * w3), [a]),
        ("svd", lambda x: (tl.svd(x, full_matrices=False)[1] ** 2).sum()
         + (tl.svd(x, full_matrices=False)[0] ** 2 * torch.tensor(w3)).sum()
         + (tl.svd(x, full_matrices=False)[2] ** 4).sum(),
         lambda x: ag.sum(L.svd(x, full_matrices=False)[1] ** 2)
         + ag.sum(L.svd(x, full_matrices=False)[0] ** 2 * w3)
         + ag.sum(L.svd(x, full_matrices=False)[2] ** 4), [r]),
        ("qr", lambda x: (tl.qr(x)[0] ** 3).sum() + (tl.qr(x)[1] ** 3).sum(),
         lambda x: ag.sum(L.qr(x)[0] ** 3) + ag.sum(L.qr(x)[1] ** 3), [r]),
        ("pinv", lambda x: (tl.pinv(x) ** 3).sum(), lambda x: ag.sum(L.pinv(x) ** 3), [r]),
        ("matrix_power", lambda x: (tl.matrix_power(x, 3) ** 2).sum(),
         lambda x: ag.sum(L.matrix_power(x, 3) ** 2), [a * 0.3]),
        ("lstsq", lambda x, y: ((tl.pinv(x) @ y) ** 2).sum(),
         lambda x, y: ag.sum(L.lstsq(x, y)[0] ** 2), [r[0], RNG.normal(size=(4, 2))]),
        ("eig", lambda x: (tl.eigvals(x).real ** 3).sum(),
         lambda x: ag.sum(L.eig(x)[0] ** 3), [_dense_spectrum(3, (2,))]),
    ]
    for ord_, axis in [(None, None), (2, 1), (1, 2), (np.inf, 1), (-np.inf, 2), (3, 1),
                       (0.5, 2), ("fro", (1, 2)), ("nuc", (1, 2)), (2, (1, 2)), (-2, (1, 2)),
                       (1, (1, 2)), (-1, (1, 2)), (np.inf, (1, 2)), (-np.inf, (1, 2))]:
        cases.append((f"norm{ord_}{axis}",
                      lambda x, o=ord_, ax=axis: (tl.norm(x, o, ax) if isinstance(ax, tuple) or
                                                  ax is None else tl.vector_norm(x, o, ax)).sum()
                      if ax is not None else tl.norm(x.reshape(-1)),
                      lambda x, o=ord_, ax=axis: ag.sum(L.norm(x, o, ax)), [r]))
    for name, tfn, ofn, arrays in cases:
        want = _torch_grad(torch, tfn, *arrays)
        got = _ours_grad(ofn, *arrays)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9, err_msg=name)
