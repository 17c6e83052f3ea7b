"""The primitive registry: ``@primitive`` / ``defvjp`` and ``OPS``, every primitive by name.

A primitive is a forward on numpy arrays plus its vector-Jacobian product (vjp)::

    @primitive(domain=[(0, None)])          # log wants x > 0
    def log(x):
        return np.log(x)

    @log.defvjp
    def log_vjp(g, out, x):                 # d log(x) = dx / x
        return g / x

The vjp gets the incoming gradient ``g`` (shape of the output), the output ``out`` and the
forward's arguments, and returns one gradient per tensor input (``None`` where an input
gets none).  The engine sums each gradient back to its input's shape (``unbroadcast``) and
casts it to its dtype, so a vjp may return a broadcast-shaped gradient.

vjps are written with this library's own functions (``exp``, ``sum``, ``where``, ...), which
act on plain ndarrays when given ndarrays and record a graph when given tensors.  So the same
vjp serves the ordinary (first-order, numpy-only) backward and a recorded backward
(``create_graph=True``) for higher-order gradients.  A primitive may add a numpy-only
``defvjp_fast`` that the first-order backward prefers (fused kernels use this).

The library's ops and a user's custom ops go through this same mechanism and both land in
``OPS``, which the test suite sweeps.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .errors import AutogradError, DTypeError, ShapeError, GraphError, AxisError, \
    IndexOutOfRangeError, InvalidValueError, ArgumentTypeError, NoVJPError, describe
from .graph import MODE, Node, check_finite, user_frame

__all__ = ["Primitive", "primitive", "OPS", "at_points"]

#: Every primitive, library's and user's, by name.
OPS: dict[str, "Primitive"] = {}

_SCALARS = (float, int, bool, np.float64, np.float32, np.int64, np.int32, np.bool_)
_OK_KINDS = "biufc"

#: Becomes True the first time a complex tensor takes part in a recorded graph (a complex
#: leaf that requires grad, or a recorded complex result).  Until then the recording path
#: pays one global test for complex support; after it, a primitive not declared
#: ``complex=True`` checks its differentiated inputs and refuses complex ones.
_COMPLEX_SEEN = False


def complex_seen() -> None:
    """Switch on the complex checks of the recording path (see ``_COMPLEX_SEEN``)."""
    global _COMPLEX_SEEN
    _COMPLEX_SEEN = True

Tensor: Any = None  # set by tensor.py (import cycle)


def at_points(*points: float) -> Callable:
    """A ``kinks`` declaration: the first input is not differentiable at these values."""
    def distance(x, *rest, **params):
        x = np.asarray(x)
        x = x if x.dtype.kind == "c" else x.astype(np.float64)   # complex: distance in C
        return np.min(np.abs(x[..., None] - np.asarray(points, dtype=np.float64)), axis=-1)
    distance.points = points  # type: ignore[attr-defined]
    return distance


def _to_array(name: str, a: Any) -> Any:
    """A non-tensor operand as numpy sees it, refusing dtypes the library does not compute in."""
    if type(a) is np.ndarray:
        if a.dtype.kind not in _OK_KINDS:
            raise DTypeError(f"{name}: unsupported dtype {a.dtype} (shape {a.shape}); "
                             f"use a float, complex, integer or bool array")
        return a
    if isinstance(a, _SCALARS) or a is None:  # None: an optional input left out (dense's bias)
        return a
    if isinstance(a, complex):
        return a              # a python complex stays weak in numpy's promotion, as a float

    try:
        arr = np.asarray(a)
    except ValueError as e:  # ragged nested lists
        raise ShapeError(f"{name}: cannot make an array of {type(a).__name__} ({e})") from None
    if arr.dtype.kind not in _OK_KINDS:
        raise DTypeError(f"{name}: unsupported operand {type(a).__name__} of dtype {arr.dtype}; "
                         f"use a float, complex, integer or bool array")
    return arr


def _check_domain(name: str, domain: Optional[Sequence], nin: int) -> Optional[tuple]:
    """``domain`` as a tuple of ``None`` / ``(low, high)`` entries, one per tensor input."""
    if domain is None:
        return None
    domain = tuple(None if d is None else tuple(d) for d in domain)
    want = nin if nin >= 0 else 1
    if len(domain) != want:
        raise InvalidValueError(f"primitive {name}: domain has {len(domain)} entries for {want} "
                         f"tensor input(s); give one None or (low, high) per input")
    for d in domain:
        if d is not None and (len(d) != 2 or (d[0] is not None and d[1] is not None
                                               and not d[0] < d[1])):
            raise InvalidValueError(f"primitive {name}: domain entry {d!r} is not (low, high) with "
                             f"low < high")
    return domain


class Primitive:
    """A differentiable primitive: forward, vjp(s) and what tests need to sample it.

    Attributes
    ----------
    name : str              key in ``OPS``
    fwd : callable          forward on ndarrays (and static parameters)
    nin : int               how many leading positional arguments are tensor inputs (-1: all)
    vjp : callable | None   ``vjp(g, out, *args, **kwargs) -> gradient per input``
    vjps : tuple | None     per-input vjps (only the needed ones are called)
    vjp_fast : callable | None  numpy-only first-order vjp (preferred when not recording)
    domain : tuple | None   where tests sample each tensor input: one entry per input, each
                            ``None`` (unbounded: any finite value) or ``(low, high)`` (open
                            bounds, either may be None); for varargs primitives (``nin=-1``)
                            one entry that applies to every input.  ``domain=None`` (the
                            default) means *not declared*: ``autograd.testing`` then samples
                            unbounded values, but the library's completeness test requires
                            every library primitive to declare it, unbounded ones included
                            (``domain=[None]``).
    kinks : callable | None ``kinks(*inputs, **params) -> distance`` to the nearest point of
                            non-differentiability (tests keep samples away from them)
    differentiable : tuple  input indices that get gradients
    higher_order : bool     whether the vjp is itself differentiable (grad of grad)
    reference : callable | None  numpy reference for the forward (tests)
    aux : bool              the forward takes ``want_aux`` and returns ``(out, aux)``: something
                            it computed anyway that the fast vjp reuses (``vjp_fast(...,
                            aux=...)``), e.g. the softmax-cross-entropy gradient
    complex : bool          whether the primitive takes complex inputs in a recorded graph
                            (its vjp follows the convention of ``autograd.ops.complex``:
                            HIPS autograd's and JAX's).  False (the default): a recorded
                            call with a complex input or result raises DTypeError naming
                            the op, never a wrong gradient.
    reads : dict | None     ``{input index: indices of the inputs whose data its vjp reads}``;
                            a node saves (and guards against in-place change) only those of
                            the inputs that need a gradient.  None (the default): every
                            tensor input is saved.  ``add`` is ``{0: (), 1: ()}``,
                            ``multiply`` ``{0: (1,), 1: (0,)}``.
    """

    def __init__(self, fwd: Callable, *, name: Optional[str] = None, nin: Optional[int] = None,
                 domain: Optional[Sequence] = None, kinks: Optional[Callable] = None,
                 differentiable: Optional[Sequence[int]] = None, higher_order: bool = True,
                 reference: Optional[Callable] = None, library: bool = False,
                 register: bool = True, aux: bool = False, complex: bool = False) -> None:
        self.fwd = fwd
        self.complex = bool(complex)
        self.name = name or fwd.__name__
        if nin is None:
            nin = 0
            for p in inspect.signature(fwd).parameters.values():
                if p.kind == p.VAR_POSITIONAL:
                    nin = -1
                    break
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
                    nin += 1
        self.nin = nin
        self._innames = _input_names(fwd, nin)
        self.vjp: Optional[Callable] = None
        self.vjps: Optional[tuple] = None
        self.vjp_fast: Optional[Callable] = None
        self.fast_needs = False
        self.domain = _check_domain(self.name, domain, nin)
        self.kinks = kinks
        self.differentiable = tuple(differentiable) if differentiable is not None else None
        self.higher_order = higher_order
        self.aux = aux
        self.reads: Optional[dict] = None
        if reference is None and library:
            reference = getattr(np, self.name, None)
        self.reference = reference
        self.library = library
        functools.update_wrapper(self, fwd)  # type: ignore[arg-type]
        if register:
            old = OPS.get(self.name)
            if old is not None and old.library and not library:
                raise InvalidValueError(f"primitive: the name {self.name!r} belongs to a library "
                                 f"primitive; pass name=... to @primitive")
            OPS[self.name] = self

    # ------------------------------------------------------------------ declaring
    def defvjp(self, *fns: Callable) -> Callable:
        """Declare the vjp.  As a decorator on one function returning one gradient per input,
        or called with one function per input (only those whose input needs a gradient run)."""
        if len(fns) == 1:
            self.vjp = fns[0]
            self.vjps = None
            return fns[0]
        if self.nin >= 0 and len(fns) != self.nin:
            raise InvalidValueError(f"{self.name}.defvjp: {len(fns)} vjps for {self.nin} inputs")
        self.vjps = tuple(fns)
        self.vjp = None
        return fns[0]

    def defvjp_fast(self, fn: Optional[Callable] = None, *, needs: bool = False):
        """A numpy-only first-order vjp, used by the ordinary backward in place of the
        differentiable one (for fused kernels); same signature as ``defvjp``'s.

        With ``needs=True`` (``@f.defvjp_fast(needs=True)``) it is also given ``needs=``, a
        list of bools, one per input, True where the input wants a gradient, so it can skip
        work (a Dense layer's input gradient on the first layer, a GEMM)."""
        if fn is None:
            return lambda f: self.defvjp_fast(f, needs=needs)
        self.vjp_fast = fn
        self.fast_needs = needs
        return fn

    def call_vjp(self, g, out, args, kw, parents, higher: bool, aux=None):
        if not higher and self.vjp_fast is not None:
            if self.aux:
                kw = dict(kw, aux=aux)
            if self.fast_needs:
                needs = [False] * len(args)
                for i, _ in parents:
                    needs[i] = True
                gs = self.vjp_fast(g, out, *args, needs=needs, **kw)
            else:
                gs = self.vjp_fast(g, out, *args, **kw)
        elif self.vjps is not None:
            gs = [None] * len(args)
            for i, _ in parents:
                f = self.vjps[i]
                if f is not None:
                    gs[i] = f(g, out, *args, **kw)
            return gs
        elif self.vjp is not None:
            if higher and not self.higher_order:
                raise GraphError(f"{self.name}: its vjp is not differentiable; "
                                 f"higher-order gradients through it are not supported")
            gs = self.vjp(g, out, *args, **kw)
        else:
            raise NoVJPError(f"{self.name}: no vjp defined (declare one with @{self.name}.defvjp)")
        if not isinstance(gs, (tuple, list)):
            gs = (gs,)
        return gs

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        nin = self.nin
        if nin < 0:
            nin = len(args)
        elif len(args) < nin:
            args = self._bind(args, kwargs)
            kwargs = {k: v for k, v in kwargs.items() if k not in self._innames}
        datas = None
        parents = None
        rec = MODE.grad
        T = Tensor
        tens = []
        convert = False
        for i in range(nin):
            a = args[i]
            if isinstance(a, T):
                if datas is None:
                    datas = list(args)
                datas[i] = a._data
                tens.append(a)
                if rec and a._rg:      # the input's node, or the leaf tensor itself
                    if parents is None:
                        parents = [(i, a._node or a)]
                    else:
                        parents.append((i, a._node or a))
            elif type(a) is np.ndarray:
                if a.dtype.kind not in _OK_KINDS:
                    convert = True          # (_to_array refuses it)
            elif a is not None and type(a) is not float and type(a) is not int:
                if (type(a) is list or type(a) is tuple) and _holds_tensor(a):
                    # a (nested) list of tensors: stacked, so the graph is kept
                    return self(*args[:i], _stack_nested(a), *args[i + 1:], **kwargs)
                convert = True              # (an ndarray of a library kind, None, a float
                                            # or an int: _to_array would keep it as it is)
        if datas is None:
            # No tensor: plain numpy in, plain numpy out (how vjps run in first order).
            try:
                if self.aux:
                    return self.fwd(*args, want_aux=False, **kwargs)[0]
                return self.fwd(*args, **kwargs)
            except AttributeError:   # python scalars or lists where the forward wants arrays
                if not any(type(a) is not np.ndarray for a in args[:nin]):
                    raise
                arrs = [a if a is None else np.asarray(_to_array(self.name, a)) for a in args[:nin]]
                return self(*arrs, *args[nin:], **kwargs)
        if convert:
            for i in range(nin):
                a = args[i]
                if not isinstance(a, T):
                    datas[i] = _to_array(self.name, a)
        try:
            if self.aux:
                out, aux = self.fwd(*datas, want_aux=parents is not None, **kwargs)
            else:
                out = self.fwd(*datas, **kwargs)
        except AutogradError:
            raise
        except AttributeError:
            # a python scalar where the forward wants an array: once more with 0-d arrays
            if any(type(a) in (float, int, complex) for a in args[:nin]):
                return self(*[np.asarray(a) if type(a) in (float, int, complex) else a
                              for a in args[:nin]], *args[nin:], **kwargs)
            raise ArgumentTypeError(f"{self.name}: an input is not an array or tensor "
                                    f"({describe(*datas[:nin])})") from None
        except (ValueError, TypeError, IndexError) as e:
            raise self._wrap_error(e, datas[:nin]) from None
        except MemoryError as e:
            raise _allocation_error(self.name, e, datas[:nin]) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        anomaly = MODE.anomaly
        if anomaly:
            check_finite(self.name, [out], f"forward at {user_frame()}")
        kind = out.dtype.kind
        if parents is None or (kind != "f" and kind != "c"):
            res = T._make(out)
        else:
            if _COMPLEX_SEEN or kind == "c":
                self._check_complex(datas, parents, kind, nin)
            reads = self.reads
            if reads is not None:  # only the inputs the needed vjps read
                need = {j for i, _ in parents for j in reads.get(i, ())}
                tens = [args[j] for j in sorted(need) if isinstance(args[j], T)]
            node = Node(self, datas, kwargs, parents, out, tens)
            if self.aux:
                node.aux = aux
            if anomaly:
                node.site = user_frame()
            res = T._make(out, node)
        if out.base is not None:   # a view of an input: share its version and saved count
            for a in args[:nin]:
                if isinstance(a, T) and np.may_share_memory(out, a._data):
                    res._base = a._base if a._base is not None else a
                    break
        return res

    def _check_complex(self, datas: list, parents: list, kind: str, nin: int) -> None:
        """A recorded call with a complex result or a complex differentiated input: allowed
        for primitives declared ``complex=True``, refused for the others."""
        if self.complex:
            if kind == "c":
                complex_seen()
            return
        if kind == "c" or any(datas[i].dtype.kind == "c" for i, _ in parents):
            raise DTypeError(
                f"{self.name}: complex values are not supported by this primitive in a "
                f"differentiated computation ({describe(*datas[:nin])}); its gradient is "
                f"defined for real values only (primitives declared complex=True take complex "
                f"numbers: see autograd.ops.complex)")

    def _bind(self, args: tuple, kwargs: dict) -> tuple:
        """Tensor inputs given by keyword (``where(condition=c, x=a, y=b)``) moved to their places."""
        names = self._innames
        out = list(args)
        for name in names[len(args):]:
            if name not in kwargs:
                raise ArgumentTypeError(f"{self.name}: missing input {name!r} (expects "
                                        f"{', '.join(names)})")
            out.append(kwargs[name])
        return tuple(out)

    def _wrap_error(self, e: Exception, inputs: list) -> AutogradError:
        msg = f"{self.name}: {e} ({describe(*inputs)})"
        if "axis" in str(e) and not str(e).startswith("index"):
            return AxisError(msg)
        if isinstance(e, IndexError):
            return IndexOutOfRangeError(msg)
        if isinstance(e, TypeError):
            return DTypeError(msg)
        return ShapeError(msg)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _allocation_error(name: str, e: MemoryError, inputs: list):
    """numpy's MemoryError as the library's, naming the op, the shape and the bytes."""
    from .errors import AllocationError
    shape, dt = getattr(e, "shape", None), getattr(e, "dtype", None)
    if shape is not None and dt is not None:
        n = int(np.prod(shape, dtype=object)) * np.dtype(dt).itemsize
        what = f"an array of shape {tuple(shape)} and dtype {dt} ({n:,} bytes, {n / 2**30:,.1f} GiB)"
    else:
        what = "its result"
    return AllocationError(f"{name}: not enough memory for {what} ({describe(*inputs)})")


def _input_names(fwd: Callable, nin: int) -> tuple:
    """Names of the first ``nin`` positional parameters (tensor inputs given by keyword)."""
    if nin <= 0:
        return ()
    try:
        ps = [p.name for p in inspect.signature(fwd).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return ()
    return tuple(ps[:nin])


def _holds_tensor(seq) -> bool:
    for e in seq:
        if isinstance(e, Tensor) or ((type(e) is list or type(e) is tuple) and _holds_tensor(e)):
            return True
    return False


def _stack_nested(seq):
    """A (nested) list of tensors and numbers as one tensor, recorded with ``stack``."""
    from .ops.shape import stack
    return stack([_stack_nested(e) if type(e) is list or type(e) is tuple else e for e in seq])


def primitive(fwd: Optional[Callable] = None, **options: Any):
    """Make a differentiable primitive from a forward on numpy arrays.

    ``@primitive`` or ``@primitive(name=..., nin=..., domain=..., kinks=..., higher_order=...)``.
    Then declare the gradient with ``@f.defvjp`` on ``vjp(g, out, *inputs)``.
    The primitive is registered in ``autograd.OPS``; calling it on tensors records a node.
    """
    if fwd is None:
        return lambda f: Primitive(f, **options)
    return Primitive(fwd, **options)
