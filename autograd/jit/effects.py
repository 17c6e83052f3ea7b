"""``host_effect``: a function that a compiled program calls again at every replay.

An optimizer's ``step`` changes parameters through numba kernels and keeps Python state
(the step count, a learning-rate schedule): it is not a primitive, and freezing what it did
at trace time would be wrong.  Decorated with ``host_effect``, a call made while
``autograd.jit`` traces is recorded as one ``host`` instruction (run as it is at each
replay, after the gradients the program computed are in ``.grad``); outside a trace the
decorator costs one thread-local read.  Traced arguments (tensors, arrays) are handed to
it as arrays at each replay; the others are fixed at trace time.

``random_draw``: a random draw a compiled program makes again at every replay.  A draw made
with numpy while tracing would otherwise be a constant of the program (the same mask at
every step: a silent wrong answer; the two-trace check catches it and falls back).
``random_draw(fn, *args)`` calls ``fn(*args)`` (an ndarray, e.g. a dropout keep mask drawn
from a generator); while ``autograd.jit`` traces, that call is recorded as a program value
that each replay computes by calling ``fn(*args)`` again, in the order of the program's
other effects, so a replay consumes the generator exactly as the eager run does and gives
the same numbers for the same seed.  ``args`` are fixed at trace time (compared between
the two traces: pass the same generator object, or a function returning the generator to
use, called at each draw, for one that may be replaced, as ``nn.set_seed`` replaces the nn
generator).
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

__all__ = ["host_effect", "random_draw", "current"]


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


def random_draw(fn: Callable, *args: Any) -> Any:
    """``fn(*args)``, a random draw (an ndarray); while ``autograd.jit`` traces, recorded
    as a value the compiled program draws again, calling ``fn(*args)``, at every replay."""
    rec = LOCAL.rec
    if rec is None or rec.depth:
        return fn(*args)
    return rec.draw(fn, args)
