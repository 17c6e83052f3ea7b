"""``plot_model``: a model's layer graph drawn with Graphviz, as ``autograd.draw`` draws
op graphs (the DOT text is written instead when Graphviz's ``dot`` is not installed)."""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from typing import Any, Union

from autograd.errors import InvalidValueError

__all__ = ["model_to_dot", "plot_model"]


def _label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("{", "\\{").replace(
        "}", "\\}").replace("|", "\\|").replace("<", "\\<").replace(">", "\\>")


def model_to_dot(model: Any, show_shapes: bool = True, rankdir: str = "TB") -> str:
    """DOT source of the model's layers and the tensors between them.  A functional model
    draws its graph (shared layers once, an edge per call); others draw their layers in
    order (``model.layers``)."""
    from .functional import FunctionalMixin, InputLayer, flatten
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise InvalidValueError(f"plot_model: rankdir must be TB, LR, BT or RL, got {rankdir!r}")
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
        raise InvalidValueError(f"plot_model: unsupported suffix {ext!r}; use .svg, .png, "
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
