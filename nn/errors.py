"""Errors the nn package adds; each is an ``autograd.AutogradError`` and a builtin exception."""
from __future__ import annotations

from autograd.errors import AutogradError, DTypeError

__all__ = ["WeightsMismatchError", "NonNumericError", "NonFiniteLossError", "NotCompiledError",
           "MissingStateError", "UnknownLayerError", "UnknownModelError", "SerializationError",
           "NotSerializableError", "NotBuiltError"]


class WeightsMismatchError(AutogradError, ValueError):
    """Saved weights that do not fit the model (missing or extra name, wrong shape or dtype)."""


class NonNumericError(DTypeError, ValueError):
    """Data that is not numbers (strings, objects); a ValueError and a TypeError."""


class NonFiniteLossError(AutogradError, FloatingPointError):
    """Training met a NaN or inf loss (or gradient); the weights are those of the last
    finite step."""


class NotCompiledError(AutogradError, RuntimeError):
    """fit/evaluate called before compile()."""


class SerializationError(AutogradError, ValueError):
    """A model file or config that cannot be loaded as it stands: truncated or not a zip,
    wrong format version, unknown class, missing custom object, tampered values.  Nothing is
    built when it is raised."""


class NotSerializableError(AutogradError, TypeError):
    """An object whose configuration cannot be written (a plain callable not registered with
    ``nn.saving.register_serializable``, or a subclassed model without ``get_config``)."""


class NotBuiltError(AutogradError, AttributeError):
    """A layer's ``input_shape``/``output_shape`` asked for before it has seen an input."""


class MissingStateError(AutogradError, KeyError):
    """An optimizer asked for the state of a parameter it has not stepped (a KeyError)."""


class UnknownLayerError(AutogradError, AttributeError):
    """``nn.layers.X`` for a name that is not a layer; the message lists the available ones."""


class UnknownModelError(AutogradError, ValueError):
    """``python -m nn.demo --model X`` (or ``nn.demo.main(model=X)``) for an unknown X."""
