"""Matrix strategies and the input strategies of the linear-algebra primitives
(``autograd.ops.decomp``).  Imported by ``autograd.testing``; use them from there:
``from autograd.testing import matrices``.

Each matrix kind is built, not filtered, so that it is safely inside the op's domain:

- ``'general'``: any entries in [-1, 1];
- ``'well_conditioned'``: ``D (M + (n+1) I)``, M entries in [-1, 1], D random signs
  (strictly diagonally dominant: nonsingular, both signs of det);
- ``'spd'``: ``M M^T + n I`` (symmetric positive definite);
- ``'symmetric'``: ``Q diag(w) Q^T`` with eigenvalues at least 0.5 apart;
- ``'real_spectrum'``: ``P diag(w) P^-1``, P well conditioned and dense (numpy's ``eig``
  does not sort: its eigenvalue order jumps at triangular matrices), real eigenvalues at
  least 0.5 apart;
- ``'full_rank'``: ``U diag(s) V^T`` (any m x n), singular values in [0.5, ~5] at least
  0.3 apart.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .errors import InvalidValueError
from .tensor import Tensor

__all__ = ["matrices", "KINDS"]

KINDS = ("general", "well_conditioned", "spd", "symmetric", "real_spectrum", "full_rank")


def _entries(draw, shape):
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0, width=64)))


def _away(draw, shape):
    """Entries with |x| in [0.3, 3], either sign (away from the kinks of |x|^p at 0)."""
    mag = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.3, 3.0, width=64)))
    return np.where(draw(hnp.arrays(np.bool_, shape)), -mag, mag)


def _orthonormal(draw, batch, m, k):
    """Orthonormal columns: (..., m, k), k <= m."""
    e = _entries(draw, batch + (m, k)) + 4.0 * np.eye(m, k)
    return np.linalg.qr(e)[0]


def _spaced(draw, batch, k, low, high, gap):
    """k values in each batch entry, ascending, at least ``gap`` apart, starting in [low, high]."""
    start = draw(hnp.arrays(np.float64, batch + (1,), elements=st.floats(low, high)))
    steps = gap + draw(hnp.arrays(np.float64, batch + (k,), elements=st.floats(0.0, 1.0)))
    steps[..., 0] = 0.0
    return start + np.cumsum(steps, axis=-1)


_ROT = {k: np.linalg.qr(np.arange(1.0, k * k + 1).reshape(k, k) ** 0.5 + np.eye(k))[0]
        for k in range(1, 5)}


@st.composite
def _build(draw, kind, n, m, batch):
    if kind == "general":
        return _entries(draw, batch + (m, n))
    if kind == "full_rank":
        k = min(m, n)
        s = _spaced(draw, batch, k, 0.5, 1.0, 0.3)[..., ::-1]
        u, v = _orthonormal(draw, batch, m, k), _orthonormal(draw, batch, n, k)
        return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)
    if m != n:
        raise InvalidValueError(f"matrices: kind {kind!r} is square, got m={m}, n={n}")
    if kind == "well_conditioned":
        signs = np.where(draw(hnp.arrays(np.bool_, batch + (n, 1))), -1.0, 1.0)
        return signs * (_entries(draw, batch + (n, n)) + (n + 1) * np.eye(n))
    if kind == "spd":
        e = _entries(draw, batch + (n, n))
        a = e @ np.swapaxes(e, -1, -2) + n * np.eye(n)
        return (a + np.swapaxes(a, -1, -2)) / 2
    if kind == "symmetric":
        q = _orthonormal(draw, batch, n, n) @ _ROT[n]       # dense: away from diagonal A
        w = _spaced(draw, batch, n, -3.0, 3.0, 0.5)
        a = (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)
        return (a + np.swapaxes(a, -1, -2)) / 2
    if kind == "real_spectrum":
        # a fixed dense rotation keeps A away from triangular matrices, where numpy's
        # (unsorted) eigenvalue order jumps
        p = (_entries(draw, batch + (n, n)) + 4.0 * np.eye(n)) @ _ROT[n]
        w = _spaced(draw, batch, n, -3.0, 3.0, 0.5)
        return np.linalg.solve(np.swapaxes(p, -1, -2), np.swapaxes(p * w[..., None, :], -1, -2)
                               ).swapaxes(-1, -2)           # P diag(w) P^-1
    raise InvalidValueError(f"matrices: unknown kind {kind!r}; one of {KINDS}")


def matrices(kind: str = "general", n: Any = None, m: Any = None, batch: Any = None,
             requires_grad: bool = True) -> st.SearchStrategy[Tensor]:
    """float64 matrix Tensors of a structural ``kind`` (see the module notes).

    n, m : columns and rows (ints, strategies, or None for 1..3; m defaults to n for the
        square kinds and is drawn for 'general' / 'full_rank').
    batch : leading dims (a tuple, a strategy of tuples, or None for 0..2 dims of sides 1..2).
    """
    if kind not in KINDS:
        raise InvalidValueError(f"matrices: unknown kind {kind!r}; one of {KINDS}")
    side = st.integers(1, 3)

    @st.composite
    def strategy(draw):
        nn_ = draw(side) if n is None else (draw(n) if isinstance(n, st.SearchStrategy) else n)
        if m is None:
            mm = draw(side) if kind in ("general", "full_rank") else nn_
        else:
            mm = draw(m) if isinstance(m, st.SearchStrategy) else m
        if batch is None:
            b = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2))
        else:
            b = draw(batch) if isinstance(batch, st.SearchStrategy) else tuple(batch)
        a = np.ascontiguousarray(draw(_build(kind, nn_, mm, tuple(b))))
        return Tensor(a, requires_grad=requires_grad)
    return strategy()


# ============================================================================ op strategies
def _register():
    from .testing import register_op_strategy, OpCase, _some_const, broadcastable_shapes

    def one(name, kind, **kw):
        @st.composite
        def cases(draw):
            return OpCase((draw(matrices(kind)),), {k: draw(v) for k, v in kw.items()})
        register_op_strategy(name, cases)

    one("inv", "well_conditioned")
    one("det", "well_conditioned")
    one("slogdet_logabsdet", "well_conditioned")
    one("eig_packed", "real_spectrum")
    one("svd_packed", "full_rank")
    one("svdvals", "full_rank")
    one("pinv", "full_rank")

    def _scramble(draw, a: Tensor, upper: bool) -> Tensor:
        """Random values in the triangle the op does not read (its gradient there is 0)."""
        d = a._data.copy()
        n = d.shape[-1]
        other = np.tril(np.ones((n, n)), -1) if upper else np.triu(np.ones((n, n)), 1)
        if draw(st.booleans()):
            d = d + other * _entries(draw, d.shape)
        return Tensor(d, requires_grad=True)

    @register_op_strategy("cholesky")
    @st.composite
    def _cholesky_cases(draw):
        upper = draw(st.booleans())
        return OpCase((_scramble(draw, draw(matrices("spd")), upper),), {"upper": upper})

    @register_op_strategy("eigh_packed")
    @st.composite
    def _eigh_cases(draw):
        uplo = draw(st.sampled_from("LU"))
        return OpCase((_scramble(draw, draw(matrices("symmetric")), uplo == "U"),),
                      {"UPLO": uplo})

    @register_op_strategy("qr_packed")
    @st.composite
    def _qr_cases(draw):
        m, n = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        b = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2))
        if m >= n:
            return OpCase((draw(matrices("full_rank", n=n, m=m, batch=b)),))
        x = draw(matrices("well_conditioned", n=m, batch=b))._data
        y = _entries(draw, b + (m, n - m))
        return OpCase((Tensor(np.concatenate([x, y], axis=-1), requires_grad=True),))

    @register_op_strategy("solve")
    @st.composite
    def _solve_cases(draw):
        n = draw(st.integers(1, 3))
        ba, bb = draw(broadcastable_shapes(2, max_dims=2, max_side=2))
        a = draw(matrices("well_conditioned", n=n, batch=ba))
        if draw(st.booleans()):
            b = Tensor(_entries(draw, (n,)) * 3, requires_grad=True)
        else:
            b = Tensor(_entries(draw, bb + (n, draw(st.integers(1, 3)))) * 3, requires_grad=True)
        return OpCase(_some_const(draw, [a, b]))

    @register_op_strategy("lstsq_solution")
    @st.composite
    def _lstsq_cases(draw):
        n = draw(st.integers(1, 3))
        mm = draw(st.integers(n, 4))                       # m >= n: full column rank
        a = draw(matrices("full_rank", n=n, m=mm, batch=()))
        shape = (mm,) if draw(st.booleans()) else (mm, draw(st.integers(1, 2)))
        b = Tensor(_entries(draw, shape) * 3, requires_grad=True)
        return OpCase(_some_const(draw, [a, b]))

    @register_op_strategy("norm")
    @st.composite
    def _norm_cases(draw):
        kind = draw(st.sampled_from(("flat", "vector", "matrix")))
        keepdims = draw(st.booleans())
        if kind == "flat":
            shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
            x = Tensor(_entries(draw, shape) * 3, requires_grad=True)
            return OpCase((x,), {"keepdims": keepdims})
        if kind == "vector":
            shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
            x = Tensor(_away(draw, shape), requires_grad=True)
            ord_ = draw(st.sampled_from((None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1, 2.5)))
            axis = None if len(shape) == 1 and draw(st.booleans()) else \
                draw(st.integers(-len(shape), len(shape) - 1))
            if axis is None and ord_ is None:
                axis = 0
            return OpCase((x,), {"ord": ord_, "axis": axis, "keepdims": keepdims})
        ord_ = draw(st.sampled_from((None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf)))
        b = draw(hnp.array_shapes(min_dims=0, max_dims=1, min_side=1, max_side=2))
        a = draw(matrices("full_rank", batch=b))._data * 2
        nd = a.ndim
        if nd == 2 and draw(st.booleans()):
            axis = None if ord_ is not None else (0, 1)
            if draw(st.booleans()):
                a, axis = a.T.copy(), ((1, 0) if axis is not None else None)
        else:
            r, c = draw(st.permutations(range(nd)))[:2]
            a = np.moveaxis(a, (-2, -1), (r, c)).copy()
            axis = (r - nd if draw(st.booleans()) else r, c)
        return OpCase((Tensor(a, requires_grad=True),),
                      {"ord": ord_, "axis": axis, "keepdims": keepdims})


_register()
