"""numpy-signature front doors onto the primitives, for ``autograd.numpy``.

Each function here takes numpy's arguments (names, order, defaults) and calls a primitive:
``out=`` (other than None) and other arguments the library cannot honour are refused with a
clear error instead of being ignored; Python lists and tuples that hold tensors are stacked
into one tensor (``array``) so the graph is kept.  No gradient code lives here.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import ArgumentTypeError
from ..registry import Primitive
from . import elementwise as E, reduce as R, shape as S, linalg as L

__all__ = ["NoValue", "refuse", "arg", "ufunc", "array", "asarray", "FRONTS"]

NoValue = np._NoValue
_SEQ = (list, tuple)


def refuse(name: str, out: Any = None, **defaults_broken: Any) -> None:
    """Raise when ``out`` is given or an argument the library does not implement is set.

    ``defaults_broken`` maps an argument name to True when the caller set it to something
    other than numpy's default."""
    if out is not None:
        raise ArgumentTypeError(f"autograd.numpy.{name}: out= is not supported (results are new "
                                f"tensors; a graph cannot be written into an existing array); "
                                f"use the return value")
    for k, broken in defaults_broken.items():
        if broken:
            raise ArgumentTypeError(f"autograd.numpy.{name}: the argument {k}= is not supported")


def _has_tensor(obj: Any) -> bool:
    if hasattr(obj, "_data"):
        return True
    return type(obj) in _SEQ and any(_has_tensor(o) for o in obj)


def arg(x: Any) -> Any:
    """An operand as a primitive takes it: a list/tuple holding tensors becomes a stacked
    tensor (graph kept); anything else is left to the primitive."""
    if type(x) in _SEQ and _has_tensor(x):
        return array(x)
    return x


# ----------------------------------------------------------------------------- array building
def array(obj: Any, dtype: Any = None, *, copy: bool = True, order: Any = "K",
          subok: bool = False, ndmin: int = 0, like: Any = None) -> Any:
    """numpy's ``array``; a (nested) list or tuple of tensors is stacked into one tensor,
    recording the graph (``stack`` of ``stack``...), so no gradient is lost.

    dtype : cast (differentiably, ``astype``) after building.  ndmin : leading size-1 axes.
    """
    refuse("array", None, subok=subok, like=like is not None)
    if type(obj) in _SEQ and _has_tensor(obj):
        out = S.stack([array(o) if type(o) in _SEQ else o for o in obj], axis=0)
    elif hasattr(obj, "_data"):
        out = S.identity(obj) if copy else obj
    else:
        return np.array(obj, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
    if dtype is not None and np.dtype(dtype) != out.dtype:
        out = S.astype(out, dtype)
    if out.ndim < ndmin:
        out = S.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def asarray(a: Any, dtype: Any = None, order: Any = None, *, like: Any = None,
            **kw: Any) -> Any:
    """numpy's ``asarray``: tensors come back as they are, lists of tensors are stacked."""
    if hasattr(a, "_data") or (type(a) in _SEQ and _has_tensor(a)):
        return array(a, dtype=dtype, copy=False)
    return np.asarray(a, dtype=dtype, order=order, **kw)


# ----------------------------------------------------------------------------- ufunc-likes
def ufunc(prim: Callable, nin: int, name: str) -> Callable:
    """A numpy-ufunc-shaped front for an elementwise primitive of ``nin`` inputs: ``out=`` (by
    keyword or as the extra positional), ``where=``, ``dtype=`` and ``casting``/``order``
    other than numpy's defaults are refused."""
    def front(*args: Any, out: Any = None, where: Any = True, dtype: Any = None,
              casting: str = "same_kind", order: str = "K", subok: bool = True, **kw: Any):
        if len(args) > nin:
            out, args = args[nin], args[:nin]
        refuse(name, out, where=where is not True, casting=casting != "same_kind",
               order=order != "K", subok=subok is not True)
        if len(args) != nin:
            raise ArgumentTypeError(f"autograd.numpy.{name}: takes {nin} array argument(s), "
                                    f"got {len(args)}")
        args = tuple(arg(a) for a in args)
        if dtype is not None:
            args = tuple(S.astype(a, dtype) if hasattr(a, "_data") else np.asarray(a, dtype)
                         for a in args)
        return prim(*args, **kw)
    front.__name__ = front.__qualname__ = name
    front.__doc__ = f"numpy's ``{name}`` (ufunc arguments: ``out=`` refused), differentiable:" \
                    f" {prim.__doc__ or ''}"
    front.primitive = prim  # type: ignore[attr-defined]
    uf = getattr(np, name, None)
    if isinstance(uf, np.ufunc):                # np.add.reduce & co: numpy's, for arrays only
        for method in ("reduce", "accumulate", "reduceat", "outer", "at"):
            setattr(front, method, _array_only(getattr(uf, method), f"{name}.{method}"))
    return front


def _array_only(fn: Callable, name: str) -> Callable:
    """numpy's ``fn``, refusing tensors (it has no gradient here)."""
    def only(*args: Any, **kwargs: Any):
        if _has_tensor(list(args)) or _has_tensor(list(kwargs.values())):
            raise ArgumentTypeError(f"autograd.numpy.{name}: not differentiable here; use the "
                                    f"function form (e.g. sum, cumsum, outer) on tensors")
        return fn(*args, **kwargs)
    only.__name__ = only.__qualname__ = name.rsplit(".", 1)[-1]
    return only


# ----------------------------------------------------------------------------- reductions
def _cast(x: Any, dtype: Any) -> Any:
    x = arg(x)
    if not hasattr(x, "_data") and type(x) is not np.ndarray:
        x = np.asarray(x)                       # Python scalars: the reductions use methods
    if dtype is None:
        return x
    return S.astype(x, dtype) if hasattr(x, "_data") else np.asarray(x, dtype=dtype)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=NoValue, where=NoValue):
    """numpy's ``sum`` (``initial``/``where`` refused)."""
    refuse("sum", out, initial=initial is not NoValue, where=where is not NoValue)
    return R.sum(_cast(a, dtype), axis=axis, keepdims=bool(keepdims))


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=NoValue):
    """numpy's ``mean`` (``where`` refused)."""
    refuse("mean", out, where=where is not NoValue)
    return R.mean(_cast(a, dtype), axis=axis, keepdims=bool(keepdims))


