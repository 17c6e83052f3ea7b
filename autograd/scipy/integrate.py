"""``autograd.scipy.integrate.odeint``: scipy's ODE solver, differentiable by the adjoint method.

``odeint(func, y0, t, args=(), **kwargs)`` is scipy's call (LSODA through
``scipy.integrate.odeint``) with gradients in the initial state ``y0``, the time points ``t``
and every array in ``args``.  ``func(y, t, *args)`` is written with this library's functions
(``autograd.numpy`` or the ops in ``autograd``), so the backward pass can ask it for
vector-Jacobian products.

The backward pass solves the adjoint system backwards in time, from each time point to the
one before it, with the same solver and tolerances as the forward: for ``L = sum_i <g_i, y(t_i)>``

    dy/ds = f(y, s),   da/ds = -a df/dy,   dl/ds = -a df/dargs        (s from t_i down to t_{i-1})

starting from ``a = g_N``, ``l = 0`` and adding ``g_i`` to ``a`` at every ``t_i``; then
``dL/dy0 = a(t_0)``, ``dL/dargs = l(t_0)``, ``dL/dt_i = <g_i, f(y_i, t_i)>`` for ``i > 0``
and ``dL/dt_0 = -<a(t_0^+), f(y_0, t_0)>`` (the adjoint before ``g_0`` is added).  The
backward is written with the library's own operations, ``odeint`` included, so it can itself
be differentiated (second-order gradients solve a nested adjoint system; they are slow).

The gradient is that of the exact solution; the computed one carries the solver's error, so
tighten ``rtol``/``atol`` (for example to 1e-10) when comparing with finite differences.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import scipy.integrate as _sint

from ..errors import GraphError, InvalidValueError, ShapeError, ArgumentTypeError
from ..registry import primitive
from ..tensor import Tensor
from ..ops.shape import concatenate, getitem, reshape, stack, identity, astype
from ..ops.reduce import sum as _sum
from ..ops._util import data_of
from .. import graph as _graph

__all__ = ["odeint"]

#: scipy.integrate.odeint's options that change what it returns or what ``func`` is
#: (the backward pass could not honour them): refused.
_REFUSED = ("Dfun", "col_deriv", "full_output", "ml", "mu", "tfirst")


def odeint(func: Callable, y0: Any, t: Any, args: Any = (), **kwargs: Any) -> Any:
    """Solve ``dy/dt = func(y, t, *args)`` from ``y(t[0]) = y0``; the values at every ``t``.

    Parameters
    ----------
    func : callable ``func(y, t, *args) -> dy/dt``, shape-(D,) in and out, written with this
        library's functions (it is called on ndarrays forward and on tensors backward).
    y0 : shape-(D,) or 0-d, float
    t : shape-(T,), float, monotonic (``t[0]`` is the initial time)
    args : tuple of arrays/numbers (a single non-tuple value is taken as ``(args,)``, as scipy
        does)
    **kwargs : scipy.integrate.odeint's options (``rtol``, ``atol``, ``mxstep``, ``hmax``,
        ``hmin``, ``h0``, ``tcrit``, ``mxordn``, ``mxords``, ...), used forward and backward.

    Returns
    -------
    shape-(T, D) float64: ``y`` at each time point (row 0 is ``y0``).
    """
    bad = [k for k in _REFUSED if k in kwargs]
    if bad:
        raise InvalidValueError(f"odeint: option(s) {', '.join(bad)} are not supported here "
                                f"(the adjoint backward pass integrates its own system)")
    if not callable(func):
        raise ArgumentTypeError(f"odeint: func must be callable, got {type(func).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    return _odeint(y0, t, *args, func=func, **kwargs)


def _call(func: Callable, y, s, args) -> Any:
    """func(y, s, *args) for scipy (ndarrays in, an ndarray out), refusing a result that
    carries a graph: a tensor closed over inside ``func`` would lose its gradient."""
    out = func(y, s, *args)
    if isinstance(out, Tensor):
        if out.requires_grad:
            raise GraphError("odeint: func returned a tensor that requires grad when called "
                             "on plain arrays: it closes over a tensor, whose gradient odeint "
                             "cannot follow; pass such tensors through args=")
        out = out._data
    return out


@primitive(name="odeint", domain=[None], library=False)
def _odeint(y0, t, *args, func=None, **kwargs):
    """The primitive behind :func:`odeint`: y0 (D,) or 0-d, t (T,), then the args."""
    if np.ndim(y0) > 1:
        raise ShapeError(f"odeint: y0 must be 0-d or 1-d, got shape {np.shape(y0)}")
    if np.ndim(t) != 1 or np.shape(t)[0] < 1:
        raise ShapeError(f"odeint: t must be 1-d with at least one time point, got shape "
                         f"{np.shape(t)}")
    t = np.asarray(t, dtype=np.float64)
    d = np.diff(t)
    if not (np.all(d > 0) or np.all(d < 0)):
        raise InvalidValueError("odeint: t must be strictly increasing or strictly decreasing")
    with warnings.catch_warnings():        # its failure warning: raised as an error below
        warnings.simplefilter("ignore", _sint.ODEintWarning)
        y, info = _sint.odeint(lambda y, s, *a: _call(func, y, s, a), np.asarray(y0, np.float64),
                               t, args=tuple(np.asarray(a) for a in args), full_output=True,
                               **kwargs)
    if len(t) > 1 and info["message"] != "Integration successful.":
        raise InvalidValueError(f"odeint: the solver failed: {info['message']} (y0 shape "
                                f"{np.shape(y0)}, t from {t[0]} to {t[-1]}; try a larger "
                                f"mxstep or looser rtol/atol)")
    return y


def _flat(args) -> Any:
    """The args as one 1-d vector (a zero-length one when there are none)."""
    if not args:
        return np.zeros(0)
    return concatenate([reshape(a, (-1,)) for a in args])


def _unflat(flat, shapes) -> list:
    out, k = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(reshape(getitem(flat, slice(k, k + n)), s))
        k += n
    return out


def _augmented(func: Callable, D: int, shapes: list) -> Callable:
    """The adjoint system's right-hand side on the state [y, a, l] (sizes D, D, P)."""
    from ..transforms import make_vjp

    def aug(state, s, flat):
        if not any(isinstance(v, Tensor) for v in (state, s, flat)):
            return _aug_plain(func, D, shapes, state, s, flat)
        y, a = getitem(state, slice(0, D)), getitem(state, slice(D, 2 * D))
        vjp, f = make_vjp(lambda yy, th: func(yy, s, *th), (0, 1))(y, _unflat(flat, shapes))
        gy, gth = vjp(-a)                               # -a df/dy, -a df/dargs
        parts = [reshape(f, (-1,)), reshape(gy, (-1,))] + [reshape(x, (-1,)) for x in gth]
        return concatenate(parts)
    return aug


