"""Tensor: a numpy array that remembers how it was made.

``Tensor(data, requires_grad=False, dtype=None)`` wraps ``np.asarray(data, dtype)`` (python
scalars and lists follow numpy: float64).  Operators and methods call the primitives in
``autograd.ops``; with grad mode on and an input that requires grad, each call records a
:class:`~autograd.graph.Node`, and ``backward()`` walks those nodes in reverse.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import graph as _graph
from .errors import DTypeError, InPlaceError, ShapeError, GraphError, ArgumentTypeError
from . import registry as _registry
from . import interop as _interop

__all__ = ["Tensor", "tensor"]

F: Any = None  # the ops namespace, bound by autograd.ops at import (import cycle)

_FLOAT_KINDS = "fc"      # the kinds that can require grad: float and complex
_DATA_KINDS = "biufc"


def _check_dtype(arr: np.ndarray, where: str) -> None:
    if arr.dtype.kind not in _DATA_KINDS:
        raise DTypeError(f"{where}: unsupported dtype {arr.dtype} (shape {arr.shape}); tensors hold "
                         f"float, complex, integer or bool data")


class Tensor:
    """An n-d array (numpy) with an optional gradient.

    Parameters
    ----------
    data : array_like
        Anything ``np.asarray`` takes; a 0-d array makes a scalar.  Not copied when it is
        already an ndarray of the requested dtype.
    requires_grad : bool
        Whether gradients should flow to this tensor (float and complex dtypes only).
    dtype : numpy dtype, optional
        float32 and float64 are first-class; integer and bool tensors hold labels, masks and
        indices and cannot require grad.

    Attributes
    ----------
    data : ndarray        the values (assigning a new array counts as an in-place change)
    grad : ndarray | None the accumulated gradient, same shape and dtype; None until a backward
                          reaches it
    """

    __slots__ = ("_data", "grad", "_rg", "_node", "_version", "name", "_base", "_saved",
                 "__weakref__")
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        base = None
        if isinstance(data, Tensor):
            base = data._base if data._base is not None else data
            data = data._data
        try:
            arr = np.asarray(data, dtype=dtype)
        except (ValueError, TypeError) as e:
            raise DTypeError(f"Tensor: cannot make an array from {type(data).__name__} ({e})") from None
        _check_dtype(arr, "Tensor")
        self._data = arr
        self.grad: Optional[np.ndarray] = None
        self._rg = False
        self._node = None
        self._version = 0
        self.name: Optional[str] = None
        self._base = base if arr is data else None   # sharing a tensor's array: an alias
        self._saved = 0
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data: np.ndarray, node: Any = None) -> "Tensor":
        """Fast constructor for op results (no checks)."""
        t = object.__new__(Tensor)
        t._data = data
        t.grad = None
        t._rg = node is not None
        t._node = node
        t._version = 0
        t.name = None
        t._base = None
        t._saved = 0
        return t

    # ------------------------------------------------------------------ properties
    # ------------------------------------------------------------------ aliases
    # A tensor made by detach(), Tensor(t) or a view op (getitem, reshape, ...) shares its
    # base's memory: ``_base`` is the root tensor of that family.  The root's ``_version`` is
    # the family's (every in-place write through any member bumps it; a node checks it) and
    # the root's ``_saved`` counts the live nodes holding a member: while positive, the
    # numpy handles this class gives out (.data, .numpy(), np.asarray) are read-only views,
    # so a write that the version could not see fails at once instead of corrupting a
    # gradient.  (An array obtained earlier, or the caller's own array a tensor wraps, is
    # numpy's and stays writable: do not write into it between forward and backward.)
    def _root(self) -> "Tensor":
        return self._base if self._base is not None else self

    def _handle(self) -> np.ndarray:
        """``_data``, or a read-only view of it while a live node holds this storage."""
        a = self._data
        r = self._base if self._base is not None else self
        if r._saved and a.flags.writeable:
            a = a.view()
            a.flags.writeable = False
        return a

    def _bump(self) -> None:
        """Record an in-place write (own version and the family's)."""
        self._version += 1
        if self._base is not None:
            self._base._version += 1

    def _before_write(self) -> None:
        """The node that made this tensor (or its base) keeps its own copy of the output, so
        an in-place write does not change what that node's vjp reads."""
        for t in (self, self._base):
            node = t._node if t is not None else None
            if node is not None and node.out is not None and np.may_share_memory(node.out, self._data):
                node.out = node.out.copy()

    @property
    def data(self) -> np.ndarray:
        """The values as an ndarray sharing this tensor's memory (read-only while a recorded
        graph holds them for backward; write under ``no_grad()`` after backward)."""
        return self._handle()

    @data.setter
    def data(self, value: Any) -> None:
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        _check_dtype(arr, "Tensor.data")
        if self._rg and arr.dtype.kind not in _FLOAT_KINDS:
            raise DTypeError(f"Tensor.data: a tensor that requires grad needs float or complex data, "
                             f"got {arr.dtype}")
        self._before_write()
        self._data = arr
        self._bump()

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag:
            kind = self._data.dtype.kind
            if kind not in _FLOAT_KINDS:
                raise DTypeError(f"Tensor: only float or complex tensors can require grad, this "
                                 f"one is {self._data.dtype} (shape {self._data.shape})")
            if kind == "c":
                _registry.complex_seen()
        if not flag and self._node is not None:
            raise GraphError("Tensor: requires_grad can only be turned off on a leaf tensor; use .detach()")
        self._rg = bool(flag)

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def op(self) -> Optional[str]:
        """Name of the primitive that made this tensor (None for a leaf)."""
        return self._node.prim.name if self._node is not None else None

    @property
    def T(self) -> "Tensor":
        return F.transpose(self)

    def item(self) -> Any:
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied; read-only while a graph holds it)."""
        return self._handle()

    def tolist(self) -> Any:
        return self._data.tolist()

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data (and version counter), cut from the graph
        (requires_grad=False): an in-place change through it is seen by backward."""
        t = Tensor._make(self._data)
        t._base = self._base if self._base is not None else self
        return t

    def retain_grad(self) -> "Tensor":
        """Fill ``.grad`` of this non-leaf tensor on backward (leaves get it anyway)."""
        if self._node is not None:
            _graph.retain(self._node, self)
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad: Any = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        grad : array_like of self's shape; may be omitted for a single-element tensor (seed 1)
        retain_graph : keep saved values for another backward (default: create_graph)
        create_graph : record the backward pass itself (``.grad`` become Tensors), for
                       higher-order gradients
        """
        _graph.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def astype(self, dtype: Any) -> "Tensor":
        return F.astype(self, dtype)

    # ------------------------------------------------------------------ python protocol
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise ArgumentTypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise ArgumentTypeError("iteration over a 0-d tensor")
        for i in range(len(self._data)):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self._rg:
            _interop.check_array_conversion(self, dtype)   # no silent loss inside a transform
        a = self._data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else self._handle()

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        if self._rg:
            _interop.check_array_conversion(self)   # float(t) inside a transform: no silent loss
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub":
            raise ArgumentTypeError(f"only integer tensors can be used as an index, not {self._data.dtype}")
        return int(self._data)

    def __format__(self, spec: str) -> str:
        return format(self._data, spec) if self._data.ndim == 0 else format(str(self), spec)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(", threshold=50)
        extra = []
        if self._data.dtype not in (np.float64, np.int64, np.bool_):
            extra.append(f"dtype={self._data.dtype}")
        if self._node is not None:
            extra.append(f"op={self._node.prim.name}")
        elif self._rg:
            extra.append("requires_grad=True")
        return f"Tensor({body}{''.join(', ' + e for e in extra)})"

    __str__ = __repr__

    # ------------------------------------------------------------------ operators
    def __add__(self, o): return F.add(self, o)
    def __radd__(self, o): return F.add(o, self)
    def __sub__(self, o): return F.subtract(self, o)
    def __rsub__(self, o): return F.subtract(o, self)
    def __mul__(self, o): return F.multiply(self, o)
    def __rmul__(self, o): return F.multiply(o, self)
    def __truediv__(self, o): return F.divide(self, o)
    def __rtruediv__(self, o): return F.divide(o, self)
    def __pow__(self, o): return F.power(self, o)
    def __rpow__(self, o): return F.power(o, self)
    def __matmul__(self, o): return F.matmul(self, o)
    def __rmatmul__(self, o): return F.matmul(o, self)
    def __neg__(self): return F.negative(self)
    def __pos__(self): return self
    def __abs__(self): return F.abs(self)
    def __getitem__(self, idx): return F.getitem(self, idx)
    def __mod__(self, o): return F.mod(self, o)
    def __rmod__(self, o): return F.mod(o, self)

    # comparisons: elementwise, bool tensors that never require grad
    def _cmp(self, o, fn):
        od = o._data if isinstance(o, Tensor) else o
        try:
            return Tensor._make(np.asarray(fn(self._data, od)))
        except ValueError as e:
            raise ShapeError(f"{fn.__name__}: {e} (shapes {self.shape} and {np.shape(od)})") from None
    def __eq__(self, o): return self._cmp(o, np.equal)  # type: ignore[override]
    def __ne__(self, o): return self._cmp(o, np.not_equal)  # type: ignore[override]
    def __lt__(self, o): return self._cmp(o, np.less)
    def __le__(self, o): return self._cmp(o, np.less_equal)
    def __gt__(self, o): return self._cmp(o, np.greater)
    def __ge__(self, o): return self._cmp(o, np.greater_equal)

    # in-place operators and item assignment: truly in place (the same object, the same
    # memory), with PyTorch's rules.  A leaf that requires grad is changed only under
    # no_grad() (parameters); a non-leaf (or a tensor given a value that requires grad) is
    # written in place and the write is recorded (its node becomes the op's); either way the
    # version is bumped so a node that saved the old values refuses to backward.
    def _refuse_leaf(self, name: str) -> None:
        if self._rg and self._node is None and _graph.MODE.grad:
            label = f" {self.name!r}" if self.name else ""
            raise InPlaceError(
                f"{name}: in-place change of a leaf tensor{label} that requires grad (shape "
                f"{self.shape}, dtype {self.dtype}) while grad mode is on; wrap the update in "
                f"`with autograd.no_grad():` (as an optimizer step does), or write "
                f"`x = x {name[:-1] if name.endswith('=') else '+'} ...` for a new tensor")

    def _write_recorded(self, out: "Tensor", name: str) -> "Tensor":
        """Store ``out`` (a recorded result of this tensor's shape) into this tensor's memory
        and make this tensor that result."""
        if out.shape != self.shape:
            raise ShapeError(f"{name}: the result has shape {out.shape}, the tensor written in "
                             f"place has shape {self.shape}")
        if out.dtype != self.dtype:
            out = F.astype(out, self.dtype)
        node = out._node
        if node is not None and node.saved:        # the op's own vjp reads the old values:
            node.args = [a.copy() if isinstance(a, np.ndarray) and a is self._data else a
                         for a in node.args]       # give it a copy before they go
        self._before_write()
        try:
            np.copyto(self._data, out._data, casting="same_kind")
        except ValueError as e:
            raise InPlaceError(f"{name}: cannot write into this tensor's array ({e}; shape "
                               f"{self.shape}, dtype {self.dtype})") from None
        self._bump()
        if node is not None:
            node.out = out._data               # the node's own copy of the result
            r = self._root()
            node.versions = [r._version if t._root() is r else v
                             for t, v in zip(node.saved, node.versions)]
            self._node = node
            self._rg = True
        return self

    def _inplace(self, o, fn, prim, name):
        self._refuse_leaf(name)
        if _graph.MODE.grad and (self._node is not None or (isinstance(o, Tensor) and o._rg)):
            return self._write_recorded(prim(self, o), name)
        od = o._data if isinstance(o, Tensor) else o
        self._before_write()
        try:
            fn(self._data, od, out=self._data)
        except (TypeError, ValueError) as e:
            raise ShapeError(f"{name}: {e} (shape {self.shape}, dtype {self.dtype} with "
                             f"shape {np.shape(od)}, dtype {getattr(od, 'dtype', type(od).__name__)})") from None
        self._bump()
        return self
    def __iadd__(self, o): return self._inplace(o, np.add, F.add, "+=")
    def __isub__(self, o): return self._inplace(o, np.subtract, F.subtract, "-=")
    def __imul__(self, o): return self._inplace(o, np.multiply, F.multiply, "*=")
    def __itruediv__(self, o): return self._inplace(o, np.divide, F.divide, "/=")

    def __setitem__(self, idx, value) -> None:
        self._refuse_leaf("__setitem__ (t[...] = v)")
        if isinstance(idx, Tensor):
            idx = idx._data
        if isinstance(value, Tensor):
            if value._rg and _graph.MODE.grad:
                raise InPlaceError("__setitem__: assigning a tensor that requires grad would lose its "
                                   "gradient; use where() or concatenate()")
            value = value._data
        if self._node is not None and _graph.MODE.grad:
            # recorded: where(mask, new values, self), then written in place
            mask = np.zeros(self.shape, dtype=bool)
            vals = np.zeros(self.shape, dtype=self.dtype)
            try:
                mask[idx] = True
                vals[idx] = value
            except IndexError as e:
                from .errors import IndexOutOfRangeError
                raise IndexOutOfRangeError(f"__setitem__: {e} (shape {self.shape})") from None
            except (TypeError, ValueError) as e:
                raise ShapeError(f"__setitem__: {e} (shape {self.shape}, value shape "
                                 f"{np.shape(value)})") from None
            self._write_recorded(F.where(mask, vals, self), "__setitem__")
            return
        self._before_write()
        try:
            self._data[idx] = value
        except IndexError as e:
            from .errors import IndexOutOfRangeError
            raise IndexOutOfRangeError(f"__setitem__: {e} (shape {self.shape})") from None
        except (TypeError, ValueError) as e:
            raise ShapeError(f"__setitem__: {e} (shape {self.shape}, dtype {self.dtype}, value "
                             f"shape {np.shape(value)})") from None
        self._bump()

    # ------------------------------------------------------------------ methods (numpy names)
    def sum(self, axis=None, keepdims=False): return F.sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return F.mean(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return F.max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return F.min(self, axis=axis, keepdims=keepdims)
    def var(self, axis=None, keepdims=False, ddof=0):
        return F.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return F.transpose(self, tuple(axes) if axes else None)

    def flatten(self): return F.reshape(self, (-1,))
    def ravel(self): return F.reshape(self, (-1,))
    def squeeze(self, axis=None): return F.squeeze(self, axis)
    def expand_dims(self, axis): return F.expand_dims(self, axis)
    def clip(self, a_min=None, a_max=None): return F.clip(self, a_min, a_max)
    def exp(self): return F.exp(self)
    def log(self): return F.log(self)
    def sqrt(self): return F.sqrt(self)
    def sin(self): return F.sin(self)
    def cos(self): return F.cos(self)
    def tanh(self): return F.tanh(self)
    def sigmoid(self): return F.sigmoid(self)
    def relu(self): return F.relu(self)
    def leaky_relu(self, negative_slope=0.01): return F.leaky_relu(self, negative_slope=negative_slope)
    def softmax(self, axis=-1): return F.softmax(self, axis=axis)
    def log_softmax(self, axis=-1): return F.log_softmax(self, axis=axis)
    def logsumexp(self, axis=None, keepdims=False): return F.logsumexp(self, axis=axis, keepdims=keepdims)
    def dot(self, o):
        """numpy's ``dot`` (not ``matmul``): a scalar scales, 1-d . 1-d is the inner product,
        otherwise the last axis of ``self`` is summed against the second-to-last of ``o`` (its
        only axis when ``o`` is 1-d)."""
        return _interop.np_dot(self, o)
    def argmax(self, axis=None): return Tensor._make(np.asarray(self._data.argmax(axis=axis)))
    def argmin(self, axis=None): return Tensor._make(np.asarray(self._data.argmin(axis=axis)))


    # numpy's dispatch protocols (NEP 13/18): numpy functions on tensors call the
    # library's primitives; see autograd/interop.py for the rules
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _interop.array_ufunc(self, ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _interop.array_function(self, func, types, args, kwargs)


_registry.Tensor = Tensor


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """``Tensor(data, requires_grad, dtype)``, as a function."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
