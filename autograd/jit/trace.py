"""Tracing: run a function once, for real, and record the program it ran.

The trace is an ordinary eager run with a recorder active in this thread (TinyJit's
capture, at the level of the engine's own calls).  While it is active, a few engine entry
points are swapped for recording versions (class attributes, restored after; other threads
pass straight through):

* ``Primitive.__call__``: each primitive forward becomes a ``call`` instruction on the
  slots of its inputs (a tensor's array is a slot; an unknown tensor is captured with a
  ``load``; an unknown array is a constant).  Nested calls (inside a forward or a vjp) are
  not recorded: the instruction re-runs the whole function.
* ``graph.backward``: a first-order backward walks the same nodes as the eager one and
  records one ``vjp`` instruction per node (the primitive's numpy/fused vjp), ``asgrad``
  and ``add`` for summing gradients, and ``accum_grad`` for each leaf's ``.grad``.
  ``create_graph=True`` (grad of grad) runs the eager backward, whose work is all
  primitive calls on tensors, recorded as above.
* ``Tensor``: comparisons and ``argmax`` become ``call`` instructions; ``bool()``,
  ``float()``, ``int()``, ``.item()``, ``.tolist()`` on a traced value raise
  :class:`~autograd.errors.ConcretizationError` naming the user's line; ``.numpy()``,
  ``.data`` and ``np.asarray`` on a traced value, an in-place change the recorder cannot
  follow, ``retain_grad`` and the like mark the trace *untraceable* (the run goes on
  eagerly, and ``autograd.jit`` falls back to eager with one warning).
* a primitive whose forward writes into some of its arguments (``prim.mutates(kw)``: their
  indices; ``batch_norm`` in training updates the moving statistics) given captured
  tensors there becomes a ``call`` marked as an effect (re-run at each replay on the live
  memory); ``random_draw`` becomes a ``call`` effect that draws again at each replay.
* ``p -= x`` on a captured tensor under ``no_grad`` becomes an ``inplace`` instruction,
  ``p.grad = ...`` a ``set_grad``, and a ``host_effect`` function (an optimizer's step) a
  ``host`` instruction.
* ``autograd.transforms`` hands tensors (not ndarrays) to the traced function, so what it
  computes from a gradient stays recorded.
"""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Optional

import numpy as np

from .. import graph as _graph
from .. import transforms as _transforms
from ..errors import ConcretizationError, GraphError, InPlaceError
from ..graph import MODE, Node, toposort
from ..registry import Primitive
from ..tensor import Tensor
from . import effects
from .program import Instr, Program

__all__ = ["Recorder", "trace", "Untraceable"]

_PKG = __file__.rsplit("/", 3)[0]   # .../autograd


class Untraceable(Exception):
    """Internal: the trace cannot be replayed (the reason is the message)."""


def user_frame() -> str:
    """``file:line`` of the innermost frame outside this library (autograd/ and nn/)."""
    import os
    root = os.path.abspath(_PKG)
    pkgs = (os.path.join(root, "autograd") + os.sep, os.path.join(root, "nn") + os.sep)
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(pkgs):
            return f"{f.f_code.co_filename}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def layer_frame() -> str:
    """``", in <Class> layer 'name'"`` for the innermost nn layer running (a frame of a
    ``call``/``__call__`` method whose ``self`` is a module with a name), or ``""``."""
    f = sys._getframe(1)
    while f is not None:
        if f.f_code.co_name in ("call", "__call__", "compute_mask"):
            obj = f.f_locals.get("self")
            name = getattr(obj, "name", None) if obj is not None else None
            if isinstance(name, str) and hasattr(type(obj), "named_modules"):
                return f", in {type(obj).__name__} layer {name!r}"
        f = f.f_back
    return ""


_SCALAR_TYPES = (bool, int, float, complex, str, bytes, type(None), np.generic)


