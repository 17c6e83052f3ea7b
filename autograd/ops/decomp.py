"""Linear algebra beyond matmul: inverses, solves, determinants, norms and decompositions.

Every function takes a stack of matrices (leading batch dims) wherever numpy does, and
returns numpy's values (the forward *is* numpy's).  vjps are written with this library's
differentiable ops (``solve``, ``matmul``, ``transpose``, ...), so second-order gradients
work through all of them.

Decompositions with several outputs (``eigh``, ``eig``, ``svd``, ``qr``) are one primitive
each that returns its outputs packed into one array (``*_packed``, flattened along a last
axis); the public function unpacks them with differentiable indexing, so one backward pass
sees the gradients of every output at once.

Conventions (each is the exact derivative of the numpy function as it reads its input):

- ``cholesky`` and ``eigh`` read one triangle of their input (numpy: ``UPLO='L'``, the lower
  one; ``cholesky(upper=True)`` the upper one).  Their gradient lives on that triangle: an
  entry below the diagonal gets ``G_ij + G_ji`` of the symmetric-matrix gradient ``G``, the
  diagonal ``G_ii``, the unread triangle zero.  Composed with a symmetrization
  (``(A + A.T) / 2``), this gives the symmetric gradient HIPS autograd, JAX and PyTorch report.
- ``eigh``, ``eig`` and ``svd`` need distinct eigenvalues / singular values for the
  gradient of their vectors (it has a ``1 / (w_j - w_i)`` factor); ``eig`` handles real
  matrices with real spectra (a complex spectrum raises, complex dtypes are unsupported).
- ``pinv`` and ``lstsq`` are differentiated at constant rank (full rank: the derivative of
  the pseudo-inverse jumps where the rank changes).
- ``norm``: the subgradients at points of non-differentiability are: 0 at ``x = 0`` for
  the 2-norm / Frobenius norm and ``sign(0) = 0`` for the 1-norm and p-norms; ties of
  ``max``/``min`` (inf-norms, matrix 1/inf norms) share the gradient evenly; ``ord=0``
  (a count) has gradient zero.
"""
from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np

from ..errors import ShapeError, InvalidValueError, DTypeError
from ..registry import primitive
from ._util import data_of, normalize_axis
from .shape import reshape, transpose, expand_dims, getitem, concatenate
from .reduce import sum as _sum
from .elementwise import abs as _abs, power, sqrt, where
from .linalg import matmul

__all__ = ["inv", "pinv", "solve", "det", "slogdet", "norm", "eigh", "eigvalsh", "eig",
           "eigvals", "cholesky", "svd", "svdvals", "qr", "matrix_power", "lstsq",
           "EighResult", "EigResult", "SVDResult", "QRResult", "SlogdetResult"]

EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = collections.namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = collections.namedtuple("QRResult", ["Q", "R"])
SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])

_LinAlgError = np.linalg.LinAlgError


# ----------------------------------------------------------------------------- helpers
def _T(x):
    """Swap the last two axes (a batched matrix transpose), differentiably."""
    nd = len(x.shape)
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _diag(v):
    """(..., n) -> (..., n, n) with v on the diagonal."""
    return expand_dims(v, -1) * np.eye(v.shape[-1])


def _diag_part(x):
    """(..., n, n) -> (..., n): the diagonal."""
    return _sum(x * np.eye(x.shape[-1]), axis=-1)


def _first(g):
    """Whether a vjp runs on plain arrays (first order) rather than recording."""
    return type(g) is np.ndarray


def _plain(*xs) -> bool:
    return all(isinstance(x, np.ndarray) for x in xs)


def _nan_like(shape) -> np.ndarray:
    return np.full(shape, np.nan)


def _vsolve(a, b):
    """``solve`` inside a vjp: on plain arrays a singular (or NaN) system gives NaN, not an
    error (the forward succeeded, so the backward must finish); recorded otherwise."""
    if _plain(a, b):
        try:
            return np.linalg.solve(a, b)
        except _LinAlgError:
            return _nan_like(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
                             if b.ndim > 1 else a.shape[:-1])
    return solve(a, b)


def _vinv(a):
    if _plain(a):
        try:
            return np.linalg.inv(a)
        except _LinAlgError:
            return _nan_like(a.shape)
    return inv(a)


def _vpinv(a):
    if _plain(a):
        if not _all_finite(a):
            return _nan_like(a.shape[:-2] + a.shape[-2:][::-1])
        try:
            return np.linalg.pinv(a)
        except _LinAlgError:
            return _nan_like(a.shape[:-2] + a.shape[-2:][::-1])
    return pinv(a)


def _vsvd(a):
    """(U, s, Vh), reduced, inside a vjp."""
    if _plain(a):
        try:
            if not _all_finite(a):
                raise _LinAlgError("non-finite")
            return np.linalg.svd(a, full_matrices=False)
        except _LinAlgError:
            m, n = a.shape[-2:]
            k = min(m, n)
            b = a.shape[:-2]
            return _nan_like(b + (m, k)), _nan_like(b + (k,)), _nan_like(b + (k, n))
    return svd(a, full_matrices=False)


def _square(op: str, a: np.ndarray) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{op}: needs a square matrix or a stack of them (shape (..., n, n)), "
                         f"got shape {a.shape}")


def _matrix(op: str, a: np.ndarray) -> None:
    if a.ndim < 2:
        raise ShapeError(f"{op}: needs a matrix or a stack of them (shape (..., m, n)), got "
                         f"shape {a.shape}")


def _float(op: str, *arrays, cplx: bool = False) -> None:
    ok = "biufc" if cplx else "biuf"
    for a in arrays:
        if a.dtype.kind not in ok:
            raise DTypeError(f"{op}: unsupported dtype {a.dtype} (shape {a.shape}); "
                             + ("object arrays are" if cplx else "complex and object arrays are")
                             + " not supported")


