"""Layers, one module per family; ``nn.layers.X`` is the public spelling.

A layer builds its weights lazily from the first input it sees.  Families:
``core`` (Dense, Activation, Flatten), ``merging`` (Add, Concatenate, Dot, ...),
``lambda_layer`` (Lambda).
"""
from __future__ import annotations

from typing import Any

from .base import Layer, _auto_name, as_input
from .core import ACTIVATIONS, Activation, Dense, Flatten, get_activation
from .merging import (Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply,
                      Subtract)
from .lambda_layer import Lambda

__all__ = ["Layer", "Dense", "Activation", "Flatten", "get_activation"]
__all__ += ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
            "Lambda"]


def __getattr__(name: str) -> Any:
    from ..errors import UnknownLayerError
    layers = sorted(n for n in __all__ if n[:1].isupper() and n != "Layer")
    raise UnknownLayerError(f"module 'nn.layers' has no attribute {name!r}; available layers: "
                            f"{', '.join(layers)}")
