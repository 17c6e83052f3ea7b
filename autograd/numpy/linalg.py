"""``autograd.numpy.linalg``: numpy's linalg namespace with the differentiable names that
exist here in place of numpy's (``matmul``, and the decompositions of ``autograd.ops.decomp``:
inv, pinv, solve, det, slogdet, norm, vector_norm, matrix_norm, eigh, eigvalsh, eig, eigvals,
cholesky, svd, svdvals, qr, lstsq, matrix_power, multi_dot).  numpy's non-differentiable names
(``LinAlgError``, ``matrix_rank``...) pass through; any other numpy linalg function refuses a
tensor that requires grad instead of dropping its gradient.  Only maps names."""
from __future__ import annotations

from typing import Any as _Any

import numpy.linalg as _la

from . import _guarded
import numpy as _np

from ..ops.npapi import FRONTS as _FRONTS, arg as _arg
from ..ops import decomp as _D
from ..ops.shape import reshape as _reshape, transpose as _transpose
from ..ops.linalg import matmul as _matmul
from ..errors import ArgumentTypeError as _ArgumentTypeError

matmul = _FRONTS["matmul"]


# ----------------------------------------------------------------------------- decompositions
def _in(x: _Any) -> _Any:
    """An operand: lists/tuples holding tensors stacked (graph kept), other non-tensors as arrays."""
    x = _arg(x)
    return x if hasattr(x, "_data") else _np.asarray(x)


def inv(a): return _D.inv(_in(a))
def pinv(a, rcond=None, hermitian=False): return _D.pinv(_in(a), rcond=rcond, hermitian=hermitian)
def solve(a, b): return _D.solve(_in(a), _in(b))
def det(a): return _D.det(_in(a))
def slogdet(a): return _D.slogdet(_in(a))
def cholesky(a, upper=False): return _D.cholesky(_in(a), upper=upper)
def eigh(a, UPLO="L"): return _D.eigh(_in(a), UPLO)
def eigvalsh(a, UPLO="L"): return _D.eigvalsh(_in(a), UPLO)
def eig(a): return _D.eig(_in(a))
def eigvals(a): return _D.eigvals(_in(a))
def svdvals(x): return _D.svdvals(_in(x))
def qr(a, mode="reduced"): return _D.qr(_in(a), mode)
def lstsq(a, b, rcond=None): return _D.lstsq(_in(a), _in(b), rcond)
def matrix_power(a, n): return _D.matrix_power(_in(a), n)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    return _D.svd(_in(a), full_matrices, compute_uv, hermitian)


def norm(x, ord=None, axis=None, keepdims=False):
    return _D.norm(_in(x), ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """numpy 2's ``matrix_norm``: ``norm`` over the last two axes."""
    return _D.norm(_in(x), ord=ord, axis=(-2, -1), keepdims=keepdims)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """numpy 2's ``vector_norm``: ``norm`` of the flattened ``axis`` (all axes by default)."""
    x = _in(x)
    shape = _np.shape(x)
    if axis is not None and not isinstance(axis, tuple):
        return _D.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    axes = tuple(range(len(shape))) if axis is None else \
        tuple(sorted(int(a) % max(len(shape), 1) for a in axis))
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    flat = _reshape(_transpose(x, rest + axes), tuple(shape[i] for i in rest) + (-1,))
    out = _D.norm(flat, ord=ord, axis=-1)
    if keepdims:
        out = _reshape(out, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return out


def T(x):
    """The batched matrix transpose (swap the last two axes); HIPS autograd spells it
    ``autograd.numpy.linalg.T`` (with ``_dot``, a batched matmul), and users' code does too."""
    x = _in(x)
    nd = len(_np.shape(x))
    return _transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _dot(a, b):
    """Batched matrix product ``...ij,...jk->...ik`` (HIPS's private helper, used by users)."""
    return _matmul(_in(a), _in(b))


def multi_dot(arrays, *, out=None):
    """``a @ b @ c ...`` left to right (numpy picks a cheaper order; the value is the same up
    to rounding).  1-d first/last operands are treated as row/column vectors, as numpy does."""
    if out is not None:
        raise _ArgumentTypeError("autograd.numpy.linalg.multi_dot: out= is not supported")
    ops = [_in(a) for a in arrays]
    result = ops[0]
    for a in ops[1:]:
        result = _matmul(result, a)
    return result

#: numpy.linalg names whose results carry no gradient: passed through.
NONDIFFERENTIABLE = frozenset({"LinAlgError", "matrix_rank"})


def __getattr__(name: str) -> _Any:
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        obj = getattr(_la, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    if callable(obj) and not isinstance(obj, type) and name not in NONDIFFERENTIABLE:
        obj = _guarded(f"linalg.{name}", obj)
    globals()[name] = obj
    return obj


__all__ = sorted(set(_la.__all__) | {"matmul"})
