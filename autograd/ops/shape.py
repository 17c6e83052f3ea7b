"""Shape primitives: they move values around, so their vjps move gradients back."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..registry import primitive
from ..errors import ShapeError
from ._util import normalize_axis
from ..errors import AxisError, ArgumentTypeError

__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "broadcast_to", "getitem",
           "scatter_add", "concatenate", "stack", "astype", "identity"]


@primitive(library=True, nin=1, domain=[None], reference=np.reshape)
def reshape(x, shape):
    """x with a new shape of the same size (one entry may be -1)."""
    return x.reshape(shape)


reshape.defvjp(lambda g, out, x, shape: reshape(g, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=np.transpose)
def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    if axes is not None and len(axes) != x.ndim:
        raise ShapeError(f"transpose: axes {tuple(axes)} do not match an array of {x.ndim} dims")
    return np.transpose(x, axes)


def _transpose_vjp(g, out, x, axes=None):
    if axes is None:
        return transpose(g)
    return transpose(g, tuple(np.argsort([a % len(axes) for a in axes])))


transpose.defvjp(_transpose_vjp)


@primitive(library=True, nin=1, domain=[None], reference=np.expand_dims)
def expand_dims(x, axis):
    """Insert size-1 axes at ``axis`` (int or tuple)."""
    return np.expand_dims(x, axis)


expand_dims.defvjp(lambda g, out, x, axis: reshape(g, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=np.squeeze)
def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    return np.squeeze(x, axis)


squeeze.defvjp(lambda g, out, x, axis=None: reshape(g, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=np.broadcast_to)
def broadcast_to(x, shape):
    """x broadcast to ``shape`` (numpy rules); the gradient sums back over the copies."""
    return np.broadcast_to(x, shape)


broadcast_to.defvjp(lambda g, out, x, shape: g)   # the engine's unbroadcast sums it back


# ----------------------------------------------------------------------------- indexing
def _clean_index(idx: Any) -> Any:
    """Tensors inside an index become their arrays; lists become arrays (numpy semantics)."""
    if isinstance(idx, tuple):
        return tuple(_clean_index(i) for i in idx)
    d = getattr(idx, "_data", None)
    if d is not None:
        return d
    if isinstance(idx, list):
        return np.asarray(idx)
    return idx


def _is_advanced_int(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items)


@primitive(library=True, nin=1, domain=[None], reference=lambda x, idx: x[idx])
def getitem(x, idx):
    """``x[idx]``: ints, slices, None, Ellipsis, boolean masks, integer arrays.

    Integer arrays may repeat an index; its gradient then accumulates (``np.add.at``).
    """
    return x[_clean_index(idx)]


getitem.defvjp(lambda g, out, x, idx: scatter_add(g, idx, x.shape))


@primitive(library=True, nin=1, domain=[None], reference=None)
def scatter_add(g, idx, shape):
    """A zero array of ``shape`` with ``g`` added at ``[idx]`` (repeated indices accumulate).

    The adjoint of ``getitem``: g : shape of ``zeros(shape)[idx]``.
    """
    idx = _clean_index(idx)
    z = np.zeros(shape, dtype=g.dtype)
    if _is_advanced_int(idx):
        np.add.at(z, idx, g)
    else:
        z[idx] = g
    return z


scatter_add.defvjp(lambda g, out, x, idx, shape: getitem(g, idx))


# ----------------------------------------------------------------------------- joining
def _concatenate_vjp(g, out, *xs, axis=0):
    ax = normalize_axis("concatenate", axis, len(out.shape))[0]
    grads, start = [], 0
    for x in xs:
        n = x.shape[ax]
        grads.append(getitem(g, (slice(None),) * ax + (slice(start, start + n),)))
        start += n
    return tuple(grads)


@primitive(library=True, name="concatenate", nin=-1, domain=[None],
           reference=lambda *xs, axis=0: np.concatenate(xs, axis=axis))
def _concatenate(*xs, axis=0):
    if not xs:
        raise ShapeError("concatenate: needs at least one array")
    return np.concatenate(xs, axis=axis)


_concatenate.defvjp(_concatenate_vjp)


def concatenate(tensors: Sequence, axis: int = 0):
    """Join a sequence of tensors along an existing axis (numpy's ``concatenate``)."""
    return _concatenate(*tensors, axis=axis)


def _stack_vjp(g, out, *xs, axis=0):
    ax = normalize_axis("stack", axis, len(out.shape))[0]
    return tuple(getitem(g, (slice(None),) * ax + (i,)) for i in range(len(xs)))


@primitive(library=True, name="stack", nin=-1, domain=[None],
           reference=lambda *xs, axis=0: np.stack(xs, axis=axis))
def _stack(*xs, axis=0):
    if not xs:
        raise ShapeError("stack: needs at least one array")
    return np.stack(xs, axis=axis)


_stack.defvjp(_stack_vjp)


def stack(tensors: Sequence, axis: int = 0):
    """Join a sequence of same-shaped tensors along a new axis (numpy's ``stack``)."""
    return _stack(*tensors, axis=axis)


# ----------------------------------------------------------------------------- dtype, identity
@primitive(library=True, nin=1, domain=[None],
           reference=lambda x, dtype: np.asarray(x).astype(dtype))
def astype(x, dtype):
    """x cast to ``dtype``; the gradient is cast back to x's dtype."""
    return x.astype(dtype, copy=False)


astype.defvjp(lambda g, out, x, dtype: g)          # the engine casts g to x's dtype


@primitive(library=True, domain=[None], reference=lambda x: x)
def identity(x):
    """x itself, as a new graph node (used to mark where a gradient is wanted)."""
    return x


identity.defvjp(lambda g, out, x: g)


# ============================================================================= numpy's
# rearranging functions (autograd.numpy).  Compositions, not primitives: each builds the
# numpy result on an array of positions (the "index map") and gathers x's elements with
# ``getitem``, whose gradient scatters back (``scatter_add``); so they are exact, twice
# differentiable, and given no tensor they are numpy's own functions.
import functools as _functools
import builtins as _builtins

_SEQ = (list, tuple)


def _has_tensor(obj: Any) -> bool:
    if hasattr(obj, "_data"):
        return True
    return type(obj) in _SEQ and _builtins.any(_has_tensor(o) for o in obj)


def _data(obj: Any) -> Any:
    d = getattr(obj, "_data", None)
    return obj if d is None else d


def numpy_for_arrays(npfn):
    """Decorator: the wrapped composition runs when any argument holds a tensor; otherwise
    numpy's ``npfn`` runs on the arguments as given (plain numpy in, plain numpy out)."""
    def deco(f):
        @_functools.wraps(f)
        def wrapper(*args, **kwargs):
            if _builtins.any(_has_tensor(a) for a in args) or \
                    _builtins.any(_has_tensor(v) for v in kwargs.values()):
                return f(*args, **kwargs)
            return npfn(*args, **kwargs)
        wrapper.numpy_reference = npfn  # type: ignore[attr-defined]  (not numpy_function: that marks a guard)
        return wrapper
    return deco


def positions(x: Any) -> np.ndarray:
    """The index map of x: ``arange(x.size)`` in x's shape."""
    shape = tuple(x.shape)
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.intp).reshape(shape)


