"""The loops behind ``Model.fit``/``evaluate``/``predict`` and the ``*_on_batch`` methods.

Input sources, each turned into batches ``(x, y, sample_weight)`` per epoch:
- arrays (``x``, ``y``, optional ``sample_weight``), batched and shuffled here;
- an ``nn.data.Dataset`` (re-read each epoch) or any re-iterable (a DataLoader-like object);
- a one-shot iterator or generator, read once (several epochs need ``steps_per_epoch``).
Elements of the iterables are ``(x, y)`` or ``(x, y, sample_weight)`` (``x`` alone for
predict).  A structured ``x`` (a dict of arrays, or a list/tuple of arrays for a model whose
``multi_input`` is True) is sliced and passed to the model as the same structure: that is
the hook for multi-input models.

One training step is: forward -> loss (+ regularization penalties) -> finite check ->
backward -> finite check -> optimizer step -> weight constraints.  A NaN or inf loss (or
gradient) stops before the step is applied, so the weights stay those of the last finite step.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Optional

import numpy as np

import autograd as ag

from . import _random, metrics as _metrics
from .callbacks import CallbackList, History
from .data import INFINITE, Dataset
from .errors import NonFiniteLossError, NonNumericError

__all__ = ["fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch",
           "class_weight_to_sample_weights", "compute_loss"]


# ----------------------------------------------------------------------------- data checks
def as_array(a: Any, what: str, where: str) -> np.ndarray:
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


def _structured(model: Any, x: Any) -> bool:
    return isinstance(x, dict) or (isinstance(x, (list, tuple))
                                   and bool(getattr(model, "multi_input", False)))


def as_x(model: Any, x: Any, where: str) -> Any:
    """x as an array (or a structure of arrays, see the module docstring).  A list of arrays
    of 2 or more dimensions for a model with one input is an error naming it (stacked, it
    would pass for one array with a batch axis of len(list)); 1-D rows stack into a batch."""
    if isinstance(x, dict):
        return {k: as_array(v, f"x[{k!r}]", where) for k, v in x.items()}
    if _structured(model, x):
        return tuple(as_array(v, f"x[{i}]", where) for i, v in enumerate(x))
    if isinstance(x, (list, tuple)) and x and all(
            isinstance(v, (np.ndarray, ag.Tensor)) and v.ndim >= 2 for v in x):
        raise ag.InvalidValueError(
            f"{where}: x is a {type(x).__name__} of {len(x)} arrays (shapes "
            f"{', '.join(str(tuple(v.shape)) for v in x)}), but the model takes one input; "
            f"pass one array, or build a model with {len(x)} inputs (nn.Model([nn.Input(...), "
            f"...], outputs); a subclassed model that takes a list sets multi_input = True)")
    return as_array(x, "x", where)


def as_y(model: Any, y: Any, where: str) -> Any:
    """y as an array, or, for a model with several outputs (``multi_output``), a dict keyed
    by output name or a tuple in output order (see ``nn.functional``)."""
    if isinstance(y, dict):
        return {k: as_array(v, f"y[{k!r}]", where) for k, v in y.items()}
    if isinstance(y, (list, tuple)) and getattr(model, "multi_output", False):
        return tuple(as_array(v, f"y[{i}]", where) for i, v in enumerate(y))
    return as_array(y, "y", where)


def _n(x: Any) -> int:
    if isinstance(x, dict):
        x = next(iter(x.values()))
    elif isinstance(x, tuple):
        x = x[0]
    return len(x)


def _take(x: Any, idx: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: v[idx] for k, v in x.items()}
    if isinstance(x, tuple):
        return tuple(v[idx] for v in x)
    return x[idx]


def _check_lengths(x: Any, y: Any, sw: Any, where: str) -> None:
    n = _n(x)
    if isinstance(x, (dict, tuple)):
        lens = [len(v) for v in (x.values() if isinstance(x, dict) else x)]
        if len(set(lens)) > 1:
            raise ag.ShapeError(f"{where}: the inputs hold different numbers of samples {lens}")
    if isinstance(x, np.ndarray) and x.ndim < 2:
        raise ag.ShapeError(_batch_axis_message(x, where))
    if isinstance(y, (dict, tuple)):
        lens = [len(v) for v in (y.values() if isinstance(y, dict) else y)]
        if any(k != n for k in lens):
            raise ag.ShapeError(f"{where}: x and y hold different numbers of samples ({n} and "
                                f"{lens} per output)")
    elif y is not None and len(y) != n:
        raise ag.ShapeError(f"{where}: x and y hold different numbers of samples ({n} and "
                            f"{len(y)})")
    if sw is not None and len(sw) != n:
        raise ag.ShapeError(f"{where}: sample_weight holds {len(sw)} weights for {n} samples")
    if n == 0:
        raise ag.InvalidValueError(f"{where}: no samples")


def _batch_axis_message(x: np.ndarray, where: str, model: Any = None) -> str:
    """What to say for x without a batch axis: the model takes a batch, and how to add it."""
    known = getattr(model, "_known_input_shape", None)
    shape = known() if callable(known) else None
    inputs = getattr(model, "inputs", None)
    if shape is None and isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        shape = getattr(inputs[0], "shape", None)           # a functional model's Input
    want = f"({', '.join(['samples'] + [str(d) for d in shape[1:]])})" if shape else \
        "(samples, features...)"
    one_feature = shape is None or tuple(shape[1:]) in ((1,), (None,))
    return (f"{where}: the model expects a batch, shape {want}, got a {x.ndim}-D array of "
            f"shape {x.shape}; for one sample add the batch axis: x[None, :] or "
            f"x.reshape(1, -1)" + (f"; for {len(x) if x.ndim else 'n'} samples of one "
                                   f"feature: x.reshape(-1, 1)" if one_feature else ""))


def _check_int(name: str, v: Any, low: int) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
        raise ag.InvalidValueError(f"{name} must be an int >= {low}, got {v!r}")
    return int(v)


def verbosity(v: Any) -> int:
    if v == "auto":
        return 1
    if v not in (0, 1, 2):
        raise ag.InvalidValueError(f"verbose must be 0, 1, 2 or 'auto', got {v!r}")
    return int(v)


def class_weight_to_sample_weights(y: Any, class_weight: dict) -> np.ndarray:
    """Keras's mapping of ``class_weight`` to per-sample weights: the class of a sample is its
    integer label ((N,) or (N, 1) labels, rounded: 0/1 targets of a binary model), or the
    argmax of a one-hot / probability row ((N, C), C > 1); its weight is
    ``class_weight.get(class, 1.0)``."""
    if not isinstance(class_weight, dict):
        raise ag.ArgumentTypeError(f"class_weight must be a dict {{class: weight}}, got "
                                   f"{type(class_weight).__name__}")
    y = as_array(y, "y", "class_weight")
    if y.ndim > 2:
        raise ag.ShapeError(f"class_weight needs targets of shape (N,), (N, 1) or (N, C), got "
                            f"{y.shape}")
    if y.ndim == 2:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else y[:, 0]
    classes = np.round(y).astype(np.int64)
    cw = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([cw.get(int(c), 1.0) for c in classes], dtype=np.float64)


def _merge_weights(y: Any, sw: Any, class_weight: Optional[dict]) -> Optional[np.ndarray]:
    """sample_weight times the class weights (given both, they multiply, as in Keras 2)."""
    if sw is not None:
        sw = as_array(sw, "sample_weight", "fit")
    if class_weight is None:
        return sw
    if isinstance(y, (dict, tuple)):
        raise ag.InvalidValueError("fit: class_weight needs a single output's targets; for a "
                                   "model with several outputs pass sample_weight")
    cw = class_weight_to_sample_weights(y, class_weight)
    if sw is None:
        return cw
    if len(sw) != len(cw):
        raise ag.ShapeError(f"fit: sample_weight holds {len(sw)} weights for {len(cw)} samples")
    return sw * cw.reshape((-1,) + (1,) * (sw.ndim - 1))


# ----------------------------------------------------------------------------- sources
def _is_stream(x: Any) -> bool:
    """A Dataset, generator or other iterable of batches (not array data)."""
    if isinstance(x, Dataset):
        return True
    if isinstance(x, (np.ndarray, ag.Tensor, list, tuple, dict, str, bytes)) or x is None:
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def _unpack(el: Any, where: str, need_y: bool = True) -> tuple:
    if isinstance(el, tuple) and len(el) in (2, 3):
        return el if len(el) == 3 else (el[0], el[1], None)
    if isinstance(el, list) and len(el) in (2, 3):
        return tuple(el) if len(el) == 3 else (el[0], el[1], None)
    if not need_y:
        return (el[0] if isinstance(el, tuple) and len(el) == 1 else el), None, None
    raise ag.InvalidValueError(f"{where}: each element of the data must be (x, y) or (x, y, "
                               f"sample_weight), got {type(el).__name__}"
                               f"{' of length ' + str(len(el)) if hasattr(el, '__len__') else ''}")


class Batches:
    """Batches ``(x, y, sample_weight)`` of one source, epoch after epoch.

    ``steps`` : batches per epoch (None when unknown: one pass of an iterable)."""

    def __init__(self, model: Any, x: Any, y: Any = None, sample_weight: Any = None,
                 batch_size: Optional[int] = None, shuffle: Any = False,
                 steps: Optional[int] = None, class_weight: Optional[dict] = None,
                 epochs: int = 1, where: str = "fit", need_y: bool = True) -> None:
        self.where, self.need_y, self.model = where, need_y, model
        self.class_weight = class_weight
        self.steps_given = steps
        self.stream = _is_stream(x)
        self._first: Optional[tuple] = None
        self._it: Optional[Iterator] = None
        if self.stream:
            if y is not None:
                raise ag.InvalidValueError(f"{where}: y must be None when x is a dataset or "
                                           f"generator (it yields (x, y) itself)")
            if sample_weight is not None:
                raise ag.InvalidValueError(f"{where}: sample_weight must be None when x is a "
                                           f"dataset or generator; yield (x, y, sample_weight)")
            if batch_size is not None:
                raise ag.InvalidValueError(f"{where}: batch_size must be None when x is a "
                                           f"dataset or generator (it yields whole batches)")
            self.source = x
            self.once = not isinstance(x, Dataset) and iter(x) is x
            card = x.cardinality() if isinstance(x, Dataset) else None
            if card == INFINITE and steps is None:
                raise ag.InvalidValueError(
                    f"{where}: the dataset is infinite (repeat() without a count), so an epoch "
                    f"never ends; pass steps_per_epoch= (steps= for evaluate/predict)")
            if self.once and steps is None and epochs > 1:
                raise ag.InvalidValueError(
                    f"{where}: a generator or iterator can be read only once, so {epochs} "
                    f"epochs need steps_per_epoch= (and a generator that loops forever); or "
                    f"pass an nn.data.Dataset or another re-iterable, read afresh each epoch")
            self.steps = steps if steps is not None else (card if card is not None and card >= 0
                                                          else None)
        else:
            self.x = as_x(model, x, where)
            self.y = None if y is None else as_y(model, y, where)
            if need_y and self.y is None:
                raise ag.InvalidValueError(f"{where}: y is missing (give y, or x as a dataset or "
                                           f"generator of (x, y) pairs)")
            self.sw = _merge_weights(self.y, sample_weight, class_weight) \
                if self.y is not None else None
            _check_lengths(self.x, self.y, self.sw, where)
            self.batch_size = 32 if batch_size is None else _check_int(f"{where}: batch_size",
                                                                        batch_size, 1)
            self.shuffle = shuffle
            self.n = _n(self.x)
            per_pass = -(-self.n // self.batch_size)
            self.steps = per_pass if steps is None else steps

    # ------------------------------------------------------------------ arrays
    def _array_pass(self) -> Iterator[tuple]:
        n, bs = self.n, self.batch_size
        if self.shuffle == "batch":
            starts = _random.get_rng().permutation(-(-n // bs)) * bs
            for s in starts:
                sl = slice(int(s), int(s) + bs)
                yield _take(self.x, sl), _take(self.y, sl), _take(self.sw, sl)
            return
        order = _random.get_rng().permutation(n) if self.shuffle else None
        for b in range(-(-n // bs)):
            sl = order[b * bs:(b + 1) * bs] if order is not None else slice(b * bs, (b + 1) * bs)
            yield _take(self.x, sl), _take(self.y, sl), _take(self.sw, sl)

    # ------------------------------------------------------------------ streams
    def _convert(self, el: Any) -> tuple:
        xb, yb, swb = _unpack(el, self.where, self.need_y)
        xb = as_x(self.model, xb, self.where)
        yb = None if yb is None else as_y(self.model, yb, self.where)
        if self.class_weight is not None and yb is not None:
            swb = _merge_weights(yb, swb, self.class_weight)
        elif swb is not None:
            swb = as_array(swb, "sample_weight", self.where)
        _check_lengths(xb, yb, swb, self.where)
        return xb, yb, swb

    def _stream_pass(self) -> Iterator[tuple]:
        for el in self.source:
            yield self._convert(el)

    def first(self) -> tuple:
        """The first batch (kept, and given again by the first epoch)."""
        if not self.stream:
            bs = self.batch_size
            return _take(self.x, slice(0, bs)), _take(self.y, slice(0, bs)), \
                _take(self.sw, slice(0, bs))
        if self._first is None:
            it = self._next_iter()
            try:
                self._first = next(it)
            except StopIteration:
                raise ag.InvalidValueError(f"{self.where}: the data yielded no batches") from None
            self._it = it
        return self._first

    def _next_iter(self) -> Iterator[tuple]:
        return self._stream_pass() if self.stream else self._array_pass()

    def epoch(self) -> Iterator[tuple]:
        """The batches of one epoch: ``steps`` of them when steps were given (the reading
        goes on from where the last epoch stopped, restarting a re-iterable source when it
        ends), else one pass."""
        if self.steps_given is None:
            if self._first is not None:
                first, it = self._first, self._it
                self._first = self._it = None
                yield first
                yield from it
                return
            yield from self._next_iter()
            return
        done = 0
        fresh = False
        while done < self.steps_given:
            if self._it is None:
                self._it, fresh = self._next_iter(), True
            if self._first is not None:
                el, self._first = self._first, None
            else:
                try:
                    el = next(self._it)
                except StopIteration:
                    self._it = None
                    if (self.stream and self.once) or fresh:
                        raise ag.InvalidValueError(
                            f"{self.where}: the data ran out after {done} of "
                            f"{self.steps_given} steps of this epoch; a generator must loop "
                            f"forever (while True: ...) to feed steps_per_epoch steps per epoch, "
                            f"or lower steps_per_epoch") from None
                    continue
            fresh = False
            done += 1
            yield el


# ----------------------------------------------------------------------------- steps
def compute_loss(model: Any, yb: Any, out: ag.Tensor, swb: Any,
                 plan: Optional["Plan"] = None) -> ag.Tensor:
    """The compiled loss on the batch (weighted when ``swb`` is given) plus the model's
    regularization penalties (``model.losses``), as Keras reports the training loss.  A plain
    function may return the batch mean, or per-sample losses (then reduced as Keras does:
    the weighted sum over their number)."""
    loss_fn = model.loss
    if hasattr(loss_fn, "values") and hasattr(loss_fn, "reduction"):
        loss = loss_fn(yb, out) if swb is None else loss_fn(yb, out, sample_weight=swb)
        if loss.size != 1:
            from .losses import reduce_weighted
            loss = reduce_weighted(loss, None, "sum_over_batch_size")   # reduction='none'
    else:
        loss = loss_fn(yb, out)
        if not isinstance(loss, ag.Tensor):
            raise ag.InvalidValueError(f"the loss must return a Tensor, got "
                                       f"{type(loss).__name__}")
        if swb is not None and loss.size == 1:
            raise ag.InvalidValueError(
                "sample_weight/class_weight need a loss that can weight each sample: an "
                "nn.losses.Loss, or a function returning the per-sample losses (shape (N,)); "
                "this loss function returned a scalar")
        n = out.shape[0] if getattr(out, "ndim", 0) else None
        if loss.size != 1 and (loss.ndim == 0 or loss.shape[0] != n):
            raise ag.InvalidValueError(
                f"the loss must return a scalar (the batch mean) or per-sample losses of shape "
                f"({n}, ...), got shape {loss.shape}")
        if loss.size != 1 or swb is not None:
            from .losses import reduce_weighted
            loss = reduce_weighted(loss, swb, "sum_over_batch_size")
    if (plan.penalties if plan is not None else _has_penalties(model)):
        for p in model.losses:
            loss = loss + p
    return loss


class Plan:
    """What a step needs to know about the model, found once per fit (walking the modules
    costs as much as a small step): whether it has penalties, which weights are constrained."""

    __slots__ = ("penalties", "constrained")

    def __init__(self, model: Any) -> None:
        from .regularizers import constrained, has_penalties
        modules = list(model.named_modules())  # one walk for both
        self.penalties = has_penalties(model, modules)
        self.constrained = constrained(model, modules)


def _has_penalties(model: Any) -> bool:
    from .regularizers import has_penalties
    return has_penalties(model)


def train_step(model: Any, xb: Any, yb: Any, swb: Any, opt: Any,
               plan: Optional[Plan] = None) -> tuple:
    """(loss, output data) after one step; (non-finite loss, None or output) and no step
    applied when the loss or a gradient is NaN/inf."""
    for p in opt.params:
        p.grad = None
    out = model(xb)
    if plan is None:            # (train_on_batch) one walk of the modules, after the forward
        plan = Plan(model)      # (which may build layers), for the penalties and constraints
    loss = compute_loss(model, yb, out, swb, plan)
    value = float(loss.data)
    if not math.isfinite(value):
        return value, _out_data(out)
    if getattr(model, "_unbound", True) or not opt.param_groups:
        opt.add_params(model.parameters())     # layers built by this forward
        model._unbound = False
    loss.backward()
    if not apply_update(model, opt, plan):
        return float("nan"), None
    return value, _out_data(out)


_vdot = np.vdot


def _finite(g: Any) -> bool:
    """Whether every element of a gradient is finite.  For a float array, ``vdot(g, g)`` (one
    BLAS call, no temporary, no floating-point warning) is finite only if every element is
    (an inf or NaN makes it inf or NaN): about a third of the cost of ``np.isfinite(g).all()``
    on a small array.  A sum that overflowed is checked exactly."""
    if type(g) is np.ndarray and g.dtype.kind == "f" and math.isfinite(_vdot(g, g)):
        return True
    return bool(np.isfinite(g).all())


def apply_update(model: Any, opt: Any, plan: Optional[Plan] = None,
                 step: Optional[Callable] = None) -> bool:
    """The update half of a train step, shared by the eager and the compiled step: False
    (nothing applied) when a gradient is NaN/inf, else ``opt.step()`` (or ``step(opt)``,
    the compiled step's equivalent) and the constraints."""
    for group in opt.param_groups:
        for p in group["params"]:
            g = p.grad
            if g is not None and not _finite(g):
                return False
    if step is None:
        opt.step()
    else:
        step(opt)
    pairs = plan.constrained if plan is not None else None
    if pairs is None or pairs:
        from .regularizers import apply_constraints
        apply_constraints(model, pairs)
    return True


def _stepper(model: Any, distributed: bool = False) -> Any:
    """The train step to use: the eager one, or the compiled one (``jit_compile``)."""
    c = getattr(model, "_jit", None)
    if c is None:
        return train_step
    if distributed:     # DataParallel.train_step runs the steps (compiled there)
        return train_step

    def step(m, xb, yb, swb, opt, plan=None):
        return c.train_step(xb, yb, swb, opt, plan, eager=train_step)
    return step


def _metric_logs(model: Any) -> list:
    return ["loss"] + [_metrics.metric_name(m) for m in model.metrics]


def _probe(model: Any, batches: Batches, where: str) -> None:
    """Check that the data fits the model before any step (builds lazy layers)."""
    xb, yb, swb = batches.first()
    if batches.stream or isinstance(xb, (dict, tuple)):
        was_training = getattr(model, "training", True)
        try:
            model.eval()            # a check, not a step: no dropout draw, no moving-stat update
            with ag.no_grad():
                out = model(xb)
                value = compute_loss(model, yb, out, swb)
            if not isinstance(value, ag.Tensor) or value.size != 1:
                raise ag.InvalidValueError(f"{where}: the loss must return a scalar Tensor, got "
                                           f"{type(value).__name__}")
        except ag.AutogradError as e:
            from .model import _prefixed
            raise _prefixed(e, where) from None
        finally:
            model.train(was_training)
    else:
        model._probe(batches.x, batches.y, batches.batch_size, where)


# ----------------------------------------------------------------------------- fit
FIT_ARGS = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split",
            "validation_data", "shuffle", "class_weight", "sample_weight", "initial_epoch",
            "steps_per_epoch", "validation_steps", "validation_batch_size", "validation_freq",
            "distributed")


