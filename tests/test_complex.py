"""Complex numbers: the gradient convention (checked against HIPS autograd's and JAX's
documented values, and PyTorch's computed one with its conversion), real inputs through
complex arithmetic, promotion, the refusal of primitives not declared complex, and
gradcheck / strategies on complex values.  The per-primitive gradient checks with complex
inputs are in the registry sweep (tests/test_registry_sweep.py, ``complex``)."""
import numpy as np
import pytest
from hypothesis import given, settings

import autograd as ag
import autograd.numpy as anp
from autograd import Tensor, gradcheck, gradgradcheck
from autograd.testing import tensors, property_gradcheck


# --------------------------------------------------------------------------- the convention
def test_abs_squared_matches_hips_documented_convention():
    # HIPS autograd's tutorial ("Complex numbers"): for f = u + i v,
    # grad(f)(z) = grad(u, 0)(x, y) - 1j * grad(u, 1)(x, y); u = x^2 + y^2 gives 2x - 2iy.
    z = 3.0 + 4.0j
    g = ag.grad(lambda z: anp.abs(z) ** 2)(z)
    assert g == pytest.approx(6.0 - 8.0j)
    assert g == pytest.approx(2 * np.conj(z))
    # the same formula evaluated with the library's real-valued gradients of u(x, y)
    u = lambda x, y: x ** 2 + y ** 2   # noqa: E731
    want = ag.grad(u, 0)(3.0, 4.0) - 1j * ag.grad(u, 1)(3.0, 4.0)
    assert g == pytest.approx(complex(want))


def test_abs_squared_matches_jax_documented_value():
    # JAX's autodiff cookbook ("Complex numbers and differentiation"): for
    # f(z) = x**2 + y**2 at z = 3 + 4j, grad(f)(z) is 6 - 8j (JAX's vjp of a C -> R
    # function with cotangent 1.0).  JAX's convention and HIPS's coincide: no conversion.
    z = 3.0 + 4.0j
    f = lambda z: anp.real(z) ** 2 + anp.imag(z) ** 2   # noqa: E731
    assert ag.grad(f)(z) == pytest.approx(6.0 - 8.0j)
    assert ag.grad(lambda z: anp.abs(z) ** 2)(z) == pytest.approx(ag.grad(f)(z))


@pytest.mark.parametrize("seed", range(3))
def test_vjp_of_a_non_holomorphic_map_matches_the_documented_rule(seed):
    # f(z) = u + i v with u = a x + b y, v = c x + d y; the vjp with cotangent g = gx + i gy
    # is  gx u_x - i gx u_y - gy v_x + i gy v_y  (HIPS's tutorial; JAX's cookbook writes the
    # same as [gx, -gy] J [1, -i]^T).
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.uniform(size=4)
    gx, gy = rng.uniform(size=2)
    z = complex(*rng.uniform(size=2))

    def f(z):
        x, y = anp.real(z), anp.imag(z)
        return (a * x + b * y) + 1j * (c * x + d * y)
    vjp, _ = ag.make_vjp(f)(z)
    got = vjp(gx + 1j * gy)
    want = gx * a - 1j * gx * b - gy * c + 1j * gy * d
    assert complex(got) == pytest.approx(want)


def test_pytorch_convention_is_the_conjugate():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    w = rng.standard_normal(4) + 1j * rng.standard_normal(4)

    def loss(z, w, lib):
        return lib.sum(lib.abs(lib.exp(z) * w) ** 2 + lib.real(z * z * w))
    ours = ag.grad(lambda z: loss(z, w, anp))(z)
    tz = torch.tensor(z, requires_grad=True)
    loss(tz, torch.tensor(w), torch).backward()
    # PyTorch's gradient of a real loss is dL/dx + i dL/dy: the conjugate of ours
    np.testing.assert_allclose(ours, np.conj(tz.grad.numpy()), rtol=1e-10, atol=1e-12)


def test_gradient_descent_on_a_complex_parameter_steps_along_the_conjugate():
    target = np.array([1.0 - 2.0j, 0.5j])
    z = np.zeros(2, dtype=complex)
    loss = lambda z: anp.sum(anp.abs(z - target) ** 2)   # noqa: E731
    for _ in range(50):
        z = z - 0.1 * np.conj(ag.grad(loss)(z))
    np.testing.assert_allclose(z, target, atol=1e-4)


