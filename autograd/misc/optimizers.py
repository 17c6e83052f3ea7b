"""HIPS autograd's ``autograd.misc.optimizers``: ``sgd``, ``rmsprop``, ``adam`` over pytrees.

``opt(grad, x0, callback=None, num_iters=..., step_size=..., ...)``: ``grad(x, i)`` returns
the gradient at ``x`` on iteration ``i`` (same structure as ``x``); ``callback(x, i, g)`` is
called before each step.  Returns the final ``x``, structured like ``x0``.  Plain numpy on
the flat vector (the nn package's optimizers are the ones that train layers in place).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .flatten import flatten

__all__ = ["sgd", "rmsprop", "adam", "unflatten_optimizer"]


def unflatten_optimizer(optimize: Callable) -> Callable:
    """An optimizer on flat vectors made to take and return pytrees."""
    def run(grad: Callable, x0: Any, callback: Optional[Callable] = None, *args: Any, **kw: Any):
        flat0, unflatten = flatten(x0)
        fgrad = lambda x, i: np.asarray(flatten(grad(unflatten(x), i))[0])
        cb = (lambda x, i, g: callback(unflatten(x), i, unflatten(g))) if callback else None
        return unflatten(optimize(fgrad, np.asarray(flat0, dtype=np.float64), cb, *args, **kw))
    run.__name__ = optimize.__name__
    run.__doc__ = optimize.__doc__
    return run


@unflatten_optimizer
def sgd(grad, x, callback=None, num_iters=200, step_size=0.1, mass=0.9):
    """SGD with momentum: v = mass v - (1 - mass) g;  x += step_size v."""
    v = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        v = mass * v - (1.0 - mass) * g
        x = x + step_size * v
    return x


@unflatten_optimizer
def rmsprop(grad, x, callback=None, num_iters=100, step_size=0.1, gamma=0.9, eps=1e-8):
    """RMSProp: s = gamma s + (1 - gamma) g^2;  x -= step_size g / (sqrt(s) + eps); s starts at 1."""
    s = np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        s = s * gamma + g ** 2 * (1 - gamma)
        x = x - step_size * g / (np.sqrt(s) + eps)
    return x


@unflatten_optimizer
def adam(grad, x, callback=None, num_iters=100, step_size=0.001, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba): bias-corrected first and second moments."""
    m = np.zeros(len(x))
    v = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g ** 2 + b2 * v
        mhat = m / (1 - b1 ** (i + 1))
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (np.sqrt(vhat) + eps)
    return x
