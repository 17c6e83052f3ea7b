"""HIPS autograd's ``autograd.core`` names, as thin adapters onto this library.

``primitive``/``defvjp``/``defjvp`` declare a primitive the HIPS way (curried vjp makers,
``lambda ans, x, y: lambda g: ...``); it is an ordinary :class:`~autograd.registry.Primitive`
registered in ``autograd.OPS``, recorded and differentiated by the one engine.
``make_vjp(fun, x)`` / ``make_jvp(fun, x)`` are the unary forms HIPS's core has (the n-ary
ones are ``autograd.make_vjp(fun, argnum)``).  ``vspace(x)`` describes the vector space of a
value (arrays, scalars, and lists/tuples/dicts of them).

The library's own style (``@primitive`` and ``@f.defvjp`` on ``vjp(g, out, *inputs)``) stays
the documented way; this module is for code written for HIPS autograd.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from typing import Any, Callable, Iterator, Optional

import numpy as np

from . import graph as _graph
from .errors import AutogradError, NoVJPError, ArgumentTypeError, OutputError, NotSupportedError
from .registry import Primitive, OPS
from .tensor import Tensor
from . import transforms as _tr

__all__ = ["primitive", "notrace_primitive", "defvjp", "defvjp_argnum", "defvjp_argnums",
           "defjvp", "defjvp_argnum", "defjvp_argnums", "def_linear", "vspace", "VSpace",
           "SparseObject", "VJPNode", "JVPNode", "make_vjp", "make_jvp", "primitive_vjps",
           "getval", "isbox"]


# --------------------------------------------------------------------------- values
def getval(x: Any) -> Any:
    """The plain value of a tensor (its ndarray); anything else unchanged."""
    return x._data if isinstance(x, Tensor) else x


def isbox(x: Any) -> bool:
    """True for a tensor being differentiated (HIPS: a traced box): one that requires grad."""
    return isinstance(x, Tensor) and x._rg


class SparseObject:
    """A sparse gradient: ``mut_add(A)`` adds it into a dense ``A`` of space ``vs``.  A vjp
    maker may return one; the engine makes it dense (``vs.zeros()`` plus ``mut_add``)."""

    __slots__ = ("vs", "mut_add")

    def __init__(self, vs: "VSpace", mut_add: Callable) -> None:
        self.vs = vs
        self.mut_add = mut_add

    def dense(self) -> Any:
        return self.mut_add(self.vs.zeros())


def _densify(g: Any) -> Any:
    return g.dense() if isinstance(g, SparseObject) else g


# --------------------------------------------------------------------------- primitives
class HipsPrimitive(Primitive):
    """A primitive declared the HIPS way: any positional argument may be a tensor; vjps are
    curried makers ``maker(ans, *args, **kwargs) -> (g -> gradient)`` per argnum."""

    def __init__(self, fun: Callable, name: Optional[str] = None) -> None:
        base = name or getattr(fun, "__name__", "primitive")
        old = OPS.get(base)
        if old is not None and old.library:
            base = f"{getattr(fun, '__module__', 'user')}.{getattr(fun, '__qualname__', base)}"
        super().__init__(fun, name=base, nin=-1, complex=True)  # HIPS's convention is ours
        self.vjp = self._vjp_placeholder      # declared below; the registry sees a vjp
        self.makers: dict = {}                # argnum -> vjp maker
        self.makers_argnum: Optional[Callable] = None
        self.makers_argnums: Optional[Callable] = None
        self.jvps: dict = {}
        self.jvps_argnum: Optional[Callable] = None
        self.jvps_argnums: Optional[Callable] = None

    @staticmethod
    def _vjp_placeholder(g, out, *args, **kwargs):   # pragma: no cover - never called
        raise NoVJPError("a HIPS-style primitive's vjps run through call_vjp")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        rec = _graph.MODE.grad
        datas = list(args)
        tens, parents = [], []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                datas[i] = a._data
                tens.append(a)
                if rec and a._rg:
                    parents.append((i, a._node or a))
        for k, v in kwargs.items():
            if isinstance(v, Tensor):
                if rec and v._rg:
                    raise ArgumentTypeError(
                        f"{self.name}: keyword argument {k!r} is a tensor that requires grad; "
                        f"HIPS primitives differentiate positional arguments only")
                kwargs = dict(kwargs, **{k: v._data})
        out = self.fwd(*datas, **kwargs)
        if not tens:
            return out
        if not parents:
            return Tensor._make(out) if isinstance(out, np.ndarray) else out
        if isinstance(out, (tuple, list, dict)):
            raise OutputError(f"{self.name}: a primitive returning a {type(out).__name__} cannot "
                              f"be differentiated here; return one array")
        out = np.asarray(out)
        if out.dtype.kind not in "fc":
            return Tensor._make(out)
        node = _graph.Node(self, datas, kwargs, parents, out, tens)
        return Tensor._make(out, node)

    def call_vjp(self, g, out, args, kw, parents, higher: bool, aux=None):
        gs: list = [None] * len(args)
        nums = [i for i, _ in parents]
        if self.makers_argnums is not None and not any(i in self.makers for i in nums):
            res = self.makers_argnums(tuple(nums), out, tuple(args), kw)(g)
            for i, gi in zip(nums, res):
                gs[i] = _densify(gi)
            return gs
        for i in nums:
            maker = self.makers.get(i, _MISSING)
            if maker is _MISSING and self.makers_argnum is not None:
                gs[i] = _densify(self.makers_argnum(i, out, tuple(args), kw)(g))
                continue
            if maker is _MISSING:
                maker = self._vjp_from_jvp(i)
            if maker is None:          # HIPS: None means a zero gradient
                a = args[i]
                gs[i] = np.zeros(np.shape(getval(a)), dtype=_float(getval(a)))
                continue
            gs[i] = _densify(maker(out, *args, **kw)(g))
        return gs

    # HIPS's deprecated methods (still in HIPS 1.9, with a DeprecationWarning)
    def defvjp(self, vjpfun: Callable, argnum: int = 0) -> Callable:  # type: ignore[override]
        """Deprecated HIPS form: ``vjpfun(g, ans, vs, gvs, *args)``; use ``defvjp(fun, ...)``."""
        _deprecated("defvjp")
        self.makers[argnum] = lambda ans, *args, **kw: (
            lambda g: vjpfun(g, ans, vspace(ans), vspace(args[argnum]), *args, **kw))
        return vjpfun

    def defgrad(self, gradmaker: Callable, argnum: int = 0) -> Callable:
        """Deprecated HIPS form: ``gradmaker(ans, *args) -> (g -> gradient)``."""
        _deprecated("defgrad")
        self.makers[argnum] = gradmaker
        return gradmaker

    def defvjp_is_zero(self, argnums: Any = (0,)) -> None:
        """Deprecated HIPS form: zero gradients for ``argnums``."""
        _deprecated("defvjp_is_zero")
        for i in argnums:
            self.makers[i] = None

    def _vjp_from_jvp(self, i: int) -> Callable:
        """A vjp maker from a declared jvp by transposing it column by column (one jvp per
        element of the input: right for small inputs, slow for large)."""
        jvp = self._jvp(i)
        if jvp is None:
            raise NoVJPError(f"VJP of {self.name} wrt argnum {i} not defined")

        def maker(ans, *args, **kwargs):
            def vjp(g):
                x = getval(args[i])
                basis = np.eye(np.size(x), dtype=_float(x))
                cols = [jvp(basis[k].reshape(np.shape(x)), ans, *args, **kwargs)
                        for k in range(np.size(x))]
                from .ops import sum as _sum, multiply
                from .ops.shape import stack, reshape
                parts = [_sum(multiply(c, g)) for c in cols]
                return reshape(stack(parts), np.shape(x)) if parts else np.zeros(np.shape(x))
            return vjp
        return maker

    def _jvp(self, i: int) -> Optional[Callable]:
        if i in self.jvps:
            return self.jvps[i]
        if self.jvps_argnum is not None:
            f = self.jvps_argnum
            return lambda g, ans, *args, **kw: f(i, g, ans, args, kw)
        return None


_MISSING = object()


def _deprecated(name: str) -> None:
    import warnings
    warnings.warn(f"{name} as a method of a primitive is deprecated (as in HIPS autograd); use "
                  f"autograd.extend.defvjp(fun, ...)", DeprecationWarning, stacklevel=3)


def _float(x: Any):
    dt = np.asarray(x).dtype
    return dt if dt.kind == "f" else np.float64


def primitive(fun: Callable) -> HipsPrimitive:
    """HIPS's ``@primitive``: ``fun`` runs on plain values; declare its gradient with
    ``defvjp(fun, maker_for_arg0, maker_for_arg1, ...)``.  Registered in ``autograd.OPS``."""
    if isinstance(fun, Primitive):
        return fun  # type: ignore[return-value]
    return HipsPrimitive(fun)


def notrace_primitive(fun: Callable) -> Callable:
    """``fun`` called on plain values (tensors unwrapped); its result is not differentiated
    (for functions whose output carries no gradient: shapes, types, random draws)."""
    def wrapped(*args: Any, **kwargs: Any):
        return fun(*[getval(a) for a in args], **{k: getval(v) for k, v in kwargs.items()})
    try:
        wrapped.__name__ = fun.__name__
        wrapped.__doc__ = fun.__doc__
    except AttributeError:
        pass
    wrapped.fun = fun  # type: ignore[attr-defined]
    return wrapped


def register_notrace(trace_type: Any, primitive_fun: Callable) -> None:
    """HIPS: mark ``primitive_fun`` as not traced for a trace type.  There is one kind of
    trace here, so this is accepted and has no effect."""


def _need(fun: Any, what: str) -> HipsPrimitive:
    if not isinstance(fun, HipsPrimitive):
        raise ArgumentTypeError(f"{what}: {getattr(fun, '__name__', fun)!r} is not a primitive "
                                f"made with autograd.extend.primitive")
    return fun


def defvjp(fun: Callable, *vjpmakers: Optional[Callable], argnums: Any = None) -> None:
    """``defvjp(fun, maker0, maker1, ...)``: ``maker_i(ans, *args, **kwargs)`` returns the vjp
    ``g -> gradient w.r.t. args[i]``; ``None`` declares a zero gradient."""
    p = _need(fun, "defvjp")
    nums = range(len(vjpmakers)) if argnums is None else argnums
    for i, m in zip(nums, vjpmakers):
        p.makers[i] = m


def defvjp_argnum(fun: Callable, vjpmaker: Callable) -> None:
    """``vjpmaker(argnum, ans, args, kwargs)`` -> vjp for that argument."""
    _need(fun, "defvjp_argnum").makers_argnum = vjpmaker


def defvjp_argnums(fun: Callable, vjpmaker: Callable) -> None:
    """``vjpmaker(argnums, ans, args, kwargs)`` -> ``g -> tuple of gradients``."""
    _need(fun, "defvjp_argnums").makers_argnums = vjpmaker


def defjvp(fun: Callable, *jvpfuns: Any, argnums: Any = None) -> None:
    """``defjvp(fun, jvp0, ...)``, ``jvp_i(g, ans, *args, **kwargs)`` -> tangent of the output
    for tangent ``g`` of ``args[i]`` ("same" for linear-in-the-argument).  Forward mode here
    runs on vjps (the double-vjp trick), so a jvp is used only to build a missing vjp."""
    p = _need(fun, "defjvp")
    nums = range(len(jvpfuns)) if argnums is None else argnums
    for i, f in zip(nums, jvpfuns):
        if f == "same":
            f = _same(p, i)
        p.jvps[i] = f


def _same(p: HipsPrimitive, i: int) -> Callable:
    def jvp(g, ans, *args, **kwargs):
        args = list(args)
        args[i] = g
        return p(*args, **kwargs)
    return jvp


def defjvp_argnum(fun: Callable, jvpmaker: Callable) -> None:
    """``jvpmaker(argnum, g, ans, args, kwargs)`` -> output tangent."""
    _need(fun, "defjvp_argnum").jvps_argnum = jvpmaker


def defjvp_argnums(fun: Callable, jvpmaker: Callable) -> None:
    """``jvpmaker(argnums, gs, ans, args, kwargs)``; stored (forward mode runs on vjps)."""
    _need(fun, "defjvp_argnums").jvps_argnums = jvpmaker


def def_linear(fun: Callable) -> None:
    """``fun`` is linear in each argument: its jvp is ``fun`` with the tangent in that place,
    and its vjp is built from that jvp."""
    p = _need(fun, "def_linear")
    defjvp_argnum(p, lambda argnum, g, ans, args, kwargs:
                  p(*[g if k == argnum else a for k, a in enumerate(args)], **kwargs))


class _Unsupported:
    """HIPS's trace node classes: the graph here is :class:`autograd.graph.Node`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError(
            f"{type(self).__name__} is HIPS autograd's internal trace node; this library "
            f"records its own graph (autograd.graph.Node). Use make_vjp / make_jvp instead")

    @classmethod
    def new_root(cls, *args: Any, **kwargs: Any):
        cls()


