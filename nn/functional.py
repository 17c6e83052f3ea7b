"""The functional API: ``nn.Input``, symbolic layer calls, and ``nn.Model(inputs, outputs)``.

``nn.Input(shape)`` returns a :class:`SymbolicTensor`: a shape and a dtype, no data.  Calling a
layer (or a model) on symbolic tensors records a :class:`Node` (layer, inputs, outputs) and
returns new symbolic tensors; the output shape comes from running the layer once on zeros of
the input shapes (batch 2, inference mode, no graph), which also builds its weights.
``nn.Model(inputs, outputs)`` walks the nodes back from the outputs and becomes a
:class:`Functional` model that replays them on real data.  One layer called twice shares its
weights.  Inputs and outputs may be one tensor, a list, or a dict keyed by name.

Also here: the structured data helpers ``fit``/``evaluate``/``predict`` use for several inputs
or outputs (lists or dicts of arrays), and the per-output losses and metrics of ``compile``.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import numpy as np

import autograd as ag

from .errors import NonNumericError
from .layers import Layer, _auto_name
from .module import Module

__all__ = ["Input", "InputLayer", "SymbolicTensor", "Node", "Functional"]


# ---------------------------------------------------------------------- symbolic tensors
class SymbolicTensor:
    """A placeholder for the data a functional model will see: ``shape`` (``None`` for the
    batch axis and any free axis), ``dtype``, and the :class:`Node` that produced it."""

    def __init__(self, shape: Sequence, dtype: Any, node: Optional["Node"] = None,
                 index: int = 0) -> None:
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def name(self) -> str:
        layer = self.node.layer if self.node is not None else None
        base = getattr(layer, "name", "?")
        return base if self.index == 0 else f"{base}:{self.index}"

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype.name} from {self.name!r}>"

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise ag.ArgumentTypeError(f"{self!r} holds no data: it only describes the inputs of a "
                                   f"functional model; build nn.Model(inputs, outputs) and call "
                                   f"that on arrays")


def flatten(struct: Any) -> list:
    """The leaves of a tensor, list/tuple or dict (in key order as given), as a list."""
    if isinstance(struct, dict):
        return [leaf for v in struct.values() for leaf in flatten(v)]
    if isinstance(struct, (list, tuple)):
        return [leaf for v in struct for leaf in flatten(v)]
    return [struct]


def pack(struct: Any, leaves: Iterable) -> Any:
    """``struct`` with its leaves replaced, in ``flatten`` order, by ``leaves``."""
    it = iter(leaves)

    def go(s):
        if isinstance(s, dict):
            return {k: go(v) for k, v in s.items()}
        if isinstance(s, (list, tuple)):
            return type(s)(go(v) for v in s)
        return next(it)
    return go(struct)


def is_symbolic(struct: Any) -> bool:
    """True when ``struct`` (a tensor, list, tuple or dict) holds a SymbolicTensor."""
    if isinstance(struct, SymbolicTensor):
        return True
    if isinstance(struct, (list, tuple, dict)):
        return any(isinstance(t, SymbolicTensor) for t in flatten(struct))
    return False


class Node:
    """One recorded layer call: ``layer(inputs, *args, **kwargs) -> outputs`` where inputs
    and outputs are symbolic (outputs flattened into a list)."""

    def __init__(self, layer: Module, inputs: Any, args: tuple, kwargs: dict,
                 out_struct: Any) -> None:
        self.layer = layer
        self.inputs = inputs
        self.args = args
        self.kwargs = kwargs
        self.out_struct = out_struct
        self.outputs: list[SymbolicTensor] = []

    @property
    def parents(self) -> list["Node"]:
        return [t.node for t in flatten(self.inputs)]


def _zeros_for(t: SymbolicTensor) -> np.ndarray:
    shape = (2,) + tuple(1 if s is None else s for s in t.shape[1:]) if t.shape else ()
    from .saving import check_allocation
    check_allocation(shape, "symbolic call", transient=True)  # bounded while loading a file
    return np.zeros(shape, dtype=t.dtype)


def symbolic_call(layer: Module, inputs: Any, args: tuple, kwargs: dict) -> Any:
    """Record ``layer(inputs, ...)`` on symbolic inputs: run it once on zeros (builds it,
    gives the output shapes) and return symbolic outputs of the same structure."""
    leaves = flatten(inputs)
    bad = [type(t).__name__ for t in leaves if not isinstance(t, SymbolicTensor)]
    if bad:
        raise ag.ArgumentTypeError(f"{getattr(layer, 'name', type(layer).__name__)}: a functional "
                                   f"call mixes symbolic tensors (from nn.Input) with {bad[0]}; "
                                   f"every input must come from nn.Input or another layer call")
    if is_symbolic(list(args)) or is_symbolic(dict(kwargs)):
        raise ag.ArgumentTypeError(f"{getattr(layer, 'name', type(layer).__name__)}: symbolic "
                                   f"tensors are accepted as the first (inputs) argument only")
    concrete = pack(inputs, [_zeros_for(t) for t in leaves])
    modes = [(m, m.training) for _, m in layer.named_modules()]
    layer.eval()
    try:
        with ag.no_grad(), np.errstate(all="ignore"):    # zeros may sit outside a domain
            out = layer(concrete, *args, **kwargs)
    finally:
        for m, mode in modes:
            m.training = mode
    node = Node(layer, inputs, tuple(args), dict(kwargs), None)
    outs = []
    for i, o in enumerate(flatten(out)):
        if not isinstance(o, ag.Tensor):
            raise ag.ArgumentTypeError(f"{getattr(layer, 'name', '?')}: a layer used in a "
                                       f"functional model must return Tensors, got "
                                       f"{type(o).__name__}")
        outs.append(SymbolicTensor((None,) + tuple(o.shape[1:]), o.dtype, node, i))
    node.outputs = outs
    node.out_struct = pack(out, outs)
    return node.out_struct


# ---------------------------------------------------------------------- Input
class InputLayer(Layer):
    """The layer behind ``nn.Input``: holds the input's shape and dtype; passes data on."""

    def __init__(self, shape: Sequence = (), dtype: Any = "float32",
                 name: Optional[str] = None) -> None:
        Module.__init__(self)
        self.name = name or _auto_name("InputLayer")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "biuf":
            raise ag.InvalidValueError(f"Input: dtype must be numeric, got {self.dtype}")
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        shape = tuple(shape)
        for s in shape:
            if s is not None and (not isinstance(s, (int, np.integer)) or isinstance(s, bool)
                                  or s < 1):
                raise ag.InvalidValueError(f"Input: shape entries must be positive ints or "
                                           f"None, got {shape!r}")
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.built = True
        node = Node(self, [], (), {}, None)
        self.output = SymbolicTensor((None,) + self.shape, self.dtype, node, 0)
        node.outputs = [self.output]
        node.out_struct = self.output

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return inputs

    def call(self, x: Any) -> Any:
        return x

    def get_config(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype.name, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "InputLayer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<InputLayer {self.name!r} shape={self.shape}>"


def Input(shape: Sequence, dtype: Any = "float32", name: Optional[str] = None) -> SymbolicTensor:
    """A symbolic input of per-sample ``shape`` (the batch axis is implicit; ``None`` for a
    free axis) and ``dtype``: call layers on it, then ``nn.Model(inputs, outputs)``."""
    return InputLayer(shape, dtype=dtype, name=name).output


def _is_input_layer(layer: Any) -> bool:
    return isinstance(layer, InputLayer)


# ---------------------------------------------------------------------- the model
def _structure(struct: Any, what: str) -> tuple[Any, list[SymbolicTensor], list[str]]:
    """(kind, flat tensors, names): kind is 'single', 'list' or a tuple of dict keys."""
    if isinstance(struct, dict):
        flat, names = list(struct.values()), [str(k) for k in struct]
        kind: Any = tuple(names)
    elif isinstance(struct, (list, tuple)):
        flat, kind = list(struct), "list"
        names = None
    else:
        flat, kind, names = [struct], "single", None
    for t in flat:
        if not isinstance(t, SymbolicTensor):
            raise ag.ArgumentTypeError(f"Model: {what} must be symbolic tensors (from nn.Input and "
                                       f"layer calls), got {type(t).__name__}")
    if not flat:
        raise ag.InvalidValueError(f"Model: no {what} given")
    if names is None:
        names = [t.name for t in flat]
    return kind, flat, names


class FunctionalMixin:
    """What a model built from a layer graph adds to Model (mixed into ``Functional``)."""

    layers = None  # an instance attribute (shadows Model.layers), as in Sequential

    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        self._in_kind, self.inputs, self.input_names = _structure(inputs, "inputs")
        self._out_kind, self.outputs, self.output_names = _structure(outputs, "outputs")
        for t in self.inputs:
            if not _is_input_layer(t.node.layer):
                raise ag.InvalidValueError(f"Model: input {t.name!r} is not made by nn.Input")
        if len(set(map(id, self.inputs))) != len(self.inputs):
            raise ag.InvalidValueError("Model: the same input is given twice")
        if len(set(self.output_names)) != len(self.output_names):
            raise ag.InvalidValueError(f"Model: output names must be distinct, got "
                                       f"{self.output_names}")
        # nodes in topological order (iterative depth-first search from the outputs)
        order, state = [], {}
        stack = [(t.node, False) for t in reversed(self.outputs)]
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
            stack.extend((p, False) for p in reversed(node.parents) if not state.get(id(p)))
        given = {id(t.node) for t in self.inputs}
        for node in order:
            if _is_input_layer(node.layer) and id(node) not in given:
                raise ag.InvalidValueError(f"Model: the outputs depend on input "
                                           f"{node.layer.name!r}, which is not in inputs")
        self._nodes = [n for n in order if not _is_input_layer(n.layer)]
        layers = [t.node.layer for t in self.inputs]
        for n in self._nodes:
            if all(n.layer is not m for m in layers):
                layers.append(n.layer)
        names = [getattr(m, "name", None) for m in layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ag.InvalidValueError(f"Model: layer names must be unique, {dup[0]!r} is used by "
                                       f"two layers")
        self.layers = layers
        self.built = True

    # ------------------------------------------------------------------ running
    def _input_tensors(self, inputs: Any) -> list[ag.Tensor]:
        where = getattr(self, "name", "model")
        if isinstance(inputs, dict):
            missing = [k for k in self.input_names if k not in inputs]
            extra = [k for k in inputs if k not in self.input_names]
            if missing or extra:
                raise ag.InvalidValueError(f"{where}: inputs keyed {sorted(inputs)} do not match "
                                           f"the model's inputs {self.input_names}")
            flat = [inputs[k] for k in self.input_names]
        elif isinstance(inputs, (list, tuple)) and len(self.inputs) > 1:
            flat = list(inputs)
        else:
            flat = [inputs]
        if len(flat) != len(self.inputs):
            raise ag.InvalidValueError(f"{where}: expected {len(self.inputs)} inputs "
                                       f"{self.input_names}, got {len(flat)}")
        out = []
        for sym, x, name in zip(self.inputs, flat, self.input_names):
            if not isinstance(x, ag.Tensor):
                arr = np.asarray(x)
                if arr.dtype.kind not in "biuf":
                    raise NonNumericError(f"{where}: input {name!r} must be numeric, got dtype "
                                          f"{arr.dtype}")
                x = ag.Tensor(arr.astype(sym.dtype, copy=False))
            if x.ndim != sym.ndim or any(s is not None and s != d
                                         for s, d in zip(sym.shape[1:], x.shape[1:])):
                raise ag.ShapeError(f"{where}: input {name!r} expects shape {sym.shape}, got "
                                    f"{tuple(x.shape)}")
            out.append(x)
        return out

    def call(self, inputs: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        """Replay the recorded layer calls on ``inputs``.  ``training`` (None: each layer's
        own flag) goes to the layers whose ``call`` takes it; a mask a layer makes
        (``compute_mask``) goes on to the next single-input layer that takes ``mask`` and
        through those that pass it (``supports_masking``), as in Sequential."""
        if mask is not None:
            raise ag.InvalidValueError(f"{getattr(self, 'name', 'model')}: a functional model "
                                       f"takes no mask=; masks come from its layers")
        values = {id(sym): x for sym, x in zip(self.inputs, self._input_tensors(inputs))}
        masks: dict = {}
        for node in self._nodes:
            leaves = flatten(node.inputs)
            args = pack(node.inputs, [values[id(t)] for t in leaves])
            kw = dict(node.kwargs)
            if training is not None and _takes(node.layer, "training") and "training" not in kw:
                kw["training"] = training
            in_mask = masks.get(id(leaves[0])) if len(leaves) == 1 else None
            if in_mask is not None and _takes(node.layer, "mask") and "mask" not in kw:
                kw["mask"] = in_mask
            out = node.layer(args, *node.args, **kw)
            outs = flatten(out)
            if hasattr(node.layer, "compute_mask") and len(leaves) == 1:
                out_mask = node.layer.compute_mask(args, in_mask)
            elif getattr(node.layer, "supports_masking", False):
                out_mask = in_mask
            else:
                out_mask = None
            for sym, o in zip(node.outputs, outs):
                values[id(sym)] = o
                if out_mask is not None:
                    masks[id(sym)] = out_mask
        outs = [values[id(t)] for t in self.outputs]
        if self._out_kind == "single":
            return outs[0]
        if self._out_kind == "list":
            return outs
        return dict(zip(self.output_names, outs))

    @property
    def multi_input(self) -> bool:
        """Several inputs: fit/evaluate/predict read a list/tuple x as one array per input."""
        return len(self.inputs) > 1

    @property
    def multi_output(self) -> bool:
        """Several outputs: a list/tuple y holds one target array per output."""
        return len(self.outputs) > 1

    def _known_input_shape(self) -> Optional[tuple]:
        return None  # built at construction

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built when it is made; this does nothing."""

    def connections(self, layer: Module) -> list[str]:
        """'layer[node][tensor]' names of what feeds ``layer`` (the summary's last column)."""
        out = []
        for node in self._nodes:
            if node.layer is layer:
                for t in flatten(node.inputs):
                    out.append(t.name)
        return out


def _takes(layer: Any, name: str) -> bool:
    """Whether ``layer.call`` (or ``forward``) has a parameter ``name`` (or ``**kwargs``)."""
    import inspect
    fn = getattr(layer, "call", None) or getattr(layer, "forward", None)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


# ---------------------------------------------------------------------- structured data
def is_structured(a: Any) -> bool:
    """A dict, or a list/tuple whose items are arrays or Tensors (several inputs/outputs)."""
    if isinstance(a, dict):
        return True
    return isinstance(a, (list, tuple)) and len(a) > 0 and all(
        isinstance(v, (np.ndarray, ag.Tensor)) for v in a)


def n_samples(a: Any) -> int:
    return len(flatten(a)[0]) if is_structured(a) else len(a)


def take(a: Any, sl: Any) -> Any:
    """``a[sl]`` for an array, or for every array of a list/dict."""
    if isinstance(a, dict):
        return {k: v[sl] for k, v in a.items()}
    if is_structured(a):
        return [v[sl] for v in a]
    return a[sl]


def data_of(out: Any) -> Any:
    """The ndarrays of a Tensor or of a list/dict of Tensors."""
    if isinstance(out, dict):
        return {k: data_of(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [data_of(v) for v in out]
    return out.data if isinstance(out, ag.Tensor) else out


def n_outputs(model: Any) -> int:
    return len(model.outputs) if isinstance(model, FunctionalMixin) else 1


def pick(struct: Any, i: int, key: str, what: str) -> Any:
    """Output ``i`` (named ``key``) of a list or dict of targets/predictions."""
    if isinstance(struct, dict):
        if key not in struct:
            raise ag.InvalidValueError(f"{what}: no entry for output {key!r} (keys: "
                                       f"{sorted(struct)})")
        return struct[key]
    if isinstance(struct, (list, tuple)):
        if i >= len(struct):
            raise ag.InvalidValueError(f"{what}: {len(struct)} entries for more outputs")
        return struct[i]
    raise ag.InvalidValueError(f"{what}: the model has several outputs, so give a list or a "
                               f"dict keyed by output name, got {type(struct).__name__}")


class OutputsLoss:
    """The loss of a model with several outputs: ``sum_k w_k loss_k(y_true[k], y_pred[k])``
    over the outputs that have a loss; y_true and y_pred are lists (output order) or dicts
    keyed by output name."""

    name = "loss"

    def __init__(self, names: list, losses: list, weights: list) -> None:
        self.names, self.losses, self.weights = names, losses, weights

    def __call__(self, y_true: Any, y_pred: Any) -> ag.Tensor:
        total = None
        for i, (key, loss, w) in enumerate(zip(self.names, self.losses, self.weights)):
            if loss is None:
                continue
            term = loss(pick(y_true, i, key, "loss (y)"), pick(y_pred, i, key, "loss (outputs)"))
            term = term if w == 1.0 else term * w
            total = term if total is None else total + term
        return total

    def __repr__(self) -> str:
        return f"OutputsLoss({dict(zip(self.names, self.losses))}, weights={self.weights})"


class OutputMetric:
    """Metric (or loss, as ``<output>_loss``) of one output, logged as ``<output>_<name>``."""

    def __init__(self, fn: Any, index: int, key: str, name: str, is_loss: bool = False) -> None:
        self.fn, self.index, self.key, self.name, self.is_loss = fn, index, key, name, is_loss

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        yt = pick(y_true, self.index, self.key, self.name)
        yp = pick(y_pred, self.index, self.key, self.name)
        if self.is_loss:
            return float(np.asarray(self.fn(yt, yp).data))
        return float(self.fn(yt, yp))

    def traced(self, y_true: Any, y_pred: Any) -> Any:
        """``__call__`` on tensors (a 0-d tensor), for a compiled step."""
        from .metrics import traced
        yt = pick(y_true, self.index, self.key, self.name)
        yp = pick(y_pred, self.index, self.key, self.name)
        if self.is_loss:
            return self.fn(yt, yp).reshape(())
        return traced(self.fn)(yt, yp)


def _per_output(value: Any, names: list, what: str, default: Any) -> list:
    """A list/dict given per output, as a list in output order (``default`` where absent)."""
    if isinstance(value, dict):
        extra = [k for k in value if k not in names]
        if extra:
            raise ag.InvalidValueError(f"compile: {what} names output {extra[0]!r}; the model's "
                                       f"outputs are {names}")
        return [value.get(k, default) for k in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ag.InvalidValueError(f"compile: {len(value)} {what} for {len(names)} outputs "
                                       f"{names}")
        return list(value)
    return [value for _ in names]


def compile_outputs(model: Any, loss: Any, loss_weights: Any, metrics: Any,
                    get_loss: Any, get_metric: Any, metric_name: Any) -> tuple[Any, list]:
    """(loss, metrics) for ``model.compile`` when the model has several outputs, or when
    loss/loss_weights/metrics are given per output."""
    names = list(model.output_names) if isinstance(model, FunctionalMixin) else ["output"]
    single = len(names) == 1
    losses = _per_output(loss, names, "losses", None)
    losses = [None if l is None else get_loss(l) for l in losses]
    if all(l is None for l in losses):
        raise ag.InvalidValueError("compile: no output has a loss")
    if loss_weights is None:
        weights = [1.0] * len(names)
    else:
        weights = [float(w) for w in _per_output(loss_weights, names, "loss_weights", 1.0)]
    if isinstance(metrics, (list, tuple)) and metrics and all(
            isinstance(m, (list, tuple)) for m in metrics):
        per = _per_output(list(metrics), names, "metric lists", [])
    elif isinstance(metrics, dict):
        per = _per_output(metrics, names, "metrics", [])
    else:
        per = [metrics or [] for _ in names]
    per = [[m] if isinstance(m, str) or not isinstance(m, (list, tuple)) else list(m) for m in per]
    if single:
        ms = [get_metric(m, loss=losses[0]) for m in per[0]]
        return (losses[0] if weights[0] == 1.0 else _Scaled(losses[0], weights[0])), ms
    out_metrics: list = []
    for i, (key, l) in enumerate(zip(names, losses)):
        if l is not None:
            out_metrics.append(OutputMetric(l, i, key, f"{key}_loss", is_loss=True))
    for i, (key, ms, l) in enumerate(zip(names, per, losses)):
        for m in ms:
            fn = get_metric(m, loss=l)
            out_metrics.append(OutputMetric(fn, i, key, f"{key}_{metric_name(fn)}"))
    return OutputsLoss(names, losses, weights), out_metrics


class _Scaled:
    """``w * loss(y_true, y_pred)``: a single output's loss with a loss weight."""

    def __init__(self, loss: Any, weight: float) -> None:
        self.loss, self.weight = loss, weight

    def __call__(self, y_true: Any, y_pred: Any) -> ag.Tensor:
        return self.loss(y_true, y_pred) * self.weight