def _extreme(prim: Primitive, name: str) -> Callable:
    def front(a, axis=None, out=None, keepdims=False, initial=NoValue, where=NoValue):
        refuse(name, out, initial=initial is not NoValue, where=where is not NoValue)
        return prim(_cast(a, None), axis=axis, keepdims=bool(keepdims))
    front.__name__ = front.__qualname__ = name
    front.__doc__ = f"numpy's ``{name}`` (``initial``/``where`` refused); the gradient is " \
                    f"split evenly between ties."
    return front


amax = _extreme(R.max, "max")
amin = _extreme(R.min, "min")


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=NoValue,
        mean=NoValue, correction=NoValue):
    """numpy's ``var`` (``where``/``mean`` refused; ``correction`` is ddof's other name)."""
    refuse("var", out, where=where is not NoValue, mean=mean is not NoValue)
    if correction is not NoValue:
        ddof = correction
    return R.var(_cast(a, dtype), axis=axis, keepdims=bool(keepdims), ddof=ddof)


# ----------------------------------------------------------------------------- elementwise
def clip(a, a_min=NoValue, a_max=NoValue, out=None, *, min=NoValue, max=NoValue, **kw):
    """numpy's ``clip``: bounds are constants (``a_min``/``min``, ``a_max``/``max``)."""
    refuse("clip", out, **{k: True for k in kw})
    lo = min if min is not NoValue else (None if a_min is NoValue else a_min)
    hi = max if max is not NoValue else (None if a_max is NoValue else a_max)
    if hasattr(lo, "_data") or hasattr(hi, "_data"):
        raise ArgumentTypeError("autograd.numpy.clip: the bounds must be constants, not tensors "
                                "(use maximum/minimum for tensor bounds)")
    return E.clip(arg(a), lo, hi)


