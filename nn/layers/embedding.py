"""Embedding: integer ids to dense vectors (one node; the gradient a scatter-add)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

import autograd as ag

from .. import initializers
from ..module import Module, Parameter
from .base import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    """Keras' Embedding: ids (N, ...) in [0, input_dim) -> (N, ..., output_dim).

    embeddings : (input_dim, output_dim), initialized U(-0.05, 0.05) ('uniform', Keras).
    mask_zero : id 0 is padding: ``compute_mask`` gives ``ids != 0``, which ``Sequential``
    hands to the recurrent layers (they skip those steps); then input_dim counts the 0.
    Float ids are truncated to integers (as Keras casts); out-of-range ids raise.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 mask_zero: bool = False, name: Optional[str] = None,
                 dtype: Any = "float32", embeddings_regularizer: Any = None,
                 activity_regularizer: Any = None, embeddings_constraint: Any = None) -> None:
        super().__init__(name=name, dtype=dtype, activity_regularizer=activity_regularizer)
        self._weight_options(embeddings=(embeddings_regularizer, embeddings_constraint))
        for nm, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ag.InvalidValueError(f"Embedding: {nm} must be a positive int, got {v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self.embeddings = None
        self.build(())

    def build(self, input_shape: tuple) -> None:
        if self.embeddings is None:
            self.embeddings = Parameter(self.embeddings_initializer(
                (self.input_dim, self.output_dim), self.dtype))
            if not self.trainable:
                self.trainable = False
        self.built = True

    @staticmethod
    def _ids(inputs: Any) -> Any:
        """The ids: a Tensor stays a tensor (so ``autograd.jit`` sees them as a program
        input, not values read into numpy), anything else becomes an integer array."""
        if isinstance(inputs, ag.Tensor):
            kind = inputs.dtype.kind
            if kind == "f":
                return inputs.astype(np.int64)
            if kind not in "iub":
                from ..errors import NonNumericError
                raise NonNumericError(f"Embedding: ids must be integers, got dtype "
                                      f"{inputs.dtype}")
            return inputs
        return Embedding._ids_array(inputs)

    @staticmethod
    def _ids_array(inputs: Any) -> np.ndarray:
        a = np.asarray(getattr(inputs, "data", inputs))
        if a.dtype.kind == "f":
            a = a.astype(np.int64)
        elif a.dtype.kind not in "iub":
            from ..errors import NonNumericError
            raise NonNumericError(f"Embedding: ids must be integers, got dtype {a.dtype}")
        return a

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return Module.__call__(self, self._ids(inputs), *args, **kwargs)

    def call(self, ids: Any) -> ag.Tensor:
        return ag.embedding(ids, self.embeddings)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        if isinstance(inputs, ag.Tensor):     # a tensor mask: autograd.jit follows it
            return self._ids(inputs) != 0
        return self._ids_array(inputs) != 0
