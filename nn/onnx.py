"""ONNX export: ``nn.onnx.export(model, path, input_shape=None, opset=17)`` and
``model.export(path, format='onnx', opset=None)``.

The model (Sequential, functional or subclassed alike) is run once, in inference mode, on
zeros of the input shape with the graph recorded; every recorded primitive is then written
as ONNX operators (``dense`` as MatMul + Add + its activation, ``softmax`` as Softmax, ...),
weights become initializers, and values that do not depend on an input (frozen weights,
moving statistics) become constants.  Dropout is already the identity in inference mode and
batch normalization its affine form, so both come out in inference form.  The batch axis is
symbolic (``"batch"``), so the exported graph takes any batch size.

A primitive without an ONNX form here raises ``nn.onnx.OnnxExportError`` naming it.  Needs
the ``onnx`` package (``pip install -e ".[onnx]"``); without it a clear ImportError says so.
"""
from __future__ import annotations

import math
import os
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

import autograd as ag
from autograd.errors import AutogradError

__all__ = ["export", "OnnxExportError", "DEFAULT_OPSET", "SUPPORTED"]

DEFAULT_OPSET = 17
_TRACE_BATCH = 3          # the batch size of the trace (any size works at inference)


class OnnxExportError(AutogradError, ValueError):
    """The model holds something ONNX export cannot write (the message names it)."""


def _onnx() -> Any:
    try:
        import onnx
        from onnx import helper, numpy_helper, TensorProto  # noqa: F401
    except ImportError:
        raise ImportError("ONNX export needs the 'onnx' package: pip install onnx (or "
                          "pip install -e \".[onnx]\"; add onnxruntime to run the file)") from None
    return onnx


# ---------------------------------------------------------------------- the graph builder
class _Graph:
    def __init__(self, opset: int) -> None:
        self.onnx = _onnx()
        self.opset = opset
        self.nodes: list = []
        self.inits: list = []
        self.names: dict = {}       # id(Node or leaf Tensor) -> value name
        self.batch: set = set()     # value names that carry the batch axis
        self.count = 0

    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value: Any, dtype: Any = None, name: Optional[str] = None) -> str:
        arr = np.asarray(value, dtype=dtype)
        name = name or self.fresh("const")
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def ints(self, values: Sequence[int]) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def op(self, op_type: str, inputs: list, batch: bool, **attrs: Any) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], **attrs))
        if batch:
            self.batch.add(out)
        return out


def _param(node: Any, name: str, pos: int, default: Any) -> Any:
    if name in node.kwargs:
        return node.kwargs[name]
    return node.args[pos] if len(node.args) > pos else default


def _axes(axis: Any, ndim: int) -> Optional[list]:
    if axis is None:
        return None
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    return [int(a) % ndim if ndim else int(a) for a in axes]


def _reduce(g: _Graph, op_type: str, x: str, axis: Any, keepdims: bool, ndim: int,
            batch: bool) -> str:
    axes = _axes(axis, ndim)
    keep = int(bool(keepdims))
    takes_input = op_type == "ReduceSum" or g.opset >= 18
    if axes is None:
        return g.op(op_type, [x], False, keepdims=keep)
    still_batch = batch and 0 not in axes
    if takes_input:
        return g.op(op_type, [x, g.ints(axes)], still_batch, keepdims=keep)
    return g.op(op_type, [x], still_batch, axes=axes, keepdims=keep)


def _unsqueeze(g: _Graph, x: str, axes: list, batch: bool) -> str:
    return g.op("Unsqueeze", [x, g.ints(axes)], batch)


def _batch_shape(shape: Any, other: Any, in_shape: tuple, what: str) -> list:
    """A target shape from the two traces (their batch sizes differ).  Only axis 0 may
    follow the batch; it becomes -1 (Reshape infers it) when no other axis is -1, else 0
    (Reshape copies the input's axis 0, which must then be that same batch axis).  For
    ``broadcast_to`` (Expand) it becomes 1, and the input's axis 0 must be the batch."""
    shape = [int(s) for s in ([shape] if isinstance(shape, (int, np.integer)) else shape)]
    other = [int(s) for s in ([other] if isinstance(other, (int, np.integer)) else other)]
    moved = [i for i, (a, b) in enumerate(zip(shape, other)) if a != b]
    if not moved:
        return shape
    if moved != [0]:
        raise OnnxExportError(f"ONNX export: {what} to a shape whose axes {moved} follow the "
                              f"batch size ({shape}); only axis 0 may")
    same_axis0 = len(in_shape) > 0 and in_shape[0] == shape[0]
    if what == "broadcast_to":
        if not same_axis0:
            raise OnnxExportError("ONNX export: broadcast_to a batch its input does not have")
        shape[0] = 1
    elif -1 not in shape:
        shape[0] = -1
    elif same_axis0:
        shape[0] = 0
    else:
        raise OnnxExportError(f"ONNX export: reshape to {shape} mixes the batch with another "
                              f"inferred axis")
    return shape


