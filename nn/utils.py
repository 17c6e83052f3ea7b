"""PyTorch's gradient clipping helpers (they rewrite ``p.grad``), and ``plot_model``: a
model's layer graph drawn with Graphviz, as ``autograd.draw`` draws op graphs (the DOT text
is written instead when Graphviz's ``dot`` is not installed)."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import warnings
from typing import Any, Iterable, Union

import numpy as np

import autograd as ag

__all__ = ["clip_grad_norm_", "clip_grad_value_", "model_to_dot", "plot_model"]


def _grads(parameters: Any, where: str) -> list:
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    if isinstance(parameters, ag.Tensor):
        parameters = [parameters]
    out = []
    for p in parameters:
        if not isinstance(p, ag.Tensor):
            raise ag.ArgumentTypeError(f"{where}: parameters must be Tensors, got "
                                       f"{type(p).__name__}")
        if p.grad is not None:
            out.append(p)
    return out


def clip_grad_norm_(parameters: Iterable, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale every gradient by ``max_norm / (total_norm + 1e-6)`` when that is below 1, where
    total_norm is the ``norm_type``-norm of all gradients together (``inf``: the largest
    magnitude).  Rewrites ``p.grad``; returns the total norm before clipping (PyTorch's
    ``torch.nn.utils.clip_grad_norm_``)."""
    where = "clip_grad_norm_"
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.number)) \
            or not max_norm >= 0:
        raise ag.InvalidValueError(f"{where}: max_norm must be a number >= 0, got {max_norm!r}")
    ps = _grads(parameters, where)
    if not ps:
        return 0.0
    nt = float(norm_type)
    if math.isinf(nt):
        total = max(float(np.max(np.abs(p.grad))) if p.grad.size else 0.0 for p in ps)
    else:
        total = sum(float(np.sum(np.abs(p.grad.astype(np.float64)) ** nt)) for p in ps) ** (1 / nt)
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for p in ps:
            p.grad = p.grad * np.asarray(coef, dtype=p.grad.dtype)
    return total


def clip_grad_value_(parameters: Iterable, clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value] (PyTorch's
    ``torch.nn.utils.clip_grad_value_``)."""
    where = "clip_grad_value_"
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float, np.number)) \
            or not clip_value >= 0:
        raise ag.InvalidValueError(f"{where}: clip_value must be a number >= 0, got "
                                   f"{clip_value!r}")
    for p in _grads(parameters, where):
        p.grad = np.clip(p.grad, -clip_value, clip_value)


# ---------------------------------------------------------------------- plot_model
def _label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("{", "\\{").replace(
        "}", "\\}").replace("|", "\\|").replace("<", "\\<").replace(">", "\\>")


def model_to_dot(model: Any, show_shapes: bool = True, rankdir: str = "TB") -> str:
    """DOT source of the model's layers and the tensors between them.  A functional model
    draws its graph (shared layers once, an edge per call); others draw their layers in
    order (``model.layers``)."""
    from .functional import FunctionalMixin, InputLayer, flatten
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ag.InvalidValueError(f"plot_model: rankdir must be TB, LR, BT or RL, got {rankdir!r}")
    lines = [f'digraph "{_label(getattr(model, "name", "model"))}" {{', f"  rankdir={rankdir};",
             '  node [shape=record, fontname="Helvetica", fontsize=10];']
    layers = list(model.layers)
    ids = {id(m): f"l{i}" for i, m in enumerate(layers)}
    for m in layers:
        name = getattr(m, "name", type(m).__name__)
        text = f"{name}|{type(m).__name__}"
        if show_shapes:
            shape = m.output.shape if isinstance(m, InputLayer) else \
                m.__dict__.get("_output_shape", "?")
            text += f"|{shape}"
        lines.append(f'  {ids[id(m)]} [label="{{{_label(text)}}}"];')
    if isinstance(model, FunctionalMixin):
        for node in model._nodes:
            for t in flatten(node.inputs):
                lines.append(f"  {ids[id(t.node.layer)]} -> {ids[id(node.layer)]};")
    else:
        for a, b in zip(layers, layers[1:]):
            lines.append(f"  {ids[id(a)]} -> {ids[id(b)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_model(model: Any, path: Union[str, os.PathLike] = "model.png",
               show_shapes: bool = True, rankdir: str = "TB") -> str:
    """Draw ``model``'s layer graph to ``path`` (.svg, .png, .pdf or .dot) with Graphviz.
    Without the ``dot`` program the DOT text goes beside ``path`` (``.dot`` suffix) with a
    warning saying how to render it.  Returns the path written."""
    path = os.fspath(path)
    base, ext = os.path.splitext(path)
    fmt = ext.lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf", "dot"):
        raise ag.InvalidValueError(f"plot_model: unsupported suffix {ext!r}; use .svg, .png, "
                                f".pdf or .dot")
    src = model_to_dot(model, show_shapes=show_shapes, rankdir=rankdir)
    dot = shutil.which("dot")
    if fmt == "dot" or dot is None:
        out = base + ".dot"
        with open(out, "w") as f:
            f.write(src)
        if fmt != "dot":
            warnings.warn(f"plot_model: the Graphviz 'dot' program was not found, so the graph "
                          f"was written as DOT text to {out}; install Graphviz and run: "
                          f"dot -T{fmt} {out} -o {path}", stacklevel=2)
        return out
    subprocess.run([dot, f"-T{fmt}", "-o", path], input=src.encode(), check=True)
    return path
