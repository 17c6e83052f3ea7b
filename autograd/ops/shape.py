"""Shape primitives: they move values around, so their vjps move gradients back."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..registry import primitive
from ..errors import ShapeError
from ._util import normalize_axis

__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "broadcast_to", "getitem",
           "scatter_add", "concatenate", "stack", "astype", "identity"]


@primitive(library=True, nin=1, domain=[None], reference=np.reshape)
def reshape(x, shape):
    """x with a new shape of the same size (one entry may be -1)."""
    return x.reshape(shape)


reshape.defvjp(lambda g, out, x, shape: reshape(g, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=np.transpose)
def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    if axes is not None and len(axes) != x.ndim:
        raise ShapeError(f"transpose: axes {tuple(axes)} do not match an array of {x.ndim} dims")
    return np.transpose(x, axes)


def _transpose_vjp(g, out, x, axes=None):
    if axes is None:
        return transpose(g)
    return transpose(g, tuple(np.argsort([a % len(axes) for a in axes])))


transpose.defvjp(_transpose_vjp)


@primitive(library=True, nin=1, domain=[None], reference=np.expand_dims)
def expand_dims(x, axis):
    """Insert size-1 axes at ``axis`` (int or tuple)."""
    return np.expand_dims(x, axis)


expand_dims.defvjp(lambda g, out, x, axis: reshape(g, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=np.squeeze)
def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    return np.squeeze(x, axis)


squeeze.defvjp(lambda g, out, x, axis=None: reshape(g, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=np.broadcast_to)
def broadcast_to(x, shape):
    """x broadcast to ``shape`` (numpy rules); the gradient sums back over the copies."""
    return np.broadcast_to(x, shape)


broadcast_to.defvjp(lambda g, out, x, shape: g)   # the engine's unbroadcast sums it back


# ----------------------------------------------------------------------------- indexing
def _clean_index(idx: Any) -> Any:
    """Tensors inside an index become their arrays; lists become arrays (numpy semantics)."""
    if isinstance(idx, tuple):
        return tuple(_clean_index(i) for i in idx)
    d = getattr(idx, "_data", None)
    if d is not None:
        return d
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def _is_advanced_int(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items)


@primitive(library=True, nin=1, domain=[None], reference=lambda x, idx: x[idx])
def getitem(x, idx):
    """``x[idx]``: ints, slices, None, Ellipsis, boolean masks, integer arrays.

    Integer arrays may repeat an index; its gradient then accumulates (``np.add.at``).
    """
    return x[_clean_index(idx)]


getitem.defvjp(lambda g, out, x, idx: scatter_add(g, idx, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=None)
def scatter_add(g, idx, shape):
    """A zero array of ``shape`` with ``g`` added at ``[idx]`` (repeated indices accumulate).

    The adjoint of ``getitem``: g : shape of ``zeros(shape)[idx]``.
    """
    idx = _clean_index(idx)
    z = np.zeros(shape, dtype=g.dtype)
    if _is_advanced_int(idx):
        np.add.at(z, idx, g)
    else:
        z[idx] = g
    return z


scatter_add.defvjp(lambda g, out, x, idx, shape: getitem(g, idx))


# ----------------------------------------------------------------------------- joining
def _concatenate_vjp(g, out, *xs, axis=0):
    ax = normalize_axis("concatenate", axis, len(out.shape))[0]
    grads, start = [], 0
    for x in xs:
        n = x.shape[ax]
        grads.append(getitem(g, (slice(None),) * ax + (slice(start, start + n),)))
        start += n
    return tuple(grads)


@primitive(library=True, name="concatenate", nin=-1, domain=[None],
           reference=lambda *xs, axis=0: np.concatenate(xs, axis=axis))
def _concatenate(*xs, axis=0):
    if not xs:
        raise ShapeError("concatenate: needs at least one array")
    return np.concatenate(xs, axis=axis)


_concatenate.defvjp(_concatenate_vjp)


def concatenate(tensors: Sequence, axis: int = 0):
    """Join a sequence of tensors along an existing axis (numpy's ``concatenate``)."""
    return _concatenate(*tensors, axis=axis)


def _stack_vjp(g, out, *xs, axis=0):
    ax = normalize_axis("stack", axis, len(out.shape))[0]
    return tuple(getitem(g, (slice(None),) * ax + (i,)) for i in range(len(xs)))


@primitive(library=True, name="stack", nin=-1, domain=[None],
           reference=lambda *xs, axis=0: np.stack(xs, axis=axis))
def _stack(*xs, axis=0):
    if not xs:
        raise ShapeError("stack: needs at least one array")
    return np.stack(xs, axis=axis)


_stack.defvjp(_stack_vjp)


def stack(tensors: Sequence, axis: int = 0):
    """Join a sequence of same-shaped tensors along a new axis (numpy's ``stack``)."""
    return _stack(*tensors, axis=axis)


# ----------------------------------------------------------------------------- dtype, identity
@primitive(library=True, nin=1, domain=[None],
           reference=lambda x, dtype: np.asarray(x).astype(dtype))
def astype(x, dtype):
    """x cast to ``dtype``; the gradient is cast back to x's dtype."""
    return x.astype(dtype, copy=False)


astype.defvjp(lambda g, out, x, dtype: g)          # the engine casts g to x's dtype


@primitive(library=True, domain=[None], reference=lambda x: x)
def identity(x):
    """x itself, as a new graph node (used to mark where a gradient is wanted)."""
    return x


identity.defvjp(lambda g, out, x: g)
