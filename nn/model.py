"""Model (Keras-style compile/fit/evaluate/predict on top of Module) and Sequential.

One training step is: forward -> loss -> finite check -> backward -> finite check ->
optimizer step.  A NaN or inf loss (or gradient) stops before the step is applied, so the
weights stay those of the last finite step.
"""
from __future__ import annotations

import inspect
import math
import os
import tempfile
import threading
import zipfile
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

import autograd as ag

from . import losses as _losses, metrics as _metrics, optimizers as _optimizers
from .callbacks import Callback, History
from .errors import NonNumericError, NotCompiledError, WeightsMismatchError
from .layers.base import _auto_name
from .module import Module, _check_built
from .progress import Progbar
from . import distributed as _distributed
from . import safe_io as _safe_io

__all__ = ["Model", "Sequential", "History"]


def _as_data(a: Any, what: str, where: str) -> np.ndarray:
    """``a`` as a numeric ndarray with a batch axis, or a clear ValueError."""
    if isinstance(a, ag.Tensor):
        a = a.data
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as e:
        raise NonNumericError(f"{where}: {what} cannot be made into a numeric array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise NonNumericError(f"{where}: {what} must be numeric (int, float or bool), got dtype "
                              f"{arr.dtype}")
    if arr.ndim == 0:
        raise ag.ShapeError(f"{where}: {what} must have a batch axis, got a scalar")
    return arr


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