def test_holomorphic_grad_is_the_complex_derivative():
    z = 0.3 - 1.2j
    assert ag.holomorphic_grad(anp.sin)(z) == pytest.approx(np.cos(z))
    assert ag.holomorphic_grad(lambda z: anp.exp(z) * z ** 2)(z) == \
        pytest.approx(np.exp(z) * (z ** 2 + 2 * z))
    zs = np.array([1.0 + 1.0j, -0.5 + 2.0j])
    np.testing.assert_allclose(ag.holomorphic_grad(lambda z: anp.sum(anp.log(z)))(zs), 1 / zs)
    # grad refuses a complex output and points to holomorphic_grad
    with pytest.raises(ag.OutputError, match="holomorphic_grad"):
        ag.grad(anp.sin)(z)


# --------------------------------------------------------------------------- real inputs
def test_real_input_through_complex_arithmetic_gets_a_real_gradient():
    g = ag.grad(lambda x: anp.real(anp.exp(1j * x)))(0.3)
    assert np.isrealobj(g) and g == pytest.approx(-np.sin(0.3))
    x = Tensor(np.array([0.2, -1.0, 2.5], dtype=np.float32), requires_grad=True)
    y = anp.sum(anp.abs(x * np.exp(1j * np.arange(3.0))) ** 2)   # = sum x^2
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2 * x.data, rtol=1e-6)


def test_a_complex_leaf_gets_a_gradient_of_its_own_dtype():
    z = Tensor(np.array([1 + 2j, -3j], dtype=np.complex64), requires_grad=True)
    anp.sum(anp.abs(z) ** 2).backward()
    assert z.grad.dtype == np.complex64
    np.testing.assert_allclose(z.grad, 2 * np.conj(z.data), rtol=1e-6)


@pytest.mark.parametrize("a_dt, b", [(np.float32, 1j), (np.float32, np.complex128(1j)),
                                     (np.float64, np.complex64(1j)),
                                     (np.float32, np.array([1j], dtype=np.complex64)),
                                     (np.int64, np.array([1j]))])
def test_promotion_follows_numpy(a_dt, b):
    a = np.ones(1, dtype=a_dt)
    t = Tensor(a, requires_grad=a.dtype.kind == "f")
    assert (t * b).dtype == (a * b).dtype
    assert (t + b).dtype == (a + b).dtype


# --------------------------------------------------------------------------- refusals
def test_a_primitive_not_declared_complex_refuses_complex_values():
    z = Tensor(np.array([1 + 1j, 2 - 1j]), requires_grad=True)
    with pytest.raises(ag.DTypeError, match=r"relu.*complex128"):
        ag.relu(z)
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ag.DTypeError, match=r"maximum.*complex"):
        anp.maximum(x, np.array([1j, 2j]))           # complex constant, complex result
    with pytest.raises(ag.DTypeError, match=r"relu"):
        ag.relu(x * 1j)                              # a recorded complex intermediate
    with ag.no_grad():                               # no gradient involved: numpy's values
        np.testing.assert_array_equal(anp.maximum(z, 1.5).data, np.maximum(z.data, 1.5))


def test_a_complex_seed_is_refused_for_a_real_output_and_taken_for_a_complex_one():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ag.DTypeError, match="complex"):
        (x * 2.0).backward(np.array([1j, 1.0]))
    z = Tensor(np.array([1 + 1j, 2.0]), requires_grad=True)
    (z * 3.0).backward(np.array([1j, 1.0]))
    np.testing.assert_allclose(z.grad, [3j, 3.0])


def test_integers_still_cannot_require_grad():
    with pytest.raises(ag.DTypeError, match="float or complex"):
        Tensor(np.arange(3), requires_grad=True)


