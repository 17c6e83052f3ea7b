"""Lion (sign of an interpolated momentum)."""
from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

from autograd import kernels

from .base import Optimizer, nonneg, unit

__all__ = ["Lion"]


class Lion(Optimizer):
    """Lion, Algorithm 2 of Chen et al. (2023), Keras's ``Lion`` form (decoupled decay)::

        p -= lr * weight_decay * p
        p -= lr * sign(beta_1 m + (1 - beta_1) g);   m = beta_2 m + (1 - beta_2) g

    Defaults as Keras's (learning_rate=0.001, beta_1=0.9, beta_2=0.99).  Its steps are as
    large as lr in every coordinate: use a learning rate 3-10x smaller than Adam's."""

    _hyper = {"beta_1": unit, "beta_2": unit, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.99, weight_decay: float = 0.0,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(beta_1=beta_1, beta_2=beta_2, weight_decay=weight_decay),
                         **kwargs)

    def _init_state(self, data):
        return {"m": np.zeros_like(data)}

    def _update(self, data, grad, st, h):
        kernels.lion_update(data, grad, st["m"], h["lr"], h["beta_1"], h["beta_2"],
                            h["weight_decay"])
