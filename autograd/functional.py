"""Functional API: ``grad``, ``value_and_grad``, ``hvp``.

``grad(f)`` returns a function computing df/dx.  Nesting works (``grad(grad(f))``): when a
grad-function is called while an outer one evaluates its function (so the outer variable
may reach it as an argument or through a closure), or an argument already requires grad,
the inner backward is recorded (``create_graph``) so the outer one can differentiate it.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Sequence, Union

import numpy as np

from . import graph as _graph
from .errors import GraphError, IndexOutOfRangeError
from .tensor import Tensor
from .ops.shape import identity

__all__ = ["grad", "value_and_grad", "hvp"]


class _Nesting(threading.local):
    depth = 0   # how many grad-functions are evaluating their ``fun`` in this thread


_NESTING = _Nesting()


def _prepare(args: list, argnums: tuple) -> tuple[list, list, bool]:
    # Nested when called while an outer grad evaluates its function (the outer variable may
    # reach us as another argument or through a closure), or when a differentiated argument
    # already requires grad: then the inner backward is recorded for the outer one.
    targets = []
    nested = _graph.MODE.grad and (_NESTING.depth > 0 or any(
        isinstance(a, Tensor) and a._rg for a in args))
    for k in argnums:
        if not -len(args) <= k < len(args):
            raise IndexOutOfRangeError(f"grad: argnum {k} out of range for {len(args)} arguments")
        a = args[k]
        if isinstance(a, Tensor) and a._rg and _graph.MODE.grad:
            leaf = a
        else:
            data = a._data if isinstance(a, Tensor) else np.asarray(a)
            if data.dtype.kind != "f":
                data = data.astype(np.float64)
            leaf = Tensor(data, requires_grad=True)
        with _graph.enable_grad():
            t = identity(leaf)
        args[k] = t
        targets.append(t)
    return args, targets, nested


def value_and_grad(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """A function returning ``(fun(*args), gradient of fun w.r.t. args[argnum])``.

    fun : returns a single-element tensor (the gradient of a non-scalar needs a seed: use
          ``backward(grad)``).
    argnum : int or tuple of ints; a tuple gives a tuple of gradients.
    Arguments may be tensors, arrays or scalars.  Gradients are ndarrays of each argument's
    shape (Tensors when nested inside another grad, so they can be differentiated again).
    """
    multi = not isinstance(argnum, int)
    argnums = tuple(argnum) if multi else (argnum,)

    def wrapped(*args: Any, **kwargs: Any):
        args_l, targets, nested = _prepare(list(args), argnums)
        _NESTING.depth += 1
        try:
            with _graph.enable_grad():
                out = fun(*args_l, **kwargs)
        finally:
            _NESTING.depth -= 1
        if not isinstance(out, Tensor):
            out = Tensor(out)
        if out.size != 1:
            raise GraphError(f"grad: the function must return a single value, got shape {out.shape}")
        if out._node is None:
            gs = [None] * len(targets)
        else:
            gs = _graph.backward(out, None, retain_graph=nested, create_graph=nested, inputs=targets)
        res = []
        for t, g in zip(targets, gs):
            if g is None:
                g = np.zeros_like(t._data)
                g = Tensor._make(g) if nested else g
            elif not nested and isinstance(g, Tensor):
                g = g._data
            res.append(g)
        value = out if nested else out._data
        return value, (tuple(res) if multi else res[0])

    wrapped.__name__ = f"value_and_grad({getattr(fun, '__name__', 'fun')})"
    wrapped.__doc__ = fun.__doc__
    return wrapped


def grad(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """The gradient function of ``fun`` w.r.t. argument ``argnum`` (see ``value_and_grad``).

    >>> import autograd as ag
    >>> ag.grad(lambda x: (x ** 3).sum())(2.0)        # 3 x^2
    array(12.)
    >>> ag.grad(ag.grad(lambda x: x ** 3))(2.0)       # 6 x
    array(12.)
    """
    vg = value_and_grad(fun, argnum)

    def wrapped(*args: Any, **kwargs: Any):
        return vg(*args, **kwargs)[1]

    wrapped.__name__ = f"grad({getattr(fun, '__name__', 'fun')})"
    wrapped.__doc__ = fun.__doc__
    return wrapped


def hvp(fun: Callable, argnum: int = 0) -> Callable:
    """``hvp(fun)(*args, v)``: the Hessian of scalar ``fun`` at args, times ``v`` (shape of the
    argument), by differentiating <grad fun, v> (forward-over-reverse is not needed)."""
    def wrapped(*args: Any):
        *xs, v = args
        vd = v._data if isinstance(v, Tensor) else np.asarray(v)

        def inner(*a):
            from .ops import sum as _sum
            return _sum(grad(fun, argnum)(*a) * vd)
        return grad(inner, argnum)(*xs)
    return wrapped
