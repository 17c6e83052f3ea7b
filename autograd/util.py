"""HIPS autograd's ``autograd.util``: ``quick_grad_check`` (deprecated there too) and
``subvals``."""
from __future__ import annotations

import warnings
from typing import Any, Callable

__all__ = ["quick_grad_check", "subvals"]


def subvals(x: tuple, ivs) -> tuple:
    """``x`` with ``x[i] = v`` for each ``(i, v)`` in ``ivs``."""
    out = list(x)
    for i, v in ivs:
        out[i] = v
    return tuple(out)


def quick_grad_check(fun: Callable, arg0: Any, extra_args: tuple = (), kwargs: Any = None,
                     verbose: bool = True, eps: float = 1e-4, rtol: float = 1e-4,
                     atol: float = 1e-6, rs: Any = None) -> None:
    """Deprecated (as in HIPS): use ``autograd.test_util.check_grads``.  Checks the gradient
    of ``fun`` w.r.t. ``arg0`` in reverse mode, first order."""
    warnings.warn("quick_grad_check is deprecated; use autograd.test_util.check_grads",
                  DeprecationWarning, stacklevel=2)
    from .test_util import check_grads
    kwargs = kwargs or {}
    check_grads(lambda x: fun(x, *extra_args, **kwargs), modes=["rev"], order=1)(arg0)
    if verbose:
        print("Gradient projection OK (numeric and analytic agree).")