def _validation(model: Any, validation_data: Any, batch_size: Optional[int],
                steps: Optional[int]) -> Batches:
    where = "fit (validation_data)"
    if _is_stream(validation_data):
        return Batches(model, validation_data, steps=steps, where=where)
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ag.InvalidValueError("fit: validation_data must be (x_val, y_val), (x_val, y_val, "
                                   "val_sample_weight), a dataset or a generator")
    vsw = validation_data[2] if len(validation_data) == 3 else None
    return Batches(model, validation_data[0], validation_data[1], vsw, batch_size, steps=steps,
                   where=where)


def _do_validate(freq: Any, epoch: int) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq


def fit(model: Any, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
        epochs: int = 1, verbose: Any = "auto", callbacks: Any = None,
        validation_split: float = 0.0, validation_data: Any = None, shuffle: Any = True,
        class_weight: Optional[dict] = None, sample_weight: Any = None, initial_epoch: int = 0,
        steps_per_epoch: Optional[int] = None, validation_steps: Optional[int] = None,
        validation_batch_size: Optional[int] = None, validation_freq: Any = 1,
        distributed: bool = False) -> History:
    """See ``Model.fit``."""
    args = (model, x, y, batch_size, epochs, verbose, callbacks, validation_split,
            validation_data, shuffle, class_weight, sample_weight, initial_epoch,
            steps_per_epoch, validation_steps, validation_batch_size, validation_freq,
            distributed)
    if distributed:  # distributed hook: a rank that stops taking part ends every rank's fit
        from . import distributed as _distributed
        return _distributed.guarded_fit(_fit, *args)
    return _fit(*args)