class VJPNode(_Unsupported):
    """Placeholder: instantiating raises NotImplementedError (see :class:`_Unsupported`)."""


class JVPNode(_Unsupported):
    """Placeholder: instantiating raises NotImplementedError (see :class:`_Unsupported`)."""


# --------------------------------------------------------------------------- vspaces
class VSpace:
    """The vector space of a value: arrays and scalars, or lists/tuples/dicts of them.
    HIPS's methods: ``zeros``, ``ones``, ``randn``, ``standard_basis``, ``add``,
    ``scalar_mul``, ``inner_prod``, ``covector``, ``flatten``/``unflatten``, ``size``."""

    def __init__(self, value: Any) -> None:
        leaves, self.spec = _tr.tree_flatten(value)
        vals = [getval(v) for v in leaves]
        self.shapes = [np.shape(v) for v in vals]
        self.dtypes = [_float(v) if np.asarray(v).dtype.kind in "biu" else np.asarray(v).dtype
                       for v in vals]
        self.scalar = [not isinstance(v, np.ndarray) for v in vals]
        self.value = value

    # shape of a single array space (HIPS ArrayVSpace attributes)
    @property
    def shape(self) -> tuple:
        return self.shapes[0] if self.spec is None else ()

    @property
    def dtype(self):
        return self.dtypes[0] if self.spec is None else None

    @property
    def iscomplex(self) -> bool:
        """Whether any leaf is complex (HIPS's ``vspace(x).iscomplex``)."""
        return any(np.dtype(d).kind == "c" for d in self.dtypes)

    @property
    def size(self) -> int:
        """Real dimension: a complex element counts twice (as HIPS counts it)."""
        return int(sum(int(np.prod(s)) * (2 if np.dtype(d).kind == "c" else 1)
                       for s, d in zip(self.shapes, self.dtypes)))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __eq__(self, other: Any) -> bool:
        return (type(other) is VSpace and self.spec == other.spec and self.shapes == other.shapes
                and [np.dtype(d) for d in self.dtypes] == [np.dtype(d) for d in other.dtypes])

    def __hash__(self) -> int:
        return hash((repr(self.spec), tuple(self.shapes)))

    def __repr__(self) -> str:
        return f"VSpace(shapes={self.shapes}, dtypes={[str(np.dtype(d)) for d in self.dtypes]})"

    def _make(self, arrays: list) -> Any:
        out = [np.asarray(a, dtype=d).reshape(s) if not sc else d.type(np.asarray(a).reshape(()))
               if hasattr(d, "type") else np.asarray(a, dtype=d).reshape(())[()]
               for a, s, d, sc in zip(arrays, self.shapes, [np.dtype(d) for d in self.dtypes], self.scalar)]
        return _tr.tree_unflatten(self.spec, out)

    def zeros(self) -> Any:
        return self._make([np.zeros(s) for s in self.shapes])

    def ones(self) -> Any:
        """Ones; ``1 + 1j`` in a complex leaf (the sum of its basis vectors, as HIPS has it)."""
        return self._make([np.ones(s) * (1 + 1j if np.dtype(d).kind == "c" else 1.0)
                           for s, d in zip(self.shapes, self.dtypes)])

    def randn(self) -> Any:
        return self._make([np.random.randn(*s) + (1j * np.random.randn(*s)
                                                  if np.dtype(d).kind == "c" else 0.0)
                           for s, d in zip(self.shapes, self.dtypes)])

    def standard_basis(self) -> Iterator:
        """Unit vectors, one per real dimension (a complex element gives 1 and 1j)."""
        n = int(sum(int(np.prod(s)) for s in self.shapes))
        cplx = self.iscomplex
        for k in range(n):
            for unit in ((1.0, 1j) if cplx else (1.0,)):
                e = np.zeros(n, dtype=complex if cplx else float)
                e[k] = unit
                yield self.unflatten(e)

    def flatten(self, value: Any) -> np.ndarray:
        leaves, _ = _tr.tree_flatten(value)
        parts = [np.ravel(getval(v)) for v in leaves]
        parts = [p if p.dtype.kind == "c" else p.astype(np.float64) for p in parts]
        return np.concatenate(parts) if parts else np.zeros(0)

    def unflatten(self, flat: Any) -> Any:
        out, k = [], 0
        for s in self.shapes:
            n = int(np.prod(s))
            out.append(np.asarray(flat[k:k + n]).reshape(s))
            k += n
        return self._make(out)

    def _map2(self, f, x: Any, y: Any) -> Any:
        lx, _ = _tr.tree_flatten(x)
        ly, _ = _tr.tree_flatten(y)
        return _tr.tree_unflatten(self.spec, [f(a, b) for a, b in zip(lx, ly)])

    def add(self, x: Any, y: Any) -> Any:
        return self._map2(lambda a, b: a + b, x, y)

    def mut_add(self, x: Any, y: Any) -> Any:
        return self.add(x, y)

    def scalar_mul(self, x: Any, a: float) -> Any:
        lx, _ = _tr.tree_flatten(x)
        return _tr.tree_unflatten(self.spec, [v * a for v in lx])

    def inner_prod(self, x: Any, y: Any) -> Any:
        """``Re(sum(conj(x) * y))`` over the leaves (the plain dot product for reals): a
        float, or a tensor recording the graph when a leaf is a tensor (so ``grad`` through
        it is right, as HIPS's is)."""
        from .ops import multiply, sum as _sum
        from .ops.complex import conj, real
        lx, _ = _tr.tree_flatten(x)
        ly, _ = _tr.tree_flatten(y)
        total: Any = 0.0
        for a, b in zip(lx, ly):
            if np.iscomplexobj(getval(a)) or np.iscomplexobj(getval(b)):
                total = total + real(_sum(multiply(conj(a), b)))
            else:
                total = total + _sum(multiply(a, b))
        return total if isinstance(total, Tensor) else float(total)

    def covector(self, x: Any) -> Any:
        """The conjugate (identity for reals): HIPS's pairing of gradients with values."""
        if not self.iscomplex:
            return x
        lx, _ = _tr.tree_flatten(x)
        return _tr.tree_unflatten(self.spec, [np.conj(getval(v)) for v in lx])

    def examples(self) -> list:
        return [self.zeros(), self.ones(), self.randn()]


