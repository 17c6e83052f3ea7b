"""Reshaping layers: Reshape, Permute (the batch axis is left alone); ZeroPadding2D,
UpSampling2D for images (Keras signatures; no weights).

Zero padding is ``scatter_add`` of x into a zero array (its gradient is the slice back);
nearest upsampling a reshape, a ``broadcast_to`` and a reshape (its gradient sums each block).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

import autograd as ag

from .base import Layer
from .convolutional import _format, _tuple

__all__ = ["Reshape", "Permute", "ZeroPadding2D", "UpSampling2D"]


class Reshape(Layer):
    """Keras' Reshape: (N, ...) -> (N, *target_shape); one entry may be -1."""

    def __init__(self, target_shape: Sequence[int], name: Optional[str] = None,
                 dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        self.target_shape = tuple(int(s) for s in target_shape)
        if sum(s == -1 for s in self.target_shape) > 1 or any(
                s < -1 or s == 0 for s in self.target_shape):
            raise ag.InvalidValueError(f"Reshape: target_shape must be positive sizes with at most "
                                       f"one -1, got {target_shape!r}")
        self.supports_masking = True

    def call(self, x: ag.Tensor) -> ag.Tensor:
        size = math.prod(x.shape[1:])
        known = math.prod(s for s in self.target_shape if s != -1)
        if (-1 in self.target_shape and (known == 0 or size % known)) or \
                (-1 not in self.target_shape and known != size):
            raise ag.ShapeError(f"Reshape {self.name!r}: cannot reshape inputs of shape {x.shape} "
                                f"to (batch,) + {self.target_shape}")
        return ag.reshape(x, (x.shape[0],) + self.target_shape)


class Permute(Layer):
    """Keras' Permute: ``dims`` a permutation of 1..ndim-1 (the batch axis stays first)."""

    def __init__(self, dims: Sequence[int], name: Optional[str] = None,
                 dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ag.InvalidValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, "
                                       f"got {dims!r}")

    def call(self, x: ag.Tensor) -> ag.Tensor:
        if x.ndim != len(self.dims) + 1:
            raise ag.ShapeError(f"Permute {self.name!r}: dims {self.dims} need inputs of "
                                f"{len(self.dims) + 1} dims, got shape {x.shape}")
        return ag.transpose(x, (0,) + self.dims)


class ZeroPadding2D(Layer):
    """Zeros around the image: padding int, (sym_h, sym_w) or ((top, bottom), (left, right)).
    (N, H, W, C) -> (N, H + top + bottom, W + left + right, C)."""

    def __init__(self, padding: Any = (1, 1), data_format: Optional[str] = None,
                 name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        p = padding
        try:
            if isinstance(p, (int, np.integer)):
                p = ((p, p), (p, p))
            elif all(isinstance(a, (int, np.integer)) for a in p):
                p = tuple((a, a) for a in p)
            pads = tuple((int(a), int(b)) for a, b in p)
            ok = len(pads) == 2 and all(a >= 0 and b >= 0 for a, b in pads)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ag.InvalidValueError(f"ZeroPadding2D: padding must be a non-negative int, "
                                       f"(sym_h, sym_w) or ((top, bottom), (left, right)), got "
                                       f"{padding!r}")
        self.padding = pads
        self.data_format = _format("ZeroPadding2D", data_format)

    def call(self, x: ag.Tensor) -> ag.Tensor:
        if x.ndim != 4:
            raise ag.ShapeError(f"ZeroPadding2D {self.name!r}: expected 4-d inputs, got shape "
                                f"{x.shape}")
        (t, b), (l, r) = self.padding
        n = x.shape[0]
        if self.data_format == "channels_last":
            _, h, w, c = x.shape
            shape = (n, h + t + b, w + l + r, c)
            idx = (slice(None), slice(t, t + h), slice(l, l + w), slice(None))
        else:
            _, c, h, w = x.shape
            shape = (n, c, h + t + b, w + l + r)
            idx = (slice(None), slice(None), slice(t, t + h), slice(l, l + w))
        return ag.scatter_add(x, idx, shape)


class UpSampling2D(Layer):
    """Nearest-neighbour upsampling: each pixel repeated size = (sh, sw) times.
    (N, H, W, C) -> (N, H sh, W sw, C).  Only interpolation='nearest' is implemented."""

    def __init__(self, size: Any = (2, 2), data_format: Optional[str] = None,
                 interpolation: str = "nearest", name: Optional[str] = None,
                 dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        if interpolation != "nearest":
            raise ag.InvalidValueError(f"UpSampling2D: interpolation {interpolation!r} is not "
                                       f"implemented; only 'nearest'")
        self.size = _tuple("UpSampling2D", "size", size, 2)
        self.data_format = _format("UpSampling2D", data_format)
        self.interpolation = interpolation

    def call(self, x: ag.Tensor) -> ag.Tensor:
        if x.ndim != 4:
            raise ag.ShapeError(f"UpSampling2D {self.name!r}: expected 4-d inputs, got shape "
                                f"{x.shape}")
        sh, sw = self.size
        if self.data_format == "channels_last":
            n, h, w, c = x.shape
            y = ag.broadcast_to(ag.reshape(x, (n, h, 1, w, 1, c)), (n, h, sh, w, sw, c))
            return ag.reshape(y, (n, h * sh, w * sw, c))
        n, c, h, w = x.shape
        y = ag.broadcast_to(ag.reshape(x, (n, c, h, 1, w, 1)), (n, c, h, sh, w, sw))
        return ag.reshape(y, (n, c, h * sh, w * sw))