class Recorder:
    """The program being recorded, and how values of this run map to its slots."""

    def __init__(self) -> None:
        self.prog = Program()
        self.ids: dict[int, int] = {}        # id(ndarray) -> slot
        self.keep: list = []                 # every array seen, so ids are not reused
        self.created: dict[int, Tensor] = {} # tensors constructed during the trace
        self.load_epoch: dict[int, int] = {}
        self.epoch = 0
        self.depth = 0
        self.bad: Optional[str] = None
        self.pending: tuple = ()
        self.version_ok = 0
        self.snapshots: dict = {}

    # ------------------------------------------------------------------ slots
    def fail(self, reason: str) -> None:
        if self.bad is None:
            self.bad = f"{reason} (at {user_frame()}{layer_frame()})"
            import os
            if os.environ.get("AUTOGRAD_JIT_DEBUG"):
                import traceback
                traceback.print_stack()

    def bind(self, arr: np.ndarray, slot: int) -> int:
        self.ids[id(arr)] = slot
        self.keep.append(arr)
        return slot

    def const(self, v: Any) -> int:
        if isinstance(v, np.ndarray):
            self.keep.append(v)
            return self.prog.new_slot("const", shape=v.shape, dtype=v.dtype, value=v)
        return self.prog.new_slot("const", value=v)

    def load(self, t: Tensor) -> int:
        a = t._data
        s = self.prog.new_slot("load", shape=a.shape, dtype=a.dtype, tensor=t, dyn=True)
        self.prog.emit(Instr("load", outs=(s,), target=t))
        self.load_epoch[s] = self.epoch
        self.keep.append(t)
        if id(a) not in self.snapshots:     # to catch writes jit cannot see (a raw kernel)
            self.snapshots[id(a)] = (t, a, a.copy())
        return self.bind(a, s)

    def ref_tensor(self, t: Tensor) -> int:
        """The slot holding a tensor's current array (captured tensors are loaded)."""
        a = t._data
        s = self.ids.get(id(a))
        if s is not None:
            slot = self.prog.slots[s]
            if slot.kind == "load" and self.load_epoch.get(s) != self.epoch:
                return self.load(slot.tensor if slot.tensor is not None else t)
            return s
        if id(t) in self.created:
            return self.bind(a, self.const(a))
        return self.load(t)

    def ref_value(self, v: Any) -> Optional[int]:
        """The slot of an argument as a primitive or vjp receives it."""
        if isinstance(v, Tensor):
            return self.ref_tensor(v)
        if isinstance(v, (np.ndarray, tuple, list, dict)):
            s = self.ids.get(id(v))
            if s is not None:
                return s
            if isinstance(v, np.ndarray):
                return self.const(v)
        if isinstance(v, (list, tuple)) and self.holds_traced(v):
            self.fail("a list of traced arrays passed to a primitive as one argument")
        return self.const(v)

    def holds_traced(self, v: Any) -> bool:
        return any(isinstance(e, Tensor) or isinstance(e, np.ndarray) and id(e) in self.ids
                   for e in v)

    def dyn(self, s: Optional[int]) -> bool:
        return s is not None and self.prog.slots[s].dyn

    def is_dyn_tensor(self, t: Tensor) -> bool:
        s = self.ids.get(id(t._data))
        if s is not None:
            return self.prog.slots[s].dyn
        return id(t) not in self.created

    def result(self, arr: Any, ins: list, vals: list, dyn: bool) -> int:
        """A new temp slot for an instruction's result ``arr`` (aliasing checked)."""
        if not isinstance(arr, np.ndarray):
            s = self.prog.new_slot("temp", dtype=None, dyn=dyn)
            if isinstance(arr, (tuple, list, dict)):    # an aux value a vjp gets back
                self.bind(arr, s)
            else:
                self.keep.append(arr)
            return s
        alias = None
        for i, v in zip(ins, vals):
            if i is not None and isinstance(v, np.ndarray) and v.size and arr.size \
                    and np.may_share_memory(arr, v):
                alias = i
                break
        s = self.prog.new_slot("temp", shape=arr.shape, dtype=arr.dtype, dyn=dyn, alias=alias)
        return self.bind(arr, s)

    # ------------------------------------------------------------------ instructions
    def record_call(self, prim: Optional[Primitive], fn: Callable, datas: tuple, kw: dict,
                    out: Any, aux_out: bool) -> None:
        pend = self.pending
        ins = []
        layout = None
        if any(type(d) in (list, tuple) and self.holds_traced(d) for d in datas):
            # a tuple holding traced arrays (an index with labels): one input per element
            layout, flat = [], []
            for d in datas:
                if type(d) in (list, tuple) and self.holds_traced(d):
                    layout.append((type(d), len(d)))
                    flat.extend(getattr(e, "_data", e) if isinstance(e, Tensor) else e
                                for e in d)
                else:
                    layout.append(None)
                    flat.append(d)
            fn = _Packed(fn, tuple(layout))
            datas = tuple(flat)
        for d in datas:
            if isinstance(d, np.ndarray) and id(d) not in self.ids:
                for a in pend:      # the tensor this array came from: captured
                    if isinstance(a, Tensor) and a._data is d:
                        ins.append(self.ref_tensor(a))
                        break
                else:
                    ins.append(self.const(d))
            else:
                ins.append(self.ref_value(d))
        for k, v in kw.items():     # a keyword argument is a constant of the program
            a = v._data if isinstance(v, Tensor) else v
            if isinstance(a, np.ndarray) and self.dyn(self.ids.get(id(a))):
                self.fail(f"{getattr(prim, 'name', 'a function')} given a traced value by "
                          f"keyword ({k}=): it would be frozen")
        dyn = any(self.dyn(i) for i in ins)
        vals = list(datas)
        if aux_out:
            outs = (self.result(out[0], ins, vals, dyn), self.result(out[1], ins, vals, dyn))
        else:
            outs = (self.result(out, ins, vals, dyn),)
        ins_ = Instr("call", fn=fn, ins=ins, outs=outs, kw=dict(kw), prim=prim)
        mut = getattr(prim, "mutates", None) if prim is not None else None
        idx = tuple(i for i in mut(kw) if i < len(datas) and datas[i] is not None) \
            if mut is not None else ()
        if idx:
            # a forward writing into captured tensors (BatchNormalization's moving
            # statistics): an effect, re-run at each replay on the live tensors' memory
            # only a captured tensor (or an argument) is the same memory at every call: an
            # array made inside the function, or a captured numpy array (a constant), is not
            if layout is not None or any(self.prog.slots[ins[i]].kind not in ("load", "input")
                                         for i in idx):
                self.fail(f"{prim.name} writes into an array that is not a captured tensor "
                          f"or an argument")
            ins_.info["effect"] = "mutates"
            ins_.info["mutates"] = tuple(ins[i] for i in idx)
            self.prog.emit(ins_)
            return
        fo = getattr(prim, "fwd_out", None) if prim is not None and layout is None else None
        if fo is not None and not aux_out and isinstance(out, np.ndarray) and out.base is None:
            ins_.info["out_ok"] = _check_out_form(fo, datas, kw, out)
        self.prog.emit(ins_)

    def host(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        """A ``host_effect`` call: recorded as one ``host`` instruction; its traced array
        arguments become the instruction's inputs (the function gets their arrays)."""
        name = getattr(fn, "__qualname__", repr(fn))
        pos, ins = [], []
        static = list(args)
        for k, a in enumerate(args):
            if isinstance(a, (Tensor, np.ndarray)) and \
                    (id(getattr(a, "_data", a)) in self.ids or isinstance(a, Tensor)
                     and self.is_dyn_tensor(a)):
                pos.append(k)
                ins.append(self.ref_value(a))
                static[k] = None
            elif callable(a) and not isinstance(a, (Tensor, type)) and \
                    not hasattr(a, "param_groups"):
                self.fail(f"{name} given a function (a closure)")
        for v in kwargs.values():
            if isinstance(v, (Tensor, np.ndarray)) and id(getattr(v, "_data", v)) in self.ids:
                self.fail(f"{name} given a traced value by keyword")

        def call(*vals, _fn=fn, _static=tuple(static), _pos=tuple(pos), _kw=dict(kwargs)):
            a = list(_static)
            for k, v in zip(_pos, vals):
                a[k] = v
            return _fn(*a, **_kw)
        self.prog.emit(Instr("host", fn=call, ins=ins,
                             info={"fn": fn, "args": tuple(static), "kwargs": kwargs}))
        self.depth += 1
        try:
            r = fn(*args, **kwargs)
        finally:
            self.depth -= 1
            self.epoch += 1
        if r is not None:
            self.fail(f"{name} returned a value (it would be frozen)")
        return r

    def draw(self, fn: Callable, args: tuple) -> Any:
        """A ``random_draw``: one ``call`` instruction marked as an effect (kept, in order,
        never folded), its static arguments constants, its result a value of the program
        that each replay draws again."""
        name = getattr(fn, "__qualname__", repr(fn))
        ins = []
        for a in args:
            if isinstance(a, Tensor) or isinstance(a, np.ndarray) and id(a) in self.ids:
                self.fail(f"random_draw {name} given a traced value")
            ins.append(self.const(a))
        self.depth += 1
        try:
            out = fn(*args)
        finally:
            self.depth -= 1
        if type(out) is not np.ndarray:
            self.fail(f"random_draw {name} returned a {type(out).__name__}, not an ndarray")
            return out
        s = self.prog.new_slot("temp", shape=out.shape, dtype=out.dtype, dyn=True)
        self.bind(out, s)
        self.prog.emit(Instr("call", fn=fn, ins=ins, outs=(s,), info={"effect": "draw"}))
        return out


class _Packed:
    """``fn`` called with some arguments rebuilt as tuples/lists from flat inputs."""

    __slots__ = ("fn", "layout", "__name__")

    def __init__(self, fn: Callable, layout: tuple) -> None:
        self.fn, self.layout = fn, layout
        self.__name__ = getattr(fn, "__name__", "packed")

    def __call__(self, *flat, **kw):
        args, k = [], 0
        for e in self.layout:
            if e is None:
                args.append(flat[k])
                k += 1
            else:
                typ, n = e
                args.append(typ(flat[k:k + n]))
                k += n
        return self.fn(*args, **kw)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _Packed) and self.fn is other.fn and self.layout == other.layout

    __hash__ = None  # type: ignore[assignment]


