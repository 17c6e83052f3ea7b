"""``autograd.scipy.linalg``: triangular and Cholesky solves, matrix functions, Sylvester
equations and block diagonals, differentiable (2-d matrices, as scipy takes them).

``solve_triangular`` reads one triangle of ``a`` (and not its diagonal with
``unit_diagonal``), so its gradient in ``a`` lives there.  ``cho_factor`` returns the factor
with zeros in the other triangle (scipy leaves arbitrary values there, documented as
unspecified); ``cho_solve`` reads the factor's triangle only.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ..errors import ShapeError, InvalidValueError
from ..registry import primitive
from ..ops import decomp
from ..ops.decomp import _T
from ..ops.shape import concatenate, getitem
from ..ops._util import data_of

__all__ = ["solve_triangular", "cho_factor", "cho_solve", "sqrtm", "solve_sylvester", "expm",
           "block_diag", "solve_banded", "inv", "det", "slogdet", "solve", "cholesky", "eigh", "svd", "qr",
           "pinv", "lstsq", "norm"]

inv, det, solve, pinv, norm = decomp.inv, decomp.det, decomp.solve, decomp.pinv, decomp.norm


def _square2(op, a):
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ShapeError(f"{op}: needs a square 2-d matrix, got shape {a.shape}")


def _trans_code(trans):
    codes = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}
    if trans not in codes:
        raise InvalidValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', "
                                f"got {trans!r}")
    return codes[trans]


def _tri_mask(n, lower, unit_diagonal):
    m = np.tril(np.ones((n, n)), -1) if lower else np.triu(np.ones((n, n)), 1)
    return m if unit_diagonal else m + np.eye(n)


@primitive(name="solve_triangular", library=False, domain=[None, None],
           reference=lambda a, b, trans=0, lower=False, unit_diagonal=False:
           sla.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal))
def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False):
    """x with op(T) x = b, T the lower/upper triangle of a (unit diagonal if asked), op the
    transpose when trans is 1/'T'.  a : (n, n);  b : (n,) or (n, k)."""
    _square2("solve_triangular", a)
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ShapeError(f"solve_triangular: b of shape {b.shape} does not fit a of shape "
                         f"{a.shape}")
    t = _trans_code(trans)
    try:
        return sla.solve_triangular(a, b, trans=t, lower=lower, unit_diagonal=unit_diagonal)
    except np.linalg.LinAlgError as e:
        raise InvalidValueError(f"solve_triangular: {e} (shape {a.shape})") from None


def _st_gb(g, out, a, b, trans=0, lower=False, unit_diagonal=False):
    # x = op(T)^-1 b:  gb = op(T)^-T g
    return solve_triangular(a, g, trans=1 - _trans_code(trans), lower=lower,
                            unit_diagonal=unit_diagonal)


def _st_ga(g, out, a, b, trans=0, lower=False, unit_diagonal=False):
    # gT = -gb x^T (or its transpose for op = T), kept on the triangle read
    gb = _st_gb(g, out, a, b, trans, lower, unit_diagonal)
    gb2 = gb if len(b.shape) == 2 else getitem(gb, (slice(None), None))
    x2 = out if len(b.shape) == 2 else getitem(out, (slice(None), None))
    gt = -(gb2 @ _T(x2)) if _trans_code(trans) == 0 else -(x2 @ _T(gb2))
    return gt * _tri_mask(a.shape[0], lower, unit_diagonal)


solve_triangular.defvjp(_st_ga, _st_gb)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower): c the Cholesky factor of the symmetric positive definite a (lower, or
    upper with ``c.T @ c = a``), zeros in the other triangle.  Reads a's lower triangle."""
    c = decomp.cholesky(a, upper=False)
    return (c if lower else _T(c)), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with a x = b, from ``cho_factor(a)``: two triangular solves."""
    c, lower = c_and_lower
    if lower:
        return solve_triangular(c, solve_triangular(c, b, lower=True), trans=1, lower=True)
    return solve_triangular(c, solve_triangular(c, b, trans=1, lower=False), lower=False)


def _syl_common(a, b, q):
    """a, b, q in one dtype: scipy's solve_sylvester answers wrongly when real and complex
    operands meet (real a, complex b, q: residual |aX + Xb - q| of 0.2, scipy 1.17), so
    any complex operand makes all three complex first."""
    if any(np.iscomplexobj(x) for x in (a, b, q)):
        dt = np.result_type(a, b, q, np.complex64)
        a, b, q = (np.asarray(x, dtype=dt) for x in (a, b, q))
    return a, b, q


def _syl_reference(a, b, q):
    return sla.solve_sylvester(*_syl_common(a, b, q))


@primitive(name="solve_sylvester", library=False, domain=[None, None, None],
           reference=_syl_reference, complex=True)
def solve_sylvester(a, b, q):
    """X with a X + X b = q.  a : (m, m), b : (n, n), q : (m, n), real or complex; a and -b
    share no eigenvalue.  Holomorphic (the adjoint equation uses transposes)."""
    _square2("solve_sylvester", a)
    _square2("solve_sylvester", b)
    if q.shape != (a.shape[0], b.shape[0]):
        raise ShapeError(f"solve_sylvester: q of shape {q.shape} does not fit a {a.shape} and "
                         f"b {b.shape}")
    return sla.solve_sylvester(*_syl_common(a, b, q))


def _syl_gq(g, out, a, b, q):
    return solve_sylvester(_T(a), _T(b), g)          # the adjoint equation


solve_sylvester.defvjp(lambda g, out, a, b, q: -(_syl_gq(g, out, a, b, q) @ _T(out)),
                       lambda g, out, a, b, q: -(_T(out) @ _syl_gq(g, out, a, b, q)),
                       _syl_gq)


@primitive(name="sqrtm", library=False, domain=[None], reference=lambda a: sla.sqrtm(a),
           complex=True)
def sqrtm(a):
    """The principal square root X (X @ X = a) of a real or complex matrix, a : (n, n).  Real
    when a is real with no eigenvalue on the negative real axis, complex128 otherwise (as
    scipy).  Holomorphic; gradient: solve X^T Z + Z X^T = g."""
    _square2("sqrtm", a)
    x = sla.sqrtm(a)
    if np.iscomplexobj(x) and not np.iscomplexobj(a) and np.allclose(x.imag, 0):
        x = x.real
    if not np.all(np.isfinite(x)):
        raise InvalidValueError(f"sqrtm: the matrix (shape {a.shape}) has no square root "
                                f"(a singular matrix whose zero eigenvalue is defective: scipy's root is not finite)")
    return x


sqrtm.defvjp(lambda g, out, a: solve_sylvester(_T(out), _T(out), g))


@primitive(name="expm", library=False, domain=[None], reference=sla.expm)
def expm(a):
    """Matrix exponential.  Gradient: the upper-right block of expm([[a^T, g], [0, a^T]])."""
    _square2("expm", a)
    return sla.expm(a)


def _expm_vjp(g, out, a):
    n = a.shape[0]
    z = np.zeros((n, n))
    big = concatenate([concatenate([_T(a), g], axis=1), concatenate([z, _T(a)], axis=1)],
                      axis=0)
    return getitem(expm(big), (slice(0, n), slice(n, 2 * n)))


expm.defvjp(_expm_vjp)


def block_diag(*arrs):
    """Matrices on the diagonal of one matrix, zeros elsewhere (scalars and 1-d arrays count
    as 1 x k rows, as scipy does).  A composition of concatenate."""
    if not arrs:
        return np.empty((1, 0))
    from ..ops.shape import reshape
    mats = []
    for x in arrs:
        nd = np.ndim(data_of(x))
        mats.append(reshape(x, (1, -1)) if nd < 2 else x)
    shapes = [np.shape(data_of(m)) for m in mats]
    total = sum(s[1] for s in shapes)
    rows, col = [], 0
    for m, (r, c) in zip(mats, shapes):
        parts = [np.zeros((r, col))] if col else []
        parts.append(m)
        if total - col - c:
            parts.append(np.zeros((r, total - col - c)))
        rows.append(concatenate(parts, axis=1) if len(parts) > 1 else m)
        col += c
    return concatenate(rows, axis=0) if len(rows) > 1 else rows[0]


def _band_gather(l, u, n, rows_of, cols_of):
    """Index arrays (r, c) of shape (l+u+1, n) and the mask of valid entries, for a gather
    from a band-storage array: entry [r, j] reads [rows_of(r, j), cols_of(r, j)]."""
    r, j = np.meshgrid(np.arange(l + u + 1), np.arange(n), indexing="ij")
    rr, cc = rows_of(r, j), cols_of(r, j)
    ok = (cc >= 0) & (cc < n)
    return np.where(ok, rr, 0), np.where(ok, cc, 0), ok.astype(np.float64)


@primitive(name="solve_banded", library=False, domain=[None, None], nin=2,
           reference=lambda ab, b, l, u: sla.solve_banded((l, u), ab, b))
def _solve_banded(ab, b, l, u):
    """x with A x = b, A (n, n) banded, given in scipy's band storage ab (l+u+1, n):
    ``ab[u + i - j, j] = A[i, j]``; b : (n,) or (n, k)."""
    if ab.ndim != 2 or ab.shape[0] != l + u + 1:
        raise ShapeError(f"solve_banded: ab of shape {ab.shape} does not match (l, u) = "
                         f"({l}, {u}): it needs l + u + 1 = {l + u + 1} rows")
    if b.ndim not in (1, 2) or b.shape[0] != ab.shape[1]:
        raise ShapeError(f"solve_banded: b of shape {b.shape} does not fit ab of shape "
                         f"{ab.shape}")
    try:
        return sla.solve_banded((l, u), ab, b)
    except np.linalg.LinAlgError as e:
        raise InvalidValueError(f"solve_banded: {e} (ab shape {ab.shape})") from None


def _sb_gb(g, out, ab, b, l, u):
    # gb = A^-T g, A^T banded with (u, l): abT[l + k, j] = ab[u - k, j + k]
    r, c, ok = _band_gather(l, u, ab.shape[1], lambda r, j: u + l - r, lambda r, j: j + r - l)
    return _solve_banded(getitem(ab, (r, c)) * ok, g, l=u, u=l)


def _sb_gab(g, out, ab, b, l, u):
    # gA = -gb x^T, read back on the band: gab[r, j] = gA[r - u + j, j]
    gb = _sb_gb(g, out, ab, b, l, u)
    r, c, ok = _band_gather(l, u, ab.shape[1], lambda r, j: r - u + j, lambda r, j: r - u + j)
    if len(b.shape) == 1:
        return -(getitem(gb, (r,)) * out) * ok
    from ..ops.reduce import sum as _sum
    return -_sum(getitem(gb, (r,)) * getitem(out, (None,)), axis=-1) * ok


_solve_banded.defvjp(_sb_gab, _sb_gb)


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """scipy.linalg.solve_banded: x with A x = b for A banded with l sub- and u
    super-diagonals, in band storage ab : (l+u+1, n) (``ab[u + i - j, j] = A[i, j]``; the
    unused corners are ignored, their gradient 0); b : (n,) or (n, k).  Differentiable in ab
    and b.  (The overwrite and check flags are accepted; inputs are never overwritten.)"""
    l, u = (int(v) for v in l_and_u)
    if l < 0 or u < 0:
        raise InvalidValueError(f"solve_banded: l and u must be non-negative, got {l_and_u}")
    return _solve_banded(ab, b, l=l, u=u)


cholesky = decomp.cholesky
eigh, svd, qr, lstsq, slogdet = decomp.eigh, decomp.svd, decomp.qr, decomp.lstsq, decomp.slogdet
