"""``autograd.numpy.linalg``: numpy's linalg namespace with the differentiable names that
exist here in place of numpy's (``matmul`` today).  numpy's non-differentiable names
(``LinAlgError``, ``matrix_rank``...) pass through; any other numpy linalg function refuses a
tensor that requires grad instead of dropping its gradient.  Only maps names."""
from __future__ import annotations

from typing import Any as _Any

import numpy.linalg as _la

from . import _guarded
from ..ops.npapi import FRONTS as _FRONTS

matmul = _FRONTS["matmul"]

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
