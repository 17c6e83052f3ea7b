"""Weight constraints (Keras's ``keras.constraints``): a projection applied to a weight after
each optimizer step in ``fit`` (``kernel_constraint=``, ``bias_constraint=`` on a layer, or
``Layer.add_weight(..., constraint=)``).  ``constraint(w: ndarray) -> ndarray``.

Norms are taken along ``axis`` (0 for a Dense kernel of shape (in, units): each unit's
incoming weights), with Keras's epsilon 1e-7 in the division.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

import autograd as ag

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get"]

EPSILON = 1e-7


def _num(who: str, name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ag.ArgumentTypeError(f"{who}: {name} must be a number, got {v!r}")
    v = float(v)
    if not (np.isfinite(v) and v >= 0):
        raise ag.InvalidValueError(f"{who}: {name} must be a finite number >= 0, got {v!r}")
    return v


def _arr(w: Any) -> np.ndarray:
    return w.data if isinstance(w, ag.Tensor) else np.asarray(w)


def _norms(w: np.ndarray, axis: Any) -> np.ndarray:
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w) -> projected w``; ``get_config``/``from_config``."""

    def __call__(self, w: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class MaxNorm(Constraint):
    """Scale each slice along ``axis`` down to L2 norm at most ``max_value``:
    ``w * clip(n, 0, max_value) / (1e-7 + n)``."""

    def __init__(self, max_value: float = 2.0, axis: Any = 0) -> None:
        self.max_value = _num("MaxNorm", "max_value", max_value)
        self.axis = axis

    def __call__(self, w):
        w = _arr(w)
        n = _norms(w, self.axis)
        return (w * (np.clip(n, 0, self.max_value) / (EPSILON + n))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms along ``axis`` moved into [min_value, max_value] at ``rate``:
    ``w * (rate * clip(n, min, max) + (1 - rate) * n) / (1e-7 + n)``."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Any = 0) -> None:
        self.min_value = _num("MinMaxNorm", "min_value", min_value)
        self.max_value = _num("MinMaxNorm", "max_value", max_value)
        if self.min_value > self.max_value:
            raise ag.InvalidValueError(f"MinMaxNorm: min_value {min_value} > max_value {max_value}")
        self.rate = _num("MinMaxNorm", "rate", rate)
        self.axis = axis

    def __call__(self, w):
        w = _arr(w)
        n = _norms(w, self.axis)
        want = self.rate * np.clip(n, self.min_value, self.max_value) + (1 - self.rate) * n
        return (w * (want / (EPSILON + n))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Negative entries set to 0."""

    def __call__(self, w):
        w = _arr(w)
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """Each slice along ``axis`` scaled to L2 norm 1: ``w / (1e-7 + n)``."""

    def __init__(self, axis: Any = 0) -> None:
        self.axis = axis

    def __call__(self, w):
        w = _arr(w)
        return (w / (EPSILON + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


_BY_NAME = {"max_norm": MaxNorm, "maxnorm": MaxNorm, "min_max_norm": MinMaxNorm,
            "minmaxnorm": MinMaxNorm, "non_neg": NonNeg, "nonneg": NonNeg,
            "unit_norm": UnitNorm, "unitnorm": UnitNorm}
_CLASSES = {c.__name__: c for c in (MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}


def get(identifier: Union[None, str, dict, Constraint, Callable]) -> Optional[Callable]:
    """None, a name ('max_norm', 'min_max_norm', 'non_neg', 'unit_norm'), a config
    ``{'class_name', 'config'}``, a Constraint, or a callable ``f(w) -> w``."""
    from .config import get_identified
    return get_identified("constraint", identifier, _BY_NAME, _CLASSES)
