"""numpy on tensors: ``Tensor.__array_ufunc__`` / ``__array_function__`` (NEP 13 / NEP 18).

``np.exp(t)``, ``np.sum(t, axis=0)``, ``np.dot(t, t)``, ``np.linalg.norm(t)`` with plain
``import numpy as np`` call this library's primitives and record the graph.  The lookup
table from numpy functions to implementations is built lazily, by the numpy function's
name, from ``autograd.numpy`` (``autograd.numpy.linalg`` for ``numpy.linalg``, ...), and for
names that namespace does not define (or while it is absent), from the ``autograd``
functions named after numpy's.  So it covers whatever lands there without a second list.

The rules (no path loses a gradient silently):

* a function found in the table runs on the tensors (graph recorded);
* a function not found, or one the namespace passes through to numpy, runs on the data
  when no input requires grad, or when its result is not float (``np.argmax``, ``np.shape``,
  ``np.allclose``, comparisons); otherwise it raises :class:`UnsupportedFunctionError`
  naming the function and pointing to ``autograd.numpy``;
* ``out=`` into an ndarray is refused for a result that requires grad;
* ``np.asarray(t)`` / ``t.__array__()`` returns the data (and a cast to an integer dtype,
  ``np.int64(t)``, always does: it carries no gradient by intent), except while a transform
  (``grad``, ``jacobian``, ...) evaluates its function and ``t`` requires grad: then it
  raises, because the value handed out would carry no gradient (JAX's rule for tracers;
  PyTorch raises always).  ``t.data`` / ``t.detach()`` / ``autograd.tracer.getval(t)`` take
  the value on purpose.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

import numpy as np

from . import graph as _graph
from .errors import UnsupportedFunctionError, InPlaceError, GraphError

__all__ = ["array_ufunc", "array_function", "check_array_conversion", "np_dot", "lookup"]

_TABLE: dict = {}
_MISSING = object()
#: numpy names whose autograd spelling differs
_ALIASES = {"absolute": "abs", "true_divide": "divide", "amax": "max", "amin": "min",
            "round_": "round", "around": "round", "concat": "concatenate", "pow": "power",
            "permute_dims": "transpose"}
#: ufunc methods with a differentiable meaning: (ufunc name, method) -> autograd name
_METHODS = {("add", "reduce"): "sum", ("maximum", "reduce"): "max", ("minimum", "reduce"): "min",
            ("multiply", "reduce"): "prod", ("add", "accumulate"): "cumsum",
            ("multiply", "accumulate"): "cumprod"}


def _namespace(module: str):
    """The autograd module standing for numpy module ``module`` (None when absent)."""
    sub = module[len("numpy"):].lstrip(".")
    sub = sub.replace("_core", "").replace("core", "").strip(".")
    for prefix in ("linalg", "fft"):
        if sub.startswith(prefix):
            sub = prefix
            break
    else:
        sub = ""
    try:
        return importlib.import_module("autograd.numpy" + ("." + sub if sub else ""))
    except ImportError:
        return None


def lookup(func: Any, name: Optional[str] = None) -> Optional[Callable]:
    """This library's implementation of numpy function ``func`` (None: not differentiable here)."""
    key = func if name is None else (func, name)
    impl = _TABLE.get(key, _MISSING)
    if impl is _MISSING:
        impl = _find(func, name)
        _TABLE[key] = impl
    return impl


def _find(func: Any, name: Optional[str]) -> Optional[Callable]:
    import autograd
    fname = name or getattr(func, "__name__", None)
    if fname is None:
        return None
    module = getattr(func, "__module__", None) or "numpy"
    ns = _namespace(module)
    names = (fname, _ALIASES.get(fname, fname))
    if ns is not None:
        for n in names:
            impl = getattr(ns, n, None)
            if impl is not None and impl is not func and _differentiable(impl):
                return impl
    if module.startswith("numpy.linalg") or module.startswith("numpy.fft"):
        return None
    for n in names:
        if n in autograd.OPS and n not in _NOT_NUMPY:
            impl = getattr(autograd, n, None)
            if callable(impl) and _differentiable(impl):
                return impl
    if fname == "dot":
        return np_dot
    return None


#: OPS names that are not the numpy function of the same name
_NOT_NUMPY = frozenset({"identity", "getitem", "astype"})


def _differentiable(f: Any) -> bool:
    """Not numpy's own function, nor autograd.numpy's guard around one."""
    from .registry import Primitive
    if isinstance(f, Primitive):
        return True
    return not _is_numpy(f) and getattr(f, "numpy_function", None) is None


def _is_numpy(f: Any) -> bool:
    mod = getattr(f, "__module__", None) or ""
    return mod == "numpy" or mod.startswith("numpy.") or isinstance(f, np.ufunc)


# --------------------------------------------------------------------------- helpers
def _tensor():
    from .tensor import Tensor
    return Tensor


def _flat(x: Any, out: list) -> None:
    if isinstance(x, (list, tuple)):
        for e in x:
            _flat(e, out)
    elif isinstance(x, dict):
        for e in x.values():
            _flat(e, out)
    else:
        out.append(x)


def _needs_grad(args: tuple, kwargs: dict) -> bool:
    T = _tensor()
    flat: list = []
    _flat(args, flat)
    _flat(kwargs, flat)
    return _graph.MODE.grad and any(isinstance(a, T) and a._rg for a in flat)


