"""``autograd.jit``: trace a function once per signature into a program, replay it.

``autograd.jit(fun, static_argnums=())`` (or ``@autograd.jit``) returns a function that
behaves like ``fun`` and, after two traced runs per signature, replays the recorded
program instead of running the Python again.  See :func:`jit` for the semantics, and
``program.py`` for the IR that backends rewrite.
"""
from __future__ import annotations

import functools
import sys
import threading
import types
import warnings
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np

from ..errors import ArgumentTypeError, JitFallbackWarning, ConcretizationError
from ..graph import MODE
from ..tensor import Tensor
from . import effects
from .cache import LRU, Entry, signature
from .effects import host_effect, random_draw
from .program import Program, StaleProgram, equivalent, register_backend

__all__ = ["jit", "Jitted", "host_effect", "random_draw", "JitFallbackWarning", "ConcretizationError",
           "register_backend", "Program"]


class Jitted:
    """A jitted function (see :func:`jit`).

    trace_count : how many signatures have been traced (a new shape or dtype adds one)
    cache_size : the bound of the per-signature cache (least recently used out)
    fallbacks : {signature: reason} of the signatures that run eagerly
    """

    def __init__(self, fun: Callable, static_argnums: Iterable[int] = (),
                 cache_size: int = 32, validate: bool = True) -> None:
        if not callable(fun):
            raise ArgumentTypeError(f"autograd.jit: expected a function, got {type(fun).__name__}")
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        self.fun = fun
        self.static_argnums = frozenset(int(i) for i in static_argnums)
        self.cache = LRU(int(cache_size))
        self.validate = bool(validate)
        self.trace_count = 0
        self.fallbacks: dict = {}
        self._warned = False
        self._scalar: Any = None
        #: ``backend(program) -> program`` for this function's lowering (None: the registered
        #: default, code generation included; ``lambda p: p``: the plain numpy replay)
        self.backend: Optional[Callable] = None
        self._fast: dict = {}
        self._fast_evictions = 0
        functools.update_wrapper(self, fun)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and not self.static_argnums:
            # fast path: flat array/tensor arguments of a compiled signature
            key = [MODE.grad]
            arrays = []
            for a in args:
                t = type(a)
                if t is np.ndarray:
                    key.append((a.shape, a.dtype))
                    arrays.append(a)
                elif t is Tensor and not a._rg and a._node is None:
                    d = a._data
                    key.append(("T", d.shape, d.dtype))
                    arrays.append(d)
                else:
                    break
            else:
                e = self._fast.get(tuple(key))
                if e is not None and effects.LOCAL.rec is None:
                    try:
                        return _hand_out(e.exe.program, e.exe.run(arrays), e.as_tensor)
                    except StaleProgram:      # a captured tensor changed: trace again
                        self._stale(e)
        if effects.LOCAL.rec is not None:            # inside another trace: inline
            return self.fun(*args, **kwargs)
        if self._scalar is not None or _has_value(args):
            return self._call_scalar(args, kwargs)
        n = len(args)
        static = frozenset(i % n for i in self.static_argnums if -n <= i < n) if n else frozenset()
        key, dynamic = signature(args, kwargs, static, MODE.grad)
        if kwargs and any(isinstance(v, (np.ndarray, Tensor)) for v in _leaves(kwargs)):
            return self._eager(None, "arrays given by keyword are not traced (pass them "
                                     "positionally)", args, kwargs)
        if MODE.grad and _needs_graph(args, dynamic):
            return self._eager(None, "an argument requires grad (the result must be "
                                     "differentiable: jit records no graph)", args, kwargs)
        e = self.cache.get(key)
        if e is None:
            e = Entry()
            self.cache.put(key, e)
            self.trace_count += 1
            if self.cache.evictions != self._fast_evictions:   # the fast map follows the LRU
                self._fast.clear()
                self._fast_evictions = self.cache.evictions
        if e.exe is not None:
            try:
                return self._replay(e, args, dynamic)
            except StaleProgram:
                self._stale(e)
        if e.eager is not None:
            return _eager_run(self.fun, args, kwargs, dynamic)
        return self._trace(e, key, args, kwargs, dynamic)

    def _trace(self, e: Entry, key: Any, args: tuple, kwargs: dict, dynamic: list) -> Any:
        from . import trace as _trace
        from .. import value as _value
        tick, mine = _trace_tick()
        rec, out = _trace.trace(self.fun, args, kwargs, dynamic)
        tick2, mine2 = _trace_tick()
        if tick2 - tick > mine2 - mine:         # creation ticks beyond the traces' own
            # Values were made or assigned during the run: a function of captured Values
            # (micrograd style, float arguments only).  The run was eager; from the next
            # call on, the scalar compiler takes every call.
            self.cache.clear()
            self.trace_count -= 1
            self._scalar = None
            self._call_scalar((), {}, build_only=True)
            return out
        as_tensor = any(isinstance(v, Tensor) for k, a in enumerate(args) if dynamic[k]
                        for v in _leaves(a))
        vals = _trace.finish(rec, out, as_tensor)
        result = _hand_out(rec.prog, vals, as_tensor)
        if rec.bad is not None:
            self._fall_back(e, key, rec.bad)
            return result
        if self.validate and e.first is None:
            e.first = rec.prog
            return result
        if e.first is not None:
            why = equivalent(e.first, rec.prog)
            e.first = None
            if why is not None:
                self._fall_back(e, key, why)
                return result
        try:
            e.exe = rec.prog.lower(self.backend)
        except Exception as ex:   # noqa: BLE001 - a program that cannot be lowered runs eagerly
            self._fall_back(e, key, f"lowering failed ({type(ex).__name__}: {ex})")
            return result
        e.as_tensor = as_tensor
        if not kwargs and not self.static_argnums and all(
                type(a) is np.ndarray or type(a) is Tensor for a in args):
            fk = [MODE.grad] + [(a.shape, a.dtype) if type(a) is np.ndarray
                                else ("T", a._data.shape, a._data.dtype) for a in args]
            self._fast[tuple(fk)] = e
        return result

    def _replay(self, e: Entry, args: tuple, dynamic: list) -> Any:
        arrays = []
        for k, a in enumerate(args):
            if dynamic[k]:
                for v in _leaves(a):
                    if isinstance(v, Tensor):
                        arrays.append(v._data)
                    elif isinstance(v, np.ndarray):
                        arrays.append(v)
        vals = e.exe.run(arrays)
        return _hand_out(e.exe.program, vals, e.as_tensor)

    def _stale(self, e: Entry) -> None:
        """Forget the program of ``e`` (a captured tensor's shape or dtype changed since
        its trace; the replay raised before running anything): the call traces again."""
        e.exe = None
        e.first = None
        for k in [k for k, v in self._fast.items() if v is e]:
            del self._fast[k]
        self.trace_count += 1

    def _fall_back(self, e: Entry, key: Any, why: str) -> None:
        e.eager = why
        e.first = None
        self.fallbacks[key] = why
        self._warn(why)

    def _eager(self, e: Optional[Entry], why: str, args: tuple, kwargs: dict) -> Any:
        self._warn(why)
        return self.fun(*args, **kwargs)

    def _warn(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            name = getattr(self.fun, "__qualname__", repr(self.fun))
            warnings.warn(f"autograd.jit: {name} runs eagerly (not compiled): {why}",
                          JitFallbackWarning, stacklevel=4)

    def _call_scalar(self, args: tuple, kwargs: dict, build_only: bool = False) -> Any:
        if self._scalar is None:
            try:
                from .scalar import compile_scalar      # jitgen's scalar-graph compiler
            except ImportError:
                self._warn("Value arguments (the scalar-graph compiler is not available)")
                self._scalar = self.fun
            else:
                self._scalar = compile_scalar(self.fun, tuple(sorted(self.static_argnums)))
        if build_only or self._scalar is self.fun:
            return None if build_only else self.fun(*args, **kwargs)
        n = self._scalar.trace_count
        out = self._scalar(*args, **kwargs)
        self.trace_count += self._scalar.trace_count - n
        return out

    # ------------------------------------------------------------------ introspection
    def program(self, *args: Any, **kwargs: Any) -> Optional[Program]:
        """The lowered program of this signature (None before it is compiled)."""
        n = len(args)
        static = frozenset(i % n for i in self.static_argnums if -n <= i < n) if n else frozenset()
        key, _ = signature(args, kwargs, static, MODE.grad)
        e = self.cache.get(key)
        return None if e is None or e.exe is None else e.exe.program

    def clear_cache(self) -> None:
        self.cache.clear()
        self._fast.clear()

    def __repr__(self) -> str:
        return f"<jit {getattr(self.fun, '__qualname__', self.fun)}: {len(self.cache)} signatures>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:   # a jitted method
        if obj is None:
            return self
        return functools.partial(self, obj)


def _eager_run(fun: Callable, args: tuple, kwargs: dict, dynamic: list) -> Any:
    """``fun`` run eagerly as a trace runs it (array arguments seen as tensors; results
    handed out the same way), so a signature that falls back behaves as a compiled one."""
    from ..transforms import tree_flatten, tree_unflatten
    targs = list(args)
    as_tensor = False
    for k, a in enumerate(args):
        if dynamic[k]:
            leaves, spec = tree_flatten(a)
            as_tensor = as_tensor or any(isinstance(v, Tensor) for v in leaves)
            targs[k] = tree_unflatten(spec, [Tensor._make(v) if isinstance(v, np.ndarray) else v
                                             for v in leaves])
    out = fun(*targs, **kwargs)
    leaves, spec = tree_flatten(out)
    res = []
    for v in leaves:
        if isinstance(v, Tensor):
            a = np.array(v._data, copy=True)
            res.append(Tensor._make(a) if as_tensor else a)
        else:
            res.append(v)
    return tree_unflatten(spec, res)


def _leaves(a: Any) -> list:
    from ..transforms import tree_flatten
    return tree_flatten(a)[0]


def _has_value(args: tuple) -> bool:
    from ..value import Value
    return any(isinstance(v, Value) for a in args for v in _leaves(a))


def _needs_graph(args: tuple, dynamic: list) -> bool:
    for k, a in enumerate(args):
        if dynamic[k]:
            for v in _leaves(a):
                if isinstance(v, Tensor) and (v._rg or v._node is not None):
                    return True
    return False


def _hand_out(prog: Program, vals: list, as_tensor: bool) -> Any:
    from ..transforms import tree_unflatten
    out = []
    for kind, v in zip(prog.out_kinds, vals):
        if kind == "python":
            out.append(v)
            continue
        a = np.array(v, copy=True)
        out.append(Tensor._make(a) if kind == "tensor" and as_tensor else a)
    return tree_unflatten(prog.out_spec, out)


def jit(fun: Optional[Callable] = None, static_argnums: Union[int, Iterable[int]] = (), *,
        cache_size: int = 32, validate: bool = True) -> Any:
    """Compile ``fun``: trace it once per signature into a program and replay that program.

    ``jit(f)``, ``jit(f, static_argnums=(1,))`` or ``@jit`` / ``@jit(static_argnums=1)``.

    Arguments: arrays and tensors (and pytrees of them: lists, tuples, dicts) are traced;
    arguments named in ``static_argnums``, Python scalars and keyword arguments are baked
    into the program (a new value traces again).  Inside the traced run every array
    argument is seen as a ``Tensor``, and ``grad``/``value_and_grad`` return tensors.

    What is recorded: every primitive call (forward), every backward (``loss.backward()``,
    ``grad``, ``value_and_grad``: one vjp instruction per node, the same fused vjps as
    eager), leaf ``.grad`` writes, in-place updates of captured tensors under ``no_grad``
    (``p -= lr * g``) and calls to ``host_effect`` functions (the nn optimizers' ``step``
    and ``zero_grad``), which run again at each call; draws made through ``random_draw``
    (``dropout``), drawn again at each call from the same generator, in order; primitive
    forwards that write into captured tensors (``batch_norm``'s moving statistics in
    training), re-run on the live tensors at each call.

    Semantics:

    * results equal eager execution (float64 to 1e-12, float32 to 1e-5 relative);
    * a new signature (shapes, dtypes, tensor or array, structure, static values) traces
      again; the cache keeps ``cache_size`` signatures (least recently used out);
      ``f.trace_count`` counts the signatures traced;
    * the first two calls of a signature run eagerly while recording; they must record the
      same program (a value read out of the data, a random draw or a branch taken on a
      value shows up as a difference), and from the third call the program is replayed;
    * ``bool()``/``if``, ``float()``, ``int()``, ``.item()`` on a traced tensor raise
      :class:`~autograd.errors.ConcretizationError` naming the line;
    * a function jit cannot follow (``.numpy()``/``.data``/``np.asarray`` of a traced tensor,
      random draws made with numpy directly (not through ``random_draw``), unknown numpy
      functions, ``t[i] = v``, ``retain_grad``...) runs eagerly
      with one :class:`~autograd.errors.JitFallbackWarning`: never a wrong answer;
    * other side effects (printing, appending to a list, Python counters) happen at trace
      time only; captured tensors (parameters) are read live at every call, captured numpy
      arrays are constants (by reference);
    * results are fresh arrays (Tensors when an argument was a Tensor) without a graph: a
      jitted function is not differentiated from outside (an argument that requires grad
      runs eagerly); ``.grad`` arrays it leaves are its own buffers, overwritten by the
      next call (copy one to keep it);
    * a function of ``autograd.Value`` scalars goes to the scalar-graph compiler
      (``autograd.jit.scalar``) when it is available.
    """
    if fun is None:
        return lambda f: Jitted(f, static_argnums, cache_size, validate)
    if isinstance(fun, (int, tuple, list)) and not callable(fun):
        raise ArgumentTypeError("autograd.jit: give the function first, or use "
                                "@jit(static_argnums=...)")
    return Jitted(fun, static_argnums, cache_size, validate)


class _CallableModule(types.ModuleType):
    """``autograd.jit`` is this package and, called, the ``jit`` function."""

    def __call__(self, fun: Optional[Callable] = None, static_argnums: Any = (), **kw: Any) -> Any:
        return jit(fun, static_argnums, **kw)


sys.modules[__name__].__class__ = _CallableModule

# elementwise chains fused into generated numba kernels (autograd/jit/codegen.py; a no-op
# under AUTOGRAD_KERNELS=numpy or below its measured size threshold)
from . import codegen as _codegen  # noqa: E402

_TICKS_LOCK = threading.Lock()
_TRACE_TICKS = [0]


def _trace_tick() -> tuple:
    """(Value creation tick, ticks taken by traces so far), read together.  A trace decides
    that its function made Values when the creation counter moved by more than the traces'
    own readings: another thread's trace in the same window (two models fitting in two
    threads) no longer looks like a function of Values (it did, and ran eagerly, warned)."""
    from .. import value as _value
    with _TICKS_LOCK:
        _TRACE_TICKS[0] += 1
        return _value._tick(), _TRACE_TICKS[0]
register_backend(_codegen.backend)
