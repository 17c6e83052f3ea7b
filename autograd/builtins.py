"""HIPS autograd's ``autograd.builtins``: ``list``, ``tuple``, ``dict``, ``isinstance``, ``type``.

In HIPS these make containers of boxes differentiable.  Here containers of tensors are
pytrees that every transform handles, so ``list``/``tuple``/``dict`` are the builtins (a
``tuple(...)`` of tensors keeps each tensor's graph), and ``isinstance``/``type`` look at a
tensor's plain value (``isinstance(x, float)`` for a 0-d float tensor is False, as for
its ndarray; ``isinstance(x, np.ndarray)`` is True).
"""
from __future__ import annotations

import builtins as _b
from typing import Any

from .core import getval

__all__ = ["list", "tuple", "dict", "isinstance", "type"]

list = _b.list
tuple = _b.tuple
dict = _b.dict


def isinstance(x: Any, t: Any) -> bool:  # noqa: A001
    """``builtins.isinstance`` on the plain value of ``x``."""
    return _b.isinstance(getval(x), t)


def type(x: Any) -> Any:  # noqa: A001
    """``builtins.type`` of the plain value of ``x``."""
    return _b.type(getval(x))
