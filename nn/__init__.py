"""nn: layers, losses, optimizers and a Keras-style Model on top of autograd.

>>> import numpy as np, nn
>>> nn.set_seed(0)
>>> model = nn.Sequential([nn.layers.Dense(8, activation='tanh', input_dim=2),
...                        nn.layers.Dense(1, activation='sigmoid')])
>>> model.compile(optimizer=nn.optimizers.Adam(0.05), loss='binary_crossentropy',
...               metrics=['accuracy'])
>>> x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([0, 1, 1, 0])
>>> history = model.fit(x, y, batch_size=4, epochs=300, verbose=0)
>>> (model.predict(x)[:, 0] > 0.5).astype(int).tolist()
[0, 1, 1, 0]

Modules: ``layers``, ``initializers``, ``losses``, ``metrics``, ``optimizers`` (and
``optimizers.schedules``), ``callbacks``, ``regularizers``, ``constraints``, ``data`` (input
pipelines), ``datasets``, ``utils`` (gradient clipping).  Nothing here computes a gradient by hand: layers and losses
compose autograd primitives, optimizers update ``p.data`` in place through
``autograd.kernels``.
"""
from __future__ import annotations

from . import initializers, layers, losses, metrics, optimizers, callbacks, datasets
from . import distributed
from . import utils
from . import data
from . import regularizers, constraints
from ._random import set_seed
from .errors import WeightsMismatchError, NonNumericError, NonFiniteLossError, NotCompiledError
from .module import Module, Parameter
from .model import Model, Sequential, History, Functional
from .functional import Input, InputLayer
from . import config, saving, models, utils


def __getattr__(name: str):
    # nn.onnx (the exporter, 780 lines, ~11 ms to load) is imported on first use
    if name == "onnx":
        import importlib
        return importlib.import_module(".onnx", __name__)
    raise AttributeError(f"module 'nn' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = ["Module", "Parameter", "Model", "Sequential", "History", "set_seed", "layers",
           "initializers", "losses", "metrics", "optimizers", "callbacks", "datasets",
           "WeightsMismatchError", "NonNumericError", "NonFiniteLossError", "NotCompiledError",
           "distributed", "utils", "data", "regularizers", "constraints",
           "Input", "InputLayer", "Functional", "config", "saving", "models", "onnx"]
