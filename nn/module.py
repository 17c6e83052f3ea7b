"""Module: the whole contract is ``parameters()``, ``zero_grad()`` and calling it.

Parameters are found by walking the module's attributes in the order they were set, through
nested modules, lists, tuples and dicts.  A parameter is an :class:`autograd.Tensor` that is a
leaf and requires grad (``nn.Parameter`` makes one).  Names are attribute paths:
``dense1.kernel``, ``layers.0.bias``, ``blocks.head.kernel``.

Non-trainable weights (batch norm's moving statistics): a module lists their attribute
names in ``_non_trainable``; they are leaf float tensors that never require grad, found
by ``weights()``/``state_dict`` (so saved and loaded) but not by ``parameters()``.

Freezing, Keras style: ``module.trainable = False`` turns ``requires_grad`` off for the
weights below it.  Frozen weights are still weights (``weights``, ``state_dict``,
``save_weights``, the summary's "Non-trainable params"), but not ``parameters()``, so
optimizers leave them alone.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

import autograd as ag

__all__ = ["Module", "Parameter"]


def Parameter(data: Any, dtype: Any = None) -> ag.Tensor:
    """A leaf tensor that requires grad: what ``Module.parameters()`` collects."""
    return ag.Tensor(data, requires_grad=True, dtype=dtype)


def _is_weight(v: Any, frozen: bool) -> bool:
    """A leaf tensor that requires grad, or any leaf float tensor of a frozen module."""
    return isinstance(v, ag.Tensor) and v.is_leaf and (
        v.requires_grad or (frozen and v.dtype.kind == "f"))


def _walk(value: Any, prefix: str, seen: set, frozen: bool = False) -> Iterator[tuple[str, Any]]:
    """(name, weight tensor or module) pairs below ``value``; each object once."""
    if isinstance(value, Module) or _is_weight(value, frozen):
        if id(value) in seen:
            return
        seen.add(id(value))
        yield prefix, value
        if isinstance(value, Module):
            frozen = frozen or not value.__dict__.get("_trainable", True)
            fixed = getattr(value, "_non_trainable", ())   # e.g. batch norm's moving stats
            for k, v in vars(value).items():
                yield from _walk(v, f"{prefix}.{k}" if prefix else k, seen, frozen or k in fixed)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, f"{prefix}.{i}" if prefix else str(i), seen, frozen)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{prefix}.{k}" if prefix else str(k), seen, frozen)


def _modules(root: Any) -> list[tuple[str, Any]]:
    """The modules ``_walk(root, "", set())`` yields, in its order, with their paths; a
    direct scan that descends only into modules, lists, tuples and dicts (what can hold a
    module) instead of one generator per attribute: ``train()``, ``fit`` and
    ``train_on_batch`` walk the model several times a step.  (A plain recursive function,
    not a closure: a closure that calls itself is a reference cycle per call.)"""
    out: list = []
    _visit(root, "", out, set())
    return out


def _visit(value: Any, prefix: str, out: list, seen: set) -> None:
    if isinstance(value, Module):
        if id(value) in seen:
            return
        seen.add(id(value))
        out.append((prefix, value))
        items = vars(value).items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:                                       # a dict
        items = value.items()
    for k, v in items:
        if isinstance(v, Module) or (isinstance(v, _CONTAINERS) and len(v)):   # (empty: none)
            _visit(v, f"{prefix}.{k}" if prefix else str(k), out, seen)


class ParameterList(list):
    """What ``Module.parameters()`` returns: a list, plus ``unbuilt`` (see there)."""

    unbuilt: Any = None


def _returned_none(module: Any, fn: Any) -> None:
    """Raise: ``module``'s call/forward returned None (``Module.__call__``, ``Layer.__call__``)."""
    from autograd.errors import OutputError
    name = getattr(module, "name", None)
    raise OutputError(f"{type(module).__name__}{f' {name!r}' if name else ''}."
                      f"{getattr(fn, '__name__', 'call')}() returned None; it must "
                      f"return its output tensor (a missing return statement?)")


