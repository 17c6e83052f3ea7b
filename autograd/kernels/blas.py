"""numpy's own BLAS, for the one product numpy's ``matmul`` cannot express: a GEMM that
accumulates into its output in place, ``c += alpha * a.T @ b`` (BLAS ``beta = 1``).

A jit program uses it to fold an SGD update into the weight-gradient GEMM of a dense layer
(``autograd.jit.codegen.fold_updates``): ``W -= lr * (x.T @ dz)`` becomes one GEMM writing
into ``W``, with no gradient array and no update pass.

It must be the OpenBLAS numpy itself loaded: another BLAS library in the process (scipy's
``scipy.linalg.blas``, the one numba's ``np.dot`` calls) has its own thread pool, whose
threads spin between calls against numpy's on a 2-core machine (``benchmarks.mlp_step``
runs with 2 threads; a loop alternating numpy's GEMM and scipy's took 71 ms against 9.4 ms,
minimum of 30, this VM).  So the library is found among the shared objects this process
has mapped, under numpy's own directory, and used only when it exports the CBLAS entry
points of numpy's wheels (``scipy_cblas_sgemm64_``: OpenBLAS with 64-bit integers).  When
it is not there (another numpy build), ``available()`` is False and callers keep
``np.matmul`` plus a separate update.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from ..errors import ShapeError

__all__ = ["available", "gemm_acc_tn"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_FUNCS: dict = {}
_LOOKED = [False]


def _numpy_blas_path():
    """The OpenBLAS shared object numpy loaded (from /proc/self/maps), or None."""
    base = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    try:
        with open("/proc/self/maps") as f:
            paths = {ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln}
    except OSError:
        return None
    own = sorted(p for p in paths if p.startswith(base) and
                 (os.sep + "numpy.libs" + os.sep in p or os.sep + "numpy" + os.sep in p))
    return own[0] if own else None


def _lookup() -> dict:
    if _LOOKED[0]:
        return _FUNCS
    _LOOKED[0] = True
    path = _numpy_blas_path()
    if path is None:
        return _FUNCS
    try:
        lib = ctypes.CDLL(path)            # mapped already: the same library, the same pool
        fs = {np.dtype(np.float32): (lib.scipy_cblas_sgemm64_, ctypes.c_float),
              np.dtype(np.float64): (lib.scipy_cblas_dgemm64_, ctypes.c_double)}
    except (OSError, AttributeError):
        return _FUNCS
    i64, ci, p = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    for dt, (fn, real) in fs.items():
        fn.restype = None
        fn.argtypes = [ci, ci, ci, i64, i64, i64, real, p, i64, p, i64, real, p, i64]
        _FUNCS[dt] = (fn, real)
    return _FUNCS


def available(dtype) -> bool:
    """Whether ``gemm_acc_tn`` can run for this dtype (numpy's OpenBLAS found)."""
    return np.dtype(dtype) in _lookup()


def gemm_acc_tn(c: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float) -> bool:
    """In place ``c += alpha * a.T @ b`` through numpy's BLAS; returns False (and writes
    nothing) when it cannot: BLAS not found, or arrays not C-contiguous, aligned, of one
    float dtype, or ``c`` overlapping ``a``/``b``.

    c : (m, n), writeable;  a : (k, m);  b : (k, n);  alpha : a Python float (rounded to
    the dtype).  The sum is accumulated in BLAS's order, so it equals ``c - (-alpha) *
    (a.T @ b)`` computed in two steps to rounding, not to the bit.
    """
    if a.ndim != 2 or b.ndim != 2 or c.ndim != 2 or a.shape[0] != b.shape[0] \
            or c.shape != (a.shape[1], b.shape[1]):
        raise ShapeError(f"kernels.gemm_acc_tn: c {c.shape} += a.T @ b with a {a.shape}, "
                         f"b {b.shape}: shapes do not fit (dtypes {c.dtype}, {a.dtype}, "
                         f"{b.dtype})")
    f = _lookup().get(c.dtype)
    if f is None or a.dtype != c.dtype or b.dtype != c.dtype:
        return False
    for arr in (a, b, c):
        if not (arr.flags.c_contiguous and arr.flags.aligned):
            return False
    if not c.flags.writeable or np.may_share_memory(c, a) or np.may_share_memory(c, b):
        return False
    fn, real = f
    k, m = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return True
    fn(_ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k, real(alpha), a.ctypes.data, max(m, 1),
       b.ctypes.data, max(n, 1), real(1.0), c.ctypes.data, max(n, 1))
    return True
