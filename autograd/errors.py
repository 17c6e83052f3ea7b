"""The library's exceptions.

Every error a user can meet is an :class:`AutogradError`, and also subclasses the builtin
exception a Python programmer would catch for it (``ValueError``, ``TypeError``, ...), so
``except ValueError`` keeps working.
"""
from __future__ import annotations

__all__ = [
    "AutogradError", "ShapeError", "DTypeError", "AxisError", "IndexOutOfRangeError",
    "InvalidValueError", "ArgumentTypeError",
    "GraphError", "InPlaceError", "GradcheckError", "AnomalyError", "describe",
    "AllocationError", "check_allocation",
    "OutputError", "NoVJPError", "UnsupportedFunctionError", "NotSupportedError",
]


class AutogradError(Exception):
    """Base class of every error raised by this library."""


class ShapeError(AutogradError, ValueError):
    """Operands whose shapes do not fit the operation (broadcasting, matmul, reshape...)."""


class DTypeError(AutogradError, TypeError):
    """A dtype the operation cannot take (complex, object, strings, or ints asked to require grad)."""


class AxisError(AutogradError, ValueError, IndexError):
    """An axis out of range for the array's number of dimensions, or repeated."""


class IndexOutOfRangeError(AutogradError, IndexError):
    """An index out of range in ``tensor[...]``."""


class InvalidValueError(AutogradError, ValueError):
    """A value outside what the operation accepts (e.g. a class label >= the number of classes)."""


class ArgumentTypeError(AutogradError, TypeError):
    """An argument of the wrong kind: not a Tensor where one is needed, len() of a 0-d tensor."""


class GraphError(AutogradError, RuntimeError):
    """Misuse of the graph: backward through a released graph, a missing seed gradient, ..."""


class InPlaceError(GraphError, TypeError):
    """An in-place change of a tensor that a graph still needs, or that requires grad
    (a TypeError too, as numpy/HIPS users catch for assignment into a traced array)."""


class GradcheckError(AutogradError, AssertionError):
    """Analytic and numeric gradients disagree (raised by ``gradcheck``/``gradgradcheck``)."""


class AnomalyError(AutogradError, FloatingPointError):
    """A NaN or inf produced inside ``detect_anomaly()``."""


class AllocationError(AutogradError, MemoryError):
    """An array too large for this machine's memory; names the op, the shape and the bytes."""


def _physical_memory() -> int:
    try:
        import os
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):   # not POSIX: no pre-check
        return 1 << 62


def check_allocation(op: str, shape: tuple, dtype) -> None:
    """Raise AllocationError before allocating an array of ``shape`` and ``dtype`` that could
    not fit in physical memory (Python integers: no overflow for any shape)."""
    import math
    import numpy as np
    n = math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize
    limit = _physical_memory()
    if n > limit:
        raise AllocationError(f"{op}: an array of shape {tuple(shape)} and dtype "
                              f"{np.dtype(dtype)} needs {n:,} bytes ({n / 2**30:,.1f} GiB), more "
                              f"than this machine's {limit / 2**30:,.1f} GiB of memory")


class OutputError(GraphError, TypeError):
    """A transform's function returned what it cannot differentiate (``grad`` of a
    non-scalar, a non-float output); a TypeError, as HIPS autograd raises."""


class NoVJPError(GraphError, NotImplementedError):
    """A primitive reached by backward has no vjp for that input (NotImplementedError, as HIPS)."""


class UnsupportedFunctionError(AutogradError, TypeError):
    """A numpy function with no differentiable implementation here was called on a tensor
    that requires grad (use ``autograd.numpy`` or a primitive of your own)."""


class NotSupportedError(AutogradError, NotImplementedError):
    """A HIPS-autograd internal this library does not provide (its trace node classes)."""


def describe(*arrays) -> str:
    """``'shapes (3, 4) and (5,), dtypes float32 and float64'`` for error messages."""
    shapes, dtypes = [], []
    for a in arrays:
        shapes.append(str(tuple(getattr(a, "shape", ()))))
        dtypes.append(str(getattr(a, "dtype", type(a).__name__)))
    if len(arrays) == 1:
        return f"shape {shapes[0]}, dtype {dtypes[0]}"
    return f"shapes {' and '.join(shapes)}, dtypes {' and '.join(dtypes)}"


class ConcretizationError(AutogradError, TypeError):
    """Python control flow (``if``, ``bool()``, ``float()``, ``.item()``) on the value of a
    tensor inside a function being traced by ``autograd.jit``: the compiled program could
    not follow a branch taken on a value it only knows at run time.  Names the line."""


class JitFallbackWarning(UserWarning):
    """``autograd.jit`` could not compile a function (it reads a traced value into numpy,
    draws random numbers, changes a tensor outside the recorded operations, ...) and runs
    it eagerly instead: the results are eager's, only the speed-up is lost."""
