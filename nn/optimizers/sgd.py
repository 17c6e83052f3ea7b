"""SGD with momentum (PyTorch's form)."""
from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

import autograd as ag
from autograd import kernels

from .base import Optimizer, flag, nonneg

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's ``torch.optim.SGD`` form of momentum.

    ``g = grad + weight_decay * p``;  with momentum mu: ``v = mu v + g`` and
    ``p -= lr * (g + mu v)`` (nesterov) or ``p -= lr * v``;  without: ``p -= lr * g``.
    (Keras's ``v = mu v - lr g; p += v`` is the same for a constant learning rate.)
    weight_decay is the L2 form (added to the gradient), as PyTorch's.
    """

    _hyper = {"momentum": nonneg, "nesterov": flag, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.01,
                 momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(momentum=momentum, nesterov=nesterov, weight_decay=weight_decay),
                         **kwargs)

    def _check_hyper(self, h):
        if h["nesterov"] and not h["momentum"]:
            raise ag.InvalidValueError("SGD: nesterov=True needs momentum > 0")

    def _init_state(self, data):
        return {"velocity": np.zeros_like(data) if self.momentum else None}

    def _plain_lrs(self, hs):
        mode = kernels.MODE
        if (mode != "numpy" and mode != "auto") or type(self)._update is not SGD._update:
            return None, 0                      # (a subclass's own update always runs)
        lrs = [h["lr"] if not h["momentum"] and not h["weight_decay"] and type(h["lr"]) is float
               else None for h in hs]
        return lrs, (kernels.NEVER if mode == "numpy" else kernels.SGD_MIN)

    def _update(self, data, grad, st, h):
        lr = h["lr"]
        if not h["momentum"] and not h["weight_decay"] and type(lr) is float \
                and grad.dtype is data.dtype and data.dtype in kernels._FLOATS \
                and (kernels.MODE == "numpy" or (kernels.MODE == "auto"
                                                 and data.size < kernels.SGD_MIN)):
            # the plain step (``kernels.sgd_update``'s numpy path, two calls less): ``step``
            # gave a C-contiguous writeable parameter and a gradient of its shape and dtype
            data -= lr * grad
            return
        v = st["velocity"]
        if h["momentum"] and v is None:         # momentum switched on after the first step
            v = st["velocity"] = np.zeros_like(data)
        kernels.sgd_update(data, grad, v, h["lr"], h["momentum"], h["nesterov"],
                           h["weight_decay"])