def _f64(a) -> np.ndarray:
    """``a`` as float64, or complex128 when complex (for the kink distances)."""
    a = np.asarray(a)
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def _iscx(*xs) -> bool:
    return any(np.iscomplexobj(data_of(x)) for x in xs)


def _cj(x):
    """conj(x), differentiably, for complex x; x itself otherwise."""
    if _iscx(x):
        from .complex import conj
        return conj(x)
    return x


def _finite(op: str, *arrays) -> None:
    """Refuse NaN/inf before an iterative LAPACK routine (SVD, eigen-solvers, least squares),
    which can loop forever on them."""
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise InvalidValueError(f"{op}: the input has NaN or inf entries (shape {a.shape}, "
                                    f"dtype {a.dtype}); the decomposition is undefined")


def _all_finite(*arrays) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def _lapack(op: str, fn, *args, **kw):
    """Call numpy.linalg, turning LinAlgError (singular, not positive definite, no
    convergence) into the library's InvalidValueError."""
    try:
        return fn(*args, **kw)
    except _LinAlgError as e:
        shapes = " and ".join(str(np.shape(a)) for a in args)
        raise InvalidValueError(f"{op}: {e} (shape {shapes})") from None


def _lower_grad(G, upper: bool = False):
    """The gradient on the triangle a symmetric routine reads, from the gradient ``G``
    with respect to the symmetric matrix it builds: off-diagonal ``G_ij + G_ji``,
    diagonal ``G_ii``, zero on the other triangle."""
    n = G.shape[-1]
    strict = np.triu(np.ones((n, n)), 1) if upper else np.tril(np.ones((n, n)), -1)
    return (G + _T(G)) * strict + G * np.eye(n)


def _gap_factor(w):
    """F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it: (..., n) -> (..., n, n)."""
    n = w.shape[-1]
    eye = np.eye(n)
    d = expand_dims(w, -2) - expand_dims(w, -1) + eye
    return (1.0 - eye) / d


def _min_gap(w: np.ndarray) -> float:
    """Smallest distance between two entries along the last axis (inf for one entry)."""
    if w.shape[-1] < 2 or w.size == 0:
        return math.inf
    s = np.sort(w, axis=-1)
    return float(np.min(np.diff(s, axis=-1)))


def _column_signs(v: np.ndarray) -> np.ndarray:
    """+-1 per column of v (..., m, k) making the largest-magnitude entry of each column
    positive: a continuous choice of sign for eigen- and singular vectors (LAPACK's own sign
    can jump, e.g. at diagonal matrices).  Shape (..., 1, k).  Complex v: the unit phase
    ``conj(p) / |p|`` of that entry p, making it real positive (a continuous choice of phase;
    LAPACK's is arbitrary).  ``v * f`` is canonical, ``canonical * conj(f)`` is v again."""
    if v.shape[-2] == 0:
        return np.ones(v.shape[:-2] + (1, v.shape[-1]))
    big = np.take_along_axis(v, np.argmax(np.abs(v), axis=-2)[..., None, :], axis=-2)
    if v.dtype.kind == "c":
        mag = np.abs(big)
        return np.where(mag == 0, 1.0, np.conj(big) / np.where(mag == 0, 1.0, mag))
    return np.where(big < 0, -1.0, 1.0)


def _pivots(v: np.ndarray) -> np.ndarray:
    """One-hot (..., m, k) of the largest-magnitude entry of each column (the entry
    ``_column_signs`` makes real positive)."""
    k = np.argmax(np.abs(v), axis=-2)
    return (np.arange(v.shape[-2])[:, None] == k[..., None, :]).astype(np.float64)


def _phase_correction(V, t):
    """The cotangent term from fixing each column's phase by its pivot (canonical columns
    of V, pivots real positive): ``-i t_j / V[k_j, j]`` at the pivot of column j, where
    ``t_j`` is the imaginary part of the cotangent's component along the phase rotation.
    Derived in autograd.ops.complex's convention; zero for real values."""
    from .complex import real
    onehot = _pivots(data_of(V))
    piv = real(_sum(V * onehot, axis=-2))                # (..., k), real positive
    return onehot * expand_dims(t * (-1j) / piv, -2)


def _sign_tie(v: np.ndarray) -> float:
    """Distance to a tie for the largest-magnitude entry of a column (where the canonical
    sign could flip)."""
    if v.shape[-2] < 2 or v.size == 0:
        return math.inf
    top = np.sort(np.abs(v), axis=-2)
    return float(np.min(top[..., -1, :] - top[..., -2, :]))


def _pack(arrays, batch: tuple):
    """Arrays sharing batch dims ``batch`` flattened and joined along one last axis."""
    return np.concatenate([a.reshape(batch + (-1,)) for a in arrays], axis=-1)


def _unpack(p, batch: tuple, shapes):
    """Inverse of ``_pack`` (differentiable): the pieces with their trailing ``shapes``."""
    out, start = [], 0
    nb = len(batch)
    for s in shapes:
        size = math.prod(s)
        piece = getitem(p, (Ellipsis, slice(start, start + size)))
        out.append(reshape(piece, tuple(p.shape[:nb]) + tuple(s)))
        start += size
    return out


# ----------------------------------------------------------------------------- inv, solve
def _sigma_min(a, *rest, **params):
    """Smallest singular value over the stack: the distance to a singular matrix."""
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    return float(np.min(np.linalg.svd(a, compute_uv=False)))


@primitive(library=True, domain=[None], kinks=_sigma_min, reference=np.linalg.inv)
def inv(a):
    """Matrix inverse.  a : shape-(..., n, n), nonsingular.  Returns shape-(..., n, n)."""
    _square("inv", a)
    _float("inv", a, cplx=True)
    return _lapack("inv", np.linalg.inv, a)


