"""matmul with numpy semantics: 1-d, 2-d and batched n-d (broadcast batch dims)."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..broadcast import unbroadcast
from ..registry import primitive
from .. import kernels as K
from .shape import reshape, expand_dims, transpose

__all__ = ["matmul"]


def _check(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: 0-d operands are not allowed (shapes {a.shape} and {b.shape}); "
                         f"use multiply")
    k1 = a.shape[-1]
    k2 = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k1 != k2:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} are not aligned ({k1} != {k2})")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ShapeError(f"matmul: batch dims of shapes {a.shape} and {b.shape} do not "
                             f"broadcast") from None


@primitive(library=True, domain=[None, None], reference=np.matmul)
def matmul(a, b):
    """a @ b.  a : shape-(..., M, K) or (K,);  b : shape-(..., K, N) or (K,).

    Returns shape-(..., M, N), with the 1-d dimensions dropped as numpy does.
    """
    _check(a, b)
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype.kind == "f":
        return K.matmul(a, b)                   # numba GEMM for small sizes, BLAS above
    return np.matmul(a, b)


def _swap(x):
    nd = len(x.shape)
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul_grads(g, a, b, want_a: bool, want_b: bool):
    """Gradients by lifting 1-d operands to matrices: a (K,) -> (1, K), b (K,) -> (K, 1).

    For C = A B:  dA = dC B^T,  dB = A^T dC, then batch dims are summed away and the lifted
    dims dropped again.
    """
    a_vec, b_vec = len(a.shape) == 1, len(b.shape) == 1
    a2 = expand_dims(a, 0) if a_vec else a
    b2 = expand_dims(b, -1) if b_vec else b
    g2 = g
    if a_vec:
        g2 = expand_dims(g2, -2 if not b_vec else 0)
    if b_vec:
        g2 = expand_dims(g2, -1)
    ga = gb = None
    if want_a:
        ga = matmul(g2, _swap(b2))
        if a_vec:
            ga = reshape(unbroadcast(ga, a2.shape), a.shape)
    if want_b:
        gb = matmul(_swap(a2), g2)
        if b_vec:
            gb = reshape(unbroadcast(gb, b2.shape), b.shape)
    return ga, gb


matmul.defvjp(lambda g, out, a, b: _matmul_grads(g, a, b, True, False)[0],
              lambda g, out, a, b: _matmul_grads(g, a, b, False, True)[1])


# ============================================================================= contractions
# (autograd.numpy): einsum is a primitive; tensordot, dot, inner, outer, vdot, kron and cross
# are compositions of matmul, einsum and the shape primitives.  Given no tensor they are
# numpy's own functions.
import builtins as _builtins
import string as _string

from .shape import numpy_for_arrays, _as_tensor_like, _data, getitem, stack, concatenate, \
    broadcast_to
from .elementwise import multiply
from .reduce import sum as _sum

try:  # numpy >= 2
    from numpy._core.einsumfunc import _parse_einsum_input
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.einsumfunc import _parse_einsum_input


def _einsum_vjp_k(k: int):
    """The vjp of einsum for operand k: the contraction of g with the other operands onto
    k's letters.  Letters only k has get a ones operand (broadcast), a letter repeated in k
    (a diagonal) is spread back with identity matrices, and size-1 axes that broadcast
    are summed back."""
    def vjp(g, out, *ops, subscripts, optimize=False):
        ins, outs = subscripts.split("->")
        ins = ins.split(",")
        sk, shape = ins[k], np.shape(_data(ops[k]))
        sizes = {}
        for s, o in zip(ins, ops):
            for c, n in zip(s, np.shape(_data(o))):
                if n != 1 or c not in sizes:        # size 1 broadcasts (to 0 too)
                    sizes[c] = n
        uniq = "".join(dict.fromkeys(sk))
        terms, args = [outs], [g]
        for i, (s, o) in enumerate(zip(ins, ops)):
            if i != k:
                terms.append(s)
                args.append(o)
        have = set("".join(terms))
        dt = _data(g).dtype
        for c in uniq:
            if c not in have:                       # summed over in k alone: broadcast back
                terms.append(c)
                args.append(np.ones(sizes[c], dtype=dt))
        grad = einsum_(*args, subscripts=",".join(terms) + "->" + uniq, optimize=optimize)
        want = tuple(sizes[c] for c in uniq)
        if tuple(grad.shape) != want:               # a letter only others broadcast from 1
            grad = broadcast_to(grad, want)
        if len(uniq) != len(sk):                    # repeated letters: onto the diagonal
            free = iter(c for c in _string.ascii_letters if c not in subscripts)
            target, seen, eyes, eterms = [], set(), [], [uniq]
            for c in sk:
                if c in seen:
                    f = next(free)
                    target.append(f)
                    eterms.append(c + f)
                    eyes.append(np.eye(sizes[c], dtype=dt))
                else:
                    seen.add(c)
                    target.append(c)
            grad = einsum_(grad, *eyes, subscripts=",".join(eterms) + "->" + "".join(target),
                           optimize=optimize)
        full = tuple(sizes[c] for c in sk)
        if full != shape:                           # size-1 axes that broadcast
            axes = tuple(i for i, (a, b) in enumerate(zip(shape, full)) if a != b)
            grad = _sum(grad, axis=axes, keepdims=True)
        return grad
    return vjp


class _EinsumVjps(tuple):
    """Per-operand vjps for any number of operands (einsum is variadic)."""

    def __getitem__(self, i):  # type: ignore[override]
        return _einsum_vjp_k(i)


@primitive(library=True, name="einsum", nin=-1, domain=[None],
           reference=lambda *ops, subscripts, optimize=False: np.einsum(subscripts, *ops))
def einsum_(*operands, subscripts, optimize=False):
    """einsum on explicit subscripts ``'ij,jk->ik'`` (no ellipsis: see ``einsum``)."""
    return np.einsum(subscripts, *operands, optimize=optimize)


einsum_.vjps = _EinsumVjps()


def _interleaved_to_string(args):
    """numpy's interleaved form (op, sublist, op, sublist, ..., [out]) as a subscripts
    string and operands."""
    letters = _string.ascii_letters

    def word(sub):
        return "".join("..." if s is Ellipsis else letters[s] for s in sub)
    ops, subs = list(args[0::2]), [word(s) for s in args[1::2]]
    out = None
    if len(args) % 2:
        out = word(args[-1])
        ops = ops[:-1]
    return ",".join(subs[:len(ops)]) + ("->" + out if out is not None else ""), ops


def einsum(*operands, out=None, optimize=False, **kwargs):
    """numpy's ``einsum``, differentiable in every operand: any subscripts, repeated
    letters (diagonals, traces), ellipsis and broadcasting, implicit or explicit output,
    string or interleaved form.  ``optimize`` as numpy's (``True``: numpy's contraction
    path, BLAS where it applies)."""
    from .npapi import refuse
    refuse("einsum", out, **{k: v is not None and v != "K" and v != "safe"
                             for k, v in kwargs.items()})
    if not _builtins.any(hasattr(o, "_data") for o in operands):
        return np.einsum(*operands, optimize=optimize, **kwargs)
    if isinstance(operands[0], str):
        subs, ops = operands[0], [_as_tensor_like(o) for o in operands[1:]]
    else:
        subs, ops = _interleaved_to_string(operands)
        ops = [_as_tensor_like(o) for o in ops]
    ins, outs, _ = _parse_einsum_input((subs, *[np.asarray(_data(o)) for o in ops]))
    return einsum_(*ops, subscripts=f"{ins}->{outs}", optimize=optimize)


@numpy_for_arrays(np.tensordot)
def tensordot(a, b, axes=2):
    """numpy's ``tensordot``: a transpose and reshape of each side, then one matmul."""
    a, b = _as_tensor_like(a), _as_tensor_like(b)
    na, nb = len(a.shape), len(b.shape)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ShapeError(f"tensordot: axes {axes!r} pair {len(ax_a)} with {len(ax_b)} axes")
    ax_a = [x % na if na else x for x in ax_a]
    ax_b = [x % nb if nb else x for x in ax_b]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(f"tensordot: shape-mismatch for sum: shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)}, axes {i} and {j}")
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [j for j in range(nb) if j not in ax_b]
    k = int(np.prod([a.shape[i] for i in ax_a], dtype=np.int64))
    a2 = reshape(transpose(a, tuple(free_a + ax_a)), (-1, k))
    b2 = reshape(transpose(b, tuple(ax_b + free_b)), (k, -1))
    return reshape(matmul(a2, b2), tuple(a.shape[i] for i in free_a) +
                   tuple(b.shape[j] for j in free_b))


