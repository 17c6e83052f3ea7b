"""Losses, called Keras-style: ``loss(y_true, y_pred)`` -> a 0-d Tensor, the mean over the batch.

``y_pred`` is the model's output (a Tensor); ``y_true`` is data (array or Tensor, no
gradient needed).  Probability inputs are clipped to [EPSILON, 1 - EPSILON] with
EPSILON = 1e-7, as Keras does, so log never sees 0; the ``from_logits=True`` paths go through
log-sum-exp (the fused ``autograd.softmax_cross_entropy`` / ``sigmoid_binary_cross_entropy``
nodes) and are exact and stable for any logits.  For speed and accuracy prefer a linear last
layer with ``from_logits=True``; a 'softmax'/'sigmoid' last layer with a probability loss is
computed exactly as written (clip, then log), never silently rewritten.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

import autograd as ag
from autograd.jit import effects as _effects
from autograd.jit.effects import host_effect

from .errors import NonNumericError
from autograd.ops.fused import _labels_below     # one reduction for the range check
from .config import Configurable

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "get", "EPSILON"]

EPSILON = 1e-7
_INT64 = np.dtype(np.int64)


def _pred(y_pred: Any) -> ag.Tensor:
    if isinstance(y_pred, ag.Tensor):
        return y_pred
    arr = np.asarray(y_pred)
    if arr.dtype.kind not in "biuf":
        raise NonNumericError(f"y_pred must be numeric, got dtype {arr.dtype}")
    return ag.Tensor(arr if arr.dtype.kind == "f" else arr.astype(np.float64))


def _true(y_true: Any, like: ag.Tensor, name: str) -> Any:
    """y_true as an array of y_pred's float dtype and shape ((N,) is accepted for (N, 1));
    a tensor stays a tensor (converted with the library's ops, cut from any graph), so a
    compiled step (``autograd.jit``) follows it."""
    if isinstance(y_true, ag.Tensor):
        return _true_tensor(y_true.detach(), like, name)
    t = np.asarray(y_true)
    if t.dtype.kind not in "biuf":
        raise NonNumericError(f"{name}: y_true must be numeric, got dtype {t.dtype}")
    t = t.astype(like.dtype, copy=False)
    if t.shape != like.shape:
        if t.size == like.size and t.ndim + 1 == like.ndim and like.shape[-1] == 1:
            t = t.reshape(like.shape)
        elif t.size == like.size and t.ndim == like.ndim + 1 and t.shape[-1] == 1:
            t = t.reshape(like.shape)
        else:
            raise ag.ShapeError(f"{name}: y_true of shape {t.shape} does not match y_pred of "
                                f"shape {like.shape}")
    return t


def _true_tensor(t: ag.Tensor, like: ag.Tensor, name: str) -> ag.Tensor:
    if t.dtype.kind not in "biuf":
        raise NonNumericError(f"{name}: y_true must be numeric, got dtype {t.dtype}")
    if t.dtype != like.dtype:
        t = ag.astype(t, like.dtype)
    if t.shape != like.shape:
        if t.size == like.size and (t.ndim + 1 == like.ndim and like.shape[-1] == 1
                                    or t.ndim == like.ndim + 1 and t.shape[-1] == 1):
            t = ag.reshape(t, like.shape)
        else:
            raise ag.ShapeError(f"{name}: y_true of shape {t.shape} does not match y_pred of "
                                f"shape {like.shape}")
    return t


REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def _mean_last(v: ag.Tensor) -> ag.Tensor:
    """Per-sample values: the mean over the last axis (elementwise for 1-d)."""
    return ag.mean(v, axis=-1) if v.ndim >= 2 else v


def _weights(sample_weight: Any, values: ag.Tensor, name: str) -> np.ndarray:
    """sample_weight as an array that broadcasts against the per-sample values: shape (N,)
    (or (N, 1), or the values' own shape); trailing axes are added."""
    w = sample_weight.data if isinstance(sample_weight, ag.Tensor) else np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise NonNumericError(f"{name}: sample_weight must be numeric, got dtype {w.dtype}")
    w = w.astype(values.dtype, copy=False)
    if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if w.ndim > values.ndim or w.shape != values.shape[:w.ndim] and w.size != 1:
        raise ag.ShapeError(f"{name}: sample_weight of shape {w.shape} does not match the "
                            f"per-sample losses of shape {values.shape}")
    return w.reshape(w.shape + (1,) * (values.ndim - w.ndim)) if w.ndim else w


def reduce_weighted(values: ag.Tensor, sample_weight: Any, reduction: str,
                    name: str = "loss") -> ag.Tensor:
    """Keras's reduction of per-sample losses: ``v = values * sample_weight``; 'none' -> v,
    'sum' -> sum(v), 'sum_over_batch_size' -> sum(v) / v.size (the number of values, not
    the sum of the weights)."""
    if sample_weight is not None:
        values = values * _weights(sample_weight, values, name)
    if reduction == "none":
        return values
    total = ag.sum(values)
    if reduction == "sum":
        return total
    return total / max(values.size, 1)


class Loss(Configurable):
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` -> a Tensor.

    reduction (Keras): 'sum_over_batch_size' (default: the sum of the weighted per-sample
    losses over their number, so the plain batch mean without weights), 'sum', or 'none'
    (the per-sample losses, shape y_pred.shape[:-1]).  sample_weight : shape-(N,) (or
    broadcastable to the per-sample losses) weights.  A subclass defines
    ``values(y_true, y_pred)`` (the per-sample losses) and may define a faster ``call`` for
    the plain mean."""

    name = "loss"

    def __init__(self, reduction: str = "sum_over_batch_size", name: Optional[str] = None) -> None:
        if reduction not in REDUCTIONS:
            raise ag.InvalidValueError(f"{type(self).__name__}: reduction must be one of "
                                       f"{REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        if name is not None:
            self.name = name

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> ag.Tensor:
        if type(y_pred) is not ag.Tensor:
            y_pred = _pred(y_pred)
        if sample_weight is None and self.__dict__.get("reduction", REDUCTIONS[0]) == REDUCTIONS[0]:
            return self.call(y_true, y_pred)
        return reduce_weighted(self.values(y_true, y_pred), sample_weight,
                               self.__dict__.get("reduction", REDUCTIONS[0]), type(self).__name__)

    def call(self, y_true: Any, y_pred: ag.Tensor) -> ag.Tensor:
        return ag.mean(self.values(y_true, y_pred))

    def values(self, y_true: Any, y_pred: ag.Tensor) -> ag.Tensor:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__}: define values(y_true, y_pred), the "
                                  f"per-sample losses")

    def get_config(self) -> dict:
        cfg: dict[str, Any] = {"reduction": self.__dict__.get("reduction", REDUCTIONS[0])}
        if "from_logits" in self.__dict__:
            cfg["from_logits"] = self.from_logits
        if "name" in self.__dict__:
            cfg["name"] = self.name
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """``mean((y_pred - y_true)**2)`` over every element (the batch mean of the per-sample
    mean over the last axis)."""

    name = "mean_squared_error"

    def call(self, y_true, y_pred):
        d = y_pred - _true(y_true, y_pred, "MeanSquaredError")
        return ag.mean(d * d)

    def values(self, y_true, y_pred):
        d = y_pred - _true(y_true, y_pred, "MeanSquaredError")
        return _mean_last(d * d)


class MeanAbsoluteError(Loss):
    """``mean(|y_pred - y_true|)`` over every element."""

    name = "mean_absolute_error"

    def values(self, y_true, y_pred):
        return _mean_last(ag.abs(y_pred - _true(y_true, y_pred, "MeanAbsoluteError")))


class BinaryCrossentropy(Loss):
    """``mean(-(t log p + (1 - t) log(1 - p)))`` over every element.

    from_logits=False: p = clip(y_pred, 1e-7, 1 - 1e-7).
    from_logits=True: p = sigmoid(y_pred), computed as
    ``max(z, 0) - z t + log(1 + exp(-|z|))`` (exact, stable).
    y_true : 0/1 labels (or probabilities) of y_pred's shape ((N,) accepted for (N, 1)).
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: str = "sum_over_batch_size",
                 name: Optional[str] = None) -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        t = _true(y_true, y_pred, "BinaryCrossentropy")
        if self.from_logits:
            return ag.sigmoid_binary_cross_entropy(y_pred, t)
        p = ag.clip(y_pred, EPSILON, 1.0 - EPSILON)
        return -ag.mean(t * ag.log(p) + (1.0 - t) * ag.log(1.0 - p))

    def values(self, y_true, y_pred):
        t = _true(y_true, y_pred, "BinaryCrossentropy")
        if self.from_logits:
            z = y_pred
            e = ag.relu(z) - z * t + ag.log(1.0 + ag.exp(-ag.abs(z)))
        else:
            p = ag.clip(y_pred, EPSILON, 1.0 - EPSILON)
            e = -(t * ag.log(p) + (1.0 - t) * ag.log(1.0 - p))
        return _mean_last(e)

    def __repr__(self):
        return f"BinaryCrossentropy(from_logits={self.from_logits})"


def _check_2d(name: str, y_pred: ag.Tensor) -> None:
    if y_pred.ndim != 2:
        raise ag.ShapeError(f"{name}: y_pred must be 2-d (batch, classes), got shape {y_pred.shape}")


class CategoricalCrossentropy(Loss):
    """``mean_n(-sum_c t_nc log p_nc)`` for one-hot (or probability) targets t.

    from_logits=False: p = clip(y / sum_c y, 1e-7, 1 - 1e-7), y = y_pred (Keras first rescales
    each row to sum to 1, then clips).
    from_logits=True: log p = y_pred - logsumexp(y_pred) (exact, stable).
    y_true, y_pred : shape-(N, C).
    """

    name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: str = "sum_over_batch_size",
                 name: Optional[str] = None) -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        _check_2d("CategoricalCrossentropy", y_pred)
        t = _true(y_true, y_pred, "CategoricalCrossentropy")
        if self.from_logits:
            return ag.softmax_cross_entropy(y_pred, t)
        p = ag.clip(y_pred / ag.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
        return -ag.mean(ag.sum(t * ag.log(p), axis=-1))

    def values(self, y_true, y_pred):
        _check_2d("CategoricalCrossentropy", y_pred)
        t = _true(y_true, y_pred, "CategoricalCrossentropy")
        if self.from_logits:
            return ag.logsumexp(y_pred, axis=-1) - ag.sum(t * y_pred, axis=-1)
        p = ag.clip(y_pred / ag.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
        return -ag.sum(t * ag.log(p), axis=-1)

    def __repr__(self):
        return f"CategoricalCrossentropy(from_logits={self.from_logits})"


def sparse_labels(y_true: Any, n: int, classes: int, name: str) -> np.ndarray:
    """Integer class labels of shape (n,) in [0, classes) from (n,) or (n, 1) data; a
    ValueError otherwise (float labels must hold whole numbers).  A tensor gives an int64
    tensor (its values checked by a ``host_effect``, which a compiled step re-runs)."""
    if isinstance(y_true, ag.Tensor):
        t = y_true.detach()
        if t.dtype.kind not in "biuf":
            raise NonNumericError(f"{name}: labels must be integers, got dtype {t.dtype}")
        if t.ndim == 2 and t.shape[1] == 1:
            t = ag.reshape(t, (-1,))
        if t.shape != (n,):
            raise ag.ShapeError(f"{name}: labels of shape {t.shape} do not match predictions "
                                f"for {n} samples; expected ({n},) integer class indices")
        _check_label_values(t, classes, name)
        return t if t.dtype == np.int64 else ag.astype(t, np.int64)
    t = np.asarray(y_true)
    if t.dtype.kind not in "biuf":
        raise NonNumericError(f"{name}: labels must be integers, got dtype {t.dtype}")
    if t.ndim == 2 and t.shape[1] == 1:
        t = t.reshape(-1)
    if t.shape != (n,):
        raise ag.ShapeError(f"{name}: labels of shape {t.shape} do not match predictions for "
                            f"{n} samples; expected ({n},) integer class indices")
    _check_label_values(t, classes, name)
    return t.astype(np.int64, copy=False)


@host_effect
def _check_label_values(t: Any, classes: int, name: str) -> None:
    """Whole numbers in [0, classes) (an array, or a tensor's values)."""
    t = t.data if isinstance(t, ag.Tensor) else t
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ag.InvalidValueError(f"{name}: labels must be whole numbers (class indices)")
    if t.size and not (t.dtype.kind in "iu" and _labels_below(t, classes)):
        lo, hi = t.min(), t.max()
        if lo < 0 or hi >= classes:
            raise ag.InvalidValueError(f"{name}: labels must be in [0, {classes}) for {classes} "
                                       f"classes, got values in [{int(lo)}, {int(hi)}]")


class SparseCategoricalCrossentropy(Loss):
    """``mean_n(-log p[n, y_n])`` for integer labels y in [0, C).

    from_logits=False: p = clip(y / sum_c y, 1e-7, 1 - 1e-7), as CategoricalCrossentropy.
    from_logits=True: -log p[n, y_n] = logsumexp(z_n) - z[n, y_n] (exact, stable).
    y_true : shape-(N,) or (N, 1) integers; y_pred : shape-(N, C).
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: str = "sum_over_batch_size",
                 name: Optional[str] = None) -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        shape = y_pred._data.shape if type(y_pred) is ag.Tensor else None
        if shape is None or len(shape) != 2:
            _check_2d("SparseCategoricalCrossentropy", y_pred)
            shape = y_pred.shape
        n, c = shape
        if self.from_logits and type(y_true) is np.ndarray and y_true.dtype.kind in "iu" \
                and y_true.shape == (n,) and _effects.LOCAL.rec is None:
            # eager, integer labels of the right shape: the fused op checks them against
            # [0, c) in the same single reduction (``_labels_below``) before computing, so the
            # check runs once, not twice; a refusal re-runs this loss's own check, so the
            # error names the loss and the values as always.  (While autograd.jit traces,
            # sparse_labels' host_effect check stays: a replay must re-check new labels.)
            try:
                return ag.softmax_cross_entropy(
                    y_pred, y_true if y_true.dtype is _INT64 else y_true.astype(np.int64))
            except ag.InvalidValueError:
                _check_label_values(y_true, c, "SparseCategoricalCrossentropy")
                raise
        labels = sparse_labels(y_true, n, c, "SparseCategoricalCrossentropy")
        if self.from_logits:
            return ag.softmax_cross_entropy(y_pred, labels)
        p = ag.clip(y_pred / ag.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
        picked = ag.getitem(p, (np.arange(n), labels))
        return -ag.mean(ag.log(picked))

    def values(self, y_true, y_pred):
        _check_2d("SparseCategoricalCrossentropy", y_pred)
        n, c = y_pred.shape
        labels = sparse_labels(y_true, n, c, "SparseCategoricalCrossentropy")
        if self.from_logits:
            return ag.logsumexp(y_pred, axis=-1) - ag.getitem(y_pred, (np.arange(n), labels))
        p = ag.clip(y_pred / ag.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
        return -ag.log(ag.getitem(p, (np.arange(n), labels)))

    def __repr__(self):
        return f"SparseCategoricalCrossentropy(from_logits={self.from_logits})"


_BY_NAME: dict[str, Callable[[], Loss]] = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier: Union[str, Loss, Callable]) -> Callable:
    """A loss from a name ('mse', 'binary_crossentropy', ...), a Loss, or a callable
    ``f(y_true, y_pred) -> 0-d Tensor``."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ag.InvalidValueError(f"unknown loss {identifier!r}; one of {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ag.InvalidValueError(f"a loss must be a name, a Loss or a callable, got {identifier!r}")
