"""Weight penalties (Keras's ``keras.regularizers``): ``regularizer(weight) -> 0-d Tensor``.

A layer takes them as ``kernel_regularizer=``, ``bias_regularizer=`` (penalties on its
weights, made with ``Layer.add_weight(..., regularizer=)``) and ``activity_regularizer=``
(a penalty on its output, at each call).  ``model.losses`` lists the penalties; ``fit`` and
``evaluate`` add them to the loss they minimise and report, as Keras does.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

import autograd as ag

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "get", "serialize",
           "has_penalties", "collect_losses", "constrained", "apply_constraints"]


def _factor(who: str, name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ag.ArgumentTypeError(f"{who}: {name} must be a number, got {v!r}")
    v = float(v)
    if not (np.isfinite(v) and v >= 0):
        raise ag.InvalidValueError(f"{who}: {name} must be a finite number >= 0, got {v!r}")
    return v


class Regularizer:
    """Base class: ``__call__(x: Tensor) -> 0-d Tensor``; ``get_config``/``from_config``."""

    def __call__(self, x: ag.Tensor) -> ag.Tensor:  # pragma: no cover
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor("L1", "l1", l1)

    def __call__(self, x):
        return self.l1 * ag.sum(ag.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)`` (no factor 1/2, as Keras)."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor("L2", "l2", l2)

    def __call__(self, x):
        return self.l2 * ag.sum(x * x)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor("L1L2", "l1", l1)
        self.l2 = _factor("L1L2", "l2", l2)

    def __call__(self, x):
        out = None
        if self.l1:
            out = self.l1 * ag.sum(ag.abs(x))
        if self.l2:
            t = self.l2 * ag.sum(x * x)
            out = t if out is None else out + t
        return out if out is not None else ag.sum(x * 0.0)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Keras's: push the rows (mode='rows') or columns ('columns') of a 2-d weight towards
    orthogonality.  With the vectors l2-normalised (``v / sqrt(max(sum v**2, 1e-12))``) and
    P their Gram matrix (size n), the penalty is
    ``factor * 0.5 * sum_{i != j} |P_ij| / (n (n - 1) / 2)``."""

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _factor("OrthogonalRegularizer", "factor", factor)
        if mode not in ("rows", "columns"):
            raise ag.InvalidValueError(f"OrthogonalRegularizer: mode must be 'rows' or "
                                       f"'columns', got {mode!r}")
        self.mode = mode

    def __call__(self, x):
        if x.ndim != 2:
            raise ag.ShapeError(f"OrthogonalRegularizer: needs a 2-d weight, got shape {x.shape}")
        axis = 1 if self.mode == "rows" else 0
        norm = ag.sqrt(ag.maximum(ag.sum(x * x, axis=axis, keepdims=True), 1e-12))
        v = x / norm
        prod = ag.matmul(v, v.T) if self.mode == "rows" else ag.matmul(v.T, v)
        n = prod.shape[0]
        if n < 2:
            return ag.sum(prod * 0.0)
        off = 1.0 - np.eye(n, dtype=prod.dtype)
        pairs = n * (n - 1) / 2.0
        return self.factor * 0.5 * ag.sum(ag.abs(prod * off)) / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2,
            "orthogonal_regularizer": OrthogonalRegularizer, "orthogonal": OrthogonalRegularizer}
_CLASSES = {c.__name__: c for c in (L1, L2, L1L2, OrthogonalRegularizer)}


def get(identifier: Union[None, str, dict, Regularizer, Callable]) -> Optional[Callable]:
    """None, a name ('l1', 'l2', 'l1_l2', 'orthogonal_regularizer'; default factors), a
    config ``{'class_name', 'config'}``, a Regularizer, or a callable ``f(weight) -> 0-d``."""
    from .config import get_identified
    return get_identified("regularizer", identifier, _BY_NAME, _CLASSES)


def serialize(obj: Any) -> Any:
    """``{'class_name', 'config'}`` for a library regularizer or constraint; None stays None."""
    if obj is None:
        return None
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    raise ag.ArgumentTypeError(f"{obj!r} has no get_config(); it cannot be serialized")


# ----------------------------------------------------------------------------- model-wide
def has_penalties(model: Any, modules: Optional[list] = None) -> bool:
    """Whether any layer below ``model`` has a weight regularizer or an activity regularizer
    (or penalties added with ``add_loss``).  ``modules``: ``list(model.named_modules())``
    when the caller has it already."""
    for _, m in (model.named_modules() if modules is None else modules):
        d = m.__dict__
        if d.get("_regularizers") or d.get("activity_regularizer") is not None \
                or d.get("_added_losses"):
            return True
    return False


def collect_losses(model: Any) -> list:
    """The penalties of every layer below ``model`` (what ``model.losses`` returns)."""
    out = []
    for _, m in model.named_modules():
        d = m.__dict__
        for name, reg in (d.get("_regularizers") or {}).items():
            w = d.get(name)
            if w is not None:
                out.append(reg(w))
        act = d.get("_activity_loss")
        if act is not None and d.get("activity_regularizer") is not None:
            out.append(act)
        out.extend(d.get("_added_losses") or ())
    return out


def constrained(model: Any, modules: Optional[list] = None) -> list:
    """(weight, constraint) pairs below ``model`` (``modules`` as for ``has_penalties``)."""
    out = []
    for _, m in (model.named_modules() if modules is None else modules):
        for name, con in (m.__dict__.get("_constraints") or {}).items():
            w = m.__dict__.get(name)
            if w is not None:
                out.append((w, con))
    return out


def apply_constraints(model: Any, pairs: Optional[list] = None) -> None:
    """Project every constrained weight below ``model`` in place (after an optimizer step);
    ``pairs`` : ``constrained(model)`` computed once (fit does)."""
    for w, con in (constrained(model) if pairs is None else pairs):
        new = con(w.data)
        new = new.data if isinstance(new, ag.Tensor) else np.asarray(new)
        np.copyto(w.data, new, casting="same_kind")
        w._version += 1
