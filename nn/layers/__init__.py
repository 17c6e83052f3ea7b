"""Layers, one module per family; ``nn.layers.X`` is the public spelling.

A layer builds its weights lazily from the first input it sees.  Families:
``core`` (Dense, Activation, Flatten); ``convolutional`` (Conv1D, Conv2D,
Conv2DTranspose, DepthwiseConv2D, SeparableConv2D); ``pooling`` (Max/AveragePooling1D/2D,
Global Average/MaxPooling1D/2D); ``normalization`` (BatchNormalization, LayerNormalization);
``regularization`` (Dropout, SpatialDropout2D); ``embedding``; ``recurrent`` (SimpleRNN, LSTM,
GRU, Bidirectional, TimeDistributed); ``reshaping`` (Reshape, Permute, ZeroPadding2D,
UpSampling2D); ``merging`` (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
Dot); ``lambda_layer`` (Lambda, with its safe-mode config).
"""
from __future__ import annotations

from typing import Any

from .base import Layer, _auto_name, as_input
from .core import ACTIVATIONS, Activation, Dense, Flatten, get_activation
from .convolutional import Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from .pooling import (MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D,
                      GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
                      GlobalMaxPooling2D)
from .normalization import BatchNormalization, LayerNormalization
from .regularization import Dropout, SpatialDropout2D
from .embedding import Embedding
from .recurrent import SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed
from .reshaping import Reshape, Permute, ZeroPadding2D, UpSampling2D
from .merging import (Add, Average, Concatenate, Dot, Maximum, Merge, Minimum, Multiply,
                      Subtract)
from .lambda_layer import Lambda

__all__ = ["Layer", "Dense", "Activation", "Flatten", "Lambda", "get_activation"]
__all__ += ["Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
__all__ += ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
            "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
            "GlobalMaxPooling2D"]
__all__ += ["BatchNormalization", "LayerNormalization", "Dropout", "SpatialDropout2D",
            "Embedding", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed",
            "Reshape", "Permute", "ZeroPadding2D", "UpSampling2D"]
__all__ += ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"]


def __getattr__(name: str) -> Any:
    from ..errors import UnknownLayerError
    layers = sorted(n for n in __all__ if n[:1].isupper() and n != "Layer")
    raise UnknownLayerError(f"module 'nn.layers' has no attribute {name!r}; available layers: "
                            f"{', '.join(layers)}")