_ACT = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def _gelu(g: _Graph, x: str, batch: bool, dtype: np.dtype) -> str:
    # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): the tanh form autograd.gelu computes
    c = g.const(math.sqrt(2.0 / math.pi), dtype)
    a = g.const(0.044715, dtype)
    x3 = g.op("Mul", [g.op("Mul", [x, x], batch), x], batch)
    inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [x3, a], batch)], batch), c], batch)
    t = g.op("Add", [g.op("Tanh", [inner], batch), g.const(1.0, dtype)], batch)
    return g.op("Mul", [g.op("Mul", [x, t], batch), g.const(0.5, dtype)], batch)


def _activation(g: _Graph, name: Any, x: str, batch: bool, dtype: np.dtype,
                slope: float) -> str:
    if name in (None, "linear"):
        return x
    if name in _ACT:
        return g.op(_ACT[name], [x], batch)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], batch, alpha=float(slope))
    if name == "gelu":
        return _gelu(g, x, batch, dtype)
    raise OnnxExportError(f"ONNX export: dense activation {name!r} has no ONNX form here")


def _getitem(g: _Graph, x: str, idx: Any, shape: tuple, batch: bool) -> str:
    if not isinstance(idx, tuple):
        idx = (idx,)
    if any(isinstance(i, np.ndarray) or i is None or i is Ellipsis for i in idx):
        if len(idx) == 1 and isinstance(idx[0], np.ndarray) and idx[0].dtype.kind in "iu":
            return g.op("Gather", [x, g.const(idx[0].astype(np.int64))], False, axis=0)
        raise OnnxExportError(f"ONNX export: indexing with {idx!r} has no ONNX form here")
    starts, ends, axes, steps, squeeze = [], [], [], [], []
    for ax, i in enumerate(idx):
        if isinstance(i, slice):
            if i == slice(None):
                continue
            lo, hi, st = i.indices(shape[ax])
            if ax == 0 and batch and (i.start is not None or i.stop is not None):
                raise OnnxExportError("ONNX export: slicing the batch axis")
            if st < 0 and i.stop is None:
                hi = -2**62                       # through the first element
            starts.append(lo)
            ends.append(hi if not (ax == 0 and batch) else (2**62 if st > 0 else -2**62))
            axes.append(ax)
            steps.append(st)
        else:
            k = int(i) % shape[ax]
            starts.append(k)
            ends.append(k + 1)
            axes.append(ax)
            steps.append(1)
            squeeze.append(ax)
    out = x
    still = batch and 0 not in axes
    if axes:
        out = g.op("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)], still)
    if squeeze:
        out = g.op("Squeeze", [out, g.ints(squeeze)], still)
    return out


# one function per primitive: (graph, node, input names, batch flags) -> output name
def _convert(g: _Graph, node: Any, ins: list, flags: list, dtype: np.dtype, other: Any) -> str:
    name = node.prim.name
    b = any(flags)
    nd = len(node.args[0].shape) if isinstance(node.args[0], np.ndarray) else 0
    simple = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div",
              "power": "Pow", "maximum": "Max", "minimum": "Min", "matmul": "MatMul",
              "negative": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs",
              "sin": "Sin", "cos": "Cos", "relu": "Relu", "sigmoid": "Sigmoid",
              "tanh": "Tanh", "identity": "Identity"}
    unary = {"arccos": "Acos", "arccosh": "Acosh", "arcsin": "Asin", "arcsinh": "Asinh",
             "arctan": "Atan", "arctanh": "Atanh", "ceil": "Ceil", "floor": "Floor",
             "cosh": "Cosh", "sinh": "Sinh", "tan": "Tan", "sign": "Sign", "rint": "Round",
             "reciprocal": "Reciprocal"}
    if name in unary:
        return g.op(unary[name], ins[:1], b)
    if name in ("expm1", "log1p", "log2", "log10", "exp2", "deg2rad", "rad2deg", "trunc", "fix"):
        return _unary_composite(g, name, ins[0], b, node.args[0].dtype)
    if name == "hypot":
        return g.op("Sqrt", [g.op("Add", [g.op("Mul", [ins[0], ins[0]], b),
                                          g.op("Mul", [ins[1], ins[1]], b)], b)], b)
    if name == "prod":
        return _reduce(g, "ReduceProd", ins[0], _param(node, "axis", 1, None),
                       _param(node, "keepdims", 2, False), nd, b)
    if name in simple:
        n_in = 1 if name in ("negative", "exp", "log", "sqrt", "abs", "sin", "cos", "relu",
                             "sigmoid", "tanh", "identity") else 2
        return g.op(simple[name], ins[:n_in], b)
    if name == "dense":
        z = g.op("MatMul", ins[:2], b)
        if len(node.args) > 2 and node.args[2] is not None:
            z = g.op("Add", [z, ins[2]], b)
        return _activation(g, node.kwargs.get("activation"), z, b, dtype,
                           node.kwargs.get("negative_slope", 0.01))
    if name == "dense_chain":                   # a stack of Dense layers: each as dense
        h, ns = ins[0], node.kwargs.get("negative_slope", 0.01)
        for i, act in enumerate(node.kwargs["activations"]):
            z = g.op("MatMul", [h, ins[1 + 2 * i]], b)
            if node.args[2 + 2 * i] is not None:
                z = g.op("Add", [z, ins[2 + 2 * i]], b)
            h = _activation(g, act, z, b, dtype, ns)
        return h
    if name == "leaky_relu":
        return g.op("LeakyRelu", ins[:1], b, alpha=float(_param(node, "negative_slope", 1, 0.01)))
    if name == "gelu":
        return _gelu(g, ins[0], b, node.args[0].dtype)
    if name in ("softmax", "log_softmax"):
        return g.op("Softmax" if name == "softmax" else "LogSoftmax", ins[:1], b,
                    axis=int(_param(node, "axis", 1, -1)))
    if name in ("sum", "mean", "max", "min", "logsumexp"):
        op = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
              "logsumexp": "ReduceLogSumExp"}[name]
        return _reduce(g, op, ins[0], _param(node, "axis", 1, None),
                       _param(node, "keepdims", 2, False), nd, b)
    if name == "var":
        axis, keep = _param(node, "axis", 1, None), _param(node, "keepdims", 2, False)
        ddof = _param(node, "ddof", 3, 0)
        axes = _axes(axis, nd) or list(range(nd))
        n = int(np.prod([node.args[0].shape[a] for a in axes]))
        mu = _reduce(g, "ReduceMean", ins[0], axes, True, nd, b)
        d = g.op("Sub", [ins[0], mu], b)
        out = _reduce(g, "ReduceSum", g.op("Mul", [d, d], b), axes, keep, nd, b)
        return g.op("Div", [out, g.const(max(n - ddof, 0), node.args[0].dtype)], b)
    if name == "reshape":
        target = _batch_shape(_param(node, "shape", 1, None), _param(other, "shape", 1, None),
                              node.args[0].shape, "reshape")
        return g.op("Reshape", [ins[0], g.ints(target)], b)
    if name == "transpose":
        axes = _param(node, "axes", 1, None)
        perm = list(range(nd))[::-1] if axes is None else [int(a) % nd for a in axes]
        return g.op("Transpose", ins[:1], b and perm[0] == 0, perm=perm)
    if name in ("concatenate", "stack"):
        axis = int(node.kwargs.get("axis", 0))
        parts = ins[:len(node.args)]
        if name == "stack":
            ax = axis % (nd + 1)
            parts = [_unsqueeze(g, p, [ax], f) for p, f in zip(parts, flags)]
            return g.op("Concat", parts, b and ax != 0, axis=ax)
        return g.op("Concat", parts, b, axis=axis)
    if name == "expand_dims":
        ax = int(_param(node, "axis", 1, 0)) % (nd + 1)
        return _unsqueeze(g, ins[0], [ax], b and ax != 0)
    if name == "squeeze":
        axis = _param(node, "axis", 1, None)
        axes = _axes(axis, nd) if axis is not None else \
            [i for i, s in enumerate(node.args[0].shape) if s == 1]
        return g.op("Squeeze", [ins[0], g.ints(axes)], b and 0 not in axes)
    if name == "clip":
        lo, hi = _param(node, "a_min", 1, None), _param(node, "a_max", 2, None)
        dt = node.args[0].dtype
        return g.op("Clip", [ins[0], g.const(-np.inf if lo is None else lo, dt),
                             g.const(np.inf if hi is None else hi, dt)], b)
    if name == "astype":
        from onnx import helper
        to = helper.np_dtype_to_tensor_dtype(np.dtype(_param(node, "dtype", 1, None)))
        return g.op("Cast", ins[:1], b, to=to)
    if name == "broadcast_to":
        target = _batch_shape(_param(node, "shape", 1, None), _param(other, "shape", 1, None),
                              node.args[0].shape, "broadcast_to")
        return g.op("Expand", [ins[0], g.ints(target)], b)
    if name == "where":
        cond = ins[0]
        if isinstance(node.args[0], np.ndarray) and node.args[0].dtype != np.bool_:
            cond = g.op("Cast", [cond], flags[0], to=9)
        return g.op("Where", [cond, ins[1], ins[2]], b)
    if name == "getitem":
        if repr(_param(node, "idx", 1, None)) != repr(_param(other, "idx", 1, None)):
            raise OnnxExportError("ONNX export: an index that depends on the batch size")
        return _getitem(g, ins[0], _param(node, "idx", 1, None), node.args[0].shape, flags[0])
    if name == "batch_norm":
        return _batch_norm(g, node, ins, b, nd)
    if name == "layer_norm":
        return _layer_norm(g, node, ins, b, nd)
    if name == "embedding":
        return g.op("Gather", [ins[1], ins[0]], flags[0], axis=0)
    if name == "dropout":
        keep = node.args[1]
        if not np.all(np.asarray(keep) == 1):
            raise OnnxExportError("ONNX export: a dropout mask was drawn while tracing; "
                                  "export runs in inference mode, where dropout is the identity")
        return g.op("Identity", ins[:1], b)
    if name in ("lstm", "gru", "simple_rnn", "lstm_cell", "gru_cell", "rnn_cell"):
        nin = node.prim.nin
        if node.kwargs.get("mask") is not None or \
                (0 <= nin < len(node.args) and node.args[nin] is not None):
            raise OnnxExportError(f"ONNX export: {name} with a step mask (from "
                                  f"Embedding(mask_zero=True) or mask=) is not supported")
        return _recurrent(g, node, ins, b, name)
    if name in ("conv1d", "conv2d"):
        return _conv(g, node, ins, b, 1 if name == "conv1d" else 2)
    if name == "conv2d_transpose":
        return _conv_transpose(g, node, ins, b)
    if name == "scatter_add":
        return _scatter_pad(g, node, other, ins, b)
    if name in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
        return _pool(g, node, ins, b, int(name[-2]), name.startswith("max"))
    raise OnnxExportError(f"ONNX export: the primitive {name!r} has no ONNX form here; "
                          f"supported: {sorted(SUPPORTED)}")


