"""The optimizer base: parameter groups, the learning rate (number, schedule or callable),
gradient clipping, state keyed by the parameter, ``state_dict``, and one whole step.

A subclass declares its hyper-parameters (``_hyper``: name -> checker) and one
``_update(data, grad, state, h)`` that changes ``data`` in place through ``autograd.kernels``;
``h`` maps each hyper-parameter (and ``lr``, already a number) to its value for the group.
"""
from __future__ import annotations

import inspect
import math
import os
import _signal
import signal
import threading
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np

import autograd as ag
from autograd.jit.effects import host_effect

__all__ = ["Optimizer", "ParamState"]


# ----------------------------------------------------------------------------- checkers
def _number(where: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ag.ArgumentTypeError(f"{where}: {name} must be a number, got "
                                   f"{type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ag.InvalidValueError(f"{where}: {name} must be finite, got {value!r}")
    return v


def nonneg(where: str, name: str, value: Any) -> float:
    v = _number(where, name, value)
    if v < 0:
        raise ag.InvalidValueError(f"{where}: {name} must be >= 0, got {value!r}")
    return v


def positive(where: str, name: str, value: Any) -> float:
    v = _number(where, name, value)
    if v <= 0:
        raise ag.InvalidValueError(f"{where}: {name} must be > 0, got {value!r}")
    return v


def unit(where: str, name: str, value: Any) -> float:
    v = _number(where, name, value)
    if not 0.0 <= v < 1.0:
        raise ag.InvalidValueError(f"{where}: {name} must be in [0, 1), got {value!r}")
    return v


def flag(where: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ag.ArgumentTypeError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def _lr_check(where: str, value: Any) -> Any:
    """A positive finite number, or a schedule / callable of the step (kept as given)."""
    if callable(value) and not isinstance(value, (int, float, np.number)):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ag.ArgumentTypeError(
            f"{where}: learning_rate must be a positive number, a schedule from "
            f"nn.optimizers.schedules or a callable of the step, got {type(value).__name__} "
            f"{value!r}")
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ag.InvalidValueError(f"{where}: learning_rate must be a positive finite number, "
                                   f"got {value!r}")
    return v


def check_kwargs(where: str, kwargs: dict, fn: Callable, extra: Iterable[str] = ()) -> None:
    """Raise on unknown keyword arguments, listing the valid ones (the signature of ``fn``)."""
    if kwargs:
        valid = [n for n, p in inspect.signature(fn).parameters.items()
                 if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        valid += list(extra)
        bad = sorted(kwargs)
        raise ag.ArgumentTypeError(f"{where}: unknown keyword argument{'s' if len(bad) > 1 else ''} "
                                   f"{', '.join(map(repr, bad))}; valid ones: {', '.join(valid)}")


# ----------------------------------------------------------------------------- state
class ParamState:
    """A mapping parameter -> its optimizer state (a dict of slot arrays), by identity.

    Tensors are not hashable (``==`` is elementwise), so entries are found by ``id`` but hold
    the parameter itself: a deep copy or pickle of a model together with its optimizer maps
    each copied parameter to its copied state."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[ag.Tensor, dict]] = {}

    def get(self, p: ag.Tensor, default: Any = None) -> Any:
        e = self._by_id.get(id(p))
        return e[1] if e is not None and e[0] is p else default

    def __getitem__(self, p: ag.Tensor) -> dict:
        e = self._by_id.get(id(p))
        if e is None or e[0] is not p:
            from ..errors import MissingStateError
            raise MissingStateError("this parameter has no optimizer state (not bound, or not "
                                    "stepped yet)")
        return e[1]

    def __setitem__(self, p: ag.Tensor, st: dict) -> None:
        self._by_id[id(p)] = (p, st)

    def __contains__(self, p: Any) -> bool:
        e = self._by_id.get(id(p))
        return e is not None and e[0] is p

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[ag.Tensor]:
        return (p for p, _ in self._by_id.values())

    def items(self) -> list:
        return list(self._by_id.values())

    def clear(self) -> None:
        self._by_id.clear()

    def __getstate__(self) -> list:
        return list(self._by_id.values())

    def __setstate__(self, pairs: list) -> None:
        self._by_id = {id(p): (p, st) for p, st in pairs}


class _HoldInterrupt:
    """``with _HoldInterrupt():`` a SIGINT (Ctrl-C) during the block is delivered when it ends.

    Only the main thread receives signals, so elsewhere (or when Python does not own the
    SIGINT handler) this does nothing.  Costs two handler swaps through ``_signal`` (the C
    module under ``signal``, without its enum conversions: about 1 µs, not 10)."""

    __slots__ = ("prev", "caught")

    def __enter__(self) -> None:
        self.prev = self.caught = None
        if _get_ident() == _MAIN[0]:
            prev = _signal.getsignal(_SIGINT)
            if prev is not None and prev != _SIG_IGN:
                self.prev = _signal.signal(_SIGINT, self._hold)

    def _hold(self, signum: int, frame: Any) -> None:
        self.caught = (signum, frame)

    def __exit__(self, *exc: Any) -> None:
        if self.prev is None:
            return
        _signal.signal(_SIGINT, self.prev)
        if self.caught is not None:
            _deliver_held(self.prev, self.caught)


def _deliver_held(prev: Any, caught: tuple) -> None:
    """A SIGINT held back during an update, delivered to the handler it was meant for."""
    if callable(prev):
        prev(*caught)                       # the default handler raises KeyboardInterrupt
    else:
        signal.raise_signal(signal.SIGINT)  # SIG_DFL: let it act as it would have


_PLAIN_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_F32, _F64 = _PLAIN_FLOATS
_SIGINT = int(signal.SIGINT)
_SIG_IGN = _signal.SIG_IGN
_get_ident = threading.get_ident
#: the main thread's ident, refreshed in a forked child (after threading's own fork hook,
#: registered first, has made the forking thread the child's main thread)
_MAIN = [threading.main_thread().ident]


def _after_fork() -> None:
    _MAIN[0] = threading.main_thread().ident


os.register_at_fork(after_in_child=_after_fork)


# ----------------------------------------------------------------------------- the base
class Optimizer:
    """Base class of the optimizers.

    params : parameters, a Module, or PyTorch-style groups ``[{'params': [...], 'lr': 0.1,
    'weight_decay': 0.0}, ...]`` (a group's own settings win over the optimizer's); None to
    bind later (``model.compile`` does).  A number in its place is the learning rate, so
    Keras's ``Adam(0.01)`` works.
    learning_rate (alias ``lr``) : a positive number, a schedule from
    ``nn.optimizers.schedules`` or any callable of the step (``iterations``, from 0).
    Settable later, ``opt.learning_rate = 0.5`` (or ``opt.lr``), for every group.
    clipnorm / global_clipnorm / clipvalue (Keras; at most one) : clip each gradient to this
    L2 norm / all gradients together to this global norm / each element to [-v, v].

    ``step()`` updates every parameter that has a gradient, whole or not at all;
    ``zero_grad(set_to_none=True)``; ``state_dict()`` / ``load_state_dict()``;
    ``get_config()`` / ``from_config()``.  float16 parameters are updated in float32 with
    float32 slots (rounded back to float16 after each step).
    """

    _hyper: dict[str, Callable] = {}

    def __init__(self, params: Optional[Iterable] = None, learning_rate: Any = 0.01,
                 clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, name: Optional[str] = None,
                 _hyper_values: Optional[dict] = None, **kwargs: Any) -> None:
        where = type(self).__name__
        if "lr" in kwargs:                      # PyTorch's name
            lr = kwargs.pop("lr")
            if learning_rate != type(self)._default_lr():
                raise ag.ArgumentTypeError(f"{where}: give learning_rate or lr, not both")
            learning_rate = lr
        check_kwargs(where, kwargs, type(self).__init__, extra=("lr",))
        if isinstance(params, (int, float, np.number)) and not isinstance(params, bool):
            # Keras habit: Adam(0.01) means the learning rate (a number is never a parameter list)
            params, learning_rate = None, params
        d = self.__dict__
        d["name"] = name or type(self).__name__.lower()
        defaults = {"lr": _lr_check(where, learning_rate)}
        for k, v in (_hyper_values or {}).items():
            defaults[k] = self._hyper[k](where, k, v)
        d["defaults"] = defaults
        n_clip = sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm))
        if n_clip > 1:
            raise ag.InvalidValueError(f"{where}: give at most one of clipnorm, clipvalue and "
                                       f"global_clipnorm")
        d["clipnorm"] = None if clipnorm is None else positive(where, "clipnorm", clipnorm)
        d["clipvalue"] = None if clipvalue is None else positive(where, "clipvalue", clipvalue)
        d["global_clipnorm"] = (None if global_clipnorm is None
                                else positive(where, "global_clipnorm", global_clipnorm))
        d["param_groups"] = []
        d["_ids"] = set()
        d["state"] = ParamState()
        d["iterations"] = 0
        self._check_hyper(defaults)
        if params is not None:
            unbuilt = getattr(params, "unbuilt", None)
            if hasattr(params, "parameters") and callable(params.parameters):
                params = params.parameters()
                unbuilt = getattr(params, "unbuilt", None)
            if unbuilt is not None:
                raise ag.InvalidValueError(
                    f"{where}: the model's layer {unbuilt!r} is not built yet, so its weights do "
                    f"not exist and this optimizer would never update them; call the model once "
                    f"on a batch (or model.build(input_shape)), or give the first layer "
                    f"input_dim=/input_shape=, before making the optimizer (or pass it to "
                    f"model.compile, which binds the weights as they are built)")
            params = list(params)
            if not params:
                raise ag.InvalidValueError(f"{where}: got an empty parameter list")
            if isinstance(params[0], dict):
                for g in params:
                    self.add_param_group(g)
            else:
                self.add_params(params)

    @classmethod
    def _default_lr(cls) -> Any:
        return inspect.signature(cls.__init__).parameters["learning_rate"].default

    def _check_hyper(self, h: dict) -> None:
        """Checks across hyper-parameters (a subclass may add)."""

    # ------------------------------------------------------------------ hyper-parameters
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        defaults = d.get("defaults")
        if defaults is not None and name in type(self)._hyper:
            return defaults[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        where = type(self).__name__
        if name in ("learning_rate", "lr"):
            value = _lr_check(where, value)
            self.defaults["lr"] = value
            for g in self.param_groups:
                g["lr"] = value
        elif name in type(self)._hyper:
            value = type(self)._hyper[name](where, name, value)
            self._check_hyper({**self.defaults, name: value})
            self.defaults[name] = value
            for g in self.param_groups:
                g[name] = value
        elif name in ("clipnorm", "clipvalue", "global_clipnorm"):
            value = None if value is None else positive(where, name, value)
            object.__setattr__(self, name, value)
        else:
            object.__setattr__(self, name, value)

    @property
    def learning_rate(self) -> float:
        """The learning rate now: the number, or the schedule's value at ``iterations``."""
        return _lr_value(self.defaults["lr"], self.iterations)

    @property
    def lr(self) -> float:
        """Alias of ``learning_rate`` (PyTorch's name)."""
        return self.learning_rate

    @property
    def params(self) -> list[ag.Tensor]:
        """Every bound parameter, group after group."""
        return [p for g in self.param_groups for p in g["params"]]

    # ------------------------------------------------------------------ binding
    def _take(self, params: Iterable, where: str) -> list:
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        if isinstance(params, ag.Tensor):
            params = [params]
        out = []
        for p in params:
            if not isinstance(p, ag.Tensor):
                raise ag.ArgumentTypeError(f"{where}: parameters must be Tensors, got "
                                           f"{type(p).__name__}")
            if not p.requires_grad:
                raise ag.InvalidValueError(f"{where}: a parameter must require grad "
                                           f"(shape {p.shape})")
            if not p.is_leaf:
                raise ag.InvalidValueError(f"{where}: a parameter must be a leaf tensor, not the "
                                           f"result of an operation (shape {p.shape})")
            if id(p) not in self._ids:
                self._ids.add(id(p))
                out.append(p)
        return out

    def add_params(self, params: Iterable) -> None:
        """Bind more parameters to the first group (those already bound are ignored)."""
        new = self._take(params, type(self).__name__)
        if not self.param_groups:
            self.param_groups.append({"params": [], **self.defaults})
        self.param_groups[0]["params"].extend(new)

    def add_param_group(self, group: dict) -> None:
        """PyTorch's: a dict with 'params' and any of this optimizer's settings ('lr' or
        'learning_rate', 'weight_decay', ...), the others taken from the optimizer."""
        where = f"{type(self).__name__}.add_param_group"
        if not isinstance(group, dict) or "params" not in group:
            raise ag.ArgumentTypeError(f"{where}: a group is a dict with a 'params' entry, got "
                                       f"{type(group).__name__}")
        g = dict(self.defaults)
        for k, v in group.items():
            if k == "params":
                continue
            if k in ("lr", "learning_rate"):
                g["lr"] = _lr_check(where, v)
            elif k in self._hyper:
                g[k] = self._hyper[k](where, k, v)
            else:
                raise ag.ArgumentTypeError(f"{where}: unknown setting {k!r}; valid ones: "
                                           f"params, lr, {', '.join(self._hyper)}")
        self._check_hyper(g)
        g["params"] = self._take(group["params"], where)
        self.param_groups.append({"params": g.pop("params"), **g})

    @host_effect     # re-run at every call of a jitted step (autograd.jit)
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every gradient (``p.grad = None``), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = np.zeros_like(p.data)

    # ------------------------------------------------------------------ the step
    @host_effect     # re-run at every call of a jitted step (autograd.jit)
    def step(self, closure: Optional[Callable] = None) -> Any:
        """Apply one update to every bound parameter that has a gradient.

        Whole or not at all: every gradient is checked (and clipped) before any parameter
        changes, and a Ctrl-C (SIGINT) arriving during the updates is held back until they
        are done, so an interrupted ``fit`` never leaves a model half-stepped.
        closure : PyTorch's, a function that recomputes the loss (called first, with grad on);
        its value is returned."""
        loss = None
        if closure is not None:
            with ag.enable_grad():
                loss = closure()
        todo = []
        groups = self.param_groups
        for gi, group in enumerate(groups):
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                data = p._data
                dt = data.dtype
                # already a C-contiguous array of the parameter's shape and dtype: kept as it
                # is, no call; else converted, or refused naming the shapes
                if type(g) is not np.ndarray or g.dtype is not dt or dt.char == "e" \
                        or not g.flags.c_contiguous or g.shape != data.shape:
                    g = self._step_grad(p, g, dt)
                todo.append((gi, p, g))
        d = self.__dict__
        if d["clipnorm"] is not None or d["clipvalue"] is not None \
                or d["global_clipnorm"] is not None:
            todo = self._clip(todo)
        hs = [g if type(g["lr"]) is float else self._resolve(g) for g in groups]
        by_id = self.state._by_id
        update = self._update
        plain, below = self._plain_lrs(hs)
        if plain is None:
            plain = [None] * len(groups)
        # Ctrl-C held during the updates (``_HoldInterrupt``'s swap, written inline: no
        # object and no enter/exit calls on the step's path)
        held = None
        if _get_ident() == _MAIN[0]:
            prev = _signal.getsignal(_SIGINT)
            if prev is not None and prev != _SIG_IGN:
                held = [prev]               # the handler to restore, then what was caught
                _signal.signal(_SIGINT, lambda signum, frame: held.append((signum, frame)))
        try:
            d["iterations"] += 1
            for gi, p, g in todo:
                data = p._data
                if not data.flags.carray:       # C-contiguous, aligned and writeable
                    p.data = data = np.ascontiguousarray(data).copy()
                e = by_id.get(id(p))
                dt = data.dtype
                if e is not None and e[0] is p and g.dtype is dt:   # not float16
                    lr = plain[gi]  # (numpy's own float32/float64 descriptors below: an
                    #   equal one with metadata takes _update, the same numbers)
                    if lr is not None and data.size < below and (dt is _F32 or dt is _F64):
                        data -= lr * g          # _update's plain step, without its call
                    else:
                        update(data, g, e[1], hs[gi])
                    p._version += 1
                    continue
                low = dt.char == "e"        # float16: slots and update in float32
                if e is None or e[0] is not p:
                    st = self._init_state(data.astype(np.float32) if low else data)
                    by_id[id(p)] = (p, st)
                else:
                    st = e[1]
                if low:
                    w = data.astype(np.float32)
                    update(w, g, st, hs[gi])
                    np.copyto(data, w, casting="same_kind")
                else:
                    update(data, g, st, hs[gi])
                p._version += 1
        finally:
            if held is not None:
                _signal.signal(_SIGINT, prev)
                if len(held) > 1:
                    _deliver_held(prev, held[1])
        return loss

    def _step_grad(self, p: ag.Tensor, g: Any, dt: np.dtype) -> np.ndarray:
        """``step``'s gradient for ``p`` (dtype ``dt``) where it is not already a C-contiguous
        array of the parameter's shape and dtype: a tensor's data, converted (float16
        parameters step in float32), or a ShapeError naming both shapes."""
        if type(g) is not np.ndarray and isinstance(g, ag.Tensor):
            g = g.data
        if g.shape != p._data.shape:
            raise ag.ShapeError(f"{type(self).__name__}: gradient of shape {g.shape} for "
                                f"a parameter of shape {p.shape}")
        return np.ascontiguousarray(g, dtype=np.float32 if dt.char == "e" else dt)

    def _resolve(self, group: dict) -> dict:
        if type(group["lr"]) is float:
            return group
        h = dict(group)
        h["lr"] = _lr_value(group["lr"], self.iterations)
        return h

    def _clip(self, todo: list) -> list:
        if self.clipvalue is not None:
            c = self.clipvalue
            return [(gi, p, np.clip(g, -c, c)) for gi, p, g in todo]
        if self.clipnorm is not None:
            c = self.clipnorm
            out = []
            for gi, p, g in todo:
                n = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
                out.append((gi, p, g * np.asarray(c / n, g.dtype) if n > c else g))
            return out
        total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for _, _, g in todo))
        c = self.global_clipnorm
        if total <= c:
            return todo
        return [(gi, p, g * np.asarray(c / total, g.dtype)) for gi, p, g in todo]

    def _init_state(self, data: np.ndarray) -> dict[str, Any]:
        return {}

    def _plain_lrs(self, hs: list) -> tuple:
        """``(lrs, size)``: per parameter group, the learning rate where ``_update`` is
        exactly ``p -= lr * g`` for a parameter of fewer than ``size`` elements whose
        gradient has its dtype (float32/float64), else None; ``(None, 0)``: never.  ``step``
        then writes that line itself (one call less per parameter), the same numbers."""
        return None, 0

    def _update(self, data: np.ndarray, grad: np.ndarray, st: dict,
                h: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict:
        """PyTorch's layout: ``{'state': {index: {slot: array}}, 'param_groups': [{settings,
        'params': [indices]}], 'iterations': n}``; indices number the parameters group after
        group.  Arrays are copies."""
        index = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {}
        for p, st in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray)
                                           else v) for k, v in st.items()}
        return {"state": state, "param_groups": groups, "iterations": self.iterations}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` gave, onto the same parameters in the same order; all
        or nothing (group sizes and slot shapes are checked first)."""
        where = f"{type(self).__name__}.load_state_dict"
        try:
            groups, state = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ag.InvalidValueError(f"{where}: expected a dict with 'state' and "
                                       f"'param_groups' (from state_dict())") from None
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ag.InvalidValueError(
                f"{where}: the saved groups hold {[len(g['params']) for g in groups]} parameters, "
                f"this optimizer's {[len(g['params']) for g in self.param_groups]}")
        params = self.params
        new_state = {}
        for i, st in state.items():
            i = int(i)
            if not 0 <= i < len(params):
                raise ag.InvalidValueError(f"{where}: state for parameter {i}, but there are "
                                           f"{len(params)}")
            p = params[i]
            slots = {}
            for k, v in st.items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.shape:
                        raise ag.ShapeError(f"{where}: slot {k!r} of parameter {i} has shape "
                                            f"{v.shape}, the parameter {p.shape}")
                    v = np.array(v, copy=True)
                slots[k] = v
            new_state[i] = slots
        for g, saved in zip(self.param_groups, groups):
            for k, v in saved.items():
                if k != "params":
                    g[k] = v
        self.state.clear()
        for i, slots in new_state.items():
            self.state[params[i]] = slots
        self.iterations = int(state_dict.get("iterations", self.iterations))

    def get_config(self) -> dict:
        """The constructor arguments (Keras): ``type(opt).from_config(opt.get_config())``
        makes an equal optimizer with no parameters bound."""
        from . import schedules
        cfg: dict[str, Any] = {"name": self.name,
                               "learning_rate": schedules.serialize(self.defaults["lr"])}
        cfg.update({k: self.defaults[k] for k in self._hyper})
        cfg.update(clipnorm=self.clipnorm, clipvalue=self.clipvalue,
                   global_clipnorm=self.global_clipnorm)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        from . import schedules
        config = dict(config)
        if "learning_rate" in config:
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    # ------------------------------------------------------------------ copying
    def __getstate__(self) -> dict:
        d = dict(self.__dict__)
        d.pop("_ids", None)
        return d

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)
        self.__dict__["_ids"] = {id(p) for g in d["param_groups"] for p in g["params"]}

    def __repr__(self) -> str:
        lr = self.defaults["lr"]
        return f"{type(self).__name__}(learning_rate={lr}, {len(self.params)} params)"


def _lr_value(lr: Any, step: int) -> float:
    if isinstance(lr, float):
        return lr
    v = lr(step)
    if isinstance(v, ag.Tensor):
        v = v.data
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ag.ArgumentTypeError(f"the learning-rate schedule {lr!r} returned {v!r} at step "
                                   f"{step}, not a number") from None
    if not (math.isfinite(v) and v >= 0):
        raise ag.InvalidValueError(f"the learning-rate schedule {lr!r} returned {v} at step "
                                   f"{step}; it must be a finite number >= 0")
    return v
