"""HIPS autograd's ``autograd.misc``: ``flatten``, ``const_graph`` (and ``misc.optimizers``)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .flatten import flatten

__all__ = ["flatten", "const_graph"]


def const_graph(fun: Callable, *args: Any, **kwargs: Any) -> Callable:
    """HIPS's ``const_graph``: ``fun`` (with ``args``/``kwargs`` bound in front) is traced once,
    on its first call, into the graph of primitive calls its output depends on; later calls
    replay that graph on the new values without running ``fun``'s Python again.  As in
    HIPS, this is right only when ``fun`` takes the same path through its code for every
    input (no branching on values), and primitives that depend on no input are constants."""
    from ..graph import Node, toposort
    from ..tensor import Tensor
    from ..transforms import tree_flatten, tree_unflatten
    cache: dict = {}

    def trace(values: tuple):
        leaves, spec = tree_flatten(values)
        ins = [Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in leaves]
        out = fun(*args, *tree_unflatten(spec, ins), **kwargs)
        outs, ospec = tree_flatten(out)
        roots = [o._node for o in outs if isinstance(o, Tensor) and o._node is not None]
        order: list = []
        seen: set = set()
        for r in roots:
            for node in reversed(toposort(r)):
                if node not in seen:
                    seen.add(node)
                    order.append(node)
        if any(node.args is None for node in order):   # released by a backward inside fun
            cache.update(uncached=True)
            return _plain(out)
        cache.update(spec=spec, ins={id(t): k for k, t in enumerate(ins)}, keep=ins,
                     order=order, outs=outs, ospec=ospec)
        return _plain(out)

    def replay(values: tuple):
        leaves, spec = tree_flatten(values)
        if spec != cache["spec"]:
            return trace(values)
        computed: dict = {}
        ins = cache["ins"]
        for node in cache["order"]:
            a = list(node.args)
            for i, p in node.parents:
                if type(p) is Node:
                    a[i] = computed[p]
                elif id(p) in ins:
                    a[i] = np.asarray(leaves[ins[id(p)]], dtype=np.float64)
            computed[node] = _plain(node.prim(*a, **(node.kwargs or {})))
        res = [computed[o._node] if isinstance(o, Tensor) and o._node is not None else _plain(o)
               for o in cache["outs"]]
        return tree_unflatten(cache["ospec"], res)

    def wrapped(*values: Any):
        if cache.get("uncached"):
            return _plain(fun(*args, *values, **kwargs))
        return replay(values) if cache else trace(values)
    wrapped.__name__ = getattr(fun, "__name__", "fun")
    return wrapped


def _plain(x: Any) -> Any:
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple, dict)):
        from ..transforms import tree_flatten, tree_unflatten
        leaves, spec = tree_flatten(x)
        return tree_unflatten(spec, [_plain(v) for v in leaves])
    return x
