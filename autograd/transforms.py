"""Function transforms: ``grad``, ``jacobian``, ``hessian``, ``make_vjp``, ``make_jvp``, ...

Names and meanings as HIPS autograd spells them (``from autograd import grad, jacobian``
works unchanged), JAX spellings as aliases (``argnums``, ``has_aux``, ``jvp``, ``vjp``,
``jacfwd``, ``jacrev``).  Arguments and outputs may be pytrees: lists, tuples and dicts of
arrays/tensors/numbers, nested; ``grad(loss)(params_dict)`` returns a dict of the same shape.

One mechanism under all of them, :func:`_make_vjp`: the differentiated arguments become
fresh leaf tensors (or stay the caller's tensor when it already requires grad), ``fun`` runs
with the graph recorded, and the returned ``vjp(g)`` runs ``backward`` from the outputs.

Nesting to any depth: the backward is itself recorded (``create_graph``) whenever grad
mode is on and the graph reaches anything an outer computation differentiates: a tensor
that requires grad (a closed-over parameter, an outer transform's variable while that
transform runs), or while another transform evaluates its function.  Otherwise the results
are plain ndarrays.

Forward mode (``make_jvp``, ``jvp``) is the double-vjp trick: ``u -> vjp(u)`` is linear, so
its own vjp at any ``u`` with cotangent ``v`` is ``J v``.  It costs about two reverse passes
(measured in the README), and needs every primitive on the path to have a differentiable
vjp, which the library's all do.
"""
from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from . import graph as _graph
from .errors import GraphError, IndexOutOfRangeError, OutputError, ArgumentTypeError
from .graph import Node
from .tensor import Tensor
from . import registry as _registry

__all__ = ["grad", "value_and_grad", "grad_and_aux", "elementwise_grad", "deriv", "jacobian",
           "hessian", "hessian_tensor_product", "hessian_vector_product", "hvp", "make_hvp",
           "make_vjp", "make_jvp", "make_ggnvp", "tensor_jacobian_product",
           "vector_jacobian_product", "multigrad_dict", "checkpoint", "holomorphic_grad",
           "jvp", "vjp", "jacfwd", "jacrev", "tree_flatten", "tree_unflatten"]


class _Nesting(threading.local):
    depth = 0   # how many transforms are evaluating their ``fun`` in this thread


_NESTING = _Nesting()


class _Var(Tensor):
    """A leaf made by a transform for a differentiated argument; ``_live`` while the
    transform's function runs (then it is an outer variable for transforms inside it)."""
    __slots__ = ("_live",)


def _fresh(data: np.ndarray) -> _Var:
    t = object.__new__(_Var)
    t._data = data
    t.grad = None
    t._rg = True
    t._node = None
    t._version = 0
    t.name = None
    t._base = None
    t._saved = 0
    t._live = True
    if data.dtype.kind == "c":
        _registry.complex_seen()
    return t


# --------------------------------------------------------------------------- pytrees
def _is_leaf(x: Any) -> bool:
    return not isinstance(x, (list, tuple, dict))


def tree_flatten(tree: Any) -> tuple[list, Any]:
    """Leaves of a pytree (lists, tuples, namedtuples, dicts nested; dict keys sorted when
    they sort) and a description of its structure for :func:`tree_unflatten`."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _dict_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _flatten(x: Any, leaves: list) -> Any:
    if isinstance(x, dict):
        keys = _dict_keys(x)
        return (type(x), keys, [_flatten(x[k], leaves) for k in keys])
    if isinstance(x, (list, tuple)):
        return (type(x), None, [_flatten(e, leaves) for e in x])
    leaves.append(x)
    return None


def tree_unflatten(spec: Any, leaves: Sequence) -> Any:
    """The pytree of ``spec``'s structure with ``leaves`` in order."""
    it = iter(leaves)
    return _build(spec, it)


def _build(spec: Any, it) -> Any:
    if spec is None:
        return next(it)
    typ, keys, kids = spec
    vals = [_build(k, it) for k in kids]
    if keys is not None:
        d = typ() if typ is not dict else {}
        if typ is OrderedDict or typ is dict:
            d = typ(zip(keys, vals))
        else:
            d.update(zip(keys, vals))
        return d
    if typ is list or typ is tuple:
        return typ(vals)
    if hasattr(typ, "_fields"):            # namedtuple
        return typ(*vals)
    return typ(vals)


