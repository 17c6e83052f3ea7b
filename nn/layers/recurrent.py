"""Recurrent layers: SimpleRNN, LSTM, GRU, and the Bidirectional and TimeDistributed wrappers.

Each recurrent layer runs its whole sequence as one graph node (``autograd.lstm``,
``autograd.gru``, ``autograd.simple_rnn``): the input projections of every step are one
GEMM, and backpropagation through time happens inside the node's backward.  Weights follow
Keras: ``kernel`` (features, G units), ``recurrent_kernel`` (units, G units), ``bias``
(G units; GRU (2, 3 units)), gate order i, f, c, o (LSTM) and z, r, h (GRU, reset_after).
Inputs are (batch, time, features).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Optional, Sequence

import numpy as np

import autograd as ag

from .. import initializers
from ..module import Parameter
from .base import Layer, as_input

__all__ = ["SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed"]


class _RNN(Layer):
    """Shared by SimpleRNN, LSTM and GRU."""

    _gates = 1
    _states = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 name: Optional[str] = None, dtype: Any = "float32",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None) -> None:
        super().__init__(name=name, dtype=dtype, activity_regularizer=activity_regularizer)
        self._weight_options(kernel=(kernel_regularizer, kernel_constraint),
                             recurrent_kernel=(recurrent_regularizer, recurrent_constraint),
                             bias=(bias_regularizer, bias_constraint))
        cls = type(self).__name__
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ag.InvalidValueError(f"{cls}: units must be a positive int, got {units!r}")
        if activation != "tanh":
            raise ag.InvalidValueError(f"{cls}: only activation='tanh' is implemented (the fused "
                                       f"kernels), got {activation!r}")
        if dropout or recurrent_dropout:
            raise ag.InvalidValueError(f"{cls}: dropout / recurrent_dropout inside the cell are not "
                                       f"implemented; put a Dropout layer before or after it")
        if stateful:
            raise ag.InvalidValueError(f"{cls}: stateful=True is not implemented; pass "
                                       f"initial_state= instead")
        self.units = int(units)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.unroll = bool(unroll)      # accepted; the sequence is one fused node either way
        self.supports_masking = True
        self.kernel = self.recurrent_kernel = self.bias = None

    def _bias_init(self, g: int) -> np.ndarray:
        return self.bias_initializer((g,), self.dtype)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 3:
            raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: expected inputs (batch, time, "
                                f"features), got shape {input_shape}")
        f, g = int(input_shape[-1]), self._gates * self.units
        self.kernel = Parameter(self.kernel_initializer((f, g), self.dtype))
        self.recurrent_kernel = Parameter(self.recurrent_initializer((self.units, g), self.dtype))
        if self.use_bias:
            self.bias = Parameter(self._bias_init(g))
        if not self.trainable:
            self.trainable = False
        self.built = True

    def _initial(self, initial_state: Any, n: int) -> list:
        if initial_state is None:
            return [None] * self._states
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self._states:
            raise ag.InvalidValueError(f"{type(self).__name__} {self.name!r}: initial_state needs "
                                       f"{self._states} tensor(s), got {len(states)}")
        out = []
        for s in states:
            t = as_input(s, self.dtype)
            if t.shape != (n, self.units):
                raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: initial state of shape "
                                    f"{t.shape}, expected {(n, self.units)}")
            out.append(t)
        return out

    def _run(self, x, states, mask):  # pragma: no cover - overridden
        raise NotImplementedError

    def call(self, inputs: ag.Tensor, initial_state: Any = None, mask: Any = None,
             training: Optional[bool] = None) -> Any:
        x = inputs
        if x.ndim != 3 or x.shape[2] != self.kernel.shape[0]:
            raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: expected inputs (batch, time, "
                                f"{self.kernel.shape[0]}), got shape {x.shape}")
        if mask is not None:
            # a tensor mask (Embedding's ids != 0 on tensor ids) stays a tensor, handed to the
            # primitive positionally, so autograd.jit follows it as a program value
            if isinstance(mask, ag.Tensor):
                mask = mask if mask.dtype == np.bool_ else mask.astype(np.bool_)
            else:
                mask = np.asarray(mask).astype(bool)
            if mask.shape != x.shape[:2]:
                raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: mask of shape "
                                    f"{mask.shape}, expected {x.shape[:2]}")
        if self.go_backwards:           # Keras: the outputs stay in the reversed order
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        seq, last = self._run(x, self._initial(initial_state, x.shape[0]), mask)
        out = seq if self.return_sequences else last[0]
        return [out] + last if self.return_state else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.units}, return_sequences={self.return_sequences}, " \
               f"name={self.name!r})"


class SimpleRNN(_RNN):
    """Keras' SimpleRNN: h_t = tanh(x_t kernel + h_{t-1} recurrent_kernel + bias).
    Parameters: units (features + units + 1)."""

    def _run(self, x, states, mask):
        seq = ag.simple_rnn(x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask)
        return seq, [seq[:, -1]]


class LSTM(_RNN):
    """Keras' LSTM (gates i, f, c, o; unit_forget_bias adds 1 to the forget gate's initial
    bias).  Returns the last h, every h with ``return_sequences``, and ``[out, h, c]`` with
    ``return_state``.  Parameters: 4 units (features + units + 1)."""

    _gates = 4
    _states = 2

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, **kwargs: Any) -> None:
        if recurrent_activation != "sigmoid":
            raise ag.InvalidValueError(f"LSTM: only recurrent_activation='sigmoid' is implemented, "
                                       f"got {recurrent_activation!r}")
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.recurrent_activation = recurrent_activation
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self, g: int) -> np.ndarray:
        b = self.bias_initializer((g,), self.dtype)
        if self.unit_forget_bias:
            b[self.units:2 * self.units] += 1.0
        return b

    def _run(self, x, states, mask):
        u = self.units
        out = ag.lstm(x, states[0], states[1], self.kernel, self.recurrent_kernel, self.bias,
                      mask)
        last = out[:, -1]
        seq = out[:, :, :u] if self.return_sequences else None
        return seq, [last[:, :u], last[:, u:]]


class GRU(_RNN):
    """Keras' GRU with ``reset_after=True`` (its default; PyTorch's formula): gates z, r, h,
    ``bias`` (2, 3 units): input and recurrent biases.  Parameters: 3 units (features +
    units + 2)."""

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", reset_after: bool = True,
                 **kwargs: Any) -> None:
        if not reset_after:
            raise ag.InvalidValueError("GRU: only reset_after=True (Keras' default) is implemented")
        if recurrent_activation != "sigmoid":
            raise ag.InvalidValueError(f"GRU: only recurrent_activation='sigmoid' is implemented, "
                                       f"got {recurrent_activation!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation
        self.reset_after = True

    def _bias_init(self, g: int) -> np.ndarray:
        return self.bias_initializer((2, g), self.dtype)

    def _run(self, x, states, mask):
        seq = ag.gru(x, states[0], self.kernel, self.recurrent_kernel, self.bias, mask)
        return seq, [seq[:, -1]]


class Bidirectional(Layer):
    """Keras' Bidirectional: the layer on the sequence, a copy of it on the reversed
    sequence (``go_backwards``), outputs merged by ``merge_mode``: 'concat' (default),
    'sum', 'mul', 'ave', or None (a list [forward, backward]).  With return_sequences the
    backward outputs are put back in time order before merging.  With return_state the
    result is ``[merged] + forward states + backward states``."""

    def __init__(self, layer: _RNN, merge_mode: Optional[str] = "concat",
                 backward_layer: Optional[_RNN] = None, name: Optional[str] = None,
                 dtype: Any = None) -> None:
        if not isinstance(layer, _RNN):
            raise ag.InvalidValueError(f"Bidirectional: expected a recurrent layer, got "
                                       f"{type(layer).__name__}")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ag.InvalidValueError(f"Bidirectional: merge_mode must be 'concat', 'sum', 'mul', "
                                       f"'ave' or None, got {merge_mode!r}")
        super().__init__(name=name, dtype=dtype or layer.dtype)
        if backward_layer is None:
            backward_layer = copy.deepcopy(layer)
            backward_layer.go_backwards = not layer.go_backwards
            backward_layer.built = False
            backward_layer.kernel = backward_layer.recurrent_kernel = backward_layer.bias = None
        if backward_layer.return_sequences != layer.return_sequences or \
                backward_layer.return_state != layer.return_state:
            raise ag.InvalidValueError("Bidirectional: backward_layer must match the forward layer's "
                                       "return_sequences and return_state")
        layer.name = f"forward_{layer.name}"
        backward_layer.name = f"backward_{backward_layer.name}"
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.built = True

    def call(self, x: ag.Tensor, initial_state: Any = None, mask: Any = None,
             training: Optional[bool] = None) -> Any:
        fs = bs = None
        if initial_state is not None:
            k = self.forward_layer._states
            if len(initial_state) != 2 * k:
                raise ag.InvalidValueError(f"Bidirectional {self.name!r}: initial_state needs "
                                           f"{2 * k} tensors (forward then backward)")
            fs, bs = list(initial_state[:k]), list(initial_state[k:])
        yf = self.forward_layer(x, initial_state=fs, mask=mask)
        yb = self.backward_layer(x, initial_state=bs, mask=mask)
        states: list = []
        if self.return_state:
            yf, states = yf[0], yf[1:] + yb[1:]
            yb = yb[0]
        if self.return_sequences:
            yb = yb[:, ::-1]
        if self.merge_mode == "concat":
            out: Any = ag.concatenate([yf, yb], axis=-1)
        elif self.merge_mode == "sum":
            out = yf + yb
        elif self.merge_mode == "mul":
            out = yf * yb
        elif self.merge_mode == "ave":
            out = (yf + yb) * 0.5
        else:
            out = [yf, yb]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: (N, T, ...) -> (N, T, ...out) through one call
    of the layer on (N * T, ...) (weights shared over time)."""

    def __init__(self, layer: Layer, name: Optional[str] = None, dtype: Any = None) -> None:
        if not isinstance(layer, Layer):
            raise ag.InvalidValueError(f"TimeDistributed: expected a layer, got "
                                       f"{type(layer).__name__}")
        super().__init__(name=name, dtype=dtype or layer.dtype)
        self.layer = layer
        self.supports_masking = True
        self.built = True

    def call(self, x: ag.Tensor, training: Optional[bool] = None) -> ag.Tensor:
        if x.ndim < 3:
            raise ag.ShapeError(f"TimeDistributed {self.name!r}: expected inputs (batch, time, ...), "
                                f"got shape {x.shape}")
        n, t = x.shape[:2]
        kw = {}
        from ..model import _takes
        if training is not None and _takes(self.layer, "training"):
            kw["training"] = training
        y = self.layer(ag.reshape(x, (n * t,) + tuple(x.shape[2:])), **kw)
        return ag.reshape(y, (n, t) + tuple(y.shape[1:]))
