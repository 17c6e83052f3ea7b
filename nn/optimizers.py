"""Optimizers, in order of increasing state: SGD, RMSprop, Adam, AdamW.

Each updates ``p.data`` in place from ``p.grad`` through ``autograd.kernels`` (numba or numpy),
records no graph, and bumps ``p._version`` so the engine's in-place guard stays truthful.
Parameters whose ``grad`` is None are skipped.

Two ways of use::

    opt = SGD(model.parameters(), learning_rate=0.1)    # PyTorch style
    opt.zero_grad(); loss.backward(); opt.step()

    model.compile(optimizer=Adam(), loss=...)           # Keras style: compile binds the
    model.compile(optimizer='adam', loss=...)           # parameters (also lazily built ones)
"""
from __future__ import annotations

import signal
import threading
from typing import Any, Iterable, Optional, Union

import numpy as np

import autograd as ag
from autograd import kernels
from .config import Configurable

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "get"]


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ag.InvalidValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


def _unit(name: str, value: float) -> float:
    v = float(value)
    if not 0.0 <= v < 1.0:
        raise ag.InvalidValueError(f"{name} must be in [0, 1), got {value!r}")
    return v


class _HoldInterrupt:
    """``with _HoldInterrupt():`` a SIGINT (Ctrl-C) during the block is delivered when it ends.

    Only the main thread receives signals, so elsewhere (or when Python does not own the
    SIGINT handler) this does nothing.  Costs two ``signal.signal`` calls."""

    __slots__ = ("prev", "caught")

    def __enter__(self) -> None:
        self.prev = self.caught = None
        if threading.current_thread() is threading.main_thread():
            prev = signal.getsignal(signal.SIGINT)
            if prev is not None and prev != signal.SIG_IGN:
                self.prev = signal.signal(signal.SIGINT, self._hold)

    def _hold(self, signum: int, frame: Any) -> None:
        self.caught = (signum, frame)

    def __exit__(self, *exc: Any) -> None:
        if self.prev is None:
            return
        signal.signal(signal.SIGINT, self.prev)
        if self.caught is not None:
            if callable(self.prev):
                self.prev(*self.caught)             # the default handler raises KeyboardInterrupt
            else:
                signal.raise_signal(signal.SIGINT)  # SIG_DFL: let it act as it would have


class Optimizer(Configurable):
    """Base class.  ``params`` : parameters (or a Module); more may be added with
    ``add_params``.  A number in its place is taken as the learning rate, so Keras's
    ``Adam(0.01)`` works.  ``step()`` updates every parameter that has a gradient;
    ``zero_grad()`` sets every ``grad`` to None."""

    _config_exclude = ("params",)          # nn.config: the parameters are not config
    _config_live = ("learning_rate",)      # callbacks change it: read it back


    def __init__(self, params: Optional[Iterable] = None, learning_rate: float = 0.01) -> None:
        if isinstance(params, (int, float)) and not isinstance(params, bool):
            # Keras habit: Adam(0.01) means the learning rate (a number is never a parameter list)
            params, learning_rate = None, params
        self.learning_rate = _positive("learning_rate", learning_rate, allow_zero=True)
        self.params: list[ag.Tensor] = []
        self._ids: set[int] = set()
        self.state: dict[int, dict[str, Any]] = {}
        self.iterations = 0
        if params is not None:
            self.add_params(params)

    def add_params(self, params: Iterable) -> None:
        """Bind more parameters (those already bound are ignored)."""
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        for p in params:
            if not isinstance(p, ag.Tensor):
                raise ag.ArgumentTypeError(f"{type(self).__name__}: parameters must be Tensors, got "
                                f"{type(p).__name__}")
            if not p.requires_grad:
                raise ag.InvalidValueError(f"{type(self).__name__}: a parameter must require grad "
                                 f"(shape {p.shape})")
            if id(p) not in self._ids:
                self._ids.add(id(p))
                self.params.append(p)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Apply one update to every bound parameter that has a gradient.

        Whole or not at all: every gradient is checked before any parameter changes, and a
        Ctrl-C (SIGINT) arriving during the updates is held back until they are done, so an
        interrupted ``fit`` never leaves a model half-stepped."""
        todo = []
        for p in self.params:
            g = p.grad
            if g is None:
                continue
            if isinstance(g, ag.Tensor):
                g = g.data
            if g.shape != p.shape:
                raise ag.ShapeError(f"{type(self).__name__}: gradient of shape {g.shape} for a "
                                    f"parameter of shape {p.shape}")
            todo.append((p, np.ascontiguousarray(g, dtype=p.dtype)))
        with _HoldInterrupt():
            self.iterations += 1
            for p, g in todo:
                data = p.data
                if not (data.flags.c_contiguous and data.flags.writeable):
                    p.data = data = np.ascontiguousarray(data).copy()
                st = self.state.get(id(p))
                if st is None:
                    st = self.state[id(p)] = self._init_state(data)
                self._update(data, g, st)
                p._version += 1

    def _init_state(self, data: np.ndarray) -> dict[str, Any]:
        return {}

    def _update(self, data: np.ndarray, grad: np.ndarray, st: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate}, {len(self.params)} params)"


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's form of momentum.

    ``g = grad + weight_decay * p``;  with momentum mu: ``v = mu v + g`` and
    ``p -= lr * (g + mu v)`` (nesterov) or ``p -= lr * v``;  without: ``p -= lr * g``.
    (Keras's ``v = mu v - lr g; p += v`` is the same for a constant learning rate.)
    """

    def __init__(self, params: Optional[Iterable] = None, learning_rate: float = 0.01,
                 momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, learning_rate)
        self.momentum = _positive("momentum", momentum, allow_zero=True)
        self.nesterov = bool(nesterov)
        self.weight_decay = _positive("weight_decay", weight_decay, allow_zero=True)
        if self.nesterov and not self.momentum:
            raise ag.InvalidValueError("SGD: nesterov=True needs momentum > 0")

    def _init_state(self, data):
        return {"velocity": np.zeros_like(data) if self.momentum else None}

    def _update(self, data, grad, st):
        kernels.sgd_update(data, grad, st["velocity"], self.learning_rate, self.momentum,
                           self.nesterov, self.weight_decay)


