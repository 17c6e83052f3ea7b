"""``embedding(ids, table)``: rows of a table looked up by integer ids (one node).

The gradient is a scatter-add into the table: ids that repeat accumulate.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, DTypeError, IndexOutOfRangeError
from ..registry import primitive
from ._util import data_of
from .shape import scatter_add

__all__ = ["embedding"]


def _check(ids, table):
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"embedding: ids must be integers, got {ids.dtype} (shape {ids.shape})")
    if table.dtype.kind != "f":
        raise DTypeError(f"embedding: table must be float, got {table.dtype} "
                         f"(shape {table.shape})")
    if table.ndim != 2:
        raise ShapeError(f"embedding: table must be 2-d (vocabulary, dim), got shape "
                         f"{table.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise IndexOutOfRangeError(f"embedding: ids must be in [0, {table.shape[0]}), got values "
                                   f"in [{ids.min()}, {ids.max()}] (table {table.shape})")


def _embedding_ref(ids, table):
    return np.asarray(table)[np.asarray(ids)]


@primitive(library=True, nin=2, differentiable=(1,), reference=_embedding_ref,
           domain=[None, None])
def embedding(ids, table):
    """``table[ids]``.  ids : integer array of any shape, values in [0, V).
    table : shape-(V, D), float.  Returns shape ``ids.shape + (D,)``, table's dtype."""
    ids = np.asarray(ids)
    _check(ids, table)
    return np.take(table, ids, axis=0)


def _embedding_fast(g, out, ids, table):
    # d table[v] = sum of g over the positions where ids == v
    ids = np.asarray(data_of(ids)).reshape(-1)
    gt = np.zeros(table.shape, dtype=table.dtype)
    np.add.at(gt, ids, np.asarray(g, dtype=table.dtype).reshape(ids.size, table.shape[1]))
    return None, gt


embedding.defvjp(lambda g, out, ids, table:
                 (None, scatter_add(g, np.asarray(data_of(ids)), data_of(table).shape)))
embedding.defvjp_fast(_embedding_fast)
