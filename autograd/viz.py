"""Pictures of the graph: ``to_dot`` (Graphviz DOT source) and ``draw`` (render to a file).

One box per primitive call (name and output shape, and for small tensors the values),
one per leaf: parameters (leaves that require grad, with their gradients) are drawn
doubled, constants plainly.  Drawing works before and after backward: backward releases the
saved values but keeps the structure, so after it, intermediate values and constant inputs
are no longer known (except for tiny tensors, whose values and gradients are kept, as in
micrograd's drawings) and the drawing says so.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from typing import Any, Union

import numpy as np

from .graph import Node, toposort
from .tensor import Tensor
from .errors import InvalidValueError

__all__ = ["to_dot", "draw"]

SMALL = 4  # tensors of at most this many elements show their values


def _fmt(a: Any) -> str:
    a = np.asarray(a)
    if a.size > SMALL:
        return ""
    if a.ndim == 0:
        return f"{a.item():.4g}" if a.dtype.kind == "f" else str(a.item())
    return "[" + ", ".join(f"{v:.4g}" for v in a.ravel().tolist()) + "]"


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("{", "\\{").replace("}", "\\}") \
        .replace("|", "\\|").replace("<", "\\<").replace(">", "\\>")


def _shape(shape: tuple) -> str:
    return "scalar" if shape == () else "x".join(str(s) for s in shape)


def to_dot(tensor: Tensor, max_nodes: int = 500, rankdir: str = "LR") -> str:
    """Graphviz DOT source of the graph that produced ``tensor``.

    tensor : the output (e.g. a loss).  max_nodes : at most this many primitive nodes are
    drawn, nearest to the output first; the rest are summarised in a note.
    Returns the DOT text (render with ``dot -Tsvg``, or call ``draw``).
    """
    lines = [f"digraph autograd {{", f'  rankdir={rankdir};',
             '  node [shape=record, fontname="Helvetica", fontsize=10];']
    names: dict[int, str] = {}

    def name_of(obj: Any) -> str:
        k = id(obj)
        if k not in names:
            names[k] = f"n{len(names)}"
        return names[k]

    def leaf(t: Tensor) -> str:
        nm = name_of(t)
        if nm in drawn:
            return nm
        drawn.add(nm)
        parts = [_esc(t.name) if t.name else ("param" if t._rg else "const"), _shape(t.shape)]
        v = _fmt(t._data)
        if v:
            parts.append(f"data {_esc(v)}")
        if t.grad is not None:
            g = _fmt(t.grad._data if isinstance(t.grad, Tensor) else t.grad)
            if g:
                parts.append(f"grad {_esc(g)}")
        style = ', peripheries=2, style=filled, fillcolor="#e8f0fe"' if t._rg else ''
        lines.append(f'  {nm} [label="{{ {" | ".join(parts)} }}"{style}];')
        return nm

    drawn: set[str] = set()
    root = tensor._node
    if root is None:
        leaf(tensor)
        lines.append("}")
        return "\n".join(lines)

    released = False
    count = 0
    queue = [root]
    seen = {root}
    while queue:
        node = queue.pop(0)
        count += 1
        nm = name_of(node)
        parts = [f"{node.prim.name}", _shape(node.shape)]
        value = node.out if node.out is not None else (tensor._data if node is root else None)
        if value is not None and _fmt(value):
            parts.append(f"data {_esc(_fmt(value))}")
        if node.grad is not None and not isinstance(node.grad, Tensor) and _fmt(node.grad):
            parts.append(f"grad {_esc(_fmt(node.grad))}")
        fill = "#fde8d8" if node is root else "#f4f4f4"
        lines.append(f'  {nm} [label="{{ {" | ".join(parts)} }}", style="rounded,filled", fillcolor="{fill}"];')
        drawn.add(nm)
        if node.args is None:
            released = True
        in_parents = set()
        for i, p in node.parents:
            in_parents.add(i)
            if type(p) is Node:
                if p not in seen and len(seen) >= max_nodes:
                    lines.append(f"  more -> {nm};")
                    continue
                lines.append(f"  {name_of(p)} -> {nm};")
                if p not in seen:
                    seen.add(p)
                    queue.append(p)
            else:
                lines.append(f"  {leaf(p)} -> {nm};")
        if node.saved is not None:
            for t in node.saved:
                if not t._rg and t._node is None:
                    lines.append(f"  {leaf(t)} -> {nm};")
    notes = []
    cut = len(toposort(root)) - count
    if cut:
        lines.append('  more [shape=plaintext, label="..."];')
        notes.append(f"{cut} more operations not drawn (max_nodes={max_nodes})")
    if released:
        notes.append("drawn after backward: values of tensors over 4 elements and constant "
                     "inputs were released")
    if notes:
        lines.append(f'  note [shape=note, label="{_esc("; ".join(notes))}"];')
    lines.append("}")
    return "\n".join(lines)


def draw(tensor: Tensor, path: Union[str, os.PathLike], max_nodes: int = 500) -> str:
    """Render the graph of ``tensor`` to ``path`` (.svg, .png or .pdf) with Graphviz.

    When the Graphviz ``dot`` program is not installed, writes the DOT source beside
    ``path`` (same name, ``.dot`` suffix), warns how to get Graphviz, and returns that path.
    Returns the path written.
    """
    path = os.fspath(path)
    base, ext = os.path.splitext(path)
    fmt = ext.lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf", "dot"):
        raise InvalidValueError(f"draw: unsupported suffix {ext!r}; use .svg, .png, .pdf or .dot")
    src = to_dot(tensor, max_nodes=max_nodes)
    dot = shutil.which("dot")
    if fmt == "dot" or dot is None:
        out = base + ".dot"
        with open(out, "w") as f:
            f.write(src)
        if fmt != "dot":
            warnings.warn(f"draw: the Graphviz 'dot' program was not found, so the graph was written "
                          f"as DOT text to {out}. Install Graphviz (e.g. 'apt-get install graphviz', "
                          f"'brew install graphviz' or 'conda install graphviz'), then run: "
                          f"dot -T{fmt} {out} -o {path}", stacklevel=2)
        return out
    subprocess.run([dot, f"-T{fmt}", "-o", path], input=src.encode(), check=True)
    return path

