"""Layers.  A layer builds its weights lazily from the first input it sees.

``Dense`` is one ``autograd.dense`` graph node (matmul, bias and activation fused); only
'softmax' and callable activations add a second node after it.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any, Callable, Optional, Union

import numpy as np

import autograd as ag

from . import initializers
from .module import Module, Parameter

__all__ = ["Layer", "Dense", "Activation", "Flatten", "get_activation"]

_FUSED = ("relu", "sigmoid", "tanh", "leaky_relu", "gelu")
ACTIVATIONS = (None, "linear") + _FUSED + ("softmax",)

_COUNTERS: defaultdict = defaultdict(itertools.count)


def _auto_name(cls_name: str) -> str:
    snake = "".join("_" + c.lower() if c.isupper() else c for c in cls_name).lstrip("_")
    k = next(_COUNTERS[snake])
    return snake if k == 0 else f"{snake}_{k}"


def get_activation(activation: Union[None, str, Callable]) -> Callable:
    """A function Tensor -> Tensor for an activation name or callable."""
    if activation is None or activation == "linear":
        return lambda x: x
    if callable(activation):
        return activation
    if activation == "softmax":
        return lambda x: ag.softmax(x, axis=-1)
    if activation in _FUSED:
        fn = getattr(ag, activation)
        return lambda x: fn(x)
    raise ag.InvalidValueError(f"unknown activation {activation!r}; one of {ACTIVATIONS} or a callable")


def as_input(x: Any, dtype: np.dtype) -> ag.Tensor:
    """x as a Tensor of ``dtype`` (a cast is a recorded node if x requires grad)."""
    if isinstance(x, ag.Tensor):
        return x if x.dtype == dtype else ag.astype(x, dtype)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        from .errors import NonNumericError
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
        from . import regularizers
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
        from . import constraints, regularizers
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

    @property
    def losses(self) -> list:
        """The penalties of this layer and those below it: weight regularizers (computed now,
        with a graph) and activity regularizers (from the last call)."""
        from .regularizers import collect_losses
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


class Dense(Layer):
    """``activation(x @ kernel + bias)``: a fully connected layer, one fused graph node.

    units : int, the output size.  activation : None/'linear', 'relu', 'sigmoid', 'tanh',
    'softmax', 'leaky_relu', 'gelu' or a callable on Tensors.  ``kernel`` has shape
    (in, units) and ``bias`` (units,); ``in`` comes from ``input_dim`` (built at once) or from
    the last dimension of the first input.  x : shape-(..., in) -> shape-(..., units).
    """

    def __init__(self, units: int, activation: Union[None, str, Callable] = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", input_dim: Optional[int] = None,
                 dtype: Any = "float32", name: Optional[str] = None,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None) -> None:
        super().__init__(name=name, dtype=dtype, activity_regularizer=activity_regularizer)
        from . import constraints, regularizers
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ag.InvalidValueError(f"Dense: units must be a positive int, got {units!r}")
        if not (activation is None or callable(activation) or activation in ACTIVATIONS):
            raise ag.InvalidValueError(f"Dense: unknown activation {activation!r}; one of {ACTIVATIONS} "
                             f"or a callable")
        self.units = int(units)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel: Optional[ag.Tensor] = None
        self.bias: Optional[ag.Tensor] = None
        self.input_dim = input_dim
        if input_dim is not None:
            if not isinstance(input_dim, (int, np.integer)) or input_dim < 1:
                raise ag.InvalidValueError(f"Dense: input_dim must be a positive int, got {input_dim!r}")
            self.build((None, int(input_dim)))
            self.built = True

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 1:
            raise ag.ShapeError(f"Dense {self.name!r}: needs inputs of shape (..., features), "
                                f"got a scalar")
        n_in = int(input_shape[-1])
        self.add_weight("kernel", (n_in, self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer,
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        if not self.trainable:                  # frozen before it was built
            self.trainable = False
        self.input_dim = n_in
        self.built = True

    def call(self, x: ag.Tensor) -> ag.Tensor:
        if x.ndim < 1 or x.shape[-1] != self.kernel.shape[0]:
            raise ag.ShapeError(f"Dense {self.name!r}: expected inputs with last dimension "
                                f"{self.kernel.shape[0]}, got shape {x.shape}")
        act = self.activation
        if act is None or (isinstance(act, str) and act in ("linear",) + _FUSED):
            return ag.dense(x, self.kernel, self.bias, activation=act)
        z = ag.dense(x, self.kernel, self.bias)
        return get_activation(act)(z)

    def __repr__(self) -> str:
        return (f"Dense({self.units}, activation={self.activation!r}, name={self.name!r}, "
                f"dtype={self.dtype.name})")


class Activation(Layer):
    """An activation alone, by name or callable (no weights)."""

    def __init__(self, activation: Union[str, Callable], name: Optional[str] = None,
                 dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        self.activation = activation
        self._fn = get_activation(activation)

    def call(self, x: ag.Tensor) -> ag.Tensor:
        return self._fn(x)


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""

    def call(self, x: ag.Tensor) -> ag.Tensor:
        return ag.reshape(x, (x.shape[0], -1))
