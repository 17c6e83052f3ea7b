"""Core layers: Dense, Activation, Flatten.

``Dense`` is one ``autograd.dense`` graph node (matmul, bias and activation fused); only
'softmax' and callable activations add a second node after it.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

import autograd as ag

from .. import initializers
from ..module import Parameter
from .base import Layer
from autograd.ops.fused import _dense        # the primitive behind ag.dense (one call less)
from autograd.ops.fused import dense_chain
from autograd.jit import effects as _effects

__all__ = ["Dense", "Activation", "Flatten", "get_activation"]

_FUSED = ("relu", "sigmoid", "tanh", "leaky_relu", "gelu")
ACTIVATIONS = (None, "linear") + _FUSED + ("softmax",)
_FUSED_OR_LINEAR = frozenset(("linear",) + _FUSED)

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
        from .. import constraints, regularizers
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
        ag.errors.check_allocation(f"Dense {self.name!r} kernel", (n_in, self.units), self.dtype)
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
        xs = x._data.shape
        if not xs or xs[-1] != self.kernel._data.shape[0]:
            raise ag.ShapeError(f"Dense {self.name!r}: expected inputs with last dimension "
                                f"{self.kernel.shape[0]}, got shape {x.shape}")
        act = self.activation
        if act is None or (type(act) is str and act in _FUSED_OR_LINEAR):
            return _dense(x, self.kernel, self.bias, activation=act)   # one fused node
        z = _dense(x, self.kernel, self.bias)
        return get_activation(act)(z)

    def __repr__(self) -> str:
        return (f"Dense({self.units}, activation={self.activation!r}, name={self.name!r}, "
                f"dtype={self.dtype.name})")


def dense_chain_call(layers: list, x: ag.Tensor) -> Optional[ag.Tensor]:
    """The output of ``layers`` (a Sequential's) on ``x`` as one ``dense_chain`` node, or None
    when the layers must run one by one.

    The fused form runs the same formulas in the same order as the layers' own ``dense``
    nodes (bitwise equal results and gradients), so it is taken only where nothing per-layer
    could be observed: two or more layers, every one exactly ``Dense`` (no subclass, no
    ``call`` set on the instance), built, no activity regularizer, an activation ``dense``
    fuses (None, 'linear', 'relu', 'sigmoid', 'tanh', 'leaky_relu', 'gelu'; not 'softmax'
    or a callable), kernel and bias of the layer's dtype; ``x`` a 2-d Tensor of that dtype
    whose width matches the first kernel, each kernel's width the next one's height; and
    not while ``autograd.jit`` traces (the compiler sees the layers' own nodes); no weight
    (or the input) used twice (a layer repeated, a shared kernel: the per-layer nodes add
    its gradients in their order).  What ``Layer.__call__`` records per layer (the input
    and output shapes) is recorded here too.  Weight regularizers and constraints are per
    weight, not per call: they apply as before."""
    if len(layers) < 2 or _effects.LOCAL.rec is not None:
        return None
    xd = x._data
    if xd.ndim != 2:
        return None
    dt = xd.dtype
    width = xd.shape[1]
    args = [x]
    acts = []
    nb = 0                                      # biases left out (None)
    try:
        for layer in layers:
            if type(layer) is not Dense:
                return None
            d = layer.__dict__
            act = d["activation"]
            k, b = d["kernel"], d["bias"]
            if not d["built"] or d["dtype"] != dt or "call" in d or \
                    d.get("activity_regularizer") is not None or k is None or \
                    not (act is None or (type(act) is str and act in _FUSED_OR_LINEAR)):
                return None
            kd = k._data
            if b is None:
                nb += 1
            elif b._data.dtype != dt:
                return None
            if kd.dtype != dt or kd.ndim != 2 or kd.shape[0] != width:
                return None
            width = kd.shape[1]
            args.append(k)
            args.append(b)
            acts.append(act)
    except KeyError:                            # a Dense without its usual attributes
        return None
    if len(set(map(id, args))) != len(args) - nb + (nb > 0):   # (the Nones share one id)
        return None         # a weight used twice: its gradients add in the per-layer order
    out = dense_chain(*args, activations=tuple(acts))
    for layer in layers:
        d = layer.__dict__
        if "_seen_input_shape" not in d:
            layer._seen_input_shape = (None, d["kernel"]._data.shape[0])
        d["_output_shape"] = (None, d["kernel"]._data.shape[1])
    return out


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
