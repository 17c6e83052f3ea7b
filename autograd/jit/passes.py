"""Generic passes over a :class:`~autograd.jit.program.Program`, and the numpy replay.

``dead_code``       drop instructions whose results nothing reads (effects stay)
``fold_constants``  evaluate instructions whose inputs are all constants, once
``plan_buffers``    one preallocated array per result written through an ``out=`` form,
                    shared between results whose lifetimes do not overlap
``generate``        the replay as straight-line Python source (one line per instruction)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .program import Instr, Program

__all__ = ["dead_code", "fold_constants", "plan_buffers", "generate", "out_form"]


def _copy(prog: Program, instrs: list) -> Program:
    p = Program()
    p.slots, p.instrs = prog.slots, instrs
    p.inputs, p.outputs, p.out_spec, p.out_kinds = prog.inputs, prog.outputs, prog.out_spec, \
        prog.out_kinds
    return p


def dead_code(prog: Program) -> Program:
    """Keep effects, and instructions whose results are read by a kept one or returned."""
    live = set(prog.outputs)
    keep = []
    for ins in reversed(prog.instrs):
        if ins.effect or any(o in live for o in ins.outs):
            keep.append(ins)
            live.update(i for i in ins.ins if i is not None)
    keep.reverse()
    return _copy(prog, keep)


_FOLDABLE = ("call", "add", "asgrad")


def fold_constants(prog: Program) -> Program:
    """An instruction of ``call``/``add``/``asgrad`` whose inputs are all constants is run
    now; its results become constant slots."""
    from .replay import run_one
    slots = prog.slots
    out = []
    for ins in prog.instrs:
        if ins.op in _FOLDABLE and not ins.effect and all(i is None or slots[i].kind == "const" for i in ins.ins) \
                and not any(slots[o].dyn for o in ins.outs):
            vals = run_one(ins, [None if i is None else slots[i].value for i in ins.ins])
            for o, v in zip(ins.outs, vals):
                s = slots[o]
                s.kind, s.value, s.alias = "const", v, None
            continue
        out.append(ins)
    return _copy(prog, out)


def out_form(ins: Instr) -> Any:
    """The ``out=``-writing form of an instruction's function, when it has one verified at
    trace time (``info["out_ok"]``), else None."""
    if ins.op == "add":
        return np.add
    if ins.op == "call" and ins.prim is not None and ins.info.get("out_ok"):
        return ins.prim.fwd_out
    return None


def _root(slots, s: int) -> int:
    seen = 0
    while slots[s].alias is not None and seen < 1000:
        s = slots[s].alias
        seen += 1
    return s


def plan_buffers(prog: Program) -> dict:
    """slot id -> preallocated ndarray, for results written through an ``out=`` form.

    A buffer is reused by a later result of the same shape and dtype once the last reader of
    its current value (or of any view of it) has run; results that leave the program
    (outputs, ``set_grad``) keep their own buffer."""
    slots = prog.slots
    n = len(prog.instrs)
    last = {}
    for k, ins in enumerate(prog.instrs):
        for i in ins.ins:
            if i is not None:
                last[i] = k
    escaped = set(prog.outputs)
    for ins in prog.instrs:
        if ins.op == "set_grad":
            escaped.update(ins.ins)
    for s in escaped:
        last[s] = n + 1
    # a view keeps its base alive
    for s, slot in enumerate(slots):
        if slot.alias is not None and s in last:
            r = _root(slots, s)
            last[r] = max(last.get(r, -1), last[s])
    for s in escaped:
        r = _root(slots, s)
        last[r] = n + 1
    plan: dict[int, np.ndarray] = {}
    pool: dict[tuple, list] = {}        # (shape, dtype) -> [[buffer, free after index]]
    for k, ins in enumerate(prog.instrs):
        if ins.op == "accum_grad":      # the program's own .grad array for this leaf
            s = slots[ins.ins[0]]
            ins.info["grad_buffer"] = np.zeros(s.shape, dtype=s.dtype)
            continue
        if out_form(ins) is None:
            continue
        for o in ins.outs:
            slot = slots[o]
            if slot.kind != "temp" or slot.dtype is None:
                continue
            key = (tuple(slot.shape), np.dtype(slot.dtype).str)
            end = last.get(_root(slots, o), k)
            entries = pool.setdefault(key, [])
            for e in entries:
                if e[1] < k and o not in escaped:
                    e[1] = end
                    plan[o] = e[0]
                    break
            else:
                buf = np.empty(slot.shape, dtype=slot.dtype)
                entries.append([buf, end if o not in escaped else n + 2])
                plan[o] = buf
    return plan


def _recheck(checked: list, seen: list) -> None:
    """The captured tensors' arrays are not all the ones seen last call: check each one's
    shape and dtype against the trace's, remember them, or raise StaleProgram naming the
    tensors that changed."""
    changed = [f"{sh} {dt.name} -> {t._data.shape} {t._data.dtype.name}"
               for t, sh, dt in checked if t._data.shape != sh or t._data.dtype != dt]
    if changed:
        from .program import StaleProgram
        raise StaleProgram("autograd.jit: a captured tensor changed shape or dtype since the "
                           "trace (" + "; ".join(changed) + "): the program no longer applies")
    for j, (t, _, _) in enumerate(checked):
        seen[j] = t._data


def generate(prog: Program, plan: dict) -> tuple:
    """The replay function ``run(args) -> [output values]`` and its source."""
    from . import replay
    slots = prog.slots
    ns: dict[str, Any] = {"_asarray": np.asarray, "_as_grad": replay.as_grad,
                          "_accum": replay.accum_grad, "_inplace": replay.inplace}
    lines = ["def run(args):"]

    def ref(i):
        if i is None:
            return "None"
        s = slots[i]
        if s.kind == "const":
            name = f"C{i}"
            ns[name] = s.value
            return name
        if i in plan:
            return f"B{i}"
        return f"s{i}"

    # Captured tensors are read live at each call, so the program holds only while each
    # has the shape and dtype it had at the trace (its buffers and generated code are
    # sized and typed for those).  Before anything runs, the first load of each is checked:
    # an array seen before (the same object: updates are in place) passes on one identity
    # test; another array is checked for shape and dtype and remembered, and a change raises
    # StaleProgram (``autograd.jit`` then traces again; nothing was applied).  (Assigning
    # ``.shape`` or ``.dtype`` on the very array a tensor holds is not seen; replace the
    # tensor's ``.data`` instead, as the README says.)
    firsts, seen = [], set()
    for ins in prog.instrs:
        if ins.op == "load" and id(ins.target) not in seen:
            seen.add(id(ins.target))
            firsts.append(ins)
    if firsts:
        checked = [(ins.target, tuple(slots[ins.outs[0]].shape), np.dtype(slots[ins.outs[0]].dtype))
                   for ins in firsts]
        ns["_checked"], ns["_recheck"] = checked, _recheck
        ns["PA"] = [None] * len(firsts)        # the arrays last seen (None: check first)
        conds = []
        for j, ins in enumerate(firsts):
            ns[f"PT{j}"] = ins.target
            conds.append(f"PT{j}._data is not PA[{j}]")
        lines.append(f"    if {' or '.join(conds)}:")
        lines.append("        _recheck(_checked, PA)")
    guard = getattr(prog, "guard", None)
    if guard is not None:
        # the assumptions of a guarded program, inlined; the fallback when one fails
        conds = []
        for j, t in enumerate(guard.none_grad):
            ns[f"GT{j}"] = t
            conds.append(f"GT{j}.grad is not None")
        checked = {(id(t), tuple(sh), np.dtype(dt)) for t, sh, dt in ns.get("_checked", ())}
        for j, (t, sh, dt) in enumerate(guard.loads):
            if (id(t), tuple(sh), np.dtype(dt)) in checked:
                continue                # the prologue above checked it already
            ns[f"GL{j}"], ns[f"GS{j}"], ns[f"GD{j}"] = t, tuple(sh), np.dtype(dt)
            conds.append(f"GL{j}._data.shape != GS{j} or GL{j}._data.dtype != GD{j}")
        ns["_guard"] = guard
        if conds:
            lines.append(f"    if {' or '.join(conds)}:")
            lines.append("        return _guard.miss(args)")
    for k, i in enumerate(prog.inputs):
        lines.append(f"    s{i} = args[{k}]")
    for k, ins in enumerate(prog.instrs):
        a = ", ".join(ref(i) for i in ins.ins)
        kw = ""
        if ins.kw:
            ns[f"K{k}"] = ins.kw
            kw = f", **K{k}" if a else f"**K{k}"
        op = ins.op
        if op == "call":
            ns[f"F{k}"] = ins.fn
            fo = out_form(ins)
            if fo is not None and ins.outs[0] in plan:
                ns[f"O{k}"] = fo
                o = ins.outs[0]
                ns[f"B{o}"] = plan[o]
                lines.append(f"    O{k}({a}, out=B{o}{kw})")
            elif len(ins.outs) == 2:
                lines.append(f"    s{ins.outs[0]}, s{ins.outs[1]} = F{k}({a}{kw})")
                lines.append(f"    s{ins.outs[0]} = _asarray(s{ins.outs[0]})")
            else:
                lines.append(f"    s{ins.outs[0]} = _asarray(F{k}({a}{kw}))")
        elif op == "add":
            o = ins.outs[0]
            if o in plan:
                ns[f"B{o}"] = plan[o]
                lines.append(f"    _np_add({a}, out=B{o})")
                ns["_np_add"] = np.add
            else:
                lines.append(f"    s{o} = _asarray({ref(ins.ins[0])} + {ref(ins.ins[1])})")
        elif op == "vjp":
            ns[f"F{k}"] = replay.vjp_fn(ins)
            outs = ", ".join(f"s{o}" for o in ins.outs)
            lines.append(f"    {outs}{',' if len(ins.outs) == 1 else ''} = F{k}({a})")
        elif op == "asgrad":
            ns[f"D{k}"] = np.dtype(ins.kw["dtype"])
            lines.append(f"    s{ins.outs[0]} = _as_grad({a}, {tuple(ins.kw['shape'])!r}, D{k})")
        elif op == "load":
            ns[f"T{k}"] = ins.target
            lines.append(f"    s{ins.outs[0]} = T{k}._data")
        elif op == "load_grad":
            ns[f"T{k}"] = ins.target
            lines.append(f"    s{ins.outs[0]} = T{k}.grad")
        elif op == "accum_grad":
            ns[f"T{k}"] = ins.target
            ns[f"G{k}"] = ins.info["grad_buffer"]
            lines.append(f"    _accum(T{k}, {a}, G{k})")
        elif op == "set_grad":
            ns[f"T{k}"] = ins.target
            lines.append(f"    T{k}.grad = {a if a else 'None'}")
        elif op == "inplace":
            ns[f"T{k}"] = ins.target
            ns[f"F{k}"] = ins.fn
            lines.append(f"    _inplace(T{k}, F{k}, {ref(ins.ins[1])})")
        elif op == "host":
            ns[f"F{k}"] = ins.fn
            lines.append(f"    F{k}({a})")
        elif op == "fused":
            ns[f"F{k}"] = ins.fn
            outs = ", ".join(f"s{o}" for o in ins.outs)
            if ins.outs:
                lines.append(f"    {outs}{',' if len(ins.outs) == 1 else ''} = F{k}({a})")
            else:
                lines.append(f"    F{k}({a})")
        else:  # pragma: no cover - the IR's op list is closed
            from ..errors import NotSupportedError
            raise NotSupportedError(f"jit: unknown instruction op {op!r}")
    lines.append(f"    return [{', '.join(ref(o) for o in prog.outputs)}]")
    src = "\n".join(lines) + "\n"
    code = compile(src, "<autograd.jit program>", "exec")
    exec(code, ns)
    return src, ns["run"]