def _aug_plain(func: Callable, D: int, shapes: list, state, s, flat) -> np.ndarray:
    """``aug`` on plain arrays (scipy's callback): one recorded call of func and one backward
    straight through the engine, without the nesting logic of make_vjp (the hot path)."""
    leaves, k = [state[:D]], 0
    for shp in shapes:
        n = int(np.prod(shp))
        leaves.append(flat[k:k + n].reshape(shp))
        k += n
    with _graph.enable_grad():           # backward(inputs=) wants non-leaf tensors
        ins = [identity(Tensor(v, requires_grad=True)) for v in leaves]
        f = func(ins[0], s, *ins[1:])
    if isinstance(f, Tensor) and f._node is not None:
        gs = _graph.backward(f, -state[D:2 * D].reshape(f.shape), inputs=ins)
        parts = [np.zeros(np.size(v)) if g is None else np.asarray(data_of(g)).reshape(-1)
                 for g, v in zip(gs, leaves)]
    else:                                  # func ignores y and args: no graph
        parts = [np.zeros(np.size(v)) for v in leaves]
    f = data_of(f)
    return np.concatenate([np.reshape(f, -1)] + parts)


@_odeint.defvjp
def _odeint_vjp(g, out, y0, t, *args, func=None, **kwargs):
    # adjoint: solve [y, a, l] backwards between consecutive time points (see module doc)
    n_t, D = out.shape
    shapes = [np.shape(a) for a in args]
    flat = _flat(args)
    if data_of(flat).dtype.kind != "f":               # integer args: a float vector
        flat = astype(flat, np.float64)
    aug = _augmented(func, D, shapes)
    a, lam = getitem(g, n_t - 1), flat * 0.0
    gts = []
    for i in range(n_t - 1, 0, -1):
        yi = getitem(out, i)
        gts.append(_sum(getitem(g, i) * func(yi, getitem(t, i), *args)))
        ts = stack([getitem(t, i), getitem(t, i - 1)])
        back = getitem(_odeint(concatenate([yi, a, lam]), ts, flat, func=aug, **kwargs), 1)
        a0 = getitem(back, slice(D, 2 * D))
        a, lam = a0 + getitem(g, i - 1), getitem(back, slice(2 * D, None))
    if n_t == 1:
        a0 = a * 0.0
    y_0 = reshape(getitem(out, 0), (D,))
    gts.append(-_sum(a0 * func(y_0, getitem(t, 0), *args)))
    gt = stack(gts[::-1])
    return (reshape(a, np.shape(y0)), gt) + tuple(_unflat(lam, shapes))
