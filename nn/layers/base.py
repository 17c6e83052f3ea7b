"""The layer base class: ``name``, ``dtype`` and a lazy ``build`` from the first input."""
from __future__ import annotations

import itertools
import re
from collections import defaultdict
from typing import Any, Optional

import numpy as np

import autograd as ag

from ..module import Module

__all__ = ["Layer"]

_COUNTERS: defaultdict = defaultdict(itertools.count)


def _auto_name(cls_name: str) -> str:
    # Keras' snake case: BatchNormalization -> batch_normalization, SimpleRNN -> simple_rnn,
    # Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, Dense -> dense
    snake = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", cls_name)
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", snake).lower().lstrip("_")
    k = next(_COUNTERS[snake])
    return snake if k == 0 else f"{snake}_{k}"


def as_input(x: Any, dtype: np.dtype) -> ag.Tensor:
    """x as a Tensor of ``dtype`` (a cast is a recorded node if x requires grad)."""
    if isinstance(x, ag.Tensor):
        return x if x.dtype == dtype else ag.astype(x, dtype)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        from ..errors import NonNumericError
        raise NonNumericError(f"layer input must be numeric, got dtype {arr.dtype}")
    return ag.Tensor(arr.astype(dtype, copy=False))


class Layer(Module):
    """Base class of layers: ``name``, ``dtype``, and ``build(input_shape)`` called once,
    lazily, before the first ``call``."""

    def __init__(self, name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__()
        self.name = name or _auto_name(type(self).__name__)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ag.InvalidValueError(f"{type(self).__name__}: dtype must be a float dtype, got {self.dtype}")
        self.built = False

    def build(self, input_shape: tuple) -> None:
        self.built = True

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        x = as_input(inputs, self.dtype)
        if not self.built:
            self.build(tuple(x.shape))
            self.built = True
        return super().__call__(x, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