def _check_out_form(fo: Callable, datas: tuple, kw: dict, out: np.ndarray) -> bool:
    """Whether the out= form gives exactly the forward's result here (same dtype, values)."""
    buf = np.empty_like(out)
    try:
        fo(*datas, out=buf, **kw)
    except Exception:   # noqa: BLE001 - a form that cannot take these inputs is not used
        return False
    if buf.dtype != out.dtype:
        return False
    if out.dtype.kind != "f":
        return np.array_equal(buf, out)
    rtol = 1e-12 if out.dtype.itemsize >= 8 else 1e-6
    return bool(np.allclose(buf, out, rtol=rtol, atol=0.0, equal_nan=True))


# ---------------------------------------------------------------------------- hooks
_ORIG: dict[str, Any] = {}
_HOOK_LOCK = threading.Lock()
_ACTIVE = [0]


def _rec() -> Any:
    rec = effects.LOCAL.rec
    return rec if rec is not None and not rec.depth else None


def _prim_call(self, *args, **kwargs):
    rec = _rec()
    if rec is None:
        return _ORIG["call"](self, *args, **kwargs)
    orig = self.__dict__.get("fwd")
    if orig is None:        # a forward jit cannot wrap: its result would go unrecorded
        rec.fail(f"primitive {self.name}: no instance forward to record")
        rec.depth += 1
        try:
            return _ORIG["call"](self, *args, **kwargs)
        finally:
            rec.depth -= 1
    if getattr(orig, "_jit_recording", False):
        rec.pending = args
        return _ORIG["call"](self, *args, **kwargs)
    prim = self

    def fwd(*datas, **kw):
        if effects.LOCAL.rec is not rec or rec.depth:    # another thread, or nested
            return orig(*datas, **kw)
        rec.depth += 1
        try:
            out = orig(*datas, **kw)
        finally:
            rec.depth -= 1
        aux = prim.aux
        if aux:
            out = (out[0] if type(out[0]) is np.ndarray else np.asarray(out[0]), out[1])
        elif type(out) is not np.ndarray:
            out = np.asarray(out)
        rec.record_call(prim, orig, datas, kw, out, aux)
        return out
    fwd._jit_recording = True  # type: ignore[attr-defined]
    self.fwd = fwd
    rec.pending = args
    try:
        return _ORIG["call"](self, *args, **kwargs)
    finally:
        self.fwd = orig


