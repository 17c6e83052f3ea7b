"""``host_effect``: a function that a compiled program calls again at every replay.

An optimizer's ``step`` changes parameters through numba kernels and keeps Python state
(the step count, a learning-rate schedule): it is not a primitive, and freezing what it did
at trace time would be wrong.  Decorated with ``host_effect``, a call made while
``autograd.jit`` traces is recorded as one ``host`` instruction (run as it is at each
replay, after the gradients the program computed are in ``.grad``); outside a trace the
decorator costs one thread-local read.  Traced arguments (tensors, arrays) are handed to
it as arrays at each replay; the others are fixed at trace time.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

__all__ = ["host_effect", "current"]


class _Local(threading.local):
    rec: Any = None


LOCAL = _Local()


def current() -> Any:
    """The recorder tracing in this thread, or None."""
    return LOCAL.rec


def host_effect(fn: Callable) -> Callable:
    """Mark ``fn`` as a side effect a compiled program re-runs at every call."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rec = LOCAL.rec
        if rec is None or rec.depth:
            return fn(*args, **kwargs)
        return rec.host(fn, args, kwargs)
    wrapper.__jit_host_effect__ = True  # type: ignore[attr-defined]
    return wrapper
