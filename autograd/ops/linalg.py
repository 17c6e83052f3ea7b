"""matmul with numpy semantics: 1-d, 2-d and batched n-d (broadcast batch dims)."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..broadcast import unbroadcast
from ..registry import primitive
from .. import kernels as K
from .shape import reshape, expand_dims, transpose

__all__ = ["matmul"]


def _check(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: 0-d operands are not allowed (shapes {a.shape} and {b.shape}); "
                         f"use multiply")
    k1 = a.shape[-1]
    k2 = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k1 != k2:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned ({k1} != {k2})")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ShapeError(f"matmul: batch dims of shapes {a.shape} and {b.shape} do not "
                             f"broadcast") from None


@primitive(library=True, domain=[None, None], reference=np.matmul)
def matmul(a, b):
    """a @ b.  a : shape-(..., M, K) or (K,);  b : shape-(..., K, N) or (K,).

    Returns shape-(..., M, N), with the 1-d dimensions dropped as numpy does.
    """
    _check(a, b)
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype.kind == "f":
        return K.matmul(a, b)                   # numba GEMM for small sizes, BLAS above
    return np.matmul(a, b)


def _swap(x):
    nd = len(x.shape)
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul_grads(g, a, b, want_a: bool, want_b: bool):
    """Gradients by lifting 1-d operands to matrices: a (K,) -> (1, K), b (K,) -> (K, 1).

    For C = A B:  dA = dC B^T,  dB = A^T dC, then batch dims are summed away and the lifted
    dims dropped again.
    """
    a_vec, b_vec = len(a.shape) == 1, len(b.shape) == 1
    a2 = expand_dims(a, 0) if a_vec else a
    b2 = expand_dims(b, -1) if b_vec else b
    g2 = g
    if a_vec:
        g2 = expand_dims(g2, -2 if not b_vec else 0)
    if b_vec:
        g2 = expand_dims(g2, -1)
    ga = gb = None
    if want_a:
        ga = matmul(g2, _swap(b2))
        if a_vec:
            ga = reshape(unbroadcast(ga, a2.shape), a.shape)
    if want_b:
        gb = matmul(_swap(a2), g2)
        if b_vec:
            gb = reshape(unbroadcast(gb, b2.shape), b.shape)
    return ga, gb


matmul.defvjp(lambda g, out, a, b: _matmul_grads(g, a, b, True, False)[0],
              lambda g, out, a, b: _matmul_grads(g, a, b, False, True)[1])
