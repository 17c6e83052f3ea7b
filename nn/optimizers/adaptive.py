"""Per-coordinate adaptive rates without momentum: RMSprop, Adagrad, Adadelta."""
from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

from autograd import kernels

from .base import Optimizer, nonneg, positive, unit

__all__ = ["RMSprop", "Adagrad", "Adadelta"]


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e; PyTorch's ``RMSprop`` form, epsilon outside the root)::

        g = grad + weight_decay * p;  v = rho v + (1 - rho) g**2;  p -= lr g / (sqrt(v) + eps)

    (v starts at 0.)"""

    _hyper = {"rho": unit, "epsilon": positive, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 rho: float = 0.9, epsilon: float = 1e-7, weight_decay: float = 0.0,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(rho=rho, epsilon=epsilon, weight_decay=weight_decay), **kwargs)

    def _init_state(self, data):
        return {"v": np.zeros_like(data)}

    def _update(self, data, grad, st, h):
        kernels.rmsprop_update(data, grad, st["v"], h["lr"], h["rho"], h["epsilon"],
                               h["weight_decay"])


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), PyTorch's ``Adagrad`` form (lr_decay 0)::

        g = grad + weight_decay * p;  acc += g**2;  p -= lr g / (sqrt(acc) + epsilon)

    acc starts at ``initial_accumulator_value``.  Defaults as Keras's (learning_rate=0.001,
    initial_accumulator_value=0.1, epsilon=1e-7)."""

    _hyper = {"initial_accumulator_value": nonneg, "epsilon": positive, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(initial_accumulator_value=initial_accumulator_value,
                              epsilon=epsilon, weight_decay=weight_decay), **kwargs)

    def _init_state(self, data):
        return {"acc": np.full_like(data, self.initial_accumulator_value)}

    def _update(self, data, grad, st, h):
        kernels.adagrad_update(data, grad, st["acc"], h["lr"], h["epsilon"], h["weight_decay"])


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), the form of PyTorch's and Keras's ``Adadelta``::

        g = grad + weight_decay * p;  v = rho v + (1 - rho) g**2
        d = sqrt(u + epsilon) / sqrt(v + epsilon) * g;  u = rho u + (1 - rho) d**2
        p -= lr d

    Defaults as Keras's (learning_rate=0.001, rho=0.95, epsilon=1e-7)."""

    _hyper = {"rho": unit, "epsilon": positive, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 rho: float = 0.95, epsilon: float = 1e-7, weight_decay: float = 0.0,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(rho=rho, epsilon=epsilon, weight_decay=weight_decay), **kwargs)

    def _init_state(self, data):
        return {"v": np.zeros_like(data), "u": np.zeros_like(data)}

    def _update(self, data, grad, st, h):
        kernels.adadelta_update(data, grad, st["v"], st["u"], h["lr"], h["rho"], h["epsilon"],
                                h["weight_decay"])