# --------------------------------------------------------------------------- the core
def _leaf_var(a: Any, op: str):
    """The tensor a differentiated leaf argument becomes: the caller's own tensor when it
    already requires grad (so an outer transform sees through), a fresh leaf otherwise."""
    if isinstance(a, Tensor) and a._rg and _graph.MODE.grad:
        return a, False
    if a is None:
        return None, False
    data = a._data if isinstance(a, Tensor) else np.asarray(a)
    if data.dtype.kind not in "fc":
        if data.dtype.kind not in "biu":
            raise ArgumentTypeError(f"{op}: cannot differentiate with respect to a "
                                    f"{type(a).__name__} of dtype {data.dtype}")
        data = data.astype(np.float64)
    return _fresh(data), True


def _reaches_outer(outs: list, own: set) -> bool:
    """Whether the graph of ``outs`` reaches a leaf an outer computation differentiates."""
    seen: set = set()
    for o in outs:
        if not isinstance(o, Tensor) or o._node is None:
            if isinstance(o, Tensor) and o._rg and id(o) not in own and _is_outer(o):
                return True
            continue
        if o._node in seen:
            continue
        for node in _graph.toposort(o._node):
            if node in seen:
                continue
            seen.add(node)
            for _, p in node.parents:
                if type(p) is not Node and id(p) not in own and _is_outer(p):
                    return True
    return False


def _is_outer(leaf: Tensor) -> bool:
    return not isinstance(leaf, _Var) or leaf._live


def _check_argnum(k: int, n: int, op: str) -> int:
    if not isinstance(k, (int, np.integer)) or not -n <= k < n:
        raise IndexOutOfRangeError(f"{op}: argnum {k!r} out of range for {n} positional "
                                   f"argument(s)")
    return int(k) % n


class _Traced:
    """One evaluation of ``fun`` with the chosen arguments as graph leaves."""

    def __init__(self, fun: Callable, args: tuple, kwargs: dict, argnums: tuple, op: str):
        outer_grad = _graph.MODE.grad
        args = list(args)
        self.specs, self.targets, self.leaves = [], [], []
        own: set = set()
        external = False
        fresh_vars = []
        from .ops.shape import identity
        for k in argnums:
            leaves, spec = tree_flatten(args[k])
            ts = []
            for a in leaves:
                leaf, fresh = _leaf_var(a, op)
                if leaf is None:
                    ts.append(None)
                    continue
                if fresh:
                    fresh_vars.append(leaf)
                    own.add(id(leaf))
                else:
                    external = True
                with _graph.enable_grad():
                    t = identity(leaf)
                ts.append(t)
            self.specs.append(spec)
            # backward is asked for the gradient at these identity nodes; a stand-in holds
            # each node, since fun may rebind the argument tensor's own node (t[i] = v)
            self.targets.append([None if t is None else Tensor._make(t._data, t._node)
                                 for t in ts])
            self.leaves.append(leaves)
            args[k] = tree_unflatten(spec, ts)
        _NESTING.depth += 1
        try:
            with _graph.enable_grad():
                self.out = fun(*args, **kwargs)
        finally:
            _NESTING.depth -= 1
            for v in fresh_vars:
                v._live = False
        self.op = op
        self.flat_out, self.out_spec = tree_flatten(self.out)
        self.nested = outer_grad and (_NESTING.depth > 0 or external
                                      or _reaches_outer(self.flat_out, own))

    def value(self, out: Any = None) -> Any:
        """The output with tensors as ndarrays (kept as tensors when nested)."""
        out = self.out if out is None else out
        return out if self.nested else _to_data(out)

    def vjp(self, gs_flat: list, retain: bool = True) -> list:
        """Gradients (flat per argnum) of sum_i <out_i, g_i>."""
        targets = [t for ts in self.targets for t in ts if t is not None]
        roots, seeds = [], []
        create = self.nested
        for o, g in zip(self.flat_out, gs_flat):
            if g is None or not isinstance(o, Tensor) or not o._rg:
                continue
            if isinstance(g, Tensor):
                if g._rg and _graph.MODE.grad:
                    create = True
            else:
                g = np.asarray(g, dtype=o.dtype) if np.ndim(g) or not np.isscalar(g) else \
                    np.full(o.shape, g, dtype=o.dtype)
            if np.shape(g) != o.shape:
                g = _broadcast_seed(g, o.shape, self.op)
            roots.append(o)
            seeds.append(g)
        res: list = [None] * len(targets)
        if roots and targets:
            if len(roots) == 1:
                root, seed = roots[0], seeds[0]
            else:
                from .ops import sum as _sum, multiply
                with _graph.enable_grad():
                    root = _sum(_stack_scalars([_sum(multiply(o, s)) for o, s in zip(roots, seeds)]))
                seed = None
            if root._node is not None:
                res = _graph.backward(root, seed, retain_graph=retain or create,
                                      create_graph=create, inputs=targets)
        out, k = [], 0
        for ts in self.targets:
            row = []
            for t in ts:
                if t is None:
                    row.append(None)
                    continue
                g = res[k]
                k += 1
                if g is None:
                    g = np.zeros_like(t._data)
                    g = Tensor._make(g) if create else g
                elif not create and isinstance(g, Tensor):
                    g = g._data
                row.append(g)
            out.append(row)
        if create and not self.nested:
            return out
        return out

    def grads(self, flat_rows: list) -> list:
        return [tree_unflatten(spec, row) for spec, row in zip(self.specs, flat_rows)]