def _pure(fn: Callable, rec: Recorder, operands: list, res: Tensor, kw: Optional[dict] = None):
    ins = [rec.ref_value(o) for o in operands]
    vals = [getattr(o, "_data", o) for o in operands]
    out = rec.result(res._data, ins, vals, any(rec.dyn(i) for i in ins))
    rec.prog.emit(Instr("call", fn=fn, ins=ins, outs=(out,), kw=kw or {}))
    return res


def _cmp(self, o, fn):
    res = _ORIG["_cmp"](self, o, fn)
    rec = _rec()
    if rec is not None:
        _pure(fn, rec, [self, o], res)
    return res


def _argmax(self, axis=None):
    res = _ORIG["argmax"](self, axis)
    rec = _rec()
    if rec is not None:
        _pure(np.argmax, rec, [self], res, {"axis": axis})
    return res


def _argmin(self, axis=None):
    res = _ORIG["argmin"](self, axis)
    rec = _rec()
    if rec is not None:
        _pure(np.argmin, rec, [self], res, {"axis": axis})
    return res


def _concrete(name: str):
    orig = _ORIG[name]

    def hook(self, *a, **k):
        rec = _rec()
        if rec is not None and rec.is_dyn_tensor(self):
            what = {"__bool__": "bool() (an `if`, `while`, `and`/`or` on it)",
                    "__float__": "float()", "__int__": "int()", "__index__": "an index",
                    "item": ".item()", "tolist": ".tolist()"}[name]
            raise ConcretizationError(
                f"autograd.jit: {what} of a traced tensor (shape {self.shape}, dtype "
                f"{self.dtype}) at {user_frame()}: its value is not known when the program is "
                f"compiled.  Compute it with tensor operations (autograd.where for a branch), "
                f"return it and read it after the call, or pass the deciding value as a static "
                f"argument (static_argnums)")
        return orig(self, *a, **k)
    return hook


