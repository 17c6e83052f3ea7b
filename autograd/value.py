"""Value: the micrograd-style scalar, with a fast path on Python floats.

``Value(x)`` for a real scalar ``x`` holds a Python float.  Arithmetic between Values and
Python numbers (``+ - * / **``, ``-v``, ``relu``, ``tanh``, ``exp``, ``log``, ``sigmoid``) runs
on floats and records a tiny node per operation: the parents that need a gradient and the
local derivatives, taken when the operation runs.  ``backward()`` is iterative and touches
no numpy.  So a scalar graph costs a few Python objects per operation and no closures (no
reference cycles for the garbage collector to chase).

A Value is still a :class:`~autograd.tensor.Tensor` to the rest of the library: mixing it
with tensors, calling any other primitive on it (``ag.sin(v)``), ``gradcheck``, drawing, or a
``backward(create_graph=True)`` replays its scalar graph once through the library's
primitives (the same forward, now as recorded :class:`~autograd.graph.Node` s) and goes on
from there.  The replay refuses, with :class:`~autograd.errors.InPlaceError`, a graph whose
leaf Values were changed after use (its numbers would no longer be the ones computed).

Differences from Tensor, on purpose and documented:

- ``v.data`` is a ``numpy.float64`` scalar (a number, as micrograd's ``data`` is); assigning
  ``v.data = ...`` (or ``v.data -= lr * v.grad``) changes the Value.
- ``v.grad`` of a leaf is a 0-d float64 ndarray (None before any backward), accumulated over
  backward calls as for tensors.
- the scalar graph is not released by ``backward``: calling it again adds the gradient
  again, as micrograd does (``retain_graph`` has nothing to keep).  Derivatives are taken at
  forward time, so changing a leaf's data after building the graph does not change what
  this graph's backward computes.
- ``Value(array)`` of anything but a real scalar (or float32 data) is a plain Tensor that
  requires grad, which is what Value was before this fast path.
"""
from __future__ import annotations

import itertools
import math
import weakref
from typing import Any

import numpy as np

from . import graph as _graph
from .errors import ArgumentTypeError, DTypeError, InPlaceError, ShapeError
from .tensor import Tensor

__all__ = ["Value"]

_MODE = _graph.MODE
_new = object.__new__
_tick = itertools.count(1).__next__      # creation order: a topological order of any graph
_NUM = (float, int, np.float64)
_RETAINED: "weakref.WeakSet[Value]" = weakref.WeakSet()
_NOARG = object()     # the missing second operand of a unary operation
#: The scalar compiler's recorder while ``autograd.jit`` traces a function of Values (see
#: ``autograd/jit/scalar.py``), else None.  The hooks below cost one global test each and sit
#: off the arithmetic path (the trace swaps ``_mk`` itself, so operations pay nothing).
_TRACE = None


def _tracing():
    """The recorder if this thread is tracing (and the trace is still usable), else None."""
    t = _TRACE
    return t if t is not None and t.on() else None


def _num(o: Any):
    """``o`` as a float if it is a plain real number the fast path takes, else None."""
    t = type(o)
    if t is float or t is int or t is np.float64:
        return float(o)
    return None


def _np(fn, *a) -> float:
    """numpy's answer where Python's float arithmetic raises or turns complex (overflow,
    division by zero, log of 0, a negative base to a fractional power): inf/nan as for
    tensors, with numpy's warnings."""
    return float(fn(*(np.float64(x) for x in a)))


