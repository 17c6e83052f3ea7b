"""The layer base class: ``name``, ``dtype`` and a lazy ``build`` from the first input."""
from __future__ import annotations

import itertools
import re
from collections import defaultdict
from typing import Any, Optional

import numpy as np

import autograd as ag

from ..config import Configurable
from ..module import Module, _returned_none

__all__ = ["Layer"]

_COUNTERS: defaultdict = defaultdict(itertools.count)


def _auto_name(cls_name: str) -> str:
    # Keras' snake case: BatchNormalization -> batch_normalization, SimpleRNN -> simple_rnn,
    # Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, Dense -> dense
    snake = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", cls_name)
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", snake).lower().lstrip("_")
    k = next(_COUNTERS[snake])
    return snake if k == 0 else f"{snake}_{k}"


def as_input(x: Any, dtype: np.dtype) -> ag.Tensor:
    """x as a Tensor of ``dtype`` (a cast is a recorded node if x requires grad)."""
    if isinstance(x, ag.Tensor):
        return x if x.dtype == dtype else ag.astype(x, dtype)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        from ..errors import NonNumericError
        raise NonNumericError(f"layer input must be numeric, got dtype {arr.dtype}")
    return ag.Tensor(arr.astype(dtype, copy=False))


def _functional_hook(inputs: Any) -> bool:
    """True for symbolic inputs (nn.Input), which record a layer graph instead of running."""
    if isinstance(inputs, (np.ndarray, ag.Tensor)):
        return False
    from ..functional import is_symbolic
    return is_symbolic(inputs)


def _shape_tuple(shape: Any, name: str) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        out = tuple(None if s is None else int(s) for s in shape)
    except (TypeError, ValueError):
        out = ()
    if not out or any(s is not None and s < 1 for s in out) or any(
            isinstance(s, bool) for s in shape):
        raise ag.InvalidValueError(f"layer {name!r}: input_shape must be a tuple of positive "
                                   f"ints (None for a free axis), got {shape!r}")
    return out


