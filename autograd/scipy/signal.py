"""``autograd.scipy.signal.convolve``: N-d convolution (modes 'full', 'valid', 'same'),
with HIPS autograd's generalization: ``axes=(axes_a, axes_b)`` pairs the axes convolved,
``dot_axes=(dot_a, dot_b)`` pairs axes summed over (a tensordot), the other axes are kept
(an outer product).  The output's axes: a's kept axes, b's kept axes, then the convolved
ones in the order of ``axes_a``; each convolved axis has the length scipy gives it for
``mode`` ('same': a's length, centred as scipy)."""
from __future__ import annotations

import numpy as np
import scipy.signal as ssig

from ..errors import ShapeError, InvalidValueError
from ..registry import primitive
from ..ops.shape import getitem, scatter_add, transpose, reshape
from ..ops._util import data_of

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


@primitive(name="convolve", library=False, nin=2, domain=[None, None],
           reference=lambda a, b, mode="full": ssig.convolve(a, b, mode=mode))
def _convolve(a, b, mode="full"):
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


_convolve.defvjp(
    lambda g, out, a, b, mode="full": _convolve(_full_grad(g, a, b, mode), _flip(b), mode="valid"),
    lambda g, out, a, b, mode="full": _convolve(_full_grad(g, a, b, mode), _flip(a), mode="valid"))


def _axis_pair(name, pair, nda, ndb):
    if pair is None:
        return [], []
    try:
        pa, pb = ([int(v) for v in p] for p in pair)
    except (TypeError, ValueError):
        raise InvalidValueError(f"convolve: {name} must be a pair of axis lists "
                                f"(axes_a, axes_b), got {pair!r}") from None
    if len(pa) != len(pb):
        raise InvalidValueError(f"convolve: {name} pairs {pa} with {pb}: lengths differ")
    for p, nd in ((pa, nda), (pb, ndb)):
        if any(not -nd <= v < nd for v in p):
            raise ShapeError(f"convolve: {name} {p} out of range for {nd} dims")
    return [v % nda for v in pa], [v % ndb for v in pb]


def convolve(a, b, axes=None, dot_axes=None, mode="full"):
    """scipy.signal.convolve(a, b, mode) when ``axes`` and ``dot_axes`` are None (a and b of
    the same number of dims).  Otherwise HIPS autograd's generalization (see the module
    docstring): ``axes=([...], [...])`` the convolved axis pairs (None: every axis that is not
    a dot axis, in order), ``dot_axes=([...], [...])`` the summed pairs.  A composition of the
    N-d convolution: a and b are laid out as (a kept, b kept, dot, conv) with size-1 axes for
    the other's kept ones (a 'full' convolution of a size-1 axis is an outer product), b is
    flipped on the dot axes (the middle entry of a full convolution is then the dot product),
    and mode's window is cut from the convolved axes.

    scipy's positional spelling ``convolve(a, b, 'valid')`` still means the mode: a string in
    the ``axes`` place is taken as ``mode`` (both given at once is refused)."""
    if isinstance(axes, str):
        if mode != "full" or dot_axes is not None:
            raise InvalidValueError(f"convolve: got the mode {axes!r} in the axes place and also "
                                    f"mode={mode!r} or dot_axes; pass mode by keyword")
        axes, mode = None, axes
    if axes is None and dot_axes is None:
        return _convolve(a, b, mode=mode)
    if mode not in ("full", "valid", "same"):
        raise InvalidValueError(f"convolve: mode must be 'full', 'valid' or 'same', got {mode!r}")
    sa, sb = np.shape(data_of(a)), np.shape(data_of(b))
    da, db = _axis_pair("dot_axes", dot_axes, len(sa), len(sb))
    if axes is None:
        ca = [i for i in range(len(sa)) if i not in da]
        cb = [i for i in range(len(sb)) if i not in db]
        if len(ca) != len(cb):
            raise ShapeError(f"convolve: axes=None pairs every non-dot axis, but a {sa} and b "
                             f"{sb} have {len(ca)} and {len(cb)}")
    else:
        ca, cb = _axis_pair("axes", axes, len(sa), len(sb))
    for used, nd, which in ((ca + da, len(sa), "a"), (cb + db, len(sb), "b")):
        if len(set(used)) != len(used):
            raise InvalidValueError(f"convolve: an axis of {which} appears twice in axes "
                                    f"{ca if which == 'a' else cb} / dot_axes "
                                    f"{da if which == 'a' else db}")
    if any(sa[i] != sb[j] for i, j in zip(da, db)):
        raise ShapeError(f"convolve: dot_axes {da}/{db} of shapes {sa} and {sb} differ in size")
    na, nb = [sa[i] for i in ca], [sb[j] for j in cb]
    if mode == "valid" and not (all(x >= y for x, y in zip(na, nb))
                                or all(y >= x for x, y in zip(na, nb))):
        raise ShapeError(f"convolve: mode 'valid' needs one input at least as large as the "
                         f"other in every convolved axis, got {na} and {nb}")
    ka = [i for i in range(len(sa)) if i not in ca + da]
    kb = [j for j in range(len(sb)) if j not in cb + db]
    # (a kept, 1 per b kept, dot, conv) and (1 per a kept, b kept, dot flipped, conv)
    a2 = reshape(transpose(a, ka + da + ca),
                 tuple(sa[i] for i in ka) + (1,) * len(kb) + tuple(sa[i] for i in da + ca))
    b2 = reshape(transpose(b, kb + db + cb),
                 (1,) * len(ka) + tuple(sb[j] for j in kb + db + cb))
    nk, nd = len(ka) + len(kb), len(da)
    if nd:
        b2 = getitem(b2, (slice(None),) * nk + (slice(None, None, -1),) * nd)
    full = _convolve(a2, b2, mode="full")
    idx = (slice(None),) * nk + tuple(sa[i] - 1 for i in da)
    idx += tuple(slice(s, s + n) for s, n in _window(mode, na, nb))
    return getitem(full, idx)
