"""Merge layers: several inputs (a list of tensors) in, one tensor out.

``Add``, ``Subtract`` (two inputs), ``Multiply``, ``Average``, ``Maximum``, ``Minimum``
combine inputs of one shape elementwise; ``Concatenate(axis=-1)`` joins along an axis;
``Dot(axes)`` takes per-sample dot products.  Each is a composition of autograd primitives
(no weights), so gradients flow to every input.  Used in the functional API:
``nn.layers.Add()([a, b])``.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

import autograd as ag

from ..module import Module
from .base import Layer, _functional_hook, as_input

__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot"]


class Merge(Layer):
    """Base class: ``layer([x1, x2, ...])`` with at least ``min_inputs`` tensors of equal
    shape (``_same_shapes``), all cast to the layer's dtype."""

    min_inputs = 2
    max_inputs: Optional[int] = None
    _same_shapes = True

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if _functional_hook(inputs):
            from ..functional import symbolic_call
            return symbolic_call(self, inputs, args, kwargs)
        if not isinstance(inputs, (list, tuple)):
            raise ag.ArgumentTypeError(f"{type(self).__name__} {self.name!r}: takes a list of "
                                       f"tensors, got {type(inputs).__name__}")
        n = len(inputs)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs
                    else f"at least {self.min_inputs}")
            raise ag.InvalidValueError(f"{type(self).__name__} {self.name!r}: takes {want} "
                                       f"inputs, got {n}")
        xs = [as_input(x, self.dtype) for x in inputs]
        shapes = [tuple(x.shape) for x in xs]
        self._check_shapes(shapes)
        if not self.built:
            self.build(shapes)
            self.built = True
        self.__dict__.setdefault("_seen_input_shape", [(None,) + s[1:] for s in shapes])
        return Module.__call__(self, xs, *args, **kwargs)

    def _check_shapes(self, shapes: list) -> None:
        if self._same_shapes and len(set(shapes)) > 1:
            raise ag.ShapeError(f"{type(self).__name__} {self.name!r}: inputs must have one "
                                f"shape, got {shapes}")

    @property
    def output_shape(self) -> tuple:
        from ..errors import NotBuiltError
        if "_output_shape" not in self.__dict__:
            raise NotBuiltError(f"layer {self.name!r} has not been called yet")
        return self.__dict__["_output_shape"]


class Add(Merge):
    """``x1 + x2 + ...``."""

    def call(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Subtract(Merge):
    """``x1 - x2`` (exactly two inputs)."""

    max_inputs = 2

    def call(self, xs):
        return xs[0] - xs[1]


class Multiply(Merge):
    """``x1 * x2 * ...`` elementwise."""

    def call(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(Merge):
    """``(x1 + ... + xn) / n``."""

    def call(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out * (1.0 / len(xs))


class Maximum(Merge):
    """Elementwise maximum of the inputs (the gradient goes to the larger; ties split as
    ``autograd.maximum`` does)."""

    def call(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ag.maximum(out, x)
        return out


class Minimum(Merge):
    """Elementwise minimum of the inputs."""

    def call(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ag.minimum(out, x)
        return out


class Concatenate(Merge):
    """Join the inputs along ``axis`` (default -1, the features; never the batch axis 0);
    every other dimension must match."""

    _same_shapes = False

    def __init__(self, axis: int = -1, name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ag.InvalidValueError(f"Concatenate: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        nd = len(shapes[0])
        ax = self.axis + nd if self.axis < 0 else self.axis
        bad = any(len(s) != nd for s in shapes) or not 0 < ax < nd or any(
            s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes)
        if bad:
            raise ag.ShapeError(f"Concatenate {self.name!r}: cannot join shapes {shapes} on axis "
                                f"{self.axis} (other dimensions must match; the batch axis 0 "
                                f"cannot be joined)")

    def call(self, xs):
        return ag.concatenate(xs, axis=self.axis)


class Dot(Merge):
    """Per-sample dot product of two inputs along ``axes`` (an int for both, or a pair).

    (batch, n) . (batch, n) with axes=1 -> (batch, 1);
    (batch, n, m) . (batch, k, m) with axes=2 -> (batch, n, k);  axes=(1, 1) on
    (batch, m, n), (batch, m, k) -> (batch, n, k).  ``normalize=True`` first scales each
    input to unit L2 norm along its axis (cosine similarity).
    """

    max_inputs = 2
    _same_shapes = False

    def __init__(self, axes: Union[int, Sequence[int]] = -1, normalize: bool = False,
                 name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        pair = (axes, axes) if isinstance(axes, (int, np.integer)) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, (int, np.integer)) and
                                     not isinstance(a, bool) for a in pair):
            raise ag.InvalidValueError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
        self.axes = axes if isinstance(axes, (int, np.integer)) else [int(a) for a in pair]
        self._pair = (int(pair[0]), int(pair[1]))
        self.normalize = bool(normalize)

    def _resolved(self, shapes):
        return tuple(a + len(s) if a < 0 else a for a, s in zip(self._pair, shapes))

    def _check_shapes(self, shapes):
        a, b = shapes
        if len(a) != len(b) or len(a) not in (2, 3) or a[0] != b[0]:
            raise ag.ShapeError(f"Dot {self.name!r}: takes two inputs of rank 2 or 3 with one "
                                f"batch size, got {shapes}")
        ia, ib = self._resolved(shapes)
        if not (0 < ia < len(a) and 0 < ib < len(b)) or a[ia] != b[ib]:
            raise ag.ShapeError(f"Dot {self.name!r}: axes {self._pair} of shapes {shapes} do not "
                                f"match (sizes must be equal; the batch axis cannot be used)")

    def call(self, xs):
        x, y = xs
        ia, ib = self._resolved([x.shape, y.shape])
        if self.normalize:
            x = x / ag.sqrt(ag.sum(x * x, axis=ia, keepdims=True) + 1e-12)
            y = y / ag.sqrt(ag.sum(y * y, axis=ib, keepdims=True) + 1e-12)
        if x.ndim == 2:
            return ag.sum(x * y, axis=1, keepdims=True)
        # rank 3: bring the contracted axis of x last and of y to the middle, then matmul
        if ia == 1:
            x = ag.transpose(x, (0, 2, 1))
        if ib == 2:
            y = ag.transpose(y, (0, 2, 1))
        return ag.matmul(x, y)
