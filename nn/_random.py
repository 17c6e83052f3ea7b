"""The one random generator the nn package draws from (initializers, shuffling).

``nn.set_seed(seed)`` replaces it with ``np.random.default_rng(seed)``, so the same seed gives
bit-identical weights at creation and after ``fit``.
"""
from __future__ import annotations

import random as _pyrandom
from typing import Optional

import numpy as np
from autograd.errors import InvalidValueError

__all__ = ["set_seed", "get_rng"]

_RNG: np.random.Generator = np.random.default_rng()


def set_seed(seed: Optional[int]) -> None:
    """Seed everything the library draws: the nn generator (initializers, ``fit`` shuffling).

    As Keras's ``set_random_seed`` does, this also seeds numpy's global generator and Python's
    ``random`` module, so user code written with ``np.random.rand`` becomes reproducible too.
    ``seed=None`` draws fresh entropy.
    """
    global _RNG
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)
                             or seed < 0):
        raise InvalidValueError(f"set_seed: seed must be a non-negative int or None, got {seed!r}")
    _RNG = np.random.default_rng(seed)
    if seed is not None:
        np.random.seed(int(seed) % 2**32)
        _pyrandom.seed(int(seed))


def get_rng() -> np.random.Generator:
    """The current module-level generator (changes identity on ``set_seed``)."""
    return _RNG
