"""Optimizers: SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam, Lion; and
``schedules`` for the learning rate.

Each updates ``p.data`` in place from ``p.grad`` through ``autograd.kernels`` (numba or numpy),
records no graph, and bumps ``p._version`` so the engine's in-place guard stays truthful.
Parameters whose ``grad`` is None are skipped.  Each docstring names the reference formula.

Two ways of use::

    opt = SGD(model.parameters(), learning_rate=0.1)    # PyTorch style (lr= works too)
    opt.zero_grad(); loss.backward(); opt.step()

    model.compile(optimizer=Adam(), loss=...)           # Keras style: compile binds the
    model.compile(optimizer='adam', loss=...)           # parameters (also lazily built ones)
"""
from __future__ import annotations

from typing import Any, Union

import autograd as ag

from . import schedules
from .adam import Adam, Adamax, AdamW, Nadam
from .adaptive import Adadelta, Adagrad, RMSprop
from .base import Optimizer, ParamState
from .lion import Lion
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax",
           "Nadam", "Lion", "schedules", "get", "ParamState"]

_BY_NAME = {c.__name__.lower(): c for c in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax,
                                            Nadam, Lion)}


def get(identifier: Union[str, Optimizer, dict, type]) -> Optimizer:
    """An optimizer from a name ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta',
    'adamax', 'nadam', 'lion'; default settings), a config dict ``{'class_name', 'config'}``,
    an Optimizer class, or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ag.InvalidValueError(f"unknown optimizer {identifier!r}; one of {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        key = str(identifier["class_name"]).lower()
        if key not in _BY_NAME:
            raise ag.InvalidValueError(f"unknown optimizer {identifier['class_name']!r}; one of "
                                       f"{sorted(_BY_NAME)}")
        return _BY_NAME[key].from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ag.InvalidValueError(f"an optimizer must be a name or an Optimizer, got {identifier!r}")
