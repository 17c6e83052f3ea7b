"""Hypothesis strategies for property-based gradient tests, of this library and of yours.

Needs hypothesis (a test extra: ``pip install hypothesis``); ``import autograd`` never
imports it, only ``import autograd.testing`` does.

Three lines test your own function::

    from autograd.testing import tensors, property_gradcheck
    test_softplus = property_gradcheck(lambda x: ag.log(1 + ag.exp(x)), tensors())

What is here:

- ``tensors(shape, dtype, min_value, max_value, requires_grad, domain=..., away_from=...)``:
  Tensors of a drawn (or given) shape, with values inside a domain and away from kinks;
- ``shapes()``, ``broadcastable_shapes()``, ``valid_axes(ndim)``: the shape side;
- ``op_strategy(op)``: inputs and static parameters for a registered primitive (an
  :class:`OpCase`), drawn from its declared ``domain`` and kept away from its ``kinks``;
  ``register_op_strategy(name, strategy)`` declares one for your own primitive;
- ``property_gradcheck(fn, *input_strategies)`` (or ``property_gradcheck(op)``): a ready
  pytest test that runs ``gradcheck`` (and ``gradgradcheck`` with ``order=2``) on drawn inputs.

The rule for primitives (checked by the library's completeness test for its own ops): each
primitive declares a ``domain`` (one entry per tensor input, ``None`` meaning unbounded; an
undeclared ``domain=None`` fails the test) and has a registered strategy that says which
shapes and static parameters it takes.  ``op_strategy`` then enforces the domain and the
distance from kinks on whatever the registered strategy draws, so a registered strategy
only needs to describe structure.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable, Iterable, Optional, Sequence, Union

try:
    from hypothesis import Phase, given, settings, strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as _e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "autograd.testing needs hypothesis, which is a test dependency, not a runtime one: "
        "pip install hypothesis  (or pip install 'autograd-nn[test]')") from _e

import numpy as np

from .gradcheck import gradcheck, gradgradcheck
from .registry import OPS, Primitive
from .tensor import Tensor
from .errors import InvalidValueError, ArgumentTypeError

__all__ = ["tensors", "shapes", "broadcastable_shapes", "valid_axes", "domain_tensors",
           "OpCase", "op_strategy", "register_op_strategy", "OP_STRATEGIES",
           "kink_distance", "in_domain", "property_gradcheck", "complex_op_strategy",
           "IMAG_RANGES"]

#: Default distance kept from domain bounds and from kinks (well above gradcheck's eps).
MARGIN = 1e-3

#: Registered per-op strategies: name -> SearchStrategy[OpCase] or a zero-argument
#: callable returning one (called lazily).  Fill with :func:`register_op_strategy`.
OP_STRATEGIES: dict[str, Any] = {}


# =============================================================================== shapes
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple]:
    """Array shapes: ``min_dims..max_dims`` dims (0-d included by default), sides in
    ``min_side..max_side`` (size-1 sides included)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[tuple]:
    """Tuples of ``num_shapes`` shapes that broadcast together (numpy rules), e.g.
    ``((3, 1), (2, 1, 4))``: missing leading dims and size-1 dims both occur."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda r: tuple(r.input_shapes))


def valid_axes(ndim: int, allow_none: bool = True, allow_int: bool = True,
               allow_tuple: bool = True, min_size: int = 0) -> st.SearchStrategy:
    """``axis`` arguments valid for an ``ndim``-d array: None, an int (negatives included)
    and tuples of distinct axes (``()`` and negatives included; ``min_size`` bounds their
    length)."""
    options = []
    if allow_none:
        options.append(st.none())
    if allow_int and ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple and min_size <= ndim:
        options.append(hnp.valid_tuple_axes(ndim, min_size=min_size))
    if not options:
        raise InvalidValueError(f"valid_axes: no axis of the requested kinds fits {ndim} dims")
    return st.one_of(*options)


# =============================================================================== values
def _bounds(dtype: np.dtype, min_value: float, max_value: float, domain: Optional[Sequence],
            margin: float) -> tuple[float, float]:
    lo, hi = float(min_value), float(max_value)
    if domain is not None:
        dlo, dhi = domain
        if dlo is not None:
            lo = max(lo, float(dlo) + margin)
        if dhi is not None:
            hi = min(hi, float(dhi) - margin)
    if dtype == np.float32:  # hypothesis wants bounds that float32 represents exactly
        lo32, hi32 = np.float32(lo), np.float32(hi)
        lo = float(lo32 if lo32 >= lo else np.nextafter(lo32, np.float32(np.inf)))
        hi = float(hi32 if hi32 <= hi else np.nextafter(hi32, np.float32(-np.inf)))
    if not lo <= hi:
        raise InvalidValueError(f"tensors: empty value range: [{min_value}, {max_value}] within "
                         f"domain {domain} (margin {margin})")
    return lo, hi


def _pusher(points: Sequence[float], margin: float, lo: float, hi: float, dtype: np.dtype):
    """x moved to at least ``margin`` from every point (to the side it was on, or the other
    side when that side is out of [lo, hi])."""
    pts = sorted(float(p) for p in points)

    def push(x: float) -> float:
        for _ in range(2 * len(pts) + 1):
            near = [p for p in pts if abs(x - p) < margin]
            if not near:
                break
            p = near[0]
            up, down = p + 1.5 * margin, p - 1.5 * margin
            x = up if (x >= p and up <= hi) or down < lo else down
        return float(dtype.type(x))
    return push


def tensors(shape: Union[None, int, tuple, st.SearchStrategy] = None, dtype: Any = "float64",
            min_value: float = -10.0, max_value: float = 10.0, requires_grad: bool = True, *,
            domain: Optional[Sequence] = None, away_from: Iterable[float] = (),
            margin: float = MARGIN, unique: bool = False, min_dims: int = 0, max_dims: int = 3,
            min_side: int = 1, max_side: int = 4,
            imag_range: Optional[tuple] = None) -> st.SearchStrategy[Tensor]:
    """Tensors for property tests.

    shape : a shape, an int (1-d), a strategy of shapes, or None for a drawn shape
        (``shapes(min_dims, max_dims, min_side, max_side)``: 0-d and size-1 sides included).
    dtype : 'float64' (default), 'float32', 'complex128', 'complex64', an integer dtype or
        'bool' (these never require grad).  A complex tensor's real part follows
        ``min_value``/``max_value``, ``domain`` and ``away_from``; its imaginary part is drawn
        from ``imag_range`` (default: the same ``[min_value, max_value]``).
    min_value, max_value : closed bounds of the values (finite; no NaN, no inf).
    requires_grad : for float dtypes.
    domain : ``(low, high)`` open bounds (either None), e.g. an op's ``domain[i]``; values
        stay at least ``margin`` inside them.
    away_from : points (kinks, e.g. ``(0.0,)`` for relu) that values keep ``margin`` from.
    unique : all elements distinct (e.g. for max without ties).
    """
    dt = np.dtype(dtype)
    if shape is None:
        shape = shapes(min_dims, max_dims, min_side, max_side)
    elif isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if dt.kind == "b":
        elements: st.SearchStrategy = st.booleans()
        requires_grad = False
    elif dt.kind in "iu":
        elements = st.integers(math.ceil(min_value), math.floor(max_value))
        requires_grad = False
    elif dt.kind == "f" and dt.itemsize in (4, 8):
        lo, hi = _bounds(dt, min_value, max_value, domain, margin)
        elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                             allow_subnormal=False, width=8 * dt.itemsize)
        pts = tuple(away_from)
        if pts:
            elements = elements.map(_pusher(pts, margin, lo, hi, dt))
    elif dt.kind == "c" and dt.itemsize in (8, 16):
        part = np.dtype(f"float{dt.itemsize * 4}")
        lo, hi = _bounds(part, min_value, max_value, domain, margin)
        re = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                       width=8 * part.itemsize)
        pts = tuple(away_from)
        if pts:
            re = re.map(_pusher(pts, margin, lo, hi, part))
        ilo, ihi = _bounds(part, *(imag_range or (min_value, max_value)), None, margin)
        im = st.floats(ilo, ihi, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                       width=8 * part.itemsize)
        elements = st.builds(complex, re, im)
    else:
        raise InvalidValueError(f"tensors: unsupported dtype {dt}; use float64, float32, "
                                f"complex128, complex64, ints or bool")
    return hnp.arrays(dt, shape, elements=elements, unique=unique).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


def _domain_entry(op: Primitive, index: int) -> Optional[tuple]:
    if op.domain is None:
        return None
    return op.domain[min(index, len(op.domain) - 1)]  # varargs: one entry for every input


def _op(op: Union[str, Primitive]) -> Primitive:
    if isinstance(op, Primitive):
        return op
    try:
        return OPS[op]
    except KeyError:
        raise InvalidValueError(f"no primitive named {op!r} in autograd.OPS") from None


def domain_tensors(op: Union[str, Primitive], index: int = 0, shape: Any = None,
                   **kwargs: Any) -> st.SearchStrategy[Tensor]:
    """``tensors(shape, domain=op.domain[index], **kwargs)``, also kept away from the op's
    kink points when they are declared with ``at_points`` (first input)."""
    prim = _op(op)
    pts = getattr(prim.kinks, "points", ()) if index == 0 else ()
    kwargs.setdefault("away_from", pts)
    return tensors(shape, domain=_domain_entry(prim, index), **kwargs)


# =============================================================================== op cases
class OpCase:
    """One call of a primitive: tensor inputs ``args`` (and constants in their places) and
    static keyword parameters ``kwargs``.  ``case.fn`` is the primitive with the kwargs bound,
    so ``gradcheck(case.fn, *case.args)`` checks it."""

    __slots__ = ("args", "kwargs", "op")

    def __init__(self, args: Sequence, kwargs: Optional[dict] = None,
                 op: Optional[Primitive] = None) -> None:
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.op = op

    @property
    def fn(self) -> Callable:
        if self.op is None:
            raise InvalidValueError("OpCase.fn: this case is not bound to a primitive (use op_strategy)")
        return functools.partial(self.op, **self.kwargs)

    def datas(self) -> list:
        return [a._data if isinstance(a, Tensor) else a for a in self.args]

    def replace(self, args: Sequence) -> "OpCase":
        return OpCase(args, self.kwargs, self.op)

    def __repr__(self) -> str:
        def show(a: Any) -> str:
            if isinstance(a, Tensor):
                rg = ", requires_grad=True" if a.requires_grad else ""
                return f"Tensor({np.array2string(a._data, separator=', ', precision=17)}, " \
                       f"dtype={a.dtype}{rg})"
            if isinstance(a, np.ndarray):
                return f"np.array({a.tolist()!r}, dtype={a.dtype})"
            return repr(a)
        name = self.op.name if self.op is not None else "?"
        parts = [show(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{name}({', '.join(parts)})"


def register_op_strategy(name: str, strategy: Any = None):
    """Declare how to draw inputs for primitive ``name``: a ``SearchStrategy[OpCase]`` or a
    zero-argument callable returning one (an ``@st.composite`` function).  Usable as a
    decorator::

        @register_op_strategy("my_op")
        @st.composite
        def my_op_cases(draw):
            x = draw(domain_tensors("my_op", 0))
            return OpCase((x,), {"k": draw(st.integers(1, 3))})
    """
    if strategy is None:
        return lambda s: register_op_strategy(name, s)
    if not (isinstance(strategy, st.SearchStrategy) or callable(strategy)):
        raise ArgumentTypeError(f"register_op_strategy: {name}: expected a strategy or a callable "
                        f"returning one, got {type(strategy).__name__}")
    OP_STRATEGIES[name] = strategy
    return strategy


def _float_inputs(op: Primitive, case: OpCase) -> list[int]:
    nin = op.nin if op.nin >= 0 else len(case.args)
    return [i for i, a in enumerate(case.args[:nin])
            if np.asarray(getattr(a, "_data", a)).dtype.kind == "f"]


def kink_distance(op: Union[str, Primitive], case: OpCase) -> float:
    """Smallest distance of ``case``'s inputs from ``op``'s kinks (inf when none declared)."""
    prim = _op(op)
    if prim.kinks is None:
        return math.inf
    d = np.asarray(prim.kinks(*case.datas(), **case.kwargs), dtype=np.float64)
    return float(d.min()) if d.size else math.inf


def in_domain(op: Union[str, Primitive], case: OpCase, margin: float = 0.0) -> bool:
    """Whether every float input of ``case`` lies inside ``op``'s declared domain (with
    ``margin``), and is finite."""
    prim = _op(op)
    for i in _float_inputs(prim, case):
        a = np.asarray(getattr(case.args[i], "_data", case.args[i]), dtype=np.float64)
        if not np.all(np.isfinite(a)):
            return False
        d = _domain_entry(prim, i)
        if d is None or a.size == 0:
            continue
        if d[0] is not None and not a.min() >= d[0] + margin:
            return False
        if d[1] is not None and not a.max() <= d[1] - margin:
            return False
    return True


def _nudge(prim: Primitive, case: OpCase, margin: float) -> OpCase:
    """Break ties and leave kinks: add distinct multiples of a step to every float input
    element (different across inputs too), so equal values (max/min ties, maximum's x == y,
    a relu input at 0) move apart.  ``op_strategy`` re-checks the result."""
    step = 7.31 * margin
    args, k = list(case.args), 1
    for i in _float_inputs(prim, case):
        a = args[i]
        d = np.asarray(getattr(a, "_data", a))
        off = (np.arange(d.size, dtype=np.float64) + k).reshape(d.shape) * step
        k += d.size
        new = (d + off).astype(d.dtype)
        if isinstance(a, Tensor):
            args[i] = Tensor(new, requires_grad=a.requires_grad)
        elif isinstance(a, np.ndarray):
            args[i] = new
        else:
            args[i] = float(new)
    return case.replace(args)


def _away_from_kinks(prim: Primitive, case: OpCase, margin: float) -> OpCase:
    if prim.kinks is None or kink_distance(prim, case) >= margin:
        return case
    pts = getattr(prim.kinks, "points", None)
    if pts is not None:  # at_points: push the first input's elements away
        a = case.args[0]
        d = np.asarray(getattr(a, "_data", a))
        push = _pusher(pts, margin, -np.inf, np.inf, d.dtype)
        new = np.vectorize(push, otypes=[d.dtype])(d) if d.size else d
        arg = Tensor(new, requires_grad=a.requires_grad) if isinstance(a, Tensor) else new
        return case.replace((arg,) + case.args[1:])
    return _nudge(prim, case, margin)


def op_strategy(op: Union[str, Primitive], margin: float = MARGIN) -> st.SearchStrategy[OpCase]:
    """Inputs for primitive ``op`` (name or Primitive), as :class:`OpCase` bound to it.

    Draws from the registered strategy, then keeps every float input inside the op's
    declared domain and at least ``margin`` from its kinks (moving values off a kink when it
    can, filtering the rest).  Raises KeyError when no strategy is registered.
    """
    prim = _op(op)
    try:
        s = OP_STRATEGIES[prim.name]
    except KeyError:
        raise InvalidValueError(f"no input strategy registered for primitive {prim.name!r}; declare one "
                       f"with autograd.testing.register_op_strategy") from None
    if not isinstance(s, st.SearchStrategy):
        s = s()

    def bind(case: OpCase) -> OpCase:
        case = OpCase(case.args, case.kwargs, prim)
        return _away_from_kinks(prim, case, margin)

    return s.map(bind).filter(
        lambda c: in_domain(prim, c) and kink_distance(prim, c) >= margin)


# =============================================================================== complex cases
#: Imaginary parts the complex sweep draws, per primitive (default ``IMAG_RANGE``): away
#: from branch cuts that leave the real axis (arcsinh and arctan cut the imaginary axis
#: beyond +-i) and from overflow.
IMAG_RANGE = (-2.0, 2.0)
IMAG_RANGES: dict[str, tuple] = {"arcsinh": (-0.8, 0.8), "arctan": (-0.8, 0.8),
                                 "tan": (-1.0, 1.0), "tanh": (-1.0, 1.0),
                                 "sigmoid": (-1.0, 1.0), "cholesky": (-0.5, 0.5)}


def complex_op_strategy(op: Union[str, Primitive],
                        margin: float = MARGIN) -> st.SearchStrategy[OpCase]:
    """Inputs for a primitive declared ``complex=True``, with complex values: the cases of
    :func:`op_strategy` (real parts inside the declared domain, away from kinks), where
    the float tensor inputs get an imaginary part (at least one of them; the others stay
    real sometimes, so mixed real/complex calls are drawn too)."""
    prim = _op(op)
    if not prim.complex:
        raise InvalidValueError(f"complex_op_strategy: primitive {prim.name!r} does not take "
                                f"complex values (complex=False)")
    lo, hi = IMAG_RANGES.get(prim.name, IMAG_RANGE)

    @st.composite
    def cases(draw):
        case = draw(op_strategy(prim, margin))
        nin = prim.nin if prim.nin >= 0 else len(case.args)
        slots = [i for i, a in enumerate(case.args[:nin])
                 if isinstance(a, Tensor) and a.dtype.kind == "f"]
        if not slots:
            return case
        first = draw(st.sampled_from(slots))
        args = list(case.args)
        for i in slots:
            if i != first and draw(st.booleans()):
                continue
            a = args[i]
            im = draw(hnp.arrays(np.float64, a.shape, elements=st.floats(
                lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)))
            args[i] = Tensor(a._data + 1j * im, requires_grad=a.requires_grad)
        kwargs = dict(case.kwargs)
        if prim.name == "astype":        # a complex target keeps the imaginary part
            kwargs["dtype"] = "complex128"
        return OpCase(args, kwargs, prim)
    return cases().filter(lambda c: kink_distance(prim, c) >= margin)


# =============================================================================== property tests
class _Example:
    """What one property-test example checks (its repr is what hypothesis prints)."""

    __slots__ = ("fn", "args", "text")

    def __init__(self, fn: Callable, args: Sequence, text: str) -> None:
        self.fn, self.args, self.text = fn, tuple(args), text

    def __repr__(self) -> str:
        return self.text


def property_gradcheck(fn: Union[Callable, str, Primitive], *input_strategies: st.SearchStrategy,
                       max_examples: Optional[int] = None, order: int = 1, eps: float = 1e-6,
                       atol: float = 1e-5, rtol: float = 1e-3) -> Callable[[], None]:
    """A pytest-ready test function: ``gradcheck(fn, *inputs)`` on inputs drawn from
    ``input_strategies`` (one strategy per positional argument of ``fn``), plus
    ``gradgradcheck`` when ``order=2``.

    ``property_gradcheck(op)`` with a primitive (or its name) and no strategies draws
    :class:`OpCase` inputs from ``op_strategy(op)`` instead; ``order=2`` then applies only
    when the op declares ``higher_order``.

    max_examples : overrides the active hypothesis profile's value (default: keep it).
        Other settings come from the active profile, minus hypothesis' 'explain' phase, and
        with no deadline: an example's time is not what a gradient check tests, and the
        first examples pay one-time costs (imports, numba kernels, the first second-order
        graph) that made a test over hypothesis' default 200 ms deadline fail as "flaky" on
        a loaded machine.
    Assign the result to a module-level name starting with ``test_``::

        test_my_fn = property_gradcheck(my_fn, tensors(), tensors(shape=(3,)))
    """
    if order not in (1, 2):
        raise InvalidValueError(f"property_gradcheck: order must be 1 or 2, got {order!r}")
    tol = dict(eps=eps, atol=atol, rtol=rtol)
    second = order == 2
    if not input_strategies and isinstance(fn, (str, Primitive)):
        prim = _op(fn)
        name = prim.name
        second = second and prim.higher_order
        examples = op_strategy(prim).map(lambda c: _Example(c.fn, c.args, repr(c)))
    else:
        if not input_strategies:
            raise InvalidValueError("property_gradcheck: give one input strategy per argument of fn "
                             "(e.g. autograd.testing.tensors()), or a registered primitive")
        if not callable(fn):
            raise ArgumentTypeError(f"property_gradcheck: fn must be callable, got {type(fn).__name__}")
        name = getattr(fn, "__name__", "fn").replace("<lambda>", "lambda")

        def example(args: tuple) -> _Example:
            return _Example(fn, args, f"{name}{repr(OpCase(args))[1:]}")
        examples = st.tuples(*input_strategies).map(example)

    def check(example: _Example) -> None:
        gradcheck(example.fn, *example.args, **tol)
        if second:
            gradgradcheck(example.fn, *example.args, **tol)

    test = given(example=examples)(check)
    # The active profile's settings, without the 'explain' phase: on a failure it would
    # point at gradcheck's raise line (not useful here) and costs seconds per failing test.
    kw: dict = {"phases": tuple(ph for ph in settings().phases if ph is not Phase.explain),
                "deadline": None}
    if max_examples is not None:
        kw["max_examples"] = max_examples
    test = settings(settings(), **kw)(test)
    test.__name__ = f"test_gradcheck_{name}"
    test.__qualname__ = test.__name__
    return test

# =============================================================================== library strategies
# One entry per library primitive: which shapes and static parameters it takes.  Values
# come from each op's declared domain (``domain_tensors``); ``op_strategy`` enforces the
# domain and the kink distance on top.  Sides stay <= 3 so the registry sweep is cheap.
_SIDE = 3


def _shape(min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[tuple]:
    return shapes(min_dims=min_dims, max_dims=max_dims, max_side=_SIDE)


def _const(draw: Callable, t: Tensor) -> Any:
    """``t`` as a constant operand: a Tensor without grad, an ndarray, or a python float."""
    kind = draw(st.sampled_from(("tensor", "array", "scalar")))
    d = t._data
    if kind == "scalar" and d.ndim == 0:
        return float(d)
    return d if kind == "array" else Tensor(d)


def _some_const(draw: Callable, ts: list) -> list:
    """Make some of ``ts`` constants, keeping at least one that requires grad."""
    keep = draw(st.integers(0, len(ts) - 1))
    return [t if i == keep or draw(st.booleans()) else _const(draw, t) for i, t in enumerate(ts)]


def _elementwise(name: str, nargs: int, *value_kw: dict) -> Callable:
    kws = list(value_kw) + [{}] * (nargs - len(value_kw))

    @st.composite
    def cases(draw):
        shps = draw(broadcastable_shapes(nargs, max_side=_SIDE)) if nargs > 1 else (draw(_shape()),)
        ts = [draw(domain_tensors(name, i, s, **kw)) for i, (s, kw) in enumerate(zip(shps, kws))]
        return OpCase(_some_const(draw, ts) if nargs > 1 else ts)
    return cases


for _n in ("add", "subtract", "multiply", "divide", "maximum", "minimum"):
    register_op_strategy(_n, _elementwise(_n, 2))
# x**y: bases and exponents kept moderate so x**y stays in a range finite differences resolve
register_op_strategy("power", _elementwise("power", 2, dict(min_value=0.1, max_value=4.0),
                                           dict(min_value=-3.0, max_value=3.0)))
for _n in ("negative", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "relu",
           "gelu", "identity"):
    register_op_strategy(_n, _elementwise(_n, 1))


for _n in ("real", "imag", "conj"):       # complex helpers (real draws: the complex sweep
    register_op_strategy(_n, _elementwise(_n, 1))   # adds imaginary parts)


@register_op_strategy("angle")
@st.composite
def _angle_cases(draw):
    x = draw(domain_tensors("angle", 0, _shape()))
    return OpCase((x,), {"deg": draw(st.booleans())})


@register_op_strategy("leaky_relu")
@st.composite
def _leaky_relu_cases(draw):
    x = draw(domain_tensors("leaky_relu", 0, _shape()))
    return OpCase((x,), {"negative_slope": draw(st.floats(0.0, 1.0))})


@register_op_strategy("clip")
@st.composite
def _clip_cases(draw):
    x = draw(domain_tensors("clip", 0, _shape()))
    lo, hi = (draw(st.none() | st.floats(-10.0, 10.0)) for _ in range(2))
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return OpCase((x,), {"a_min": lo, "a_max": hi})


@register_op_strategy("where")
@st.composite
def _where_cases(draw):
    sc, sx, sy = draw(broadcastable_shapes(3, max_side=_SIDE))
    cond = draw(hnp.arrays(np.bool_, sc))
    cond = Tensor(cond) if draw(st.booleans()) else cond
    x, y = _some_const(draw, [draw(domain_tensors("where", i, s)) for i, s in ((1, sx), (2, sy))])
    return OpCase((cond, x, y))


def _axes_of(axis: Any, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


def _reduction(name: str, keepdims: bool = True, unique: bool = False, ddof: bool = False):
    @st.composite
    def cases(draw):
        shape = draw(_shape())
        x = draw(domain_tensors(name, 0, shape, unique=unique))
        kw: dict = {"axis": draw(valid_axes(len(shape)))}
        if keepdims:
            kw["keepdims"] = draw(st.booleans())
        if ddof:
            count = math.prod(shape[a] for a in _axes_of(kw["axis"], len(shape)))
            kw["ddof"] = draw(st.integers(0, min(1, count - 1)))
        return OpCase((x,), kw)
    return cases


register_op_strategy("sum", _reduction("sum"))
register_op_strategy("mean", _reduction("mean"))
register_op_strategy("max", _reduction("max", unique=True))
register_op_strategy("min", _reduction("min", unique=True))
register_op_strategy("var", _reduction("var", ddof=True))
register_op_strategy("logsumexp", _reduction("logsumexp"))
register_op_strategy("softmax", _reduction("softmax", keepdims=False))
register_op_strategy("log_softmax", _reduction("log_softmax", keepdims=False))


def _prime_factors(n: int) -> list:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@register_op_strategy("reshape")
@st.composite
def _reshape_cases(draw):
    shape = draw(_shape())
    x = draw(domain_tensors("reshape", 0, shape))
    dims: list = []
    for f in draw(st.permutations(_prime_factors(math.prod(shape)))):
        if dims and draw(st.booleans()):
            dims[-1] *= f
        else:
            dims.append(f)
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return OpCase((x,), {"shape": tuple(dims)})


def _maybe_negative(draw: Callable, axes: Sequence[int], ndim: int) -> tuple:
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


@register_op_strategy("transpose")
@st.composite
def _transpose_cases(draw):
    shape = draw(_shape())
    x = draw(domain_tensors("transpose", 0, shape))
    axes = None
    if draw(st.booleans()):
        axes = _maybe_negative(draw, draw(st.permutations(range(len(shape)))), len(shape))
    return OpCase((x,), {"axes": axes})


@register_op_strategy("expand_dims")
@st.composite
def _expand_dims_cases(draw):
    shape = draw(_shape())
    x = draw(domain_tensors("expand_dims", 0, shape))
    k = draw(st.integers(1, 2))
    out_nd = len(shape) + k
    pos = _maybe_negative(draw, draw(st.lists(st.integers(0, out_nd - 1), min_size=k,
                                              max_size=k, unique=True)), out_nd)
    axis: Any = pos[0] if k == 1 and draw(st.booleans()) else pos
    return OpCase((x,), {"axis": axis})


@register_op_strategy("squeeze")
@st.composite
def _squeeze_cases(draw):
    shape = list(draw(_shape(max_dims=2)))
    for _ in range(draw(st.integers(0, 2))):
        shape.insert(draw(st.integers(0, len(shape))), 1)
    x = draw(domain_tensors("squeeze", 0, tuple(shape)))
    ones = [i for i, s in enumerate(shape) if s == 1]
    axis: Any = None
    if ones and draw(st.booleans()):
        picked = _maybe_negative(draw, draw(st.lists(st.sampled_from(ones), min_size=1,
                                                     unique=True)), len(shape))
        axis = picked[0] if len(picked) == 1 and draw(st.booleans()) else picked
    return OpCase((x,), {"axis": axis})


@register_op_strategy("broadcast_to")
@st.composite
def _broadcast_to_cases(draw):
    target = draw(_shape())
    kept = target[draw(st.integers(0, len(target))):]
    xshape = tuple(1 if draw(st.booleans()) else s for s in kept)
    x = draw(domain_tensors("broadcast_to", 0, xshape))
    return OpCase((x,), {"shape": target})


def _index(draw: Callable, shape: tuple) -> Any:
    """An index for an array of ``shape``: basic (ints, slices, None, Ellipsis), integer
    arrays with repeats and negatives (all axes, or one axis after slices, as array, list or
    Tensor), or a boolean mask over the leading axes."""
    kinds = ["basic"] + (["int_arrays", "int_array_axis", "mask"] if shape else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":
        return draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    if kind == "int_arrays":
        return draw(hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=4)))
    if kind == "int_array_axis":
        ax = draw(st.integers(0, len(shape) - 1))
        arr = draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
                              elements=st.integers(-shape[ax], shape[ax] - 1)))
        form = draw(st.sampled_from(("array", "list", "tensor")))
        arr = arr.tolist() if form == "list" else Tensor(arr) if form == "tensor" else arr
        return (slice(None),) * ax + (arr,)
    k = draw(st.integers(1, len(shape)))
    return draw(hnp.arrays(np.bool_, shape[:k]))


@register_op_strategy("getitem")
@st.composite
def _getitem_cases(draw):
    shape = draw(_shape())
    x = draw(domain_tensors("getitem", 0, shape))
    return OpCase((x,), {"idx": _index(draw, shape)})


@register_op_strategy("scatter_add")
@st.composite
def _scatter_add_cases(draw):
    shape = draw(_shape())
    idx = _index(draw, shape)
    from .ops.shape import _clean_index
    gshape = np.zeros(shape)[_clean_index(idx)].shape
    g = draw(domain_tensors("scatter_add", 0, gshape))
    return OpCase((g,), {"idx": idx, "shape": shape})


@register_op_strategy("concatenate")
@st.composite
def _concatenate_cases(draw):
    base = draw(_shape(min_dims=1))
    ax = draw(st.integers(-len(base), len(base) - 1))
    xs = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        s[ax] = draw(st.integers(1, _SIDE))
        xs.append(draw(domain_tensors("concatenate", 0, tuple(s))))
    return OpCase(_some_const(draw, xs), {"axis": ax})


@register_op_strategy("stack")
@st.composite
def _stack_cases(draw):
    shape = draw(_shape())
    xs = [draw(domain_tensors("stack", 0, shape)) for _ in range(draw(st.integers(1, 3)))]
    ax = draw(st.integers(-len(shape) - 1, len(shape)))
    return OpCase(_some_const(draw, xs), {"axis": ax})


@register_op_strategy("astype")
@st.composite
def _astype_cases(draw):
    # float64 targets only: a float32 output would make finite differences rounding noise
    x = draw(domain_tensors("astype", 0, _shape()))
    return OpCase((x,), {"dtype": draw(st.sampled_from(("float64", np.float64)))})


@register_op_strategy("matmul")
@st.composite
def _matmul_cases(draw):
    k, m, n = (draw(st.integers(1, _SIDE)) for _ in range(3))
    ba, bb = draw(broadcastable_shapes(2, max_dims=2, max_side=_SIDE))
    a_shape = (k,) if draw(st.booleans()) else ba + (m, k)
    b_shape = (k,) if draw(st.booleans()) else bb + (k, n)
    a = draw(domain_tensors("matmul", 0, a_shape))
    b = draw(domain_tensors("matmul", 1, b_shape))
    return OpCase(_some_const(draw, [a, b]))


@register_op_strategy("dense")
@st.composite
def _dense_cases(draw):
    from .ops.fused import ACTIVATIONS
    n_in, units = draw(st.integers(1, _SIDE)), draw(st.integers(1, _SIDE))
    lead = draw(_shape(max_dims=2))
    x = draw(domain_tensors("dense", 0, lead + (n_in,)))
    kernel = draw(domain_tensors("dense", 1, (n_in, units)))
    bias = draw(st.none() | domain_tensors("dense", 2, (units,)))
    x, kernel = _some_const(draw, [x, kernel])
    kw = {"activation": draw(st.sampled_from(ACTIVATIONS))}
    if kw["activation"] == "leaky_relu":
        kw["negative_slope"] = draw(st.floats(0.0, 1.0))
    return OpCase((x, kernel, bias), kw)


@register_op_strategy("dense_chain")
@st.composite
def _dense_chain_cases(draw):
    from .ops.fused import ACTIVATIONS
    n = draw(st.integers(1, 3))
    widths = [draw(st.integers(1, _SIDE)) for _ in range(n + 1)]
    lead = draw(_shape(max_dims=2))
    x = draw(domain_tensors("dense_chain", 0, lead + (widths[0],)))
    wb = []
    for i in range(n):
        wb.append(draw(domain_tensors("dense_chain", 0, (widths[i], widths[i + 1]))))
        wb.append(draw(st.none() | domain_tensors("dense_chain", 0, (widths[i + 1],))))
    ts = _some_const(draw, [x] + [t for t in wb if t is not None])
    it = iter(ts[1:])
    wb = [None if t is None else next(it) for t in wb]
    kw = {"activations": tuple(draw(st.sampled_from(ACTIVATIONS)) for _ in range(n))}
    if "leaky_relu" in kw["activations"]:
        kw["negative_slope"] = draw(st.floats(0.0, 1.0))
    return OpCase((ts[0], *wb), kw)


@register_op_strategy("softmax_cross_entropy")
@st.composite
def _xent_cases(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    logits = draw(domain_tensors("softmax_cross_entropy", 0, (n, c)))
    if draw(st.booleans()):  # integer class labels
        labels: Any = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
        labels = Tensor(labels) if draw(st.booleans()) else labels
    else:  # float targets (probabilities), which may require grad
        labels = draw(domain_tensors("softmax_cross_entropy", 1, (n, c), min_value=0.0,
                                     max_value=1.0, requires_grad=draw(st.booleans())))
    return OpCase((logits, labels))


@register_op_strategy("sigmoid_binary_cross_entropy")
@st.composite
def _bce_cases(draw):
    shape = draw(_shape())
    logits = draw(domain_tensors("sigmoid_binary_cross_entropy", 0, shape))
    kind = draw(st.sampled_from(("float", "int", "bool")))
    if kind == "float":
        targets: Any = draw(domain_tensors("sigmoid_binary_cross_entropy", 1, shape,
                                           min_value=0.0, max_value=1.0,
                                           requires_grad=draw(st.booleans())))
    else:
        targets = draw(hnp.arrays(np.int64 if kind == "int" else np.bool_, shape,
                                  elements=st.integers(0, 1) if kind == "int" else None))
    return OpCase((logits, targets))


# ------------------------------------------------------------------ autograd.numpy: elementwise
for _n in ("tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
           "log2", "log10", "log1p", "expm1", "exp2", "reciprocal", "cbrt", "rad2deg",
           "deg2rad", "sinc", "sign", "floor", "ceil", "trunc", "fix", "rint"):
    register_op_strategy(_n, _elementwise(_n, 1))
for _n in ("arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "mod", "fmod"):
    register_op_strategy(_n, _elementwise(_n, 2))


@register_op_strategy("round")
@st.composite
def _round_cases(draw):
    x = draw(domain_tensors("round", 0, _shape()))
    return OpCase((x,), {"decimals": draw(st.integers(0, 2))})


@register_op_strategy("nan_to_num")
@st.composite
def _nan_to_num_cases(draw):
    x = draw(domain_tensors("nan_to_num", 0, _shape()))
    kw = {k: draw(st.none() | st.floats(-5.0, 5.0)) for k in ("posinf", "neginf")}
    return OpCase((x,), dict(kw, nan=draw(st.floats(-5.0, 5.0))))


# ------------------------------------------------------------------ autograd.numpy: reductions
register_op_strategy("prod", _reduction("prod"))


def _cumulative(name: str, bound: float = 3.0):
    @st.composite
    def cases(draw):
        shape = draw(_shape())
        x = draw(domain_tensors(name, 0, shape, min_value=-bound, max_value=bound))
        return OpCase((x,), {"axis": draw(valid_axes(len(shape), allow_tuple=False))})
    return cases


register_op_strategy("cumsum", _cumulative("cumsum"))
# |x| <= 1.5: a flat cumprod of up to 64 entries of 3 reaches 3^18 = 4e8 at 18, where the
# second-order finite differences lose 3 digits (flake_scan seed 2 found an 0.3% miss)
register_op_strategy("cumprod", _cumulative("cumprod", bound=1.5))


# ------------------------------------------------------------------ autograd.numpy: einsum
@register_op_strategy("einsum")
@st.composite
def _einsum_cases(draw):
    """1-3 operands over letters a-d (sides 1-3), repeated letters (diagonals) included,
    an explicit output of distinct letters in any order, sometimes a broadcast ``...``."""
    sizes = {c: draw(st.integers(1, _SIDE)) for c in "abcd"}
    n = draw(st.integers(1, 3))
    dots = draw(st.booleans())
    batch = draw(broadcastable_shapes(n, max_dims=2, max_side=_SIDE)) if dots else [()] * n
    terms, args = [], []
    for i in range(n):
        word = draw(st.lists(st.sampled_from("abcd"), min_size=0, max_size=3))
        one = {c: draw(st.integers(0, 4)) == 0 for c in word}   # size 1, broadcast (numpy's)
        shape = tuple(batch[i]) + tuple(1 if one[c] else sizes[c] for c in word)
        terms.append(("..." if dots else "") + "".join(word))
        args.append(draw(domain_tensors("einsum", 0, shape, min_value=-3.0, max_value=3.0)))
    used = sorted(set("".join(terms)) - {"."})
    out = draw(st.permutations(used).flatmap(lambda p: st.integers(0, len(p)).map(
        lambda k: "".join(p[:k]))))
    out = ("..." if dots else "") + out
    from .ops.linalg import _parse_einsum_input
    ins, outs, _ = _parse_einsum_input((",".join(terms) + "->" + out,
                                        *[a._data for a in args]))
    return OpCase(_some_const(draw, args) if n > 1 else args,
                  {"subscripts": f"{ins}->{outs}", "optimize": draw(st.booleans())})


# convolution and pooling strategies live beside (registered on import)
from . import _conv_strategies  # noqa: E402,F401


# ----------------------------------------------------------------------------- layers' primitives
@register_op_strategy("dropout")
@st.composite
def _dropout_cases(draw):
    shape = draw(_shape())
    x = draw(domain_tensors("dropout", 0, shape))
    mshape = tuple(1 if draw(st.booleans()) else s for s in shape)   # noise_shape broadcasts
    rate = draw(st.sampled_from((0.25, 0.5)))
    keep = (draw(hnp.arrays(np.bool_, mshape)) / (1.0 - rate)).astype(np.float64)
    return OpCase((x,), {"keep": keep})


@register_op_strategy("batch_norm")
@st.composite
def _batch_norm_cases(draw):
    shape = draw(_shape(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    c = shape[axis]
    x = draw(domain_tensors("batch_norm", 0, shape, min_value=-3.0, max_value=3.0))
    training = draw(st.booleans())
    gamma, beta = (draw(st.none() | domain_tensors("batch_norm", i, (c,), min_value=-2.0,
                                                   max_value=2.0)) for i in (1, 2))
    if training:          # batch statistics; keep the spread well above eps (conditioning)
        red = math.prod(shape) // c
        if red < 2:
            training = False
        else:
            x = Tensor(x._data + np.arange(x._data.size).reshape(shape) % 3, requires_grad=True)
    if training:
        mean = var = None
    else:
        mean = draw(domain_tensors("batch_norm", 3, (c,), min_value=-2.0, max_value=2.0))
        var = draw(domain_tensors("batch_norm", 4, (c,), min_value=0.1, max_value=3.0))
    return OpCase((x, gamma, beta, mean, var), {"eps": 1e-3, "axis": axis,
                                                "training": training})


@register_op_strategy("layer_norm")
@st.composite
def _layer_norm_cases(draw):
    shape = draw(_shape(min_dims=1))
    axes = draw(valid_axes(len(shape), allow_none=False, min_size=1))
    axt = _axes_of(axes, len(shape))
    pshape = tuple(shape[a] for a in sorted(axt))
    x = draw(domain_tensors("layer_norm", 0, shape, min_value=-3.0, max_value=3.0))
    if math.prod(pshape) >= 2:   # spread well above eps (conditioning of finite differences)
        x = Tensor(x._data + np.arange(x._data.size).reshape(shape) % 3, requires_grad=True)
    gamma, beta = (draw(st.none() | domain_tensors("layer_norm", i, pshape, min_value=-2.0,
                                                   max_value=2.0)) for i in (1, 2))
    return OpCase((x, gamma, beta), {"axis": axes, "eps": 1e-3})


@register_op_strategy("embedding")
@st.composite
def _embedding_cases(draw):
    v, d = draw(st.integers(1, _SIDE)), draw(st.integers(1, _SIDE))
    ids = draw(hnp.arrays(np.int64, _shape(max_dims=2), elements=st.integers(0, v - 1)))
    table = draw(domain_tensors("embedding", 1, (v, d)))
    return OpCase((Tensor(ids) if draw(st.booleans()) else ids, table))


def _rnn_case(name: str, gates: int, cell: bool, cell_state: bool):
    @st.composite
    def cases(draw):
        n, f, u = (draw(st.integers(1, 2)) for _ in range(3))   # small: second order unrolls
        t = draw(st.integers(1, 2))
        small = dict(min_value=-1.5, max_value=1.5)
        x = draw(domain_tensors(name, 0, (n, f) if cell else (n, t, f), **small))
        states = [draw(st.none() | domain_tensors(name, 1, (n, u), **small))]
        if cell_state:
            states.append(draw(st.none() | domain_tensors(name, 2, (n, u), **small)))
        k = len(states) + 1
        kernel = draw(domain_tensors(name, k, (f, gates * u), **small))
        rk = draw(domain_tensors(name, k + 1, (u, gates * u), **small))
        bshape = (2, gates * u) if gates == 3 else (gates * u,)
        bias = draw(st.none() | domain_tensors(name, k + 2, bshape, **small))
        kw = {}
        if not cell and draw(st.booleans()):          # skipped (masked) time steps
            kw["mask"] = draw(hnp.arrays(np.bool_, (n, t)))
        return OpCase([x] + states + [kernel, rk, bias], kw)
    return cases


for _n, _g, _cell, _cs in (("lstm", 4, False, True), ("gru", 3, False, False),
                           ("simple_rnn", 1, False, False), ("lstm_cell", 4, True, True),
                           ("gru_cell", 3, True, False), ("rnn_cell", 1, True, False)):
    register_op_strategy(_n, _rnn_case(_n, _g, _cell, _cs))


# Matrix strategies and the linear-algebra primitives' strategies (autograd.ops.decomp).
from ._testing_linalg import matrices  # noqa: E402
__all__.append("matrices")
from . import _testing_fft  # noqa: E402,F401  (the FFT primitives' strategies)

# autograd.scipy's primitives' strategies (when autograd.scipy is imported; it does the same
# import when it comes second).
import sys as _sys  # noqa: E402
if "autograd.scipy" in _sys.modules:
    from . import _testing_scipy  # noqa: F401