# --------------------------------------------------------------------------- helpers
def test_real_imag_conj_angle_values_and_gradients():
    z = np.array([3 + 4j, -1 + 0.5j])
    np.testing.assert_allclose(ag.grad(lambda z: anp.sum(anp.real(z)))(z), [1, 1])
    np.testing.assert_allclose(ag.grad(lambda z: anp.sum(anp.imag(z)))(z), [-1j, -1j])
    # angle = atan2(y, x): u_x - i u_y = (-y - i x) / |z|^2
    want = (-z.imag - 1j * z.real) / np.abs(z) ** 2
    np.testing.assert_allclose(ag.grad(lambda z: anp.sum(anp.angle(z)))(z), want)
    np.testing.assert_allclose(ag.grad(lambda z: anp.sum(anp.angle(z, deg=True)))(z),
                               want * 180 / np.pi)
    assert anp.conjugate is anp.conj
    t = Tensor(z, requires_grad=True)
    for f, ref in ((anp.real, np.real), (anp.imag, np.imag), (anp.conj, np.conj),
                   (anp.angle, np.angle), (anp.abs, np.abs)):
        np.testing.assert_array_equal(f(t).data, ref(z))
        np.testing.assert_array_equal(getattr(np, ref.__name__)(t).data, ref(z))  # dispatch


def test_real_if_close():
    z = Tensor(np.array([1.0 + 1e-17j, 2.0]), requires_grad=True)
    r = anp.real_if_close(z)
    assert r.dtype == np.float64
    r.sum().backward()
    np.testing.assert_allclose(z.grad, [1.0, 1.0])
    w = Tensor(np.array([1.0 + 1e-3j]), requires_grad=True)
    assert anp.real_if_close(w).dtype == np.complex128
    np.testing.assert_array_equal(anp.real_if_close(np.array([1 + 1e-17j])), [1.0])


# --------------------------------------------------------------------------- gradcheck
def test_gradcheck_checks_complex_inputs_and_outputs():
    rng = np.random.default_rng(0)
    z = Tensor(rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)), requires_grad=True)
    x = Tensor(rng.standard_normal((3,)), requires_grad=True)
    f = lambda z, x: anp.exp(z) * x + anp.conj(z) ** 2   # noqa: E731
    assert gradcheck(f, z, x) and gradgradcheck(f, z, x)
    g = lambda z: anp.sum(anp.abs(z @ anp.conj(z).T))     # noqa: E731
    assert gradcheck(g, z) and gradgradcheck(g, z)


def test_gradcheck_catches_a_wrong_complex_gradient():
    @ag.primitive(complex=True, domain=[None])
    def _bad_abs(x):
        return np.abs(x)
    _bad_abs.defvjp(lambda g, out, x: g * x / out)      # conj(x) missing
    try:
        z = Tensor(np.array([1.0 + 2.0j]), requires_grad=True)
        with pytest.raises(ag.GradcheckError, match="wrong"):
            gradcheck(_bad_abs, z)
        assert gradcheck(_bad_abs, Tensor(np.array([1.5]), requires_grad=True))  # real: fine
    finally:
        ag.OPS.pop("_bad_abs", None)


@settings(max_examples=10, deadline=None)
@given(z=tensors(dtype="complex128", shape=(3,), min_value=-2, max_value=2))
def test_complex_strategy_draws_complex_tensors(z):
    assert z.dtype == np.complex128 and z.requires_grad
    assert np.all(np.abs(z.data.real) <= 2) and np.all(np.abs(z.data.imag) <= 2)


test_property_gradcheck_complex = property_gradcheck(
    lambda z: anp.sum(anp.abs(anp.sin(z) + 3.0) ** 2 + anp.angle(z + 5.0)),
    tensors(dtype="complex128", min_value=-1.5, max_value=1.5), order=2, max_examples=10)


