"""autograd.scipy: special functions and distributions against scipy's values, gradients
against finite differences (the special primitives are also in the registry sweep), and the
optional-dependency behaviour."""
import subprocess
import sys

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")
ss = pytest.importorskip("scipy.stats")

import autograd as ag  # noqa: E402
import autograd.scipy.special as S  # noqa: E402
import autograd.scipy.stats as st  # noqa: E402
from autograd import Tensor, gradcheck, gradgradcheck  # noqa: E402
import autograd.numpy as anp  # noqa: E402


def _t(x):
    return Tensor(np.array(x, dtype=np.float64), requires_grad=True)


X = np.array([0.3, 0.7, 1.9, 3.2])


def _val(a):
    return np.asarray(getattr(a, "data", a))


@pytest.mark.parametrize("name,args", [
    ("gamma", (X,)), ("gammaln", (X,)), ("digamma", (X,)), ("psi", (X,)), ("rgamma", (X,)),
    ("polygamma", (2, X)), ("multigammaln", (X + 2, 3)), ("beta", (X, X[::-1])),
    ("betaln", (X, 2.0)), ("betainc", (2.0, 3.0, X / 4)), ("gammainc", (1.5, X)),
    ("gammaincc", (1.5, X)), ("erf", (X - 1,)), ("erfc", (X - 1,)), ("erfinv", (X / 4,)),
    ("erfcinv", (X / 2,)), ("expit", (X - 1,)), ("logit", (X / 4,)), ("xlogy", (X - 1, X)),
    ("xlog1py", (X - 1, X)), ("entr", (X,)), ("i0", (X,)), ("i1", (X,)), ("iv", (1.5, X)),
    ("ive", (2, X)), ("j0", (X,)), ("j1", (X,)), ("jn", (3, X)), ("y0", (X,)), ("y1", (X,)),
    ("yn", (2, X)), ("log_ndtr", (X - 2,)), ("ndtr", (X - 2,)), ("ndtri", (X / 4,)),
])
def test_special_forward_matches_scipy_and_gradients_check(name, args):
    ours, ref = getattr(S, name), getattr(sc, name)
    np.testing.assert_allclose(_val(ours(*args)), ref(*args), rtol=1e-12, atol=1e-14)
    i = len(args) - 1 if name not in ("beta", "betaln", "xlogy", "xlog1py", "multigammaln") else 0
    x = _t(args[i])

    def f(v):
        a = list(args)
        a[i] = v
        return ours(*a)
    assert gradcheck(f, x) and gradgradcheck(f, x)


def test_logsumexp_with_b_and_return_sign():
    a = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    b = np.array([1.0, -0.5, 2.0])
    for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True}, {"b": b}, {"b": b, "axis": 1},
               {"b": -b, "axis": 1, "return_sign": True}, {"return_sign": True}):
        got, want = S.logsumexp(_t(a), **kw), sc.logsumexp(a, **kw)
        if kw.get("return_sign"):
            np.testing.assert_allclose(got[0].data, want[0], rtol=1e-12)
            np.testing.assert_array_equal(got[1], want[1])
        else:
            np.testing.assert_allclose(got.data, want, rtol=1e-12)
    assert gradcheck(lambda x, y: S.logsumexp(x, axis=1, b=y), _t(a), _t(b))
    assert gradgradcheck(lambda x, y: S.logsumexp(x, axis=1, b=y), _t(a), _t(b))


def test_gradient_in_an_unsupported_argument_raises_not_zero():
    with pytest.raises(ag.GraphError, match="betainc: the gradient with respect to a"):
        ag.sum(S.betainc(_t([2.0]), 3.0, 0.5)).backward()
    with pytest.raises(ag.GraphError, match="gammainc: the gradient with respect to a"):
        ag.sum(st.gamma.cdf(1.0, _t([2.0]))).backward()


def test_xlogy_gradient_at_x_zero_is_log_y():
    x, y = _t([0.0, 0.0]), _t([2.0, 0.5])
    ag.sum(S.xlogy(x, y)).backward()
    np.testing.assert_allclose(x.grad, np.log([2.0, 0.5]))
    np.testing.assert_allclose(y.grad, [0.0, 0.0])


A = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.0]])
M = np.array([0.1, -0.2, 0.3])
AL = np.array([1.5, 2.0, 0.7])
Q = np.array([[0.2, 0.1], [0.5, 0.6], [0.3, 0.3]])
XS = np.random.default_rng(0).normal(size=(4, 3))
K = np.array([0.0, 1.0, 5.0, 2.0])

STATS = [  # (ours, scipy's, data, params): gradients checked in the data and every param
    ("norm.logpdf", (X, 0.5, 1.3)), ("norm.pdf", (X, 0.5, 1.3)), ("norm.cdf", (X, 0.5, 1.3)),
    ("norm.logcdf", (X, 0.5, 1.3)), ("norm.sf", (X, 0.5, 1.3)), ("norm.logsf", (X, 0.5, 1.3)),
    ("t.logpdf", (X, 3.5, 0.2, 1.1)), ("t.pdf", (X, 3.5, 0.2, 1.1)),
    ("t.cdf", (X - 1, 3.5, 0.2, 1.1)), ("t.logcdf", (X - 1, 3.5)),
    ("gamma.logpdf", (X, 2.5, 0.1, 1.5)), ("gamma.pdf", (X, 2.5, 0.1, 1.5)),
    ("gamma.cdf", (X, 2.5, 0.1, 1.5)), ("gamma.logcdf", (X, 2.5, 0.1, 1.5)),
    ("beta.logpdf", (X / 4, 2.5, 1.5)), ("beta.pdf", (X / 4, 2.5, 1.5)),
    ("beta.cdf", (X / 4, 2.5, 1.5)), ("beta.logcdf", (X / 4, 2.5, 1.5, 0.05, 0.9)),
    ("chi2.logpdf", (X, 3.0)), ("chi2.pdf", (X, 3.0)), ("chi2.cdf", (X, 3.0)),
    ("chi2.logcdf", (X, 3.0, 0.1, 1.2)),
    ("poisson.logpmf", (K, 2.3)), ("poisson.pmf", (K, 2.3)), ("poisson.cdf", (K, 2.3)),
    ("poisson.logcdf", (K, 2.3)),
    ("expon.logpdf", (X, 0.1, 2.0)), ("expon.pdf", (X, 0.1, 2.0)),
    ("expon.cdf", (X, 0.1, 2.0)), ("expon.logcdf", (X, 0.1, 2.0)),
    ("multivariate_normal.logpdf", (XS, M, A)), ("multivariate_normal.pdf", (XS[0], M, A)),
    ("dirichlet.logpdf", (Q, AL)), ("dirichlet.pdf", (Q[:, 0], AL)),
]
# arguments that are not differentiable here (counts; shape parameters inside betainc/gammainc)
NO_GRAD = {"poisson": {0}, "t.cdf": {1}, "t.logcdf": {1}, "gamma.cdf": {1}, "beta.cdf": {1, 2},
           "chi2.cdf": {1}, "gamma.logcdf": {1}, "beta.logcdf": {1, 2}, "chi2.logcdf": {1}}


@pytest.mark.parametrize("name,args", STATS, ids=[s[0] for s in STATS])
def test_stats_match_scipy_and_differentiate_in_data_and_parameters(name, args):
    dist, fn = name.split(".")
    ours, ref = getattr(getattr(st, dist), fn), getattr(getattr(ss, dist), fn)
    np.testing.assert_allclose(_val(ours(*args)), ref(*args), rtol=1e-10, atol=1e-300)
    skip = NO_GRAD.get(name, NO_GRAD.get(dist, set()))
    for i, a in enumerate(args):
        if i in skip:
            continue
        x = _t(a)

        def f(v, i=i):
            b = list(args)
            b[i] = v
            out = ours(*b)
            return out if isinstance(out, Tensor) else Tensor(out)
        assert gradcheck(f, x), (name, i)
    assert gradgradcheck(lambda v: ours(v, *args[1:]), _t(args[0])) if 0 not in skip else True


def test_poisson_outside_the_support():
    k = np.array([-1.0, 2.5, 0.0, 3.0])
    for fn in ("logpmf", "pmf", "cdf", "logcdf"):
        np.testing.assert_allclose(_val(getattr(st.poisson, fn)(k, _t(2.3))),
                                   getattr(ss.poisson, fn)(k, 2.3), rtol=1e-12)