def _bshape(nd: int, axes: list, node_shape: tuple) -> list:
    shp = [1] * nd
    for a in axes:
        shp[a] = int(node_shape[a])
    return shp


def _batch_norm(g: _Graph, node: Any, ins: list, b: bool, nd: int) -> str:
    # inference form: y = (x - mean) / sqrt(var + eps) * gamma + beta, on axis
    if _param(node, "training", 7, False):
        raise OnnxExportError("ONNX export: batch_norm recorded in training mode")
    eps = float(_param(node, "eps", 5, 1e-3))
    axis = int(_param(node, "axis", 6, -1)) % nd
    dt = node.args[0].dtype
    shp = g.ints(_bshape(nd, [axis], node.args[0].shape))

    def shaped(i: int) -> Optional[str]:
        return g.op("Reshape", [ins[i], shp], False) if len(ins) > i and ins[i] else None
    gamma, beta, mean, var = shaped(1), shaped(2), shaped(3), shaped(4)
    y = g.op("Sub", [ins[0], mean], b) if mean else ins[0]
    denom = g.op("Sqrt", [g.op("Add", [var, g.const(eps, dt)], False)], False) if var else \
        g.const(np.sqrt(eps), dt)
    y = g.op("Div", [y, denom], b)
    if gamma:
        y = g.op("Mul", [y, gamma], b)
    return g.op("Add", [y, beta], b) if beta else y


