"""Metrics on numpy arrays: ``metric(y_true, y_pred) -> float`` for one batch.

``fit``/``evaluate`` report the mean over batches weighted by batch size (for these
metrics, the value over the whole epoch).  Under ``jit_compile=True`` a metric is computed
inside the compiled step from ``traced(metric)``: the same formula on tensors (see
``nn/compiled.py``, ``MetricPlan``).  ``'accuracy'`` (or ``'acc'``) resolves as Keras
does, from the shapes and the loss: binary accuracy for one output unit or a binary
cross-entropy loss, sparse categorical accuracy when the labels are integers without a class
axis, categorical accuracy for one-hot labels.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np
from autograd.errors import InvalidValueError
from .config import Configurable

__all__ = ["Metric", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "Accuracy", "get"]


def _arr(a: Any) -> np.ndarray:
    return np.asarray(getattr(a, "data", a))


def _fraction(hit: Any) -> Any:
    """mean(hit) of a boolean tensor as a 0-d float64 tensor (what ``np.mean`` of the
    boolean array gives eagerly: an exact count over the size)."""
    return hit.mean()


def _zero() -> Any:
    import autograd as ag
    return ag.Tensor(np.float64(0.0))


class Metric(Configurable):
    """Base class: ``name`` and ``__call__(y_true, y_pred) -> float`` for one batch."""

    name = "metric"

    def __call__(self, y_true: Any, y_pred: Any) -> float:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class BinaryAccuracy(Metric):
    """Fraction of elements where ``(y_pred > threshold) == (y_true > 0.5)``.

    threshold 0.5 reads y_pred as probabilities; use 0.0 for logits.
    """

    def __init__(self, threshold: float = 0.5, name: str = "binary_accuracy") -> None:
        self.threshold = float(threshold)
        self.name = name

    def __call__(self, y_true, y_pred):
        p, t = _arr(y_pred), _arr(y_true)
        if t.shape != p.shape and t.size == p.size:
            t = t.reshape(p.shape)
        return float(np.mean((p > self.threshold) == (t > 0.5))) if p.size else 0.0

    def traced(self, y_true: Any, y_pred: Any) -> Any:
        """``__call__`` on tensors (a 0-d float64 tensor), for a compiled step."""
        p, t = y_pred, y_true
        if t.shape != p.shape and t.size == p.size:
            t = t.reshape(p.shape)
        return _fraction((p > self.threshold) == (t > 0.5)) if p.size else _zero()


class CategoricalAccuracy(Metric):
    """Fraction of rows where ``argmax(y_pred) == argmax(y_true)`` (one-hot labels)."""

    def __init__(self, name: str = "categorical_accuracy") -> None:
        self.name = name

    def __call__(self, y_true, y_pred):
        p, t = _arr(y_pred), _arr(y_true)
        return float(np.mean(p.argmax(axis=-1) == t.argmax(axis=-1))) if len(p) else 0.0

    def traced(self, y_true: Any, y_pred: Any) -> Any:
        """``__call__`` on tensors (a 0-d float64 tensor), for a compiled step."""
        p, t = y_pred, y_true
        return _fraction(p.argmax(axis=-1) == t.argmax(axis=-1)) if len(p) else _zero()


class SparseCategoricalAccuracy(Metric):
    """Fraction of rows where ``argmax(y_pred) == y_true`` (integer labels, (N,) or (N, 1))."""

    def __init__(self, name: str = "sparse_categorical_accuracy") -> None:
        self.name = name

    def __call__(self, y_true, y_pred):
        p, t = _arr(y_pred), _arr(y_true)
        t = t.reshape(p.shape[:-1])
        return float(np.mean(p.argmax(axis=-1) == t)) if len(p) else 0.0

    def traced(self, y_true: Any, y_pred: Any) -> Any:
        """``__call__`` on tensors (a 0-d float64 tensor), for a compiled step."""
        p, t = y_pred, y_true
        if t.shape != p.shape[:-1]:
            t = t.reshape(p.shape[:-1])
        return _fraction(p.argmax(axis=-1) == t) if len(p) else _zero()


class Accuracy(Metric):
    """Keras's ``'accuracy'``: picks binary, sparse or categorical accuracy on first use.

    Binary when the loss is a binary cross-entropy or y_pred has one unit (threshold 0.5, or
    0 when the loss is ``BinaryCrossentropy(from_logits=True)``, so logits are read right);
    sparse when y_true has no class axis (or a size-1 one) while y_pred has several units;
    categorical otherwise.
    """

    def __init__(self, name: str = "accuracy", loss: Any = None) -> None:
        self.name = name
        self.loss = loss
        self.resolved: Optional[Metric] = None

    def resolve(self, y_true: Any, y_pred: Any) -> Metric:
        from .losses import BinaryCrossentropy, SparseCategoricalCrossentropy, \
            CategoricalCrossentropy
        p, t = _arr(y_pred), _arr(y_true)
        loss = self.loss
        if isinstance(loss, BinaryCrossentropy) or p.shape[-1:] == (1,) or p.ndim == 1:
            logits = isinstance(loss, BinaryCrossentropy) and loss.from_logits
            return BinaryAccuracy(threshold=0.0 if logits else 0.5, name=self.name)
        if isinstance(loss, SparseCategoricalCrossentropy):
            return SparseCategoricalAccuracy(name=self.name)
        if isinstance(loss, CategoricalCrossentropy):
            return CategoricalAccuracy(name=self.name)
        if t.ndim < p.ndim or (t.shape[-1:] == (1,) and p.shape[-1] != 1):
            return SparseCategoricalAccuracy(name=self.name)
        return CategoricalAccuracy(name=self.name)

    def __call__(self, y_true, y_pred):
        if self.resolved is None:
            self.resolved = self.resolve(y_true, y_pred)
        return self.resolved(y_true, y_pred)

    def traced(self, y_true: Any, y_pred: Any) -> Any:
        """``__call__`` on tensors, for a compiled step (resolved from the shapes alone)."""
        if self.resolved is None:
            self.resolved = self.resolve(np.empty(y_true.shape, y_true.dtype),
                                         np.empty(y_pred.shape, y_pred.dtype))
        return self.resolved.traced(y_true, y_pred)


_BY_NAME = {"binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
            "sparse_categorical_accuracy": SparseCategoricalAccuracy}


def get(identifier: Union[str, Metric, Callable], loss: Any = None) -> Callable:
    """A metric from a name ('accuracy', 'acc', 'binary_accuracy', ...), a Metric, or a
    callable ``f(y_true, y_pred) -> float`` (named after its ``__name__``)."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return Accuracy(name=identifier, loss=loss)
        if key not in _BY_NAME:
            raise InvalidValueError(f"unknown metric {identifier!r}; one of "
                             f"{['accuracy'] + sorted(_BY_NAME)} or a callable")
        return _BY_NAME[key]()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return identifier
    raise InvalidValueError(f"a metric must be a name or a callable, got {identifier!r}")


def traced(m: Any) -> Callable:
    """``f(y_true, y_pred) -> 0-d Tensor``: the metric ``m`` computed with tensor operations,
    so that ``autograd.jit`` can record it in a compiled step.  A built-in metric (and a
    per-output one, ``OutputMetric``) has its ``traced`` method; anything else (a loss used
    as a metric, a user's callable) is called on the tensors as they are, and must return a
    tensor of one element (a Python number or an array is a value the program cannot
    recompute: ``nn.compiled.MetricPlan`` then keeps that metric eager)."""
    for c in type(m).__mro__:       # a subclass that overrides __call__ must trace it too
        if "traced" in c.__dict__:
            return m.traced
        if "__call__" in c.__dict__:
            break
    import autograd as ag

    def call(y_true: Any, y_pred: Any) -> Any:
        v = m(y_true, y_pred)
        if not isinstance(v, ag.Tensor) or v.size != 1:
            raise InvalidValueError(f"metric {metric_name(m)!r} returned a "
                                    f"{type(v).__name__}, not a tensor of one element")
        return v.reshape(())
    return call


def metric_name(m: Any) -> str:
    return getattr(m, "name", None) or getattr(m, "__name__", type(m).__name__)