def test_poisson_log_probabilities_are_constant_outside_the_support():
    # -inf at k < 0 (and, for the pmf, at non-integer k) does not depend on mu: gradient 0
    for fn, k in (("logcdf", -1.0), ("logpmf", -1.0), ("logpmf", 2.5)):
        mu = _t(2.3)
        out = getattr(st.poisson, fn)(np.array([k, 1.0]), mu)
        assert np.isneginf(_val(out)[0])
        ag.sum(out).backward()          # seeds both: the k outside adds nothing
        inside = getattr(ss.poisson, fn)
        fd = (inside(1.0, 2.3 + 1e-6) - inside(1.0, 2.3 - 1e-6)) / 2e-6
        np.testing.assert_allclose(mu.grad, fd, rtol=1e-6)


def test_log_cdfs_match_scipy_in_the_far_tails():
    x = np.array([1e-6, 1e-3, 30.0])   # log P near 0 at 30: the log1p(-Q) branch
    np.testing.assert_allclose(_val(st.gamma.logcdf(x, 2.5)), ss.gamma.logcdf(x, 2.5), rtol=1e-10)
    np.testing.assert_allclose(_val(st.chi2.logcdf(x, 3.0)), ss.chi2.logcdf(x, 3.0), rtol=1e-10)
    xb = np.array([1e-6, 1e-3, 1 - 1e-6])
    np.testing.assert_allclose(_val(st.beta.logcdf(xb, 2.5, 1.5)), ss.beta.logcdf(xb, 2.5, 1.5),
                               rtol=1e-10)
    np.testing.assert_allclose(_val(st.expon.logcdf(np.array([1e-12, 5.0]))),
                               ss.expon.logcdf(np.array([1e-12, 5.0])), rtol=1e-12)


def test_multivariate_normal_cov_gradient_is_symmetric_and_entropy():
    c = _t(A)
    ag.sum(st.multivariate_normal.logpdf(XS, M, c)).backward()
    np.testing.assert_allclose(c.grad, c.grad.T, atol=1e-12)
    # d/dSigma sum_i log N(x_i) = -N/2 Sigma^-1 + 1/2 Sigma^-1 S Sigma^-1, S = sum d d^T
    d = XS - M
    inv = np.linalg.inv(A)
    want = -0.5 * len(XS) * inv + 0.5 * inv @ (d.T @ d) @ inv
    np.testing.assert_allclose(c.grad, want, rtol=1e-9)
    np.testing.assert_allclose(st.multivariate_normal.entropy(M, A).data if isinstance(
        st.multivariate_normal.entropy(M, A), Tensor) else st.multivariate_normal.entropy(M, A),
        ss.multivariate_normal.entropy(M, A), rtol=1e-12)


def test_multivariate_normal_allow_singular_matches_scipy_on_and_off_the_support():
    cov = np.zeros((4, 4))
    cov[:2, :2] = [[1.0, 0.3], [0.3, 2.0]]                   # rank 2
    m = np.array([0.1, 0.2, 0.0, 0.0])
    xs = np.array([[0.5, -0.3, 0.0, 0.0], [1.0, 2.0, 0.0, 0.0], [1.0, 2.0, 0.1, 0.0]])
    for f in ("logpdf", "pdf"):
        np.testing.assert_allclose(
            getattr(st.multivariate_normal, f)(_t(xs), m, cov, allow_singular=True).data,
            getattr(ss.multivariate_normal, f)(xs, m, cov, allow_singular=True), rtol=1e-12)

    def on_support(x, mu):          # moves stay in the range of cov
        return st.multivariate_normal.logpdf(
            anp.concatenate([x[:2], np.zeros(2)]), anp.concatenate([mu[:2], np.zeros(2)]), cov,
            allow_singular=True)
    assert gradcheck(on_support, _t(xs[0]), _t(m)) and gradgradcheck(on_support, _t(xs[0]), _t(m))
    # a positive definite cov takes the Cholesky path: differentiable in cov
    assert gradcheck(lambda c: st.multivariate_normal.logpdf(XS, M, c, allow_singular=True),
                     _t(A))
    with pytest.raises(ag.GraphError, match="allow_singular=True and a singular cov"):
        st.multivariate_normal.logpdf(xs[0], m, _t(cov), allow_singular=True)
    with pytest.raises(ag.InvalidValueError, match="not positive semidefinite"):
        st.multivariate_normal.logpdf(xs[0], m, -np.eye(4), allow_singular=True)


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))


