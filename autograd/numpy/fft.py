"""``autograd.numpy.fft``: numpy's fft namespace, as far as it is differentiable here.

- ``fftshift`` / ``ifftshift``: differentiable (exact compositions of ``roll``);
- ``fftfreq`` / ``rfftfreq``: numpy's, passed through (no tensor inputs);
- ``fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn``: the primitives of
  :mod:`autograd.ops.fft` (numpy's arguments and values, gradients to any order);
- ``hfft`` / ``ihfft``: numpy's on plain arrays; on a tensor that requires grad they raise
  :class:`autograd.ArgumentTypeError` (never a silently dropped gradient).
"""
from __future__ import annotations

from typing import Any as _Any

import numpy as _np
import numpy.fft as _fft

from . import _guarded
from ..ops.npapi import FRONTS as _FRONTS, arg as _arg
from ..ops.fft import fft, ifft, fft2, ifft2, fftn, ifftn, rfft, irfft, rfft2, irfft2, \
    rfftn, irfftn  # noqa: F401

fftfreq = _fft.fftfreq
rfftfreq = _fft.rfftfreq

#: the transforms without a gradient here: refused on tensors that require grad
COMPLEX_VALUED = frozenset({"hfft", "ihfft"})


def _shift(x: _Any, axes: _Any, sign: int) -> _Any:
    x = _arg(x)
    shape = _np.shape(x)
    if axes is None:
        axes = tuple(range(len(shape)))
    elif isinstance(axes, (int, _np.integer)):
        axes = (int(axes),)
    shifts = tuple(sign * (shape[a] // 2) for a in axes)
    return _FRONTS["roll"](x, shifts, tuple(axes))


def fftshift(x, axes=None):
    """Zero frequency moved to the centre: ``roll`` by ``n // 2`` along ``axes`` (all by
    default).  Differentiable (its gradient is the inverse roll)."""
    return _shift(x, axes, 1)


def ifftshift(x, axes=None):
    """The inverse of :func:`fftshift`: ``roll`` by ``-(n // 2)`` along ``axes``."""
    return _shift(x, axes, -1)


def __getattr__(name: str) -> _Any:
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        obj = getattr(_fft, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    if callable(obj):
        obj = _guarded(f"fft.{name}" + (" (Hermitian transforms: no gradient here yet)"
                                         if name in COMPLEX_VALUED else ""), obj)
    globals()[name] = obj
    return obj


__all__ = sorted(set(_fft.__all__))
