"""``autograd.scipy``: scipy's special functions and distributions, differentiable.

Needs scipy (an optional extra: ``pip install -e ".[scipy]"``).  Submodules: ``special``
(primitives, registered in ``autograd.OPS`` when this package is imported), ``stats``
(distributions composed from them), ``linalg``, ``signal`` and ``integrate`` (``odeint``).
"""
from __future__ import annotations

import sys as _sys

try:
    import scipy as _scipy  # noqa: F401
    import scipy.special as _scipy_special  # noqa: F401
except ImportError as _e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "autograd.scipy needs scipy, an optional dependency: pip install scipy  (or pip "
        "install -e \".[scipy]\")") from _e

from . import special, stats, linalg, signal, integrate  # noqa: E402

__all__ = ["special", "stats", "linalg", "signal", "integrate"]

if "autograd.testing" in _sys.modules:      # hypothesis strategies for the registry sweep
    from .. import _testing_scipy  # noqa: F401