@numpy_for_arrays(np.dot)
def dot(a, b, out=None):
    """numpy's ``dot`` (not ``matmul``): a product for 0-d, the inner product for two
    vectors, the matrix product for matrices, and for N-d the sum over a's last axis and
    b's second-to-last: dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])."""
    from .npapi import refuse
    refuse("dot", out)
    a, b = _as_tensor_like(a), _as_tensor_like(b)
    if len(a.shape) == 0 or len(b.shape) == 0:
        return multiply(a, b)
    if len(a.shape) <= 2 and len(b.shape) <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2 if len(b.shape) > 1 else 0]))


@numpy_for_arrays(np.inner)
def inner(a, b):
    """numpy's ``inner``: the sum over the last axes of a and b."""
    a, b = _as_tensor_like(a), _as_tensor_like(b)
    if len(a.shape) == 0 or len(b.shape) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


@numpy_for_arrays(np.outer)
def outer(a, b, out=None):
    """numpy's ``outer``: out[i, j] = a.ravel()[i] * b.ravel()[j]."""
    from .npapi import refuse
    refuse("outer", out)
    a, b = _as_tensor_like(a), _as_tensor_like(b)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


@numpy_for_arrays(np.vdot)
def vdot(a, b):
    """numpy's ``vdot``: the sum of the flattened product, the first operand conjugated
    when complex."""
    a, b = _as_tensor_like(a), _as_tensor_like(b)
    if a.size != b.size:
        raise ShapeError(f"vdot: sizes {a.size} and {b.size} differ")
    if np.iscomplexobj(_data(a)):
        from .complex import conj
        a = conj(a)
    return _sum(multiply(reshape(a, (-1,)), reshape(b, (-1,))))