def _escape(name: str):
    orig = _ORIG[name]

    def hook(self, *a, **k):
        rec = _rec()
        if rec is not None and rec.is_dyn_tensor(self):
            rec.fail(f"the values of a traced tensor were read into numpy ({name})")
        return orig(self, *a, **k)
    return hook


def _data_get(self):
    rec = _rec()
    if rec is not None and rec.is_dyn_tensor(self):
        rec.fail("the values of a traced tensor were read into numpy (.data)")
    return _ORIG["data"].fget(self)


def _setattr(self, name, value):
    rec = _rec()
    if rec is not None and name in ("grad", "_data", "_version"):
        try:
            object.__getattribute__(self, "_saved")
            new = False
        except AttributeError:
            new = True      # being constructed
        if not new:
            if name == "grad":
                if value is None:
                    rec.prog.emit(Instr("set_grad", target=self))
                elif isinstance(value, np.ndarray):
                    rec.prog.emit(Instr("set_grad", ins=(rec.ref_value(value),), target=self))
                else:
                    rec.fail("a tensor's .grad was set to a tensor")
            elif name == "_data":
                rec.fail("a tensor's data was replaced (t.data = ...)")
            elif not rec.version_ok and value != object.__getattribute__(self, "_version"):
                rec.fail("a tensor was changed in place outside the operations jit records")
    object.__setattr__(self, name, value)


def _init(self, data, requires_grad=False, dtype=None):
    _ORIG["__init__"](self, data, requires_grad, dtype)
    rec = _rec()
    if rec is not None and id(self._data) not in rec.ids:
        rec.created[id(self)] = self
        rec.keep.append(self)


def _inplace(self, o, fn, prim, name):
    rec = _rec()
    if rec is None:
        return _ORIG["_inplace"](self, o, fn, prim, name)
    if MODE.grad and (self._node is not None or (isinstance(o, Tensor) and o._rg)):
        rec.fail(f"in-place {name} on a tensor in a recorded graph")
        rec.version_ok += 1
        try:
            return _ORIG["_inplace"](self, o, fn, prim, name)
        finally:
            rec.version_ok -= 1
    s = rec.ids.get(id(self._data))
    if (s is not None and rec.prog.slots[s].kind != "load") or id(self) in rec.created:
        rec.fail(f"in-place {name} on a value computed inside the traced function")
        t_slot = None
    else:
        t_slot = rec.ref_tensor(self)
    o_slot = rec.ref_value(o)
    rec.version_ok += 1
    try:
        r = _ORIG["_inplace"](self, o, fn, prim, name)
    finally:
        rec.version_ok -= 1
    if t_slot is not None:
        rec.prog.emit(Instr("inplace", fn=fn, ins=(t_slot, o_slot), target=self))
    return r


def _setitem(self, idx, value):
    rec = _rec()
    if rec is not None:
        rec.fail("item assignment (t[...] = v) inside the traced function")
        rec.version_ok += 1
        try:
            return _ORIG["__setitem__"](self, idx, value)
        finally:
            rec.version_ok -= 1
    return _ORIG["__setitem__"](self, idx, value)


def _retain_grad(self):
    rec = _rec()
    if rec is not None:
        rec.fail("retain_grad() inside the traced function")
    return _ORIG["retain_grad"](self)


def _traced_vjp(self, gs_flat, retain=True):
    rows = _ORIG["_Traced.vjp"](self, gs_flat, retain)
    if _rec() is None:
        return rows
    return [[Tensor._make(g) if type(g) is np.ndarray else g for g in row] for row in rows]