def _stack_scalars(xs: list):
    from .ops.shape import stack
    return stack(xs)


def _broadcast_seed(g, shape, op):
    try:
        return np.broadcast_to(g, shape) if not isinstance(g, Tensor) else \
            __import__("autograd").broadcast_to(g, shape)
    except ValueError:
        raise OutputError(f"{op}: a cotangent of shape {np.shape(g)} for an output of shape "
                          f"{shape}") from None


def _to_data(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple, dict)):
        leaves, spec = tree_flatten(x)
        return tree_unflatten(spec, [_to_data(v) for v in leaves])
    return x


def _argnums(argnum: Any, argnums: Any, n: int, op: str) -> tuple[tuple, bool]:
    a = argnums if argnums is not None else argnum
    multi = not isinstance(a, (int, np.integer))
    nums = tuple(a) if multi else (a,)
    return tuple(_check_argnum(k, n, op) for k in nums), multi


def _name(op: str, fun: Callable) -> str:
    return f"{op}({getattr(fun, '__name__', 'fun')})"


def _wraps(fun: Callable, op: str, argnum: Any = 0):
    """Name the returned function as HIPS does: ``grad_of_f_wrt_argnum_0``."""
    def deco(wrapped):
        fname = getattr(fun, "__name__", "[unknown name]")
        wrapped.__name__ = f"{op}_of_{fname}_wrt_argnum_{argnum}"
        wrapped.__qualname__ = wrapped.__name__
        wrapped.__doc__ = (f"    {op} of function {fname} with respect to argument number "
                           f"{argnum}. Takes the\n    same arguments as {fname} but returns "
                           f"the {op}.\n    ")
        return wrapped
    return deco


def _scalar_seed(tr: _Traced, op: str, aux: bool):
    if len(tr.flat_out) != 1 or tr.out_spec is not None:
        raise OutputError(f"{op}: the function must return a single value"
                          + (" and an aux value as (value, aux)" if aux else "")
                          + f", got {type(tr.out).__name__}")
    o = tr.flat_out[0]
    shape = np.shape(o._data if isinstance(o, Tensor) else o)
    size = int(np.prod(shape))
    dt = (o._data if isinstance(o, Tensor) else np.asarray(o)).dtype
    if size != 1 or dt.kind not in "fiu":
        raise OutputError(f"{op}: the function must return a single value (real scalar "
                          f"output), got shape "
                          f"{shape}, dtype {dt}; try jacobian, elementwise_grad or "
                          f"holomorphic_grad")
    return [np.ones(shape, dtype=dt if dt.kind == "f" else np.float64)]