def gather(x: Any, index_map: Any) -> Any:
    """x's elements at the flat positions ``index_map`` (int array); -1 entries give 0."""
    index_map = np.asarray(index_map)
    flat = reshape(x, (-1,))
    if index_map.size and index_map.min() < 0:
        flat = concatenate([flat, np.zeros(1, dtype=_data(x).dtype)])
        index_map = np.where(index_map < 0, flat.shape[0] - 1, index_map)
    return getitem(flat, index_map)


def rearranging(npfn, name: str):
    """A differentiable ``npfn`` for functions that only pick, copy and move elements of their
    first argument (the others are constants): numpy's on the index map, then a gather.  A
    list result (``split``) becomes a list of gathers."""
    @numpy_for_arrays(npfn)
    def f(a, *args, **kwargs):
        if kwargs.get("out") is not None:
            raise ArgumentTypeError(f"autograd.numpy.{name}: out= is not supported with tensors (results are new "
                             f"tensors); use the return value")
        if _builtins.any(_has_tensor(v) for v in args) or \
                _builtins.any(_has_tensor(v) for v in kwargs.values()):
            args = tuple(_data(v) for v in args)
            kwargs = {k: _data(v) for k, v in kwargs.items()}
        a = _as_tensor_like(a)
        idx = npfn(positions(a), *args, **kwargs)
        if isinstance(idx, _SEQ):
            return [gather(a, i) for i in idx]
        return gather(a, idx)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"numpy's ``{name}``, differentiable (the gradient follows the elements)."
    return f