def test_primitives_are_registered_only_when_autograd_scipy_is_imported():
    r = _run("import autograd; assert 'erfinv' not in autograd.OPS\n"
             "import autograd.scipy; assert 'erfinv' in autograd.OPS; print('ok')")
    assert r.stdout.strip() == "ok", r.stderr


def test_without_scipy_the_import_error_says_what_to_install():
    r = _run("import sys; sys.modules['scipy'] = None\n"
             "try:\n    import autograd.scipy\nexcept ImportError as e:\n    print(e)")
    assert "autograd.scipy needs scipy" in r.stdout and "pip install" in r.stdout, r.stderr


# ------------------------------------------------------------------ autograd.scipy.linalg
import scipy.linalg as sla  # noqa: E402
import autograd.scipy.linalg as L  # noqa: E402

RNG = np.random.default_rng(3)
GA = RNG.normal(size=(3, 3)) + 4 * np.eye(3)
SPD = GA @ GA.T
GB = RNG.normal(size=(3, 2))


@pytest.mark.parametrize("kw", [{}, {"lower": True}, {"trans": 1}, {"trans": "T", "lower": True,
                                                                     "unit_diagonal": True}])
def test_solve_triangular(kw):
    np.testing.assert_allclose(L.solve_triangular(_t(GA), GB, **kw).data,
                               sla.solve_triangular(GA, GB, **kw), rtol=1e-12)
    assert gradcheck(lambda a, b: L.solve_triangular(a, b, **kw), _t(GA), _t(GB))
    assert gradgradcheck(lambda a, b: L.solve_triangular(a, b, **kw), _t(GA), _t(GB[:, 0]))


@pytest.mark.parametrize("lower", [True, False])
def test_cho_factor_cho_solve(lower):
    want = sla.cho_solve(sla.cho_factor(SPD, lower), GB)
    np.testing.assert_allclose(L.cho_solve(L.cho_factor(_t(SPD), lower), GB).data, want,
                               rtol=1e-12)
    assert gradcheck(lambda s, b: L.cho_solve(L.cho_factor(s, lower), b), _t(SPD), _t(GB))


def test_matrix_functions_and_sylvester_and_block_diag():
    np.testing.assert_allclose(L.sqrtm(_t(SPD)).data, sla.sqrtm(SPD), rtol=1e-10)
    np.testing.assert_allclose(L.expm(_t(GA / 4)).data, sla.expm(GA / 4), rtol=1e-12)
    bs, q = np.array([[2.0, 0.3], [0.1, 1.5]]), RNG.normal(size=(3, 2))
    np.testing.assert_allclose(L.solve_sylvester(_t(SPD), bs, q).data,
                               sla.solve_sylvester(SPD, bs, q), rtol=1e-10)
    assert gradcheck(L.solve_sylvester, _t(SPD), _t(bs), _t(q))
    assert gradcheck(L.expm, _t(GA / 4)) and gradcheck(L.sqrtm, _t(SPD))
    parts = (GA, GB, np.array([1.0, 2.0]), 3.0)
    np.testing.assert_array_equal(L.block_diag(_t(GA), GB, *parts[2:]).data,
                                  sla.block_diag(*parts))
    assert gradcheck(lambda a, b: L.block_diag(a, b, np.ones((1, 1))), _t(GA), _t(GB))
    with pytest.raises(ag.InvalidValueError, match="sqrtm: the matrix .* has no square root"):
        L.sqrtm(_t(np.array([[0.0, 1.0], [0.0, 0.0]])))


