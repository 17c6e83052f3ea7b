"""The per-signature cache of a jitted function: bounded (least recently used out), counted.

A signature is what a program is specialised to: for each traced argument its pytree
structure and, per array leaf, tensor-or-array, shape and dtype; the values of static
arguments, of Python scalars among the arguments, and of keyword arguments; grad mode.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional

import numpy as np

from ..errors import ArgumentTypeError
from ..tensor import Tensor

__all__ = ["signature", "LRU", "Entry"]


def _hkey(spec: Any) -> Any:
    if isinstance(spec, (list, tuple)):
        return tuple(_hkey(s) for s in spec)
    return spec


def _leaf_key(v: Any, where: str) -> Any:
    if isinstance(v, Tensor):
        d = v._data
        return ("T", d.shape, d.dtype.str, v._rg)
    if isinstance(v, np.ndarray):
        return ("A", v.shape, v.dtype.str)
    try:
        hash(v)
    except TypeError:
        raise ArgumentTypeError(f"autograd.jit: {where} is a {type(v).__name__}, which is "
                                f"neither an array nor hashable; pass it through a closure or "
                                f"make it hashable") from None
    return ("p", type(v), v)


def signature(args: tuple, kwargs: dict, static: frozenset, grad_mode: bool) -> tuple:
    """The cache key of a call, and per positional argument whether it is traced."""
    from ..transforms import tree_flatten
    key: list = [grad_mode]
    dynamic = []
    for k, a in enumerate(args):
        if k in static:
            try:
                hash(a)
            except TypeError:
                raise ArgumentTypeError(f"autograd.jit: static argument {k} "
                                        f"({type(a).__name__}) must be hashable") from None
            key.append(("s", a))
            dynamic.append(False)
            continue
        leaves, spec = tree_flatten(a)
        key.append((_hkey(spec), tuple(_leaf_key(v, f"argument {k}") for v in leaves)))
        dynamic.append(True)
    for name in sorted(kwargs):
        key.append(("kw", name, _leaf_key(kwargs[name], f"keyword argument {name!r}")))
    return tuple(key), dynamic


class Entry:
    """One signature: ``first`` (the first trace's program, awaiting its check), ``exe``
    (the lowered program), or ``eager`` (a reason: this signature runs eagerly)."""

    __slots__ = ("first", "exe", "eager", "as_tensor")

    def __init__(self) -> None:
        self.first: Any = None
        self.exe: Any = None
        self.eager: Optional[str] = None
        self.as_tensor = False


class LRU:
    """At most ``maxsize`` entries; the least recently used one goes first."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.d: OrderedDict = OrderedDict()
        self.evictions = 0

    def get(self, key: Any) -> Optional[Entry]:
        e = self.d.get(key)
        if e is not None:
            self.d.move_to_end(key)
        return e

    def put(self, key: Any, e: Entry) -> None:
        self.d[key] = e
        self.d.move_to_end(key)
        while len(self.d) > self.maxsize:
            self.d.popitem(last=False)
            self.evictions += 1

    def __len__(self) -> int:
        return len(self.d)

    def clear(self) -> None:
        self.d.clear()