def _as_tensor_like(a: Any) -> Any:
    """A list/tuple holding tensors as one stacked tensor; anything else as it is."""
    if type(a) in _SEQ:
        from .npapi import array
        return array(a)
    return a if hasattr(a, "_data") else np.asarray(a)


def _fill(npfn):
    """Like ``rearranging``, for functions that also write zeros (diag of a vector, triu)."""
    def shifted(pos, *args, **kwargs):
        return npfn(pos + 1, *args, **kwargs) - 1
    return shifted


flip = rearranging(np.flip, "flip")
flipud = rearranging(np.flipud, "flipud")
fliplr = rearranging(np.fliplr, "fliplr")
rot90 = rearranging(np.rot90, "rot90")
roll = rearranging(np.roll, "roll")
repeat = rearranging(np.repeat, "repeat")
tile = rearranging(np.tile, "tile")
take = rearranging(np.take, "take")
take_along_axis = rearranging(np.take_along_axis, "take_along_axis")
diagonal = rearranging(np.diagonal, "diagonal")
split = rearranging(np.split, "split")
array_split = rearranging(np.array_split, "array_split")
vsplit = rearranging(np.vsplit, "vsplit")
hsplit = rearranging(np.hsplit, "hsplit")
dsplit = rearranging(np.dsplit, "dsplit")
diag = numpy_for_arrays(np.diag)(rearranging(_fill(np.diag), "diag"))
diagflat = numpy_for_arrays(np.diagflat)(rearranging(_fill(np.diagflat), "diagflat"))
triu = numpy_for_arrays(np.triu)(rearranging(_fill(np.triu), "triu"))
tril = numpy_for_arrays(np.tril)(rearranging(_fill(np.tril), "tril"))
for _f, _n in ((diag, "diag"), (diagflat, "diagflat"), (triu, "triu"), (tril, "tril")):
    _f.__name__ = _f.__qualname__ = _n
    _f.__doc__ = f"numpy's ``{_n}``, differentiable (zeros where numpy writes zeros)."


@numpy_for_arrays(np.ravel)
def ravel(a, order="C"):
    """numpy's ``ravel`` (C order)."""
    if order not in ("C", "K", "A"):
        raise ShapeError(f"ravel: order {order!r} is not supported; use 'C'")
    return reshape(_as_tensor_like(a), (-1,))


@numpy_for_arrays(np.swapaxes)
def swapaxes(a, axis1, axis2):
    """numpy's ``swapaxes`` (a transpose)."""
    a = _as_tensor_like(a)
    nd = len(a.shape)
    i, j = (normalize_axis("swapaxes", ax, nd)[0] for ax in (axis1, axis2))
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, tuple(perm))


