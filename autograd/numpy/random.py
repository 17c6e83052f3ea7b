"""``autograd.numpy.random``: numpy's random module, passed through (random numbers carry
no gradient).  Only maps names."""
from __future__ import annotations

from typing import Any as _Any

import numpy.random as _random
from numpy.random import *  # noqa: F401,F403


def __getattr__(name: str) -> _Any:
    return getattr(_random, name)


__all__ = list(_random.__all__)
