"""Optimizer updates, in place.  numpy twins (the reference and the fallback)."""
from __future__ import annotations

import numpy as np

__all__ = ["sgd_update_np", "adam_update_np", "rmsprop_update_np"]


def sgd_update_np(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """PyTorch's SGD: g = grad + wd p;  v = mu v + g;  p -= lr (g + mu v if nesterov else v).

    With momentum == 0, ``velocity`` is not touched (may be None): p -= lr g.
    """
    g = grad
    if weight_decay:
        g = g + weight_decay * param
    if momentum:
        velocity *= momentum
        velocity += g
        g = g + momentum * velocity if nesterov else velocity
    param -= lr * g


def adam_update_np(param, grad, m, v, step, lr, beta_1, beta_2, epsilon, weight_decay=0.0,
                   decoupled=False):
    """Adam (Kingma & Ba, Algorithm 1), ``step`` counting from 1.

    L2 (Adam): g = grad + wd p.   Decoupled (AdamW): p -= lr wd p before the Adam step.
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  m_hat = m / (1 - b1^t);
    v_hat = v / (1 - b2^t);  p -= lr m_hat / (sqrt(v_hat) + eps)
    """
    g = grad
    if weight_decay:
        if decoupled:
            param -= (lr * weight_decay) * param
        else:
            g = g + weight_decay * param
    m *= beta_1
    m += (1.0 - beta_1) * g
    v *= beta_2
    v += (1.0 - beta_2) * (g * g)
    m_hat = m / (1.0 - beta_1 ** step)
    v_hat = v / (1.0 - beta_2 ** step)
    param -= lr * m_hat / (np.sqrt(v_hat) + epsilon)


def rmsprop_update_np(param, grad, v, lr, rho, epsilon, weight_decay=0.0):
    """RMSprop: g = grad + wd p;  v = rho v + (1 - rho) g^2;  p -= lr g / (sqrt(v) + eps)."""
    g = grad
    if weight_decay:
        g = g + weight_decay * param
    v *= rho
    v += (1.0 - rho) * (g * g)
    param -= lr * g / (np.sqrt(v) + epsilon)