def vspace(value: Any) -> VSpace:
    """The :class:`VSpace` of ``value`` (a float/int scalar or array, or a pytree of them)."""
    leaves, _ = _tr.tree_flatten(value)
    for v in leaves:
        d = np.asarray(getval(v))
        if d.dtype.kind not in "biufc":
            raise ArgumentTypeError(f"vspace: cannot make a vector space of {type(v).__name__} "
                                    f"(dtype {d.dtype})")
    return VSpace(value)


# --------------------------------------------------------------------------- transforms
def make_vjp(fun: Callable, x: Any) -> tuple:
    """HIPS core's unary ``make_vjp(fun, x)`` -> ``(vjp, fun(x))``."""
    return _tr.make_vjp(fun, 0)(x)


def make_jvp(fun: Callable, x: Any) -> Callable:
    """HIPS core's unary ``make_jvp(fun, x)`` -> ``jvp``; ``jvp(v)`` -> ``(fun(x), J v)``."""
    return _tr.make_jvp(fun, 0)(x)


# --------------------------------------------------------------------------- primitive_vjps
class PrimitiveNotFoundError(AutogradError, KeyError):
    """``primitive_vjps[f]`` for an ``f`` that is not a primitive with a vjp (a KeyError)."""


class _Makers(Mapping):
    """``primitive_vjps[f]``: argnum -> vjp maker ``maker(ans, *args, **kwargs) -> (g ->
    gradient)``, read-only.  It remembers the primitive's gradient declaration as it was
    when read, so ``primitive_vjps[f] = saved`` puts exactly that back."""

    def __init__(self, prim: Primitive, makers: dict) -> None:
        self.prim = prim
        self._makers = makers
        self.state = _vjp_state(prim)

    def __getitem__(self, i: Any) -> Any:
        return self._makers[i]

    def __iter__(self) -> Iterator:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)

    def __repr__(self) -> str:
        return f"<vjp makers of {self.prim.name}: argnums {sorted(self._makers)}>"


