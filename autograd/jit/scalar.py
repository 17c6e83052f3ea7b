"""The scalar compiler: ``autograd.jit`` of a function of :class:`~autograd.Value` s.

``compile_scalar(fun)`` runs ``fun`` once per signature with the Value engine recording
(the *trace*: an ordinary eager call, so its results are the eager ones), turns what it
recorded into a *tape* -- int32 instructions on a float64 slot buffer -- and from then on
runs the tape with one fixed numba kernel (``autograd.kernels.tape``): no Python per scalar
operation, no per-program compile.

What the trace records, in program order:

- every Value operation (``+ - * / **``, ``-v``, ``relu``, ``tanh``, ``exp``, ``log``,
  ``sigmoid``), Python numbers becoming constants;
- ``backward()``: the gradient pass over the recorded graph (the same order and
  accumulation as the eager float backward), into the leaves' ``.grad``;
- in-place updates of Values the function did not create (parameters it closes over or is
  passed): ``p.data = ...``, ``p.data -= lr * p.grad``, ``p -= ...`` under ``no_grad``,
  ``p.grad = None`` / ``p.grad = 0.0``.  They are part of the program: each call reads the
  parameters' current numbers and writes the new ones back, as the eager call does.

Semantics (documented in the README):

- a *signature* is the structure of the arguments: Value arguments (position, leaf or not,
  requires_grad) and float arguments are traced (new numbers reuse the tape); ints, strings,
  None and other hashable objects, and arguments named in ``static_argnums``, are part of the
  signature (a new one retraces).  ``fun.trace_count`` counts traces; at most
  ``MAX_SIGNATURES`` signatures are kept (the oldest is dropped).
- ``.data`` and ``.grad`` read inside the function give Values (so that they stay traced);
  results are returned as detached Values (``requires_grad=False``, no graph); Values the
  function was given or closes over are returned as themselves.
- Values the function reaches without being passed (closures, globals, attributes) are
  captured by identity when it is traced, as JAX captures constants: their numbers are read
  at every call, but a *different* Value object put in their place needs a retrace
  (``fun.clear_cache()``).  Python numbers and arrays the function reads are constants.
- side effects other than those updates (printing, appending to a list) happen during the
  trace only.
- a function the tape cannot express -- a Value turned into a Python number (``float(v)``,
  ``v.item()``, ``if v > 0:``), a Value mixed with tensors or handed to other primitives,
  ``backward(create_graph=True)``, ``retain_grad`` -- runs eagerly for that signature, with
  one ``RuntimeWarning`` naming the line; the trace call itself already ran eagerly, so
  nothing is computed twice and no answer is wrong.
"""
from __future__ import annotations

import functools
import math
import os
import struct
import sys
import threading
import warnings
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from .. import value as _value
from ..errors import ArgumentTypeError, NotSupportedError
from ..tensor import Tensor
from ..value import Value

__all__ = ["compile_scalar", "ScalarJit", "MAX_SIGNATURES"]

#: Signatures kept per compiled function (the oldest is dropped beyond).
MAX_SIGNATURES = 32
#: Programs per signature that differ in the parameters' state (requires_grad, a gradient or
#: None before the call): a new state retraces, up to this many.
MAX_VARIANTS = 8

_MK = _value._mk
_NOARG = _value._NOARG
_SINK = _value._SINK
_TRACE_LOCK = threading.RLock()
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# log entries other than operation results (which are the Values themselves)
_LEAF, _DREAD, _DSET, _GNONE, _GREAD, _GSET, _BWD = range(7)


class _Untraceable(NotSupportedError):
    """Internal: the program cannot be built; the signature runs eagerly."""


def _user_line() -> str:
    """file:line of the innermost frame outside this library (where the trace broke)."""
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_PKG + os.sep):
            return f"{f.f_code.co_filename}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def _fresh(x: float) -> Value:
    """A new leaf Value holding ``x`` that requires no grad, made without the leaf hook."""
    out = object.__new__(Value)
    out._v = x
    out._g = out._da = out._db = 0.0
    out._op = out._a = out._b = out._pa = out._pb = None
    out._ep = _value._tick()
    out._rgv = False
    out._ga = out._mnode = None
    out._version = 0
    out.name = None
    out._base = None
    out._saved = 0
    return out