def test_sqrtm_of_a_negative_eigenvalue_is_complex_and_differentiates():
    # a real symmetric matrix with a negative eigenvalue: the principal root is complex
    s = np.array([[1.0, 2.0, 0.3], [2.0, 0.5, -0.4], [0.3, -0.4, 2.0]])
    assert np.linalg.eigvalsh(s).min() < 0
    out = L.sqrtm(_t(s))
    np.testing.assert_allclose(out.data, sla.sqrtm(s), rtol=1e-10)
    np.testing.assert_allclose(out.data @ out.data, s, atol=1e-10)
    f = lambda a: anp.sum(anp.real(L.sqrtm(a)) * GA + anp.imag(L.sqrtm(a)))  # noqa: E731
    assert gradcheck(f, _t(s)) and gradgradcheck(f, _t(s))
    z = Tensor(s + 0.2j * GA, requires_grad=True)
    np.testing.assert_allclose(L.sqrtm(z).data, sla.sqrtm(s + 0.2j * GA), rtol=1e-10)
    assert gradcheck(L.sqrtm, z)


@pytest.mark.parametrize("l,u", [(1, 1), (0, 2), (2, 0), (1, 2)])
@pytest.mark.parametrize("k", [None, 2])
def test_solve_banded_matches_scipy_and_differentiates(l, u, k):
    ab = RNG.normal(size=(l + u + 1, 5))
    ab[u] += 4.0
    b = RNG.normal(size=(5,) if k is None else (5, k))
    np.testing.assert_allclose(L.solve_banded((l, u), _t(ab), b).data,
                               sla.solve_banded((l, u), ab, b), rtol=1e-12)
    f = lambda a, c: L.solve_banded((l, u), a, c)  # noqa: E731
    assert gradcheck(f, _t(ab), _t(b)) and gradgradcheck(f, _t(ab), _t(b))
    with pytest.raises(ag.ShapeError, match="solve_banded: ab of shape"):
        L.solve_banded((l + 1, u), _t(ab), b)


# ------------------------------------------------------------------ autograd.scipy.signal
import scipy.signal as ssig  # noqa: E402
import autograd.scipy.signal as SIG  # noqa: E402


@pytest.mark.parametrize("sa,sb", [((5,), (3,)), ((3,), (5,)), ((4, 5), (2, 3)),
                                   ((2, 3), (4, 5)), ((3, 4, 2), (2, 2, 2))])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
def test_convolve_matches_scipy_and_differentiates(sa, sb, mode):
    a, b = RNG.normal(size=sa), RNG.normal(size=sb)
    np.testing.assert_allclose(SIG.convolve(_t(a), b, mode=mode).data,
                               ssig.convolve(a, b, mode=mode), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x, y: SIG.convolve(x, y, mode=mode), _t(a), _t(b))


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
def test_convolve_axes_and_dot_axes_match_scipy_slices_and_differentiate(mode):
    a, b = RNG.normal(size=(2, 5, 3)), RNG.normal(size=(3, 4, 2))
    # convolve a's axis 1 with b's axis 1, sum a's axis 0 against b's axis 2; keep a's 2, b's 0
    out = SIG.convolve(_t(a), b, axes=([1], [1]), dot_axes=([0], [2]), mode=mode).data
    want = np.array([[sum(ssig.convolve(a[d, :, i], b[j, :, d], mode) for d in range(2))
                      for j in range(3)] for i in range(3)])
    assert out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)
    # 2 convolved axes given in swapped order: the output's conv axes follow axes_a
    c, e = RNG.normal(size=(4, 3)), RNG.normal(size=(2, 3))
    got = SIG.convolve(_t(c), e, axes=([1, 0], [1, 0]), mode=mode).data
    np.testing.assert_allclose(got, ssig.convolve(c, e, mode).T, rtol=1e-10, atol=1e-12)
    # no convolved axes: a tensordot; axes=None with dot axes: every other axis, in order
    h = RNG.normal(size=(3, 2))
    np.testing.assert_allclose(SIG.convolve(_t(c), h, axes=([], []), dot_axes=([1], [0]),
                                            mode=mode).data,
                               np.tensordot(c, h, ([1], [0])), rtol=1e-12)
    np.testing.assert_allclose(SIG.convolve(_t(c), h.T, dot_axes=([1], [1]), mode=mode).data,
                               sum(ssig.convolve(c[:, k], h.T[:, k], mode) for k in range(3)),
                               rtol=1e-10, atol=1e-12)
    f = lambda x, y: SIG.convolve(x, y, axes=([1], [1]), dot_axes=([0], [2]), mode=mode)  # noqa
    assert gradcheck(f, _t(a), _t(b)) and gradgradcheck(f, _t(a), _t(b))