def _layer_norm(g: _Graph, node: Any, ins: list, b: bool, nd: int) -> str:
    # y = (x - mean) / sqrt(mean((x - mean)^2) + eps) * gamma + beta over the axes
    axis = _param(node, "axis", 3, -1)
    eps = float(_param(node, "eps", 4, 1e-3))
    axes = sorted(_axes(axis, nd))
    dt = node.args[0].dtype
    mu = _reduce(g, "ReduceMean", ins[0], axes, True, nd, b)
    xc = g.op("Sub", [ins[0], mu], b)
    var = _reduce(g, "ReduceMean", g.op("Mul", [xc, xc], b), axes, True, nd, b)
    y = g.op("Div", [xc, g.op("Sqrt", [g.op("Add", [var, g.const(eps, dt)], b)], b)], b)
    shp = g.ints(_bshape(nd, axes, node.args[0].shape))
    if len(ins) > 1 and ins[1]:
        y = g.op("Mul", [y, g.op("Reshape", [ins[1], shp], False)], b)
    if len(ins) > 2 and ins[2]:
        y = g.op("Add", [y, g.op("Reshape", [ins[2], shp], False)], b)
    return y


def _cut(g: _Graph, x: str, axis: int, lo: int, hi: int, b: bool) -> str:
    return g.op("Slice", [x, g.ints([lo]), g.ints([hi]), g.ints([axis])], b)


def _zeros_state(g: _Graph, x: str, units: int, dt: np.dtype) -> str:
    """Zeros of shape (batch of x, units): the default initial state."""
    from onnx import helper
    n = g.op("Slice", [g.op("Shape", [x], False), g.ints([0]), g.ints([1])], False)
    shape = g.op("Concat", [n, g.ints([units])], False, axis=0)
    return g.op("ConstantOfShape", [shape], True, value=helper.make_tensor(
        "zero", helper.np_dtype_to_tensor_dtype(np.dtype(dt)), [1], [0]))