def where(condition, x=NoValue, y=NoValue):
    """numpy's ``where``: with x and y, x where condition else y (differentiable in x, y);
    with the condition alone, its nonzero indices (numpy's).  When none of condition, x, y
    is an array or tensor (Python scalars and lists only) the result is a Python value or
    list (``.tolist()``), as HIPS autograd's ``where`` gives, not numpy's 0-d array."""
    if x is NoValue and y is NoValue:
        return np.nonzero(np.asarray(getattr(condition, "_data", condition)))
    if x is NoValue or y is NoValue:
        raise ArgumentTypeError("autograd.numpy.where: give both x and y, or neither")
    out = E.where(getattr(condition, "_data", condition), arg(x), arg(y))
    if not (_numeric(condition) or _numeric(x) or _numeric(y)):
        return out.tolist()           # Python values in, Python values out (as HIPS's where)
    return out


def _numeric(obj: Any) -> bool:
    """An ndarray, numpy scalar or tensor, or a list/tuple holding one."""
    if isinstance(obj, (np.ndarray, np.generic)) or hasattr(obj, "_data"):
        return True
    return type(obj) in _SEQ and any(_numeric(o) for o in obj)


# ----------------------------------------------------------------------------- shape
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """numpy's ``reshape`` (C order only)."""
    refuse("reshape", None, order=order != "C")
    if shape is None:
        shape = newshape
    if shape is None:
        raise ArgumentTypeError("autograd.numpy.reshape: give the new shape")
    return S.reshape(arg(a), shape if isinstance(shape, _SEQ) else (shape,))


def transpose(a, axes=None):
    """numpy's ``transpose``."""
    return S.transpose(arg(a), None if axes is None else tuple(axes))


def expand_dims(a, axis):
    """numpy's ``expand_dims``."""
    return S.expand_dims(arg(a), axis)


def squeeze(a, axis=None):
    """numpy's ``squeeze``."""
    return S.squeeze(arg(a), axis)


def broadcast_to(array, shape, subok=False):
    """numpy's ``broadcast_to``."""
    return S.broadcast_to(arg(array), tuple(shape) if isinstance(shape, _SEQ) else (shape,))


def _joined(arrays: Any, name: str) -> list:
    if hasattr(arrays, "_data"):      # numpy iterates over the first axis
        return [arrays[i] for i in range(arrays.shape[0])]
    if isinstance(arrays, np.ndarray):
        return list(arrays)
    if type(arrays) not in _SEQ:
        raise ArgumentTypeError(f"autograd.numpy.{name}: expects a sequence of arrays, got "
                                f"{type(arrays).__name__}")
    return [arg(a) for a in arrays]


def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """numpy's ``concatenate`` (``axis=None`` flattens first)."""
    refuse("concatenate", out, casting=casting != "same_kind")
    xs = [_cast(x, dtype) for x in _joined(arrays, "concatenate")]
    if axis is None:
        xs, axis = [S.reshape(x, (-1,)) if hasattr(x, "_data") else np.ravel(x) for x in xs], 0
    return S.concatenate(xs, axis=axis)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """numpy's ``stack``."""
    refuse("stack", out, casting=casting != "same_kind")
    return S.stack([_cast(x, dtype) for x in _joined(arrays, "stack")], axis=axis)


#: numpy name -> the library's function with numpy's signature.
FRONTS: dict[str, Callable] = {
    "add": ufunc(E.add, 2, "add"), "subtract": ufunc(E.subtract, 2, "subtract"),
    "multiply": ufunc(E.multiply, 2, "multiply"), "divide": ufunc(E.divide, 2, "divide"),
    "negative": ufunc(E.negative, 1, "negative"), "power": ufunc(E.power, 2, "power"),
    "exp": ufunc(E.exp, 1, "exp"), "log": ufunc(E.log, 1, "log"),
    "sqrt": ufunc(E.sqrt, 1, "sqrt"), "abs": ufunc(E.abs, 1, "absolute"),
    "sin": ufunc(E.sin, 1, "sin"), "cos": ufunc(E.cos, 1, "cos"),
    "tanh": ufunc(E.tanh, 1, "tanh"), "maximum": ufunc(E.maximum, 2, "maximum"),
    "minimum": ufunc(E.minimum, 2, "minimum"), "square": ufunc(E.square, 1, "square"),
    "matmul": ufunc(L.matmul, 2, "matmul"),
    "clip": clip, "where": where, "sum": sum, "mean": mean, "amax": amax, "amin": amin,
    "var": var, "reshape": reshape, "transpose": transpose, "expand_dims": expand_dims,
    "squeeze": squeeze, "broadcast_to": broadcast_to, "concatenate": concatenate,
    "stack": stack, "array": array, "asarray": asarray,
}
FRONTS.update(true_divide=FRONTS["divide"], absolute=FRONTS["abs"], max=amax, min=amin,
              asanyarray=asarray)


