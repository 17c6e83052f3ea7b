"""Pooling layers: MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D,
GlobalMaxPooling1D/2D.  Keras signatures and defaults; no weights.

Max pooling sends each window's gradient to one input, its first maximum in row-major
order (as PyTorch); average pooling with 'same' divides by the real elements only (Keras).
"""
from __future__ import annotations

from typing import Any, Optional

import autograd as ag

from .base import Layer
from .convolutional import _format, _padding, _tuple

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D"]


class _Pool(Layer):
    rank = 2
    _op: Any = None

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: Optional[str] = None, name: Optional[str] = None,
                 dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        cls = type(self).__name__
        self.pool_size = _tuple(cls, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else _tuple(cls, "strides", strides,
                                                                      self.rank)
        self.padding = _padding(cls, padding, ("valid", "same"))
        self.data_format = _format(cls, data_format)

    def call(self, x: ag.Tensor) -> ag.Tensor:
        if x.ndim != self.rank + 2:
            raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: expected inputs of "
                                f"{self.rank + 2} dims, got shape {x.shape}")
        return type(self)._op(x, self.pool_size, strides=self.strides, padding=self.padding,
                              data_format=self.data_format)


class MaxPooling2D(_Pool):
    """Max over pool_size windows moved by strides (default pool_size): (N, H, W, C) ->
    (N, OH, OW, C); padding 'valid' or 'same'."""

    _op = staticmethod(ag.max_pool2d)

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: Optional[str] = None, name: Optional[str] = None,
                 dtype: Any = "float32") -> None:
        super().__init__(pool_size, strides, padding, data_format, name, dtype)


class AveragePooling2D(MaxPooling2D):
    """Mean over windows, arguments as MaxPooling2D."""

    _op = staticmethod(ag.avg_pool2d)


class MaxPooling1D(_Pool):
    """Max over windows of steps: (N, steps, C) -> (N, out_steps, C)."""

    rank = 1
    _op = staticmethod(ag.max_pool1d)


class AveragePooling1D(MaxPooling1D):
    """Mean over windows of steps, arguments as MaxPooling1D."""

    _op = staticmethod(ag.avg_pool1d)


class _Global(Layer):
    rank = 2
    _op: Any = None

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        self.data_format = _format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)

    def call(self, x: ag.Tensor) -> ag.Tensor:
        return type(self)._op(x, data_format=self.data_format, keepdims=self.keepdims)


class GlobalAveragePooling2D(_Global):
    """Mean over H and W: (N, H, W, C) -> (N, C) (keepdims: (N, 1, 1, C))."""

    _op = staticmethod(ag.global_avg_pool2d)


class GlobalMaxPooling2D(_Global):
    """Max over H and W: (N, H, W, C) -> (N, C) (keepdims: (N, 1, 1, C))."""

    _op = staticmethod(ag.global_max_pool2d)


class GlobalAveragePooling1D(_Global):
    """Mean over steps: (N, steps, C) -> (N, C)."""

    rank = 1
    _op = staticmethod(ag.global_avg_pool1d)


class GlobalMaxPooling1D(_Global):
    """Max over steps: (N, steps, C) -> (N, C)."""

    rank = 1
    _op = staticmethod(ag.global_max_pool1d)
