"""HIPS autograd's ``autograd.misc``: ``flatten``, ``const_graph`` (and ``misc.optimizers``)."""
from __future__ import annotations

from typing import Any, Callable

from .flatten import flatten

__all__ = ["flatten", "const_graph"]


def const_graph(fun: Callable, *args: Any, **kwargs: Any) -> Callable:
    """HIPS's ``const_graph``: there it caches the traced graph of ``fun`` for repeated calls
    with new values.  Here the graph is recorded per call anyway, so this returns ``fun``
    with ``args``/``kwargs`` bound in front (same results, no caching)."""
    def wrapped(*more: Any, **kw: Any):
        return fun(*args, *more, **dict(kwargs, **kw))
    wrapped.__name__ = getattr(fun, "__name__", "fun")
    return wrapped
