"""Code generation for jit programs: generated numba functions for whole segments of a small
step (dense layers, softmax-cross-entropy, elementwise calls, full sums and means, their
vjps and in-place parameter updates: ``fuse_segments``) and for elementwise chains
(``fuse_elementwise``).

``backend(program)`` (registered with ``program.register_backend`` by ``autograd.jit``) looks
for runs of elementwise primitive calls (``add``, ``multiply``, ``exp``, ``relu``, ...) in a
lowered program, all on one shape and float dtype (an operand may be a scalar constant or
broadcast along leading axes, as a bias row is), and replaces each run of at least
``MIN_GROUP`` calls on at least ``FUSE_MIN_SIZE`` elements by one ``fused`` instruction.
Its function runs one generated loop: every element is read once, the chain is computed in
registers, and only the results read after the run (or returned) are stored.

``whole_step`` (tried first by ``backend``) makes a small training step one generated
function: the leaves' ``.grad`` accumulations, reads and resets are rewritten away under a
guard (every leaf the step accumulates into has ``.grad is None`` at the call, every
captured tensor its trace-time shape and dtype), so forward, loss, backward, gradient
sums and the in-place updates form one segment; the replay checks the guard inline and
runs the instruction form (``fuse_segments`` + ``fuse_elementwise``) when it fails.  See
the comment above ``whole_step`` for the rewrite.

This module only writes source text (``kernel_source``); ``autograd/kernels/codegen_compile.py``
writes it into the code cache and compiles it with numba (``cache=True``): a program seen
before, in this process or an earlier one, loads its compiled kernel from disk.
``AUTOGRAD_KERNELS=numpy`` (or no numba) keeps the numpy replay: the backend changes nothing.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
from typing import Any, Optional

import numpy as np

from .program import Instr, Program

__all__ = ["backend", "disabled", "wait", "fuse_elementwise", "fuse_segments", "whole_step",
           "guarded_instructions", "fuse_updates", "dense_vjp_buffers", "fold_updates",
           "kernel_source",
           "segment_source",
           "TEMPLATES", "MIN_GROUP", "FUSE_MIN_SIZE", "SEGMENT_MAX_SIZE", "UPDATE_MAX_SIZE"]

#: Scalar bodies of the fusable primitives: ``{0}``, ``{1}`` the operands, ``{T}`` the dtype.
#: Each is the primitive's numpy forward, element by element (NaN handling included).
TEMPLATES = {
    "add": "({0} + {1})", "subtract": "({0} - {1})", "multiply": "({0} * {1})",
    "divide": "({0} / {1})", "negative": "(-{0})", "power": "({0} ** {1})",
    "exp": "math.exp({0})", "log": "math.log({0})", "sqrt": "math.sqrt({0})",
    "tanh": "math.tanh({0})", "sin": "math.sin({0})", "cos": "math.cos({0})",
    "abs": "abs({0})",
    "relu": "_relu({0})", "maximum": "_max({0}, {1})", "minimum": "_min({0}, {1})",
    # the library's sigmoid: (1 + tanh(x / 2)) / 2
    "sigmoid": "(np.{T}(0.5) * (np.{T}(1.0) + math.tanh({0} * np.{T}(0.5))))",
}
_ARITY = {"negative": 1, "exp": 1, "log": 1, "sqrt": 1, "tanh": 1, "sin": 1, "cos": 1,
          "abs": 1, "relu": 1, "sigmoid": 1}

#: Fewest elementwise calls worth one generated kernel.
MIN_GROUP = 2
#: Fewest elements per array for fusion when numba is not loaded yet in this process.
#: ``python -m benchmarks.jit_codegen`` (2 shared cores, load average ~9; chain
#: ``relu(x * a + b) * c + x``, 4 calls), numpy replay / fused, median per call:
#:   float32: 32x16 6.6/4.7 us, 64x64 9.7/6.6, 128x256 48.6/31.8, 256x512 349/174,
#:            512x1024 9559/595 us;
#:   float64: 32x16 6.6/5.7 us, 64x64 14.8/6.7, 128x256 118/39, 256x512 713/185 us.
#: The fused kernel wins from the smallest size, so once numba is loaded every run is fused;
#: but importing numba and loading a kernel costs ~0.5-1 s a process, so, as the kernels'
#: dispatch does (``kernels.SMALL``), a process that has not loaded numba keeps the replay
#: for runs below this many elements.
FUSE_MIN_SIZE = 16384

_FLOATS = ("float32", "float64")


# ----------------------------------------------------------------------------- analysis
def _operand_kind(prog: Program, i: int, shape: tuple, dtype: str):
    """How slot ``i`` enters a kernel on ``shape``: "full", ("bcast", size), ("scalar", x) or
    None (not fusable)."""
    s = prog.slots[i]
    if s.kind == "const":
        v = s.value
        if isinstance(v, (bool, np.bool_)):
            return None
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, np.ndarray):
            if isinstance(v, np.floating) and np.dtype(type(v)).name != dtype:
                return None
            return ("scalar", float(v))
        if isinstance(v, np.ndarray) and v.shape == () and v.dtype.name == dtype:
            return ("scalar", float(v))
    if s.dtype is None or np.dtype(s.dtype).name != dtype:
        return None
    sh = tuple(s.shape)
    if sh == shape:
        return "full"
    core = sh
    while core and core[0] == 1:
        core = core[1:]
    if len(core) <= len(shape) and shape[len(shape) - len(core):] == core:
        return ("bcast", int(math.prod(core)))
    return None


def _fusable(prog: Program, ins: Instr, shape: Optional[tuple], dtype: Optional[str]):
    """(shape, dtype) of a fusable elementwise call (matching the current group's if given),
    else None."""
    if ins.op != "call" or ins.prim is None or ins.prim.name not in TEMPLATES or ins.kw:
        return None
    if len(ins.outs) != 1 or len(ins.ins) != _ARITY.get(ins.prim.name, 2):
        return None
    o = prog.slots[ins.outs[0]]
    if o.dtype is None or np.dtype(o.dtype).name not in _FLOATS or o.kind != "temp":
        return None
    osh, odt = tuple(o.shape), np.dtype(o.dtype).name
    if shape is not None and (osh != shape or odt != dtype):
        return None
    if not any(_operand_kind(prog, i, osh, odt) == "full" for i in ins.ins) and osh != ():
        return None
    if any(_operand_kind(prog, i, osh, odt) is None for i in ins.ins):
        return None
    return osh, odt


def groups(prog: Program, min_size: int = FUSE_MIN_SIZE, min_group: int = MIN_GROUP) -> list:
    """Runs of consecutive fusable calls on one shape and dtype: [(first, end)]."""
    out = []
    k, n = 0, len(prog.instrs)
    while k < n:
        f = _fusable(prog, prog.instrs[k], None, None)
        if f is None:
            k += 1
            continue
        shape, dtype = f
        e = k + 1
        while e < n and _fusable(prog, prog.instrs[e], shape, dtype) is not None:
            e += 1
        if e - k >= min_group and math.prod(shape) >= min_size:
            out.append((k, e))
        k = e
    return out


# ----------------------------------------------------------------------------- source
def kernel_source(prog: Program, first: int, end: int, needed: set) -> tuple:
    """(source text, name, inputs, input kinds, outputs) of the kernel for instructions
    ``first:end``; ``needed``: the slots read after them (or returned)."""
    body = prog.instrs[first:end]
    o0 = prog.slots[body[0].outs[0]]
    shape, T = tuple(o0.shape), np.dtype(o0.dtype).name
    made = {ins.outs[0] for ins in body}
    inputs, kinds, names = [], [], {}
    for ins in body:
        for i in ins.ins:
            if i in made or i in names:
                continue
            kind = _operand_kind(prog, i, shape, T)
            names[i] = f"a{len(inputs)}"
            inputs.append(i)
            kinds.append(kind)
    outputs = [o for o in (ins.outs[0] for ins in body) if o in needed]
    args = ["n"] + [names[i] for i in inputs] + [f"o{j}" for j in range(len(outputs))]
    lines = ["import math", "import numpy as np", "import numba as nb", "",
             "_jit = nb.njit(cache=True, nogil=True, error_model='numpy', inline='always')",
             "", "",
             "@_jit", "def _relu(x):", f"    return x if x > 0 or x != x else np.{T}(0.0)", "", "",
             "@_jit", "def _max(a, b):", "    return a if a >= b or a != a else b", "", "",
             "@_jit", "def _min(a, b):", "    return a if a <= b or a != a else b", "", "",
             "@nb.njit(cache=True, nogil=True, error_model='numpy')",
             f"def kernel({', '.join(args)}):",
             "    for k in range(n):"]
    expr = {}
    for i, kind in zip(inputs, kinds):
        v = names[i]
        if kind == "full":
            lines.append(f"        {v}k = {v}[k]")
            expr[i] = f"{v}k"
        elif kind[0] == "bcast":
            lines.append(f"        {v}k = {v}[k % {kind[1]}]")
            expr[i] = f"{v}k"
        else:
            expr[i] = v                                   # a typed scalar argument
    for j, ins in enumerate(body):
        t = f"t{j}"
        lines.append(f"        {t} = " + TEMPLATES[ins.prim.name].format(
            *(expr[i] for i in ins.ins), T=T))
        expr[ins.outs[0]] = t
    for j, o in enumerate(outputs):
        lines.append(f"        o{j}[k] = {expr[o]}")
    src = "\n".join(lines) + "\n"
    name = "fused_" + hashlib.sha256(src.encode()).hexdigest()[:24]
    return src, name, inputs, kinds, outputs


# ----------------------------------------------------------------------------- the pass
def _needed(prog: Program, after: int) -> set:
    """Slots read by instructions from ``after`` on, returned, or viewed by such a slot."""
    need = set(prog.outputs)
    for ins in prog.instrs[after:]:
        need.update(i for i in ins.ins if i is not None)
    for s in list(need):
        seen = 0
        while prog.slots[s].alias is not None and seen < 1000:
            s = prog.slots[s].alias
            need.add(s)
            seen += 1
    return need


def fuse_elementwise(prog: Program, min_size: int = FUSE_MIN_SIZE,
                     min_group: int = MIN_GROUP) -> Program:
    """``prog`` with each elementwise run replaced by one ``fused`` instruction (a new
    Program sharing the slots; ``info["body"]`` keeps the replaced instructions)."""
    runs = groups(prog, min_size, min_group)
    if not runs:
        return prog
    from ..kernels.codegen_compile import fused_function
    instrs: list = []
    k = 0
    for first, end in runs:
        instrs.extend(prog.instrs[k:first])
        src, name, inputs, kinds, outputs = kernel_source(prog, first, end, _needed(prog, end))
        shape = tuple(prog.slots[prog.instrs[first].outs[0]].shape)
        dtype = np.dtype(prog.slots[prog.instrs[first].outs[0]].dtype)
        fn = fused_function(src, name, kinds, shape, dtype, len(outputs))
        arrays = tuple(i for i, kd in zip(inputs, kinds)
                       if not isinstance(kd, tuple) or kd[0] != "scalar")
        instrs.append(Instr("fused", fn=fn, ins=arrays,
                            outs=tuple(outputs),
                            info={"body": prog.instrs[first:end], "source": src, "name": name}))
        k = end
    instrs.extend(prog.instrs[k:])
    new = Program()
    new.slots, new.instrs = prog.slots, instrs
    new.inputs, new.outputs = prog.inputs, prog.outputs
    new.out_spec, new.out_kinds = prog.out_spec, prog.out_kinds
    return new


_OFF = [0]
_OFF_LOCK = threading.Lock()


@contextlib.contextmanager
def disabled():
    """``with codegen.disabled():`` programs lowered while the block runs (in any thread) keep the
    numpy replay (no generated numba code), whatever ``AUTOGRAD_KERNELS`` says; every other
    kernel choice is unchanged.  The test suite runs its tests of jit *semantics* this way
    (a program's first numba build costs seconds on a cold code cache), and the tests whose
    subject is the generated code build it (``tests/conftest.py``, marker ``codegen``)."""
    with _OFF_LOCK:
        _OFF[0] += 1
    try:
        yield
    finally:
        with _OFF_LOCK:
            _OFF[0] -= 1


def backend(prog: Program) -> Program:
    """The default jit backend when numba kernels are enabled: a whole small step as one
    guarded generated function (``whole_step``) when it fuses, else whole segments (dense
    layers, softmax-cross-entropy, their vjps) below ``SEGMENT_MAX_SIZE``, then
    elementwise runs.  Inside ``disabled()`` (or under ``AUTOGRAD_KERNELS=numpy``, or
    without numba) the program is returned unchanged: the numpy replay."""
    from .. import kernels as K
    if K.MODE == "numpy" or _OFF[0] or not _numba_available():
        return prog
    fast = whole_step(prog)
    if fast is None:
        fast = guarded_instructions(prog)
    return fast if fast is not None else _segments_and_loops(prog)


def _segments_and_loops(prog: Program) -> Program:
    """Whole segments, then one-pass updates, then elementwise runs (the instruction-level
    form of ``backend``)."""
    from .. import kernels as K
    prog = fuse_segments(prog, max_size=SEGMENT_MAX_SIZE if K.MODE == "auto" else 1 << 62)
    prog = dense_vjp_buffers(prog)
    prog = fuse_updates(prog)
    prog = fold_updates(prog)
    if K.MODE == "numba" or K.loaded():
        return fuse_elementwise(prog, min_size=0)
    return fuse_elementwise(prog)


# ----------------------------------------------------------------------------- dense vjps
# A dense layer's vjp (``_dense_vjp_fast``) allocates its results each call: dz, the bias
# gradient, dx = dz W^T and dW = x^T dz.  Above glibc's mmap threshold (128 KiB) each fresh
# array is new pages, faulted in while BLAS writes them: on this machine (a VM, 2 cores)
# ``x.T @ dz`` into a fresh 784x256 float32 array took 748 us of CPU against 363 us into a
# reused one (``/tmp`` micro-benchmark, 1 thread, min of 21).  ``dense_vjp_buffers`` gives
# each such vjp arrays it owns, allocated once (``ops.fused.dense_vjp_into``: the same
# dispatch and BLAS calls with ``out=``, so the same values).  Only results that stay in
# the program take a buffer: none is returned or set as a ``.grad`` (directly or as a
# view), so the next call's overwrite is never seen.
class _DenseVjp:
    """A dense vjp writing into its own buffers: ``(g, out, x, kernel, bias) -> grads``."""

    def __init__(self, ins: Instr, bufs: tuple) -> None:
        from ..ops.fused import dense_vjp_into
        self.f = dense_vjp_into
        self.activation = ins.kw.get("activation")
        self.slope = ins.kw.get("negative_slope", 0.01)
        self.parents = tuple(ins.info["parents"])
        self.needs = [i in self.parents for i in range(3)]
        self.bufs = bufs

        self.fold = None                    # (target, c): see fold_updates
        self.returns = self.parents

    def folded(self, target: Any, c: float) -> "_DenseVjp":
        """This vjp with ``target -= c * (x.T @ dz)`` in place of its kernel gradient."""
        new = object.__new__(_DenseVjp)
        new.__dict__.update(self.__dict__)
        new.fold = (target, c)
        new.returns = tuple(i for i in self.parents if i != 1)
        return new

    def _update(self, x, gz) -> None:
        from .. import kernels as K
        from ..kernels.blas import gemm_acc_tn
        t, c = self.fold
        t._before_write()
        if not gemm_acc_tn(t._data, x, gz, -c):
            K.subtract_scaled(t._data, np.matmul(x.T, gz, out=self.bufs[3]), c)
        t._bump()

    def __call__(self, g, out, x, kernel, bias=None) -> tuple:
        gs = self.f(g, out, x, kernel, bias, self.activation, self.slope, self.needs, self.bufs,
                    self._update if self.fold is not None else None)
        return tuple(gs[i] for i in self.returns)


def _escaped_roots(prog: Program) -> set:
    """Root slots of values that leave the program (returned or set as a ``.grad``)."""
    out = set(prog.outputs)
    for ins in prog.instrs:
        if ins.op in ("set_grad",):
            out.update(i for i in ins.ins if i is not None)
    return {_root_slot(prog, s) for s in out}


def _root_slot(prog: Program, s: int) -> int:
    seen = 0
    while prog.slots[s].alias is not None and seen < 1000:
        s, seen = prog.slots[s].alias, seen + 1
    return s


def dense_vjp_buffers(prog: Program) -> Program:
    """``prog`` with each 2-d float ``dense`` vjp whose results stay in the program made a
    ``fused`` instruction writing into buffers it owns (``_DenseVjp``)."""
    from ..ops.fused import ACTIVATIONS
    escaped = _escaped_roots(prog)
    repl = {}
    for k, ins in enumerate(prog.instrs):
        if ins.op != "vjp" or ins.prim is None or ins.prim.name != "dense" \
                or ins.info.get("has_aux") or ins.info.get("layout") is not None \
                or ins.info.get("nargs") != 3 or len(ins.ins) != 5 \
                or set(ins.kw) - {"activation", "negative_slope"} \
                or ins.kw.get("activation") not in ACTIVATIONS[:6] \
                or any(o in escaped for o in ins.outs):
            continue
        g, out, x, kern, bias = (prog.slots[i] if i is not None else None for i in ins.ins)
        if any(s is None or s.dtype is None or s.shape is None for s in (g, out, x, kern)):
            continue
        dt = np.dtype(out.dtype)
        if dt.name not in _FLOATS or any(np.dtype(s.dtype) != dt for s in (g, x, kern)) \
                or len(out.shape) != 2 or len(x.shape) != 2 or tuple(g.shape) != tuple(out.shape) \
                or len(kern.shape) != 2:
            continue
        if bias is not None and bias.kind != "const" and (bias.dtype is None
                                                          or np.dtype(bias.dtype) != dt):
            continue
        shapes = (tuple(out.shape), (kern.shape[1],), tuple(x.shape), tuple(kern.shape))
        parents = tuple(ins.info["parents"])
        want = (True, 2 in parents, 0 in parents, 1 in parents)
        bufs = tuple(np.empty(sh, dt) if w else None for sh, w in zip(shapes, want))
        repl[k] = Instr("fused", fn=_DenseVjp(ins, bufs), ins=ins.ins, outs=ins.outs,
                        info={"body": [ins], "name": "dense_vjp_into"})
    if not repl:
        return prog
    new = Program()
    new.slots, new.instrs = prog.slots, [repl.get(k, i) for k, i in enumerate(prog.instrs)]
    new.inputs, new.outputs = prog.inputs, prog.outputs
    new.out_spec, new.out_kinds = prog.out_spec, prog.out_kinds
    new.guard = getattr(prog, "guard", None)
    return new


# ----------------------------------------------------------------------------- updates
# ``p -= lr * g`` under no_grad traces to two instructions: ``t = multiply(lr, g)`` (a call
# into a buffer) and ``inplace subtract(p, t)``: two passes over the parameter's size, and
# the product's buffer.  ``fuse_updates`` makes them one ``fused`` effect at the update's
# place, ``kernels.subtract_scaled`` (one numba pass: read g, read and write p; the product
# rounded to p's dtype as numpy's multiply rounds it, so the same bits), with the version
# bump and graph bookkeeping of ``replay.inplace``.  Updates small enough for a segment
# (``UPDATE_MAX_SIZE``) are in one already; this pass takes the rest (the 784x256 weight of
# benchmarks.mlp_step medium).
class _ScaledUpdate:
    """The effect ``target -= c * g`` (``kernels.subtract_scaled``), bookkeeping as eager's
    in-place subtract."""

    def __init__(self, target: Any, c: float) -> None:
        self.target, self.c = target, c
        from .. import kernels
        self.kernel = kernels.subtract_scaled

    def __call__(self, p, g) -> tuple:
        t = self.target
        t._before_write()
        self.kernel(t._data, g, self.c)
        t._bump()
        return ()


def _scalar_const(prog: Program, i: int, dtype) -> Optional[float]:
    """The value of a constant slot usable as ``c`` of ``subtract_scaled`` for ``dtype``
    (a Python number, or a 0-d/NumPy scalar of that dtype), else None."""
    s = prog.slots[i]
    if s.kind != "const":
        return None
    v = s.value
    if isinstance(v, (bool, np.bool_)):
        return None
    if type(v) in (int, float):
        return float(v)
    if isinstance(v, (np.ndarray, np.generic)) and np.shape(v) == () and \
            np.dtype(v.dtype) == np.dtype(dtype):
        return float(v)
    return None


def _reader_counts(prog: Program) -> dict:
    """{slot: how many instruction operands read it} over ``prog``."""
    readers: dict = {}
    for ins in prog.instrs:
        for i in ins.ins:
            if i is not None:
                readers[i] = readers.get(i, 0) + 1
    return readers


def fuse_updates(prog: Program) -> Program:
    """``prog`` with each ``t = multiply(c, g)`` read only by ``inplace subtract(p, t)`` (p a
    captured float tensor, g a computed value of p's shape and dtype, c a constant scalar)
    replaced by one ``fused`` effect at the update's place (``_ScaledUpdate``)."""
    readers = _reader_counts(prog)
    aliased = {s.alias for s in prog.slots if s.alias is not None}
    made = {o: ins for ins in prog.instrs for o in ins.outs}
    drop, repl = set(), {}
    for k, ins in enumerate(prog.instrs):
        if ins.op != "inplace" or ins.fn is not np.subtract or len(ins.ins) != 2 or ins.kw:
            continue
        p, t = ins.ins
        mul = made.get(t)
        ps, ts = prog.slots[p], prog.slots[t]
        if mul is None or mul.op != "call" or mul.prim is None or mul.prim.name != "multiply" \
                or mul.kw or len(mul.ins) != 2 or readers.get(t) != 1 or t in prog.outputs \
                or t in aliased or ps.dtype is None or np.dtype(ps.dtype).name not in _FLOATS:
            continue
        dt = np.dtype(ps.dtype)
        for ci, gi in (mul.ins, mul.ins[::-1]):
            c = _scalar_const(prog, ci, dt)
            gs = prog.slots[gi]
            if c is not None and gs.kind == "temp" and gs.dtype is not None \
                    and np.dtype(gs.dtype) == dt and ts.dtype is not None \
                    and np.dtype(ts.dtype) == dt and tuple(gs.shape) == tuple(ps.shape) \
                    and tuple(ts.shape) == tuple(ps.shape) and _root_kind(prog, gi) == "temp":
                drop.add(id(mul))
                repl[k] = Instr("fused", fn=_ScaledUpdate(ins.target, c), ins=(p, gi), outs=(),
                                target=ins.target,
                                info={"body": [mul, ins], "effect": "update",
                                      "name": "subtract_scaled"})
                break
    if not repl:
        return prog
    instrs = [repl.get(k, ins) for k, ins in enumerate(prog.instrs) if id(ins) not in drop]
    new = Program()
    new.slots, new.instrs = prog.slots, instrs
    new.inputs, new.outputs = prog.inputs, prog.outputs
    new.out_spec, new.out_kinds = prog.out_spec, prog.out_kinds
    new.guard = getattr(prog, "guard", None)
    return new


# ----------------------------------------------------------------------------- folded updates
# After ``dense_vjp_buffers`` and ``fuse_updates``, a large layer's weight gradient is a GEMM
# into a buffer (``dW = x.T @ dz``) read once, by the one-pass update ``W -= lr * dW``.
# ``fold_updates`` makes them one BLAS call, ``W += (-lr) * x.T @ dz`` (GEMM with beta = 1,
# ``kernels.blas.gemm_acc_tn``, numpy's own OpenBLAS): no gradient array is written and the
# update's pass over W is gone.  The update then runs inside the vjp, right after dx = dz
# W^T (which reads W), so it moves earlier than eager's order: allowed only when nothing
# between the two reads the target's memory (its loads and views), and the rounding differs
# from eager's two steps (the product is accumulated in BLAS, not rounded to a gradient
# array first): float32 within 1e-7 relative of the weights.
def fold_updates(prog: Program) -> Program:
    """``prog`` with each one-pass update of a dense vjp's kernel gradient folded into that
    vjp's GEMM (see above), where numpy's BLAS is found and the move is safe."""
    from ..kernels import blas
    made = {o: k for k, ins in enumerate(prog.instrs) for o in ins.outs}
    readers = _reader_counts(prog)
    aliased = {s.alias for s in prog.slots if s.alias is not None}
    instrs = list(prog.instrs)
    drop = set()
    roots = None                # per slot: the captured tensor whose memory it is, or None
    for j, upd in enumerate(prog.instrs):
        if upd.op != "fused" or not isinstance(upd.fn, _ScaledUpdate):
            continue
        p, g = upd.ins
        k = made.get(g)
        if k is None:
            continue
        vjp = instrs[k]
        if vjp.op != "fused" or not isinstance(vjp.fn, _DenseVjp) or vjp.fn.fold is not None \
                or 1 not in vjp.fn.parents or readers.get(g) != 1 or g in prog.outputs \
                or g in aliased or vjp.outs[vjp.fn.parents.index(1)] != g:
            continue
        dt = prog.slots[p].dtype
        if dt is None or not blas.available(dt):
            continue
        target = upd.fn.target
        if roots is None:
            loaded = {ins.outs[0]: ins.target for ins in prog.instrs if ins.op == "load"}
            roots = [loaded.get(_root_slot(prog, i)) for i in range(len(prog.slots))]
        mine = {i for i, t in enumerate(roots) if t is target}
        if any(i in mine for i in vjp.ins[:3]) or (vjp.ins[4] in mine) or any(
                i in mine for ins in prog.instrs[k + 1:j] for i in ins.ins if i is not None):
            continue
        outs = tuple(o for o in vjp.outs if o != g)
        instrs[k] = Instr("fused", fn=vjp.fn.folded(target, upd.fn.c), ins=vjp.ins, outs=outs,
                          target=target, info={"body": vjp.info["body"] + upd.info["body"],
                                               "name": "dense_vjp_into+update",
                                               "effect": "update"})
        drop.add(j)
    if not drop:
        return prog
    new = Program()
    new.slots, new.instrs = prog.slots, [i for j, i in enumerate(instrs) if j not in drop]
    new.inputs, new.outputs = prog.inputs, prog.outputs
    new.out_spec, new.out_kinds = prog.out_spec, prog.out_kinds
    new.guard = getattr(prog, "guard", None)
    return new


def _numba_available() -> bool:
    import importlib.util
    return importlib.util.find_spec("numba") is not None


# ----------------------------------------------------------------------------- whole segments
# A run of dense layers, softmax-cross-entropy and their vjps (a small MLP's forward and
# backward) becomes one generated numba function: GEMMs through np.dot (BLAS) inside numba,
# bias + activation, the activation backward with the bias-gradient sums, and the loss with
# its gradient by the library's numba kernels (autograd/kernels/_jit.py, each twin-tested),
# so the whole run costs one Python call instead of one per primitive.
_DENSE_KINDS = {None: 0, "linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "leaky_relu": 4}

_DIGEST: list = []


def _kernels_digest() -> str:
    """A digest of ``autograd/kernels/_jit.py``'s source (read once per process)."""
    if not _DIGEST:
        from .. import kernels
        path = os.path.join(os.path.dirname(os.path.abspath(kernels.__file__)), "_jit.py")
        with open(path, "rb") as f:
            _DIGEST.append(hashlib.sha256(f.read()).hexdigest()[:16])
    return _DIGEST[0]


#: Largest result (elements: an activation or a weight gradient) for which a segment
#: function replaces the replay.  Measured on the ``jit`` MLP step of
#: ``benchmarks.mlp_step`` (float32, executables only, interleaved, median of 200, load
#: average ~8.5), numpy replay / segment: tiny (largest result 32x16) 108/42.5 us, small
#: (64x128) 139/81 us, medium (784x256 weight gradient) 200/215 ms (a wash: the GEMMs
#: dominate).  So tiny and small take the segment, medium and large the replay.  Operands
#: count as well as results, and the bound is 16384 (small's largest is 64x128 = 8192): with
#: 65536, the forward of the ``nn-jit`` medium step (layers 2-3, 256x128 weight) became a
#: segment and ran at 8.0 ms a step against 2.0 ms eager (/tmp profile, quiet machine, 07:00
#: UTC 2026-11-30); the segment itself took 5 ms a call.
SEGMENT_MAX_SIZE = 16384


#: Largest captured tensor (elements) a segment updates in place.  The SGD update of the
#: tiny MLP step (largest 16x16) and of micrograd's tensor step gain from one generated
#: function; small's (64x128 weight) measured 2-19 us slower in two interleaved in-process
#: runs (load ~3.3, another test run in parallel), so above this bound updates stay numpy.
UPDATE_MAX_SIZE = 4096


def _sl(prog, i):
    return prog.slots[i] if i is not None else None


def _dt(s):
    return None if s is None or s.dtype is None else np.dtype(s.dtype).name


# ----------------------------------------------------------------------------- segment forms
# Besides dense layers and the loss, a segment takes the elementwise calls around them (any
# shapes numpy broadcasts, 0-d values as numba scalars), full sum/mean reductions, the vjps
# of these, and in-place updates of captured tensors (``p -= lr * g``), so a small step's
# forward, loss, L2 penalty, backward and SGD update run as one or two generated functions.
#: numba source of each elementwise primitive inside a segment (arrays or scalars)
_SEG_EXPR = {
    "add": "({0} + {1})", "subtract": "({0} - {1})", "multiply": "({0} * {1})",
    "divide": "({0} / {1})", "negative": "(-{0})", "exp": "np.exp({0})",
    "log": "np.log({0})", "sqrt": "np.sqrt({0})", "tanh": "np.tanh({0})",
    "relu": "np.maximum({0}, np.{T}(0.0))", "maximum": "np.maximum({0}, {1})",
    "minimum": "np.minimum({0}, {1})",
}
#: the primitives whose forward (and vjp, for the ones in ``_SEG_VJP``) a segment takes
_ELEM_SEG = frozenset(_SEG_EXPR) | {"sum", "mean"}
_SEG_VJP = frozenset({"add", "subtract", "multiply", "negative", "relu", "sum", "mean"})
#: in-place updates a segment takes: ``fn(p, v, out=p)``
_INPLACE = {np.add: "np.add", np.subtract: "np.subtract", np.multiply: "np.multiply",
            np.divide: "np.divide"}


def _full_reduction(kw: dict) -> bool:
    """A reduction over every axis to a 0-d value (``axis=None``, ``keepdims=False``)."""
    return all(k in ("axis", "keepdims") and (v is None if k == "axis" else v is False
                                              or v == 0) for k, v in kw.items())


def _weak(v) -> bool:
    """A Python number (numpy casts it to the other operand's dtype)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _operand_ok(prog: Program, i: Optional[int], T: str) -> bool:
    """Whether slot ``i`` enters a segment of dtype ``T`` without changing numpy's result
    dtype: a Python number, or a value (array or 0-d) of dtype ``T``."""
    if i is None:
        return False
    s = prog.slots[i]
    if s.kind == "const":
        v = s.value
        if _weak(v):
            return True
        return isinstance(v, (np.ndarray, np.floating)) and np.dtype(v.dtype).name == T
    return s.dtype is not None and np.dtype(s.dtype).name == T and s.shape is not None


def _seg_uses(ins: Instr) -> tuple:
    """The slots the segment code of ``ins`` reads."""
    if ins.op == "inplace":
        return ins.ins
    if ins.prim is None or ins.prim.name not in _ELEM_SEG:
        return ins.ins
    if ins.op == "call":
        return ins.ins
    g, _out, *args = ins.ins
    name, parents = ins.prim.name, ins.info["parents"]
    if name in ("add", "subtract", "negative"):
        return (g,)
    if name == "multiply":
        return (g,) + tuple(args[1 - p] for p in parents)
    if name == "relu":
        return (g, args[0])
    return (g,)                                          # sum, mean: x's shape is static


def _elem_ok(prog: Program, ins: Instr) -> bool:
    """Whether an elementwise call, full reduction, their vjp or an in-place update has a
    numba form in a segment (one float dtype; numbers cast as numpy casts them)."""
    if ins.op == "inplace":
        if ins.fn not in _INPLACE or len(ins.ins) != 2 or ins.target is None:
            return False
        t = prog.slots[ins.ins[0]]
        if t.kind != "load" or t.dtype is None or np.dtype(t.dtype).name not in _FLOATS \
                or not t.shape:
            return False
        return _operand_ok(prog, ins.ins[1], np.dtype(t.dtype).name)
    name = ins.prim.name
    if not ins.outs or any(prog.slots[o].kind != "temp" or prog.slots[o].dtype is None
                           for o in ins.outs):
        return False
    T = np.dtype(prog.slots[ins.outs[0]].dtype).name
    if T not in _FLOATS or any(np.dtype(prog.slots[o].dtype).name != T for o in ins.outs):
        return False
    arity = 1 if name in ("negative", "exp", "log", "sqrt", "tanh", "relu", "sum",
                          "mean") else 2
    if ins.op == "call":
        if len(ins.outs) != 1 or len(ins.ins) != arity:
            return False
        if name in ("sum", "mean"):
            x = prog.slots[ins.ins[0]]
            if not _full_reduction(ins.kw) or x.kind == "const" or not x.shape:
                return False
        elif ins.kw:
            return False
        return all(_operand_ok(prog, i, T) for i in ins.ins)
    if ins.op != "vjp" or name not in _SEG_VJP:
        return False
    info = ins.info
    parents = list(info.get("parents", ()))
    if info.get("nargs") != arity or info.get("has_aux") or info.get("layout") is not None \
            or len(ins.ins) != 2 + arity or len(ins.outs) != len(parents) or not parents \
            or parents != sorted(set(parents)):
        return False
    if name in ("sum", "mean"):
        if not _full_reduction(ins.kw):
            return False
        x = prog.slots[ins.ins[2]]
        if not x.shape or tuple(prog.slots[ins.outs[0]].shape) != tuple(x.shape):
            return False
    elif ins.kw:
        return False
    if name == "relu":
        g, x, o = (prog.slots[i] for i in (ins.ins[0], ins.ins[2], ins.outs[0]))
        if g.kind == "const" or not x.shape or tuple(g.shape) != tuple(x.shape) \
                or tuple(o.shape) != tuple(x.shape):
            return False
    return all(_operand_ok(prog, i, T) for i in _seg_uses(ins))


def _literal(v, T: str) -> str:
    """A scalar constant as numba source of dtype ``T``."""
    f = float(v)
    if f != f:
        return f"np.{T}(np.nan)"
    if math.isinf(f):
        return f"np.{T}({'-' if f < 0 else ''}np.inf)"
    return f"np.{T}({f!r})"


def _elem_lines(prog: Program, ins: Instr, ref) -> list:
    """The numba lines of an elementwise call, reduction, their vjp or an in-place update."""
    if ins.op == "inplace":
        p, v = ref(ins.ins[0]), ref(ins.ins[1])
        return [f"    {_INPLACE[ins.fn]}({p}, {v}, {p})"]
    name = ins.prim.name
    T = np.dtype(prog.slots[ins.outs[0]].dtype).name
    if ins.op == "call":
        a = [ref(i) for i in ins.ins]
        o = f"t{ins.outs[0]}"
        if name in ("sum", "mean"):
            n = max(math.prod(prog.slots[ins.ins[0]].shape), 1)
            div = "" if name == "sum" else f" / np.{T}({float(n)!r})"
            return [f"    {o} = np.{T}(_sum({a[0]}){div})"]
        return [f"    {o} = " + _SEG_EXPR[name].format(*a, T=T)]
    g = ref(ins.ins[0])
    args = ins.ins[2:]
    res = {}
    if name == "add":
        res = {0: g, 1: g}
    elif name == "subtract":
        res = {0: g, 1: f"(-{g})"}
    elif name == "negative":
        res = {0: f"(-{g})"}
    elif name == "multiply":                            # d(xy) = y dx + x dy
        res = {p: f"({g} * {ref(args[1 - p])})" for p in ins.info["parents"]}
    elif name == "relu":
        res = {0: f"_relu_grad({g}, {ref(args[0])})"}
    else:                                                # sum, mean: g spread over x
        shape = tuple(prog.slots[args[0]].shape)
        n = max(math.prod(shape), 1)
        fill = g if name == "sum" else f"({g} * np.{T}({1.0 / n!r}))"
        res = {0: f"np.full({shape!r}, {fill}, np.{T})"}
    return [f"    t{o} = {res[p]}" for o, p in zip(ins.outs, ins.info["parents"])]


#: numba helpers of the segment forms.  ``_sum`` is numpy's pairwise summation (blocks of
#: 8 accumulators below 128 elements, halves above) in the array's dtype, so a float32 sum
#: or mean rounds as the replay's does.
_SEG_HELPERS = [
    "@nb.njit(cache=True, nogil=True)",
    "def _block(a, lo, n):",
    "    res = a[lo]",
    "    if n < 8:",
    "        for i in range(lo + 1, lo + n):",
    "            res += a[i]",
    "        return res",
    "    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]",
    "    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]",
    "    m = n - n % 8",
    "    for i in range(lo + 8, lo + m, 8):",
    "        r0 += a[i]",
    "        r1 += a[i + 1]",
    "        r2 += a[i + 2]",
    "        r3 += a[i + 3]",
    "        r4 += a[i + 4]",
    "        r5 += a[i + 5]",
    "        r6 += a[i + 6]",
    "        r7 += a[i + 7]",
    "    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))",
    "    for i in range(lo + m, lo + n):",
    "        res += a[i]",
    "    return res", "", "",
    # numpy's recursion (halves, rounded down to a multiple of 8, down to 128 elements)
    # with an explicit stack: numba's on-disk cache of a recursive function can crash
    "@nb.njit(cache=True, nogil=True)",
    "def _pairwise(a, n):",
    "    if n <= 128:",
    "        return _block(a, 0, n)",
    "    los = np.empty(128, np.int64)",
    "    ns = np.empty(128, np.int64)",
    "    stage = np.zeros(128, np.int64)",
    "    vals = np.empty(128, a.dtype)",
    "    top, nv = 0, 0",
    "    los[0], ns[0] = 0, n",
    "    while top >= 0:",
    "        lo, m = los[top], ns[top]",
    "        if m <= 128:",
    "            vals[nv] = _block(a, lo, m)",
    "            nv += 1",
    "            top -= 1",
    "            continue",
    "        m2 = m // 2",
    "        m2 -= m2 % 8",
    "        if stage[top] == 0:",
    "            stage[top] = 1",
    "            top += 1",
    "            los[top], ns[top], stage[top] = lo, m2, 0",
    "        elif stage[top] == 1:",
    "            stage[top] = 2",
    "            top += 1",
    "            los[top], ns[top], stage[top] = lo + m2, m - m2, 0",
    "        else:",
    "            nv -= 1",
    "            vals[nv - 1] = vals[nv - 1] + vals[nv]",
    "            top -= 1",
    "    return vals[0]", "", "",
    "@nb.njit(cache=True, nogil=True)",
    "def _sum(x):",
    "    if x.size == 0:",
    "        return np.zeros(1, x.dtype)[0]",
    "    return _pairwise(x.reshape(-1), x.size)", "", "",
    "@nb.njit(cache=True, nogil=True)",
    "def _relu_grad(g, x):",
    "    out = np.empty(x.shape, g.dtype)",
    "    of, gf, xf = out.reshape(-1), g.reshape(-1), x.reshape(-1)",
    "    for k in range(xf.size):",
    "        of[k] = gf[k] if xf[k] > 0 else 0",
    "    return out", "", "",
]


def _schedule(prog: Program, window: list) -> list:
    """``window`` (loads, gradient reads and writes, in-place updates, segment instructions)
    reordered so the
    segment instructions form as few runs as possible: loads first, then repeatedly every
    segment instruction whose inputs are ready, else every other ready instruction.  An
    instruction stays after each earlier one it reads a value of, and the order between
    a write and the reads and writes of one resource (a captured tensor's memory: its
    loads' readers and in-place updates; a leaf's ``.grad``: accumulations, loads, sets
    and the readers of loaded gradients) is kept: eager order on everything observable."""
    n = len(window)
    if n < 3:
        return list(window)
    slots = prog.slots
    mem, grad = {}, {}
    for ins in prog.instrs:
        if ins.op == "load":
            mem[ins.outs[0]] = id(ins.target)
        elif ins.op == "load_grad":
            grad[ins.outs[0]] = id(ins.target)

    def root(s):
        seen = 0
        while slots[s].alias is not None and seen < 1000:
            s, seen = slots[s].alias, seen + 1
        return s
    reads, writes, outs, ins_ = [], [], [], []
    for ins in window:
        r, w = set(), set()
        for i in ins.ins:
            if i is None:
                continue
            x = root(i)
            if x in mem:
                r.add(("mem", mem[x]))
            if x in grad:
                r.add(("grad", grad[x]))
        if ins.op == "load_grad":
            r.add(("grad", id(ins.target)))
        elif ins.op in ("accum_grad", "set_grad"):
            w.add(("grad", id(ins.target)))
        elif ins.op == "inplace":
            w.add(("mem", id(ins.target)))
        reads.append(r)
        writes.append(w)
        outs.append(set(ins.outs))
        ins_.append({i for i in ins.ins if i is not None})
    deps = []
    for k in range(n):
        d = []
        for j in range(k):
            if outs[j] & ins_[k] or writes[j] & (reads[k] | writes[k]) or reads[j] & writes[k]:
                d.append(j)
        deps.append(d)
    # an update too large for a segment (``UPDATE_MAX_SIZE``) is scheduled as late as its
    # dependencies allow, so it does not split the segment around it
    seg = [ins.op not in ("load", "load_grad", "accum_grad", "set_grad")
           and _segment_ok(prog, ins) for ins in window]
    done = [False] * n
    order = []

    def sweep(kinds) -> bool:
        moved = False
        again = True
        while again:
            again = False
            for k in range(n):
                if not done[k] and kinds(k) and all(done[j] for j in deps[k]):
                    done[k] = True
                    order.append(k)
                    moved = again = True
        return moved
    sweep(lambda k: window[k].op == "load")
    while len(order) < n:
        if not sweep(lambda k: seg[k]) and not sweep(lambda k: not seg[k]):
            order.extend(k for k in range(n) if not done[k])     # pragma: no cover
            break
    return [window[k] for k in order]


def _reorder(prog: Program) -> list:
    """The instructions with each window free of other effects (loads, gradient
    accumulations, loads and sets, segment instructions) scheduled by ``_schedule``."""
    out: list = []
    window: list = []
    for ins in prog.instrs:
        if ins.op in ("load", "accum_grad", "load_grad", "set_grad", "inplace") \
                or _segment_ok(prog, ins):
            window.append(ins)
        else:
            out.extend(_schedule(prog, window))
            window.clear()
            out.append(ins)
    out.extend(_schedule(prog, window))
    return out


def _segment_ok(prog: Program, ins: Instr) -> bool:
    """Whether ``ins`` has a numba form in a segment (all float operands of one dtype; an
    in-place update of at most ``UPDATE_MAX_SIZE`` elements)."""
    if ins.op == "inplace":
        s = prog.slots[ins.ins[0]] if ins.ins and ins.ins[0] is not None else None
        if s is None or s.shape is None or math.prod(s.shape) > UPDATE_MAX_SIZE:
            return False
        return _elem_ok(prog, ins)
    if ins.prim is not None and ins.prim.name in _ELEM_SEG:
        return _elem_ok(prog, ins)
    p = ins.prim
    if p is None or ins.op not in ("call", "vjp"):
        return False
    slots = [_sl(prog, i) for i in ins.ins] + [_sl(prog, o) for o in ins.outs]
    if p.name == "dense":
        if ins.kw.get("activation") not in _DENSE_KINDS or set(ins.kw) - {"activation",
                                                                           "negative_slope"}:
            return False
        if ins.op == "call":
            if len(ins.ins) != 3 or None in ins.ins or len(ins.outs) != 1:
                return False
            x, w, b, o = slots
            shapes = (len(x.shape), len(w.shape), len(b.shape), len(o.shape))
        else:
            info = ins.info
            parents = list(info.get("parents", ()))
            if info.get("nargs") != 3 or info.get("has_aux") or len(ins.ins) != 5 or \
                    None in ins.ins or parents != sorted(info.get("needs", ())) \
                    or len(ins.outs) != len(parents):
                return False
            g, out, x, w, b = slots[:5]
            shapes = (len(g.shape), len(out.shape), len(x.shape), len(w.shape), len(b.shape))
            if shapes != (2, 2, 2, 2, 1):
                return False
            shapes = (2, 2, 1, 2)
        if shapes != (2, 2, 1, 2):
            return False
        return len({_dt(s) for s in slots}) == 1 and _dt(slots[0]) in _FLOATS
    if p.name == "softmax_cross_entropy":
        if ins.op == "call":
            if ins.kw != {"want_aux": True} or len(ins.ins) != 2 or len(ins.outs) != 2:
                return False
            z, lab, loss, aux = slots
            return (len(z.shape) == 2 and _dt(z) in _FLOATS and lab.dtype is not None
                    and np.dtype(lab.dtype).kind in "iu" and tuple(lab.shape) == tuple(z.shape[:1])
                    and _dt(loss) == _dt(z) == _dt(aux) and tuple(aux.shape) == tuple(z.shape))
        info = ins.info
        if ins.kw or not info.get("has_aux") or info.get("nargs") != 2 or \
                list(info.get("parents", ())) != [0] or len(ins.ins) != 5 or len(ins.outs) != 1:
            return False
        g, out, z, lab, aux = slots[:5]
        return (tuple(g.shape) == () and _dt(g) == _dt(z) == _dt(aux) == _dt(slots[5])
                and _dt(z) in _FLOATS and np.dtype(lab.dtype).kind in "iu")
    return False


def segment_source(prog: Program, body: list, needed: set) -> tuple:
    """(source, name, inputs, outputs, 0-d outputs {slot: dtype}) of the numba function for
    ``body``.  A 0-d input comes as a 1-element array and is read as a scalar; a 0-d result
    is a scalar of its dtype (the caller makes it a 0-d array); a Python number or 0-d
    constant is written into the source, typed as numpy would cast it."""
    made: set = set()
    inputs: list = []
    names: dict = {}
    consts: dict = {}
    unpack: list = []
    for ins in body:
        T = _seg_dtype(prog, ins)
        for i in _seg_uses(ins):
            if i is None or i in made or i in names or i in consts:
                continue
            s = prog.slots[i]
            v = s.value
            if s.kind == "const" and (_weak(v) or (isinstance(v, (np.ndarray, np.generic))
                                                   and np.ndim(v) == 0)):
                consts[i] = _literal(v, T)
                continue
            a = f"a{len(inputs)}"
            inputs.append(i)
            if s.shape is not None and tuple(s.shape) == ():
                names[i] = f"s{len(inputs) - 1}"
                unpack.append(f"    {names[i]} = {a}[0]")
            else:
                names[i] = a
        made.update(ins.outs)

    def ref(i):
        return consts.get(i) or names.get(i) or f"t{i}"
    # the digest of the kernels the segment calls: numba's cache of the segment holds their
    # machine code and is keyed on the segment's own file only, so a changed _jit.py (a
    # library upgrade) must give the segment another name, not load the old code
    lines = ["import numpy as np", "import numba as nb",
             f"from autograd.kernels import _jit as J   # kernels {_kernels_digest()}", "", ""]
    if any(ins.op == "inplace" or (ins.prim is not None and ins.prim.name in _ELEM_SEG)
           for ins in body):
        lines += _SEG_HELPERS
    lines += ["@nb.njit(cache=True, nogil=True, error_model='numpy')", "def segment(ARGS):"]
    lines += unpack
    for k, ins in enumerate(body):
        if ins.op == "inplace" or ins.prim.name in _ELEM_SEG:
            lines += _elem_lines(prog, ins, ref)
            continue
        r = [ref(i) for i in ins.ins]
        kind = _DENSE_KINDS.get(ins.kw.get("activation"), 0)
        slope = float(ins.kw.get("negative_slope", 0.01))
        if ins.prim.name == "dense" and ins.op == "call":
            x, w, b = r
            o = f"t{ins.outs[0]}"
            lines += [f"    {o} = np.dot({x}, {w})",
                      f"    J.bias_act({o}, {b}, True, {kind}, {slope!r})"]
        elif ins.prim.name == "dense":
            g, out, x, w, b = r
            gz, gb = f"gz{k}", f"gb{k}"
            lines += [f"    {gz} = np.empty({out}.shape, {out}.dtype)",
                      f"    {gb} = np.empty({out}.shape[1], {out}.dtype)",
                      f"    J.dense_grad_z({g}, {out}, {gz}, {gb}, True, {kind}, {slope!r})"]
            res = {0: f"np.dot({gz}, {w}.T)", 1: f"np.dot({x}.T, {gz})", 2: gb}
            for o, p in zip(ins.outs, ins.info["parents"]):
                lines.append(f"    t{o} = {res[p]}")
        elif ins.op == "call":                             # softmax_cross_entropy, sparse
            z, lab = r
            loss, aux = ins.outs
            T = _dt(prog.slots[ins.ins[0]])
            lines += [f"    t{aux} = np.empty({z}.shape, {z}.dtype)",
                      f"    t{loss} = np.{T}(J.xent_sparse({z}, {lab}, t{aux}, "
                      f"1.0 / max({z}.shape[0], 1), True) / max({z}.shape[0], 1))"]
        else:                                              # its vjp: aux * g
            g, _, _, _, aux = r
            lines.append(f"    t{ins.outs[0]} = {aux} * {g}")
    outputs = [o for ins in body for o in ins.outs if o in needed]
    lines.append(f"    return ({', '.join(ref(o) for o in outputs)},)" if outputs
                 else "    return ()")
    src = "\n".join(lines).replace("ARGS", ", ".join(f"a{k}" for k in range(len(inputs))))
    src += "\n"
    name = "segment_" + hashlib.sha256(src.encode()).hexdigest()[:24]
    scalars = {o: _dt(prog.slots[o]) for o in outputs
               if prog.slots[o].shape is not None and tuple(prog.slots[o].shape) == ()}
    return src, name, inputs, outputs, scalars


def _seg_dtype(prog: Program, ins: Instr) -> str:
    """The float dtype a segment instruction computes in."""
    if ins.op == "inplace":
        return _dt(prog.slots[ins.ins[0]])
    return _dt(prog.slots[ins.outs[0]]) if ins.outs else "float64"


#: Calls of a compiled function after which its segments' numba code is built, when this
#: process has not loaded numba yet: importing numba and loading the cached kernels costs
#: 0.5-3 s (2 shared cores, load 1-9), against 60-100 µs saved per tiny step, so a short run
#: (a few hundred steps) keeps the numpy replay and its fast first call.  The build runs in a
#: child process (``autograd.kernels.background``: numba's compiler never runs in a thread
#: of this one, and no call waits for a compile); calls replay meanwhile, and the first call
#: after it is done loads the compiled code from numba's cache (numba's one-time set-up,
#: ~0.5 s) and switches.  With numba already loaded (or ``AUTOGRAD_KERNELS=numba``) the
#: build happens at lowering, in this process.
HOT_CALLS = 50
_PENDING: list = []


def wait(timeout: Optional[float] = None) -> None:
    """Wait for the background builds started so far and switch to their compiled code
    (benchmarks and tests that time the steady state call it after warming up); at most
    ``timeout`` seconds per build."""
    while _PENDING:
        _PENDING.pop(0)(timeout)


def _replay_of(prog: Program, body: list, inputs: list, outputs: list):
    """The numpy replay of ``body`` as a function of the segment's inputs."""
    sub = Program()
    sub.slots, sub.instrs = prog.slots, list(body)
    sub.inputs, sub.outputs = list(inputs), list(outputs)
    exe = sub.lower(backend=lambda p: p, fold=False)

    def replay(*vals):
        return tuple(exe.run(list(vals)))
    return replay


class _Tiered:
    """A segment's callable: the replay until its numba function is built (see
    ``HOT_CALLS``), then the numba function.  ``build()`` returns the numba callable
    (imports numba and the generated module; numba compiles, or loads from its cache, at
    the first call); ``spec(vals)``, if given, describes the compile for a child process
    from the arguments of a call (``kernels.background``): the child fills numba's cache
    while a thread runs ``build()`` (imports only), and the first call after both are done
    loads the code here.  Without ``spec``, or when no child can be started, the build runs
    here at the HOT_CALLS-th call.  A build that fails keeps the replay (``error``)."""

    __slots__ = ("build", "replay", "spec", "fn", "calls", "job", "pre", "error")

    def __init__(self, build, replay, spec=None) -> None:
        self.build, self.replay, self.spec = build, replay, spec
        self.fn = None
        self.calls = 0
        self.job = self.pre = None
        self.error = None

    def _finish(self, timeout: Optional[float] = None) -> None:
        """Take the built function (loading the child's cache entry here) or the error."""
        if self.fn is not None or self.error is not None:
            return
        job, pre = self.job, self.pre
        try:
            if job is None:
                self.fn = self.build()
                return
            if not job.wait(timeout):
                return
            fn = pre.result(timeout)
            if fn is None:
                return
            self.job = self.pre = None
            if job.state != "done":
                self.error = RuntimeError(job.error)
                return
            if getattr(fn, "kernel", None) is not None:
                from ..kernels import background
                background.load(fn.kernel, job.spec)     # numba's cache entry, loaded now
            self.fn = fn
        except Exception as e:   # noqa: BLE001 - the replay stays: slower, same numbers
            self.job = self.pre = None
            self.error = e

    def _start(self, vals) -> None:
        if self.spec is not None:
            from ..kernels import background
            try:
                job = background.submit(self.spec(vals))
            except Exception as e:   # noqa: BLE001 - an argument it cannot describe: replay
                self.error = e
                return
            if job.state != "failed":
                self.job, self.pre = job, background.Preload(self.build)
                _PENDING.append(self._finish)
                return
        self._finish()               # no child: build here, now

    def __call__(self, *vals):
        fn = self.fn
        if fn is not None:
            return fn(*vals)
        job = self.job
        if job is not None:
            if job.poll() and self.pre.done():
                self._finish()
                if self.fn is not None:
                    return self.fn(*vals)
        else:
            self.calls += 1
            if self.calls == HOT_CALLS and self.error is None:
                self._start(vals)
                if self.fn is not None:
                    return self.fn(*vals)
        return self.replay(*vals)


def _tiered(build, replay, spec=None):
    from .. import kernels as K
    t = _Tiered(build, replay, spec)
    if K.MODE == "numba" or K.loaded():
        t._finish()                          # numba is here already: no reason to wait
    return t


def _write_hazard(prog: Program, body: list) -> bool:
    """Whether a segment updating a captured tensor in place also reads that memory through
    another value (a view made outside it): the kernel gets each operand as its own
    contiguous array, so that read could see the memory before the write."""
    targets = {ins.ins[0] for ins in body if ins.op == "inplace"}
    if not targets:
        return False
    slots = prog.slots
    for ins in body:
        for i in ins.ins:
            if i is None or i in targets:
                continue
            s, seen = i, 0
            while slots[s].alias is not None and seen < 1000:
                s, seen = slots[s].alias, seen + 1
                if s in targets:
                    return True
    return False


def fuse_segments(prog: Program, max_size: int = SEGMENT_MAX_SIZE) -> Program:
    """``prog`` with each run of at least two segment instructions (dense, softmax
    cross-entropy, elementwise calls, full sums and means, their vjps, in-place updates of
    captured tensors) replaced by one ``fused`` instruction."""
    instrs = _reorder(prog)
    from ..kernels.codegen_compile import segment_function, segment_spec
    new_instrs: list = []
    k = 0
    while k < len(instrs):
        e = k
        while e < len(instrs) and instrs[e].op in ("call", "vjp", "inplace") \
                and _segment_ok(prog, instrs[e]):
            e += 1
        body = instrs[k:e]
        # every operand counts, inputs too: a forward-only run of a medium model has small
        # activations but 784x256 weights, and its GEMMs inside numba ran 4x slower than the
        # replay's BLAS calls (nn jit_compile=True medium step: 8.0 vs 2.0 ms)
        big = max((math.prod(prog.slots[o].shape) for i in body for o in (*i.ins, *i.outs)
                   if o is not None and prog.slots[o].shape is not None), default=0)
        f0 = _fusable(prog, body[0], None, None) if body else None
        if f0 is not None and all(_fusable(prog, i, *f0) for i in body):
            f0 = "elementwise"           # one shape and dtype: fuse_elementwise's loop kernel
        upd = max((math.prod(prog.slots[i.ins[0]].shape) for i in body if i.op == "inplace"),
                  default=0)
        if len(body) >= 2 and big <= max_size and not _write_hazard(prog, body) \
                and f0 != "elementwise" and upd <= UPDATE_MAX_SIZE:
            tmp = Program()
            tmp.slots, tmp.instrs, tmp.outputs = prog.slots, instrs, prog.outputs
            needed = _needed(tmp, e)
            src, name, inputs, outputs, losses = segment_source(prog, body, needed)
            # the replay reads every operand (a vjp reads its forward's arguments and
            # result); the kernel only those its code uses
            made, operands = set(), []
            for ins in body:
                operands += [i for i in ins.ins
                             if i is not None and i not in made and i not in operands]
                made.update(ins.outs)
            pick = [operands.index(i) for i in inputs]
            labels = {}
            for ins in body:
                if ins.op == "call" and ins.prim.name == "softmax_cross_entropy":
                    labels[inputs.index(ins.ins[1])] = int(prog.slots[ins.ins[0]].shape[1])
            writes, targets = [], []
            for ins in body:
                if ins.op == "inplace":
                    if inputs.index(ins.ins[0]) not in writes:
                        writes.append(inputs.index(ins.ins[0]))
                    if all(t is not ins.target for t in targets):
                        targets.append(ins.target)
            args = (src, name, [prog.slots[i] for i in inputs], labels,
                    [losses.get(o) for o in outputs], writes, targets, pick)
            fn = _tiered(lambda args=args: segment_function(*args),
                         _replay_of(prog, body, operands, outputs),
                         segment_spec(src, name, args[2], labels, writes, pick))
            new_instrs.append(Instr("fused", fn=fn, ins=tuple(operands), outs=tuple(outputs),
                                    info={"body": body, "source": src, "name": name}))
            k = e
        else:
            new_instrs.append(instrs[k])
            k += 1
    new = Program()
    new.slots, new.instrs = prog.slots, new_instrs
    new.inputs, new.outputs = prog.inputs, prog.outputs
    new.out_spec, new.out_kinds = prog.out_spec, prog.out_kinds
    return new


# ----------------------------------------------------------------------------- whole steps
# A small training step lowers by fuse_segments to: loads, one segment (forward, loss,
# backward), the leaves' ``.grad`` accumulations (``accum_grad``/``load_grad``, Python), a
# second segment for the updates (reading ``.grad``), and ``.grad = None`` (Python).  The
# ``.grad`` traffic is there only because ``.grad`` is Python state whose value at run time
# decides what an accumulation does (copy when None, add otherwise).  ``whole_step``
# assumes the common case and guards it: every leaf the step accumulates into before
# setting it has ``.grad is None`` when the call starts, and every captured tensor still
# has its trace-time shape and dtype.  Under that assumption the ``.grad`` state is known
# at every point of the program, so it is rewritten without it:
#   - the first accumulation into a leaf is the gradient value itself (no copy: nothing can
#     observe it before the step ends), a later one an ``add`` call (the engine's
#     ``t.grad + g``, same order, same rounding), a ``p.grad = v`` the value ``v``;
#   - a ``load_grad`` (the update reading ``p.grad``) becomes a read of that value;
#   - a backward's gradient sum (``add``, a value used twice) becomes an ``add`` call, the
#     same numpy add, so that a segment takes it;
#   - at the end, only the leaves whose final ``.grad`` is not what the guard assumed get a
#     Python effect: ``accum_grad`` of the accumulated value (copied into the program's
#     buffer for that leaf, as eager leaves a fresh array), ``set_grad`` of a set value, or
#     ``set_grad`` None for a leaf the guard did not check.  A step ending in
#     ``p.grad = None`` for every leaf has none.
# fuse_segments then sees forward, loss, backward, accumulations and updates as one run:
# one generated numba function (versions bumped, labels checked, in-place updates in eager
# order as for any segment).  The replay checks the guard inline (O(parameters) attribute
# reads) and, when it fails (a ``.grad`` set between calls, a parameter replaced by one of
# another shape or dtype), runs ``Guard.fallback``: the instruction form of the same
# program (fuse_segments + fuse_elementwise, lowered on first use), exactly what runs
# without this pass.  Only a program whose rewrite is fused into a segment takes this
# form; steps with host effects (an nn optimizer), random draws or mutating forwards keep
# the instruction form.
#: the ops a whole step may hold (everything else: the instruction form)
_STEP_OPS = frozenset({"load", "call", "vjp", "asgrad", "add", "accum_grad", "load_grad",
                       "set_grad", "inplace"})


def _root_kind(prog: Program, s: int) -> str:
    seen = 0
    while prog.slots[s].alias is not None and seen < 1000:
        s, seen = prog.slots[s].alias, seen + 1
    return prog.slots[s].kind


def _without_grad_state(prog: Program) -> Optional[tuple]:
    """(program without ``.grad`` reads, guarded leaves) under the guard's assumption, or
    None when the program has no leaf accumulation or cannot be rewritten."""
    from ..registry import OPS as PRIMS
    if not any(i.op == "accum_grad" for i in prog.instrs):
        return None
    if any(i.op not in _STEP_OPS or "effect" in i.info for i in prog.instrs):
        return None
    add = PRIMS["add"]
    slots = prog.slots
    state: dict = {}            # id(leaf) -> None | ("acc" | "set", slot)
    leaves: dict = {}           # id(leaf) -> leaf, in order of first use
    guarded: list = []
    rename: dict = {}
    body: list = []
    for ins in prog.instrs:
        if any(i in rename for i in ins.ins if i is not None):
            ins = Instr(ins.op, fn=ins.fn, ins=tuple(rename.get(i, i) for i in ins.ins),
                        outs=ins.outs, kw=ins.kw, prim=ins.prim, target=ins.target,
                        info=ins.info)
        op = ins.op
        if op == "add":                          # a backward's gradient sum: the same numpy
            ins = Instr("call", fn=add.fwd, ins=ins.ins, outs=ins.outs, prim=add,
                        info={"whole_step": "gradient sum",     # add, as a segment form
                              "out_ok": _same_layout(slots, ins.ins + ins.outs)})
        if op not in ("accum_grad", "load_grad", "set_grad"):
            body.append(ins)
            continue
        t = ins.target
        k = id(t)
        if k not in leaves:
            leaves[k] = t
            if op != "set_grad":            # its .grad at the start is read: guarded
                guarded.append(t)
            state[k] = None
        cur = state[k]
        if op == "accum_grad":
            g = ins.ins[0]
            gs = slots[g]
            # eager copies a gradient into the leaf: one whose memory the step writes in
            # place (a captured tensor) would be read after that write here
            if gs.dtype is None or gs.shape is None or _root_kind(prog, g) in ("load",
                                                                               "input"):
                return None
            if cur is None:
                state[k] = ("acc", g)
            else:
                c = cur[1]
                if slots[c].dtype is None or np.dtype(slots[c].dtype) != np.dtype(gs.dtype) \
                        or tuple(slots[c].shape) != tuple(gs.shape):
                    return None
                s = prog.new_slot("temp", shape=tuple(gs.shape), dtype=gs.dtype, dyn=True)
                body.append(Instr("call", fn=add.fwd, ins=(c, g), outs=(s,), prim=add,
                                  info={"whole_step": "accumulation",
                                        "out_ok": _same_layout(slots, (c, g, s))}))
                state[k] = ("acc", s)
        elif op == "load_grad":
            if cur is None:
                return None
            rename[ins.outs[0]] = cur[1]
        else:
            state[k] = ("set", ins.ins[0]) if ins.ins else None
    guarded_ids = {id(t) for t in guarded}
    for k, t in leaves.items():
        st = state[k]
        if st is None:
            if k not in guarded_ids:
                body.append(Instr("set_grad", target=t, info={"whole_step": "end"}))
        elif st[0] == "set":
            body.append(Instr("set_grad", ins=(st[1],), target=t, info={"whole_step": "end"}))
        else:
            if k not in guarded_ids:            # .grad unknown here: cleared, then owned
                body.append(Instr("set_grad", target=t, info={"whole_step": "end"}))
            body.append(Instr("accum_grad", ins=(st[1],), target=t,
                              info={"whole_step": "end"}))
    new = Program()
    new.slots, new.instrs = prog.slots, body
    new.inputs = prog.inputs
    new.outputs = [rename.get(o, o) for o in prog.outputs]
    new.out_spec, new.out_kinds = prog.out_spec, prog.out_kinds
    return new, guarded


def _same_layout(slots: list, ids: tuple) -> bool:
    """Whether the slots all have one float shape and dtype (``np.add(a, b, out=)`` into a
    planned buffer then gives ``a + b`` exactly: no broadcast, no promotion)."""
    ss = [slots[i] for i in ids if i is not None]
    if len(ss) != len(ids) or any(s.dtype is None or s.shape is None for s in ss):
        return False
    return all(tuple(s.shape) == tuple(ss[0].shape) and np.dtype(s.dtype) == np.dtype(ss[0].dtype)
               for s in ss) and np.dtype(ss[0].dtype).kind == "f"


def _loads_of(prog: Program, instrs: list) -> list:
    """(tensor, trace-time shape, dtype) of each captured tensor the instructions load."""
    loads, seen = [], set()
    for i in instrs:
        if i.op == "load" and id(i.target) not in seen:
            seen.add(id(i.target))
            s = prog.slots[i.outs[0]]
            loads.append((i.target, tuple(s.shape), np.dtype(s.dtype)))
    return loads


class _Fallback:
    """The instruction form of a guarded program, lowered on its first use."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.exe = None

    def __call__(self, args: list) -> list:
        if self.exe is None:
            from . import passes
            from .program import Executable
            p = _segments_and_loops(self.prog)
            self.exe = Executable(p, passes.plan_buffers(p))
        return self.exe.run(args)


def whole_step(prog: Program) -> Optional[Program]:
    """``prog`` as loads, one guarded generated function and the minimal ``.grad`` effects
    (see the comment above), or None when that form does not apply: no leaf
    accumulation, an op it does not take, or a rewrite that does not fuse into one
    segment of at most ``SEGMENT_MAX_SIZE`` / ``UPDATE_MAX_SIZE`` elements."""
    from .. import kernels as K
    from .program import Guard
    r = _without_grad_state(prog)
    if r is None:
        return None
    rewritten, guarded = r
    fast = fuse_segments(rewritten, max_size=SEGMENT_MAX_SIZE if K.MODE == "auto" else 1 << 62)
    segs = [i for i in fast.instrs if i.op == "fused"]
    # an update too large for a segment (``UPDATE_MAX_SIZE``) stays a numpy ``inplace``
    # after it, reading the gradient the segment returns
    if len(segs) != 1 or any(i.op not in ("load", "fused", "set_grad", "accum_grad",
                                          "inplace") for i in fast.instrs):
        return None
    fast.guard = Guard(guarded, _loads_of(prog, fast.instrs), _Fallback(prog))
    return fast


# A step too large for one function (benchmarks.mlp_step medium and large: GEMMs that numba
# inside a segment runs slower than BLAS through numpy) keeps the instruction form, but the
# ``.grad`` rewrite above applies to it all the same: under the same guard, a leaf's
# gradient is the value the vjp returned (no copy into the leaf's ``.grad`` buffer, no
# ``.grad`` reads and resets in Python), so an update reads the vjp's result directly.
# On the medium step the copies alone were 5 % of the step (the 784x256 weight
# gradient's is one more pass over 0.8 MB).
def guarded_instructions(prog: Program) -> Optional[Program]:
    """``prog`` without its ``.grad`` traffic (``_without_grad_state``) in the instruction
    form (``fuse_segments``, then elementwise loops), under the guard ``whole_step`` uses,
    falling back to the instruction form of ``prog`` itself; None when the rewrite does not
    apply (no leaf accumulation, a host effect, a random draw, a mutating forward)."""
    from .program import Guard
    r = _without_grad_state(prog)
    if r is None:
        return None
    rewritten, guarded = r
    fast = _segments_and_loops(rewritten)
    fast.guard = Guard(guarded, _loads_of(prog, fast.instrs), _Fallback(prog))
    return fast