class Module:
    """Base class of layers and models.

    Subclasses define ``call(inputs)`` (Keras) or ``forward(inputs)`` (PyTorch);
    ``module(x)`` runs it.  ``training`` is True after ``train()``, False after ``eval()``.
    """

    def __init__(self) -> None:
        self.training = True

    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get(name)
        if old is not None and old is not value \
                and isinstance(old, ag.Tensor) and old.is_leaf \
                and (old.requires_grad or (not self.__dict__.get("_trainable", True)
                                           and not isinstance(value, ag.Tensor))):
            value = _assign_weight(self, name, old, value)
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self, "call", None) or getattr(self, "forward", None)
        if fn is None:
            raise NotImplementedError(f"{type(self).__name__}: define call(inputs) (Keras style) "
                                      f"or forward(inputs) (PyTorch style)")
        out = fn(*args, **kwargs)
        if out is None:
            _returned_none(self, fn)
        shape = out._data.shape if type(out) is ag.Tensor else getattr(out, "shape", None)
        if shape is not None:      # a plain attribute: straight into __dict__ (no weight guard)
            self.__dict__["_output_shape"] = (None,) + tuple(shape[1:]) if len(shape) else ()
        return out

    # ------------------------------------------------------------------ parameters
    def named_weights(self) -> Iterator[tuple[str, ag.Tensor]]:
        """(attribute path, weight) pairs: trainable parameters and frozen weights."""
        for name, v in _walk(self, "", set()):
            if not isinstance(v, Module):
                yield name, v

    @property
    def weights(self) -> "WeightList":
        """Every weight below this module, trainable or frozen (a property, as in Keras).

        Calling it, ``module.weights()``, still works for old code but warns
        (DeprecationWarning): it was a method before."""
        return WeightList(w for _, w in self.named_weights())

    @property
    def trainable_weights(self) -> list[ag.Tensor]:
        """The weights that require grad (what optimizers update)."""
        return [w for _, w in self.named_weights() if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[ag.Tensor]:
        """The frozen weights (``trainable = False``): saved and counted, never updated."""
        return [w for _, w in self.named_weights() if not w.requires_grad]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight's array, in ``weights`` order (Keras)."""
        return [np.array(w.data, copy=True) for _, w in self.named_weights()]

    def set_weights(self, weights: Any) -> None:
        """Set every weight from a list of arrays in ``weights`` order, all or nothing: the
        count, each shape and each dtype kind are checked first; a mismatch raises
        ``nn.WeightsMismatchError`` naming the weight and leaves the module unchanged.
        Arrays are cast to the weight's dtype."""
        from .errors import WeightsMismatchError
        named = list(self.named_weights())
        weights = list(weights)
        if len(weights) != len(named):
            raise WeightsMismatchError(f"set_weights: the module has {len(named)} weights "
                                       f"({[n for n, _ in named]}) but {len(weights)} arrays "
                                       f"were given")
        new = []
        for (name, w), arr in zip(named, weights):
            arr = arr.data if isinstance(arr, ag.Tensor) else np.asarray(arr)
            if arr.shape != w.shape:
                raise WeightsMismatchError(f"set_weights: weight {name!r} has shape {w.shape} "
                                           f"but the array given has shape {arr.shape}")
            if arr.dtype.kind not in "biuf":
                raise WeightsMismatchError(f"set_weights: weight {name!r} needs numbers, got "
                                           f"dtype {arr.dtype}")
            new.append(np.array(arr, dtype=w.dtype, copy=True))
        for (_, w), arr in zip(named, new):
            w.data = arr  # the setter bumps the version counter

    def named_parameters(self) -> Iterator[tuple[str, ag.Tensor]]:
        """(attribute path, parameter) pairs, each trainable parameter once, in attribute order."""
        for name, v in self.named_weights():
            if v.requires_grad:
                yield name, v

    def parameters(self) -> list[ag.Tensor]:
        """Every trainable parameter tensor (leaf, requires grad) below this module.

        A plain list that also remembers, as ``.unbuilt``, the path of the first layer whose
        weights do not exist yet (None when every layer is built): an optimizer given such a
        list raises instead of silently training fewer weights."""
        out = ParameterList()
        for name, v in _walk(self, "", set()):
            if isinstance(v, Module):
                if out.unbuilt is None and getattr(v, "built", True) is False:
                    out.unbuilt = name or getattr(v, "name", type(v).__name__)
            elif v.requires_grad:
                out.append(v)
        return out

    @property
    def trainable(self) -> bool:
        """False after ``module.trainable = False`` (Keras): its weights stop requiring grad."""
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        flag = bool(flag)
        weights = list(self.named_weights())   # before the flags change: frozen weights are
        for _, m in self.named_modules():       # found only while their module is frozen
            m.__dict__["_trainable"] = flag
        fixed = {id(getattr(m, k, None)) for _, m in self.named_modules()
                 for k in getattr(m, "_non_trainable", ())}
        for _, w in weights:
            if id(w) in fixed:                  # non-trainable weights never require grad
                continue
            w.requires_grad = flag
            if not flag:
                w.grad = None

    def named_modules(self) -> Iterator[tuple[str, "Module"]]:
        """(path, module) pairs, this module first (path '')."""
        yield from _modules(self)

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
        """Number of weight elements, trainable and frozen (as Keras counts)."""
        return int(sum(p.size for _, p in self.named_weights()))

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
        """{name: copy of the weight's array}, in ``named_weights`` order (frozen ones too)."""
        return {name: np.array(p.data, copy=True) for name, p in self.named_weights()}

    def load_state_dict(self, state: Any, strict: bool = True) -> None:
        """Set parameters from ``{name: array}``, all or nothing.

        Every name, shape and dtype is checked before anything is assigned; a mismatch raises
        ValueError (``nn.WeightsMismatchError``) naming the parameter and leaves the module
        unchanged.  ``strict=False`` ignores names missing on either side.
        """
        from .errors import WeightsMismatchError
        params = dict(self.named_weights())
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


_CONTAINERS = (list, tuple, dict)     # what can hold a module besides a module (_modules)


class WeightList(list):
    """A plain list of weights that can still be called as the old ``weights()`` method
    (with a DeprecationWarning): ``model.weights`` is a property now, as in Keras."""

    def __call__(self) -> list:
        import warnings
        warnings.warn("Module.weights is a property now (as in Keras): write model.weights, "
                      "not model.weights()", DeprecationWarning, stacklevel=2)
        return list(self)


def _assign_weight(module: Module, name: str, old: ag.Tensor, value: Any) -> Any:
    """What ``module.<name> = value`` stores when ``<name>`` holds a weight.

    Another weight (a leaf Tensor that requires grad) or None replaces it, as in PyTorch.  A
    plain array, number or Tensor that needs no gradient is copied into the weight, so the
    weight stays the same object (in ``parameters()``, the optimizer and saved weights).  A
    Tensor computed from the weight with grad on (``layer.kernel = layer.kernel - 0.1``)
    raises: storing it would silently drop the weight from the model."""
    where = f"{type(module).__name__}.{name}"
    if value is None or (isinstance(value, ag.Tensor) and value.is_leaf and value.requires_grad):
        return value
    if isinstance(value, ag.Tensor) and value.requires_grad:
        raise ag.InPlaceError(
            f"{where} = <a computed Tensor>: this would replace the weight by a graph node and "
            f"drop it from parameters() and the saved weights; update it in place under no_grad: "
            f"`with autograd.no_grad(): {name} -= ...`, or assign an array (copied into the weight)")
    arr = value.data if isinstance(value, ag.Tensor) else value
    try:
        arr = np.asarray(arr)
    except (TypeError, ValueError) as e:
        raise ag.ArgumentTypeError(f"{where}: cannot assign {type(value).__name__} to a weight "
                                   f"({e})") from None
    if arr.dtype.kind not in "biuf":
        raise ag.ArgumentTypeError(f"{where}: cannot assign {type(value).__name__} of dtype "
                                   f"{arr.dtype} to a weight (numbers, an array or a Parameter)")
    try:
        target = np.broadcast_to(arr, old.shape)
    except ValueError:
        raise ag.ShapeError(f"{where}: cannot copy a value of shape {arr.shape} into the weight of "
                            f"shape {old.shape}; assign nn.Parameter(...) to replace the weight") from None
    data = old.data
    if not data.flags.writeable:
        old.data = data = np.array(data, copy=True)
    np.copyto(data, target, casting="unsafe")
    old._version += 1
    return old


def _check_built(module: Module, what: str) -> None:
    for name, m in module.named_modules():
        if getattr(m, "built", True) is False:
            raise ag.InvalidValueError(f"{what}: layer {name or type(m).__name__!r} is not built yet (its "
                             f"weights are created on the first call); call the model on a batch "
                             f"or model.build(input_shape) first")
