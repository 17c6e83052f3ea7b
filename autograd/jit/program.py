"""The program: what one trace of a function leaves behind, and how it runs again.

This module is the compiler's intermediate representation (IR).  It is a public contract
inside the library: the tracer (``trace.py``) writes it, the generic passes (``passes.py``)
and a code-generating backend (``codegen.py``) rewrite it, and ``Program.lower`` turns it
into a callable that replays it on new inputs.

A :class:`Program` is a flat list of :class:`Instr` acting on numbered **slots**.  A slot
holds one ndarray value per run (or a Python constant) and is described by a :class:`Slot`:

============  ==========================================================================
``kind``      meaning of the slot
============  ==========================================================================
``"input"``   the ``index``-th array argument of the call (bound by reference, no copy)
``"const"``   a value fixed at trace time (``value``: an ndarray, a Python scalar, None)
``"load"``    a tensor captured by the function (a parameter): filled by a ``load``
              instruction from the live ``tensor._data`` at that point of the run
``"temp"``    the result of an instruction
============  ==========================================================================

Every slot records the ``shape`` and ``dtype`` seen at trace time (a program is specialised
to one signature), ``dyn`` (whether its value depends on an input or a captured tensor; a
constant-only computation has ``dyn=False`` and can be folded) and ``alias``: the slot whose
memory it may share (a view: reshape, transpose, a vjp returning ``g`` itself), so buffer
reuse never overwrites a value still reachable through a view.

An :class:`Instr` has an ``op`` (one of :data:`OPS`), ``ins`` (slot ids, read), ``outs``
(slot ids, written), ``fn`` (the callable the replay calls), ``kw`` (static keyword
parameters) and, for primitive calls, ``prim`` (the :class:`~autograd.registry.Primitive`).
The ops and their replay semantics (``v[i]`` is the value of slot ``i``):

``call``        ``v[outs[0]] = asarray(fn(*v[ins], **kw))``: a primitive's forward
                (``prim`` set, ``fn is prim.fwd``) or a pure numpy function (comparisons,
                ``argmax``; ``prim`` None).  A primitive declared with ``aux=True`` has
                ``kw["want_aux"]`` and two outs ``(out, aux)``.  A tuple argument holding
                traced arrays comes flattened, with ``fn`` a ``trace._Packed`` rebuilding it.
``vjp``         ``gs = prim.call_vjp(g, out, args, kw, parents, False, aux)`` with
                ``ins = (g, out, *args[, aux])`` (``info["nargs"]`` args,
                ``info["has_aux"]``), ``parents`` the inputs that want a gradient
                (``info["needs"]``); ``outs[k]`` is the gradient of input
                ``info["parents"][k]``.  ``info["layout"]`` (None, or per argument None or
                ``(tuple type, n)``): arguments that were tuples holding traced arrays (an
                index with labels) come flattened in ``ins`` and are rebuilt.  The numpy (first-order, fused) vjp of the primitive.
``asgrad``      ``v[outs[0]]`` = ``v[ins[0]]`` summed back to ``kw["shape"]`` and cast to
                ``kw["dtype"]`` (the engine's ``unbroadcast`` + astype, ``graph._as_grad``).
``add``         ``v[outs[0]] = v[ins[0]] + v[ins[1]]`` (gradient accumulation).
``load``        ``v[outs[0]] = target._data`` (``target``: the captured Tensor).
``load_grad``   ``v[outs[0]] = target.grad`` (a leaf's gradient as the run left it).
``accum_grad``  effect: ``target.grad`` becomes ``v[ins[0]]`` (copied into a buffer owned
                by the program) when it is None, else ``target.grad + v[ins[0]]`` (a
                backward's leaf accumulation, eager semantics, decided at run time).
``set_grad``    effect: ``target.grad = v[ins[0]]`` (``ins == ()``: None).
``inplace``     effect: ``fn(v[ins[0]], v[ins[1]], out=v[ins[0]])`` on the memory of the
                captured tensor ``target`` (``p -= lr * g`` under ``no_grad``), which also
                bumps its version.
``host``        effect: ``fn(*v[ins])``, a Python function re-run at every replay (an
                optimizer's ``step``/``zero_grad``, a loss's label check: see
                ``autograd.jit.effects.host_effect``), given the arrays of its traced
                arguments.  Captured tensors are loaded again after it.
``fused``       written by a backend: ``fn(*v[ins])`` returns the tuple of ``outs`` values
                (or writes them into its own buffers and returns them);
                ``info["body"]`` keeps the instructions it replaced.
============  ==========================================================================

Effects (``Instr.effect``) are never removed by dead-code elimination and keep their order.
A ``call`` is an effect too when ``info["effect"]`` is set: ``"draw"``, a random draw
(``autograd.jit.random_draw``: no traced inputs, drawn again at every replay, never folded);
``"mutates"``, a primitive forward that also writes into captured tensors' memory
(``info["mutates"]``: their slots; BatchNormalization's moving statistics in training, see
``Primitive.mutates``).

A program may carry a **guard** (``Program.guard``, None by default; set by a backend, see
``codegen.whole_step``): a :class:`Guard` naming the leaves whose ``.grad`` must be None and
the captured tensors whose data must keep their trace-time shape and dtype for the program
to be valid.  The generated replay checks it first (O(tensors) attribute reads) and, when it
does not hold, runs ``guard.fallback(args)`` instead: the instruction-by-instruction form
of the same trace, so a guarded program is never a wrong answer.

Lowering: ``Program.lower(backend=None)`` runs the generic passes (dead code, constant
folding), then the backend (a function ``backend(program) -> program`` that may replace
groups of instructions by ``fused`` ones; ``register_backend`` sets the default one), then
buffer planning, and returns an :class:`Executable`: straight-line Python source generated
from the instructions, calling each primitive's ``out=``-writing form (``prim.fwd_out``)
into buffers allocated once, so a steady-state replay allocates only what forms without
``out=`` (most vjps) allocate.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..errors import GraphError

__all__ = ["Slot", "Instr", "Program", "Executable", "Guard", "StaleProgram", "OPS", "EFFECTS", "register_backend"]

#: every instruction op the IR knows
OPS = ("call", "vjp", "asgrad", "add", "load", "load_grad", "accum_grad", "set_grad", "inplace", "host",
       "fused")
#: the ops that are side effects (kept in order, never dead)
EFFECTS = frozenset({"accum_grad", "set_grad", "inplace", "host"})

_BACKEND: list = [None]


def register_backend(backend: Optional[Callable]) -> None:
    """Make ``backend(program) -> program`` the default of ``Program.lower`` (None: none)."""
    _BACKEND[0] = backend


class Slot:
    """One value of a program (see the module docstring for ``kind``)."""

    __slots__ = ("kind", "shape", "dtype", "value", "tensor", "index", "dyn", "alias")

    def __init__(self, kind: str, shape: tuple = (), dtype: Any = None, value: Any = None,
                 tensor: Any = None, index: int = -1, dyn: bool = False,
                 alias: Optional[int] = None) -> None:
        self.kind = kind
        self.shape = shape
        self.dtype = dtype
        self.value = value
        self.tensor = tensor
        self.index = index
        self.dyn = dyn
        self.alias = alias

    def __repr__(self) -> str:
        extra = f" {self.index}" if self.kind == "input" else ""
        return f"<{self.kind}{extra} {self.shape} {self.dtype}{' dyn' if self.dyn else ''}>"


class Instr:
    """One instruction (see the module docstring for the ops)."""

    __slots__ = ("op", "fn", "ins", "outs", "kw", "prim", "target", "info")

    def __init__(self, op: str, fn: Any = None, ins: tuple = (), outs: tuple = (),
                 kw: Optional[dict] = None, prim: Any = None, target: Any = None,
                 info: Optional[dict] = None) -> None:
        self.op = op
        self.fn = fn
        self.ins = tuple(ins)
        self.outs = tuple(outs)
        self.kw = kw if kw is not None else {}
        self.prim = prim
        self.target = target
        self.info = info if info is not None else {}

    @property
    def effect(self) -> bool:
        return self.op in EFFECTS or "effect" in self.info

    @property
    def name(self) -> str:
        if self.prim is not None:
            return f"{self.op}:{self.prim.name}"
        return f"{self.op}:{getattr(self.fn, '__name__', type(self.fn).__name__)}" \
            if self.fn is not None else self.op

    def __repr__(self) -> str:
        return f"{self.outs} = {self.name}{self.ins}"


class StaleProgram(GraphError):
    """A lowered program's captured tensor no longer has its trace-time shape or dtype.
    Raised by a replay before it runs anything; ``autograd.jit`` catches it and traces the
    call again (``trace_count`` grows), so user code sees it only when it replays an
    ``Executable`` itself."""


class Guard:
    """What a guarded program assumes at the start of each run (see the module docstring).

    none_grad : tensors whose ``.grad`` must be None
    loads : ``(tensor, shape, dtype)`` of captured tensors whose ``_data`` must have that
            shape and dtype
    fallback : ``fallback(args) -> [output values]``, run when an assumption fails
    """

    __slots__ = ("none_grad", "loads", "fallback", "misses")

    def __init__(self, none_grad: list, loads: list, fallback: Callable) -> None:
        self.none_grad = list(none_grad)
        self.loads = list(loads)
        self.fallback = fallback
        self.misses = 0

    def holds(self) -> bool:
        """Whether the assumptions hold now (the generated replay inlines this test)."""
        return all(t.grad is None for t in self.none_grad) and all(
            t._data.shape == sh and t._data.dtype == dt for t, sh, dt in self.loads)

    def miss(self, args: list) -> list:
        self.misses += 1
        return self.fallback(args)


class Program:
    """A traced function: slots, instructions, which slots are the inputs and outputs.

    slots : list[Slot];  instrs : list[Instr]
    inputs : slot ids of the array arguments, in the order the call flattens them
    outputs : slot ids of the flattened result (a const slot for a non-array leaf)
    out_spec : the result's structure (``autograd.transforms.tree_unflatten``)
    out_kinds : per output, ``"tensor"`` or ``"array"`` (what the call hands back)
    guard : None, or the :class:`Guard` the replay checks first
    """

    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.instrs: list[Instr] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.out_spec: Any = None
        self.out_kinds: list[str] = []
        self.guard: Optional[Guard] = None

    def new_slot(self, kind: str, **kw: Any) -> int:
        self.slots.append(Slot(kind, **kw))
        return len(self.slots) - 1

    def emit(self, instr: Instr) -> Instr:
        self.instrs.append(instr)
        return instr

    def __repr__(self) -> str:
        lines = [f"Program({len(self.slots)} slots, {len(self.instrs)} instructions)"]
        lines += [f"  {i!r}" for i in self.instrs]
        lines.append(f"  return {self.outputs}")
        return "\n".join(lines)

    def lower(self, backend: Optional[Callable] = None, fold: bool = True) -> "Executable":
        """Passes (dead code, constant folding), the backend, buffer planning; then the
        generated replay function."""
        from . import passes
        prog = passes.dead_code(self)
        if fold:
            prog = passes.fold_constants(prog)
            prog = passes.dead_code(prog)
        backend = backend if backend is not None else _BACKEND[0]
        if backend is not None:
            prog = backend(prog)
        plan = passes.plan_buffers(prog)
        return Executable(prog, plan)


class Executable:
    """A lowered program: ``run(args)`` replays it on a list of input arrays (in
    ``program.inputs`` order) and returns the list of output values (program buffers:
    the caller copies what it hands out).  ``buffers`` maps slot id -> its preallocated
    array (stable across calls)."""

    def __init__(self, program: Program, plan: dict) -> None:
        from . import passes
        self.program = program
        self.buffers: dict[int, np.ndarray] = plan
        self.source, self.run = passes.generate(program, plan)

    def __call__(self, args: list) -> list:
        return self.run(args)


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same_value, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    try:
        return bool(type(a) is type(b) and a == b)
    except Exception:   # noqa: BLE001 - values that do not compare are different
        return False


def _same_target(a: Any, b: Any) -> bool:
    if a is b:
        return True
    da, db = getattr(a, "_data", None), getattr(b, "_data", None)
    return da is not None and db is not None and _same_value(da, db)


def equivalent(p: Program, q: Program) -> Optional[str]:
    """None when two traces of one signature recorded the same program (same instructions
    on the same slots, equal constants, the same captured tensors or equal fresh ones);
    otherwise what differs (a value read from the data, a random draw, a branch)."""
    if len(p.instrs) != len(q.instrs) or len(p.slots) != len(q.slots):
        return "the two traces ran different operations (a branch or loop on a value?)"
    for a, b in zip(p.instrs, q.instrs):
        if (a.op, a.ins, a.outs, a.prim) != (b.op, b.ins, b.outs, b.prim):
            return f"the two traces differ at {a.name} / {b.name}"
        if a.op == "host":
            fa, fb = a.info["fn"], b.info["fn"]
            if fa is not fb or not _same_value(a.info["args"], b.info["args"]) \
                    or not _same_value(a.info["kwargs"], b.info["kwargs"]):
                return f"{a.name} called differently in the two traces"
        elif a.fn is not b.fn and a.fn != b.fn:
            return f"the two traces differ at {a.name}"
        if not _same_value(a.kw, b.kw):
            return f"{a.name}: a parameter differs between the two traces ({a.kw} / {b.kw})"
        if a.target is not None and not _same_target(a.target, b.target):
            return f"{a.name}: a different tensor in the two traces"
    for k, (s, t) in enumerate(zip(p.slots, q.slots)):
        if (s.kind, tuple(s.shape), s.dtype, s.index) != (t.kind, tuple(t.shape), t.dtype, t.index):
            return f"value {k} differs between the two traces ({s} / {t})"
        if s.kind == "const" and not _same_value(s.value, t.value):
            return (f"a constant differs between the two traces (shape {s.shape}, dtype "
                    f"{s.dtype}): a value computed outside the library's operations, or a "
                    f"random draw")
    if p.outputs != q.outputs or p.out_kinds != q.out_kinds:
        return "the results differ in structure between the two traces"
    return None
