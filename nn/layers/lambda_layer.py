"""``Lambda``: a layer around a function of Tensors, with no weights.

Its config names the function when it is registered (``nn.saving.register_serializable``)
or built in; otherwise it holds the function's Python bytecode, and loading that means
running code from the file, so it is refused unless the load says ``safe_mode=False``
(as Keras does).  Functions with closures cannot be written at all.
"""
from __future__ import annotations

import base64
import marshal
import sys
import types
from typing import Any, Callable, Optional

import autograd as ag

from ..errors import NotSerializableError, SerializationError
from .base import Layer

__all__ = ["Lambda"]


class Lambda(Layer):
    """Keras' Lambda: ``function(inputs, **arguments)`` as a layer (no weights).  The
    function should compose autograd ops so gradients flow (plain numpy would cut them).
    ``output_shape`` is accepted for Keras compatibility (shapes are inferred by running)."""

    _config_exclude = ("function",)            # written by get_config below

    def __init__(self, function: Callable, output_shape: Any = None, arguments: Any = None,
                 name: Optional[str] = None, dtype: Any = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        if not callable(function):
            raise ag.InvalidValueError(f"Lambda: function must be callable, got "
                                       f"{type(function).__name__}")
        self.function = function
        self.lambda_output_shape = output_shape
        self.arguments = dict(arguments or {})

    def call(self, x: ag.Tensor) -> Any:
        out = self.function(x, **self.arguments)
        if x.requires_grad and not isinstance(out, (ag.Tensor, list, tuple)):
            raise ag.GraphError(f"Lambda {self.name!r}: the function returned "
                                f"{type(out).__name__}, not a Tensor, so gradients would stop "
                                f"here; compose autograd ops (ag.exp, ag.sum, ...) instead")
        return out

    def get_config(self) -> dict:
        from ..config import serialize
        config = super().get_config()
        try:
            config["function"] = serialize(self.function, f"Lambda {self.name!r}")
        except NotSerializableError:
            fn = self.function
            if not isinstance(fn, types.FunctionType) or fn.__closure__:
                raise NotSerializableError(
                    f"Lambda {self.name!r}: its function cannot be written (a closure or not a "
                    f"plain function); register it with nn.saving.register_serializable()"
                ) from None
            config["function"] = {"bytecode": base64.b64encode(marshal.dumps(fn.__code__))
                                  .decode("ascii"),
                                  "python": list(sys.version_info[:2]),
                                  "defaults": serialize(list(fn.__defaults__ or ()))}
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Lambda":
        from ..saving import safe_mode
        config = dict(config)
        fn = config.get("function")
        if isinstance(fn, dict) and set(fn) == {"bytecode", "python", "defaults"}:
            if safe_mode():
                raise SerializationError(
                    f"Lambda {config.get('name')!r}: the file holds Python bytecode for this "
                    f"layer, and loading it would run code from the file; it is refused in "
                    f"safe mode.  If you trust the file, pass safe_mode=False")
            if list(fn["python"]) != list(sys.version_info[:2]):
                raise SerializationError(f"Lambda: bytecode from Python {fn['python']} cannot "
                                         f"run on {list(sys.version_info[:2])}")
            import numpy as np
            code = marshal.loads(base64.b64decode(fn["bytecode"]))
            config["function"] = types.FunctionType(code, {"ag": ag, "np": np,
                                                           "__builtins__": __builtins__},
                                                    None, tuple(fn["defaults"]) or None)
        return super().from_config.__func__(cls, config)