def _to_data(x):
    return x


def _install() -> None:
    with _HOOK_LOCK:
        _ACTIVE[0] += 1
        if _ACTIVE[0] > 1:
            return
        T = Tensor
        _ORIG.update({"call": Primitive.__call__, "backward": _graph.backward,
                      "_cmp": T._cmp, "argmax": T.argmax, "argmin": T.argmin,
                      "data": T.__dict__["data"], "_inplace": T._inplace,
                      "__setitem__": T.__setitem__, "retain_grad": T.retain_grad,
                      "__init__": T.__init__, "_Traced.vjp": _transforms._Traced.vjp,
                      "_to_data": _transforms._to_data})
        for n in ("__bool__", "__float__", "__int__", "__index__", "item", "tolist",
                  "numpy", "__array__"):
            _ORIG[n] = T.__dict__[n]
        Primitive.__call__ = _prim_call
        _graph.backward = backward
        T._cmp, T.argmax, T.argmin = _cmp, _argmax, _argmin
        T.data = property(_data_get, T.__dict__["data"].fset, doc=T.__dict__["data"].__doc__)
        T._inplace, T.__setitem__, T.retain_grad = _inplace, _setitem, _retain_grad
        T.__init__ = _init
        T.__setattr__ = _setattr
        for n in ("__bool__", "__float__", "__int__", "__index__", "item", "tolist"):
            setattr(T, n, _concrete(n))
        for n in ("numpy", "__array__"):
            setattr(T, n, _escape(n))
        _transforms._Traced.vjp = _traced_vjp
        _transforms._to_data = _to_data_when_tracing


def _to_data_when_tracing(x):
    if _rec() is not None:
        return x
    return _ORIG["_to_data"](x)


def _uninstall() -> None:
    with _HOOK_LOCK:
        _ACTIVE[0] -= 1
        if _ACTIVE[0] > 0:
            return
        T = Tensor
        Primitive.__call__ = _ORIG["call"]
        _graph.backward = _ORIG["backward"]
        T._cmp, T.argmax, T.argmin = _ORIG["_cmp"], _ORIG["argmax"], _ORIG["argmin"]
        T.data = _ORIG["data"]
        T._inplace, T.__setitem__ = _ORIG["_inplace"], _ORIG["__setitem__"]
        T.retain_grad, T.__init__ = _ORIG["retain_grad"], _ORIG["__init__"]
        del T.__setattr__
        for n in ("__bool__", "__float__", "__int__", "__index__", "item", "tolist",
                  "numpy", "__array__"):
            setattr(T, n, _ORIG[n])
        _transforms._Traced.vjp = _ORIG["_Traced.vjp"]
        _transforms._to_data = _ORIG["_to_data"]


