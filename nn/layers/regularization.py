"""Regularization layers: Dropout, SpatialDropout2D (active only in training)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

import autograd as ag

from .. import _random
from .base import Layer

__all__ = ["Dropout", "SpatialDropout2D"]


class Dropout(Layer):
    """Keras' Dropout: in training, each element is zeroed with probability ``rate`` and the
    rest scaled by ``1 / (1 - rate)`` (one node, the mask kept in it); in inference the
    identity.  noise_shape : the mask's shape (None entries take the input's), broadcast over
    the input.  seed : its own generator; None draws from ``nn.set_seed``'s generator."""

    def __init__(self, rate: float, noise_shape: Optional[tuple] = None, seed: Optional[int] = None,
                 name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ag.InvalidValueError(f"{type(self).__name__}: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None
        self.supports_masking = True

    #: draws through ``autograd.jit.random_draw``: a compiled train step draws at each replay
    jit_draws = True

    def _mask_shape(self, x: ag.Tensor) -> Optional[tuple]:
        if self.noise_shape is None:
            return None
        if len(self.noise_shape) != x.ndim:
            raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: noise_shape "
                                f"{self.noise_shape} does not fit inputs of shape {x.shape}")
        return tuple(x.shape[i] if s is None else int(s) for i, s in enumerate(self.noise_shape))

    def call(self, x: ag.Tensor, training: Optional[bool] = None) -> ag.Tensor:
        training = self.training if training is None else bool(training)
        if not training or self.rate == 0:
            return x
        # the generator is looked up at each draw (nn.set_seed replaces the nn one), so a
        # compiled step draws from the generator the eager step would (jit.random_draw)
        return ag.dropout(x, self.rate, training=True, rng=self._generator,
                          noise_shape=self._mask_shape(x))

    def _generator(self) -> np.random.Generator:
        return self._rng if self._rng is not None else _random.get_rng()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={self.rate}, name={self.name!r})"


class SpatialDropout2D(Dropout):
    """Drops whole feature maps: the mask is (N, 1, 1, C) for channels_last inputs
    (N, H, W, C), (N, C, 1, 1) for channels_first."""

    def __init__(self, rate: float, data_format: Optional[str] = None, seed: Optional[int] = None,
                 name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ag.InvalidValueError(f"SpatialDropout2D: data_format must be 'channels_last' or "
                                       f"'channels_first', got {data_format!r}")

    def _mask_shape(self, x: ag.Tensor) -> tuple:
        if x.ndim != 4:
            raise ag.ShapeError(f"SpatialDropout2D {self.name!r}: expected 4-d inputs, got shape "
                                f"{x.shape}")
        n = x.shape[0]
        if self.data_format == "channels_last":
            return (n, 1, 1, x.shape[3])
        return (n, x.shape[1], 1, 1)
