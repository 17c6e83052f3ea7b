"""PyTorch's gradient clipping helpers: they rewrite ``p.grad``."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

import autograd as ag

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Any, where: str) -> list:
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    if isinstance(parameters, ag.Tensor):
        parameters = [parameters]
    out = []
    for p in parameters:
        if not isinstance(p, ag.Tensor):
            raise ag.ArgumentTypeError(f"{where}: parameters must be Tensors, got "
                                       f"{type(p).__name__}")
        if p.grad is not None:
            out.append(p)
    return out


def clip_grad_norm_(parameters: Iterable, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale every gradient by ``max_norm / (total_norm + 1e-6)`` when that is below 1, where
    total_norm is the ``norm_type``-norm of all gradients together (``inf``: the largest
    magnitude).  Rewrites ``p.grad``; returns the total norm before clipping (PyTorch's
    ``torch.nn.utils.clip_grad_norm_``)."""
    where = "clip_grad_norm_"
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.number)) \
            or not max_norm >= 0:
        raise ag.InvalidValueError(f"{where}: max_norm must be a number >= 0, got {max_norm!r}")
    ps = _grads(parameters, where)
    if not ps:
        return 0.0
    nt = float(norm_type)
    if math.isinf(nt):
        total = max(float(np.max(np.abs(p.grad))) if p.grad.size else 0.0 for p in ps)
    else:
        total = sum(float(np.sum(np.abs(p.grad.astype(np.float64)) ** nt)) for p in ps) ** (1 / nt)
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for p in ps:
            p.grad = p.grad * np.asarray(coef, dtype=p.grad.dtype)
    return total


def clip_grad_value_(parameters: Iterable, clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value] (PyTorch's
    ``torch.nn.utils.clip_grad_value_``)."""
    where = "clip_grad_value_"
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float, np.number)) \
            or not clip_value >= 0:
        raise ag.InvalidValueError(f"{where}: clip_value must be a number >= 0, got "
                                   f"{clip_value!r}")
    for p in _grads(parameters, where):
        p.grad = np.clip(p.grad, -clip_value, clip_value)
