"""numba helpers of the generated jit code (imported by ``codegen_compile`` on first use)."""
from __future__ import annotations

import numba as nb


def _labels_ok(labels, n_classes):
    """Whether every integer label lies in [0, n_classes) (one pass, no temporaries)."""
    for i in range(labels.shape[0]):
        v = labels[i]
        if v < 0 or v >= n_classes:
            return False
    return True


labels_ok = nb.njit(cache=True, nogil=True)(_labels_ok)
