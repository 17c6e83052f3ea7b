"""The numpy namespace, differentiable: ``import autograd.numpy as np``.

Every function that has a differentiable implementation here is this library's (a primitive,
or a numpy-signature front door onto one, from ``autograd.ops``): given tensors it records
the graph, given arrays it returns plain numpy, so the same code serves both.

Everything else is numpy's own, looked up on first use:

- non-differentiable names pass through unchanged: dtypes, constants, classes, array
  creation (``ones``, ``arange``, ``eye``), comparisons and predicates (``allclose``,
  ``isfinite``), index-valued functions (``argmax``, ``argsort``, ``nonzero``), I/O;
- any other numpy function runs through a guard: given a tensor that requires grad (with
  grad mode on) it raises ``ArgumentTypeError`` naming the function, instead of computing on
  the data and silently dropping the gradient; otherwise it is numpy's.

Submodules: ``linalg`` (the differentiable linalg names that exist, numpy's for the rest),
``random`` (numpy's).  This module only maps names: no gradient code lives here.
"""
from __future__ import annotations

import builtins as _builtins  # this module's globals take numpy's any/sum/max...
import functools as _functools
import importlib as _importlib
from typing import Any as _Any

import numpy as _np

from ..graph import MODE as _MODE
from ..errors import ArgumentTypeError as _ArgumentTypeError
from ..ops.npapi import FRONTS as _FRONTS

#: numpy functions whose results carry no gradient (index-, bool- or shape-valued, array
#: creation from shapes, I/O, printing): passed through as numpy has them.
NONDIFFERENTIABLE = frozenset("""
all allclose any arange argmax argmin argpartition argsort argwhere array2string array_equal
array_equiv array_repr array_str base_repr binary_repr bincount bitwise_and bitwise_count
bitwise_invert bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor
broadcast_shapes busday_count busday_offset can_cast count_nonzero datetime_as_string
datetime_data diag_indices diag_indices_from digitize empty empty_like equal eye flatnonzero
floor_divide frombuffer fromfile fromfunction fromiter frompyfunc fromregex fromstring gcd
genfromtxt get_include get_printoptions getbufsize geterr geterrcall greater greater_equal
histogram histogram2d histogram_bin_edges histogramdd identity indices info invert is_busday
isclose iscomplex iscomplexobj isdtype isfinite isfortran isin isinf isnan isnat isneginf
isposinf isreal isrealobj isscalar issubdtype iterable ix_ lcm left_shift less less_equal
lexsort load loadtxt logical_and logical_not logical_or logical_xor mask_indices
may_share_memory min_scalar_type mintypecode nanargmax nanargmin ndim nested_iters nonzero
not_equal ones ones_like packbits printoptions promote_types ravel_multi_index result_type
right_shift save savetxt savez savez_compressed searchsorted set_printoptions setbufsize
seterr seterrcall shape shares_memory show_config show_runtime signbit size test tri
tril_indices tril_indices_from triu_indices triu_indices_from typename unpackbits
unravel_index zeros zeros_like hamming hanning bartlett blackman kaiser
""".split())

#: Submodules of this package (imported on first attribute access).  numpy's ``fft`` is
#: deliberately not passed through: it would drop gradients.
_SUBMODULES = ("linalg", "random", "fft")

globals().update(_FRONTS)


def _requires_grad(obj: _Any, depth: int = 0) -> bool:
    if getattr(obj, "_rg", False):
        return True
    if depth < 4 and type(obj) in (list, tuple):
        return _builtins.any(_requires_grad(o, depth + 1) for o in obj)
    if depth < 4 and type(obj) is dict:
        return _builtins.any(_requires_grad(o, depth + 1) for o in obj.values())
    return False


def _unwrap(obj: _Any, depth: int = 0) -> _Any:
    d = getattr(obj, "_data", None)
    if d is not None:
        return d
    if depth < 4 and type(obj) in (list, tuple):
        return type(obj)(_unwrap(o, depth + 1) for o in obj)
    return obj


def _guarded(name: str, fn: _Any) -> _Any:
    """numpy's ``fn``, refusing tensors that require grad (it has no gradient here)."""
    @_functools.wraps(fn)
    def guard(*args: _Any, **kwargs: _Any) -> _Any:
        if _MODE.grad and (_requires_grad(args) or _requires_grad(kwargs)):
            raise _ArgumentTypeError(
                f"autograd.numpy.{name}: no differentiable implementation; it was given a "
                f"tensor that requires grad, and running numpy on its data would lose the "
                f"gradient. Compose it from differentiable functions, use .detach() if no "
                f"gradient is wanted, or define a primitive (autograd.primitive).")
        return fn(*(_unwrap(a) for a in args), **{k: _unwrap(v) for k, v in kwargs.items()})
    guard.numpy_function = fn  # type: ignore[attr-defined]
    return guard


def __getattr__(name: str) -> _Any:
    if name in _SUBMODULES:
        try:
            return _importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r} (not "
                                 f"available yet: numpy's would drop gradients)") from None
    if name.startswith("__") and name not in _np.__all__:
        raise AttributeError(name)
    try:
        obj = getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    if callable(obj) and not isinstance(obj, type) and name not in NONDIFFERENTIABLE:
        obj = _guarded(name, obj)
    globals()[name] = obj
    return obj


def __dir__() -> list:
    return sorted(set(globals()) | set(_np.__all__) - {"fft"} | set(_SUBMODULES))


__all__ = sorted((set(_np.__all__) - {"fft"}) | set(_FRONTS) | {"linalg", "random"})