_STATE = ("vjp", "vjps", "vjp_fast", "fast_needs", "reads")
_HIPS_STATE = ("makers", "makers_argnum", "makers_argnums")


def _vjp_state(prim: Primitive) -> dict:
    """The attributes that make up a primitive's gradient declaration (the makers copied)."""
    state = {k: getattr(prim, k)
             for k in (_HIPS_STATE if isinstance(prim, HipsPrimitive) else _STATE)}
    if "makers" in state:
        state["makers"] = dict(state["makers"])
    return state


class _MakerVjps(tuple):
    """Per-input vjps of a library primitive whose gradient a user set through
    ``primitive_vjps[f] = {argnum: maker}``: ``vjps[i]`` runs ``maker_i(out, *args)(g)``;
    ``None`` is a zero gradient, a missing argnum raises :class:`NoVJPError`."""

    def __new__(cls, prim: Primitive, makers: dict) -> "_MakerVjps":
        self = super().__new__(cls)
        self.prim, self.makers = prim, dict(makers)
        return self

    def __getitem__(self, i):  # type: ignore[override]
        maker = self.makers.get(i, _MISSING)
        if maker is _MISSING:
            raise NoVJPError(f"VJP of {self.prim.name} wrt argnum {i} not defined")
        if maker is None:
            return lambda g, out, *args, **kw: np.zeros(np.shape(getval(args[i])),
                                                        dtype=_float(getval(args[i])))
        return lambda g, out, *args, **kw: _densify(maker(out, *args, **kw)(g))


