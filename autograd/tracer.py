"""HIPS autograd's ``autograd.tracer`` names.

Here the "box" is the tensor itself: ``isbox(x)`` is true for a :class:`~autograd.Tensor`
that requires grad (being differentiated), ``getval(x)`` is its ndarray, and
``isinstance(x, Box)`` means the same as ``isbox(x)``.  ``Box`` cannot be instantiated or
subclassed for new types (HIPS's ``Box.register``): the engine records tensors only.
"""
from __future__ import annotations

from typing import Any

from .core import primitive, notrace_primitive, register_notrace, getval, isbox
from .errors import NotSupportedError

__all__ = ["primitive", "notrace_primitive", "register_notrace", "isbox", "getval", "Box"]


class _BoxMeta(type):
    def __instancecheck__(cls, x: Any) -> bool:
        return isbox(x)


class Box(metaclass=_BoxMeta):
    """``isinstance(x, Box)``: x is a tensor being differentiated (requires grad)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError("Box: tensors are this library's boxes; make one with "
                                "autograd.Tensor(value, requires_grad=True)")

    @classmethod
    def register(cls, value_type: Any) -> None:
        raise NotSupportedError("Box.register: new box types are not supported; the engine "
                                "records autograd.Tensor only")