# ----------------------------------------------------------------------------- recording
class _Recorder:
    """What one trace saw, in order; installed as ``autograd.value._TRACE``.

    Each hook runs the eager behaviour too (the trace is an eager call).  ``why`` is set,
    and recording stops, at the first thing the tape cannot express."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.log: list = []
        self.why: str | None = None
        self.where = ""
        self.gfirst: dict = {}          # id(leaf) -> had a gradient when the trace first touched it
        log, tid, get, mk = self.log, self.thread, threading.get_ident, _MK

        def mk_trace(*a):
            out = mk(*a)
            if get() == tid:
                log.append(out)
            return out
        self.mk = mk_trace

    def on(self) -> bool:
        return self.why is None and threading.get_ident() == self.thread

    def poison(self, why: str) -> None:
        if self.why is None:
            self.why = why
            self.where = _user_line()
            _value._mk = _MK                     # the rest of the call runs at eager speed

    def concrete(self, v: Value, why: str) -> None:
        if self.on():
            self.poison(f"a Value was {why}")

    def on_leaf(self, v: Value, data: Any) -> None:
        if not self.on():
            return
        if isinstance(data, Tensor) and type(data) is not Value:
            self.poison("a Value was made from a tensor")
        else:
            self.log.append((_LEAF, v, data if type(data) is Value else None))

    def _touch_grad(self, leaf: Value) -> None:
        if id(leaf) not in self.gfirst:
            self.gfirst[id(leaf)] = (leaf, leaf._ga is not None)

    def read_data(self, v: Value) -> Value:
        t = _fresh(v._v)
        self.log.append((_DREAD, v, t))
        return t

    def write_data(self, leaf: Value, value: Any) -> bool:
        """Record ``leaf.data = value`` and do it; False: not recordable (eager handles it)."""
        if type(value) is Value:
            src, x = value, value._v
        elif isinstance(value, Tensor):
            self.poison("a Value's data was assigned from a tensor")
            return False
        else:
            x = _value._scalar(value, None)
            if x is None:
                return False                     # the eager setter raises its error
            src = x
        self.log.append((_DSET, leaf, src))
        leaf._v = x
        leaf._ep = _value._tick()
        leaf._version += 1
        return True

    def read_grad(self, leaf: Value):
        g = leaf._ga
        self._touch_grad(leaf)
        if g is None:
            self.log.append((_GNONE, leaf))
            return None
        if type(g) is not np.ndarray or g.shape != () or g.dtype != np.float64:
            self.poison("a Value's .grad is not a float64 scalar")
            return g
        t = _fresh(float(g))
        self.log.append((_GREAD, leaf, t))
        return t

    def write_grad(self, leaf: Value, g: Any) -> None:
        if g is None:
            self._touch_grad(leaf)
            self.log.append((_GSET, leaf, None))
        elif isinstance(g, Tensor):
            self.poison("a Value's .grad was set to a tensor")
        else:
            a = np.asarray(g)
            if a.shape == () and a.dtype.kind in "biuf":
                self._touch_grad(leaf)
                self.log.append((_GSET, leaf, float(a)))
            # else: the eager setter raises

    def on_backward(self, root: Value, grad: Any, create_graph: bool) -> None:
        if create_graph:
            return self.poison("backward(create_graph=True) was called")
        if isinstance(grad, Tensor):
            return self.poison("backward was given a tensor gradient")
        if not root._rgv:
            return                               # eager raises its error
        if grad is None:
            seed = 1.0
        else:
            g = np.asarray(grad)
            if g.shape != () or g.dtype.kind not in "biuf":
                return                           # eager raises its error
            seed = float(g)
        if _value._RETAINED:
            return self.poison("a Value retains its gradient (retain_grad)")
        order = _value._reachable(root) if root._op is not None else [root]
        for v in order:
            if v._op is None:
                self._touch_grad(v)
        self.log.append((_BWD, root, seed, order))


# ----------------------------------------------------------------------------- building
_FWD = {"add": "ADD", "subtract": "SUB", "multiply": "MUL", "divide": "DIV", "power": "POW",
        "negative": "NEG", "relu": "RELU", "tanh": "TANH", "exp": "EXP", "log": "LOG",
        "sigmoid": "SIGMOID"}
_READS = {"MULADD": "xyz", "ADD": "xy", "SUB": "xy", "MUL": "xy", "DIV": "xy", "POW": "xy",
          "NEG": "x",
          "RELU": "x", "TANH": "x", "EXP": "x", "LOG": "x", "SIGMOID": "x", "COPY": "x",
          "G_ADD": "x", "G_NEG": "x", "G_MUL": "xy", "G_DIVA": "xy", "G_DIVB": "xyz",
          "G_POW": "xyz", "G_RELU": "xy", "G_TANH": "xy", "G_EXP": "xy", "G_LOG": "xy",
          "G_SIG": "xy"}


class _Builder:
    """Turns a recorder's log into instructions on slots (see ``autograd/kernels/tape.py``).

    Slots are single-assignment: an operation's result, a constant, an input (an argument's
    or a captured Value's number or gradient at the start of a call) or a backward pass's
    gradient temporaries (zeroed, then accumulated).  Assigning a Value's data or gradient
    points it at another slot, so earlier reads keep their numbers."""

    def __init__(self, rec: _Recorder, args: list) -> None:
        from ..kernels.tape import OPS
        self.O = OPS
        self.rec = rec
        self.init: list = []
        self.code: list = []
        self.consts: dict = {}
        self.slot: dict = {}         # id(Value) -> current data slot
        self.grad: dict = {}         # id(leaf) -> current gradient slot, or None (no gradient)
        self.opnd: dict = {}         # id(result) -> (forward code, a slot, b slot)
        self.internal: set = set()   # ids of Values the trace made
        self.argpos = {id(v): i for i, v in enumerate(args) if type(v) is Value}
        self.ext: dict = {}          # id -> (ref, Value) for Values from outside
        self.inputs: list = []       # (slot, ref, "data" | "grad")
        self.guards: list = []       # (ref, had a gradient)
        self.dsets: dict = {}        # id(outside leaf) -> number of data assignments
        self.gsets: set = set()      # ids of outside leaves whose gradient the call changes
        self.uses: dict = {}         # id(Value) -> how many times the log (or output) reads it

    def alloc(self, x: float = math.nan) -> int:
        self.init.append(x)
        return len(self.init) - 1

    def const(self, x: float) -> int:
        key = struct.pack("<d", x)
        s = self.consts.get(key)
        if s is None:
            s = self.consts[key] = self.alloc(x)
        return s

    def emit(self, op: str, d: int, x: int = 0, y: int = 0, z: int = 0) -> None:
        self.code.append((self.O[op], d, x, y, z))

    def ref(self, v: Value):
        """An outside Value's reference: its argument position, or the Value itself."""
        k = id(v)
        if k not in self.ext:
            self.ext[k] = (self.argpos.get(k, v), v)
        return self.ext[k][0]

    def dslot(self, v: Value) -> int:
        s = self.slot.get(id(v))
        if s is not None:
            return s
        if v._op is not None and id(v) not in self.argpos:
            s = self.const(v._v)          # a result made before the call: a fixed number
        else:
            s = self.alloc()
            self.inputs.append((s, self.ref(v), "data"))
        self.slot[id(v)] = s
        return s

    def operand(self, o: Any) -> int:
        return self.dslot(o) if type(o) is Value else self.const(float(o))

    def gcur(self, leaf: Value):
        k = id(leaf)
        if k in self.grad:
            return self.grad[k]
        g = None
        if k not in self.internal:
            ref = self.ref(leaf)
            had = self.rec.gfirst[k][1]
            self.guards.append((ref, had))
            if had:
                g = self.alloc()
                self.inputs.append((g, ref, "grad"))
        self.grad[k] = g
        return g

    def acc(self, leaf: Value, s: int) -> None:
        cur = self.gcur(leaf)
        if cur is None:
            self.grad[id(leaf)] = s
        else:
            n = self.alloc()
            self.emit("ADD", n, cur, s)
            self.grad[id(leaf)] = n
        if id(leaf) not in self.internal:
            self.gsets.add(id(leaf))

    def count_uses(self, out: Any) -> None:
        """How often each Value is read (operand, source, root, output): a product read
        only by one sum is fused into it (MULADD)."""
        u = self.uses

        def use(v):
            if type(v) is Value:
                u[id(v)] = u.get(id(v), 0) + 1
        for e in self.rec.log:
            if type(e) is Value:
                use(e._a)
                use(e._b)
            elif e[0] in (_LEAF, _DSET):
                use(e[2])
            elif e[0] in (_DREAD, _BWD):
                use(e[1])

        def walk(o):
            if type(o) is Value:
                use(o)
            elif type(o) in (tuple, list):
                for x in o:
                    walk(x)
            elif type(o) is dict:
                for x in o.values():
                    walk(x)
        walk(out)

    def run(self) -> None:
        for e in self.rec.log:
            if type(e) is Value:
                self.forward(e)
                continue
            kind = e[0]
            if kind == _LEAF:
                v, src = e[1], e[2]
                self.internal.add(id(v))
                self.slot[id(v)] = self.dslot(src) if src is not None else self.const(v._v)
            elif kind == _DREAD:
                self.internal.add(id(e[2]))
                self.slot[id(e[2])] = self.dslot(e[1])
            elif kind == _DSET:
                leaf, src = e[1], e[2]
                s = self.dslot(src) if type(src) is Value else self.const(src)
                if id(leaf) not in self.internal:
                    self.ref(leaf)
                    self.dsets[id(leaf)] = self.dsets.get(id(leaf), 0) + 1
                self.slot[id(leaf)] = s
            elif kind == _GNONE:
                if self.gcur(e[1]) is not None:
                    raise _Untraceable("a gradient the trace saw as None is set")
            elif kind == _GREAD:
                g = self.gcur(e[1])
                if g is None:
                    raise _Untraceable("a gradient the trace read is None")
                self.internal.add(id(e[2]))
                self.slot[id(e[2])] = g
            elif kind == _GSET:
                leaf, x = e[1], e[2]
                if id(leaf) not in self.internal:
                    self.ref(leaf)
                    self.gsets.add(id(leaf))
                self.grad[id(leaf)] = None if x is None else self.const(x)
            else:
                self.backward(e[1], e[2], e[3])

    def forward(self, v: Value) -> None:
        code = _FWD.get(v._op)
        if code is None:
            raise _Untraceable(f"the Value operation {v._op!r} has no tape instruction")
        sa = self.operand(v._a)
        sb = 0 if v._b is _NOARG else self.operand(v._b)
        d = self.alloc()
        if code == "ADD" and (self.fusable(v._b) or self.fusable(v._a)):
            c, t = (sa, v._b) if self.fusable(v._b) else (sb, v._a)
            _, ta, tb = self.opnd[id(t)]
            self.emit("MULADD", d, c, ta, tb)        # c + a*b: the product's slot is then dead
        else:
            self.emit(code, d, sa, sb)
        self.slot[id(v)] = d
        self.opnd[id(v)] = (code, sa, sb)
        self.internal.add(id(v))

    def fusable(self, t: Any) -> bool:
        """A product made in the call and read once (by the sum being emitted)."""
        return (type(t) is Value and t._op == "multiply" and id(t) in self.opnd
                and self.uses.get(id(t), 0) == 1)

    def backward(self, root: Value, seed: float, order: list) -> None:
        if root._op is None:
            if root._rgv:
                self.acc(root, self.const(seed))
            return
        for v in order:
            if v._op is not None and id(v) not in self.opnd:
                raise _Untraceable("backward reaches Values computed before the call")
        # A result whose gradient comes from one pass-through part (a sum's operand) shares
        # its consumer's gradient slot: no temporary, no copy (0 + g is g).
        parts: dict = {}
        for v in order:
            if v._op is not None:
                code = self.opnd[id(v)][0]
                for p, passthru in ((v._pa, code in ("ADD", "SUB")), (v._pb, code == "ADD")):
                    if p is not _SINK:
                        n, _ = parts.get(id(p), (0, False))
                        parts[id(p)] = (n + 1, passthru)
        shared = {k for k, (n, passthru) in parts.items() if n == 1 and passthru}
        own = [v for v in order if v is root or not (v._op is not None and id(v) in shared)]
        base = len(self.init)
        for _ in own:
            self.alloc()
        tmp = {id(v): base + k for k, v in enumerate(own)}
        self.emit("ZERO", 0, base, base + len(own))
        self.emit("COPY", tmp[id(root)], self.const(seed))
        leaves = []
        for v in order:
            if v._op is None:
                leaves.append(v)
                continue
            code, sa, sb = self.opnd[id(v)]
            g, out = tmp[id(v)], self.slot[id(v)]
            for which, p in ((0, v._pa), (1, v._pb)):
                if p is _SINK:
                    continue
                if p._op is not None and id(p) in shared and p is not root:
                    tmp[id(p)] = g                # its gradient is this one
                else:
                    self.part(code, which, tmp[id(p)], g, sa, sb, out)
        for leaf in leaves:
            if leaf._rgv:
                self.acc(leaf, tmp[id(leaf)])

    def part(self, code: str, which: int, d: int, g: int, sa: int, sb: int, out: int) -> None:
        """d += (d result / d operand ``which``) * g, as the eager float backward takes it."""
        e = self.emit
        if code == "ADD" or (code == "SUB" and which == 0):
            e("G_ADD", d, g)
        elif code in ("SUB", "NEG"):
            e("G_NEG", d, g)
        elif code == "MUL":
            e("G_MUL", d, g, sb if which == 0 else sa)
        elif code == "DIV":
            e("G_DIVA", d, g, sb) if which == 0 else e("G_DIVB", d, g, out, sb)
        elif code == "POW":
            e("G_POW", d, g, sa, sb)
        elif code in ("RELU", "LOG"):
            e("G_" + code, d, g, sa)
        else:                                             # TANH, EXP, SIGMOID: from the result
            e({"TANH": "G_TANH", "EXP": "G_EXP", "SIGMOID": "G_SIG"}[code], d, g, out)

    # ------------------------------------------------------------------ outputs, dead code
    def template(self, out: Any):
        """The output's shape: ("V", slot, grad slot or None, requires_grad) for a Value the
        call makes, ("E", ref) for an outside Value, ("C", obj) for anything else."""
        t = type(out)
        if t is Value:
            k = id(out)
            if k in self.internal:
                g = self.grad.get(k) if out._op is None else None
                return ("V", self.slot[k], g, out._rgv and out._op is None)
            return ("E", self.ext[k][0] if k in self.ext else self.argpos.get(k, out))
        if isinstance(out, Tensor):
            raise _Untraceable("the function returns a tensor")
        if t in (tuple, list):
            return (t.__name__, [self.template(o) for o in out])
        if t is dict:
            return ("dict", [(k, self.template(o)) for k, o in out.items()])
        return ("C", out)

    def live_slots(self, tmpl) -> set:
        live: set = set()

        def walk(t):
            if t[0] == "V":
                live.add(t[1])
                if t[2] is not None:
                    live.add(t[2])
            elif t[0] in ("tuple", "list"):
                for s in t[1]:
                    walk(s)
            elif t[0] == "dict":
                for _, s in t[1]:
                    walk(s)
        walk(tmpl)
        for k in self.dsets:
            live.add(self.slot[k])
        for k in self.gsets:
            if self.grad[k] is not None:
                live.add(self.grad[k])
        return live

    def dce(self, live: set) -> list:
        """The instructions that reach a live slot (reverse liveness)."""
        names = {v: k for k, v in self.O.items()}
        ZERO = self.O["ZERO"]
        keep = []
        for ins in reversed(self.code):
            op, d, x, y, z = ins
            if op == ZERO:
                rng = range(x, y)
                if any(s in live for s in rng):
                    keep.append(ins)
                    live.difference_update(rng)
                continue
            name = names[op]
            if d not in live:
                continue
            keep.append(ins)
            if not name.startswith("G_"):
                live.discard(d)                  # a plain write: earlier values are dead
            reads = _READS[name]
            if "x" in reads:
                live.add(x)
            if "y" in reads:
                live.add(y)
            if "z" in reads:
                live.add(z)
        keep.reverse()
        return keep