class _VjpView(MutableMapping):
    """HIPS's ``primitive_vjps``: primitive -> {argnum: vjp maker}, backed by the registry.

    Reading gives the makers (for a library primitive they wrap its ``vjp(g, out,
    *inputs)``).  Deleting an entry (``del``, ``pop``) unregisters the primitive's vjps, so
    its gradient raises :class:`NoVJPError` (a ``NotImplementedError``) until it is set
    again; setting one (``primitive_vjps[f] = {0: maker, ...}``, or a value read from here
    earlier, which restores that declaration exactly) registers those makers.  Keys are
    primitives (``autograd.numpy``'s ufunc front doors stand for their primitive); anything
    else is not in the mapping, and setting it raises instead of storing a vjp that no
    gradient would ever use."""

    def _prims(self) -> list:
        return [p for p in OPS.values() if _has_vjp(p)]

    def __getitem__(self, prim: Any) -> Mapping:
        prim = _as_prim(prim)
        if not isinstance(prim, Primitive) or not _has_vjp(prim):
            raise PrimitiveNotFoundError(f"{prim!r} is not a primitive with a vjp")
        if isinstance(prim, HipsPrimitive):
            return _Makers(prim, dict(prim.makers))
        if isinstance(prim.vjps, _MakerVjps):
            return _Makers(prim, dict(prim.vjps.makers))
        n = prim.nin if prim.nin >= 0 else 1
        return _Makers(prim, {i: _library_maker(prim, i) for i in range(n)})

    def __delitem__(self, prim: Any) -> None:
        self[prim]                               # PrimitiveNotFoundError when absent
        prim = _as_prim(prim)
        if isinstance(prim, HipsPrimitive):
            prim.makers, prim.makers_argnum, prim.makers_argnums = {}, None, None
        else:
            prim.vjp = prim.vjps = prim.vjp_fast = None

    def __setitem__(self, prim: Any, makers: Any) -> None:
        prim = _as_prim(prim)
        if not isinstance(prim, Primitive):
            raise ArgumentTypeError(
                f"primitive_vjps[{getattr(prim, '__name__', prim)!r}] = ...: not a primitive; "
                f"make it one with autograd.extend.primitive, then defvjp")
        if isinstance(makers, _Makers) and makers.prim is prim:
            for k, v in makers.state.items():
                setattr(prim, k, dict(v) if k == "makers" else v)
            return
        if not isinstance(makers, Mapping) or not all(
                isinstance(i, int) and (m is None or callable(m)) for i, m in makers.items()):
            raise ArgumentTypeError(
                f"primitive_vjps[{prim.name}] = ...: expects a mapping {{argnum: vjp maker or "
                f"None}} (maker(ans, *args, **kwargs) -> (g -> gradient)), got "
                f"{type(makers).__name__}")
        if isinstance(prim, HipsPrimitive):
            prim.makers, prim.makers_argnum, prim.makers_argnums = dict(makers), None, None
        else:
            prim.vjp, prim.vjp_fast, prim.reads = None, None, None
            prim.vjps = _MakerVjps(prim, makers)

    def __iter__(self):
        return iter(self._prims())

    def __len__(self) -> int:
        return len(self._prims())

    def __contains__(self, prim: Any) -> bool:
        prim = _as_prim(prim)
        return isinstance(prim, Primitive) and _has_vjp(prim) and prim.name in OPS \
            and OPS[prim.name] is prim


def _as_prim(f: Any) -> Any:
    """``autograd.numpy``'s ufunc front doors (``np.exp``) stand for their primitive."""
    p = getattr(f, "primitive", None)
    return p if isinstance(p, Primitive) and not isinstance(f, Primitive) else f


def _has_vjp(p: Primitive) -> bool:
    if isinstance(p, HipsPrimitive):
        return bool(p.makers) or p.makers_argnum is not None or p.makers_argnums is not None
    return p.vjp is not None or p.vjps is not None


def _library_maker(prim: Primitive, i: int) -> Callable:
    """A HIPS maker for input ``i`` of a library primitive, bound to its vjp as it is now (a
    copy of the primitive), so it keeps working after the entry is deleted or replaced."""
    prim = copy.copy(prim)

    def maker(ans, *args, **kwargs):
        parents = [(i, None)]

        def vjp(g):
            higher = any(isinstance(a, Tensor) for a in (g, ans, *args))
            return prim.call_vjp(g, ans, list(args), kwargs, parents, higher)[i]
        return vjp
    return maker


primitive_vjps = _VjpView()