# ----------------------------------------------------------------------------- more elementwise
def round(a, decimals=0, out=None):
    """numpy's ``round`` (``around``): zero gradient."""
    refuse("round", out)
    return E.round(arg(a), decimals)


def fix(x, out=None):
    """numpy's ``fix``: round towards zero; zero gradient."""
    refuse("fix", out)
    return E.fix(arg(x))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """numpy's ``nan_to_num`` (always returns a new array); the gradient passes where x is
    finite."""
    return E.nan_to_num(arg(x), nan=nan, posinf=posinf, neginf=neginf)


def sinc(x):
    """numpy's ``sinc``: sin(pi x) / (pi x), with a gradient that stays exact near 0."""
    return E.sinc(arg(x))


def positive(x, out=None, **kw):
    """numpy's ``positive``: x itself (a new node)."""
    refuse("positive", out, **{k: True for k in kw})
    return S.identity(arg(x))


def float_power(x1, x2, out=None, **kw):
    """numpy's ``float_power``: ``power`` computed in float64."""
    refuse("float_power", out, **{k: True for k in kw})
    return E.power(_cast(x1, np.float64), _cast(x2, np.float64))


for _name in ("tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
              "arctanh", "log2", "log10", "log1p", "expm1", "exp2", "reciprocal", "cbrt",
              "rad2deg", "deg2rad", "sign", "floor", "ceil", "trunc", "rint"):
    FRONTS[_name] = ufunc(getattr(E, _name), 1, _name)
for _name in ("arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "mod", "fmod"):
    FRONTS[_name] = ufunc(getattr(E, _name), 2, _name)
FRONTS.update(round=round, around=round, fix=fix, nan_to_num=nan_to_num, sinc=sinc,
              positive=positive, float_power=float_power, fabs=FRONTS["abs"],
              remainder=FRONTS["mod"], radians=FRONTS["deg2rad"], degrees=FRONTS["rad2deg"],
              asin=FRONTS["arcsin"], acos=FRONTS["arccos"], atan=FRONTS["arctan"],
              asinh=FRONTS["arcsinh"], acosh=FRONTS["arccosh"], atanh=FRONTS["arctanh"],
              atan2=FRONTS["arctan2"], pow=FRONTS["power"])


# ----------------------------------------------------------------------------- products
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=NoValue, where=NoValue):
    """numpy's ``prod`` (``initial``/``where`` refused); gradient exact where a has zeros."""
    refuse("prod", out, initial=initial is not NoValue, where=where is not NoValue)
    return R.prod(_cast(a, dtype), axis=axis, keepdims=bool(keepdims))


def _cumulative(prim, name):
    def front(a, axis=None, dtype=None, out=None):
        refuse(name, out)
        return prim(_cast(a, dtype), axis=axis)
    front.__name__ = front.__qualname__ = name
    front.__doc__ = f"numpy's ``{name}`` (flattened when axis is None)."
    return front


FRONTS.update(prod=prod, cumsum=_cumulative(R.cumsum, "cumsum"),
              cumprod=_cumulative(R.cumprod, "cumprod"))


# ----------------------------------------------------------------------------- compositions
# numpy-signature compositions written in the families (shape, reduce, linalg): mapped as
# they are.
for _mod, _names in (
        (S, ("flip", "flipud", "fliplr", "rot90", "roll", "repeat", "tile", "take",
             "take_along_axis", "diagonal", "split", "array_split", "vsplit", "hsplit", "dsplit",
             "diag", "diagflat", "triu", "tril", "ravel", "swapaxes", "moveaxis", "rollaxis",
             "atleast_1d", "atleast_2d", "atleast_3d", "vstack", "hstack", "dstack",
             "column_stack", "append", "pad", "sort", "partition", "select", "full_like",
             "full")),
        (R, ("std", "ptp", "average", "nansum", "nanmean", "quantile", "percentile", "median",
             "diff", "gradient", "trace")),
        (L, ("einsum", "tensordot", "dot", "inner", "outer", "vdot", "kron", "cross"))):
    for _name in _names:
        FRONTS[_name] = getattr(_mod, _name)
