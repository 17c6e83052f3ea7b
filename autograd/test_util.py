"""HIPS autograd's ``autograd.test_util``: ``check_grads``, ``combo_check``,
``check_equivalent``, ``scalar_close``, with HIPS's tolerances and meanings.

``check_grads(f, modes=['fwd', 'rev'], order=2)(*args)`` compares, along a random direction,
the vjp (reverse) and jvp (forward; here the double-vjp trick) with a central difference of
step ``EPS``, then checks the derivative functions themselves up to ``order``.  The
library's own ``autograd.gradcheck`` (element-wise, float64, torch-like tolerances) is the
house tool; this is for code written against HIPS.
"""
from __future__ import annotations

from itertools import product
from typing import Any, Callable

import numpy as np

from .core import make_jvp, make_vjp, vspace, getval
from .errors import GradcheckError
from .wrap_util import get_name, unary_to_nary

__all__ = ["check_grads", "combo_check", "check_equivalent", "scalar_close",
           "TOL", "RTOL", "EPS"]

TOL = 1e-6
RTOL = 1e-6
EPS = 1e-6


def scalar_close(a: Any, b: Any) -> bool:
    """Equal to absolute ``TOL`` or relative ``RTOL``."""
    a, b = float(np.real(getval(a))), float(np.real(getval(b)))
    return abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL


def _numerical_jvp(f: Callable, x: Any) -> Callable:
    y = f(x)
    xs, ys = vspace(x), vspace(y)

    def jvp(v):
        plus = f(xs.add(x, xs.scalar_mul(v, EPS / 2)))
        minus = f(xs.add(x, xs.scalar_mul(v, -EPS / 2)))
        return ys.scalar_mul(ys.add(plus, ys.scalar_mul(minus, -1.0)), 1.0 / EPS)
    return jvp


def _check_vjp(f: Callable, x: Any) -> None:
    vjp, y = make_vjp(f, x)
    xs, ys = vspace(x), vspace(y)
    xv, yv = xs.randn(), ys.randn()
    exact = xs.inner_prod(xv, xs.covector(vjp(ys.covector(yv))))
    numeric = ys.inner_prod(yv, _numerical_jvp(f, x)(xv))
    if not scalar_close(numeric, exact):
        raise GradcheckError(f"Derivative (VJP) check of {get_name(f)} failed with arg {x}:\n"
                             f"analytic: {exact}\nnumeric:  {numeric}")


def _check_jvp(f: Callable, x: Any) -> None:
    xv = vspace(x).randn()
    check_equivalent(make_jvp(f, x)(xv)[1], _numerical_jvp(f, x)(xv))


def check_equivalent(x: Any, y: Any) -> None:
    """Same vector space and the same inner product with a random vector."""
    xs, ys = vspace(x), vspace(y)
    if xs.shapes != ys.shapes or xs.spec != ys.spec:
        raise GradcheckError(f"VSpace mismatch:\nx: {xs}\ny: {ys}")
    v = xs.randn()
    if not scalar_close(xs.inner_prod(x, v), xs.inner_prod(y, v)):
        raise GradcheckError(f"Value mismatch:\nx: {x}\ny: {y}")


@unary_to_nary
def check_grads(f: Callable, x: Any, modes: Any = None, order: int = 2) -> None:
    """Check ``f``'s derivatives w.r.t. argument ``argnum`` at ``x``; raises
    :class:`~autograd.errors.GradcheckError` (an AssertionError) on a mismatch."""
    modes = ["fwd", "rev"] if modes is None else list(modes)
    if not all(m in ("fwd", "rev") for m in modes):
        raise GradcheckError(f"check_grads: modes must be 'fwd' and/or 'rev', got {modes}")
    if "fwd" in modes:
        _check_jvp(f, x)
        if order > 1:
            def jvp_f(x, v):
                return make_jvp(f, x)(v)[1]
            jvp_f.__name__ = f"jvp_{get_name(f)}"
            check_grads(jvp_f, (0, 1), modes, order=order - 1)(x, vspace(x).randn())
    if "rev" in modes:
        _check_vjp(f, x)
        if order > 1:
            def vjp_f(x, v):
                return make_vjp(f, x)[0](v)
            vjp_f.__name__ = f"vjp_{get_name(f)}"
            check_grads(vjp_f, (0, 1), modes, order=order - 1)(x, vspace(f(x)).randn())


def combo_check(fun: Callable, *args: Any, **kwargs: Any) -> Callable:
    """``combo_check(fun, argnums, modes=..., order=...)(arg_choices..., kw=choices)``:
    ``check_grads`` on every combination of the given argument and keyword values."""
    def run(*arg_choices: Any, **kw_choices: Any) -> None:
        kv = [[(k, v) for v in vs] for k, vs in kw_choices.items()]
        for a in product(*arg_choices):
            for k in product(*kv):
                check_grads(fun, *args, **kwargs)(*a, **dict(k))
    return run
