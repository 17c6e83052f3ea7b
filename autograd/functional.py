"""Functional API: ``grad``, ``value_and_grad``, ``hvp`` (kept for its import path).

The transforms live in :mod:`autograd.transforms` (pytrees, argnum tuples, nesting to any
depth, the HIPS and JAX names); this module re-exports the three it has always had.
"""
from __future__ import annotations

from .transforms import grad, value_and_grad, hvp

__all__ = ["grad", "value_and_grad", "hvp"]