@numpy_for_arrays(np.moveaxis)
def moveaxis(a, source, destination):
    """numpy's ``moveaxis`` (a transpose)."""
    a = _as_tensor_like(a)
    nd = len(a.shape)
    src = source if isinstance(source, _SEQ) else [source]
    dst = destination if isinstance(destination, _SEQ) else [destination]
    if len(src) != len(dst):
        raise ShapeError("moveaxis: source and destination need the same number of elements")
    src = [normalize_axis("moveaxis", s, nd)[0] for s in src]
    dst = [normalize_axis("moveaxis", d, nd)[0] for d in dst]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, tuple(order))


@numpy_for_arrays(np.rollaxis)
def rollaxis(a, axis, start=0):
    """numpy's ``rollaxis``: axis moved to sit before ``start`` (a transpose)."""
    a = _as_tensor_like(a)
    nd = len(a.shape)
    axis = normalize_axis("rollaxis", axis, nd)[0]
    if not -nd <= start <= nd:
        raise AxisError(f"rollaxis: start {start} is out of bounds for {nd} dims")
    start = start % (nd + 1) if start < 0 else start
    if axis < start:
        start -= 1
    if axis == start:
        return identity(a)
    return moveaxis(a, axis, start)


def _atleast(nd: int, npfn):
    @numpy_for_arrays(npfn)
    def f(*arys):
        outs = []
        for a in arys:
            a = _as_tensor_like(a)
            shape = npfn(np.empty(tuple(a.shape), dtype=np.bool_)).shape
            outs.append(reshape(a, shape) if shape != tuple(a.shape) else a)
        return outs[0] if len(outs) == 1 else tuple(outs)
    f.__name__ = f.__qualname__ = npfn.__name__
    f.__doc__ = f"numpy's ``{npfn.__name__}`` (size-1 axes added by reshape)."
    return f


atleast_1d = _atleast(1, np.atleast_1d)
atleast_2d = _atleast(2, np.atleast_2d)
atleast_3d = _atleast(3, np.atleast_3d)


def _seq(tup: Any, name: str) -> list:
    if hasattr(tup, "_data"):
        return [tup[i] for i in range(tup.shape[0])]
    if type(tup) not in _SEQ and not isinstance(tup, np.ndarray):
        raise ShapeError(f"{name}: expects a sequence of arrays, got {type(tup).__name__}")
    return [_as_tensor_like(a) for a in tup]


