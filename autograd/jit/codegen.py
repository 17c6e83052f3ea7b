"""Code generation for jit programs: elementwise chains fused into one generated numba kernel.

``backend(program)`` (registered with ``program.register_backend`` by ``autograd.jit``) looks
for runs of elementwise primitive calls (``add``, ``multiply``, ``exp``, ``relu``, ...) in a
lowered program, all on one shape and float dtype (an operand may be a scalar constant or
broadcast along leading axes, as a bias row is), and replaces each run of at least
``MIN_GROUP`` calls on at least ``FUSE_MIN_SIZE`` elements by one ``fused`` instruction.
Its function runs one generated loop: every element is read once, the chain is computed in
registers, and only the results read after the run (or returned) are stored.

This module only writes source text (``kernel_source``); ``autograd/kernels/codegen_compile.py``
writes it into the code cache and compiles it with numba (``cache=True``): a program seen
before, in this process or an earlier one, loads its compiled kernel from disk.
``AUTOGRAD_KERNELS=numpy`` (or no numba) keeps the numpy replay: the backend changes nothing.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any, Optional

import numpy as np

from .program import Instr, Program

__all__ = ["backend", "fuse_elementwise", "kernel_source", "TEMPLATES", "MIN_GROUP",
           "FUSE_MIN_SIZE"]

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
        instrs.append(Instr("fused", fn=fn, ins=tuple(i for i, kd in zip(inputs, kinds)
                                                        if not isinstance(kd, tuple) or kd[0] != "scalar"),
                            outs=tuple(outputs),
                            info={"body": prog.instrs[first:end], "source": src, "name": name}))
        k = end
    instrs.extend(prog.instrs[k:])
    new = Program()
    new.slots, new.instrs = prog.slots, instrs
    new.inputs, new.outputs = prog.inputs, prog.outputs
    new.out_spec, new.out_kinds = prog.out_spec, prog.out_kinds
    return new


def backend(prog: Program) -> Program:
    """The default jit backend: elementwise fusion when numba kernels are enabled."""
    from .. import kernels as K
    if K.MODE == "numpy" or not _numba_available():
        return prog
    if K.MODE == "numba" or K.loaded():
        return fuse_elementwise(prog, min_size=0)
    return fuse_elementwise(prog)


def _numba_available() -> bool:
    import importlib.util
    return importlib.util.find_spec("numba") is not None
