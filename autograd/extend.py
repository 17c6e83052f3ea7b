"""HIPS autograd's ``autograd.extend``: define primitives and their gradients the HIPS way.

>>> from autograd.extend import primitive, defvjp
>>> @primitive
... def logsumexp2(x): ...
>>> defvjp(logsumexp2, lambda ans, x: lambda g: g * np.exp(x - ans))

Such a primitive is a :class:`~autograd.registry.Primitive` registered in ``autograd.OPS``,
differentiated by the one engine.  ``VJPNode``/``JVPNode`` are placeholders that raise
:class:`~autograd.errors.NotSupportedError` when instantiated (the graph here is
``autograd.graph.Node``).
"""
from __future__ import annotations

from .core import (primitive, notrace_primitive, register_notrace, defvjp, defvjp_argnum,
                   defvjp_argnums, defjvp, defjvp_argnum, defjvp_argnums, def_linear, vspace,
                   VSpace, SparseObject, VJPNode, JVPNode)
from .tracer import Box

__all__ = ["primitive", "notrace_primitive", "register_notrace", "defvjp", "defvjp_argnum",
           "defvjp_argnums", "defjvp", "defjvp_argnum", "defjvp_argnums", "def_linear",
           "vspace", "VSpace", "SparseObject", "VJPNode", "JVPNode", "Box"]
