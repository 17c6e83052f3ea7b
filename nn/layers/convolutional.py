"""Convolution layers: Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D.

Keras signatures and defaults; channels_last by default (``data_format='channels_first'``
handled).  Weights are built lazily from the first input (or at once from ``input_shape=``,
the shape of one sample).  Kernel layouts are Keras': Conv2D ``(kh, kw, in // groups,
filters)``, Conv2DTranspose ``(kh, kw, filters, in)``, DepthwiseConv2D ``(kh, kw, in,
depth_multiplier)``, SeparableConv2D a depthwise kernel then a ``(1, 1, in * multiplier,
filters)`` pointwise kernel.  Each convolution is one ``autograd`` graph node.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

import autograd as ag

from .. import initializers
from ..module import Parameter
from .base import Layer
from .core import ACTIVATIONS, get_activation

__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]


def _tuple(layer: str, name: str, v: Any, n: int) -> tuple:
    t = (v,) * n if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else tuple(v)
    if len(t) != n or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                              and a >= 1 for a in t):
        raise ag.InvalidValueError(f"{layer}: {name} must be a positive int or a tuple of {n} "
                                   f"positive ints, got {v!r}")
    return tuple(int(a) for a in t)


def _padding(layer: str, padding: Any, allowed: tuple) -> str:
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ag.InvalidValueError(f"{layer}: padding must be one of {allowed}, got {padding!r}")
    return padding.lower()


def _format(layer: str, data_format: Optional[str]) -> str:
    fmt = data_format or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise ag.InvalidValueError(f"{layer}: data_format must be 'channels_last' or "
                                   f"'channels_first', got {data_format!r}")
    return fmt


class _Conv(Layer):
    """What the convolution layers share: arguments, activation, input checks, lazy build."""

    rank = 2

    def __init__(self, filters: Optional[int], kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: Optional[str] = None,
                 dilation_rate: Any = 1, groups: int = 1,
                 activation: Union[None, str, Callable] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_shape: Optional[tuple] = None, dtype: Any = "float32",
                 name: Optional[str] = None, paddings: tuple = ("valid", "same"),
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None) -> None:
        super().__init__(name=name, dtype=dtype, activity_regularizer=activity_regularizer)
        self._weight_options(kernel=(kernel_regularizer, kernel_constraint),
                             bias=(bias_regularizer, bias_constraint))
        cls = type(self).__name__
        if filters is not None and (not isinstance(filters, (int, np.integer))
                                    or isinstance(filters, bool) or filters < 1):
            raise ag.InvalidValueError(f"{cls}: filters must be a positive int, got {filters!r}")
        if not (activation is None or callable(activation) or activation in ACTIVATIONS):
            raise ag.InvalidValueError(f"{cls}: unknown activation {activation!r}; one of "
                                       f"{ACTIVATIONS} or a callable")
        if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1 \
                or (filters is not None and filters % groups):
            raise ag.InvalidValueError(f"{cls}: groups must be a positive int dividing filters "
                                       f"({filters}), got {groups!r}")
        self.filters = None if filters is None else int(filters)
        self.kernel_size = _tuple(cls, "kernel_size", kernel_size, self.rank)
        self.strides = _tuple(cls, "strides", strides, self.rank)
        self.padding = _padding(cls, padding, paddings)
        self.data_format = _format(cls, data_format)
        self.dilation_rate = _tuple(cls, "dilation_rate", dilation_rate, self.rank)
        self.groups = int(groups)
        self.activation = activation
        self._act = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel: Optional[ag.Tensor] = None
        self.bias: Optional[ag.Tensor] = None
        if input_shape is not None:         # Layer.input_shape reports it as (None, ...)
            self._declared_input_shape = (None,) + tuple(input_shape)
            self.build(self._declared_input_shape)
            self.built = True

    def _channels(self, input_shape: tuple) -> int:
        cls = type(self).__name__
        if len(input_shape) != self.rank + 2:
            raise ag.ShapeError(f"{cls} {self.name!r}: expected inputs of {self.rank + 2} dims "
                                f"(batch, {'steps' if self.rank == 1 else 'H, W'}, channels) "
                                f"({self.data_format}), got shape {tuple(input_shape)}")
        c = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if c is None or c < 1:
            raise ag.ShapeError(f"{cls} {self.name!r}: the channel dimension must be known and "
                                f"positive, got input shape {tuple(input_shape)}")
        return int(c)

    def _check_input(self, x: ag.Tensor, channels: int) -> None:
        if x.ndim != self.rank + 2 or self._channels(x.shape) != channels:
            raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: built for {channels} input "
                                f"channels ({self.data_format}), got shape {x.shape}")

    def _new(self, init, shape) -> ag.Tensor:
        return Parameter(init(shape, self.dtype))

    def _finish_build(self) -> None:
        if not self.trainable:                   # frozen before it was built
            self.trainable = False
        self.built = True

    def _conv_kwargs(self) -> dict:
        return dict(strides=self.strides, padding=self.padding, dilation=self.dilation_rate,
                    data_format=self.data_format)


class Conv2D(_Conv):
    """2-d convolution: ``activation(conv2d(x, kernel) + bias)``.

    filters : output channels.  kernel_size, strides, dilation_rate : int or pair.
    padding : 'valid' or 'same'.  groups : input channels split into groups (each with
    filters // groups filters).  kernel (kh, kw, in // groups, filters), bias (filters,).
    x : (N, H, W, C) -> (N, OH, OW, filters) (channels_first: (N, C, H, W) -> (N, filters, OH, OW)).
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: Optional[str] = None,
                 dilation_rate: Any = (1, 1), groups: int = 1,
                 activation: Union[None, str, Callable] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_shape: Optional[tuple] = None, dtype: Any = "float32",
                 name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         input_shape, dtype, name, **kwargs)

    def build(self, input_shape: tuple) -> None:
        c = self._channels(input_shape)
        if c % self.groups:
            raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: {c} input channels do not "
                                f"split into groups={self.groups}")
        self.kernel = self._new(self.kernel_initializer,
                                self.kernel_size + (c // self.groups, self.filters))
        if self.use_bias:
            self.bias = self._new(self.bias_initializer, (self.filters,))
        self._finish_build()

    def call(self, x: ag.Tensor) -> ag.Tensor:
        self._check_input(x, self.kernel.shape[-2] * self.groups)
        op = ag.conv2d if self.rank == 2 else ag.conv1d
        kw = self._conv_kwargs()
        if self.rank == 1:
            kw = {k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}
        return self._act(op(x, self.kernel, self.bias, groups=self.groups, **kw))


class Conv1D(Conv2D):
    """1-d convolution over steps: x (N, steps, C) -> (N, out_steps, filters).

    padding : 'valid', 'same' or 'causal' (output t sees inputs <= t).  kernel
    (kernel_size, in // groups, filters).  Other arguments as Conv2D.
    """

    rank = 1

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: Optional[str] = None,
                 dilation_rate: Any = 1, groups: int = 1,
                 activation: Union[None, str, Callable] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_shape: Optional[tuple] = None, dtype: Any = "float32",
                 name: Optional[str] = None, **kwargs: Any) -> None:
        _Conv.__init__(self, filters, kernel_size, strides, padding, data_format, dilation_rate,
                       groups, activation, use_bias, kernel_initializer, bias_initializer,
                       input_shape, dtype, name, paddings=("valid", "same", "causal"),
                       **kwargs)


class Conv2DTranspose(_Conv):
    """Transposed 2-d convolution (a decoder's learned upsampling), as Keras.

    kernel (kh, kw, filters, in), bias (filters,).  Output size per spatial dim: 'valid'
    H s + max(kh - s, 0), 'same' H s; with ``output_padding`` a:
    (H - 1) s + kh - 2 (kh // 2 if 'same' else 0) + a  (kh dilated).
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", output_padding: Any = None,
                 data_format: Optional[str] = None, dilation_rate: Any = (1, 1),
                 activation: Union[None, str, Callable] = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_shape: Optional[tuple] = None, dtype: Any = "float32",
                 name: Optional[str] = None, **kwargs: Any) -> None:
        self.output_padding = None if output_padding is None else \
            tuple((output_padding,) * 2 if isinstance(output_padding, (int, np.integer))
                  else output_padding)
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         input_shape, dtype, name, **kwargs)

    def build(self, input_shape: tuple) -> None:
        c = self._channels(input_shape)
        self.kernel = self._new(self.kernel_initializer, self.kernel_size + (self.filters, c))
        if self.use_bias:
            self.bias = self._new(self.bias_initializer, (self.filters,))
        self._finish_build()

    def call(self, x: ag.Tensor) -> ag.Tensor:
        self._check_input(x, self.kernel.shape[-1])
        return self._act(ag.conv2d_transpose(x, self.kernel, self.bias,
                                             output_padding=self.output_padding,
                                             **self._conv_kwargs()))


class DepthwiseConv2D(_Conv):
    """Each input channel convolved with its own ``depth_multiplier`` filters (groups = C).

    kernel (kh, kw, C, depth_multiplier), bias (C * depth_multiplier,); output channel
    c * depth_multiplier + m comes from input channel c (Keras' order).
    """

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format: Optional[str] = None,
                 dilation_rate: Any = (1, 1), activation: Union[None, str, Callable] = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", input_shape: Optional[tuple] = None,
                 dtype: Any = "float32", name: Optional[str] = None,
                 depthwise_regularizer: Any = None, depthwise_constraint: Any = None,
                 **kwargs: Any) -> None:
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ag.InvalidValueError(f"DepthwiseConv2D: depth_multiplier must be a positive "
                                       f"int, got {depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         input_shape, dtype, name, **kwargs)
        self._weight_options(kernel=(depthwise_regularizer, depthwise_constraint))

    def build(self, input_shape: tuple) -> None:
        c = self._channels(input_shape)
        self.kernel = self._new(self.kernel_initializer,
                                self.kernel_size + (c, self.depth_multiplier))
        if self.use_bias:
            self.bias = self._new(self.bias_initializer, (c * self.depth_multiplier,))
        self._finish_build()

    def call(self, x: ag.Tensor) -> ag.Tensor:
        kh, kw, c, m = self.kernel.shape
        self._check_input(x, c)
        k = ag.reshape(self.kernel, (kh, kw, 1, c * m))
        return self._act(ag.conv2d(x, k, self.bias, groups=c, **self._conv_kwargs()))


class SeparableConv2D(_Conv):
    """A depthwise convolution then a 1x1 (pointwise) one: fewer weights than Conv2D.

    depthwise_kernel (kh, kw, C, depth_multiplier), pointwise_kernel
    (1, 1, C * depth_multiplier, filters), bias (filters,).
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: Optional[str] = None,
                 dilation_rate: Any = (1, 1), depth_multiplier: int = 1,
                 activation: Union[None, str, Callable] = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 input_shape: Optional[tuple] = None, dtype: Any = "float32",
                 name: Optional[str] = None, depthwise_regularizer: Any = None,
                 pointwise_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, **kwargs: Any) -> None:
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ag.InvalidValueError(f"SeparableConv2D: depth_multiplier must be a positive "
                                       f"int, got {depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_kernel: Optional[ag.Tensor] = None
        self.pointwise_kernel: Optional[ag.Tensor] = None
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         input_shape, dtype, name, **kwargs)
        self._weight_options(depthwise_kernel=(depthwise_regularizer, depthwise_constraint),
                             pointwise_kernel=(pointwise_regularizer, pointwise_constraint))

    def build(self, input_shape: tuple) -> None:
        c = self._channels(input_shape)
        m = self.depth_multiplier
        self.depthwise_kernel = self._new(self.kernel_initializer, self.kernel_size + (c, m))
        self.pointwise_kernel = self._new(self.pointwise_initializer, (1, 1, c * m, self.filters))
        if self.use_bias:
            self.bias = self._new(self.bias_initializer, (self.filters,))
        self._finish_build()

    def call(self, x: ag.Tensor) -> ag.Tensor:
        kh, kw, c, m = self.depthwise_kernel.shape
        self._check_input(x, c)
        k = ag.reshape(self.depthwise_kernel, (kh, kw, 1, c * m))
        h = ag.conv2d(x, k, None, groups=c, **self._conv_kwargs())
        return self._act(ag.conv2d(h, self.pointwise_kernel, self.bias,
                                   data_format=self.data_format))
