"""Weight initializers, by name or as objects, all drawing from a seedable generator.

Each initializer is called as ``init(shape, dtype='float32')`` and returns a new ndarray.
Random ones draw from the generator that ``nn.set_seed`` seeds, or from their own
``np.random.default_rng(seed)`` when given ``seed=`` (then every call gives the same values).

fan_in / fan_out of a shape-(in, units) kernel are ``in`` and ``units``.

=================  ==================================================================
glorot_uniform     U(-L, L),  L = sqrt(6 / (fan_in + fan_out))
glorot_normal      N(0, s) truncated at 2 s,  s = sqrt(2 / (fan_in + fan_out)) / 0.8796
he_uniform         U(-L, L),  L = sqrt(6 / fan_in)
he_normal          N(0, s) truncated at 2 s,  s = sqrt(2 / fan_in) / 0.8796
zeros, ones        constants
=================  ==================================================================

The truncated normals are rescaled by 0.8796 (the standard deviation of a unit normal
truncated to [-2, 2]) so the variance is the intended one, as in Keras.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Union

import numpy as np

import autograd as ag

from . import _random
from autograd.errors import InvalidValueError
from .config import Configurable
from . import saving as _saving

__all__ = ["Initializer", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "Zeros",
           "Ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros", "ones",
           "get", "Orthogonal", "RandomUniform"]

_TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def _fans(shape: tuple) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng: np.random.Generator, std: float, shape: tuple) -> np.ndarray:
    """N(0, std) redrawn until every value is inside [-2 std, 2 std]."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * std


class Initializer(Configurable):
    """Base class: ``init(shape, dtype='float32') -> ndarray``."""

    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed) if self.seed is not None else _random.get_rng()

    def __call__(self, shape: Any, dtype: Any = "float32") -> np.ndarray:
        shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        # sampled in float64, then cast: refuse what could not fit before numpy tries
        ag.errors.check_allocation(f"{type(self).__name__} initializer", shape, np.float64)
        _saving.check_allocation(shape, type(self).__name__)  # bounded while loading a file
        return np.asarray(self.sample(shape), dtype=np.dtype(dtype))

    def sample(self, shape: tuple) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed!r})"


class GlorotUniform(Initializer):
    """U(-L, L), L = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""

    def sample(self, shape):
        fan_in, fan_out = _fans(shape)
        lim = math.sqrt(6.0 / max(fan_in + fan_out, 1))
        return self._rng().uniform(-lim, lim, shape)


class GlorotNormal(Initializer):
    """Truncated N(0, s), s = sqrt(2 / (fan_in + fan_out)) / 0.8796."""

    def sample(self, shape):
        fan_in, fan_out = _fans(shape)
        return _truncated_normal(self._rng(), math.sqrt(2.0 / max(fan_in + fan_out, 1)) / _TRUNC_STD,
                                 shape)


class HeUniform(Initializer):
    """U(-L, L), L = sqrt(6 / fan_in) (He et al. 2015)."""

    def sample(self, shape):
        fan_in, _ = _fans(shape)
        lim = math.sqrt(6.0 / max(fan_in, 1))
        return self._rng().uniform(-lim, lim, shape)


class HeNormal(Initializer):
    """Truncated N(0, s), s = sqrt(2 / fan_in) / 0.8796."""

    def sample(self, shape):
        fan_in, _ = _fans(shape)
        return _truncated_normal(self._rng(), math.sqrt(2.0 / max(fan_in, 1)) / _TRUNC_STD, shape)


class Zeros(Initializer):
    """All zeros."""

    def sample(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones."""

    def sample(self, shape):
        return np.ones(shape)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix (QR of a normal matrix, signs fixed), times ``gain``;
    Keras' default for recurrent kernels.  Shapes with more than 2 dims are flattened to
    (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain: float = 1.0, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.gain = float(gain)

    def sample(self, shape):
        if len(shape) < 2:
            raise InvalidValueError(f"Orthogonal: needs a shape of at least 2 dims, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


class RandomUniform(Initializer):
    """U(minval, maxval); Keras' 'uniform' is U(-0.05, 0.05) (Embedding's default)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05,
                 seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape):
        return self._rng().uniform(self.minval, self.maxval, shape)


def _function(cls: type) -> Callable:
    def init(shape: Any, dtype: Any = "float32", seed: Optional[int] = None) -> np.ndarray:
        return cls(seed=seed)(shape, dtype)
    init.__doc__ = f"``{cls.__name__}(seed=seed)(shape, dtype)``: {cls.__doc__}"
    return init


glorot_uniform = _function(GlorotUniform)
glorot_normal = _function(GlorotNormal)
he_uniform = _function(HeUniform)
he_normal = _function(HeNormal)
zeros = _function(Zeros)
ones = _function(Ones)

_BY_NAME = {"glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
            "he_uniform": HeUniform, "he_normal": HeNormal, "zeros": Zeros, "ones": Ones,
            "orthogonal": Orthogonal, "uniform": RandomUniform, "random_uniform": RandomUniform}


def get(identifier: Union[str, Callable]) -> Callable:
    """An initializer from a name ('glorot_uniform', ...), an Initializer, or a callable
    ``f(shape, dtype) -> array``."""
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise InvalidValueError(f"unknown initializer {identifier!r}; one of {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if callable(identifier):
        return identifier
    raise InvalidValueError(f"an initializer must be a name or a callable, got {identifier!r}")
