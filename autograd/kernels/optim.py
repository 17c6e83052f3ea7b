"""Optimizer updates, in place.  numpy twins (the reference and the fallback)."""
from __future__ import annotations

import numpy as np

__all__ = ["sgd_update_np", "adam_update_np", "rmsprop_update_np", "adagrad_update_np",
           "adadelta_update_np", "adamax_update_np", "nadam_update_np", "lion_update_np"]


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


def adagrad_update_np(param, grad, acc, lr, epsilon, weight_decay=0.0):
    """Adagrad (PyTorch's form): g = grad + wd p;  acc += g^2;  p -= lr g / (sqrt(acc) + eps)."""
    g = grad
    if weight_decay:
        g = g + weight_decay * param
    acc += g * g
    param -= lr * g / (np.sqrt(acc) + epsilon)


def adadelta_update_np(param, grad, v, u, lr, rho, epsilon, weight_decay=0.0):
    """Adadelta (Zeiler 2012; PyTorch's and Keras's form): g = grad + wd p;
    v = rho v + (1 - rho) g^2;  d = sqrt(u + eps) / sqrt(v + eps) g;
    u = rho u + (1 - rho) d^2;  p -= lr d."""
    g = grad
    if weight_decay:
        g = g + weight_decay * param
    v *= rho
    v += (1.0 - rho) * (g * g)
    d = np.sqrt(u + epsilon) / np.sqrt(v + epsilon) * g
    u *= rho
    u += (1.0 - rho) * (d * d)
    param -= lr * d


def adamax_update_np(param, grad, m, u, step, lr, beta_1, beta_2, epsilon, weight_decay=0.0):
    """Adamax (Kingma & Ba, section 7; PyTorch's form): g = grad + wd p;
    m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);  p -= lr / (1 - b1^t) m / u."""
    g = grad
    if weight_decay:
        g = g + weight_decay * param
    m *= beta_1
    m += (1.0 - beta_1) * g
    np.maximum(beta_2 * u, np.abs(g) + epsilon, out=u)
    param -= (lr / (1.0 - beta_1 ** step)) * m / u


def nadam_update_np(param, grad, m, v, step, mu_t, mu_next, mu_prod, lr, beta_1, beta_2,
                    epsilon, weight_decay=0.0):
    """Nadam (Dozat 2016; PyTorch's NAdam and Keras's Nadam): g = grad + wd p;
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  v_hat = v / (1 - b2^t);
    p -= lr ((1 - mu_t) / (1 - mu_prod) g + mu_next / (1 - mu_prod mu_next) m)
         / (sqrt(v_hat) + eps)
    with mu_t = b1 (1 - 0.5 * 0.96^(0.004 t)) and mu_prod the product of mu_1..mu_t."""
    g = grad
    if weight_decay:
        g = g + weight_decay * param
    m *= beta_1
    m += (1.0 - beta_1) * g
    v *= beta_2
    v += (1.0 - beta_2) * (g * g)
    denom = np.sqrt(v / (1.0 - beta_2 ** step)) + epsilon
    param -= lr * ((1.0 - mu_t) / (1.0 - mu_prod)) * g / denom
    param -= lr * (mu_next / (1.0 - mu_prod * mu_next)) * m / denom


def lion_update_np(param, grad, m, lr, beta_1, beta_2, weight_decay=0.0):
    """Lion (Chen et al. 2023; Keras's form): p -= lr wd p (decoupled);
    p -= lr sign(b1 m + (1 - b1) g);  m = b2 m + (1 - b2) g."""
    if weight_decay:
        param -= (lr * weight_decay) * param
    param -= lr * np.sign(beta_1 * m + (1.0 - beta_1) * grad)
    m *= beta_2
    m += (1.0 - beta_2) * grad
