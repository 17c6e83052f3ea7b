"""Reshaping layers: Reshape, Permute (the batch axis is left alone)."""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import autograd as ag

from .base import Layer

__all__ = ["Reshape", "Permute"]


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