# ----------------------------------------------------------------------------- programs
class _Program:
    """One signature's compiled call: the tape, its buffer, what to read and write back.

    Parameters (captured Values) are handled in bulk lists; Values passed as arguments by
    position.  Gradients written back are 0-d views into one array the program owns (as
    ``autograd.jit`` does for tensors: the next call overwrites them)."""

    def __init__(self, b: _Builder, tmpl) -> None:
        from ..kernels.tape import Tape
        code = b.dce(b.live_slots(tmpl))
        self.tape = Tape(np.array(code, dtype=np.int32).reshape(-1, 5), len(b.init))
        self.buf = np.array(b.init, dtype=np.float64)
        self.lock = threading.Lock()
        self.tmpl = tmpl
        self.n_instructions = len(code)
        ins_d = [(s, r) for s, r, kind in b.inputs if kind == "data"]
        self.cap_slots = np.array([s for s, r in ins_d if type(r) is not int], dtype=np.intp)
        self.cap = [r for s, r in ins_d if type(r) is not int]
        self.arg_in = [(s, r) for s, r in ins_d if type(r) is int]
        self.grad_in = [(s, r) for s, r, kind in b.inputs if kind == "grad"]
        self.guards = b.guards
        rg = [(r, v._rgv) for r, v in b.ext.values() if type(r) is not int]
        self.rg_vals = [r for r, _ in rg]
        self.rg_want = [x for _, x in rg]
        self.cap_ids = frozenset(id(v) for r, v in b.ext.values() if type(r) is not int)
        wd = [(b.slot[k], b.ext[k][0], n) for k, n in b.dsets.items()]
        self.wd_cap = [(r, n) for _, r, n in wd if type(r) is not int]
        self.wd_cap_slots = np.array([s for s, r, _ in wd if type(r) is not int], dtype=np.intp)
        self.wd_arg = [(s, r, n) for s, r, n in wd if type(r) is int]
        wg = [(b.grad[k], b.ext[k][0]) for k in b.gsets]
        self.wg = [r for s, r in wg if s is not None]
        self.wg_slots = np.array([s for s, _ in wg if s is not None], dtype=np.intp)
        self.gbuf = np.zeros(len(self.wg))
        self.gviews = [self.gbuf[i, ...] for i in range(len(self.wg))]
        self.wg_none = [r for s, r in wg if s is None]

    def matches(self, flat: list) -> bool:
        if self.rg_vals and [v._rgv for v in self.rg_vals] != self.rg_want:
            return False
        for r, had in self.guards:
            v = flat[r] if type(r) is int else r
            g = v._ga if type(v) is Value else None
            if g is None:
                if had:
                    return False
            elif not had or type(g) is not np.ndarray or g.shape != () or g.dtype != np.float64:
                return False
        return True

    def __call__(self, flat: list):
        from ..kernels.tape import run_tape
        with self.lock:
            buf = self.buf
            if self.cap:
                buf[self.cap_slots] = [v._v for v in self.cap]
            for s, r in self.arg_in:
                a = flat[r]
                buf[s] = a._v if type(a) is Value else float(a)
            for s, r in self.grad_in:
                buf[s] = float((flat[r] if type(r) is int else r)._ga)
            run_tape(self.tape, buf)
            tick = _value._tick()        # one creation tick for every Value this call sets
            if self.wd_cap:
                for (leaf, n), x in zip(self.wd_cap, buf[self.wd_cap_slots].tolist()):
                    leaf._v = x
                    leaf._ep = tick
                    leaf._version += n
            for s, r, n in self.wd_arg:
                leaf = flat[r]
                leaf._v = float(buf[s])
                leaf._ep = tick
                leaf._version += n
            if self.wg:
                np.take(buf, self.wg_slots, out=self.gbuf)
                for r, view in zip(self.wg, self.gviews):
                    leaf = flat[r] if type(r) is int else r
                    if leaf._ga is not view:
                        leaf._ga = view
            for r in self.wg_none:
                (flat[r] if type(r) is int else r)._ga = None
            return _materialize(self.tmpl, buf, flat)