inv.defvjp(lambda g, out, a: -(_T(out) @ g @ _T(out)))   # d(A^-1) = -A^-1 dA A^-1


def _solve_ref(a, b):
    return np.linalg.solve(a, b)


@primitive(library=True, domain=[None, None], kinks=_sigma_min, reference=_solve_ref)
def solve(a, b):
    """x with a @ x = b.  a : shape-(..., n, n);  b : shape-(n,) (one vector, numpy 2's rule)
    or shape-(..., n, k) (batch dims broadcast).  Returns b's shape with broadcast batch dims."""
    _square("solve", a)
    _float("solve", a, b, cplx=True)
    if b.ndim == 0 or b.shape[-1 if b.ndim == 1 else -2] != a.shape[-1]:
        raise ShapeError(f"solve: b of shape {b.shape} does not fit a of shape {a.shape} "
                         f"(b is (n,) or (..., n, k) with n = {a.shape[-1]})")
    return _lapack("solve", np.linalg.solve, a, b)


def _solve_gb(g, a, b):
    # x = A^-1 b:  gb = A^-T g (a vector b: g is (..., n), solved as a column)
    if len(b.shape) == 1:
        return _vsolve(_T(a), expand_dims(g, -1))[..., 0]
    return _vsolve(_T(a), g)


def _solve_ga(g, out, a, b):
    # gA = -gb x^T
    gb = _solve_gb(g, a, b)
    if len(b.shape) == 1:
        return -(expand_dims(gb, -1) * expand_dims(out, -2))
    return -(gb @ _T(out))


solve.defvjp(_solve_ga, lambda g, out, a, b: _solve_gb(g, a, b))


# ----------------------------------------------------------------------------- det, slogdet
def _cofactor(a: np.ndarray) -> np.ndarray:
    """The cofactor matrix d det(A)/dA, also for singular A (via the SVD:
    cof(A) = det(U) det(Vh) U diag(prod_{j!=i} s_j) Vh).  NaN where the SVD fails."""
    if a.size == 0:
        return np.zeros(a.shape, dtype=np.float64)
    if not _all_finite(a):
        return np.full(a.shape, np.nan)
    try:
        u, s, vh = np.linalg.svd(a)
    except _LinAlgError:
        return np.full(a.shape, np.nan)
    n = s.shape[-1]
    ones = np.ones(s.shape[:-1] + (1,))
    left = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    p = left * right                                       # prod of the other s_j
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * ((u * p[..., None, :]) @ vh) if n else u


@primitive(library=True, domain=[None], reference=np.linalg.det)
def det(a):
    """Determinant.  a : shape-(..., n, n).  Returns shape-(...)."""
    _square("det", a)
    _float("det", a, cplx=True)
    return np.linalg.det(a)


def _det_vjp(g, out, a):
    # d det(A) = det(A) tr(A^-1 dA): the gradient is the cofactor matrix
    if _first(g) and not _iscx(a):
        return g[..., None, None] * _cofactor(a)
    return expand_dims(expand_dims(g * out, -1), -1) * _T(_vinv(a))


det.defvjp(_det_vjp)


@primitive(library=True, name="slogdet_logabsdet", domain=[None], kinks=_sigma_min,
           reference=lambda a: np.linalg.slogdet(a)[1])
def _logabsdet(a):
    """log|det(a)| (the differentiable half of ``slogdet``).  a : shape-(..., n, n)."""
    _square("slogdet", a)
    _float("slogdet", a, cplx=True)
    return np.linalg.slogdet(a)[1]


def _logabsdet_vjp(g, out, a):
    # d log|det A| = tr(A^-1 dA): the gradient is A^-T
    return expand_dims(expand_dims(g, -1), -1) * _T(_vinv(a))   # NaN where singular


_logabsdet.defvjp(_logabsdet_vjp)


def slogdet(a):
    """(sign, log|det|) of a stack of square matrices, stably (no overflow of det).

    a : shape-(..., n, n).  sign is a constant (no gradient: it is piecewise constant);
    logabsdet is differentiable with gradient ``inv(a).T``.
    """
    sign = np.linalg.slogdet(data_of(a))[0] if np.size(data_of(a)) else np.ones(np.shape(a)[:-2])
    return SlogdetResult(sign, _logabsdet(a))


# ----------------------------------------------------------------------------- cholesky
def _chol_kinks(a, upper=False):
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    # the smallest eigenvalue of the matrix numpy reads: the distance from losing positive
    # definiteness (complex: of the Hermitian matrix built from the triangle read)
    return float(np.min(np.linalg.eigvalsh(a, UPLO="U" if upper else "L")))


@primitive(library=True, domain=[None], kinks=_chol_kinks, reference=np.linalg.cholesky)
def cholesky(a, upper=False):
    """Cholesky factor.  a : shape-(..., n, n), symmetric (complex: Hermitian) positive
    definite; numpy reads the lower triangle (upper=False, returns L with L L^H = a) or the
    upper one (upper=True, returns U = L^H), and the real part of the diagonal.  The
    gradient lives on the triangle read (see the module notes)."""
    _square("cholesky", a)
    _float("cholesky", a, cplx=True)
    return _lapack("cholesky", np.linalg.cholesky, a, upper=upper)


def _cholesky_vjp(g, out, a, upper=False):
    # dL = L Phi(L^-1 dS L^-H), Phi = lower triangle with half the diagonal, so
    # G = L^-T Phi(L^T gL) conj(L)^-1 is the gradient with respect to the symmetric
    # (Hermitian) S in the convention of autograd.ops.complex (real: L^-T Phi(L^T gL) L^-1).
    L, gL = (_cj(_T(out)), _cj(_T(g))) if upper else (out, g)
    n = L.shape[-1]
    phi = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    X = (_T(L) @ gL) * phi
    Lt = _T(L)
    G = _T(_vsolve(_cj(Lt), _T(_vsolve(Lt, X))))  # L^-T X conj(L)^-1
    return _hermitian_grad(G, upper)