class Value(Tensor):
    """A scalar that requires grad by default: the micrograd-style entry point.

    ``a = Value(-4.0); b = Value(2.0); d = a * b + b**3; d.backward(); a.grad`` ->
    ``array(2.)``.

    Parameters
    ----------
    data : a real scalar (Python int/float, numpy float64 or a 0-d float64 array).  Anything
        else (arrays, float32) gives a plain :class:`Tensor` with ``requires_grad``.
    requires_grad : bool, default True.
    """

    # _v: the float.  A result also has _op (the primitive's name) and its operands _a, _b
    # (for the replay), and the parents that take a gradient, _pa and _pb, with the local
    # derivatives _da and _db (a parent that takes none is the sink).  No tuples, no closures:
    # one object per operation for the garbage collector to look at.  _g: gradient during a
    # backward; _ep: creation tick (a leaf: tick of its last data change); _rgv: requires grad;
    # _ga: a leaf's .grad; _mnode: the replayed Node, once made.
    __slots__ = ("_v", "_g", "_op", "_a", "_b", "_pa", "_da", "_pb", "_db", "_ep", "_rgv",
                 "_ga", "_mnode")

    def __new__(cls, data: Any = 0.0, requires_grad: bool = True, dtype: Any = None):
        if cls is Value and _scalar(data, dtype) is None:
            return Tensor(data, requires_grad=requires_grad, dtype=np.float64 if dtype is None
                          and np.asarray(data).dtype.kind in "biu" else dtype)
        return _new(cls)

    def __init__(self, data: Any = 0.0, requires_grad: bool = True, dtype: Any = None) -> None:
        self._v = _scalar(data, dtype)
        self._g = self._da = self._db = 0.0
        self._op = self._a = self._b = self._pa = self._pb = None
        self._ep = _tick()
        self._rgv = bool(requires_grad)
        self._ga = self._mnode = None
        self._version = 0
        self.name = None
        self._base = None
        self._saved = 0
        if _TRACE is not None:
            _TRACE.on_leaf(self, data)

    # ------------------------------------------------------------------ Tensor's fields
    @property
    def _data(self) -> np.ndarray:                          # type: ignore[override]
        if _TRACE is not None:
            _TRACE.concrete(self, "used as an array")
        a = np.array(self._v)
        a.flags.writeable = False       # a copy: writing into it would change nothing
        return a

    @_data.setter
    def _data(self, arr: Any) -> None:
        self._set(arr)

    @property
    def data(self) -> np.float64:                           # type: ignore[override]
        """The value, a numpy float64 scalar; assign to change it."""
        t = _tracing()
        if t is not None:
            return t.read_data(self)
        return np.float64(self._v)

    @data.setter
    def data(self, value: Any) -> None:
        self._set(value)

    def _set(self, value: Any) -> None:
        if self._op is not None:
            raise InPlaceError(f"Value.data: this Value is the result of {self._op}; only a leaf "
                               f"Value's data can be assigned (rebuild the expression instead)")
        t = _tracing()
        if t is not None and t.write_data(self, value):
            return
        v = _scalar(value._data if isinstance(value, Tensor) else value, None)
        if v is None:
            raise ShapeError(f"Value.data: a Value holds one real number, got "
                             f"{type(value).__name__} of shape {np.shape(value)}")
        self._v = v
        self._ep = _tick()
        self._version += 1

    @property
    def grad(self):                                         # type: ignore[override]
        t = _tracing()
        if t is not None:
            return t.read_grad(self)
        return self._ga

    @grad.setter
    def grad(self, g: Any) -> None:
        t = _tracing()
        if t is not None:
            t.write_grad(self, g)
        if g is not None and not isinstance(g, Tensor):
            g = np.array(g, dtype=np.float64)
            if g.shape != ():
                raise ShapeError(f"Value.grad: a Value's gradient is a scalar, got shape {g.shape}")
        self._ga = g

    @property
    def _rg(self) -> bool:                                  # type: ignore[override]
        return self._rgv

    @_rg.setter
    def _rg(self, flag: bool) -> None:
        self._rgv = bool(flag)

    @property
    def _node(self):                                        # type: ignore[override]
        if self._op is None or not self._rgv:
            return None
        if _TRACE is not None:
            _TRACE.concrete(self, "handed to the tensor engine")
        return self._mnode if self._mnode is not None else _replay(self)

    @property
    def shape(self) -> tuple:
        return ()

    @property
    def ndim(self) -> int:
        return 0

    @property
    def size(self) -> int:
        return 1

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64)

    def item(self) -> float:
        if _TRACE is not None:
            _TRACE.concrete(self, "converted to a Python number (.item())")
        return self._v

    def __float__(self) -> float:
        if _TRACE is not None:
            _TRACE.concrete(self, "converted to a Python number (float())")
        return self._v

    def __bool__(self) -> bool:
        if _TRACE is not None:
            _TRACE.concrete(self, "used as a truth value (Python control flow)")
        return self._v != 0.0

    def __repr__(self) -> str:
        extra = f", op={self._op}" if self._op is not None and self._rgv else (
            "" if self._rgv or self._op is not None else ", requires_grad=False")
        return f"Value({self._v!r}{extra})"

    __str__ = __repr__

    def detach(self) -> "Value":
        return Value(self, requires_grad=False)

    def retain_grad(self) -> "Value":
        if _TRACE is not None:
            _TRACE.concrete(self, "asked to retain its gradient")
        if self._op is not None and self._rgv:
            _RETAINED.add(self)
        return self

    # ------------------------------------------------------------------ fast operations
    # Each: the float result, then _mk(result, primitive, operands, parent/derivative pairs).
    def __add__(self, o):                       # d(a + b) = da + db
        if type(o) is Value:
            return _mk(self._v + o._v, "add", self, o, _p(self), 1.0, _p(o), 1.0)
        b = _num(o)
        if b is None:
            return Tensor.__add__(self, o)
        return _mk(self._v + b, "add", self, o, _p(self), 1.0, _SINK, 0.0)

    def __radd__(self, o):
        b = _num(o)
        if b is None:
            return Tensor.__radd__(self, o)
        return _mk(b + self._v, "add", o, self, _SINK, 0.0, _p(self), 1.0)

    def __sub__(self, o):                       # d(a - b) = da - db
        if type(o) is Value:
            return _mk(self._v - o._v, "subtract", self, o, _p(self), 1.0, _p(o), -1.0)
        b = _num(o)
        if b is None:
            return Tensor.__sub__(self, o)
        return _mk(self._v - b, "subtract", self, o, _p(self), 1.0, _SINK, 0.0)

    def __rsub__(self, o):
        b = _num(o)
        if b is None:
            return Tensor.__rsub__(self, o)
        return _mk(b - self._v, "subtract", o, self, _SINK, 0.0, _p(self), -1.0)

    def __mul__(self, o):                       # d(ab) = b da + a db
        a = self._v
        if type(o) is Value:
            b = o._v
            return _mk(a * b, "multiply", self, o, _p(self), b, _p(o), a)
        b = _num(o)
        if b is None:
            return Tensor.__mul__(self, o)
        return _mk(a * b, "multiply", self, o, _p(self), b, _SINK, 0.0)

    def __rmul__(self, o):
        b = _num(o)
        if b is None:
            return Tensor.__rmul__(self, o)
        return _mk(b * self._v, "multiply", o, self, _SINK, 0.0, _p(self), b)

    def __truediv__(self, o):                   # d(a/b) = da/b - (a/b) db/b
        if type(o) is Value:
            b = o._v
        else:
            b = _num(o)
            if b is None:
                return Tensor.__truediv__(self, o)
        v, inv = _div(self._v, b)
        return _mk(v, "divide", self, o, _p(self), inv, _p(o) if type(o) is Value else _SINK, -v * inv)

    def __rtruediv__(self, o):                  # d(b/a)/da = -(b/a)/a
        b = _num(o)
        if b is None:
            return Tensor.__rtruediv__(self, o)
        v, inv = _div(b, self._v)
        return _mk(v, "divide", o, self, _SINK, 0.0, _p(self), -v * inv)

    def __pow__(self, o):                       # d(a**n)/da = n a**(n-1); a Value exponent: general path
        n = _num(o)
        if n is None:
            return Tensor.__pow__(self, o)
        a = self._v
        try:
            v = a ** n
            d = n * a ** (n - 1.0) if n != 0.0 else 0.0
            if type(v) is complex or type(d) is complex:
                raise ValueError
        except (ArithmeticError, ValueError):
            v = _np(np.power, a, n)
            d = _np(_pow_d, a, n)
        return _mk(v, "power", self, o, _p(self), d, _SINK, 0.0)

    def __neg__(self):
        return _mk(-self._v, "negative", self, _NOARG, _p(self), -1.0, _SINK, 0.0)

    def relu(self):                             # d relu(a) = (a > 0) da
        a = self._v
        if a > 0.0:
            return _mk(a, "relu", self, _NOARG, _p(self), 1.0, _SINK, 0.0)
        return _mk(a if a != a else 0.0, "relu", self, _NOARG, _p(self), 0.0, _SINK, 0.0)

    def tanh(self):                             # d tanh(a) = (1 - tanh(a)^2) da
        t = math.tanh(self._v)
        return _mk(t, "tanh", self, _NOARG, _p(self), 1.0 - t * t, _SINK, 0.0)

    def exp(self):                              # d exp(a) = exp(a) da
        try:
            e = math.exp(self._v)
        except OverflowError:
            e = math.inf
        return _mk(e, "exp", self, _NOARG, _p(self), e, _SINK, 0.0)

    def log(self):                              # d log(a) = da / a
        a = self._v
        if a > 0.0:
            return _mk(math.log(a), "log", self, _NOARG, _p(self), 1.0 / a, _SINK, 0.0)
        return _mk(_np(np.log, a), "log", self, _NOARG, _p(self), _np(np.divide, 1.0, a), _SINK, 0.0)

    def sigmoid(self):                          # d s(a) = s (1 - s) da
        s = 0.5 * (1.0 + math.tanh(0.5 * self._v))
        return _mk(s, "sigmoid", self, _NOARG, _p(self), s * (1.0 - s), _SINK, 0.0)

    # in-place operators: a leaf's data under no_grad; rebinding for results (micrograd's `c += 1`)
    def _inplace_op(self, o, op: str):
        if self._op is not None:
            return NotImplemented
        if self._rgv and _MODE.grad:
            raise InPlaceError(f"{op}: in-place change of a Value that requires grad; wrap the "
                               f"update in `with autograd.no_grad():` or assign v.data")
        b = o._v if type(o) is Value else _num(o)
        if b is None:
            raise ArgumentTypeError(f"{op}: a Value changes in place by a real number, got "
                                    f"{type(o).__name__}")
        t = _tracing()
        if t is not None:           # recorded as the operation, then an assignment
            r = (Value.__add__ if op == "+=" else Value.__sub__ if op == "-=" else
                 Value.__mul__ if op == "*=" else Value.__truediv__)(self, o)
            self._set(r)
            return self
        a = self._v
        self._set(a + b if op == "+=" else a - b if op == "-=" else a * b if op == "*=" else _div(a, b)[0])
        return self

    def __iadd__(self, o): return self._inplace_op(o, "+=")
    def __isub__(self, o): return self._inplace_op(o, "-=")
    def __imul__(self, o): return self._inplace_op(o, "*=")
    def __itruediv__(self, o): return self._inplace_op(o, "/=")

    # ------------------------------------------------------------------ backward
    def backward(self, grad: Any = None, retain_graph: Any = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf Value that requires grad.

        The scalar path (no ``create_graph``) runs on floats; ``create_graph=True`` replays the
        graph through the library's primitives so the gradients are themselves differentiable.
        """
        t = _tracing()
        if t is not None:
            t.on_backward(self, grad, create_graph)
        if create_graph or isinstance(grad, Tensor) or not self._rgv:
            # recorded backward (replayed graph), or the library's "does not require grad" error
            return Tensor.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)
        if grad is None:
            seed = 1.0
        else:
            g = np.asarray(grad)
            if g.shape != () or g.dtype.kind not in "biuf":
                raise ShapeError(f"Value.backward: the gradient of a scalar is one real number, "
                                 f"got {g.dtype} of shape {g.shape}")
            seed = float(g)
        if self._op is None:                          # a leaf: d(self)/d(self) = 1
            _accumulate(self, seed)
            return
        order = _reachable(self)
        for v in order:
            v._g = 0.0
        self._g = seed
        leaves = []
        for v in order:                               # newest first: every consumer before its inputs
            if v._op is None:
                leaves.append(v)
            else:
                g = v._g
                v._pa._g += v._da * g
                v._pb._g += v._db * g
        _SINK._g = 0.0
        for v in leaves:
            _accumulate(v, v._g)
        if _RETAINED:
            for v in order:
                if v in _RETAINED:
                    v._ga = np.array(v._g) if v._ga is None else np.asarray(v._ga + v._g)




def _p(v: Value) -> Value:
    """The parent that takes ``v``'s gradient: ``v`` itself if it requires grad, else the sink."""
    return v if v._rgv else _SINK


def _mk(v: float, op: str, a: Any, b: Any, pa: Value, da: float, pb: Value, db: float) -> Value:
    """A result Value: value, primitive name, operands, (parent, derivative) pairs."""
    out = _new(Value)
    out._v = v
    out._g = 0.0
    out._op = op
    out._a = a
    out._b = b
    out._ep = _tick()
    out._ga = out._mnode = None
    out._version = 0
    out.name = None
    out._base = None
    out._saved = 0
    if (pa is not _SINK or pb is not _SINK) and _MODE.grad:
        out._pa = pa
        out._da = da
        out._pb = pb
        out._db = db
        out._rgv = True
    else:
        out._pa = out._pb = _SINK
        out._da = out._db = 0.0
        out._rgv = False
    return out


def _div(a: float, b: float):
    """(a / b, 1 / b), numpy's inf/nan where b == 0."""
    if b == 0.0:
        return _np(np.divide, a, b), _np(np.divide, 1.0, b)
    return a / b, 1.0 / b


def _pow_d(a, n):
    """d(a**n)/da = n * a**(n-1), the way the power primitive takes it (0 where a == n == 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a == 0) & (n == 0), 0.0, n * np.power(a, n - 1.0))


def _scalar(data: Any, dtype: Any):
    """``data`` as a Python float if it is a real scalar a Value holds, else None."""
    if dtype is not None:
        try:
            if np.dtype(dtype) != np.float64:
                return None
        except TypeError as e:
            raise DTypeError(f"Value: unknown dtype {dtype!r} ({e})") from None
    t = type(data)
    if t is float or t is int or t is np.float64:
        return float(data)
    if t is bool or t is np.bool_:
        return float(data)
    if isinstance(data, (np.integer, np.floating)) and not isinstance(data, (np.float32, np.float16)):
        return float(data)
    if isinstance(data, np.ndarray) and data.shape == () and data.dtype.kind in "biu":
        return float(data)
    if isinstance(data, np.ndarray) and data.shape == () and data.dtype == np.float64:
        return float(data)
    if isinstance(data, Value):
        return data._v
    if isinstance(data, Tensor) and data.shape == () and data.dtype in (np.float64, np.int64):
        return float(data._data)
    return None


def _accumulate(v: Value, g: float) -> None:
    if not v._rgv:
        return
    old = v._ga
    if old is None:
        v._ga = np.array(g)
    else:
        v._ga = old + g if isinstance(old, Tensor) else np.asarray(old + g)


def _reachable(root: Value) -> list:
    """Every Value the root's gradient reaches (results and leaves), newest first."""
    seen = {root, _SINK}
    stack = [root]
    add, push, pop = seen.add, stack.append, stack.pop
    while stack:
        v = pop()
        if v._op is not None:
            p = v._pa
            if p not in seen:
                add(p)
                push(p)
            p = v._pb
            if p not in seen:
                add(p)
                push(p)
    seen.discard(_SINK)
    order = list(seen)
    order.sort(key=_key, reverse=True)
    return order


def _key(v: Value) -> int:
    return v._ep


def _replay(root: Value):
    """Record ``root``'s scalar graph as library Nodes (once), for the rest of the engine."""
    from . import ops
    todo = [v for v in reversed(_reachable(root)) if v._op is not None and v._mnode is None]
    for v in todo:
        for a in (v._a, v._b):
            if type(a) is Value and a._op is None and a._ep > v._ep:
                raise InPlaceError(
                    f"{v._op}: a leaf Value it used (data {a._v!r}{', ' + repr(a.name) if a.name else ''})"
                    f" was changed after use; the graph's numbers are stale. Rebuild the expression")
    with _graph.enable_grad():
        for v in todo:
            t = getattr(ops, v._op)(*((v._a,) if v._b is _NOARG else (v._a, v._b)))
            node = t._node
            if v._g and node.out is not None and node.out.size <= 4:
                node.grad = np.array(v._g)          # the fast backward's value, for drawing
            v._mnode = node
    return root._mnode


_SINK = Value(0.0, requires_grad=False)   # takes the gradient of operands that need none