def _fit(model: Any, x: Any, y: Any, batch_size: Optional[int], epochs: int, verbose: Any,
         callbacks: Any, validation_split: float, validation_data: Any, shuffle: Any,
         class_weight: Optional[dict], sample_weight: Any, initial_epoch: int,
         steps_per_epoch: Optional[int], validation_steps: Optional[int],
         validation_batch_size: Optional[int], validation_freq: Any,
         distributed: bool) -> History:
    from . import distributed as _distributed
    model._require_compiled("fit")
    where = "fit"
    verbose = verbosity(verbose)
    if distributed:  # distributed hook: needs mpi4py; only rank 0 shows progress
        verbose = _distributed.begin_fit(verbose)
    epochs = _check_int("fit: epochs", epochs, 0)
    initial_epoch = _check_int("fit: initial_epoch", initial_epoch, 0)
    if steps_per_epoch is not None:
        steps_per_epoch = _check_int("fit: steps_per_epoch", steps_per_epoch, 1)
    if validation_steps is not None:
        validation_steps = _check_int("fit: validation_steps", validation_steps, 1)
    if isinstance(validation_freq, bool) or not (
            (isinstance(validation_freq, int) and validation_freq >= 1)
            or (isinstance(validation_freq, (list, tuple, set, range))
                and all(isinstance(e, int) for e in validation_freq))):
        raise ag.InvalidValueError(f"fit: validation_freq must be an int >= 1 or a list of "
                                   f"epochs (from 1), got {validation_freq!r}")
    if shuffle not in (True, False, "batch"):
        raise ag.InvalidValueError(f"fit: shuffle must be True, False or 'batch', got {shuffle!r}")
    if not (isinstance(validation_split, (int, float)) and 0.0 <= validation_split < 1.0):
        raise ag.InvalidValueError(f"fit: validation_split must be in [0, 1), got "
                                   f"{validation_split!r}")
    if x is None:
        raise ag.InvalidValueError("fit: x is missing")
    stream = _is_stream(x)
    if validation_split and stream:
        raise ag.InvalidValueError("fit: validation_split needs array data; with a dataset or "
                                   "generator give validation_data")
    if validation_split and validation_data is None:
        xa = as_x(model, x, where)
        ya = as_y(model, y, where) if y is not None else None
        swa = None if sample_weight is None else as_array(sample_weight, "sample_weight", where)
        n = _n(xa)
        split_at = int(math.floor(n * (1.0 - validation_split)))
        if split_at == 0 or split_at == n:
            raise ag.InvalidValueError(f"fit: validation_split={validation_split} of {n} samples "
                                       f"leaves no training or no validation samples")
        tr, va = slice(0, split_at), slice(split_at, None)
        x, validation_data = _take(xa, tr), (_take(xa, va), _take(ya, va)) + \
            ((_take(swa, va),) if swa is not None else ())
        y, sample_weight = _take(ya, tr), _take(swa, tr)
    train = Batches(model, x, y, sample_weight, batch_size, shuffle, steps_per_epoch,
                    class_weight, epochs - initial_epoch, where)
    val = None
    if validation_data is not None:
        val = _validation(model, validation_data,
                          validation_batch_size or (train.batch_size if not stream else None),
                          validation_steps)
    _probe(model, train, where)
    if val is not None:
        _probe(model, val, "fit (validation data)")
    opt = model.optimizer
    opt.add_params(model.parameters())          # layers built lazily by the probe
    model._unbound = False
    plan = Plan(model)
    dp = None
    if distributed:
        if stream or train.sw is not None or isinstance(train.x, (dict, tuple)) \
                or isinstance(train.y, (dict, tuple)) \
                or (val is not None and (val.stream or val.sw is not None)) \
                or steps_per_epoch is not None or plan.penalties:
            raise ag.InvalidValueError(
                "fit(distributed=True) takes plain arrays x, y (and validation arrays): no "
                "datasets or generators, sample_weight, class_weight, steps_per_epoch or "
                "regularizers")
        # distributed hook: ranks agree, rank 0's weights broadcast; see nn/distributed.py
        dp = _distributed.DataParallel(model, train.x, train.y, train.batch_size, epochs,
                                       shuffle, None if val is None else val.x,
                                       None if val is None else val.y,
                                       getattr(model, "_jit", None))

    step = _stepper(model, distributed)
    cj = getattr(model, "_jit", None) if dp is None else None
    names = _metric_logs(model)
    history = History()
    cbs = CallbackList(callbacks, model=model, add_history=history,
                       add_progbar=verbose != 0, verbose=verbose, epochs=epochs,
                       steps=train.steps)
    cbs.set_params({"epochs": epochs, "steps": train.steps, "verbose": verbose,
                    "batch_size": None if stream else train.batch_size,
                    "samples": None if stream else train.n,
                    "metrics": names + (["val_" + k for k in names] if val is not None else [])})
    was_training = getattr(model, "training", True)
    model.train()
    model.stop_training = False
    logs: dict = {}
    model._initial_epoch = initial_epoch
    try:
        cbs.on_train_begin({})
        # a callback (BackupAndRestore) may move the start: read it after on_train_begin
        if dp is not None:                      # distributed hook: every rank starts there
            dp.agree_start(model._initial_epoch)
        for epoch in range(model._initial_epoch, epochs):
            model._epoch = epoch
            cbs.on_epoch_begin(epoch, {})
            sums = dict.fromkeys(names, 0.0)
            seen = 0
            if dp is not None:                  # distributed hook: rank 0's order everywhere
                it = _dp_batches(train, dp, shuffle)
            else:
                it = train.epoch()
            for b, (xb, yb, swb) in enumerate(it):
                if dp is not None:
                    dp.at = (epoch + 1, b + 1)
                cbs.on_train_batch_begin(b, {})
                loss_value, out = step(model, xb, yb, swb, opt, plan) if dp is None \
                    else dp.train_step(xb, yb)  # distributed hook: shard, Allreduce, step
                if not math.isfinite(loss_value):
                    cbs.on_train_batch_end(b, {"loss": loss_value})
                    if model.stop_training if dp is None else dp.agree_stop(model.stop_training):
                        break
                    if dp is not None:          # raised on every rank at this batch alike
                        _distributed.collective_error()
                    bad = _nonfinite_data(xb, yb, swb)
                    if bad:
                        raise NonFiniteLossError(
                            f"fit: the {'loss' if out is not None else 'gradient'} became "
                            f"{'non-finite' if out is None else loss_value} at epoch "
                            f"{epoch + 1}, batch {b + 1} because the data holds NaN or inf: "
                            f"{bad}; the step was "
                            f"not applied; clean the data first (np.isfinite(x).all(), "
                            f"np.nan_to_num, or drop those rows)")
                    raise NonFiniteLossError(
                        f"fit: the {'loss' if out is not None else 'gradient'} became "
                        f"{'non-finite' if out is None else loss_value} at epoch {epoch + 1}, "
                        f"batch {b + 1}; training stopped and that step was not applied, so "
                        f"the weights are those of the last finite step (try a lower "
                        f"learning rate, or a linear last layer with from_logits=True)")
                bs = _n(xb)
                seen += bs
                sums["loss"] += loss_value * bs
                # jit_compile=True: the values the compiled step computed (None: eager)
                mv = cj.mvals if cj is not None else None
                for i, m in enumerate(model.metrics):
                    v = mv[i] if mv is not None and mv[i] is not None else \
                        float(m(yb, out)) if dp is None else dp.metric(m)
                    sums[_metrics.metric_name(m)] += v * bs
                logs = {k: v / seen for k, v in sums.items()}
                cbs.on_train_batch_end(b, dict(logs))
                # distributed hook: a stop on any rank stops every rank after this step
                if model.stop_training if dp is None else dp.agree_stop(model.stop_training):
                    break
            if seen == 0:
                break
            logs = {k: v / seen for k, v in sums.items()}
            if val is not None and _do_validate(validation_freq, epoch):
                if dp is None:
                    cbs.on_test_begin({})
                    vlogs = _evaluate_batches(model, val, cbs, plan)
                    cbs.on_test_end(dict(vlogs))
                else:                           # distributed hook: sharded
                    vlogs = dp.evaluate(val.x, val.y, val.batch_size)
                logs.update({"val_" + k: v for k, v in vlogs.items()})
                model.train()
            cbs.on_epoch_end(epoch, logs)
            if model.stop_training if dp is None else dp.agree_stop(model.stop_training):
                break
        cbs.on_train_end(dict(logs))
        if dp is not None:                      # distributed hook: rank 0's final weights
            dp.finish()
    finally:
        model.train(was_training)
    model.history = history
    return history