def _recurrent(g: _Graph, node: Any, ins: list, b: bool, name: str) -> str:
    """The recurrence unrolled over the traced number of steps (Keras' gate layouts:
    LSTM i f g o, GRU z r h with reset_after=True, as ``autograd.ops.rnn`` computes)."""
    kind = {"lstm_cell": "lstm", "gru_cell": "gru", "rnn_cell": "simple_rnn"}.get(name, name)
    cell = name.endswith("_cell")
    x = node.args[0]
    dt = x.dtype
    nstate = 2 if kind == "lstm" else 1
    k_i, r_i, b_i = 1 + nstate, 2 + nstate, 3 + nstate
    rk = node.args[r_i]
    u = rk.shape[0]
    states = [ins[1 + i] if ins[1 + i] else _zeros_state(g, ins[0], u, dt)
              for i in range(nstate)]
    has_bias = len(ins) > b_i and bool(ins[b_i])
    if kind == "gru" and has_bias:
        b_in = g.op("Gather", [ins[b_i], g.const(np.int64(0))], False, axis=0)
        b_rec = g.op("Gather", [ins[b_i], g.const(np.int64(1))], False, axis=0)
    else:
        b_in = ins[b_i] if has_bias else None
        b_rec = None
    xw = g.op("MatMul", [ins[0], ins[k_i]], b)
    if b_in:
        xw = g.op("Add", [xw, b_in], b)
    steps = 1 if cell else x.shape[1]
    h = states[0]
    c = states[1] if kind == "lstm" else None
    outs = []
    for s in range(steps):
        zx = xw if cell else g.op("Squeeze", [_cut(g, xw, 1, s, s + 1, b), g.ints([1])], b)
        zh = g.op("MatMul", [h, ins[r_i]], True)
        if kind == "lstm":
            z = g.op("Add", [zx, zh], True)
            i_, f_ = [g.op("Sigmoid", [_cut(g, z, 1, k * u, (k + 1) * u, True)], True)
                      for k in (0, 1)]
            gg = g.op("Tanh", [_cut(g, z, 1, 2 * u, 3 * u, True)], True)
            o_ = g.op("Sigmoid", [_cut(g, z, 1, 3 * u, 4 * u, True)], True)
            c = g.op("Add", [g.op("Mul", [f_, c], True), g.op("Mul", [i_, gg], True)], True)
            h = g.op("Mul", [o_, g.op("Tanh", [c], True)], True)
            out = g.op("Concat", [h, c], True, axis=1)
        elif kind == "gru":
            if b_rec:
                zh = g.op("Add", [zh, b_rec], True)
            zz = g.op("Sigmoid", [g.op("Add", [_cut(g, zx, 1, 0, u, True),
                                              _cut(g, zh, 1, 0, u, True)], True)], True)
            r = g.op("Sigmoid", [g.op("Add", [_cut(g, zx, 1, u, 2 * u, True),
                                             _cut(g, zh, 1, u, 2 * u, True)], True)], True)
            hh = g.op("Tanh", [g.op("Add", [_cut(g, zx, 1, 2 * u, 3 * u, True), g.op(
                "Mul", [r, _cut(g, zh, 1, 2 * u, 3 * u, True)], True)], True)], True)
            h = g.op("Add", [hh, g.op("Mul", [zz, g.op("Sub", [h, hh], True)], True)], True)
            out = h
        else:
            h = g.op("Tanh", [g.op("Add", [zx, zh], True)], True)
            out = h
        outs.append(out if cell else _unsqueeze(g, out, [1], True))
    if cell:
        return outs[0]
    if not outs:
        raise OnnxExportError(f"ONNX export: {name} over zero steps")
    return outs[0] if len(outs) == 1 else g.op("Concat", outs, True, axis=1)


def _unary_composite(g: _Graph, name: str, x: str, b: bool, dt: np.dtype) -> str:
    """Elementwise functions ONNX spells with two or three operators."""
    one = g.const(1.0, dt)
    if name == "expm1":
        return g.op("Sub", [g.op("Exp", [x], b), one], b)
    if name == "log1p":
        return g.op("Log", [g.op("Add", [x, one], b)], b)
    if name in ("log2", "log10"):
        return g.op("Div", [g.op("Log", [x], b), g.const(math.log(2 if name == "log2" else 10),
                                                          dt)], b)
    if name == "exp2":
        return g.op("Pow", [g.const(2.0, dt), x], b)
    if name in ("deg2rad", "rad2deg"):
        k = math.pi / 180 if name == "deg2rad" else 180 / math.pi
        return g.op("Mul", [x, g.const(k, dt)], b)
    # trunc / fix: round toward zero
    return g.op("Mul", [g.op("Sign", [x], b), g.op("Floor", [g.op("Abs", [x], b)], b)], b)


def _spatial(v: Any, dims: int) -> list:
    return [int(v)] * dims if isinstance(v, (int, np.integer)) else [int(a) for a in v]


def _to_first(g: _Graph, x: str, dims: int, b: bool) -> str:
    """channels_last -> channels_first (ONNX's layout)."""
    return g.op("Transpose", [x], b, perm=[0, dims + 1] + list(range(1, dims + 1)))


def _to_last(g: _Graph, x: str, dims: int, b: bool) -> str:
    return g.op("Transpose", [x], b, perm=[0] + list(range(2, dims + 2)) + [1])


def _conv_pads(padding: Any, dims: int, kernel: list, dilation: list) -> dict:
    """ONNX padding attributes for the library's padding argument."""
    if isinstance(padding, str):
        p = padding.lower()
        if p == "same":
            return {"auto_pad": "SAME_UPPER"}
        if p == "valid":
            return {"pads": [0] * (2 * dims)}
        if p == "causal":
            return {"pads": [dilation[0] * (kernel[0] - 1), 0]}
    if isinstance(padding, (int, np.integer)):
        return {"pads": [int(padding)] * (2 * dims)}
    pairs = [((int(p), int(p)) if isinstance(p, (int, np.integer)) else (int(p[0]), int(p[1])))
             for p in (padding if dims == 2 else [padding])]
    if dims == 1 and len(pairs) == 1 and isinstance(padding, (tuple, list)) and \
            len(padding) == 2 and all(isinstance(p, (int, np.integer)) for p in padding):
        pairs = [(int(padding[0]), int(padding[1]))]
    return {"pads": [p[0] for p in pairs] + [p[1] for p in pairs]}