@numpy_for_arrays(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    """numpy's ``vstack``: along the first axis, 1-d arrays as rows."""
    return concatenate([atleast_2d(a) for a in _seq(tup, "vstack")], axis=0)


@numpy_for_arrays(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    """numpy's ``hstack``: along the second axis (the first for 1-d arrays)."""
    xs = [atleast_1d(a) for a in _seq(tup, "hstack")]
    return concatenate(xs, axis=0 if xs and len(xs[0].shape) == 1 else 1)


@numpy_for_arrays(np.dstack)
def dstack(tup):
    """numpy's ``dstack``: along the third axis."""
    return concatenate([atleast_3d(a) for a in _seq(tup, "dstack")], axis=2)


@numpy_for_arrays(np.column_stack)
def column_stack(tup):
    """numpy's ``column_stack``: 1-d arrays as columns, along the second axis."""
    xs = [a if len(a.shape) >= 2 else reshape(a, (-1, 1)) for a in _seq(tup, "column_stack")]
    return concatenate(xs, axis=1)


@numpy_for_arrays(np.append)
def append(arr, values, axis=None):
    """numpy's ``append``: flattened when axis is None."""
    arr, values = _as_tensor_like(arr), _as_tensor_like(values)
    if axis is None:
        return concatenate([reshape(arr, (-1,)), reshape(values, (-1,))], axis=0)
    return concatenate([arr, values], axis=axis)


@numpy_for_arrays(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """numpy's ``pad`` for modes constant, edge, reflect, symmetric and wrap (constants
    ``constant_values`` and ``reflect_type`` as numpy's; they are not differentiated)."""
    a = _as_tensor_like(array)
    if callable(mode) or mode not in ("constant", "edge", "reflect", "symmetric", "wrap"):
        raise ShapeError(f"pad: mode {mode!r} is not supported for tensors; use constant, edge, "
                         f"reflect, symmetric or wrap")
    pad_width = _data(pad_width)
    if mode != "constant":
        return gather(a, np.pad(positions(a), pad_width, mode, **kwargs))
    cv = kwargs.pop("constant_values", 0)
    if kwargs:
        raise ShapeError(f"pad: unexpected arguments {sorted(kwargs)} for mode 'constant'")
    if _has_tensor(cv):
        raise ShapeError("pad: constant_values must be constants, not tensors")
    out = gather(a, np.pad(positions(a) + 1, pad_width, "constant") - 1)
    const = np.pad(np.zeros(tuple(a.shape), dtype=_data(a).dtype), pad_width, "constant",
                   constant_values=cv)
    return out + const if np.any(const) else out


@numpy_for_arrays(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """numpy's ``sort``: the gradient follows each element to where it was sorted from."""
    a = _as_tensor_like(a)
    d = _data(a)
    if axis is None:
        return gather(a, np.argsort(d, axis=None, kind=kind, stable=stable))
    idx = np.argsort(d, axis=axis, kind=kind, stable=stable)
    return gather(a, np.take_along_axis(positions(a), idx, axis=axis))


@numpy_for_arrays(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """numpy's ``partition``: the gradient follows each element to its new place."""
    a = _as_tensor_like(a)
    d = _data(a)
    if axis is None:
        return gather(a, np.argpartition(d, kth, axis=None, kind=kind))
    idx = np.argpartition(d, kth, axis=axis, kind=kind)
    return gather(a, np.take_along_axis(positions(a), idx, axis=axis))


@numpy_for_arrays(np.select)
def select(condlist, choicelist, default=0):
    """numpy's ``select``: the first true condition's choice (differentiable in the
    choices and the default)."""
    from .elementwise import where
    if len(condlist) != len(choicelist):
        raise ShapeError("select: condlist and choicelist must have the same length")
    out = _as_tensor_like(default) if _has_tensor(default) else default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(_data(c), _as_tensor_like(v) if _has_tensor(v) else v, out)
    shape = np.broadcast_shapes(*[np.shape(_data(c)) for c in condlist],
                                *[np.shape(_data(v)) for v in choicelist])
    return broadcast_to(out, shape) if tuple(out.shape) != shape else out


@numpy_for_arrays(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """numpy's ``full_like``; a tensor ``fill_value`` is broadcast (and differentiated)."""
    shape = tuple(np.shape(_data(a))) if shape is None else shape
    if not hasattr(fill_value, "_data"):
        return np.full(shape, fill_value, dtype=dtype or np.asarray(_data(a)).dtype)
    out = broadcast_to(fill_value, shape)
    return astype(out, dtype) if dtype is not None else out


@numpy_for_arrays(np.full)
def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None):
    """numpy's ``full``; a tensor ``fill_value`` is broadcast (and differentiated)."""
    out = broadcast_to(_as_tensor_like(fill_value), tuple(np.atleast_1d(shape)) if
                       np.ndim(shape) else (int(shape),))
    return astype(out, dtype) if dtype is not None else out


__all__ += ["positions", "gather", "rearranging", "numpy_for_arrays", "flip", "flipud", "fliplr",
            "rot90", "roll", "repeat", "tile", "take", "take_along_axis", "diagonal",
            "split", "array_split", "vsplit", "hsplit", "dsplit", "diag", "diagflat", "triu",
            "tril", "ravel", "swapaxes", "moveaxis", "rollaxis", "atleast_1d", "atleast_2d",
            "atleast_3d", "vstack", "hstack", "dstack", "column_stack", "append", "pad", "sort",
            "partition", "select", "full_like", "full"]
