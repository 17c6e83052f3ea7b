"""Learning-rate schedules (Keras's ``keras.optimizers.schedules``): callables of the step.

An optimizer calls its schedule with ``iterations``, the number of steps already taken (0
for the first), and uses the value as the learning rate of that step.  Each schedule has
``get_config()`` (its constructor arguments) and ``from_config(config)``.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import autograd as ag

from .base import _number, check_kwargs

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
           "serialize", "deserialize"]


def _pos(where: str, name: str, v: Any) -> float:
    x = _number(where, name, v)
    if x <= 0:
        raise ag.InvalidValueError(f"{where}: {name} must be > 0, got {v!r}")
    return x


def _nonneg(where: str, name: str, v: Any) -> float:
    x = _number(where, name, v)
    if x < 0:
        raise ag.InvalidValueError(f"{where}: {name} must be >= 0, got {v!r}")
    return x


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float``; subclasses define ``__call__``."""

    def __init__(self, **kwargs: Any) -> None:
        check_kwargs(type(self).__name__, kwargs, type(self).__init__)

    def __call__(self, step: int) -> float:  # pragma: no cover
        raise NotImplementedError

    def get_config(self) -> dict:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with staircase the
    exponent is floored (the rate drops every decay_steps steps)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        w = "ExponentialDecay"
        self.initial_learning_rate = _nonneg(w, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _pos(w, "decay_steps", decay_steps)
        self.decay_rate = _pos(w, "decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while step <= boundaries[0], ``values[i]`` while boundaries[i-1] < step
    <= boundaries[i], ``values[-1]`` after the last boundary.  len(values) = len(boundaries)+1."""

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        w = "PiecewiseConstantDecay"
        self.boundaries = [_number(w, "boundaries", b) for b in boundaries]
        self.values = [_nonneg(w, "values", v) for v in values]
        if len(self.values) != len(self.boundaries) + 1:
            raise ag.InvalidValueError(f"{w}: needs one more value than boundaries, got "
                                       f"{len(self.values)} values and {len(self.boundaries)} "
                                       f"boundaries")
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:])):
            raise ag.InvalidValueError(f"{w}: boundaries must increase, got {self.boundaries}")

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - s / decay_steps) ** power + end`` with s = min(step,
    decay_steps); with cycle, decay_steps grows to the next multiple of itself above step
    (``decay_steps * ceil(step / decay_steps)``, 1 at step 0)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        w = "PolynomialDecay"
        self.initial_learning_rate = _nonneg(w, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _pos(w, "decay_steps", decay_steps)
        self.end_learning_rate = _nonneg(w, "end_learning_rate", end_learning_rate)
        self.power = _number(w, "power", power)
        self.cycle = bool(cycle)

    def __call__(self, step):
        steps = self.decay_steps
        if self.cycle:
            steps = steps * (1.0 if step == 0 else math.ceil(step / steps))
        else:
            step = min(step, steps)
        frac = 1.0 - step / steps
        return ((self.initial_learning_rate - self.end_learning_rate) * frac ** self.power
                + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with staircase
    ``step / decay_steps`` is floored."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        w = "InverseTimeDecay"
        self.initial_learning_rate = _nonneg(w, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _pos(w, "decay_steps", decay_steps)
        self.decay_rate = _nonneg(w, "decay_rate", decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


def _cosine(step: float, decay_steps: float, alpha: float, start: float) -> float:
    frac = min(step, decay_steps) / decay_steps
    return start * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * frac)) + alpha)


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter's SGDR without restarts), with an optional linear
    warmup (Keras 3)::

        warmup (step < warmup_steps, when warmup_target is given):
            initial + (warmup_target - initial) * step / warmup_steps
        then, s = min(step - warmup_steps, decay_steps), top = warmup_target or initial:
            top * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 warmup_target: Any = None, warmup_steps: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        w = "CosineDecay"
        self.initial_learning_rate = _nonneg(w, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _pos(w, "decay_steps", decay_steps)
        self.alpha = _nonneg(w, "alpha", alpha)
        self.warmup_target = None if warmup_target is None else \
            _nonneg(w, "warmup_target", warmup_target)
        self.warmup_steps = _nonneg(w, "warmup_steps", warmup_steps)

    def __call__(self, step):
        if self.warmup_target is None:
            return _cosine(step, self.decay_steps, self.alpha, self.initial_learning_rate)
        if step < self.warmup_steps:
            return self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) \
                * step / self.warmup_steps
        return _cosine(step - self.warmup_steps, self.decay_steps, self.alpha, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017; Keras's form).

    The i-th period (i from 0) lasts ``first_decay_steps * t_mul**i`` steps and starts at
    ``initial_learning_rate * m_mul**i``; within a period of length T at position s:
    ``start * ((1 - alpha) * 0.5 * (1 + cos(pi s / T)) + alpha)``  (alpha scaled by the
    initial rate, not by m_mul, as in Keras)."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        w = "CosineDecayRestarts"
        self.initial_learning_rate = _nonneg(w, "initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _pos(w, "first_decay_steps", first_decay_steps)
        self.t_mul = _pos(w, "t_mul", t_mul)
        self.m_mul = _nonneg(w, "m_mul", m_mul)
        self.alpha = _nonneg(w, "alpha", alpha)

    def __call__(self, step):
        frac = step / self.first_decay_steps
        if self.t_mul == 1.0:
            i = math.floor(frac)
            frac -= i
        else:
            i = math.floor(math.log(1.0 - frac * (1.0 - self.t_mul)) / math.log(self.t_mul))
            done = (1.0 - self.t_mul ** i) / (1.0 - self.t_mul)
            frac = (frac - done) / self.t_mul ** i
        cos = 0.5 * self.m_mul ** i * (1.0 + math.cos(math.pi * frac))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cos + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha}


_CLASSES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                     InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(lr: Any) -> Any:
    """A number stays a number; a schedule becomes ``{'class_name', 'config'}``; another
    callable cannot be described and raises."""
    if isinstance(lr, (int, float)):
        return lr
    if isinstance(lr, LearningRateSchedule):
        return {"class_name": type(lr).__name__, "config": lr.get_config()}
    raise ag.ArgumentTypeError(f"the learning rate {lr!r} is a plain callable, which get_config "
                               f"cannot describe; use a LearningRateSchedule subclass with "
                               f"get_config()")


def deserialize(config: Any) -> Any:
    """The inverse of ``serialize``."""
    if isinstance(config, dict) and "class_name" in config:
        name = config["class_name"]
        if name not in _CLASSES:
            raise ag.InvalidValueError(f"unknown schedule {name!r}; one of {sorted(_CLASSES)}")
        return _CLASSES[name].from_config(config.get("config", {}))
    return config