# --------------------------------------------------------------------------- gradients
def value_and_grad(fun: Callable, argnum: Union[int, Sequence[int]] = 0, *,
                   argnums: Any = None, has_aux: bool = False) -> Callable:
    """A function returning ``(fun(*args), gradient of fun w.r.t. args[argnum])``.

    fun : returns a single-element value (with ``has_aux``: ``(value, aux)``, and the
          result is ``((value, aux), grad)`` as in JAX).
    argnum : int or tuple of ints (``argnums`` is the JAX spelling); a tuple gives a tuple
          of gradients.  A differentiated argument may be a pytree (dict, list, tuple):
          its gradient has the same structure.
    Gradients are ndarrays of each argument's shape (Tensors when nested inside another
    transform, so they can be differentiated again).
    """
    op = "value_and_grad"

    @_wraps(fun, op, argnum if argnums is None else argnums)
    def wrapped(*args: Any, **kwargs: Any):
        nums, multi = _argnums(argnum, argnums, len(args), op)
        f = fun
        aux_box: list = []
        if has_aux:
            def f(*a, **k):
                r = fun(*a, **k)
                if not isinstance(r, (tuple, list)) or len(r) != 2:
                    raise OutputError(f"{op}: has_aux=True wants fun to return (value, aux)")
                aux_box.append(r[1])
                return r[0]
        tr = _Traced(f, args, kwargs, nums, op)
        seeds = _scalar_seed(tr, op, has_aux)
        gs = tr.grads(tr.vjp(seeds, retain=tr.nested))
        g = tuple(gs) if multi else gs[0]
        val = tr.value()
        if has_aux:
            return (val, tr.value(aux_box[0]) if not tr.nested else aux_box[0]), g
        return val, g
    return wrapped


def grad(fun: Callable, argnum: Union[int, Sequence[int]] = 0, *, argnums: Any = None,
         has_aux: bool = False) -> Callable:
    """
    Returns a function which computes the gradient of scalar ``fun`` with respect to
    positional argument number ``argnum`` (int or tuple; JAX's ``argnums``/``has_aux``
    accepted: with ``has_aux`` it returns ``(grad, aux)``).  The returned function takes the
    same arguments as ``fun``; a pytree argument gets a gradient of the same structure.

    >>> import autograd as ag
    >>> ag.grad(lambda x: (x ** 3).sum())(2.0)        # 3 x^2
    array(12.)
    >>> ag.grad(ag.grad(lambda x: x ** 3))(2.0)       # 6 x
    array(12.)
    """
    vg = value_and_grad(fun, argnum, argnums=argnums, has_aux=has_aux)

    @_wraps(fun, "grad", argnum if argnums is None else argnums)
    def wrapped(*args: Any, **kwargs: Any):
        v, g = vg(*args, **kwargs)
        return (g, v[1]) if has_aux else g
    return wrapped


