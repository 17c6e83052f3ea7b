"""The Adam family: Adam, AdamW, Adamax, Nadam."""
from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

from autograd import kernels

from .base import Optimizer, nonneg, positive, unit

__all__ = ["Adam", "AdamW", "Adamax", "Nadam"]



class Adam(Optimizer):
    """Adam, Algorithm 1 of Kingma & Ba (2015), t counting steps from 1 (PyTorch's and
    Keras's ``Adam``, epsilon outside the square root)::

        g = grad + weight_decay * p          (L2 penalty; see AdamW for decoupled decay)
        m = beta_1 m + (1 - beta_1) g;       v = beta_2 v + (1 - beta_2) g**2
        m_hat = m / (1 - beta_1**t);         v_hat = v / (1 - beta_2**t)
        p -= lr * m_hat / (sqrt(v_hat) + epsilon)
    """

    _decoupled = False
    _hyper = {"beta_1": unit, "beta_2": unit, "epsilon": positive, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                              weight_decay=weight_decay), **kwargs)

    def _init_state(self, data):
        return {"m": np.zeros_like(data), "v": np.zeros_like(data), "t": 0}

    def _update(self, data, grad, st, h):
        kernels.adam_update(data, grad, st["m"], st["v"], st["t"] + 1, h["lr"], h["beta_1"],
                            h["beta_2"], h["epsilon"], h["weight_decay"], self._decoupled)
        st["t"] += 1                            # counted once m and v hold step t


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's ``AdamW``): first
    ``p -= lr * weight_decay * p``, then the Adam step on the plain gradient.
    Defaults as Keras's AdamW (weight_decay=0.004)."""

    _decoupled = True

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float = 0.004, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)


class Adamax(Optimizer):
    """Adamax, section 7 of Kingma & Ba (2015), PyTorch's ``Adamax`` form (epsilon inside
    the max)::

        g = grad + weight_decay * p
        m = beta_1 m + (1 - beta_1) g;       u = max(beta_2 u, |g| + epsilon)
        p -= lr / (1 - beta_1**t) * m / u

    Defaults as Keras's (learning_rate=0.001, epsilon=1e-7)."""

    _hyper = {"beta_1": unit, "beta_2": unit, "epsilon": positive, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                              weight_decay=weight_decay), **kwargs)

    def _init_state(self, data):
        return {"m": np.zeros_like(data), "u": np.zeros_like(data), "t": 0}

    def _update(self, data, grad, st, h):
        kernels.adamax_update(data, grad, st["m"], st["u"], st["t"] + 1, h["lr"], h["beta_1"],
                              h["beta_2"], h["epsilon"], h["weight_decay"])
        st["t"] += 1


class Nadam(Optimizer):
    """Nadam (Dozat 2016): Adam with Nesterov momentum and the momentum schedule
    ``mu_t = beta_1 (1 - 0.5 * 0.96**(0.004 t))``, as PyTorch's ``NAdam`` (momentum_decay
    0.004) and Keras's ``Nadam``::

        g = grad + weight_decay * p
        m = beta_1 m + (1 - beta_1) g;       v = beta_2 v + (1 - beta_2) g**2
        P_t = mu_1 ... mu_t;                 v_hat = v / (1 - beta_2**t)
        p -= lr * ((1 - mu_t) / (1 - P_t) g + mu_{t+1} / (1 - P_t mu_{t+1}) m)
                / (sqrt(v_hat) + epsilon)
    """

    _hyper = {"beta_1": unit, "beta_2": unit, "epsilon": positive, "weight_decay": nonneg}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(params, learning_rate, clipnorm, clipvalue, global_clipnorm, name,
                         dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                              weight_decay=weight_decay), **kwargs)

    def _init_state(self, data):
        return {"m": np.zeros_like(data), "v": np.zeros_like(data), "t": 0, "mu_prod": 1.0}

    def _update(self, data, grad, st, h):
        t = st["t"] + 1
        b1 = h["beta_1"]
        mu_t = b1 * (1.0 - 0.5 * 0.96 ** (0.004 * t))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** (0.004 * (t + 1)))
        mu_prod = st["mu_prod"] * mu_t
        kernels.nadam_update(data, grad, st["m"], st["v"], t, mu_t, mu_next, mu_prod, h["lr"],
                             b1, h["beta_2"], h["epsilon"], h["weight_decay"])
        st["t"], st["mu_prod"] = t, mu_prod
