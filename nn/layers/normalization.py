"""Normalization layers: BatchNormalization, LayerNormalization (each one fused node)."""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

import autograd as ag

from .. import initializers
from ..module import Parameter
from .base import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axes(name: str, axis: Any, ndim: int) -> tuple:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ag.AxisError(f"{name}: axis {axis!r} is out of range for inputs of {ndim} dims")
        out.append(int(a) % ndim)
    if 0 in out:
        raise ag.AxisError(f"{name}: axis {axis!r} includes the batch axis 0")
    return tuple(sorted(set(out)))


class BatchNormalization(Layer):
    """Keras' BatchNormalization: ``(x - mean) / sqrt(var + epsilon) * gamma + beta`` per
    feature along ``axis`` (-1: channels last).

    In training (``fit``, ``model.train()``, or ``training=True``) it normalizes with the
    batch's statistics (over every axis but ``axis``) and updates the moving statistics,
    ``moving = moving * momentum + batch * (1 - momentum)`` (batch variance biased, as Keras);
    in inference (``evaluate``/``predict``, ``model.eval()``) it uses the moving statistics.
    Weights: ``gamma``, ``beta`` (trainable, if ``scale``/``center``), ``moving_mean``,
    ``moving_variance`` (non-trainable; saved and loaded with the others).  4 C parameters,
    2 C of them non-trainable, as Keras counts.
    """

    _non_trainable = ("moving_mean", "moving_variance")
    #: the moving-statistics update is recorded by autograd.jit (a program effect)
    jit_state = True

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", name: Optional[str] = None,
                 dtype: Any = "float32", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._weight_options(beta=(beta_regularizer, beta_constraint),
                             gamma=(gamma_regularizer, gamma_constraint))
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ag.InvalidValueError(f"BatchNormalization: axis must be an int, got {axis!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ag.InvalidValueError(f"BatchNormalization: momentum must be in [0, 1], got "
                                       f"{momentum!r}")
        if not epsilon > 0:
            raise ag.InvalidValueError(f"BatchNormalization: epsilon must be > 0, got {epsilon!r}")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape: tuple) -> None:
        a = _axes(f"BatchNormalization {self.name!r}", self.axis, len(input_shape))[0]
        c = int(input_shape[a])
        if self.scale:
            self.gamma = Parameter(self.gamma_initializer((c,), self.dtype))
        if self.center:
            self.beta = Parameter(self.beta_initializer((c,), self.dtype))
        self.moving_mean = ag.Tensor(self.moving_mean_initializer((c,), self.dtype))
        self.moving_variance = ag.Tensor(self.moving_variance_initializer((c,), self.dtype))
        if not self.trainable:
            self.trainable = False
        self.built = True

    def call(self, x: ag.Tensor, training: Optional[bool] = None) -> ag.Tensor:
        training = self.training if training is None else bool(training)
        c = self.moving_mean.shape[0]
        if x.ndim < 2 or x.shape[self.axis] != c:
            raise ag.ShapeError(f"BatchNormalization {self.name!r}: expected {c} features on "
                                f"axis {self.axis}, got inputs of shape {x.shape}")
        # Keras: a frozen BatchNormalization runs in inference mode (its statistics frozen too)
        training = training and self.trainable
        # training updates the moving statistics in place (a captured-state effect under
        # autograd.jit, re-run at each replay: see batch_norm's ``mutates``)
        return ag.batch_norm(x, self.gamma, self.beta, self.moving_mean,
                             self.moving_variance, eps=self.epsilon, axis=self.axis,
                             training=training, momentum=self.momentum) if training else \
            ag.batch_norm(x, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                          eps=self.epsilon, axis=self.axis)

    def __repr__(self) -> str:
        return f"BatchNormalization(axis={self.axis}, momentum={self.momentum}, " \
               f"epsilon={self.epsilon}, name={self.name!r})"


class LayerNormalization(Layer):
    """Keras' LayerNormalization: each sample normalized over ``axis`` (default -1), then
    ``* gamma + beta`` (shape of the normalized axes).  epsilon 1e-3 (Keras' default)."""

    def __init__(self, axis: Union[int, tuple, list] = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", name: Optional[str] = None,
                 dtype: Any = "float32", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._weight_options(beta=(beta_regularizer, beta_constraint),
                             gamma=(gamma_regularizer, gamma_constraint))
        if not epsilon > 0:
            raise ag.InvalidValueError(f"LayerNormalization: epsilon must be > 0, got {epsilon!r}")
        self.axis, self.epsilon = axis, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.gamma = self.beta = None
        self._axes: tuple = ()

    def build(self, input_shape: tuple) -> None:
        self._axes = _axes(f"LayerNormalization {self.name!r}", self.axis, len(input_shape))
        shape = tuple(int(input_shape[a]) for a in self._axes)
        if self.scale:
            self.gamma = Parameter(self.gamma_initializer(shape, self.dtype))
        if self.center:
            self.beta = Parameter(self.beta_initializer(shape, self.dtype))
        self._pshape = shape
        if not self.trainable:
            self.trainable = False
        self.built = True

    def call(self, x: ag.Tensor) -> ag.Tensor:
        if x.ndim <= max(self._axes) or tuple(x.shape[a] for a in self._axes) != self._pshape:
            raise ag.ShapeError(f"LayerNormalization {self.name!r}: built for {self._pshape} on "
                                f"axes {self._axes}, got inputs of shape {x.shape}")
        return ag.layer_norm(x, self.gamma, self.beta, axis=self._axes, eps=self.epsilon)