@numpy_for_arrays(np.kron)
def kron(a, b):
    """numpy's ``kron``: blocks a[i] * b, by interleaving the axes of a broadcast product."""
    a, b = _as_tensor_like(a), _as_tensor_like(b)
    nd = _builtins.max(len(a.shape), len(b.shape))
    sa = (1,) * (nd - len(a.shape)) + tuple(a.shape)
    sb = (1,) * (nd - len(b.shape)) + tuple(b.shape)
    a2 = reshape(a, tuple(x for s in sa for x in (s, 1)))
    b2 = reshape(b, tuple(x for s in sb for x in (1, s)))
    return reshape(multiply(a2, b2), tuple(x * y for x, y in zip(sa, sb)))


@numpy_for_arrays(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """numpy's ``cross`` for 3-vectors (and 2-vectors, whose z is 0), broadcast over the
    other axes."""
    from .shape import moveaxis
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(_as_tensor_like(a), axisa, -1), moveaxis(_as_tensor_like(b), axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ShapeError(f"cross: incompatible dimensions for cross product (dimension must be "
                         f"2 or 3), shapes {tuple(a.shape)} and {tuple(b.shape)}")
    comp = lambda v, i: getitem(v, (Ellipsis, i)) if i < v.shape[-1] else 0.0   # noqa: E731
    a0, a1, a2 = (comp(a, i) for i in range(3))
    b0, b1, b2 = (comp(b, i) for i in range(3))
    z = a0 * b1 - a1 * b0
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return z
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z], axis=-1)
    return moveaxis(c, -1, axisc)


__all__ += ["einsum", "einsum_", "tensordot", "dot", "inner", "outer", "vdot", "kron", "cross"]