def _conv(g: _Graph, node: Any, ins: list, b: bool, dims: int) -> str:
    # y = conv(x, W) + bias; ONNX wants NC(H)W and W as (filters, C // groups, k...)
    strides = _spatial(_param(node, "strides", 3, 1), dims)
    padding = _param(node, "padding", 4, "valid")
    dilation = _spatial(_param(node, "dilation", 5, 1), dims)
    groups = int(_param(node, "groups", 6, 1))
    last = _param(node, "data_format", 7, "channels_last") == "channels_last"
    kshape = list(node.args[1].shape[:dims])
    x = _to_first(g, ins[0], dims, b) if last else ins[0]
    w = g.op("Transpose", [ins[1]], False, perm=[dims + 1, dims] + list(range(dims)))
    inputs = [x, w] + ([ins[2]] if len(ins) > 2 and ins[2] else [])
    y = g.op("Conv", inputs, b, strides=strides, dilations=dilation, group=groups,
             kernel_shape=kshape, **_conv_pads(padding, dims, kshape, dilation))
    return _to_last(g, y, dims, b) if last else y


def _conv_transpose(g: _Graph, node: Any, ins: list, b: bool) -> str:
    # the library's geometry (Keras' output sizes) as explicit ONNX pads + output_padding
    from autograd.ops.conv import _transpose_geometry
    x, kernel = node.args[0], node.args[1]
    strides = _param(node, "strides", 3, 1)
    padding = _param(node, "padding", 4, "valid")
    out_pad = _param(node, "output_padding", 5, None)
    dilation = _param(node, "dilation", 6, 1)
    groups = int(_param(node, "groups", 7, 1))
    fmt = _param(node, "data_format", 8, "channels_last")
    xl, s, d, pads, grp, out = _transpose_geometry("conv2d_transpose", x, kernel, strides,
                                                   padding, out_pad, dilation, groups, fmt)
    begin, end, extra = [], [], []
    for n, st, dl, k, p, o in zip(xl.shape[1:3], s, d, kernel.shape[:2], pads, out):
        full = st * (n - 1) + dl * (k - 1) + 1          # ONNX's size before pads
        tail = full - p[0] - o                          # what the end pad must remove
        begin.append(p[0])
        end.append(max(tail, 0))
        extra.append(max(-tail, 0))
    last = fmt == "channels_last"
    xin = _to_first(g, ins[0], 2, b) if last else ins[0]
    w = g.op("Transpose", [ins[1]], False, perm=[3, 2, 0, 1])
    inputs = [xin, w] + ([ins[2]] if len(ins) > 2 and ins[2] else [])
    y = g.op("ConvTranspose", inputs, b, strides=list(s), dilations=list(d), group=grp,
             kernel_shape=list(kernel.shape[:2]), pads=begin + end, output_padding=extra)
    return _to_last(g, y, 2, b) if last else y


def _scatter_pad(g: _Graph, node: Any, other: Any, ins: list, b: bool) -> str:
    # zeros(shape) with g added at a box of slices (ZeroPadding2D) is a constant Pad
    idx, shape = _param(node, "idx", 1, None), _param(node, "shape", 2, None)
    idx = idx if isinstance(idx, tuple) else (idx,)
    gshape = node.args[0].shape
    if not all(isinstance(i, slice) for i in idx) or len(idx) > len(shape):
        raise OnnxExportError("ONNX export: scatter_add at index arrays has no ONNX form here "
                              "(only boxes of slices: zero padding)")
    idx = idx + (slice(None),) * (len(shape) - len(idx))
    begin, end = [], []
    for ax, (i, n) in enumerate(zip(idx, shape)):
        lo, hi, st = i.indices(n)
        if st != 1 or hi - lo != gshape[ax]:
            raise OnnxExportError("ONNX export: scatter_add with strided slices has no ONNX form")
        if ax == 0 and (lo, hi) != (0, n):
            raise OnnxExportError("ONNX export: scatter_add into part of the batch axis")
        begin.append(lo)
        end.append(n - hi)
    return g.op("Pad", [ins[0], g.ints(begin + end)], b, mode="constant")


def _pool(g: _Graph, node: Any, ins: list, b: bool, dims: int, is_max: bool) -> str:
    pool = _spatial(_param(node, "pool_size", 1, 2), dims)
    strides = _param(node, "strides", 2, None)
    strides = pool if strides is None else _spatial(strides, dims)
    padding = str(_param(node, "padding", 3, "valid")).lower()
    last = _param(node, "data_format", 4, "channels_last") == "channels_last"
    x = _to_first(g, ins[0], dims, b) if last else ins[0]
    attrs = {"auto_pad": "SAME_UPPER" if padding == "same" else "VALID"}
    if not is_max:
        attrs["count_include_pad"] = 0          # 'same' windows average what they cover
    y = g.op("MaxPool" if is_max else "AveragePool", [x], b, kernel_shape=pool,
             strides=strides, **attrs)
    return _to_last(g, y, dims, b) if last else y