def _to_data(x: Any) -> Any:
    T = _tensor()
    if isinstance(x, T):
        return x._data
    if isinstance(x, list):
        return [_to_data(e) for e in x]
    if isinstance(x, tuple):
        return tuple(_to_data(e) for e in x)
    if isinstance(x, dict):
        return {k: _to_data(v) for k, v in x.items()}
    return x


def _float_result(r: Any) -> bool:
    if isinstance(r, (tuple, list)):
        return any(_float_result(e) for e in r)
    if isinstance(r, (np.ndarray, np.generic)):
        return r.dtype.kind in "fc"
    return isinstance(r, (float, complex))


def _unsupported(what: str) -> UnsupportedFunctionError:
    return UnsupportedFunctionError(
        f"{what} has no differentiable implementation here and was given a tensor that "
        f"requires grad; numpy would drop the gradient. Use autograd.numpy (import "
        f"autograd.numpy as np), define a primitive (autograd.extend.primitive), or pass "
        f"t.detach() / t.data to compute without a gradient")


def _run_on_data(func: Callable, what: str, args: tuple, kwargs: dict) -> Any:
    grad_in = _needs_grad(args, kwargs)
    r = func(*_to_data(args), **_to_data(kwargs))
    if grad_in and _float_result(r):
        raise _unsupported(what)
    return r


def _drop_none(kwargs: dict, what: str, grad_in: bool) -> dict:
    out = kwargs.get("out")
    if out is not None:
        if grad_in:
            raise InPlaceError(f"{what}: out= cannot hold a result that requires grad (the "
                               f"array would carry no gradient); assign the returned tensor")
        return kwargs
    return {k: v for k, v in kwargs.items()
            if not ((k in ("out", "dtype", "where", "casting", "order", "subok", "signature")
                     and v is None) or (k == "casting" and v == "same_kind")
                    or (k == "subok" and v is True))}


# --------------------------------------------------------------------------- the protocols
def array_ufunc(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """``Tensor.__array_ufunc__``: a ufunc (or its ``reduce``...) on tensors."""
    if not kwargs and method == "__call__":          # the common case, first
        impl = _TABLE.get(ufunc)
        if impl is not None:
            return impl(*inputs)
    grad_in = _needs_grad(inputs, kwargs)
    what = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if method == "__call__":
        impl = lookup(ufunc)
    else:
        name = _METHODS.get((ufunc.__name__, method))
        impl = None
        if name is not None:
            import autograd
            impl = getattr(autograd, name, None) or getattr(_namespace("numpy"), name, None)
    kw = _drop_none(kwargs, what, grad_in)
    if impl is None or "out" in kw or (set(kw) - {"axis", "keepdims"}):
        if "out" in kw:
            out = kw["out"]
            kw = dict(kw, out=tuple(_to_data(o) for o in out) if isinstance(out, tuple) else _to_data(out))
        return _run_on_data(getattr(ufunc, method), what, inputs, kw)
    return impl(*inputs, **kw)


def array_function(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_function__``: a numpy function called with tensors among its args."""
    if not kwargs:                                    # the common case, first
        impl = _TABLE.get(func)
        if impl is not None:
            return impl(*args)
    what = f"{getattr(func, '__module__', 'numpy') or 'numpy'}.{func.__name__}"
    impl = lookup(func)
    grad_in = _needs_grad(args, kwargs)
    kw = _drop_none(kwargs, what, grad_in)
    if impl is None or "out" in kw:
        return _run_on_data(func, what, args, kw)
    return impl(*args, **kw)


def check_array_conversion(t: Any, dtype: Any = None) -> None:
    """Raise when ``np.asarray(t)`` would hand out the data of a tensor being differentiated
    (a cast to an integer or bool dtype, ``np.int64(t)``, carries no gradient by intent)."""
    if dtype is not None and np.dtype(dtype).kind in "biu":
        return
    if t._rg and _graph.MODE.grad:
        from .transforms import _NESTING
        if _NESTING.depth > 0:
            raise GraphError(
                f"np.asarray/__array__ on a tensor that requires grad (shape {t.shape}) inside "
                f"a transform (grad, jacobian, ...): the array would carry no gradient. Use "
                f"autograd.numpy functions on the tensor, or t.data / t.detach() for the value "
                f"on purpose")


# --------------------------------------------------------------------------- dot
def np_dot(a: Any, b: Any) -> Any:
    """numpy's ``dot``: scalars multiply, 1-d/2-d as ``matmul``, N-d sums the last axis of
    ``a`` with the second-to-last of ``b`` (result ``a.shape[:-1] + b.shape[:-2] +
    b.shape[-1:]``).  The ``dot`` primitive of ``autograd.numpy`` when it exists, else
    exact compositions of matmul, transpose and reshape."""
    import autograd
    prim = autograd.OPS.get("dot")
    if prim is not None:
        return prim(a, b)
    from .ops import multiply, matmul, reshape, transpose
    na, nb = np.ndim(getattr(a, "_data", a)), np.ndim(getattr(b, "_data", b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb <= 2 or na == 1:
        return matmul(a, b)
    sa, sb = np.shape(getattr(a, "_data", a)), np.shape(getattr(b, "_data", b))
    bt = transpose(b, (nb - 2,) + tuple(range(nb - 2)) + (nb - 1,))   # K first
    b2 = reshape(bt, (sb[-2], -1))
    return reshape(matmul(a, b2), sa[:-1] + sb[:-2] + sb[-1:])
