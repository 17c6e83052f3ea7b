"""``flatten(value)`` -> ``(flat_vector, unflatten)`` for pytrees (HIPS's ``autograd.misc``)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from ..transforms import tree_flatten, tree_unflatten

__all__ = ["flatten"]


def _wide(leaf: Any) -> np.ndarray:
    """A leaf as float64, or complex128 when complex (HIPS flattens complex values too)."""
    a = np.asarray(leaf)
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def flatten(value: Any) -> tuple[Any, Callable]:
    """A 1-d vector of every leaf of ``value`` (lists, tuples, dicts with sorted keys, nested;
    arrays raveled) and ``unflatten`` mapping such a vector back.  Both are differentiable:
    given tensors they record the graph (``concatenate``, ``getitem``, ``reshape``)."""
    from ..ops import concatenate, reshape, getitem
    leaves, spec = tree_flatten(value)
    shapes = [np.shape(l._data if isinstance(l, Tensor) else l) for l in leaves]
    scalars = [not isinstance(l, (np.ndarray, Tensor)) for l in leaves]
    if any(isinstance(l, Tensor) for l in leaves):
        flat = concatenate([reshape(l, (-1,)) if isinstance(l, Tensor)
                            else np.ravel(_wide(l)) for l in leaves])
    else:
        flat = (np.concatenate([np.ravel(_wide(l)) for l in leaves])
                if leaves else np.zeros(0))

    def unflatten(vec: Any) -> Any:
        out, k = [], 0
        for shape, sc in zip(shapes, scalars):
            n = int(np.prod(shape))
            if isinstance(vec, Tensor):
                piece = reshape(getitem(vec, slice(k, k + n)), shape)
            else:
                piece = np.reshape(np.asarray(vec)[k:k + n], shape)
                piece = piece[()] if sc else piece
            out.append(piece)
            k += n
        return tree_unflatten(spec, out)
    return flat, unflatten
