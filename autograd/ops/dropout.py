"""``dropout``: inverted dropout with the mask kept in the graph node.

``dropout(x, rate, seed=None, training=True, rng=None, noise_shape=None)`` draws a keep mask
(each element kept with probability ``1 - rate``), scaled by ``1 / (1 - rate)`` so the
expected value is unchanged, and records one node ``x * keep`` whose vjp is ``g * keep``.
With ``training=False`` or ``rate == 0`` it returns ``x`` itself: no node, no copy.
"""
from __future__ import annotations

import sys

import numpy as np

from ..errors import ShapeError, DTypeError, InvalidValueError, ArgumentTypeError
from ..registry import primitive

__all__ = ["dropout"]


def _dropout_ref(x, keep):
    return np.asarray(x) * keep


@primitive(library=True, name="dropout", nin=1, reference=_dropout_ref, domain=[None])
def _dropout(x, keep):
    """``x * keep`` for a drawn, scaled keep mask (0 or 1/(1-rate)) broadcastable to x."""
    if x.dtype.kind != "f":
        raise DTypeError(f"dropout: x must be float, got {x.dtype} (shape {x.shape})")
    keep = np.asarray(keep)
    if keep.dtype.kind != "f":
        raise DTypeError(f"dropout: the keep mask must be float, got {keep.dtype}")
    try:
        if np.broadcast_shapes(x.shape, keep.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"dropout: mask of shape {keep.shape} does not broadcast to x of "
                         f"shape {x.shape}") from None
    return x * keep.astype(x.dtype, copy=False)


_dropout.defvjp(lambda g, out, x, keep: g * keep)       # d(x keep) = keep dx


def _keep_mask(src, shape, rate, dt):
    """The scaled keep mask: ``(u >= rate) / (1 - rate)`` for ``u`` uniform in [0, 1) of
    ``shape``, drawn from ``src`` (a Generator, a function returning one, or a seed)."""
    if isinstance(src, np.random.Generator):
        rng = src
    elif callable(src):
        rng = src()
        if not isinstance(rng, np.random.Generator):
            raise ArgumentTypeError(f"dropout: rng() must return a numpy Generator, got "
                                    f"{type(rng).__name__}")
    else:
        rng = np.random.default_rng(src)
    keep = (rng.random(shape, dtype=np.float64) >= rate).astype(dt)
    keep *= dt.type(1.0 / (1.0 - rate))
    return keep


def _draw(fn, *args):
    """``fn(*args)``, through ``autograd.jit.random_draw`` when the compiler is loaded (so a
    compiled program draws again at each replay; without it no trace can be running)."""
    fx = sys.modules.get("autograd.jit.effects")
    return fn(*args) if fx is None else fx.random_draw(fn, *args)


def dropout(x, rate, seed=None, training=True, rng=None, noise_shape=None):
    """Inverted dropout.

    x : float Tensor or array.  rate : drop probability in [0, 1).  seed : int for a fresh
    ``np.random.default_rng(seed)``, or give ``rng`` (a ``np.random.Generator``, advanced by
    the draw, or a function returning the Generator to draw from, called at each draw);
    neither: a fresh unseeded generator.  noise_shape : the mask's shape, broadcast against
    x (``(N, 1, 1, C)`` drops whole channels, as SpatialDropout2D).
    Returns x unchanged (no node) when ``training`` is False or ``rate`` is 0; otherwise
    ``x * keep`` as one node, ``keep = (u >= rate) / (1 - rate)``.  Under ``autograd.jit``
    the mask is drawn again at every call of the compiled program, from the same generator
    (``autograd.jit.random_draw``), so compiled and eager runs give the same masks.
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
            or not 0.0 <= rate < 1.0:
        raise InvalidValueError(f"dropout: rate must be a number in [0, 1), got {rate!r}")
    if not training or rate == 0:
        return x
    if rng is None:
        src = seed
    elif isinstance(rng, np.random.Generator) or callable(rng):
        src = rng
    else:
        raise ArgumentTypeError(f"dropout: rng must be a numpy Generator, got "
                                f"{type(rng).__name__}")
    shape = np.shape(getattr(x, "_data", x)) if noise_shape is None else tuple(noise_shape)
    dt = np.dtype(getattr(getattr(x, "_data", x), "dtype", np.float64))
    dt = dt if dt.kind == "f" else np.dtype(np.float64)
    return _dropout(x, _draw(_keep_mask, src, shape, float(rate), dt))