class RMSprop(Optimizer):
    """``g = grad + weight_decay * p;  v = rho v + (1 - rho) g**2;
    p -= lr * g / (sqrt(v) + epsilon)`` (v starts at 0)."""

    def __init__(self, params: Optional[Iterable] = None, learning_rate: float = 0.001,
                 rho: float = 0.9, epsilon: float = 1e-7, weight_decay: float = 0.0) -> None:
        super().__init__(params, learning_rate)
        self.rho = _unit("rho", rho)
        self.epsilon = _positive("epsilon", epsilon)
        self.weight_decay = _positive("weight_decay", weight_decay, allow_zero=True)

    def _init_state(self, data):
        return {"v": np.zeros_like(data)}

    def _update(self, data, grad, st):
        kernels.rmsprop_update(data, grad, st["v"], self.learning_rate, self.rho, self.epsilon,
                               self.weight_decay)


class Adam(Optimizer):
    """Adam, Algorithm 1 of Kingma & Ba (2015), t counting steps from 1::

        g = grad + weight_decay * p          (L2 penalty; see AdamW for decoupled decay)
        m = beta_1 m + (1 - beta_1) g;       v = beta_2 v + (1 - beta_2) g**2
        m_hat = m / (1 - beta_1**t);         v_hat = v / (1 - beta_2**t)
        p -= lr * m_hat / (sqrt(v_hat) + epsilon)
    """

    _decoupled = False

    def __init__(self, params: Optional[Iterable] = None, learning_rate: float = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, learning_rate)
        self.beta_1 = _unit("beta_1", beta_1)
        self.beta_2 = _unit("beta_2", beta_2)
        self.epsilon = _positive("epsilon", epsilon)
        self.weight_decay = _positive("weight_decay", weight_decay, allow_zero=True)

    def _init_state(self, data):
        return {"m": np.zeros_like(data), "v": np.zeros_like(data), "t": 0}

    def _update(self, data, grad, st):
        kernels.adam_update(data, grad, st["m"], st["v"], st["t"] + 1, self.learning_rate,
                            self.beta_1, self.beta_2, self.epsilon, self.weight_decay,
                            self._decoupled)
        st["t"] += 1                            # counted once m and v hold step t


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): first
    ``p -= lr * weight_decay * p``, then the Adam step on the plain gradient.
    Defaults as Keras's AdamW (weight_decay=0.004)."""

    _decoupled = True

    def __init__(self, params: Optional[Iterable] = None, learning_rate: float = 0.001,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float = 0.004) -> None:
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, weight_decay)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get(identifier: Union[str, Optimizer]) -> Optimizer:
    """An optimizer from a name ('sgd', 'adam', 'adamw', 'rmsprop'; default settings) or an
    Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ag.InvalidValueError(f"unknown optimizer {identifier!r}; one of {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ag.InvalidValueError(f"an optimizer must be a name or an Optimizer, got {identifier!r}")
