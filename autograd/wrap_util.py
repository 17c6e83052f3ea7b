"""HIPS autograd's ``autograd.wrap_util``: ``unary_to_nary`` and ``wraps``."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["unary_to_nary", "wraps", "get_name"]


def get_name(f: Any) -> str:
    return getattr(f, "__name__", "[unknown name]")


def wraps(fun: Callable, namestr: str = "{fun}", docstr: str = "{doc}", **kwargs: Any):
    """A decorator naming the wrapper after ``fun`` (``namestr``/``docstr`` are format
    strings with ``{fun}``, ``{doc}`` and ``kwargs``)."""
    def deco(f: Callable) -> Callable:
        try:
            f.__name__ = namestr.format(fun=get_name(fun), **kwargs)
            f.__doc__ = docstr.format(fun=get_name(fun), doc=getattr(fun, "__doc__", "") or "",
                                      **kwargs)
        except (AttributeError, KeyError, ValueError):
            pass
        return f
    return deco


def unary_to_nary(unary_operator: Callable) -> Callable:
    """Turn ``op(f, x, *a, **k)`` (f of one argument) into ``op(fun, argnum=0, *a, **k)(*args)``
    acting on argument ``argnum`` of an n-ary ``fun`` (a tuple ``argnum`` gives ``x`` as a
    tuple of those arguments)."""
    def nary_operator(fun: Callable, argnum: Any = 0, *op_args: Any, **op_kwargs: Any):
        def nary_f(*args: Any, **kwargs: Any):
            def unary_f(x: Any):
                sub = list(args)
                if isinstance(argnum, int):
                    sub[argnum] = x
                else:
                    for k, v in zip(argnum, x):
                        sub[k] = v
                return fun(*sub, **kwargs)
            unary_f.__name__ = get_name(fun)
            x = args[argnum] if isinstance(argnum, int) else tuple(args[k] for k in argnum)
            return unary_operator(unary_f, x, *op_args, **op_kwargs)
        nary_f.__name__ = f"{get_name(unary_operator)}_of_{get_name(fun)}_wrt_argnum_{argnum}"
        return nary_f
    nary_operator.__name__ = get_name(unary_operator)
    nary_operator.__doc__ = unary_operator.__doc__
    return nary_operator