def _nonfinite_data(xb: Any, yb: Any, swb: Any) -> str:
    """Where this batch's inputs, targets or sample weights hold NaN or inf ('' if nowhere):
    so a NaN loss that comes from the data says so (only looked at once the loss failed)."""
    found = []
    for what, data in (("the inputs x", xb), ("the targets y", yb),
                       ("the sample weights", swb)):
        items = data.items() if isinstance(data, dict) else enumerate(data) \
            if isinstance(data, tuple) else [(None, data)]
        for k, a in items:
            a = None if a is None else np.asarray(a)
            if a is None or a.dtype.kind != "f":
                continue
            bad = ~np.isfinite(a)
            n = int(bad.sum())
            if n:
                kind = "NaN" if np.isnan(a).any() else "inf"
                first = ", ".join(str(int(i)) for i in np.argwhere(bad)[0])
                found.append(f"{what}{'' if k is None else f'[{k!r}]'} hold {kind} ({n} "
                             f"value{'s' if n > 1 else ''} in this batch, the first at "
                             f"[{first}] of the batch)")
    return "; ".join(found)


def _dp_batches(train: Batches, dp: Any, shuffle: Any) -> Iterator[tuple]:
    n, bs = train.n, train.batch_size
    order = _random.get_rng().permutation(n) if shuffle else None
    if order is not None:
        order = dp.same_order(order)
    for b in range(-(-n // bs)):
        sl = order[b * bs:(b + 1) * bs] if order is not None else slice(b * bs, (b + 1) * bs)
        yield train.x[sl], train.y[sl], None


# ----------------------------------------------------------------------------- evaluate
def _evaluate_batches(model: Any, batches: Batches, cbs: Optional[CallbackList],
                      plan: Optional[Plan] = None) -> dict:
    plan = plan or Plan(model)
    names = _metric_logs(model)
    sums = dict.fromkeys(names, 0.0)
    seen = 0
    model.eval()
    c = getattr(model, "_jit", None)
    if c is not None and plan.penalties:    # activity penalties need the forward run here
        c = None
    with ag.no_grad():
        for b, (xb, yb, swb) in enumerate(batches.epoch()):
            if cbs is not None:
                cbs.on_test_batch_begin(b, {})
            r = c.test_step(xb, yb, plan) if c is not None and swb is None else None
            if r is not None:           # jit_compile=True: forward, loss and metrics compiled
                value, out, mv = r
            else:
                out = c.forward(xb) if c is not None and isinstance(xb, np.ndarray) \
                    else model(xb)
                value = float(compute_loss(model, yb, out, swb, plan).data)
                out, mv = _out_data(out), None
            bs = _n(xb)
            seen += bs
            sums["loss"] += value * bs
            for i, m in enumerate(model.metrics):
                v = mv[i] if mv is not None and mv[i] is not None else float(m(yb, out))
                sums[_metrics.metric_name(m)] += v * bs
            if cbs is not None:
                cbs.on_test_batch_end(b, {k: v / seen for k, v in sums.items()})
    return {k: v / max(seen, 1) for k, v in sums.items()}


def evaluate(model: Any, x: Any = None, y: Any = None, batch_size: Optional[int] = None,
             verbose: Any = "auto", sample_weight: Any = None, steps: Optional[int] = None,
             callbacks: Any = None, return_dict: bool = False) -> Any:
    """See ``Model.evaluate``."""
    model._require_compiled("evaluate")
    verbose = verbosity(verbose)
    if steps is not None:
        steps = _check_int("evaluate: steps", steps, 1)
    if x is None:
        raise ag.InvalidValueError("evaluate: x is missing")
    batches = Batches(model, x, y, sample_weight, batch_size, False, steps, None, 1, "evaluate")
    _probe(model, batches, "evaluate")
    cbs = CallbackList(callbacks, model=model, add_progbar=verbose != 0, verbose=verbose,
                       steps=batches.steps, mode="test")
    cbs.set_params({"verbose": verbose, "steps": batches.steps, "epochs": 1})
    was_training = getattr(model, "training", True)
    try:
        cbs.on_test_begin({})
        logs = _evaluate_batches(model, batches, cbs)
        cbs.on_test_end(dict(logs))
    finally:
        model.train(was_training)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


# ----------------------------------------------------------------------------- predict
def _concat(outs: list) -> Any:
    if not outs:
        return np.zeros((0,))
    first = outs[0]
    if isinstance(first, dict):
        return {k: np.concatenate([o[k] for o in outs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(np.concatenate([o[i] for o in outs]) for i in range(len(first)))
    return np.concatenate(outs, axis=0)


def _out_data(out: Any) -> Any:
    if isinstance(out, ag.Tensor):
        return np.asarray(out.data)
    if isinstance(out, dict):
        return {k: _out_data(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return type(out)(_out_data(v) for v in out)
    return np.asarray(out)


def predict(model: Any, x: Any, batch_size: Optional[int] = None, verbose: Any = "auto",
            steps: Optional[int] = None, callbacks: Any = None) -> Any:
    """See ``Model.predict``."""
    verbose = verbosity(verbose)
    if steps is not None:
        steps = _check_int("predict: steps", steps, 1)
    if not _is_stream(x):
        x = as_x(model, x, "predict")
        _check_batch_axis(model, x, "predict")
        if _n(x) == 0:
            return _predict_no_rows(model, x)
    batches = Batches(model, x, None, None, batch_size, False, steps, None, 1, "predict",
                      need_y=False)
    cbs = CallbackList(callbacks, model=model, add_progbar=verbose != 0, verbose=verbose,
                       steps=batches.steps, mode="predict")
    cbs.set_params({"verbose": verbose, "steps": batches.steps, "epochs": 1})
    was_training = getattr(model, "training", True)
    outs = []
    model.eval()
    try:
        cbs.on_predict_begin({})
        with ag.no_grad():
            for b, (xb, _, _) in enumerate(batches.epoch()):
                cbs.on_predict_batch_begin(b, {})
                out = _out_data(_forward(model, xb, "predict", getattr(model, "_jit", None)))
                outs.append(out)
                cbs.on_predict_batch_end(b, {"outputs": out})
        cbs.on_predict_end({})
    finally:
        model.train(was_training)
    if not outs:                    # a dataset or generator that yielded no batch
        return _predict_no_rows(model, _no_rows_like_input(model))
    return _concat(outs)


def _check_batch_axis(model: Any, x: Any, where: str) -> None:
    for a in (x.values() if isinstance(x, dict) else x if isinstance(x, tuple) else (x,)):
        if a.ndim < 2:
            raise ag.ShapeError(_batch_axis_message(a, where, model))


def _forward(model: Any, xb: Any, where: str, compiled: Any = None) -> Any:
    """model(xb), a library error from it prefixed with ``where`` (the layer's message names
    the width expected and the one got); through the compiled predict step (jit_compile)
    when ``compiled`` is given and xb an array."""
    try:
        if compiled is not None and isinstance(xb, np.ndarray):
            return compiled.predict(xb)
        return model(xb)
    except ag.AutogradError as e:
        from .model import _prefixed
        raise _prefixed(e, where) from None


def _no_rows_like_input(model: Any) -> Any:
    """Zero rows of the model's known input shape and dtype (for predict on data that yielded
    no batch), or a clear error when the model has not seen its input shape yet."""
    known = getattr(model, "_known_input_shape", None)
    shape = known() if callable(known) else None
    inputs = getattr(model, "inputs", None)
    if isinstance(inputs, (list, tuple)) and inputs and shape is None:
        arrays = [np.zeros((0,) + tuple(t.shape[1:]), t.dtype) for t in inputs]
        return arrays[0] if len(arrays) == 1 else tuple(arrays)
    if shape is None or any(d is None for d in shape[1:]):
        raise ag.InvalidValueError("predict: the data yielded no batch, and the model's input "
                                   "shape is not known yet (build or call it first), so the "
                                   "shape of an empty prediction is unknown")
    from .model import _first_dtype
    return np.zeros((0,) + tuple(shape[1:]), _first_dtype(model))


def _predict_no_rows(model: Any, x: Any) -> Any:
    """predict of zero samples: what a prediction of one sample gives, with no rows (shape
    (0, outputs) in the dtype the model outputs, per output for several), found by running
    the model on one row of zeros, so a wrong width fails as it would with rows."""
    one = {k: np.zeros((1,) + v.shape[1:], v.dtype) for k, v in x.items()} \
        if isinstance(x, dict) else tuple(np.zeros((1,) + v.shape[1:], v.dtype) for v in x) \
        if isinstance(x, tuple) else np.zeros((1,) + x.shape[1:], x.dtype)
    was_training = getattr(model, "training", True)
    model.eval()
    try:
        with ag.no_grad(), np.errstate(all="ignore"):
            out = _out_data(model(one))
    except ag.AutogradError as e:
        shapes = {k: v.shape for k, v in x.items()} if isinstance(x, dict) else \
            [v.shape for v in x] if isinstance(x, tuple) else x.shape
        raise type(e)(f"predict: x of shape {shapes} does not fit the model: {e} (one row of "
                      f"zeros stood in for the zero rows)") from None
    finally:
        model.train(was_training)
    if isinstance(out, dict):
        return {k: v[:0] for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return type(out)(v[:0] for v in out)
    return out[:0]


# ----------------------------------------------------------------------------- on_batch
def _batch_logs(model: Any, loss_value: float, yb: Any, out: Any, return_dict: bool,
                mv: Optional[list] = None) -> Any:
    logs = {"loss": loss_value}
    for i, m in enumerate(model.metrics):     # mv: values of a compiled step (None: eager)
        logs[_metrics.metric_name(m)] = mv[i] if mv is not None and mv[i] is not None \
            else float(m(yb, out))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def train_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None,
                   class_weight: Optional[dict] = None, return_dict: bool = False) -> Any:
    """See ``Model.train_on_batch``."""
    model._require_compiled("train_on_batch")
    c = getattr(model, "_jit", None)
    exe = None
    if c is not None and type(x) is np.ndarray and type(y) is np.ndarray \
            and sample_weight is None and class_weight is None:
        # arrays of a compiled signature: the checks below passed on its traced calls (the
        # shapes and dtypes are the signature; an ndarray is its own as_x/as_y)
        exe = c.ready(x, y, model.optimizer)
    if exe is not None:
        xb, yb, swb = x, y, None
    else:
        xb = as_x(model, x, "train_on_batch")
        yb = as_y(model, y, "train_on_batch") if y is not None else None
        if yb is None:
            raise ag.InvalidValueError("train_on_batch: y is missing")
        swb = _merge_weights(yb, sample_weight, class_weight)
        _check_lengths(xb, yb, swb, "train_on_batch")
        if c is not None and swb is None:
            exe = c.ready(xb, yb, model.optimizer)
    if c is not None:
        c.mvals = None
    if exe is not None:         # a compiled replay: no layer reads its training flag
        value, out = c.replay(exe, xb, yb)
    else:
        was_training = getattr(model, "training", True)
        model.train()
        try:
            value, out = _stepper(model)(model, xb, yb, swb, model.optimizer)
        finally:
            model.train(was_training)
    if not math.isfinite(value):
        bad = _nonfinite_data(xb, yb, swb)
        raise NonFiniteLossError(f"train_on_batch: the loss or a gradient became {value}"
                                 f"{' because the data holds NaN or inf: ' + bad if bad else ''}"
                                 f"; the step was not applied")
    return _batch_logs(model, value, yb, out, return_dict, c.mvals if c is not None else None)


def test_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None,
                  return_dict: bool = False) -> Any:
    """See ``Model.test_on_batch``."""
    model._require_compiled("test_on_batch")
    xb = as_x(model, x, "test_on_batch")
    yb = as_y(model, y, "test_on_batch") if y is not None else None
    if yb is None:
        raise ag.InvalidValueError("test_on_batch: y is missing")
    swb = None if sample_weight is None else as_array(sample_weight, "sample_weight",
                                                      "test_on_batch")
    _check_lengths(xb, yb, swb, "test_on_batch")
    was_training = getattr(model, "training", True)
    model.eval()
    c = getattr(model, "_jit", None)
    r = None
    try:
        with ag.no_grad():
            if c is not None and swb is None:   # jit_compile=True: the compiled evaluate step
                if c.plan is None:
                    c.plan = Plan(model)
                r = c.test_step(xb, yb, c.plan)
            if r is None:
                out = model(xb)
                value = float(compute_loss(model, yb, out, swb).data)
                r = value, _out_data(out), None
    finally:
        model.train(was_training)
    return _batch_logs(model, r[0], yb, r[1], return_dict, r[2])


def predict_on_batch(model: Any, x: Any) -> Any:
    """See ``Model.predict_on_batch``."""
    xb = as_x(model, x, "predict_on_batch")
    _check_batch_axis(model, xb, "predict_on_batch")
    if _n(xb) == 0:
        return _predict_no_rows(model, xb)
    was_training = getattr(model, "training", True)
    model.eval()
    try:
        with ag.no_grad():
            return _out_data(_forward(model, xb, "predict_on_batch"))
    finally:
        model.train(was_training)

