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
    lazily, before the first ``call``.

    Weights are made in ``build`` with ``add_weight(name, shape, initializer, regularizer=,
    constraint=)``: the regularizer's penalty joins ``losses`` (and the training loss), the
    constraint projects the weight after each optimizer step in ``fit``.
    activity_regularizer : a penalty on the layer's output, taken at each call."""

    def __init__(self, name: Optional[str] = None, dtype: Any = "float32",
                 activity_regularizer: Any = None) -> None:
        super().__init__()
        self.name = name or _auto_name(type(self).__name__)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ag.InvalidValueError(f"{type(self).__name__}: dtype must be a float dtype, got {self.dtype}")
        self.built = False
        from .. import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def build(self, input_shape: tuple) -> None:
        self.built = True

    def add_weight(self, name: str, shape: tuple, initializer: Any = "glorot_uniform",
                   dtype: Any = None, trainable: bool = True, regularizer: Any = None,
                   constraint: Any = None) -> ag.Tensor:
        """Make a weight, store it as attribute ``name`` and return it.  ``regularizer``
        (``nn.regularizers``: a name, an instance or a callable) adds its penalty to
        ``losses``; ``constraint`` (``nn.constraints``) projects the weight after each
        optimizer step in ``fit``; ``trainable=False`` makes a weight the optimizer skips."""
        from .. import constraints, initializers, regularizers
        from ..module import Parameter
        init = initializers.get(initializer)
        dt = self.dtype if dtype is None else np.dtype(dtype)
        w = Parameter(init(tuple(int(s) for s in shape), dt))
        if not trainable:
            w.requires_grad = False
        setattr(self, name, w)
        reg, con = regularizers.get(regularizer), constraints.get(constraint)
        d = self.__dict__
        d.setdefault("_regularizers", {}).pop(name, None)
        d.setdefault("_constraints", {}).pop(name, None)
        if reg is not None:
            d["_regularizers"][name] = reg
        if con is not None:
            d["_constraints"][name] = con
        return w

    def _weight_options(self, **by_weight: tuple) -> None:
        """``kernel=(regularizer, constraint), bias=(...)``: options for weights a layer's
        ``build`` assigns directly (``self.kernel = Parameter(...)``) rather than through
        ``add_weight``; they are attached when the weight is assigned."""
        from .. import constraints, regularizers
        opts = self.__dict__.setdefault("_weight_opts", {})
        for name, (reg, con) in by_weight.items():
            opts[name] = (regularizers.get(reg), constraints.get(con))

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        opts = self.__dict__.get("_weight_opts")
        if opts and name in opts and isinstance(value, ag.Tensor):
            reg, con = opts[name]
            d = self.__dict__
            for key, v in (("_regularizers", reg), ("_constraints", con)):
                if v is not None:
                    d.setdefault(key, {})[name] = v

    @property
    def losses(self) -> list:
        """The penalties of this layer and those below it: weight regularizers (computed now,
        with a graph) and activity regularizers (from the last call)."""
        from ..regularizers import collect_losses
        return collect_losses(self)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        x = as_input(inputs, self.dtype)
        if not self.built:
            self.build(tuple(x.shape))
            self.built = True
        out = super().__call__(x, *args, **kwargs)
        if self.__dict__.get("activity_regularizer") is not None:
            self.__dict__["_activity_loss"] = self.activity_regularizer(out)
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