def _materialize(t, buf, flat):
    kind = t[0]
    if kind == "V":
        v = Value(float(buf[t[1]]), requires_grad=t[3])
        if t[2] is not None:
            v._ga = np.array(float(buf[t[2]]))
        return v
    if kind == "E":
        r = t[1]
        return flat[r] if type(r) is int else r
    if kind == "C":
        return t[1]
    if kind == "dict":
        return {k: _materialize(s, buf, flat) for k, s in t[1]}
    items = [_materialize(s, buf, flat) for s in t[1]]
    return tuple(items) if kind == "tuple" else items


def _detached(out, internal: set):
    """The trace call's own outputs in the compiled calls' form (Values it made detached)."""
    t = type(out)
    if t is Value:
        if id(out) not in internal:
            return out
        v = Value(out._v, requires_grad=out._rgv and out._op is None)
        if out._op is None and out._ga is not None:
            v._ga = np.array(float(out._ga))
        return v
    if t in (tuple, list):
        items = [_detached(o, internal) for o in out]
        return tuple(items) if t is tuple else items
    if t is dict:
        return {k: _detached(o, internal) for k, o in out.items()}
    return out


_EAGER = object()


# ----------------------------------------------------------------------------- the wrapper
class ScalarJit:
    """``compile_scalar(fun)``: call it like ``fun``.  ``trace_count`` counts traces,
    ``clear_cache()`` drops every signature, ``programs()`` lists the compiled tapes."""

    def __init__(self, fun: Callable, static_argnums=()) -> None:
        if not callable(fun):
            raise ArgumentTypeError(f"jit: expected a function, got {type(fun).__name__}")
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        try:
            self.static_argnums = tuple(int(i) for i in static_argnums)
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"jit: static_argnums must be ints, got "
                                    f"{static_argnums!r}") from None
        self.fun = fun
        self.trace_count = 0
        self._cache: OrderedDict = OrderedDict()
        self._warned = False
        functools.update_wrapper(self, fun)

    def clear_cache(self) -> None:
        self._cache.clear()

    def programs(self) -> list:
        return [p for ps in self._cache.values() for p in ps if p is not _EAGER]

    # ------------------------------------------------------------------ signatures
    def _signature(self, args: tuple, kwargs: dict):
        """(key, flat traced leaves) or (None, reason) when the arguments cannot be traced."""
        n = len(args)
        static = set()
        for i in self.static_argnums:
            j = i + n if i < 0 else i
            if not 0 <= j < n:
                raise ArgumentTypeError(f"jit: static_argnums {i} is out of range for "
                                        f"{n} positional arguments")
            static.add(j)
        key: list = []
        flat: list = []
        seen: dict = {}

        def walk(x, where):
            t = type(x)
            if t is Value:
                k = id(x)
                if k in seen:
                    key.append(("alias", seen[k]))
                else:
                    seen[k] = len(flat)
                    key.append(("V", x._op is None, x._rgv))
                flat.append(x)
            elif t is float or t is np.float64:
                key.append("f")
                flat.append(x)
            elif t is tuple or t is list:
                key.append((t, len(x)))
                for y in x:
                    walk(y, where)
            elif t is dict:
                key.append((dict, tuple(x)))
                for y in x.values():
                    walk(y, where)
            elif isinstance(x, (Tensor, np.ndarray)):
                what = "a tensor" if isinstance(x, Tensor) else "an array"
                raise _Untraceable(f"{where} is {what}"
                                   f" (the scalar compiler traces Values and floats)")
            else:
                try:
                    hash(x)
                except TypeError:
                    raise _Untraceable(f"{where} is an unhashable {t.__name__}") from None
                key.append(("s", t, x))
        for i, a in enumerate(args):
            if i in static:
                try:
                    hash(a)
                except TypeError:
                    raise ArgumentTypeError(f"jit: static argument {i} must be hashable, got "
                                            f"{type(a).__name__}") from None
                key.append(("static", type(a), a))
            else:
                walk(a, f"argument {i}")
        for k in sorted(kwargs):
            key.append(("kw", k))
            walk(kwargs[k], f"argument {k!r}")
        return tuple(key), flat, static

    # ------------------------------------------------------------------ calls
    def __call__(self, *args, **kwargs):
        t = _value._TRACE
        if t is not None and t.thread == threading.get_ident():
            return self.fun(*args, **kwargs)          # inside another trace: inline
        try:
            key, flat, static = self._signature(args, kwargs)
        except _Untraceable as e:
            self._warn(str(e), "")
            return self.fun(*args, **kwargs)
        progs = self._cache.get(key)
        if progs is not None:
            for p in progs:
                if p is _EAGER:
                    return self.fun(*args, **kwargs)
                if p.matches(flat):
                    if p.cap_ids and any(id(v) in p.cap_ids for v in flat if type(v) is Value):
                        break                         # an argument is also captured: eager
                    return p(flat)
            else:
                if len(progs) < MAX_VARIANTS:
                    return self._trace(key, args, kwargs, flat, static, progs)
            return self.fun(*args, **kwargs)
        progs = self._cache[key] = []
        if len(self._cache) > MAX_SIGNATURES:
            self._cache.popitem(last=False)
        return self._trace(key, args, kwargs, flat, static, progs)

    def _warn(self, why: str, where: str) -> None:
        if not self._warned:
            self._warned = True
            name = getattr(self.fun, "__qualname__", repr(self.fun))
            at = f" (at {where})" if where else ""
            warnings.warn(f"autograd.jit: {name} runs eagerly: {why}{at}; the tape compiler "
                          f"traces Value arithmetic, backward and parameter updates only",
                          RuntimeWarning, stacklevel=3)

    def _trace(self, key, args, kwargs, flat, static, progs):
        # floats become traced Values (leaves that take no gradient)
        tflat = [x if type(x) is Value else _fresh(float(x)) for x in flat]
        pos = iter(tflat)

        def rebuild(x):
            t = type(x)
            if t is Value or t is float or t is np.float64:
                return next(pos)
            if t is tuple or t is list:
                items = [rebuild(y) for y in x]
                return tuple(items) if t is tuple else items
            if t is dict:
                return {k: rebuild(y) for k, y in x.items()}
            return x
        targs = [a if i in static else rebuild(a) for i, a in enumerate(args)]
        tkw = {k: rebuild(kwargs[k]) for k in sorted(kwargs)}
        tkw = {k: tkw[k] for k in kwargs}
        rec = _Recorder()
        self.trace_count += 1
        with _TRACE_LOCK:
            _value._TRACE = rec
            _value._mk = rec.mk
            try:
                out = self.fun(*targs, **tkw)
            finally:
                _value._TRACE = None
                _value._mk = _MK
        if rec.why is not None:
            progs.append(_EAGER)
            self._warn(rec.why, rec.where)
            return out
        try:
            b = _Builder(rec, tflat)
            b.count_uses(out)
            b.run()
            tmpl = b.template(out)
            prog = _Program(b, tmpl)
        except _Untraceable as e:
            progs.append(_EAGER)
            self._warn(str(e), "")
            return out
        progs.append(prog)
        return _detached(out, b.internal)


def compile_scalar(fun: Callable, static_argnums=()) -> ScalarJit:
    """Compile a function of :class:`~autograd.Value` s to a tape (see the module docstring).

    ``static_argnums``: positions of arguments that are part of the signature by value
    (hashable); other float and Value arguments are traced.
    """
    return ScalarJit(fun, static_argnums)