class Model(Module):
    """A Module you can train: subclass it and define ``call(inputs)`` (or ``forward``), or use
    :class:`Sequential`.  Then ``compile``, ``fit``, ``evaluate``, ``predict``."""

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

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, np.ndarray):
            inputs = ag.Tensor(_as_data(inputs, "inputs", type(self).__name__))
        shape = getattr(inputs, "shape", None)
        if shape is not None and len(shape):
            self._input_shape = (None,) + tuple(shape[1:])
        return super().__call__(inputs, *args, **kwargs)

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
    def compile(self, optimizer: Any, loss: Any, metrics: Optional[Iterable] = None) -> None:
        """Set the optimizer (instance or name: 'sgd', 'adam', 'adamw', 'rmsprop'), the loss
        (instance, name such as 'mse' or 'sparse_categorical_crossentropy', or callable
        ``f(y_true, y_pred)``) and metrics (names such as 'accuracy', or callables).  Binds the
        model's parameters to the optimizer (those built later are bound on the first batch).
        """
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        if isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
            metrics = [metrics]
        self.metrics = [_metrics.get(m, loss=self.loss) for m in (metrics or [])]
        names = ["loss"] + [_metrics.metric_name(m) for m in self.metrics]
        if len(set(names)) != len(names):
            raise ag.InvalidValueError(f"compile: metric names must be distinct, got {names}")
        self.optimizer.add_params(self.parameters())
        self.stop_training = False

    def _require_compiled(self, where: str) -> None:
        if getattr(self, "optimizer", None) is None or getattr(self, "loss", None) is None:
            raise NotCompiledError(f"{where}: call model.compile(optimizer, loss) first")

    def _probe(self, x: np.ndarray, y: np.ndarray, batch_size: int, where: str) -> None:
        """Check that x and y fit the model before any step: one forward on the first batch
        (builds lazy layers), the loss on it, and the whole of y against a sparse loss."""
        k = min(len(x), batch_size)
        was_training = getattr(self, "training", True)
        try:
            self.eval()             # a check, not a step: no dropout draw, no moving-stat update
            from .training import compute_loss
            with ag.no_grad():
                out = self(x[:k])
                value = compute_loss(self, y[:k], out, None)
            if not isinstance(value, ag.Tensor) or value.size != 1:
                raise ag.InvalidValueError(f"{where}: the loss must return a scalar Tensor (the mean over "
                                 f"the batch), got {type(value).__name__} of shape "
                                 f"{getattr(value, 'shape', None)}")
            if isinstance(self.loss, _losses.SparseCategoricalCrossentropy):
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
        the same full arrays; batch_size is the global batch.  See ``nn.distributed``.
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
        if shape is None:
            first = next((m for _, m in self.named_modules() if m is not self
                          and getattr(m, "input_dim", None)), None)
            if isinstance(self, Sequential) and first is not None and self.layers \
                    and first is self.layers[0]:
                shape = (None, first.input_dim)
            head = self.layers[0] if isinstance(self, Sequential) and self.layers else None
            if shape is None and getattr(head, "input_shape", None) is not None:
                shape = (None,) + tuple(head.input_shape)      # Keras' input_shape= (conv layers)
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
        for attr, m in children:
            label = getattr(m, "name", None) if seq else attr
            shape = getattr(m, "_output_shape", None)
            rows.append((f"{label or attr} ({type(m).__name__})",
                         str(shape) if shape is not None else "?", f"{m.count_params():,}"))
        in_children = {id(p) for _, m in children for p in m.weights()}
        own = [p for p in self.weights() if id(p) not in in_children]
        if own:
            rows.append(("(own parameters)", "", f"{sum(p.size for p in own):,}"))
        w0 = max([len("Layer (type)")] + [len(r[0]) for r in rows]) + 3
        w1 = max([len("Output Shape")] + [len(r[1]) for r in rows]) + 3
        w2 = max([len("Param #")] + [len(r[2]) for r in rows])
        width = w0 + w1 + w2
        print_fn(f'Model: "{getattr(self, "name", type(self).__name__.lower())}"')
        print_fn("_" * width)
        print_fn(f"{'Layer (type)':<{w0}}{'Output Shape':<{w1}}{'Param #':>{w2}}")
        print_fn("=" * width)
        for i, (a, b, c) in enumerate(rows):
            print_fn(f"{a:<{w0}}{b:<{w1}}{c:>{w2}}")
            if i < len(rows) - 1:
                print_fn("_" * width)
        print_fn("=" * width)
        weights = self.weights()
        train = [w for w in weights if w.requires_grad]
        frozen = [w for w in weights if not w.requires_grad]

        def tally(ws):
            return f"{sum(w.size for w in ws):,} ({_size(sum(w.data.nbytes for w in ws))})"
        print_fn(f"Total params: {tally(weights)}")
        print_fn(f"Trainable params: {tally(train)}")
        print_fn(f"Non-trainable params: {tally(frozen)}")
        print_fn("_" * width)

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
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        mode = _file_mode(path)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".weights-", suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                _safe_io.write_npz(f, state)
                f.flush()
                os.fchmod(f.fileno(), mode)
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

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


def _file_mode(path: str) -> int:
    """Permission bits for a file written at ``path``: the existing file's, else 0o666
    minus the process umask (what ``open()`` would give)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    with _UMASK_LOCK:
        um = os.umask(0)
        os.umask(um)
    return 0o666 & ~um


_UMASK_LOCK = threading.Lock()


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

    def add(self, layer: Module) -> None:
        if not isinstance(layer, Module):
            raise ag.InvalidValueError(f"Sequential.add: expected a layer (nn.Module), got "
                             f"{type(layer).__name__}")
        self.layers.append(layer)

    def call(self, x: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        """Each layer in turn.  ``training`` (None: each layer's own ``training`` flag, set by
        ``train()``/``eval()``, ``fit`` and ``evaluate``/``predict``) goes to the layers whose
        ``call`` takes it; a mask made by a layer (``Embedding(mask_zero=True)``) goes on to
        the layers that take ``mask`` and through those that pass it (``supports_masking``)."""
        for layer in self.layers:
            kw = {}
            if training is not None and _takes(layer, "training"):
                kw["training"] = training
            if mask is not None and _takes(layer, "mask"):
                kw["mask"] = mask
            out = layer(x, **kw)
            if hasattr(layer, "compute_mask"):
                mask = layer.compute_mask(x, mask)
            elif not getattr(layer, "supports_masking", False):
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