# ---------------------------------------------------------------------------- backward
def backward(root_tensor, grad=None, retain_graph=None, create_graph=False, inputs=None):
    """``graph.backward`` while tracing: the same walk, recorded (see the module doc)."""
    rec = _rec()
    orig = _ORIG["backward"]
    if rec is None or create_graph or not root_tensor._rg or MODE.anomaly:
        if rec is not None and create_graph and inputs is None:
            rec.fail("backward(create_graph=True) into .grad inside the traced function")
        if rec is not None and MODE.anomaly:
            rec.fail("detect_anomaly() inside the traced function")
        return orig(root_tensor, grad, retain_graph, create_graph, inputs)
    out_data = root_tensor._data
    if grad is None:
        if out_data.size != 1:
            return orig(root_tensor, grad, retain_graph, create_graph, inputs)   # raises
        seed = np.ones(out_data.shape, dtype=out_data.dtype)
        s_seed = rec.const(seed)
    else:
        raw = grad._data if isinstance(grad, Tensor) else grad
        seed = _graph._check_seed(raw, out_data) if not isinstance(raw, np.ndarray) or \
            raw.dtype != out_data.dtype else raw
        if seed.shape != out_data.shape:
            return orig(root_tensor, grad, retain_graph, create_graph, inputs)   # raises
        s_seed = rec.ref_value(grad if isinstance(grad, Tensor) else raw)
        if seed is not raw:
            if rec.dyn(s_seed):
                rec.fail("backward(grad) with a gradient of another dtype")
            s_seed = rec.const(seed)
    root = root_tensor._node
    want = None
    results = None
    if inputs is not None:
        want = {}
        for k, t in enumerate(inputs):
            if t._node is None:
                return orig(root_tensor, grad, retain_graph, create_graph, inputs)  # raises
            want[t._node] = k
        results = [None] * len(inputs)
    if root is None:
        if want is None:
            _leaf(rec, root_tensor, seed, s_seed, {id(seed)})
        return results
    order = toposort(root)
    grads: dict = {root: (seed, s_seed)}
    prev_mode = MODE.grad
    MODE.grad = False
    try:
        for node in order:
            e = grads.pop(node, None)
            if e is None:
                continue
            g, sg = e
            if node.retained is not None:
                rec.fail("retain_grad() inside the traced function")
                for ref in node.retained:
                    t = ref()
                    if t is not None:
                        object.__setattr__(t, "grad", g.copy())
            if not create_graph and node.out.size <= 4:
                node.grad = g
            if want is not None and node in want:
                results[want[node]] = g
                continue
            if node.args is None:
                raise GraphError(
                    f"backward: trying to go back through the graph a second time ({node.prim.name}"
                    f" was already released); pass retain_graph=True to the first backward")
            for k, (t, v) in enumerate(zip(node.saved, node.versions)):
                r = t._base
                if (t if r is None else r)._version != v:
                    raise InPlaceError(
                        f"backward: {node.prim.name} saved {_graph._describe_tensor(t, k)}, and "
                        f"it was modified in place after it was used; its gradient would be wrong")
            prim = node.prim
            kw = node.kwargs or {}
            parents = node.parents
            has_aux = bool(prim.aux)
            nargs = node.args
            layout = None
            if any(type(a) in (list, tuple) and rec.holds_traced(a) for a in nargs):
                layout, flat = [], []
                for a in nargs:
                    if type(a) in (list, tuple) and rec.holds_traced(a):
                        layout.append((type(a), len(a)))
                        flat.extend(getattr(e, "_data", e) if isinstance(e, Tensor) else e
                                    for e in a)
                    else:
                        layout.append(None)
                        flat.append(a)
                nargs = flat
            vals = [g, node.out, *nargs] + ([node.aux] if has_aux else [])
            ins = [sg, rec.ref_value(node.out)] + [rec.ref_value(a) for a in nargs]
            if has_aux:
                ins.append(rec.ref_value(node.aux))
            rec.depth += 1
            try:
                gs = prim.call_vjp(g, node.out, node.args, kw, parents, False, node.aux)
            finally:
                rec.depth -= 1
            dyn = any(rec.dyn(i) for i in ins)
            sel, outs, arrs = [], [], []
            for i, _ in parents:
                gi = gs[i]
                if gi is None or i in sel:
                    continue
                if not isinstance(gi, np.ndarray):
                    gi = np.asarray(gi)
                sel.append(i)
                arrs.append(gi)
                outs.append(rec.result(gi, ins, vals, dyn))
            rec.prog.emit(Instr("vjp", ins=ins, outs=outs, kw=kw, prim=prim,
                                info={"nargs": len(nargs), "has_aux": has_aux,
                                      "layout": None if layout is None else tuple(layout),
                                      "parents": sel, "needs": [i for i, _ in parents]}))
            got = dict(zip(sel, zip(arrs, outs)))
            handed = None
            for i, p in parents:
                if i not in got:
                    continue
                gi, si = got[i]
                if type(p) is Node:
                    gi, si = _asgrad(rec, gi, si, p.shape, p.dtype)
                    prev = grads.get(p)
                    if prev is None:
                        grads[p] = (gi, si)
                    else:
                        s = np.asarray(prev[0] + gi)
                        so = rec.result(s, [prev[1], si], [prev[0], gi],
                                        rec.dyn(prev[1]) or rec.dyn(si))
                        rec.prog.emit(Instr("add", ins=(prev[1], si), outs=(so,)))
                        grads[p] = (s, so)
                elif want is None:
                    d = p._data
                    gi, si = _asgrad(rec, gi, si, d.shape, d.dtype)
                    if handed is None:
                        handed = {id(g)}
                    _leaf(rec, p, gi, si, handed)
                    handed.add(id(gi))
            if not retain_graph:
                node.release()
    finally:
        MODE.grad = prev_mode
    return results