class Layer(Configurable, Module):
    """Base class of layers: ``name``, ``dtype``, and ``build(input_shape)`` called once,
    lazily, before the first ``call``.

    Every layer also takes ``input_shape=`` (per sample, Keras 2; builds it at once) and
    ``input_dim=`` (``input_shape=(input_dim,)``) unless its constructor names them itself,
    and has ``get_config()``/``from_config()`` (``nn.config``).

    Weights are made in ``build`` with ``add_weight(name, shape, initializer, regularizer=,
    constraint=)``: the regularizer's penalty joins ``losses`` (and the training loss), the
    constraint projects the weight after each optimizer step in ``fit``.
    activity_regularizer : a penalty on the layer's output, taken at each call."""

    _config_extra_keys = ("input_shape", "batch_input_shape", "input_dim", "trainable")
    _config_live = ("name",)               # the name given or made up: graphs refer to it

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__call__")
        if own is not None and not getattr(own, "_symbolic_aware", False):
            # a layer with its own __call__ (Embedding, wrappers) still records a node when
            # called on symbolic tensors (nn.Input), before it looks at the data
            def __call__(self: Any, inputs: Any, *args: Any, **kw: Any) -> Any:
                if _functional_hook(inputs):
                    from ..functional import symbolic_call
                    return symbolic_call(self, inputs, args, kw)
                return own(self, inputs, *args, **kw)
            __call__._symbolic_aware = True
            __call__.__doc__ = own.__doc__
            __call__.__wrapped__ = own
            cls.__call__ = __call__

    def __init__(self, name: Optional[str] = None, dtype: Any = "float32",
                 activity_regularizer: Any = None) -> None:
        super().__init__()
        self.name = name or _auto_name(type(self).__name__)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ag.InvalidValueError(f"{type(self).__name__}: dtype must be a float dtype, got {self.dtype}")
        self.built = False
        from .. import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def build(self, input_shape: tuple) -> None:
        self.built = True

    def add_weight(self, name: str, shape: tuple, initializer: Any = "glorot_uniform",
                   dtype: Any = None, trainable: bool = True, regularizer: Any = None,
                   constraint: Any = None) -> ag.Tensor:
        """Make a weight, store it as attribute ``name`` and return it.  ``regularizer``
        (``nn.regularizers``: a name, an instance or a callable) adds its penalty to
        ``losses``; ``constraint`` (``nn.constraints``) projects the weight after each
        optimizer step in ``fit``; ``trainable=False`` makes a weight the optimizer skips."""
        from .. import constraints, initializers, regularizers
        from ..module import Parameter
        init = initializers.get(initializer)
        dt = self.dtype if dtype is None else np.dtype(dtype)
        w = Parameter(init(tuple(int(s) for s in shape), dt))
        if not trainable:
            w.requires_grad = False
        setattr(self, name, w)
        reg, con = regularizers.get(regularizer), constraints.get(constraint)
        d = self.__dict__
        d.setdefault("_regularizers", {}).pop(name, None)
        d.setdefault("_constraints", {}).pop(name, None)
        if reg is not None:
            d["_regularizers"][name] = reg
        if con is not None:
            d["_constraints"][name] = con
        return w

    def _weight_options(self, **by_weight: tuple) -> None:
        """``kernel=(regularizer, constraint), bias=(...)``: options for weights a layer's
        ``build`` assigns directly (``self.kernel = Parameter(...)``) rather than through
        ``add_weight``; they are attached when the weight is assigned."""
        from .. import constraints, regularizers
        opts = self.__dict__.setdefault("_weight_opts", {})
        for name, (reg, con) in by_weight.items():
            opts[name] = (regularizers.get(reg), constraints.get(con))

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        opts = self.__dict__.get("_weight_opts")
        if opts and name in opts and isinstance(value, ag.Tensor):
            reg, con = opts[name]
            d = self.__dict__
            for key, v in (("_regularizers", reg), ("_constraints", con)):
                if v is not None:
                    d.setdefault(key, {})[name] = v

    @property
    def losses(self) -> list:
        """The penalties of this layer and those below it: weight regularizers (computed now,
        with a graph) and activity regularizers (from the last call)."""
        from ..regularizers import collect_losses
        return collect_losses(self)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if type(inputs) is ag.Tensor and inputs._data.dtype == self.dtype:
            x = inputs                  # the common case: a tensor of this layer's dtype
        else:
            if _functional_hook(inputs):  # functional API: record a node on symbolic inputs
                from ..functional import symbolic_call
                return symbolic_call(self, inputs, args, kwargs)
            x = as_input(inputs, self.dtype)
        if not self.built:
            self.build(tuple(x.shape))
            self.built = True
        d = self.__dict__
        if "_seen_input_shape" not in d and x.ndim:
            self._seen_input_shape = (None,) + tuple(x.shape[1:])
        # Module.__call__, inlined (one frame less per layer and step): call or forward, a
        # None result refused, the output shape recorded
        fn = getattr(self, "call", None) or getattr(self, "forward", None)
        if fn is None:
            return super().__call__(x, *args, **kwargs)       # raises, naming the layer
        out = fn(x, *args, **kwargs)
        if type(out) is ag.Tensor:
            shape = out._data.shape
            d["_output_shape"] = (None,) + shape[1:] if shape else ()
        elif out is None:
            _returned_none(self, fn)
        else:
            shape = getattr(out, "shape", None)
            if shape is not None:
                d["_output_shape"] = (None,) + tuple(shape[1:]) if len(shape) else ()
        if d.get("activity_regularizer") is not None:
            d["_activity_loss"] = self.activity_regularizer(out)
        return out

    # ------------------------------------------------------------------ shapes and config
    @property
    def input_shape(self) -> tuple:
        """(None, ...) shape of the inputs, once known (called, or built from input_shape=)."""
        for key in ("_seen_input_shape", "_declared_input_shape"):
            if key in self.__dict__:
                return self.__dict__[key]
        dim = self.__dict__.get("input_dim")
        if isinstance(dim, (int, np.integer)):
            return (None, int(dim))
        from ..errors import NotBuiltError
        raise NotBuiltError(f"layer {self.name!r} has no input shape yet: call it on data or "
                            f"give it input_shape=")

    @property
    def output_shape(self) -> tuple:
        """(None, ...) shape of the outputs, once the input shape is known."""
        if "_output_shape" not in self.__dict__:
            shape = self.input_shape
            modes = [(m, m.training) for _, m in self.named_modules()]
            try:
                self.eval()
                with ag.no_grad():
                    self(np.zeros((1,) + tuple(1 if s is None else s for s in shape[1:]),
                                  dtype=self.dtype))
            finally:
                for m, mode in modes:
                    m.training = mode
        return self.__dict__["_output_shape"]

    def _pop_init_extras(self, sig: Any, kwargs: dict) -> dict:
        extra = {}
        for key in ("input_shape", "batch_input_shape", "input_dim"):
            if key in kwargs and key not in sig.parameters:
                extra[key] = kwargs.pop(key)
        return extra

    def _after_init_extras(self, extra: dict) -> None:
        shape = None
        if extra.get("input_shape") is not None:
            shape = (None,) + _shape_tuple(extra["input_shape"], self.name)
        elif extra.get("batch_input_shape") is not None:
            shape = (None,) + _shape_tuple(extra["batch_input_shape"], self.name)[1:]
        elif extra.get("input_dim") is not None:
            shape = (None,) + _shape_tuple((extra["input_dim"],), self.name)
        if shape is None:
            return
        self._declared_input_shape = shape
        if all(s is not None for s in shape[1:]):
            self.build(shape)
            self.built = True

    def get_config(self) -> dict:
        config = {k: v for k, v in super().get_config().items()}
        declared = self.__dict__.get("_declared_input_shape")
        if declared is not None and "input_shape" not in config:
            config["input_shape"] = list(declared[1:])
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        config = dict(config)
        trainable = config.pop("trainable", True)
        layer = super().from_config.__func__(cls, config)
        if not trainable:
            layer.trainable = False
        return layer

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
