"""The numba forms of ``optim_multi``: one call checks or updates every parameter of a step.
Imported only by ``autograd.kernels.optim_multi`` on first use (never by ``import autograd``).

Arguments are tuples of 1-d C-contiguous arrays of one float dtype (a parameter, its
gradient and its state slots, flattened: views); each per-array loop is the single-array
kernel of ``_jit.py``, so a multi-tensor update is, array by array, the same arithmetic.
"""
from __future__ import annotations

import math

import numba as nb

from ._jit import sgd_update, adam_update, rmsprop_update

_jit = nb.njit(cache=True, fastmath=False, nogil=True, error_model="numpy")   # see _jit.py


def _all_finite(gs):
    """True when no element of any array of ``gs`` is inf or NaN."""
    for k in range(len(gs)):
        g = gs[k]
        for i in range(g.size):
            if not math.isfinite(g[i]):
                return False
    return True


def _sgd_update_all(ps, gs, vs, lr, momentum, nesterov, weight_decay, check):
    """``_jit.sgd_update`` on each (p, g, v) of the tuples (v is p when momentum is 0);
    with ``check``, nothing (False) unless every gradient is finite."""
    if check and not all_finite(gs):
        return False
    for k in range(len(ps)):
        sgd_update(ps[k], gs[k], vs[k], lr, momentum, nesterov, weight_decay)
    return True


def _sgd_plain_all(ps, gs, lr, weight_decay, check):
    """``_sgd_update_all`` without momentum (no velocity tuple)."""
    if check and not all_finite(gs):
        return False
    for k in range(len(ps)):
        sgd_update(ps[k], gs[k], ps[k], lr, 0.0, False, weight_decay)
    return True


def _adam_update_all(ps, gs, ms, vs, lr, beta_1, beta_2, epsilon, weight_decay, decoupled,
                     bc1, bc2, check):
    """``_jit.adam_update`` on each (p, g, m, v) of the tuples (one step count); ``check``
    as in ``_sgd_update_all``."""
    if check and not all_finite(gs):
        return False
    for k in range(len(ps)):
        adam_update(ps[k], gs[k], ms[k], vs[k], lr, beta_1, beta_2, epsilon, weight_decay,
                    decoupled, bc1, bc2)
    return True


def _rmsprop_update_all(ps, gs, vs, lr, rho, epsilon, weight_decay, check):
    """``_jit.rmsprop_update`` on each (p, g, v) of the tuples; ``check`` as in
    ``_sgd_update_all``."""
    if check and not all_finite(gs):
        return False
    for k in range(len(ps)):
        rmsprop_update(ps[k], gs[k], vs[k], lr, rho, epsilon, weight_decay)
    return True


all_finite = _jit(_all_finite)
sgd_update_all = _jit(_sgd_update_all)
sgd_plain_all = _jit(_sgd_plain_all)
adam_update_all = _jit(_adam_update_all)
rmsprop_update_all = _jit(_rmsprop_update_all)