cholesky.defvjp(_cholesky_vjp)


# ----------------------------------------------------------------------------- eigh, eig
def _eigh_kinks(a, UPLO="L"):
    """Distance to repeated eigenvalues and to a flip of the canonical signs."""
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return min(_min_gap(w), _sign_tie(v))


def _eigh_canonical(a, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return _pack((w, v * _column_signs(v)), a.shape[:-2])


@primitive(library=True, domain=[None], kinks=_eigh_kinks, reference=_eigh_canonical)
def eigh_packed(a, UPLO="L"):
    """``eigh`` with its outputs packed: shape-(..., n + n*n), eigenvalues (ascending) then
    the eigenvectors (row-major), each with its largest entry positive (complex Hermitian
    input: real positive), continuous in a.  Use :func:`eigh`, which returns numpy's signs
    (phases)."""
    _square("eigh", a)
    _float("eigh", a, cplx=True)
    _finite("eigh", a)
    if UPLO not in ("L", "U"):
        raise InvalidValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    try:
        return _eigh_canonical(a, UPLO)
    except _LinAlgError as e:
        raise InvalidValueError(f"eigh: {e} (shape {a.shape})") from None


def _hermitian_grad(H, upper: bool):
    """The gradient on the triangle a Hermitian routine reads (its diagonal's real part),
    from the gradient H with respect to the Hermitian matrix it builds: off-diagonal
    ``H_ij + conj(H_ji)``, diagonal ``Re H_ii``, zero on the other triangle."""
    if not _iscx(H):
        return _lower_grad(H, upper)
    from .complex import real
    n = H.shape[-1]
    strict = np.triu(np.ones((n, n)), 1) if upper else np.tril(np.ones((n, n)), -1)
    return (H + _cj(_T(H))) * strict + real(H) * np.eye(n)


def _eigh_vjp(g, out, a, UPLO="L"):
    # dw = diag(V^H dS V), dV = V (F o (V^H dS V)), F_ij = 1/(w_j - w_i); in the convention
    # of autograd.ops.complex: H = conj(V) (diag(gw) + F o (V^T gV)) V^T on the Hermitian
    # S, gV first freed of the fixed phases; then onto the triangle read.
    from .complex import real, imag
    n = a.shape[-1]
    batch = tuple(a.shape[:-2])
    w, V = _unpack(out, batch, [(n,), (n, n)])
    gw, gV = _unpack(g, batch, [(n,), (n, n)])
    if _iscx(out):
        w, gw = real(w), real(gw)
        gV = gV + _phase_correction(V, imag(_diag_part(_T(V) @ gV)))
    inner = _diag(gw) + _gap_factor(w) * (_T(V) @ gV)
    return _hermitian_grad(_cj(V) @ inner @ _T(V), upper=UPLO == "U")


eigh_packed.defvjp(_eigh_vjp)


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric (complex: Hermitian)
    matrices.

    a : shape-(..., n, n); numpy reads the triangle ``UPLO`` (and the real part of the
    diagonal).  Returns ``EighResult(eigenvalues (..., n), eigenvectors (..., n, n))``.
    Gradients of both need distinct eigenvalues.  Eigenvectors come with numpy's signs
    (phases), differentiated as the canonical ones (largest entry real positive) times that
    constant: exact for functions that do not depend on the phase (``abs(v)``, ``v v^H``).
    """
    shape = np.shape(a)
    n = shape[-1] if len(shape) >= 2 else 0
    w, v = _unpack(eigh_packed(a, UPLO=UPLO), tuple(shape[:-2]), [(n,), (n, n)])
    v_np = np.linalg.eigh(np.asarray(data_of(a)), UPLO=UPLO)[1]
    if np.iscomplexobj(v_np):
        from .complex import real
        w = real(w)
    return EighResult(w, v * np.conj(_column_signs(v_np)))     # numpy's signs back


def eigvalsh(a, UPLO="L"):
    """Eigenvalues of symmetric matrices (``eigh(a)[0]``)."""
    return eigh(a, UPLO)[0]


def _canonical_eig(a: np.ndarray):
    """numpy's eig with a continuous choice of order and phases: eigenvalues ascending
    (complex: by real part, then imaginary part), each eigenvector's largest entry real
    positive; and the permutation and phases that give numpy's own order and phases back
    (``w_np = w[perm]``, ``v_np = v[:, perm] * back``)."""
    w, v = _lapack("eig", np.linalg.eig, a)
    order = np.argsort(w, axis=-1, kind="stable")
    wc = np.take_along_axis(w, order, axis=-1)
    vc = np.take_along_axis(v, order[..., None, :], axis=-1)
    flip = _column_signs(vc)
    perm = np.argsort(order, axis=-1)
    back = np.conj(np.take_along_axis(flip, perm[..., None, :], axis=-1))
    return wc, vc * flip, perm, back


def _eig_kinks(a):
    """Distance to repeated eigenvalues, to a change of the canonical order (two real parts
    crossing, conjugate pairs of a real matrix excepted), and to ties of the largest entry
    of an eigenvector (where the canonical phase could jump)."""
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    w, v = np.linalg.eig(a)
    if w.shape[-1] < 2:
        return _sign_tie(v)
    d = np.abs(w[..., :, None] - w[..., None, :])
    dr = np.abs(w.real[..., :, None] - w.real[..., None, :])
    if a.dtype.kind != "c":           # a conjugate pair shares its real part: not a kink
        pair = np.abs(w[..., :, None] - np.conj(w)[..., None, :]) < 1e-9 * (1 + np.abs(w))[..., None]
        dr = np.where(pair, np.inf, dr)
    eye = np.eye(w.shape[-1], dtype=bool)
    gap = float(np.min(np.where(eye, np.inf, np.minimum(d, dr))))
    return min(gap, _sign_tie(v))


def _eig_ref(a):
    w, v, _, _ = _canonical_eig(a)
    return _pack((w, v), a.shape[:-2])


@primitive(library=True, domain=[None], kinks=_eig_kinks, reference=_eig_ref)
def eig_packed(a):
    """``eig`` in a canonical form, packed: shape-(..., n + n*n), eigenvalues ascending then
    eigenvectors with their largest entry real positive (continuous in a, unlike LAPACK's
    order and phases); complex when the spectrum is.  Use :func:`eig`, which returns numpy's
    order and phases."""
    _square("eig", a)
    _float("eig", a, cplx=True)
    _finite("eig", a)
    w, v, _, _ = _canonical_eig(a)
    return _pack((w, v), a.shape[:-2])


def _eig_vjp(g, out, a):
    # A = V diag(w) V^-1, unit columns with a fixed phase, in the convention of
    # autograd.ops.complex (s = diag(V^T gV)):
    # gA = V^-T (diag(gw) + F o (V^T gV')) V^T,  gV' = gV - conj(V) diag(Re s) + phase term
    from .complex import real, imag
    n = a.shape[-1]
    batch = tuple(a.shape[:-2])
    w, V = _unpack(out, batch, [(n,), (n, n)])
    gw, gV = _unpack(g, batch, [(n,), (n, n)])
    s = _diag_part(_T(V) @ gV)
    if _iscx(out, g):
        gV = gV - _cj(V) * expand_dims(real(s), -2) + _phase_correction(V, imag(s))
    else:
        gV = gV - V * expand_dims(s, -2)
    inner = _diag(gw) + _gap_factor(w) * (_T(V) @ gV)
    return _vsolve(_T(V), inner @ _T(V))


eig_packed.defvjp(_eig_vjp)


def eig(a):
    """Eigenvalues and right eigenvectors (unit columns) of square matrices, in numpy's order
    and phases; complex when the spectrum is (a real matrix's gradient is real).
    a : shape-(..., n, n).  Returns ``EigResult(eigenvalues (..., n), eigenvectors
    (..., n, n))``.  Gradients need distinct eigenvalues; eigenvectors are differentiated
    as the canonical ones (largest entry real positive) times numpy's phase, a constant:
    exact for phase-independent functions (``abs(v)``); where LAPACK's order jumps, numpy's
    eig itself is discontinuous."""
    shape = np.shape(a)
    n = shape[-1] if len(shape) >= 2 else 0
    w, v = _unpack(eig_packed(a), tuple(shape[:-2]), [(n,), (n, n)])
    _, _, perm, back = _canonical_eig(np.asarray(data_of(a)))
    w = _take_last(w, perm)
    v = _take_last(v, np.broadcast_to(perm[..., None, :], np.shape(v))) * back
    return EigResult(w, v)


def _take_last(x, idx: np.ndarray):
    """x permuted along its last axis by integer ``idx`` (of x's shape), differentiably."""
    grids = np.indices(idx.shape, sparse=True)
    return getitem(x, tuple(grids[:-1]) + (idx,))


def eigvals(a):
    """Eigenvalues of square matrices (``eig(a)[0]``)."""
    return eig(a)[0]


# ----------------------------------------------------------------------------- svd
def _svd_kinks(a, full_matrices=False):
    """Distance to repeated or zero singular values."""
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    return min(_min_gap(s), float(np.min(s)), _sign_tie(u))


def _svd_canonical(a, full_matrices=False):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    f = _column_signs(u)
    return _pack((u * f, s, vh * np.swapaxes(np.conj(f), -1, -2)), a.shape[:-2])


@primitive(library=True, domain=[None], kinks=_svd_kinks, reference=_svd_canonical)
def svd_packed(a, full_matrices=False):
    """``svd(a, full_matrices=False)`` packed: shape-(..., m*k + k + k*n), k = min(m, n),
    U then s then Vh, signs (complex: phases) chosen continuously (the largest entry of each
    column of U real positive).  Use :func:`svd`, which returns numpy's signs."""
    _matrix("svd", a)
    _float("svd", a, cplx=True)
    _finite("svd", a)
    try:
        return _svd_canonical(a)
    except _LinAlgError as e:
        raise InvalidValueError(f"svd: {e} (shape {a.shape})") from None


def _svd_vjp(g, out, a, full_matrices=False):
    # Distinct nonzero singular values; F_ij = 1/(s_j^2 - s_i^2); V = Vh^T (complex: conj):
    # gA = U[(F o (U^T gU - gU^T U)) S + diag(gs) + S (F o (V^T gV - gV^T V))] V^T
    #      + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T)
    # Complex, in the convention of autograd.ops.complex: U -> conj(U) outside, gV =
    # conj(gVh^T), X^T -> X^H in the skew parts, + i Im(diag(U^T gU)) / s on the diagonal,
    # after gU is freed of the phases fixed by U's pivots.
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = tuple(a.shape[:-2])
    U, s, Vh = _unpack(out, batch, [(m, k), (k,), (k, n)])
    gU, gs, gVh = _unpack(g, batch, [(m, k), (k,), (k, n)])
    cx = _iscx(out)
    if cx:
        from .complex import real, imag
        s, gs = real(s), real(gs)
        t = imag(_diag_part(_T(U) @ gU)) - imag(_diag_part(gVh @ _T(Vh)))
        gU = gU + _phase_correction(U, t)
    V, gV = _cj(_T(Vh)), _cj(_T(gVh))
    F = _gap_factor(s * s)
    S = _diag(s)
    Ut_gU, Vt_gV = _T(U) @ gU, _T(V) @ gV
    core = (F * (Ut_gU - _cj(_T(Ut_gU)))) @ S + _diag(gs) + S @ (F * (Vt_gV - _cj(_T(Vt_gV))))
    if cx:
        core = core + _diag(imag(_diag_part(Ut_gU)) * 1j / s)
    Uc = _cj(U)
    ga = Uc @ core @ _T(V)
    sinv = expand_dims(1.0 / s, -2)                    # multiply columns by 1/s_j
    if m > k:
        ga = ga + ((gU - Uc @ Ut_gU) * sinv) @ _T(V)
    if n > k:
        ga = ga + (Uc * sinv) @ (gVh - (gVh @ _T(Vh)) @ _cj(Vh))
    return ga


svd_packed.defvjp(_svd_vjp)


def _svdvals_kinks(a):
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    s = np.linalg.svd(a, compute_uv=False)
    return min(_min_gap(s), float(np.min(s)))   # second order needs what svd's vectors need


@primitive(library=True, domain=[None], kinks=_svdvals_kinks,
           reference=lambda a: np.linalg.svd(a, compute_uv=False))
def svdvals(a):
    """Singular values (descending).  a : shape-(..., m, n).  Returns shape-(..., min(m, n)).
    Gradient U diag(g) Vh: defined also for repeated singular values (first order)."""
    _matrix("svdvals", a)
    _float("svdvals", a, cplx=True)
    _finite("svdvals", a)
    return _lapack("svdvals", np.linalg.svd, a, compute_uv=False)


def _svdvals_vjp(g, out, a):
    # d s_j = Re(u_j^H dA v_j): U diag(g) Vh, conjugated for complex a
    u, _, vh = _vsvd(a)
    return _cj((u * expand_dims(g, -2)) @ vh)


svdvals.defvjp(_svdvals_vjp)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition ``a = U @ diag(S) @ Vh`` (numpy's signature).

    a : shape-(..., m, n), k = min(m, n).  Returns ``SVDResult(U (..., m, k), S (..., k),
    Vh (..., k, n))``, or S alone with ``compute_uv=False``.  Only the reduced form is
    differentiable: ``full_matrices=True`` (numpy's default) is accepted for square
    matrices, where it is the same thing, and refused otherwise.  Gradients of U and Vh need
    distinct nonzero singular values.
    """
    shape = np.shape(a)
    if not compute_uv:
        return svdvals(a)
    if hermitian:
        raise InvalidValueError("svd: hermitian=True is not supported; use eigh")
    if len(shape) < 2:
        raise ShapeError(f"svd: needs a matrix or a stack of them, got shape {shape}")
    m, n = shape[-2:]
    if full_matrices and m != n:
        raise InvalidValueError(f"svd: full_matrices=True is not differentiable for a "
                                f"non-square matrix (shape {shape}); pass full_matrices=False")
    k = min(m, n)
    U, s, Vh = _unpack(svd_packed(a), tuple(shape[:-2]), [(m, k), (k,), (k, n)])
    f = _column_signs(np.linalg.svd(np.asarray(data_of(a)), full_matrices=False)[0])
    if np.iscomplexobj(f):
        from .complex import real
        s = real(s)
    return SVDResult(U * np.conj(f), s, Vh * np.swapaxes(f, -1, -2))   # numpy's signs back


# ----------------------------------------------------------------------------- qr
def _qr_kinks(a, mode="reduced"):
    """Distance to rank deficiency of the columns QR orthonormalizes."""
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    m, n = a.shape[-2:]
    return float(np.min(np.linalg.svd(a[..., :, :min(m, n)], compute_uv=False)))


def _r_signs(r: np.ndarray) -> np.ndarray:
    """+-1 per row of R (..., k, n): the signs of its diagonal (0 counts as +)."""
    k = r.shape[-2]
    return np.where(np.diagonal(r[..., :, :k], axis1=-2, axis2=-1) < 0, -1.0, 1.0)


def _qr_canonical(a):
    q, r = np.linalg.qr(a)
    d = _r_signs(r)
    return _pack((q * d[..., None, :], r * d[..., :, None]), a.shape[:-2])


@primitive(library=True, domain=[None], kinks=_qr_kinks, reference=_qr_canonical)
def qr_packed(a):
    """``qr(a, mode='reduced')`` packed: shape-(..., m*k + k*n), k = min(m, n), Q then R,
    with R's diagonal positive (the unique, continuous QR of a full-rank matrix; LAPACK's
    signs jump at triangular matrices).  Use :func:`qr`, which returns numpy's signs."""
    _matrix("qr", a)
    _float("qr", a)
    return _qr_canonical(a)


def _qr_square_vjp(gQ, gR, Q, R):
    # m >= n:  M = R gR^T - gQ^T Q,  gA = (gQ + Q copyltu(M)) R^-T
    M = R @ _T(gR) - _T(gQ) @ Q
    n = M.shape[-1]
    low = np.tril(np.ones((n, n)), -1)
    sym = M * (low + np.eye(n)) + _T(M * low)       # lower triangle mirrored up
    return _T(_vsolve(R, _T(gQ + Q @ sym)))


def _qr_vjp(g, out, a):
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = tuple(a.shape[:-2])
    Q, R = _unpack(out, batch, [(m, k), (k, n)])
    gQ, gR = _unpack(g, batch, [(m, k), (k, n)])
    if m >= n:
        return _qr_square_vjp(gQ, gR, Q, R)
    # wide: A = [X | Y], X = Q U (square QR), R = [U | Q^T Y]
    U, gU = R[..., :, :m], gR[..., :, :m]
    Y, gRY = a[..., :, m:], gR[..., :, m:]
    gX = _qr_square_vjp(gQ + Y @ _T(gRY), gU, Q, U)
    return concatenate([gX, Q @ gRY], axis=-1)


qr_packed.defvjp(_qr_vjp)


def qr(a, mode="reduced"):
    """QR decomposition.  a : shape-(..., m, n), k = min(m, n); the leading k columns of
    full rank.  mode 'reduced' (default) returns ``QRResult(Q (..., m, k), R (..., k, n))``;
    'r' returns R; 'complete' is accepted where it equals 'reduced' (m <= n)."""
    shape = np.shape(a)
    if len(shape) < 2:
        raise ShapeError(f"qr: needs a matrix or a stack of them, got shape {shape}")
    m, n = shape[-2:]
    if mode == "complete" and m > n:
        raise InvalidValueError(f"qr: mode='complete' is not differentiable for a tall matrix "
                                f"(shape {shape}); use mode='reduced'")
    if mode not in ("reduced", "complete", "r"):
        raise InvalidValueError(f"qr: mode {mode!r} is not supported (use 'reduced', "
                                f"'complete' or 'r')")
    k = min(m, n)
    Q, R = _unpack(qr_packed(a), tuple(shape[:-2]), [(m, k), (k, n)])
    d = _r_signs(np.linalg.qr(np.asarray(data_of(a)), mode="r"))       # numpy's signs back
    Q, R = Q * d[..., None, :], R * d[..., :, None]
    return R if mode == "r" else QRResult(Q, R)


# ----------------------------------------------------------------------------- pinv, lstsq
def _full_rank_distance(a, *rest, **params):
    a = _f64(a)
    if a.size == 0 or not np.all(np.isfinite(a)):
        return math.inf
    return float(np.min(np.linalg.svd(a, compute_uv=False)))


def _pinv_grad(G, A, P):
    """vjp of P = pinv(A) at constant (full) rank, for an incoming gradient G of P's shape:
    -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""
    Pt, Gt = _T(P), _T(G)
    AP, PA = A @ P, P @ A
    return -(Pt @ G @ Pt) + (Gt - AP @ Gt) @ (P @ Pt) + (Pt @ P) @ (Gt - Gt @ PA)


@primitive(library=True, domain=[None], kinks=_full_rank_distance, reference=np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False):
    """Moore-Penrose pseudo-inverse.  a : shape-(..., m, n).  Returns shape-(..., n, m).
    Differentiated at constant rank (full rank)."""
    _matrix("pinv", a)
    _float("pinv", a)
    _finite("pinv", a)
    kw = {} if rcond is None else {"rcond": rcond}
    return _lapack("pinv", np.linalg.pinv, a, hermitian=hermitian, **kw)


pinv.defvjp(lambda g, out, a, rcond=None, hermitian=False: _pinv_grad(g, a, out))


def _lstsq_x(a, b, rcond=None):
    return np.linalg.lstsq(a, b, rcond=rcond)[0]


@primitive(library=True, name="lstsq_solution", domain=[None, None],
           kinks=_full_rank_distance, reference=_lstsq_x)
def _lstsq_solution(a, b, rcond=None):
    """The least-squares solution of ``lstsq`` (a : (m, n), b : (m,) or (m, k))."""
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ShapeError(f"lstsq: needs a of shape (m, n) and b of shape (m,) or (m, k), got "
                         f"shapes {a.shape} and {b.shape}")
    _float("lstsq", a, b)
    _finite("lstsq", a, b)
    return _lapack("lstsq", np.linalg.lstsq, a, b, rcond=rcond)[0]


def _lstsq_ga(g, out, a, b, rcond=None):
    # x = pinv(A) b at full rank: gA = pinv_grad(g b^T)
    G = expand_dims(g, -1) * expand_dims(b, -2) if len(b.shape) == 1 else g @ _T(b)
    return _pinv_grad(G, a, _vpinv(a))


_lstsq_solution.defvjp(_lstsq_ga, lambda g, out, a, b, rcond=None: _T(_vpinv(a)) @ g)


def lstsq(a, b, rcond=None):
    """Least squares ``min ||a x - b||`` (numpy's signature and result).

    a : shape-(m, n);  b : shape-(m,) or (m, k).  Returns ``(x, residuals, rank, s)``:
    x and residuals (squared residual norms, empty unless rank == n < m) and s (singular
    values of a) are differentiable; rank is an int.  Differentiated at full rank.
    """
    x = _lstsq_solution(a, b, rcond=rcond)
    ad = data_of(a)
    _, res, rank, _ = np.linalg.lstsq(ad, data_of(b), rcond=rcond)
    if np.size(res):
        r = b - a @ x
        res = _sum(r * r, axis=0)
        if len(np.shape(b)) == 1:
            res = reshape(res, (1,))
    return x, res, int(rank), svdvals(a)


# ----------------------------------------------------------------------------- matrix_power
def matrix_power(a, n: int):
    """a raised to the integer power n by repeated squaring (negative n: of inv(a)); n = 0
    gives the identity.  a : shape-(..., m, m).  An exact composition of matmul and inv."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise InvalidValueError(f"matrix_power: the exponent must be an integer, got {n!r}")
    shape = np.shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(f"matrix_power: needs a square matrix or a stack of them, got "
                         f"shape {shape}")
    if n == 0:      # a constant: no gradient flows (a Tensor in, a Tensor out)
        eye = np.broadcast_to(np.eye(shape[-1], dtype=np.asarray(data_of(a)).dtype), shape).copy()
        return eye if data_of(a) is a else type(a)(eye)
    if n < 0:
        a, n = inv(a), -n
    result = None
    while True:
        if n & 1:
            result = a if result is None else result @ a
        n >>= 1
        if not n:
            return result
        a = a @ a


# ----------------------------------------------------------------------------- norm
def _norm_kind(x_ndim: int, ord: Any, axis: Any) -> tuple:
    """('vector' | 'matrix' | 'flat', axes) as numpy.linalg.norm decides."""
    if axis is None:
        if ord is None:
            return "flat", tuple(range(x_ndim))
        if x_ndim == 1:
            return "vector", (0,)
        if x_ndim == 2:
            return "matrix", (0, 1)
        raise ShapeError(f"norm: ord={ord!r} needs a 1-d or 2-d array or an axis, got "
                         f"{x_ndim} dims")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 1:
        return "vector", normalize_axis("norm", axes[0], x_ndim)
    if len(axes) == 2:
        a0, a1 = (normalize_axis("norm", a, x_ndim)[0] for a in axes)
        if a0 == a1:
            raise ShapeError(f"norm: duplicate axes {axis!r}")
        return "matrix", (a0, a1)
    raise ShapeError(f"norm: axis must be an int or a pair of ints, got {axis!r}")


def _norm_kinks(x, ord=None, axis=None, keepdims=False):
    """Distance to where the norm is not (twice) differentiable for this ord."""
    x = _f64(x)
    if x.size == 0 or not np.all(np.isfinite(x)):
        return math.inf
    kind, axes = _norm_kind(x.ndim, ord, axis)
    if kind == "flat" or (kind == "vector" and ord in (None, 2)) or \
            (kind == "matrix" and ord in (None, "fro")):
        return float(np.min(np.linalg.norm(x, axis=None if kind == "flat" else axes)))
    if ord == 0:
        return float(np.min(np.abs(x)))
    if kind == "vector":
        d = float(np.min(np.abs(x)))
        if ord in (np.inf, -np.inf):
            a = np.moveaxis(np.abs(x), axes[0], -1)
            d = min(d, _min_gap(a))
        return d
    m = np.moveaxis(x, axes, (-2, -1))
    if ord in (2, -2, "nuc"):
        s = np.linalg.svd(m, compute_uv=False)
        return min(_min_gap(s), float(np.min(s)))
    sums = np.abs(m).sum(axis=-2 if ord in (1, -1) else -1)
    return min(_min_gap(sums), float(np.min(np.abs(x))))


def _norm_ref(x, ord=None, axis=None, keepdims=False):
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@primitive(library=True, domain=[None], kinks=_norm_kinks, reference=_norm_ref)
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, numpy's ``linalg.norm`` (every ord it takes, axis, keepdims).

    x : shape-(*S).  Vector ords: None/2, inf, -inf, 0 (a count), 1, any other p
    (``(sum |x|^p)^(1/p)``, negative p included).  Matrix ords (2-d x, or axis a pair):
    None/'fro', 'nuc', 2, -2 (extreme singular values), 1, -1, inf, -inf (extreme column /
    row sums).  Subgradients at kinks: see the module notes.
    """
    _float("norm", x, cplx=True)
    if _norm_kind(x.ndim, ord, axis)[0] == "matrix" and ord in (2, -2, "nuc"):
        _finite("norm", x)
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _extreme_mask(v: np.ndarray, axis: int, largest: bool) -> np.ndarray:
    """1 where v is its max (min) along axis, shared evenly between ties."""
    e = v.max(axis=axis, keepdims=True) if largest else v.min(axis=axis, keepdims=True)
    mask = (v == e).astype(np.float64)
    return mask / mask.sum(axis=axis, keepdims=True)


def _norm_vjp(g, out, x, ord=None, axis=None, keepdims=False):
    xd = data_of(x)
    if xd.size == 0:      # an empty input has no entries to send a gradient to (numpy: norm 0)
        return np.zeros(xd.shape, dtype=xd.dtype)
    kind, axes = _norm_kind(xd.ndim, ord, axis)
    kept = tuple(1 if i in axes else s for i, s in enumerate(xd.shape))
    if kind == "flat":
        kept = (1,) * xd.ndim
    ge, oe = reshape(g, kept), reshape(out, kept)
    sign = np.sign(xd)                            # piecewise constant: no second-order term
    cx = xd.dtype.kind == "c"
    if cx:   # complex: d|z| = Re(conj(z) dz) / |z|, so sign(z) -> conj(z) / |z| (0 at 0)
        zero = xd == 0
        xs = where(zero, 1.0, x)
        sign = where(zero, 0.0, _cj(xs) / _abs(xs))
    if kind == "flat" or (kind == "vector" and ord in (None, 2)) or \
            (kind == "matrix" and ord in (None, "fro")):
        safe = where(data_of(oe) == 0, 1.0, oe)   # subgradient 0 at x = 0
        return ge * _cj(x) / safe
    if ord == 0:
        return np.zeros(xd.shape, dtype=xd.dtype)
    if kind == "vector":
        if ord in (np.inf, -np.inf):
            return ge * sign * _extreme_mask(np.abs(xd), axes[0], ord > 0)
        if ord == 1:
            return ge * sign
        p = float(ord)                            # d (sum|x|^p)^(1/p) = sign(x)|x|^(p-1) / n^(p-1)
        return ge * sign * power(_abs(x) / oe, p - 1.0)
    r, c = axes
    if ord in (1, -1, np.inf, -np.inf):           # max/min column (1) or row (inf) abs sum
        along = r if ord in (1, -1) else c
        sums = np.abs(xd).sum(axis=along, keepdims=True)
        other = c if ord in (1, -1) else r
        return ge * sign * _extreme_mask(sums, other, ord > 0)
    # 2, -2, nuc through the SVD of x with the two axes moved last
    perm = tuple(i for i in range(xd.ndim) if i not in axes) + (r, c)
    back = tuple(int(i) for i in np.argsort(perm))
    gt = transpose(ge, perm)
    u, s, vh = _vsvd(transpose(x, perm))
    if ord == "nuc":
        return transpose(gt * _cj(u @ vh), back)
    j = 0 if ord == 2 else -1
    uj, vj = u[..., :, j:j + 1] if j == 0 else u[..., :, j:], \
        vh[..., j:j + 1, :] if j == 0 else vh[..., j:, :]
    return transpose(gt * _cj(uj @ vj), back)


norm.defvjp(_norm_vjp)