SUPPORTED = frozenset(
    "add subtract multiply divide power maximum minimum matmul negative exp log sqrt abs sin "
    "cos relu sigmoid tanh identity dense leaky_relu gelu softmax log_softmax sum mean max min "
    "logsumexp var reshape transpose concatenate stack expand_dims squeeze clip astype "
    "broadcast_to where getitem conv1d conv2d conv2d_transpose max_pool1d max_pool2d avg_pool1d "
    "avg_pool2d scatter_add arccos arccosh arcsin arcsinh arctan arctanh ceil floor cosh sinh "
    "tan sign rint reciprocal expm1 log1p log2 log10 exp2 deg2rad rad2deg trunc fix hypot prod "
    "batch_norm layer_norm embedding dropout lstm gru simple_rnn lstm_cell gru_cell "
    "rnn_cell dense_chain".split())

# which positional arguments of a primitive are static parameters, not tensors
_STATIC = {"reshape": {1}, "transpose": {1}, "expand_dims": {1}, "squeeze": {1},
           "astype": {1}, "broadcast_to": {1}, "getitem": {1}, "clip": {1, 2},
           "leaky_relu": {1}, "softmax": {1}, "log_softmax": {1}, "sum": {1, 2},
           "mean": {1, 2}, "max": {1, 2}, "min": {1, 2}, "logsumexp": {1, 2}, "var": {1, 2, 3},
           "conv1d": {3, 4, 5, 6, 7}, "conv2d": {3, 4, 5, 6, 7},
           "conv2d_transpose": {3, 4, 5, 6, 7, 8}, "max_pool1d": {1, 2, 3, 4},
           "max_pool2d": {1, 2, 3, 4}, "avg_pool1d": {1, 2, 3, 4}, "avg_pool2d": {1, 2, 3, 4},
           "batch_norm": {5, 6, 7, 8}, "layer_norm": {3, 4}, "dropout": {1},
           "scatter_add": {1, 2}, "prod": {1, 2},
           "lstm": {6}, "gru": {5}, "simple_rnn": {5}}     # the step mask: refused below


# ---------------------------------------------------------------------- tracing
def _input_specs(model: Any, input_shape: Any) -> list[tuple[str, tuple, np.dtype]]:
    from .functional import FunctionalMixin
    if isinstance(model, FunctionalMixin):
        if input_shape is not None:
            raise OnnxExportError("ONNX export: a functional model knows its input shapes; "
                                  "leave input_shape=None")
        return [(n, t.shape, t.dtype) for n, t in zip(model.input_names, model.inputs)]
    shape = input_shape
    if shape is None:
        known = getattr(model, "_known_input_shape", None)
        shape = known() if known is not None else None
    if shape is None:
        raise OnnxExportError(f"ONNX export: the input shape of {type(model).__name__} is "
                              f"unknown; pass input_shape=(None, features...) (or call or "
                              f"build the model first)")
    shape = tuple(shape)
    from .model import _first_dtype
    return [("input", (None,) + tuple(shape[1:]), _first_dtype(model))]


def _trace(model: Any, specs: list, batch: int) -> tuple[list, Any]:
    """Inputs (Tensors requiring grad) and the outputs of one recorded inference call."""
    xs = []
    for _, shape, dtype in specs:
        concrete = (batch,) + tuple(1 if s is None else s for s in shape[1:])
        # float inputs require grad so everything they feed is recorded; integer inputs
        # (Embedding ids) are found by identity where a primitive reads them
        xs.append(ag.Tensor(np.zeros(concrete, dtype=dtype),
                            requires_grad=np.dtype(dtype).kind == "f"))
    modes = [(m, m.training) for _, m in model.named_modules()]
    model.eval()
    try:
        with ag.enable_grad(), np.errstate(all="ignore"):   # zeros may sit outside a domain
            from .functional import FunctionalMixin
            if isinstance(model, FunctionalMixin):
                out = model(xs if len(xs) > 1 else xs[0])
            else:
                out = model(xs[0])
    finally:
        for m, mode in modes:
            m.training = mode
    return xs, out


def _topo(outputs: list) -> list:
    """Recorded nodes below ``outputs`` in dependency order (iterative)."""
    order, state, stack = [], {}, []
    for t in outputs:
        if t._node is not None:
            stack.append((t._node, False))
    while stack:
        node, done = stack.pop()
        if done:
            if state.get(id(node)) != 2:
                state[id(node)] = 2
                order.append(node)
            continue
        if state.get(id(node)):
            continue
        state[id(node)] = 1
        stack.append((node, True))
        for _, p in node.parents:
            if not isinstance(p, ag.Tensor) and not state.get(id(p)):
                stack.append((p, False))
    return order