def test_convolve_errors():
    with pytest.raises(ag.ShapeError, match="dot_axes .* differ in size"):
        SIG.convolve(_t(np.ones((2, 5))), np.ones((3, 2)), axes=([1], [1]), dot_axes=([0], [0]))
    with pytest.raises(ag.InvalidValueError, match="appears twice"):
        SIG.convolve(_t(np.ones((2, 5))), np.ones((2, 2)), axes=([1], [1]), dot_axes=([1], [0]))
    with pytest.raises(ag.ShapeError, match="convolved axis"):
        SIG.convolve(_t(np.ones((2, 5))), np.ones((3, 2)), axes=([0, 1], [0, 1]), mode="valid")
    with pytest.raises(ag.ShapeError, match="valid"):
        SIG.convolve(_t(np.ones((2, 5))), np.ones((3, 2)), mode="valid")
    with pytest.raises(ag.InvalidValueError, match="mode"):
        SIG.convolve(_t(np.ones(3)), np.ones(2), mode="circular")


def test_readme_scientific_computing_scipy_example_runs():
    import pathlib
    import re
    text = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Scientific computing", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```py\n(.*?)```", section, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README scipy example", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_erf_erfc_of_complex_input_match_scipy_and_are_holomorphic(name):
    z = np.array([0.3 + 0.4j, -1.2 + 0.1j, 0.8 - 1.1j])
    ours, ref = getattr(S, name), getattr(sc, name)
    np.testing.assert_allclose(_val(ours(z)), ref(z), rtol=1e-12)
    t = Tensor(z, requires_grad=True)
    assert gradcheck(ours, t) and gradgradcheck(ours, t)
    # holomorphic: the vjp with seed 1 is f'(z) (HIPS's convention), f' = +-2/sqrt(pi) e^{-z^2}
    ag.sum(ours(t)).backward()
    sgn = 1.0 if name == "erf" else -1.0
    np.testing.assert_allclose(t.grad, sgn * 2 / np.sqrt(np.pi) * np.exp(-z * z), rtol=1e-12)


def test_convolve_mode_by_position_keeps_scipy_spelling():
    # scipy.signal.convolve(a, b, 'valid'): the mode as third positional argument, as before
    # HIPS's axes/dot_axes arguments took that place.
    sps = pytest.importorskip("scipy.signal")
    from autograd.scipy.signal import convolve as agconv
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(6, 5)), rng.normal(size=(3, 2))
    for mode in ("full", "valid", "same"):
        np.testing.assert_allclose(np.asarray(agconv(a, b, mode)), sps.convolve(a, b, mode),
                                   rtol=1e-12, atol=1e-12)
    with pytest.raises(ag.InvalidValueError, match="axes place"):
        agconv(a, b, "valid", mode="same")


def test_solve_sylvester_mixed_real_complex_operands():
    # scipy.linalg.solve_sylvester mishandles a real a beside complex b, q (its answer does
    # not solve the equation); ours widens first. Checked by the residual, not against scipy,
    # then gradients at both orders.
    pytest.importorskip("scipy")
    import autograd.scipy.linalg as SL
    rng = np.random.default_rng(0)
    a = Tensor(rng.normal(size=(2, 2)) + 3 * np.eye(2), requires_grad=True)
    b = Tensor(np.array([[1 + 0.5j]]))
    q = Tensor(rng.normal(size=(2, 1)) + 1j * rng.normal(size=(2, 1)), requires_grad=True)
    x = SL.solve_sylvester(a, b, q).data
    np.testing.assert_allclose(a.data @ x + x @ b.data, q.data, atol=1e-12)
    assert gradcheck(lambda a_, q_: SL.solve_sylvester(a_, b, q_), a, q)
    assert gradgradcheck(lambda a_, q_: SL.solve_sylvester(a_, b, q_), a, q)