# --------------------------------------------------------------------------- linear algebra
def _cmat(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


LINALG = {   # phase-independent functions of complex matrices (eigen/singular vectors have
             # an arbitrary phase: abs() and v v^H do not see it)
    "inv": lambda a, lib: lib.linalg.inv(a),
    "solve": lambda a, lib: lib.linalg.solve(a, a[..., :1] * 2 + 1),
    "det": lambda a, lib: lib.linalg.det(a),
    "slogdet": lambda a, lib: lib.linalg.slogdet(a)[1],
    "norm": lambda a, lib: lib.linalg.norm(a, axis=(-2, -1)),
    "nuc": lambda a, lib: lib.linalg.norm(a, ord="nuc", axis=(-2, -1)),
    "eigh": lambda a, lib: lib.abs(lib.linalg.eigh(a)[1]) + lib.linalg.eigh(a)[0][..., None, :],
    "eig": lambda a, lib: lib.abs(lib.linalg.eig(a)[1]) + lib.real(lib.linalg.eig(a)[0])[..., None, :],
    "svd": lambda a, lib: lib.abs(lib.linalg.svd(a, full_matrices=False)[0])
    + lib.linalg.svd(a, full_matrices=False)[1][..., None, :],
    "svdvals": lambda a, lib: lib.linalg.svd(a, compute_uv=False),
    "cholesky": lambda a, lib: lib.abs(lib.linalg.cholesky(a @ lib.conj(lib.swapaxes(a, -1, -2))
                                                          + 3 * np.eye(3))),
}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_complex_linalg_values_and_gradients(name):
    rng = np.random.default_rng(3)
    a = _cmat(rng, 2, 3, 3)
    fn = LINALG[name]
    t = Tensor(a, requires_grad=True)
    np.testing.assert_allclose(np.asarray(fn(t, anp).data), fn(a, np), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda t: fn(t, anp), t)


def _torch_linalg(torch):
    L = torch.linalg
    return {
        "inv": lambda a: L.inv(a), "solve": lambda a: L.solve(a, a[..., :1] * 2 + 1),
        "det": lambda a: L.det(a), "slogdet": lambda a: L.slogdet(a)[1],
        "norm": lambda a: L.matrix_norm(a), "nuc": lambda a: L.matrix_norm(a, ord="nuc"),
        "eigh": lambda a: L.eigh(a)[1].abs() + L.eigh(a)[0][..., None, :],
        "eig": lambda a: L.eig(a)[1].abs() + L.eig(a)[0].real[..., None, :],
        "svd": lambda a: L.svd(a, full_matrices=False)[0].abs() + L.svdvals(a)[..., None, :],
        "svdvals": lambda a: L.svdvals(a),
        "cholesky": lambda a: L.cholesky(a @ a.mH + 3 * torch.eye(3)).abs(),
    }


@pytest.mark.parametrize("name", sorted(LINALG))
def test_complex_linalg_gradients_match_pytorch_conjugated(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a = _cmat(rng, 3, 3)
    if name == "eigh":            # torch reads the lower triangle too, as numpy does
        a = np.tril(a) + np.tril(a, -1).conj().T
        a[np.diag_indices(3)] = a.diagonal().real
    w = rng.standard_normal(np.shape(LINALG[name](a, np)))
    f = lambda a: anp.sum(anp.real(LINALG[name](a, anp)) * w)   # noqa: E731
    ours = ag.grad(f)(a)
    ta = torch.tensor(a, requires_grad=True)
    out = _torch_linalg(torch)[name](ta)
    (out.real * torch.tensor(w)).sum().backward()
    theirs = ta.grad.numpy()
    if name == "eigh":   # ours lives on the lower triangle read; torch's on the Hermitian
        theirs = np.tril(theirs) + np.tril(theirs.conj().T, -1)   # matrix: fold it there
        theirs[np.diag_indices(3)] = theirs.diagonal().real
    np.testing.assert_allclose(ours, np.conj(theirs), rtol=1e-7, atol=1e-9)


def test_eig_of_a_real_matrix_with_a_complex_spectrum():
    a = np.array([[0.0, -2.0], [1.0, 0.5]])
    w, v = anp.linalg.eig(Tensor(a, requires_grad=True))
    np.testing.assert_allclose(w.data, np.linalg.eig(a)[0])
    g = ag.grad(lambda a: anp.sum(anp.imag(anp.linalg.eig(a)[0]) ** 2))(a)
    assert np.isrealobj(g)
    # imag(w)^2 summed over the pair is 2 (det - tr^2/4); d det = cofactor matrix
    cof = np.array([[a[1, 1], -a[1, 0]], [-a[0, 1], a[0, 0]]])
    np.testing.assert_allclose(g, 2 * (cof - np.trace(a) / 2 * np.eye(2)), atol=1e-10)


def test_unsupported_complex_linalg_says_so():
    z = Tensor(np.eye(2) + 0j, requires_grad=True)
    with pytest.raises(ag.DTypeError, match="qr"):
        anp.linalg.qr(z)


def test_vdot_conjugates_its_first_operand():
    v, w = np.array([1 + 2j, 3 - 1j]), np.array([2 - 1j, 0.5j])
    tv, tw = Tensor(v, requires_grad=True), Tensor(w, requires_grad=True)
    assert complex(anp.vdot(tv, tw).data) == pytest.approx(np.vdot(v, w))
    assert gradcheck(lambda a, b: anp.vdot(a, b), tv, tw)
