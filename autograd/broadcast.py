"""``unbroadcast``: the one place where a gradient is summed back to its operand's shape.

If ``x`` of shape ``(3, 1)`` was broadcast against ``(2, 3, 4)``, every element of ``x`` was
used ``2 * 4`` times, so its gradient is the incoming gradient summed over the axes that
broadcasting added (leading ones) or stretched (size-1 ones).
"""
from __future__ import annotations

from .errors import ShapeError

__all__ = ["unbroadcast"]


def unbroadcast(g, shape: tuple):
    """Sum ``g`` (ndarray or Tensor) over broadcast axes so that it has ``shape``.

    g : shape-(*B, *S') where S' broadcasts to... i.e. ``np.broadcast_shapes(shape, g.shape) == g.shape``
    Returns an array (or Tensor, differentiably) of shape ``shape`` and g's dtype.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise ShapeError(f"unbroadcast: gradient of shape {gshape} has fewer dims than {shape}")
    axes = list(range(lead))
    for i, s in enumerate(shape):
        gs = gshape[lead + i]
        if s == 1 and gs != 1:
            axes.append(lead + i)
        elif s != gs:
            raise ShapeError(f"unbroadcast: gradient of shape {gshape} cannot be summed to {shape}")
    if axes:
        g = g.sum(axis=tuple(axes), keepdims=True)
    return g.reshape(shape)
