"""Small helpers shared by the ops modules."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import AxisError

__all__ = ["data_of", "normalize_axis"]


def data_of(x: Any) -> Any:
    """The ndarray behind a Tensor (a constant in a recorded backward); ndarrays pass through."""
    d = getattr(x, "_data", None)
    return x if d is None else d


def normalize_axis(op: str, axis: Any, ndim: int) -> tuple:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise AxisError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise AxisError(f"{op}: axis {a} is out of bounds for an array of {ndim} dims")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise AxisError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))