def holomorphic_grad(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """The complex derivative ``f'(z)`` of a holomorphic scalar ``fun`` (HIPS's
    ``holomorphic_grad``): the gradient of ``real(fun)``, which under the library's
    convention (``autograd.ops.complex``) is ``u_x - i u_y = f'(z)`` by Cauchy-Riemann.

    >>> import autograd as ag, autograd.numpy as anp
    >>> complex(ag.holomorphic_grad(lambda z: z ** 3)(1.0 + 2.0j))     # 3 z^2
    (-9+12j)

    For a function that is not holomorphic this is still the gradient of its real part
    (as in HIPS and JAX); a real input gets a real result."""
    from .ops.complex import real

    def real_part(*args: Any, **kwargs: Any):
        return real(fun(*args, **kwargs))
    real_part.__name__ = getattr(fun, "__name__", "fun")
    return grad(real_part, argnum)


def grad_and_aux(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """For ``fun`` returning ``(value, aux)``: a function returning ``(grad of value, aux)``."""
    return grad(fun, argnum, has_aux=True)


def elementwise_grad(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """The vjp of ``fun`` with a cotangent of ones: for an elementwise ``fun`` the
    derivative at each element (``elementwise_grad(np.tanh)(x) = 1 - tanh(x)**2``)."""
    op = "elementwise_grad"

    @_wraps(fun, op, argnum)
    def wrapped(*args: Any, **kwargs: Any):
        nums, multi = _argnums(argnum, None, len(args), op)
        tr = _Traced(fun, args, kwargs, nums, op)
        for o in tr.flat_out:
            if isinstance(o, Tensor) and o.dtype.kind == "c":
                raise OutputError(f"{op}: only applies to real-output functions (got dtype "
                                  f"{o.dtype}); take real() / abs() of the output, or use "
                                  f"jacobian")
        seeds = [np.ones(np.shape(o._data if isinstance(o, Tensor) else o),
                         dtype=np.float64 if not isinstance(o, Tensor) else o.dtype)
                 for o in tr.flat_out]
        gs = tr.grads(tr.vjp(seeds, retain=tr.nested))
        return tuple(gs) if multi else gs[0]
    return wrapped


deriv = elementwise_grad


# --------------------------------------------------------------------------- vjp / jvp
def make_vjp(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """``make_vjp(fun, argnum)(*args)`` -> ``(vjp, ans)``: ``vjp(g)`` is g^T J (the
    gradient of <fun(x), g> w.r.t. x), callable many times on one forward pass."""
    op = "make_vjp"

    @_wraps(fun, op, argnum)
    def wrapped(*args: Any, **kwargs: Any):
        nums, multi = _argnums(argnum, None, len(args), op)
        tr = _Traced(fun, args, kwargs, nums, op)

        def vjp_fn(g: Any):
            gl, gspec = tree_flatten(g)
            if len(gl) != len(tr.flat_out):
                raise OutputError(f"vjp: a cotangent of structure {type(g).__name__} with "
                                  f"{len(gl)} leaves for an output with {len(tr.flat_out)}")
            gs = tr.grads(tr.vjp(gl, retain=True))
            return tuple(gs) if multi else gs[0]
        return vjp_fn, tr.value()
    return wrapped


def vector_jacobian_product(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """``tjp(*args, V)``: the Jacobian of ``fun`` at args left-multiplied by tensor ``V``,
    i.e. the Jacobian of ``tensordot(V, fun(*args), V.ndim)``.  When ``V`` has the output's
    shape this is the vjp ``V^T J`` (one reverse pass); a ``V`` over leading output axes
    leaves the others (one reverse pass per remaining output element)."""
    mv = make_vjp(fun, argnum)

    def contracted(*a: Any, **kw: Any):
        *xs, v = a
        from .ops import reshape, matmul
        out = fun(*xs, **kw)
        vd = v._data if isinstance(v, Tensor) else np.asarray(v)
        oshape = np.shape(out._data if isinstance(out, Tensor) else out)
        if oshape[:vd.ndim] != vd.shape:
            raise OutputError(f"tensor_jacobian_product: V of shape {vd.shape} does not match "
                              f"the leading axes of the output, shape {oshape}")
        flat = reshape(out, (vd.size, -1))
        return reshape(matmul(reshape(v, (-1,)), flat), oshape[vd.ndim:])
    jac = jacobian(contracted, argnum)

    def wrapped(*args: Any, **kwargs: Any):
        *xs, v = args
        vjp_fn, ans = mv(*xs, **kwargs)
        if np.shape(ans) == np.shape(v._data if isinstance(v, Tensor) else v):
            return vjp_fn(v)
        return jac(*xs, v, **kwargs)
    wrapped.__name__ = _name("vector_jacobian_product", fun)
    return wrapped


tensor_jacobian_product = vector_jacobian_product


def _vdot_tree(a: Any, b: Any):
    """sum over leaves of <a_i, b_i>, recorded when a leaf is a tensor."""
    from .ops import sum as _sum, multiply, add
    la, _ = tree_flatten(a)
    lb, _ = tree_flatten(b)
    if len(la) != len(lb):
        raise OutputError(f"jvp: a tangent with {len(lb)} leaves for {len(la)} inputs")
    tot: Any = 0.0
    for x, y in zip(la, lb):
        if x is None:
            continue
        if not isinstance(y, Tensor):
            y = np.asarray(y)
            y = y if y.dtype.kind in "fc" else y.astype(np.float64)
        tot = add(tot, _sum(multiply(x, y)))
    if np.iscomplexobj(tot._data if isinstance(tot, Tensor) else tot):
        # Re <vjp(u), v>: its gradient in u is J v (the vjp of u -> vjp(u) is J itself
        # under the convention of autograd.ops.complex)
        from .ops.complex import real
        tot = real(tot)
    return tot


def make_jvp(fun: Callable, argnum: Union[int, Sequence[int]] = 0) -> Callable:
    """``make_jvp(fun, argnum)(*args)`` -> ``jvp``; ``jvp(v)`` -> ``(fun(*args), J v)``.

    Forward mode by the double-vjp trick: ``u -> vjp(u)`` is linear in ``u``, so the
    gradient of ``<vjp(u), v>`` w.r.t. ``u`` is ``J v`` (any ``u``; zeros are used).
    """
    op = "make_jvp"

    @_wraps(fun, op, argnum)
    def wrapped(*args: Any, **kwargs: Any):
        vjp_fn, ans = make_vjp(fun, argnum)(*args, **kwargs)

        def jvp_fn(v: Any):
            outs, spec = tree_flatten(ans)
            zeros = tree_unflatten(spec, [np.zeros(np.shape(o), dtype=_float_dtype(o)) for o in outs])
            jv = grad(lambda u: _vdot_tree(vjp_fn(u), v))(zeros)
            return ans, jv
        return jvp_fn
    return wrapped


def _float_dtype(o: Any):
    dt = (o._data if isinstance(o, Tensor) else np.asarray(o)).dtype
    return dt if dt.kind in "fc" else np.float64


def jvp(fun: Callable, primals: Sequence, tangents: Sequence) -> tuple:
    """JAX's ``jvp(fun, primals, tangents)`` -> ``(fun(*primals), J tangents)``; primals and
    tangents are tuples of pytrees, one per positional argument of ``fun``."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ArgumentTypeError(f"jvp: {len(primals)} primals and {len(tangents)} tangents")
    nums = tuple(range(len(primals)))
    return make_jvp(fun, nums)(*primals)(tangents)


def vjp(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """JAX's ``vjp(fun, *primals)`` -> ``(fun(*primals), vjp_fn)``; ``vjp_fn(g)`` returns a
    tuple with one cotangent per primal (with ``has_aux``: ``(out, vjp_fn, aux)``)."""
    aux_box: list = []
    f = fun
    if has_aux:
        def f(*a):
            r = fun(*a)
            aux_box.append(r[1])
            return r[0]
    vjp_fn, ans = make_vjp(f, tuple(range(len(primals))))(*primals)
    if has_aux:
        return ans, vjp_fn, _to_data(aux_box[0])
    return ans, vjp_fn


# --------------------------------------------------------------------------- jacobians
def jacobian(fun: Callable, argnum: Union[int, Sequence[int]] = 0, *,
             argnums: Any = None) -> Callable:
    """The Jacobian of ``fun`` w.r.t. ``args[argnum]``: shape ``out.shape + x.shape``
    (a tuple of them for a tuple ``argnum``), one reverse pass per output element."""
    op = "jacobian"

    @_wraps(fun, op, argnum if argnums is None else argnums)
    def wrapped(*args: Any, **kwargs: Any):
        nums, multi = _argnums(argnum, argnums, len(args), op)
        tr = _Traced(fun, args, kwargs, nums, op)
        if len(tr.flat_out) != 1 or tr.out_spec is not None:
            raise OutputError(f"{op}: the function must return one array, got "
                              f"{type(tr.out).__name__}")
        o = tr.flat_out[0]
        od = o._data if isinstance(o, Tensor) else np.asarray(o)
        dt = od.dtype if od.dtype.kind == "f" else np.float64
        rows = []
        eye = np.eye(max(od.size, 1), dtype=dt)
        for i in range(od.size):
            flat = tr.vjp([eye[i].reshape(od.shape)], retain=True)
            rows.append([g for row in flat for g in row])
        results = []
        k = 0
        for row_spec, leaves in zip(tr.specs, tr.targets):
            if row_spec is not None:
                raise ArgumentTypeError(f"{op}: differentiate with respect to an array, not a "
                                        f"{type(args[nums[len(results)]]).__name__}")
            t = leaves[0]
            xshape = t.shape
            col = [r[k] for r in rows]
            k += 1
            results.append(_assemble(col, od.shape + xshape, dt))
        return tuple(results) if multi else results[0]
    return wrapped


def _assemble(rows: list, shape: tuple, dt) -> Any:
    if any(isinstance(r, Tensor) for r in rows):
        from .ops.shape import stack, reshape
        return reshape(stack(rows), shape)
    if not rows:
        return np.zeros(shape, dtype=dt)
    return np.stack(rows).reshape(shape)


jacrev = jacobian
jacfwd = jacobian


def hessian(fun: Callable, argnum: int = 0, *, argnums: Any = None) -> Callable:
    """The Hessian of scalar ``fun``: ``jacobian(jacobian(fun))``, shape ``x.shape * 2``."""
    a = argnums if argnums is not None else argnum
    return jacobian(jacobian(fun, a), a)


def hessian_tensor_product(fun: Callable, argnum: int = 0) -> Callable:
    """``hvp(*args, v)`` = H v for scalar ``fun`` (the gradient of <grad fun, v>)."""
    def wrapped(*args: Any, **kwargs: Any):
        *xs, v = args
        return grad(lambda *a: _vdot_tree(grad(fun, argnum)(*a, **kwargs), v), argnum)(*xs)
    wrapped.__name__ = _name("hessian_tensor_product", fun)
    return wrapped


hessian_vector_product = hessian_tensor_product
hvp = hessian_tensor_product


def make_hvp(fun: Callable, argnum: int = 0) -> Callable:
    """``make_hvp(fun, argnum)(*args)`` -> ``(hvp, grad)``: ``hvp(v)`` = H v, reusing one
    forward and backward pass for many ``v``."""
    return make_vjp(grad(fun, argnum), argnum)


def make_ggnvp(f: Callable, g: Optional[Callable] = None, f_argnum: int = 0) -> Callable:
    """Generalized Gauss-Newton vector products of ``g(f(x))``: ``make_ggnvp(f, g)(*args)``
    -> ``ggnvp(v) = J_f^T H_g J_f v`` (default ``g = 0.5 * sum(y**2, axis=-1)``)."""
    if g is None:
        def g(y):
            from .ops import sum as _sum
            return 0.5 * _sum(y * y, axis=-1)

    def wrapped(*args: Any, **kwargs: Any):
        f_vjp, f_x = make_vjp(f, f_argnum)(*args, **kwargs)
        g_hvp, _ = make_hvp(g)(f_x)
        f_jvp = make_jvp(f, f_argnum)(*args, **kwargs)

        def ggnvp(v: Any):
            return f_vjp(g_hvp(f_jvp(v)[1]))
        return ggnvp
    wrapped.__name__ = _name("make_ggnvp", f)
    return wrapped


def multigrad_dict(fun: Callable) -> Callable:
    """Gradients w.r.t. every argument at once: a dict from argument name to gradient
    (``*args`` and ``**kwargs`` entries as lists/dicts of gradients)."""
    sig = inspect.signature(fun)

    def wrapped(*args: Any, **kwargs: Any):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        names = list(bound.arguments)
        params = sig.parameters

        def call(d):
            pos, kw = [], {}
            for n in names:
                kind = params[n].kind
                if kind is inspect.Parameter.VAR_POSITIONAL:
                    pos.extend(d[n])
                elif kind is inspect.Parameter.VAR_KEYWORD:
                    kw.update(d[n])
                elif kind is inspect.Parameter.KEYWORD_ONLY:
                    kw[n] = d[n]
                else:
                    pos.append(d[n])
            return fun(*pos, **kw)
        vals = OrderedDict((n, list(v) if params[n].kind is inspect.Parameter.VAR_POSITIONAL
                            else v) for n, v in bound.arguments.items())
        gd = grad(call)(vals)
        return OrderedDict((n, gd[n]) for n in names)
    wrapped.__name__ = _name("multigrad_dict", fun)
    return wrapped


# --------------------------------------------------------------------------- checkpoint
def checkpoint(fun: Callable) -> Callable:
    """``fun`` whose intermediate values are not kept: the forward runs without recording,
    and the backward runs it again (recorded) to get its vjp.  Memory for time: the graph
    holds only the inputs and the output of ``fun``.  ``fun`` takes positional tensors and
    returns one tensor."""
    from .registry import Primitive

    def fwd(*xs):
        with _graph.no_grad():
            out = fun(*[Tensor._make(x) if isinstance(x, np.ndarray) else x for x in xs])
        return out._data if isinstance(out, Tensor) else np.asarray(out)

    def vjp_all(g, out, *xs):
        nums = tuple(i for i, x in enumerate(xs) if isinstance(x, (np.ndarray, Tensor))
                     and np.asarray(getattr(x, "_data", x)).dtype.kind == "f")
        vjp_fn, _ = make_vjp(fun, nums)(*xs)
        gs = vjp_fn(g)
        res = [None] * len(xs)
        for i, gi in zip(nums, gs):
            res[i] = gi
        return tuple(res)

    prim = Primitive(fwd, name=f"checkpoint({getattr(fun, '__name__', 'fun')})", nin=-1,
                     register=False)
    prim.defvjp(vjp_all)
    return prim
