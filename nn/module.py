"""Module: the whole contract is ``parameters()``, ``zero_grad()`` and calling it.

Parameters are found by walking the module's attributes in the order they were set, through
nested modules, lists, tuples and dicts.  A parameter is an :class:`autograd.Tensor` that is a
leaf and requires grad (``nn.Parameter`` makes one).  Names are attribute paths:
``dense1.kernel``, ``layers.0.bias``, ``blocks.head.kernel``.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

import autograd as ag

__all__ = ["Module", "Parameter"]


def Parameter(data: Any, dtype: Any = None) -> ag.Tensor:
    """A leaf tensor that requires grad: what ``Module.parameters()`` collects."""
    return ag.Tensor(data, requires_grad=True, dtype=dtype)


def _is_param(v: Any) -> bool:
    return isinstance(v, ag.Tensor) and v.requires_grad and v.is_leaf


def _walk(value: Any, prefix: str, seen: set) -> Iterator[tuple[str, Any]]:
    """(name, tensor or module) pairs below ``value``; each object once."""
    if isinstance(value, Module) or _is_param(value):
        if id(value) in seen:
            return
        seen.add(id(value))
        yield prefix, value
        if isinstance(value, Module):
            for k, v in vars(value).items():
                yield from _walk(v, f"{prefix}.{k}" if prefix else k, seen)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, f"{prefix}.{i}" if prefix else str(i), seen)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k), seen)


class Module:
    """Base class of layers and models.

    Subclasses define ``call(inputs)`` (Keras) or ``forward(inputs)`` (PyTorch);
    ``module(x)`` runs it.  ``training`` is True after ``train()``, False after ``eval()``.
    """

    def __init__(self) -> None:
        self.training = True

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self, "call", None) or getattr(self, "forward", None)
        if fn is None:
            raise NotImplementedError(f"{type(self).__name__}: define call(inputs) (Keras style) "
                                      f"or forward(inputs) (PyTorch style)")
        out = fn(*args, **kwargs)
        shape = getattr(out, "shape", None)
        if shape is not None:
            self._output_shape = (None,) + tuple(shape[1:]) if len(shape) else ()
        return out

    # ------------------------------------------------------------------ parameters
    def named_parameters(self) -> Iterator[tuple[str, ag.Tensor]]:
        """(attribute path, parameter) pairs, each parameter once, in attribute order."""
        for name, v in _walk(self, "", set()):
            if not isinstance(v, Module):
                yield name, v

    def parameters(self) -> list[ag.Tensor]:
        """Every parameter tensor (leaf, requires grad) below this module."""
        return [p for _, p in self.named_parameters()]

    def named_modules(self) -> Iterator[tuple[str, "Module"]]:
        """(path, module) pairs, this module first (path '')."""
        for name, v in _walk(self, "", set()):
            if isinstance(v, Module):
                yield name, v

    def children(self) -> list[tuple[str, "Module"]]:
        """The direct sub-modules, (attribute path, module), in attribute order."""
        out = []
        for name, m in self.named_modules():
            if m is self:
                continue
            if not any(name.startswith(prefix + ".") for prefix, _ in out):
                out.append((name, m))
        return out

    def count_params(self) -> int:
        return int(sum(p.size for p in self.parameters()))

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``p.grad = None``)."""
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------------ state
    def train(self, mode: bool = True) -> "Module":
        for _, m in self.named_modules():
            m.training = bool(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """{name: copy of the parameter's array}, in ``named_parameters`` order."""
        return {name: np.array(p.data, copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state: Any, strict: bool = True) -> None:
        """Set parameters from ``{name: array}``, all or nothing.

        Every name, shape and dtype is checked before anything is assigned; a mismatch raises
        ValueError (``nn.WeightsMismatchError``) naming the parameter and leaves the module
        unchanged.  ``strict=False`` ignores names missing on either side.
        """
        from .errors import WeightsMismatchError
        params = dict(self.named_parameters())
        _check_built(self, "load_state_dict")
        keys = list(state.keys())
        if strict:
            missing = [k for k in params if k not in keys]
            extra = [k for k in keys if k not in params]
            if missing:
                raise WeightsMismatchError(f"load: parameter {missing[0]!r} is missing from the "
                                           f"weights (missing: {missing})")
            if extra:
                raise WeightsMismatchError(f"load: the weights hold {extra[0]!r}, which the model "
                                           f"does not have (unexpected: {extra})")
        new = {}
        for name, p in params.items():
            if name not in keys:
                continue
            arr = np.asarray(state[name])
            if arr.shape != p.shape:
                raise WeightsMismatchError(f"load: parameter {name!r} has shape {p.shape} in the "
                                           f"model but {arr.shape} in the weights")
            if arr.dtype != p.dtype:
                raise WeightsMismatchError(f"load: parameter {name!r} has dtype {p.dtype} in the "
                                           f"model but {arr.dtype} in the weights")
            new[name] = np.array(arr, copy=True)
        for name, arr in new.items():
            params[name].data = arr  # the setter bumps the version counter

    def __repr__(self) -> str:
        return f"<{type(self).__name__} with {self.count_params()} parameters>"


def _check_built(module: Module, what: str) -> None:
    for name, m in module.named_modules():
        if getattr(m, "built", True) is False:
            raise ag.InvalidValueError(f"{what}: layer {name or type(m).__name__!r} is not built yet (its "
                             f"weights are created on the first call); call the model on a batch "
                             f"or model.build(input_shape) first")