def _asgrad(rec: Recorder, g, s, shape, dtype):
    if g.shape == shape and g.dtype == dtype:
        return g, s
    out = _graph._as_grad(g, shape, dtype)
    out = out if type(out) is np.ndarray else np.asarray(out)
    so = rec.result(out, [s], [g], rec.dyn(s))
    rec.prog.emit(Instr("asgrad", ins=(s,), outs=(so,), kw={"shape": tuple(shape),
                                                             "dtype": np.dtype(dtype)}))
    return out, so


def _leaf(rec: Recorder, p: Tensor, g, s, handed) -> None:
    rec.depth += 1
    try:
        _graph._accumulate_leaf(p, g, False, handed)
    finally:
        rec.depth -= 1
    rec.prog.emit(Instr("accum_grad", ins=(s,), target=p))
    gs = rec.prog.new_slot("temp", shape=p.grad.shape, dtype=p.grad.dtype, dyn=True)
    rec.prog.emit(Instr("load_grad", outs=(gs,), target=p))
    rec.bind(p.grad, gs)


# ---------------------------------------------------------------------------- trace
def trace(fun: Callable, args: tuple, kwargs: dict, dynamic: list) -> tuple:
    """Run ``fun(*args, **kwargs)`` recording it.  ``dynamic``: per positional argument,
    True where it is traced (its array leaves become inputs).  Returns
    ``(recorder, traced args' leaves, result)``; the program's outputs are set by
    :func:`finish`."""
    from ..transforms import tree_flatten, tree_unflatten
    from .outforms import install
    install()
    rec = Recorder()
    targs = list(args)
    leaves_in = []
    for k, a in enumerate(args):
        if not dynamic[k]:
            continue
        leaves, spec = tree_flatten(a)
        new = []
        for v in leaves:
            if isinstance(v, (Tensor, np.ndarray)):
                arr = v._data if isinstance(v, Tensor) else v
                s = rec.prog.new_slot("input", shape=arr.shape, dtype=arr.dtype,
                                      index=len(leaves_in), dyn=True)
                rec.prog.inputs.append(s)
                leaves_in.append(arr)
                t = v if isinstance(v, Tensor) else Tensor._make(arr)
                if id(arr) in rec.ids:      # the same array passed twice: one slot
                    rec.fail("the same array passed as two arguments")
                rec.bind(arr, s)
                new.append(t)
            else:
                new.append(v)
        targs[k] = tree_unflatten(spec, new)
    _install()
    effects.LOCAL.rec = rec
    try:
        out = fun(*targs, **kwargs)
    finally:
        effects.LOCAL.rec = None
        _uninstall()
    return rec, out


def _check_snapshots(rec: Recorder) -> None:
    """A captured tensor whose memory changed during the trace with no recorded effect to
    explain it was written by code jit does not see (a kernel on ``p._data``): untraceable."""
    if any(i.op == "host" for i in rec.prog.instrs):
        return                              # an optimizer step may change any of them
    touched = {id(i.target) for i in rec.prog.instrs if i.op == "inplace"}
    touched.update(id(rec.prog.slots[s].tensor) for i in rec.prog.instrs
                   if i.info.get("effect") == "mutates" for s in i.info["mutates"])
    for t, a, snap in rec.snapshots.values():
        if id(t) not in touched and not np.array_equal(a, snap, equal_nan=a.dtype.kind in "fc"):
            rec.fail(f"a captured tensor (shape {a.shape}, dtype {a.dtype}) was changed in "
                     f"place by code jit does not record (a kernel writing into its memory?)")
            return


def finish(rec: Recorder, out: Any, as_tensor: bool) -> list:
    """Set the program's outputs from the traced result; returns the flat result values."""
    from ..transforms import tree_flatten
    _check_snapshots(rec)
    leaves, spec = tree_flatten(out)
    prog = rec.prog
    prog.out_spec = spec
    vals = []
    for v in leaves:
        if isinstance(v, Tensor):
            s = rec.ref_tensor(v)
            prog.outputs.append(s)
            prog.out_kinds.append("tensor")
            vals.append(v._data)
        elif isinstance(v, np.ndarray):
            s = rec.ids.get(id(v))
            prog.outputs.append(s if s is not None else rec.const(v))
            prog.out_kinds.append("array")
            vals.append(v)
        else:
            if isinstance(v, _SCALAR_TYPES) or v is None:
                prog.outputs.append(rec.const(v))
            else:
                rec.fail(f"the function returned a {type(v).__name__}")
                prog.outputs.append(rec.const(v))
            prog.out_kinds.append("python")
            vals.append(v)
    return vals