FRONTS.update(row_stack=S.vstack, concat=concatenate, permute_dims=transpose)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """numpy's ``linspace``; tensor endpoints give a differentiable result,
    start + (stop - start) * t with t = i / (num - 1) (or i / num without the endpoint)."""
    if not (hasattr(start, "_data") or hasattr(stop, "_data")):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    num = int(num)
    if num < 0:
        raise ArgumentTypeError(f"autograd.numpy.linspace: number of samples, {num}, must be "
                                f"non-negative")
    div = (num - 1) if endpoint else num
    t = np.arange(num, dtype=np.float64) / (div if div > 0 else 1)
    start, stop = arg(start), arg(stop)
    shape = np.broadcast_shapes(np.shape(getattr(start, "_data", start)),
                                np.shape(getattr(stop, "_data", stop)))
    t = t.reshape((num,) + (1,) * len(shape))
    delta = E.subtract(stop, start)
    out = E.add(E.multiply(S.expand_dims(delta, 0) if len(shape) else delta, t),
                S.expand_dims(start, 0) if np.ndim(getattr(start, "_data", start)) else start)
    if endpoint and num > 1:     # the last sample is stop exactly, as numpy's
        last = np.zeros((num,) + (1,) * len(shape), dtype=bool)
        last[-1] = True
        out = E.where(last, S.broadcast_to(stop, shape) if len(shape) else stop, out)
    if axis != 0:
        out = S.moveaxis(out, 0, axis)
    if dtype is not None:
        out = S.astype(out, dtype)
    step = delta / div if div > 0 else np.nan
    return (out, step) if retstep else out


class _Concatenator:
    """``r_`` / ``c_`` for plain arrays, scalars, lists and tensors (the slice syntax
    ``r_[0:5]`` and the string directives work for constants, as numpy's)."""

    def __init__(self, npobj, name: str):
        self._np, self._name = npobj, name

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        if not _has_tensor(list(items)):
            return self._np[key]
        if items and isinstance(items[0], str):
            raise ArgumentTypeError(f"autograd.numpy.{self._name}: string directives are not "
                                    f"supported with tensors; use concatenate/stack")
        parts = [np.asarray(self._np[it]) if isinstance(it, slice) else arg(it) for it in items]
        if self._name == "r_":
            return S.concatenate([S.atleast_1d(p) for p in parts], axis=0)
        cols = []
        for p in parts:      # c_: 1-d (and 0-d) arrays become columns, along the last axis
            nd = len(np.shape(getattr(p, "_data", p)))
            cols.append(S.reshape(p, (-1, 1)) if nd < 2 else p)
        return S.concatenate(cols, axis=-1)

    def __len__(self):
        return 0


FRONTS.update(linspace=linspace, r_=_Concatenator(np.r_, "r_"), c_=_Concatenator(np.c_, "c_"))


# ----------------------------------------------------------------------------- complex
from .complex import real, imag, conj, angle, real_if_close  # noqa: E402  (primitives)


def make_diagonal(D, offset=0, axis1=0, axis2=1):
    """HIPS autograd's ``make_diagonal``, the complement of ``diagonal``: D (..., n) placed on
    the diagonal of new axes ``axis1``, ``axis2`` (offset 0, as HIPS)."""
    if offset != 0:
        raise ArgumentTypeError("autograd.numpy.make_diagonal: only offset=0 is supported")
    D = arg(D)
    if not hasattr(D, "_data"):
        D = np.asarray(D)
    n = D.shape[-1]
    out = E.multiply(S.expand_dims(D, -1), np.eye(n, dtype=np.asarray(getattr(D, "_data", D)).dtype))
    nd = len(out.shape)
    a1, a2 = axis1 % nd, axis2 % nd
    if a1 == a2:
        raise ArgumentTypeError("autograd.numpy.make_diagonal: axis1 and axis2 must differ")
    return S.moveaxis(out, (nd - 2, nd - 1), (a1, a2))


FRONTS.update(real=real, imag=imag, real_if_close=real_if_close, conj=conj, conjugate=conj, angle=angle,
              make_diagonal=make_diagonal)
