"""Model (Keras-style compile/fit/evaluate/predict on top of Module) and Sequential.

One training step is: forward -> loss -> finite check -> backward -> finite check ->
optimizer step.  A NaN or inf loss (or gradient) stops before the step is applied, so the
weights stay those of the last finite step.
"""
from __future__ import annotations

import inspect
import os
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

import autograd as ag

from . import losses as _losses, metrics as _metrics, optimizers as _optimizers
from .callbacks import Callback, History
from .errors import NotCompiledError, WeightsMismatchError
from .layers.base import _auto_name
from .layers.core import dense_chain_call as _dense_chain_call
from .module import Module, _check_built, _returned_none
from .progress import Progbar
from . import distributed as _distributed
from . import safe_io as _safe_io
from . import functional as _functional
from . import config as _config, saving as _saving

__all__ = ["Model", "Sequential", "History"]


from .training import as_array as _as_data  # noqa: E402  (one check of x/y, in training.py)


def _check_xy(x: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    x = _as_data(x, "x", where)
    y = _as_data(y, "y", where)
    if x.ndim < 2:
        raise ag.ShapeError(f"{where}: x must be (samples, features...), got shape {x.shape}; "
                            f"for one feature use x.reshape(-1, 1)")
    if len(x) != len(y):
        raise ag.ShapeError(f"{where}: x and y hold different numbers of samples "
                            f"({len(x)} and {len(y)})")
    if len(x) == 0:
        raise ag.InvalidValueError(f"{where}: no samples (x has shape {x.shape})")
    return x, y


def _check_int(name: str, v: Any, low: int) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
        raise ag.InvalidValueError(f"{name} must be an int >= {low}, got {v!r}")
    return int(v)


def _verbose(v: Any) -> int:
    if v == "auto":
        return 1
    if v not in (0, 1, 2):
        raise ag.InvalidValueError(f"verbose must be 0, 1, 2 or 'auto', got {v!r}")
    return int(v)


def _prefixed(e: Exception, where: str) -> Exception:
    """The same error type with ``where`` in front of the message."""
    msg = str(e)
    if msg.startswith(where):
        return e
    try:
        return type(e)(f"{where}: {msg}")
    except Exception:  # pragma: no cover - exotic exception types
        return e


#: per Model class: whether ``super().__call__`` in ``Model.__call__`` is ``Module.__call__``
#: (then inlined there); a class with its own ``__call__`` between them keeps the call
_INLINE_CALL: dict = {}


def _next_call_is_module(cls: type) -> bool:
    mro = cls.__mro__
    for c in mro[mro.index(Model) + 1:]:
        if "__call__" in c.__dict__:
            return c is Module
    return False


class Model(Module):
    """A Module you can train: subclass it and define ``call(inputs)`` (or ``forward``), or use
    :class:`Sequential`.  Then ``compile``, ``fit``, ``evaluate``, ``predict``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        # nn.Model(inputs, outputs) builds a functional model, as in Keras
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, name: Optional[str] = None) -> None:
        super().__init__()
        self.name = name or _auto_name(type(self).__name__)
        self.optimizer: Optional[_optimizers.Optimizer] = None
        self.loss: Any = None
        self.metrics: list = []
        self.stop_training = False
        self.history: Optional[History] = None

    @property
    def layers(self) -> list:
        """The direct sub-layers, in attribute order."""
        return [m for _, m in self.children()]

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Module:
        """The layer called ``name``, or the one at ``index`` in ``layers`` (Keras)."""
        layers = list(self.layers)
        if (name is None) == (index is None):
            raise ag.InvalidValueError("get_layer: give exactly one of name= or index=")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not -len(layers) <= index < len(layers):
                raise ag.IndexOutOfRangeError(f"get_layer: index {index!r} is out of range for "
                                              f"{len(layers)} layers")
            return layers[index]
        for layer in layers:
            if getattr(layer, "name", None) == name:
                return layer
        raise ag.InvalidValueError(f"get_layer: no layer named {name!r}; the layers are "
                                   f"{[getattr(m, 'name', type(m).__name__) for m in layers]}")

    def get_weights(self) -> list:
        self._maybe_build()
        _check_built(self, "get_weights")
        return super().get_weights()

    get_weights.__doc__ = Module.get_weights.__doc__

    def set_weights(self, weights: Any) -> None:
        self._maybe_build()
        _check_built(self, "set_weights")
        super().set_weights(weights)

    set_weights.__doc__ = Module.set_weights.__doc__

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        t = type(inputs)
        if t is np.ndarray:                 # checked numeric with a batch axis: no re-check
            if inputs.ndim == 0 or inputs.dtype.kind not in "biuf":
                inputs = _as_data(inputs, "inputs", type(self).__name__)   # raises
            inputs = ag.Tensor._make(inputs)
        elif t is not ag.Tensor:            # a plain tensor is never symbolic
            if _functional.is_symbolic(inputs):  # functional hook: record a node
                return _functional.symbolic_call(self, inputs, args, kwargs)
            if isinstance(inputs, np.ndarray):
                inputs = ag.Tensor(_as_data(inputs, "inputs", type(self).__name__))
        inline = _INLINE_CALL.get(type(self))
        if inline is None:
            inline = _INLINE_CALL[type(self)] = _next_call_is_module(type(self))
        if not inline:
            out = super().__call__(inputs, *args, **kwargs)
        else:
            # Module.__call__ (next in line), inlined: one frame less per step
            fn = getattr(self, "call", None) or getattr(self, "forward", None)
            if fn is None:
                return super().__call__(inputs, *args, **kwargs)   # raises, naming the model
            out = fn(inputs, *args, **kwargs)
            if type(out) is ag.Tensor:
                shape = out._data.shape
                self.__dict__["_output_shape"] = (None,) + shape[1:] if shape else ()
            elif out is None:
                _returned_none(self, fn)
            else:
                shape = getattr(out, "shape", None)
                if shape is not None:
                    self.__dict__["_output_shape"] = \
                        (None,) + tuple(shape[1:]) if len(shape) else ()
        shape = inputs._data.shape if type(inputs) is ag.Tensor else getattr(inputs, "shape", None)
        if shape is not None and len(shape):     # after the call: a failed one records nothing
            self.__dict__["_input_shape"] = (None,) + tuple(shape[1:])
        return out

    def build(self, input_shape: Sequence) -> None:
        """Create every lazily built weight by calling the model on zeros of ``input_shape``
        (``None`` for the batch size is fine)."""
        shape = tuple(1 if s is None else int(s) for s in input_shape)
        dt = _first_dtype(self)
        was_training = getattr(self, "training", True)
        self.eval()                     # building is not a step: no moving-statistics update
        try:
            with ag.no_grad():
                self(np.zeros(shape, dtype=dt))
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any, loss: Any, metrics: Optional[Iterable] = None,
                loss_weights: Any = None, jit_compile: Any = "auto") -> None:
        """Set the optimizer (instance or name: 'sgd', 'adam', 'adamw', 'rmsprop'), the loss
        (instance, name such as 'mse' or 'sparse_categorical_crossentropy', or callable
        ``f(y_true, y_pred)``) and metrics (names such as 'accuracy', or callables).  Binds the
        model's parameters to the optimizer (those built later are bound on the first batch).

        A model with several outputs takes ``loss``, ``loss_weights`` and ``metrics`` as lists
        (output order) or dicts keyed by output name (one loss alone applies to every output);
        the loss minimised is ``sum_k loss_weights[k] * loss_k``, and the logs hold
        ``<output>_loss`` and ``<output>_<metric>`` besides the total ``loss``.

        jit_compile (Keras's name) : True compiles the train step (forward, loss, backward
        and the optimizer update, one program) and the predict step with ``autograd.jit``;
        False keeps them eager; "auto" (the default) compiles and keeps whichever of compiled
        and eager measured faster over a few steps.  Results equal eager ones.  See ``nn.compiled``.
        """
        from . import compiled as _compiled
        mode = _compiled.check_mode(jit_compile)
        optimizer = _optimizers.get(optimizer)
        self._compile_args = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights}
        if _functional.n_outputs(self) > 1 or isinstance(loss, (list, tuple, dict)) \
                or loss_weights is not None or isinstance(metrics, dict):
            self.loss, self.metrics = _functional.compile_outputs(
                self, loss, loss_weights, metrics, _losses.get, _metrics.get,
                _metrics.metric_name)
        else:
            self.loss = _losses.get(loss)
            if isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
                metrics = [metrics]
            self.metrics = [_metrics.get(m, loss=self.loss) for m in (metrics or [])]
        self.optimizer = optimizer
        names = ["loss"] + [_metrics.metric_name(m) for m in self.metrics]
        if len(set(names)) != len(names):
            raise ag.InvalidValueError(f"compile: metric names must be distinct, got {names}")
        self.optimizer.add_params(self.parameters())
        self.stop_training = False
        self.__dict__["_jit"] = _compiled.Compiled(self, mode) if mode is not False else None

    def _require_compiled(self, where: str) -> None:
        if getattr(self, "optimizer", None) is None or getattr(self, "loss", None) is None:
            raise NotCompiledError(f"{where}: call model.compile(optimizer, loss) first")

    def _probe(self, x: np.ndarray, y: np.ndarray, batch_size: int, where: str) -> None:
        """Check that x and y fit the model before any step: one forward on the first batch
        (builds lazy layers), the loss on it, and the whole of y against a sparse loss."""
        k = min(_functional.n_samples(x), batch_size)
        was_training = getattr(self, "training", True)
        try:
            self.eval()             # a check, not a step: no dropout draw, no moving-stat update
            from .training import compute_loss
            with ag.no_grad():
                out = self(_functional.take(x, slice(0, k)))
                value = compute_loss(self, _functional.take(y, slice(0, k)), out, None)
            if not isinstance(value, ag.Tensor) or value.size != 1:
                raise ag.InvalidValueError(f"{where}: the loss must return a scalar Tensor (the mean over "
                                 f"the batch), got {type(value).__name__} of shape "
                                 f"{getattr(value, 'shape', None)}")
            if isinstance(self.loss, _losses.SparseCategoricalCrossentropy) \
                    and isinstance(y, np.ndarray):
                _losses.sparse_labels(y, len(y), out.shape[-1], "SparseCategoricalCrossentropy")
        except ag.AutogradError as e:
            raise _prefixed(e, where) from None
        finally:
            self.train(was_training)

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
            epochs: int = 1, verbose: Any = "auto", callbacks: Optional[Iterable[Callback]] = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: Any = True,
            class_weight: Optional[dict] = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: Optional[int] = None,
            validation_steps: Optional[int] = None, validation_batch_size: Optional[int] = None,
            validation_freq: Any = 1, distributed: bool = False, **kwargs: Any) -> History:
        """Train for ``epochs`` passes (Keras's signature).

        x : shape-(N, ...) numeric array (y : shape-(N, ...) targets the loss accepts), or an
        ``nn.data.Dataset``, generator or iterable of ``(x, y)`` / ``(x, y, sample_weight)``
        batches (then y, sample_weight and batch_size stay None).  An infinite source needs
        ``steps_per_epoch``; a generator read once needs it for more than one epoch.
        batch_size : 32 by default for arrays.  shuffle : True, False or 'batch' (arrays).
        sample_weight : shape-(N,) weights of the samples in the loss; class_weight :
        ``{class: weight}``, turned into per-sample weights as Keras does (they multiply
        when both are given).  validation_split : the last fraction of the samples (taken
        before shuffling) is held out; validation_data : ``(x_val, y_val[, sw_val])`` or a
        dataset (``validation_steps`` batches of it, ``validation_batch_size`` for arrays),
        evaluated every ``validation_freq`` epochs (an int, or a list of epochs from 1).
        initial_epoch : the epoch to start from (to resume).  verbose : 0 silent, 1 or
        'auto' a progress bar (one final line per epoch when stdout is not a terminal), 2 one
        line per epoch.  callbacks : ``nn.callbacks`` instances.
        Returns a History; epoch figures are means over batches weighted by batch size, the
        loss including regularization penalties (``model.losses``).  Raises ValueError
        subclasses before any step for bad input, and ``nn.NonFiniteLossError`` on a NaN/inf
        loss (unless a TerminateOnNaN callback turns it into a quiet stop); either way the
        weights are those of the last finite step.
        distributed : data-parallel over the ranks of an ``mpiexec`` job, every rank passing
        the same full arrays; batch_size is the global batch.  No rank is left waiting: an
        error before training is raised on every rank, an exception leaving fit on one rank
        during training aborts the job, stop decisions are taken over all ranks, and
        ``AUTOGRAD_DIST_TIMEOUT`` arms a watchdog.  See ``nn.distributed``.
        """
        if kwargs:
            from .optimizers.base import check_kwargs
            check_kwargs("fit", kwargs, Model.fit)
        from . import training
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                            validation_split, validation_data, shuffle, class_weight,
                            sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                            validation_batch_size, validation_freq, distributed)

    def _train_step(self, xb: Any, yb: Any, opt: _optimizers.Optimizer, sw: Any = None):
        """(loss, output data) after one step; (non-finite loss, None or output) and no step
        applied when the loss or a gradient is NaN/inf."""
        from . import training
        return training.train_step(self, xb, yb, sw, opt)

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: Optional[dict] = None, return_dict: bool = False) -> Any:
        """One optimizer step on this batch; the loss (and metrics) on it, before the step:
        a float, ``[loss, metric, ...]`` with metrics, or a dict with ``return_dict``."""
        from . import training
        return training.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """The loss (and metrics) on this batch, no step, no graph; as ``train_on_batch``."""
        from . import training
        return training.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The model's output on this batch, as an ndarray (no graph)."""
        from . import training
        return training.predict_on_batch(self, x)

    @property
    def losses(self) -> list:
        """The regularization penalties of the layers (0-d Tensors, computed now): weight
        regularizers, and activity regularizers from the last call.  ``fit`` adds their sum
        to the loss."""
        from .regularizers import collect_losses
        return collect_losses(self)

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, x: np.ndarray, y: np.ndarray, batch_size: int,
                         bar: Optional[Progbar] = None) -> dict:
        names = ["loss"] + [_metrics.metric_name(m) for m in self.metrics]
        sums = dict.fromkeys(names, 0.0)
        seen = 0
        self.eval()
        with ag.no_grad():
            for b, start in enumerate(range(0, len(x), batch_size)):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                out = self(xb)
                bs = len(xb)
                seen += bs
                sums["loss"] += float(self.loss(yb, out).data) * bs
                for m in self.metrics:
                    sums[_metrics.metric_name(m)] += float(m(yb, out.data)) * bs
                if bar is not None:
                    bar.update(b + 1, {k: v / seen for k, v in sums.items()})
        return {k: v / max(seen, 1) for k, v in sums.items()}

    def evaluate(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: Optional[int] = None,
                 callbacks: Optional[Iterable[Callback]] = None, return_dict: bool = False,
                 **kwargs: Any) -> Union[float, list, dict]:
        """The loss on (x, y), or ``[loss, metric, ...]`` when metrics were compiled (a dict
        with ``return_dict=True``); means over batches weighted by batch size, the loss
        weighted by ``sample_weight`` and including regularization penalties.  x may be a
        dataset or generator of (x, y[, sample_weight]) (``steps`` batches of it).  No graph
        is recorded.  verbose : 0 silent, 1 or 'auto' a progress bar, 2 one line."""
        if kwargs:
            from .optimizers.base import check_kwargs
            check_kwargs("evaluate", kwargs, Model.evaluate)
        from . import training
        return training.evaluate(self, x, y, batch_size, verbose, sample_weight, steps,
                                 callbacks, return_dict)

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = 0,
                steps: Optional[int] = None, callbacks: Optional[Iterable[Callback]] = None,
                **kwargs: Any) -> np.ndarray:
        """The model's outputs on x (an array, or a dataset / generator of x or (x, ...)
        batches, ``steps`` of them), as one ndarray, computed in batches (32 for arrays) with
        no graph."""
        if kwargs:
            from .optimizers.base import check_kwargs
            check_kwargs("predict", kwargs, Model.predict)
        from . import training
        return training.predict(self, x, batch_size, verbose, steps, callbacks)

    # ------------------------------------------------------------------ summary
    def _known_input_shape(self) -> Optional[tuple]:
        shape = getattr(self, "_input_shape", None)
        if shape is None and isinstance(self, Sequential) and self.layers:
            declared = getattr(self.layers[0], "_declared_input_shape", None)
            if declared is not None:
                shape = declared
        if shape is None:
            first = next((m for _, m in self.named_modules() if m is not self
                          and getattr(m, "input_dim", None)), None)
            if isinstance(self, Sequential) and first is not None and self.layers \
                    and first is self.layers[0]:
                shape = (None, first.input_dim)
        return shape

    def _maybe_build(self, need_shapes: bool = False) -> None:
        """Build lazy layers when the input shape is known (the model was called, fitted or
        built, or a Sequential's first layer has ``input_dim``)."""
        children = self.children()
        unknown = any(getattr(m, "built", True) is False for _, m in self.named_modules())
        if need_shapes:
            unknown = unknown or any(not hasattr(m, "_output_shape") for _, m in children)
        if unknown:
            shape = self._known_input_shape()
            if shape is not None:
                self.build(shape)

    def state_dict(self) -> dict[str, np.ndarray]:
        self._maybe_build()
        return super().state_dict()

    state_dict.__doc__ = Module.state_dict.__doc__

    def load_state_dict(self, state: Any, strict: bool = True) -> None:
        self._maybe_build()
        super().load_state_dict(state, strict)

    load_state_dict.__doc__ = Module.load_state_dict.__doc__

    def summary(self, print_fn: Optional[Callable[[str], Any]] = None) -> None:
        """Print each direct sub-layer with its output shape and parameter count, then the
        totals.  Lazily built layers are built first when the input shape is known (the model
        was called, fitted or built, or a Sequential's first layer has ``input_dim``)."""
        print_fn = print_fn or print
        self._maybe_build(need_shapes=True)
        children = self.children()
        try:
            _check_built(self, "summary")
        except ValueError:
            raise ag.InvalidValueError(f"summary: model {type(self).__name__!r} is not built yet; call "
                             f"model.build((None, n_features)), fit it or call it on a batch "
                             f"first (or give the first Dense layer input_dim=)") from None
        rows = []
        seq = isinstance(self, Sequential)
        graph = isinstance(self, Functional)
        if graph:  # every layer of the graph, inputs first, with what feeds it
            children = [(m.name, m) for m in self.layers]
        for attr, m in children:
            label = getattr(m, "name", None) if seq or graph else attr
            shape = getattr(m, "_output_shape", None)
            if isinstance(m, _functional.InputLayer):
                shape = m.output.shape
            row = (f"{label or attr} ({type(m).__name__})",
                   str(shape) if shape is not None else "?", f"{m.count_params():,}")
            rows.append(row + ((", ".join(self.connections(m)),) if graph else ()))
        in_children = {id(p) for _, m in children for p in m.weights}
        own = [p for p in self.weights if id(p) not in in_children]
        if own:
            rows.append(("(own parameters)", "", f"{sum(p.size for p in own):,}")
                        + (("",) if graph else ()))
        w0 = max([len("Layer (type)")] + [len(r[0]) for r in rows]) + 3
        w1 = max([len("Output Shape")] + [len(r[1]) for r in rows]) + 3
        w2 = max([len("Param #")] + [len(r[2]) for r in rows])
        w3 = (max([len("Connected to")] + [len(r[3]) for r in rows]) + 3) if graph else 0
        width = w0 + w1 + w2 + w3
        last = f"   {'Connected to':<{w3 - 3}}" if graph else ""
        print_fn(f'Model: "{getattr(self, "name", type(self).__name__.lower())}"')
        print_fn("_" * width)
        print_fn(f"{'Layer (type)':<{w0}}{'Output Shape':<{w1}}{'Param #':>{w2}}{last}")
        print_fn("=" * width)
        for i, r in enumerate(rows):
            tail = f"   {r[3]:<{w3 - 3}}" if graph else ""
            print_fn(f"{r[0]:<{w0}}{r[1]:<{w1}}{r[2]:>{w2}}{tail}".rstrip())
            if i < len(rows) - 1:
                print_fn("_" * width)
        print_fn("=" * width)
        weights = list(self.weights)
        train = [w for w in weights if w.requires_grad]
        frozen = [w for w in weights if not w.requires_grad]

        def tally(ws):
            return f"{sum(w.size for w in ws):,} ({_size(sum(w.data.nbytes for w in ws))})"
        print_fn(f"Total params: {tally(weights)}")
        print_fn(f"Trainable params: {tally(train)}")
        print_fn(f"Non-trainable params: {tally(frozen)}")
        print_fn("_" * width)

    # ------------------------------------------------------------------ config and saving
    def get_config(self) -> dict:
        """The architecture as JSON-ready data (Sequential and functional models).  A
        subclassed model has none unless it defines ``get_config`` itself (returning its
        constructor arguments); saving one without it raises ``NotSerializableError``
        saying to use ``save_weights``."""
        return _saving.model_get_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: Optional[dict] = None) -> "Model":
        """A new model (fresh weights) from ``get_config()``'s output."""
        with _config.custom_object_scope(custom_objects):
            return _saving.model_from_config(cls, config)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON text; ``nn.models.model_from_json`` reads it back."""
        return _saving.to_json(self, **kwargs)

    def save(self, path: Union[str, os.PathLike], overwrite: bool = True) -> None:
        """Write the whole model to one ``.keras`` zip: architecture, weights, compile
        arguments and optimizer state (see ``nn.saving``); ``nn.models.load_model`` reads
        it back.  Atomic; no pickle."""
        _saving.save_model(self, path, overwrite=overwrite)

    def export(self, path: Union[str, os.PathLike], format: str = "onnx",
               opset: Optional[int] = None, input_shape: Any = None) -> str:
        """Write the model for deployment; ``format='onnx'`` (the only one) writes an ONNX
        graph with the ``onnx`` package (see ``nn.onnx.export``).  Returns the path."""
        if format != "onnx":
            raise ag.InvalidValueError(f"export: format must be 'onnx', got {format!r}")
        from . import onnx as _onnx_export
        return _onnx_export.export(self, path, input_shape=input_shape, opset=opset)

    # ------------------------------------------------------------------ weights
    def save_weights(self, path: Union[str, os.PathLike]) -> None:
        """Write every parameter to an ``.npz`` file (no pickle), keyed by
        ``named_weights`` names (frozen weights too; names are data: a weight called ``file``
        or ``allow_pickle`` is stored like any other).  The write is atomic: a temporary file
        in the same directory, then ``os.replace``, so a crash never leaves a half-written file.
        An existing file keeps its permission bits; a new one gets the user's umask.
        In an MPI job only rank 0 writes; the other ranks return at once."""
        if not _distributed._writes_files():  # distributed hook: rank 0 writes
            return
        state = self.state_dict()
        _check_built(self, "save_weights")
        _safe_io.atomic_write(path, lambda f: _safe_io.write_npz(f, state), prefix=".weights-")

    def load_weights(self, path: Union[str, os.PathLike]) -> None:
        """Read weights written by ``save_weights``, all or nothing.  The file is untrusted:
        through ``nn.safe_io.read_npz`` the zip directory and each ``.npy`` header are checked
        against the model (names, shapes, dtypes, declared sizes) before any data is
        inflated, and at most the model's own bytes are read.  A file that does not match, or
        is damaged, raises ``nn.WeightsMismatchError`` (a ValueError) naming the parameter and
        the model is left unchanged; an unreadable file raises ``PermissionError``."""
        path = os.fspath(path)
        self._maybe_build()
        _check_built(self, "load_weights")
        expected = {name: (p.shape, p.dtype) for name, p in self.named_weights()}
        state = _safe_io.read_npz(path, expected, error=WeightsMismatchError, what="load_weights")
        self.load_state_dict(state)


def _size(nbytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return ""  # pragma: no cover


def _first_dtype(model: Module) -> np.dtype:
    for _, m in model.named_modules():
        dt = getattr(m, "dtype", None)
        if isinstance(dt, np.dtype):
            return dt
    return np.dtype("float32")


class Sequential(Model):
    """A Model that runs its ``layers`` one after the other.

    ``Sequential([Dense(64, activation='relu', input_dim=64), Dense(10)])``; ``add(layer)``
    appends one.  Parameter names are ``layers.<i>.kernel`` / ``layers.<i>.bias``.
    """

    layers = None  # an instance attribute here (shadows Model.layers)

    def __init__(self, layers: Optional[Iterable[Module]] = None,
                 name: Optional[str] = None) -> None:
        super().__init__(name=name)
        self.layers: list = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Any) -> None:
        """Append a layer; an ``nn.Input(shape)`` (first only) fixes the input shape and
        builds the layers as they are added."""
        if isinstance(layer, _functional.SymbolicTensor):
            if self.layers or getattr(self, "_input_shape", None) is not None:
                raise ag.InvalidValueError("Sequential.add: nn.Input can only come first")
            if not _functional._is_input_layer(layer.node.layer):
                raise ag.InvalidValueError("Sequential.add: a symbolic tensor here must come "
                                           "straight from nn.Input")
            self._input_shape = layer.shape
            self._input_spec = {"shape": list(layer.shape[1:]), "dtype": layer.dtype.name,
                                "name": layer.node.layer.name}
            return
        if not isinstance(layer, Module):
            raise ag.InvalidValueError(f"Sequential.add: expected a layer (nn.Module), got "
                             f"{type(layer).__name__}")
        self.layers.append(layer)
        shape = self._known_input_shape()
        declared = getattr(self, "_input_spec", None) is not None or getattr(
            self.layers[0], "_declared_input_shape", None) is not None
        if declared and shape is not None and all(s is not None for s in shape[1:]) \
                and not getattr(self, "_building", False):
            self._building = True
            try:
                with np.errstate(all="ignore"):        # built on zeros: no domain warnings
                    self.build(shape)
            finally:
                self._building = False

    def pop(self) -> Module:
        """Remove and return the last layer."""
        if not self.layers:
            raise ag.InvalidValueError("Sequential.pop: the model has no layers")
        return self.layers.pop()

    def call(self, x: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        """Each layer in turn.  ``training`` (None: each layer's own ``training`` flag, set by
        ``train()``/``eval()``, ``fit`` and ``evaluate``/``predict``) goes to the layers whose
        ``call`` takes it; a mask made by a layer (``Embedding(mask_zero=True)``) goes on to
        the layers that take ``mask`` and through those that pass it (``supports_masking``).
        A stack of plain Dense layers runs as one ``dense_chain`` node (the same numbers;
        see ``nn.layers.core.dense_chain_call`` for when)."""
        if type(x) is ag.Tensor:
            out = _dense_chain_call(self.layers, x)
            if out is not None:
                return out
        for layer in self.layers:
            kw = {}
            if training is not None and _takes(layer, "training"):
                kw["training"] = training
            if mask is not None and _takes(layer, "mask"):
                kw["mask"] = mask
            out = layer(x, **kw) if kw else layer(x)
            if hasattr(layer, "compute_mask"):
                mask = layer.compute_mask(x, mask)
            elif mask is not None and not getattr(layer, "supports_masking", False):
                mask = None
            x = out
        return x


def _takes(layer: Module, name: str) -> bool:
    """Whether ``layer.call`` (or ``forward``) has a parameter ``name`` (or ``**kwargs``)."""
    fn = getattr(layer, "call", None) or getattr(layer, "forward", None)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


class Functional(_functional.FunctionalMixin, Model):
    """A model made from a layer graph: ``nn.Model(inputs, outputs, name=None)`` where
    inputs come from ``nn.Input`` and outputs from layer calls on them (one tensor, a list,
    or a dict keyed by name).  ``inputs``/``outputs`` list the symbolic tensors; ``layers``
    lists every layer once (inputs first); parameter names are ``layers.<i>.<weight>``."""

    def __init__(self, inputs: Any = None, outputs: Any = None,
                 name: Optional[str] = None) -> None:
        Model.__init__(self, name=name)
        self._init_graph(inputs, outputs)
