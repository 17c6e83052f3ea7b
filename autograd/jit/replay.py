"""The runtime helpers a replayed program calls (shared by the generated code and by
constant folding), each the same code the eager engine runs."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import _as_grad
from .program import Instr

__all__ = ["as_grad", "accum_grad", "inplace", "vjp_fn", "run_one"]


def as_grad(g: np.ndarray, shape: tuple, dtype: Any) -> np.ndarray:
    """``graph._as_grad``: summed back to ``shape``, cast to ``dtype`` (an ndarray)."""
    g = _as_grad(g, shape, dtype)
    return g if type(g) is np.ndarray else np.asarray(g)


def accum_grad(t: Any, g: np.ndarray, buf: np.ndarray) -> None:
    """A leaf's gradient as the eager backward leaves it: ``g`` (in the program's own array
    for this leaf) when ``t.grad`` is None, else ``t.grad + g``."""
    if t.grad is None:
        np.copyto(buf, g)
        t.grad = buf
    else:
        s = t.grad + g
        t.grad = s if isinstance(s, np.ndarray) else np.asarray(s)


def inplace(t: Any, fn: Any, operand: Any) -> None:
    """``t op= operand`` on the tensor's memory (``Tensor._inplace`` outside a graph)."""
    t._before_write()
    fn(t._data, operand, out=t._data)
    t._bump()


def vjp_fn(ins: Instr):
    """The callable of a ``vjp`` instruction: ``(g, out, *args[, aux]) -> gradients``."""
    prim = ins.prim
    kw = ins.kw
    nargs = ins.info["nargs"]
    has_aux = ins.info["has_aux"]
    parents = ins.info["parents"]
    fake = [(i, None) for i in ins.info["needs"]]
    call = prim.call_vjp
    asarray = np.asarray

    layout = ins.info.get("layout")

    def run(g, out, *rest):
        args = rest[:nargs]
        if layout is not None:
            from .trace import _Packed
            args = _Packed(lambda *a: a, layout)(*args)
        aux = rest[nargs] if has_aux else None
        gs = call(g, out, args, kw, fake, False, aux)
        return tuple(x if type(x) is np.ndarray else asarray(x) for x in (gs[i] for i in parents))
    return run


def run_one(ins: Instr, vals: list) -> list:
    """One instruction on values (constant folding): the list of its results."""
    op = ins.op
    if op == "call":
        r = ins.fn(*vals, **ins.kw)
        if len(ins.outs) == 2:
            return [np.asarray(r[0]), r[1]]
        return [np.asarray(r)]
    if op == "add":
        return [np.asarray(vals[0] + vals[1])]
    if op == "asgrad":
        return [as_grad(vals[0], ins.kw["shape"], ins.kw["dtype"])]
    from ..errors import NotSupportedError
    raise NotSupportedError(f"jit: cannot fold a {op!r} instruction")