def to_model_proto(model: Any, input_shape: Any = None, opset: Optional[int] = None) -> Any:
    """The ONNX ``ModelProto`` of ``model`` (see the module docstring)."""
    onnx = _onnx()
    from onnx import helper
    opset = DEFAULT_OPSET if opset is None else int(opset)
    if opset < 13:
        raise OnnxExportError(f"ONNX export: opset {opset} is too old; use 13 or later")
    specs = _input_specs(model, input_shape)
    # a first call builds lazily built layers (an unbuilt stack of Dense layers records a
    # dense node per layer, a built one one dense_chain node: see nn.layers.core)
    _trace(model, specs, 1)
    # two traces with different batch sizes: what differs between them follows the batch
    xs, out = _trace(model, specs, _TRACE_BATCH)
    xs_b, out_b = _trace(model, specs, _TRACE_BATCH + 2)
    from .functional import FunctionalMixin, flatten
    outs = flatten(out)
    nodes, nodes_b = _topo(outs), _topo(flatten(out_b))
    if [n.prim.name for n in nodes] != [n.prim.name for n in nodes_b]:
        raise OnnxExportError("ONNX export: the model records a different graph for another "
                              "batch size, so no single ONNX graph can stand for it")
    if isinstance(model, FunctionalMixin):
        out_names = list(model.output_names)
    else:
        out_names = ["output"] if len(outs) == 1 else [f"output_{i}" for i in range(len(outs))]
    g = _Graph(opset)
    weights = {id(w): n for n, w in model.named_weights()}
    for (name, _, _), x in zip(specs, xs):
        g.names[id(x)] = name
        g.batch.add(name)
    dtype = np.dtype(specs[0][2])
    for node, other in zip(nodes, nodes_b):
        if node.prim.name not in SUPPORTED:
            raise OnnxExportError(f"ONNX export: the primitive {node.prim.name!r} has no ONNX "
                                  f"form here; supported: {sorted(SUPPORTED)}")
        parents = dict(node.parents)
        ins, flags = [], []
        static = _STATIC.get(node.prim.name, set())
        for i, a in enumerate(node.args):
            if i in static:
                continue
            if i in parents:
                p = parents[i]
                key = id(p)
                if key not in g.names:      # a leaf weight: an initializer
                    if not isinstance(p, ag.Tensor) or key not in weights:
                        raise OnnxExportError("ONNX export: the model reads a tensor that is "
                                              "neither an input nor one of its weights")
                    g.names[key] = g.const(p.data, name=weights[key])
                ins.append(g.names[key])
                flags.append(g.names[key] in g.batch)
            elif a is None:
                ins.append("")
                flags.append(False)
            elif any(a is x._data for x in xs):     # an integer model input, read as data
                k = next(j for j, x in enumerate(xs) if a is x._data)
                if i >= len(other.args) or other.args[i] is not xs_b[k]._data:
                    raise OnnxExportError(f"ONNX export: {node.prim.name} reads input "
                                          f"{specs[k][0]!r} differently for another batch size")
                ins.append(specs[k][0])
                flags.append(True)
            elif isinstance(a, (np.ndarray, np.generic, float, int, bool)):
                a_b = other.args[i] if i < len(other.args) else None
                if np.shape(a) != np.shape(a_b) or not np.array_equal(a, a_b):
                    raise OnnxExportError(
                        f"ONNX export: argument {i} of {node.prim.name} is computed from the "
                        f"input outside the graph (through .data or numpy), so it would be "
                        f"frozen into the file; write it with autograd ops instead")
                arr = next((x for x in node.args if isinstance(x, np.ndarray)), None)
                dt = a.dtype if isinstance(a, np.ndarray) else (
                    arr.dtype if arr is not None else dtype)
                ins.append(g.const(a, dt))
                flags.append(False)
            else:
                raise OnnxExportError(f"ONNX export: {node.prim.name} argument {i} is a "
                                      f"{type(a).__name__}, which has no ONNX form")
        g.names[id(node)] = _convert(g, node, ins, flags, dtype, other)
    outputs = []
    for name, t in zip(out_names, outs):
        src = g.names.get(id(t._node)) if t._node is not None else g.names.get(id(t))
        if src is None:                     # an output that depends on no input
            src = g.const(t.data)
        g.nodes.append(helper.make_node("Identity", [src], [name]))
        shape = ["batch"] + list(t.shape[1:]) if src in g.batch else list(t.shape)
        outputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(t.dtype), shape))
    inputs = [helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(np.dtype(dt)),
        ["batch"] + [s if s is not None else f"{name}_d{i + 1}" for i, s in
                     enumerate(shape[1:])]) for name, shape, dt in specs]
    graph = helper.make_graph(g.nodes, getattr(model, "name", "model"), inputs, outputs,
                              initializer=g.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="autograd-nn")
    proto.ir_version = min(proto.ir_version, 10)
    onnx.checker.check_model(proto)
    return proto


def export(model: Any, path: Union[str, os.PathLike], input_shape: Any = None,
           opset: Optional[int] = None) -> str:
    """Write ``model`` as an ONNX file at ``path`` (atomically) and return the path.

    input_shape : ``(None, features...)`` for models that have not seen data (functional
    models know theirs).  opset : the ONNX opset (default 17; 13 or later)."""
    proto = to_model_proto(model, input_shape=input_shape, opset=opset)
    path = os.fspath(path)
    from . import safe_io
    safe_io.atomic_write(path, lambda f: f.write(proto.SerializeToString()), prefix=".onnx-")
    return path
