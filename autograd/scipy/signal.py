"""``autograd.scipy.signal.convolve``: N-d convolution (modes 'full', 'valid', 'same')."""
from __future__ import annotations

import numpy as np
import scipy.signal as ssig

from ..errors import ShapeError, InvalidValueError
from ..registry import primitive
from ..ops.shape import getitem, scatter_add

__all__ = ["convolve"]


def _window(mode, na, nb):
    """(start, length) per axis of mode's output inside the 'full' output."""
    out = []
    for n, m in zip(na, nb):
        full = n + m - 1
        if mode == "full":
            out.append((0, full))
        elif mode == "valid":
            out.append((min(n, m) - 1, max(n, m) - min(n, m) + 1))
        else:                                                 # same: centred, a's length
            out.append(((full - n) // 2, n))
    return out


@primitive(name="convolve", library=False, domain=[None, None],
           reference=lambda a, b, mode="full": ssig.convolve(a, b, mode=mode))
def convolve(a, b, mode="full"):
    """scipy.signal.convolve(a, b, mode): a and b of the same number of dims; 'valid' needs
    one at least as large as the other in every dim.  Gradients: convolutions of the
    gradient (placed in the 'full' output) with the other input flipped."""
    if mode not in ("full", "valid", "same"):
        raise InvalidValueError(f"convolve: mode must be 'full', 'valid' or 'same', got {mode!r}")
    if a.ndim != b.ndim:
        raise ShapeError(f"convolve: inputs need the same number of dims, got shapes {a.shape} "
                         f"and {b.shape}")
    if mode == "valid" and not (all(x >= y for x, y in zip(a.shape, b.shape))
                                or all(y >= x for x, y in zip(a.shape, b.shape))):
        raise ShapeError(f"convolve: mode 'valid' needs one input at least as large as the "
                         f"other in every dim, got shapes {a.shape} and {b.shape}")
    return ssig.convolve(a, b, mode=mode)


def _flip(x):
    return getitem(x, (slice(None, None, -1),) * len(x.shape))


def _full_grad(g, a, b, mode):
    """g placed in the 'full' output (zeros outside the window)."""
    if mode == "full":
        return g
    win = _window(mode, a.shape, b.shape)
    idx = tuple(slice(s, s + n) for s, n in win)
    return scatter_add(g, idx=idx, shape=tuple(n + m - 1 for n, m in zip(a.shape, b.shape)))


convolve.defvjp(
    lambda g, out, a, b, mode="full": convolve(_full_grad(g, a, b, mode), _flip(b), mode="valid"),
    lambda g, out, a, b, mode="full": convolve(_full_grad(g, a, b, mode), _flip(a), mode="valid"))
