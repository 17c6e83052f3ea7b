"""``out=``-writing forms of the hot primitives (``Primitive.fwd_out``), used by the replay
to write results into buffers allocated once per signature.

A primitive whose forward is a numpy ufunc writes through the ufunc itself; matmul through
BLAS (``np.matmul(..., out=)``); the reductions through ``np.sum``/``np.mean``; relu through
``np.maximum``.  A form is used only where the trace verified that it gives the forward's
dtype and values (to 1e-12 relative in float64, 1e-5 in float32) on the traced inputs.
Any primitive may declare its own: ``prim.fwd_out = f`` with ``f(*inputs, out=, **params)``.
"""
from __future__ import annotations

import numpy as np

from ..kernels.twins import bias_act_np
from ..registry import OPS

__all__ = ["install"]


def _matmul(a, b, out=None):
    return np.matmul(a, b, out=out)


def _sum(x, axis=None, keepdims=False, out=None):
    return np.sum(x, axis=axis, keepdims=keepdims, out=out)


def _mean(x, axis=None, keepdims=False, out=None):
    return np.mean(x, axis=axis, keepdims=keepdims, out=out)


def _relu(x, out=None):
    return np.maximum(x, 0, out=out)


def _dense(x, kernel, bias=None, activation=None, negative_slope=0.01, out=None):
    # the forward's GEMM into the buffer, then bias + activation in place (kernels.bias_act:
    # the numpy twin or numba by size, as the forward picks); where the forward takes the
    # kernels' GEMM (AUTOGRAD_KERNELS=numba), that GEMM, copied
    from .. import kernels as K
    kind = K.KINDS[activation]
    if K.MODE == "numba" or K.GEMM_MIN != K.NEVER:
        z = K.matmul(x, kernel) if x.ndim == 2 and x.dtype == kernel.dtype \
            else np.matmul(x, kernel)
        np.copyto(out, K.bias_act(z, bias, kind, negative_slope))
        return out
    np.matmul(x, kernel, out=out)
    if K.BIAS_ACT_MIN[kind] == K.NEVER or K.MODE == "numpy":
        # what the forward runs then (its numpy path, without the dispatcher's checks: the
        # trace fixed the shapes and dtypes)
        if kind == 1:
            if bias is not None:
                out += bias
            return np.maximum(out, 0, out=out)
        bias_act_np(out, bias, bias is not None, kind, negative_slope)
        return out
    return K.bias_act(out, bias, kind, negative_slope)


_TABLE = {"matmul": _matmul, "sum": _sum, "mean": _mean, "relu": _relu, "dense": _dense}


def install() -> None:
    """Give every library primitive that has a form its ``fwd_out`` (idempotent)."""
    for name, prim in list(OPS.items()):
        if getattr(prim, "fwd_out", None) is not None:
            continue
        if name in _TABLE:
            prim.fwd_out = _TABLE[name]
        elif isinstance(prim.fwd, np.ufunc) and prim.fwd.nout == 1:
            prim.fwd_out = prim.fwd
