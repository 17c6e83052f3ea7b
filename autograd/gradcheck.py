"""Finite-difference gradient checks, public: ``gradcheck`` and ``gradgradcheck``.

Non-scalar outputs are reduced by a random projection: with ``v`` a fixed-seed normal
vector of the output's shape, the analytic side is one backward with seed ``v`` and the
numeric side is the central difference of ``<f(x), v>`` for every input element.  The
probability that a wrong Jacobian passes under a random ``v`` is zero in exact arithmetic;
a second projection is drawn as well to make near-cancellations harmless.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import graph as _graph
from .errors import GradcheckError, GraphError
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "numeric_grad"]


def _as64(a: Any) -> Any:
    if isinstance(a, Tensor):
        d = a._data
        if d.dtype.kind == "f":
            return Tensor(np.array(d, dtype=np.float64), requires_grad=a._rg)
        return a
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return np.array(a, dtype=np.float64)
    return a


def _project(out: Any, v: np.ndarray) -> float:
    d = out._data if isinstance(out, Tensor) else np.asarray(out)
    return float(np.sum(d.astype(np.float64) * v))


def numeric_grad(fn: Callable, inputs: list, i: int, v: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of ``<fn(*inputs), v>`` w.r.t. every element of ``inputs[i]``."""
    x = inputs[i]
    data = x._data
    num = np.zeros(data.shape, dtype=np.float64)
    flat = data.reshape(-1)  # data is a fresh float64 copy, so this is a view
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        fp = _project(fn(*inputs), v)
        flat[j] = old - eps
        fm = _project(fn(*inputs), v)
        flat[j] = old
        num.reshape(-1)[j] = (fp - fm) / (2 * eps)
    return num


def gradcheck(fn: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check ``fn``'s analytic gradients against central finite differences, in float64.

    fn : callable taking ``*inputs`` and returning a Tensor (any shape).
    inputs : Tensors (those with ``requires_grad=True`` are checked) and other arguments.
        Float inputs are checked in float64 copies: a float32 function is checked at
        float64 precision (finite differences in float32 would be mostly rounding noise),
        so this tests the math, not float32 rounding.
    Passes when ``|analytic - numeric| <= atol + rtol * |numeric|`` for every element.
    Returns True, or raises GradcheckError naming the input, the element, both values and
    the largest error (returns False instead with ``raise_exception=False``).
    """
    xs = [_as64(a) for a in inputs]
    check = [i for i, a in enumerate(xs) if isinstance(a, Tensor) and a._rg]
    if not check:
        raise GraphError("gradcheck: no input requires grad; pass Tensor(..., requires_grad=True)")
    rng = np.random.default_rng(seed)
    with _graph.enable_grad():
        out = fn(*xs)
        if not isinstance(out, Tensor):
            raise GraphError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        for _ in range(2):
            v = rng.standard_normal(out.shape)
            for i in check:
                xs[i].grad = None
            if out._node is not None:
                out.backward(v.astype(out.dtype) if out.dtype.kind == "f" else v, retain_graph=True)
            for i in check:
                a = xs[i].grad
                a = np.zeros(xs[i].shape) if a is None else np.asarray(a._data if isinstance(a, Tensor) else a)
                n = numeric_grad(fn, xs, i, v, eps)
                err = np.abs(a - n)
                bad = err > atol + rtol * np.abs(n)
                if bad.any():
                    j = np.unravel_index(int(np.argmax(np.where(bad, err, -1))), n.shape) if n.ndim else ()
                    msg = (f"gradcheck: gradient of input {i} (shape {n.shape}) is wrong at index "
                           f"{tuple(int(k) for k in j)}: analytic {a[j]!r}, numeric {n[j]!r}; largest "
                           f"error {err.max():.3g} (atol={atol}, rtol={rtol})")
                    if raise_exception:
                        raise GradcheckError(msg)
                    return False
    return True


def gradgradcheck(fn: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second derivatives: ``gradcheck`` of ``x -> <d<fn(x), v>/dx, u>``.

    ``v`` (output-shaped) and ``u`` (input-shaped) are fixed-seed random; the first gradient
    is taken with ``create_graph=True``, so this checks that every vjp on the way is itself
    correctly differentiable.  Same tolerances and float64 note as ``gradcheck``.
    """
    from .ops.shape import identity
    from .ops.reduce import sum as _sum

    xs = [_as64(a) for a in inputs]
    check = [i for i, a in enumerate(xs) if isinstance(a, Tensor) and a._rg]
    if not check:
        raise GraphError("gradgradcheck: no input requires grad")
    rng = np.random.default_rng(seed + 1)
    with _graph.enable_grad():
        shape_out = fn(*xs).shape
    v = rng.standard_normal(shape_out)
    us = {i: rng.standard_normal(xs[i].shape) for i in check}

    def first_grads_dot_u(*args):
        args = list(args)
        marks = []
        for i in check:
            args[i] = identity(args[i])
            marks.append(args[i])
        out = fn(*args)
        s = _sum(out * v)
        gs = _graph.backward(s, None, retain_graph=True, create_graph=True, inputs=marks)
        total = None
        for i, g in zip(check, gs):
            if g is None:
                continue
            term = _sum(g * us[i])
            total = term if total is None else total + term
        return total if total is not None else Tensor(0.0)

    return gradcheck(first_grads_dot_u, *xs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed + 2)
