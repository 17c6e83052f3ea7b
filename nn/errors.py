"""Errors the nn package adds; each is an ``autograd.AutogradError`` and a builtin exception."""
from __future__ import annotations

from autograd.errors import AutogradError, DTypeError

__all__ = ["WeightsMismatchError", "NonNumericError", "NonFiniteLossError", "NotCompiledError",
           "MissingStateError", "UnknownLayerError", "UnknownModelError"]


class WeightsMismatchError(AutogradError, ValueError):
    """Saved weights that do not fit the model (missing or extra name, wrong shape or dtype)."""


class NonNumericError(DTypeError, ValueError):
    """Data that is not numbers (strings, objects); a ValueError and a TypeError."""


class NonFiniteLossError(AutogradError, FloatingPointError):
    """Training met a NaN or inf loss (or gradient); the weights are those of the last
    finite step."""


class NotCompiledError(AutogradError, RuntimeError):
    """fit/evaluate called before compile()."""


class MissingStateError(AutogradError, KeyError):
    """An optimizer asked for the state of a parameter it has not stepped (a KeyError)."""


class UnknownLayerError(AutogradError, AttributeError):
    """``nn.layers.X`` for a name that is not a layer; the message lists the available ones."""


class UnknownModelError(AutogradError, ValueError):
    """``python -m nn.demo --model X`` (or ``nn.demo.main(model=X)``) for an unknown X."""
