"""The graph: grad mode, the Node recorded per primitive call, and the backward pass.

A :class:`Node` is what one primitive call leaves behind: the primitive, the arguments it
was called with (tensors by reference), the versions of those tensors at the time, and the
output's data.  Nodes point only backwards, to their inputs; nothing points from a node to
its output tensor, so a graph is a tree of references that frees itself as soon as the last
tensor of it is dropped (no reference cycles, no garbage collector needed).

``backward`` visits the nodes reachable from the output iteratively (no recursion), in
reverse order of creation (a heap on the node's number: every node is made after the
nodes it depends on, so this is a reverse topological order), and calls each node's
vector-Jacobian product once, summing gradients where a tensor is used more than once.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import weakref
from typing import Any, Callable, Iterator, Optional

import numpy as np

from .broadcast import unbroadcast
from .errors import GraphError, InPlaceError, ShapeError, AnomalyError, DTypeError

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "detect_anomaly",
           "Node", "backward", "toposort"]


# --------------------------------------------------------------------------- grad mode
class _Mode(threading.local):
    """Per-thread switches.  Class attributes are the defaults every new thread sees."""
    grad = True
    anomaly = False


MODE = _Mode()


def is_grad_enabled() -> bool:
    """True when primitives record the graph in this thread."""
    return MODE.grad


def _stack(prev: dict) -> list:
    """This thread's stack of saved modes in a context object (one object may be entered
    from several threads at once: each restores its own thread's mode)."""
    k = threading.get_ident()
    st = prev.get(k)
    if st is None:
        st = prev[k] = []
    return st


def _pop(prev: dict) -> Any:
    k = threading.get_ident()
    st = prev[k]
    v = st.pop()
    if not st:
        del prev[k]
    return v


class set_grad_enabled:
    """Context manager and decorator that sets grad mode (thread-local) and restores it.

    One object may be entered from several threads (or re-entered): each ``__exit__``
    restores the mode its own thread had at the matching ``__enter__``."""

    __slots__ = ("mode", "prev")

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)
        self.prev: dict[int, list[bool]] = {}

    def __enter__(self) -> None:
        _stack(self.prev).append(MODE.grad)
        MODE.grad = self.mode

    def __exit__(self, *exc: Any) -> None:
        MODE.grad = _pop(self.prev)

    def __call__(self, fn: Callable) -> Callable:
        import functools
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """``with no_grad():`` or ``@no_grad()``: nothing inside records a graph (this thread only).

    Ops inside cost close to raw numpy: they run the forward and wrap the result.
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a ``no_grad`` block."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(True)


class detect_anomaly:
    """``with detect_anomaly():`` the first NaN or inf made by a primitive raises AnomalyError.

    Forward: the error names the primitive and the file:line of the user's call.
    Backward: it names the primitive whose vjp produced it and where that primitive's output
    was created.  Off by default; when off it costs one attribute test per primitive call.
    """

    __slots__ = ("prev",)

    def __init__(self) -> None:
        self.prev: dict[int, list[bool]] = {}

    def __enter__(self) -> "detect_anomaly":
        _stack(self.prev).append(MODE.anomaly)
        MODE.anomaly = True
        return self

    def __exit__(self, *exc: Any) -> None:
        MODE.anomaly = _pop(self.prev)


def user_frame() -> str:
    """``file:line`` of the innermost frame outside this package (for anomaly messages)."""
    import os
    import sys
    pkg = os.path.dirname(os.path.abspath(__file__))
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(pkg + os.sep):
            return f"{f.f_code.co_filename}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def check_finite(name: str, arrays, where: str) -> None:
    for a in arrays:
        if a is None:
            continue
        a = getattr(a, "data", a)  # Tensor (create_graph) or ndarray
        a = np.asarray(a)
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            bad = "NaN" if np.isnan(a).any() else "inf"
            raise AnomalyError(f"{name}: {where} produced {bad} (shape {a.shape}, dtype {a.dtype})")


# --------------------------------------------------------------------------- nodes
class Node:
    """One recorded primitive call.

    prim:     the Primitive
    args:     the positional arguments as data (ndarrays where tensors were given)
    kwargs:   static keyword parameters (a dict, possibly empty)
    parents:  ((index, parent), ...) for the inputs that require grad, where parent is the
              input's Node, or the input tensor itself when it is a leaf.  Nodes never hold
              intermediate tensors after backward, so activations are freed as soon as the
              user drops them, while the graph's structure stays drawable (``to_dot``).
    saved:    every tensor input (parents or not) whose data the vjp may read (all tensor
              inputs, or those the primitive's ``reads`` table names)
    versions: the version of each saved tensor's storage when recorded (in-place guard):
              the ``_version`` of its root (a view or ``detach()`` shares its base's), which
              every in-place write through any alias bumps.  While a node holds a tensor, the
              root's ``_saved`` count is positive and ``.data``/``.numpy()``/``np.asarray``
              hand out read-only views, so raw numpy writes cannot change saved values.
    out:      the output's data (vjps may use it), released after backward
    shape, dtype: the output's, kept after release
    grad:     the gradient that reached this node, kept only for tiny outputs (drawing)
    seq:      the node's number in order of creation (after every node it depends on)
    """

    __slots__ = ("prim", "args", "kwargs", "parents", "saved", "versions", "out", "shape",
                 "dtype", "grad", "aux", "retained",
                 "site", "seq", "__weakref__")

    def __init__(self, prim, args, kwargs, parents, out, saved):
        self.prim = prim
        self.args = args
        self.kwargs = kwargs
        self.parents = parents
        self.saved = saved
        versions = []
        add = versions.append
        for t in saved:
            r = t._base
            if r is None:
                t._saved += 1
                add(t._version)
            else:
                r._saved += 1
                add(r._version)
        self.versions = versions
        self.out = out
        self.shape = out.shape
        self.dtype = out.dtype
        self.retained = None
        self.grad = None
        self.aux = None
        self.site = None
        self.seq = _next_seq()

    @property
    def name(self) -> str:
        return self.prim.name

    @property
    def released(self) -> bool:
        return self.args is None

    def release(self) -> None:
        if self.saved:
            _unsave(self.saved)
        self.args = self.kwargs = self.saved = self.versions = self.aux = None
        if self.out is not None and self.out.size > 4:  # tiny outputs stay, for drawing
            self.out = None

    def __del__(self) -> None:
        # a graph dropped without backward: its saved tensors become writable again
        if self.saved:
            _unsave(self.saved)

    def __repr__(self) -> str:
        return f"<Node {self.prim.name}{' (released)' if self.args is None else ''}>"


#: Node numbers, in order of creation (backward's order: highest first)
_next_seq = itertools.count().__next__


def _unsave(saved) -> None:
    for t in saved:
        r = t._base
        if r is None:
            r = t
        if r._saved > 0:
            r._saved -= 1


def _describe_tensor(t, k: int) -> str:
    name = f" {t.name!r}" if getattr(t, "name", None) else ""
    leaf = "a leaf" if t._node is None else f"the output of {t._node.prim.name}"
    return f"input {k} of it, tensor{name} ({leaf}, shape {t.shape}, dtype {t.dtype})"


def toposort(root: Node) -> list[Node]:
    """Nodes reachable from ``root``, each before every node it depends on.

    Iterative depth-first post-order (reversed), so a chain of a million nodes needs no
    recursion and takes time linear in its length.
    """
    visited = {root}
    order: list[Node] = []
    stack: list[tuple[Node, Iterator]] = [(root, iter(root.parents))]
    push, pop, append, add = stack.append, stack.pop, order.append, visited.add
    while stack:
        node, it = stack[-1]
        for _, child in it:
            if type(child) is Node and child not in visited:
                add(child)
                push((child, iter(child.parents)))
                break
        else:
            pop()
            append(node)
    order.reverse()
    return order


def _as_grad(g: Any, shape: tuple, dt) -> Any:
    """Gradient of the given shape and dtype: sum broadcast dims, cast dtype.  A complex
    gradient of a real value is its real part (HIPS autograd's and JAX's convention: a real
    input that went through complex arithmetic gets a real gradient)."""
    if g.shape != shape:
        g = unbroadcast(g, shape)
    if g.dtype != dt:
        if g.dtype.kind == "c" and dt.kind != "c":
            g = g.real if isinstance(g, np.ndarray) else _real(g)
        g = g.astype(dt)
    return g


def _real(t):
    from .ops.complex import real
    return real(t)


def _own(g, shared_ids):
    """A gradient array safe to store in ``.grad``: not a view, not shared with another slot."""
    if isinstance(g, np.ndarray) and (g.base is not None or id(g) in shared_ids or not g.flags.writeable):
        return g.copy()
    return g


def backward(root_tensor, grad=None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs=None):
    """Reverse pass from ``root_tensor``.

    With ``inputs`` (a list of tensors), gradients are returned for those tensors only and
    ``.grad`` fields are left alone (the functional API).  Otherwise gradients accumulate
    into ``.grad`` of leaf tensors that require grad and of tensors that called
    ``retain_grad()``.
    """
    Tensor = _TENSOR or _tensor_class()
    if retain_graph is None:
        retain_graph = create_graph
    if not root_tensor._rg:
        raise GraphError("backward: the tensor does not require grad (no input it was computed "
                         "from has requires_grad=True, or it was computed under no_grad)")
    out_data = root_tensor._data
    if grad is None:
        if out_data.size != 1:
            raise GraphError(f"backward: a non-scalar output (shape {out_data.shape}) needs an "
                             f"explicit gradient of that shape: t.backward(grad)")
        if out_data.ndim:
            seed = np.empty(out_data.shape, dtype=out_data.dtype)
            seed.fill(1)
        else:                           # a 0-d loss: one call
            seed = np.array(1, out_data.dtype)
    else:
        seed = grad._data if isinstance(grad, Tensor) and not create_graph else grad
        if not isinstance(seed, Tensor):
            seed = _check_seed(seed, out_data)
        if seed.shape != out_data.shape:
            raise ShapeError(f"backward: gradient of shape {seed.shape} given for an output of "
                             f"shape {out_data.shape}")
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor._make(seed)

    root = root_tensor._node
    want = None
    results = None
    if inputs is not None:
        want = {}
        for k, t in enumerate(inputs):
            if t._node is None:
                raise GraphError("backward(inputs=...): each input must be a non-leaf tensor")
            want[t._node] = k
        results = [None] * len(inputs)

    if root is None:  # the output is itself a leaf
        if want is None:   # the caller's seed array is never kept as .grad: copied
            _accumulate_leaf(root_tensor, seed, create_graph, {id(seed)})
        return results

    # Reverse topological order without a sort: nodes are numbered as they are made, and
    # every node is made after its inputs' nodes, so taking the highest-numbered node that
    # has received a gradient finishes every node before any of its inputs.  ``grads`` holds
    # the nodes that have received a gradient and not run yet; while it holds one node (a
    # chain: a loss after a model), that node is the next one, with no ordering structure;
    # from the second pending node on, a heap on the node's number picks the next one (it
    # then holds every pending node).  Nodes no gradient reaches are never visited.
    grads: dict[Node, Any] = {root: seed}
    heap: list = []
    pop, push = heapq.heappop, heapq.heappush
    anomaly = MODE.anomaly
    prev_mode = MODE.grad
    MODE.grad = create_graph
    try:
        while grads:
            if heap:
                node = pop(heap)[1]
                g = grads.pop(node)
            else:
                node, g = grads.popitem()   # the only pending node
            if node.retained is not None:
                for ref in node.retained:
                    t = ref()
                    if t is not None:
                        t.grad = g.copy() if isinstance(g, np.ndarray) else g
            out = node.out
            if not create_graph and out is not None and out.size <= 4:
                node.grad = g  # tiny: kept so to_dot can show it (micrograd style)
            if want is not None and node in want:
                results[want[node]] = g
                continue
            args = node.args
            if args is None:
                raise GraphError(
                    f"backward: trying to go back through the graph a second time ({node.prim.name}"
                    f" was already released); pass retain_graph=True to the first backward")
            saved = node.saved
            if saved:
                for t, v in zip(saved, node.versions):
                    r = t._base
                    if (t if r is None else r)._version != v:
                        k = next(j for j, s in enumerate(saved) if s is t)
                        raise InPlaceError(
                            f"backward: {node.prim.name} saved {_describe_tensor(t, k)}, and it "
                            f"was modified in place after it was used (directly, or through a "
                            f"view, detach() or .data); its gradient would be wrong")
            parents = node.parents
            prim = node.prim
            kw = node.kwargs or _EMPTY
            if create_graph:
                args = list(args)
                for i, p in parents:
                    args[i] = Tensor._make(p.out, p) if type(p) is Node else p
                gs = prim.call_vjp(g, Tensor._make(out, node), args, kw, parents, higher=True)
            else:
                gs = prim.call_vjp(g, out, args, kw, parents, False, node.aux)
            if anomaly:
                check_finite(prim.name, [gs[i] for i, _ in parents],
                             f"backward (output created at {node.site})")
            handed = None  # ids of arrays already stored in a leaf's .grad (never alias two)
            leaves = None  # (leaf, its own gradient array, the gradient): stored together
            for i, p in parents:
                gi = gs[i]
                if gi is None:
                    continue
                if type(gi) is not np.ndarray and not isinstance(gi, (np.ndarray, Tensor)):
                    gi = np.asarray(gi)
                if type(p) is Node:
                    if gi.shape != p.shape or gi.dtype != p.dtype:
                        gi = _as_grad(gi, p.shape, p.dtype)
                    prev = grads.get(p)
                    if prev is None:
                        if heap:
                            push(heap, (-p.seq, p))
                        elif grads:             # a second pending node: order them by heap
                            for q in grads:
                                heap.append((-q.seq, q))
                            push(heap, (-p.seq, p))
                        grads[p] = gi
                    else:
                        gi = prev + gi
                        # numpy turns 0-d + 0-d into a scalar; vjps get arrays
                        grads[p] = gi if isinstance(gi, (np.ndarray, Tensor)) else np.asarray(gi)
                elif want is None:
                    d = p._data
                    if gi.shape != d.shape or gi.dtype != d.dtype:
                        gi = _as_grad(gi, d.shape, d.dtype)
                    if create_graph or type(gi) is not np.ndarray:
                        if handed is None:
                            handed = {id(g)}
                        _accumulate_leaf(p, gi, create_graph, handed)
                        handed.add(id(gi))
                        continue
                    # the leaf's .grad: an array of its own (not a view, not the incoming
                    # gradient, not one already given to another leaf)
                    if handed is None:
                        handed = {id(g)}
                    k = id(gi)
                    own = gi.copy() if k in handed or gi.base is not None or \
                        not gi.flags.writeable else gi
                    handed.add(k)
                    if leaves is None:
                        leaves = [(p, own, gi)]
                    else:
                        leaves.append((p, own, gi))
            if leaves is not None:
                # every leaf of this node in one atomic step (threads sharing a leaf lose
                # no update)
                with _ACCUMULATE:
                    for p, own, gi in leaves:
                        pg = p.grad
                        if pg is None:
                            p.grad = own
                        else:
                            sm = pg + gi
                            p.grad = sm if isinstance(sm, (np.ndarray, Tensor)) else np.asarray(sm)
            if not retain_graph:
                if saved:
                    for t in saved:
                        r = t._base
                        if r is None:
                            r = t
                        if r._saved > 0:
                            r._saved -= 1
                node.args = node.kwargs = node.saved = node.versions = node.aux = None
                if out.size > 4:
                    node.out = None
    finally:
        MODE.grad = prev_mode
    return results


_EMPTY: dict = {}
_TENSOR = None


def _tensor_class():
    global _TENSOR
    if _TENSOR is None:
        from .tensor import Tensor
        _TENSOR = Tensor
    return _TENSOR


_ACCUMULATE = threading.Lock()


def _accumulate_leaf(t, g, create_graph, shared):
    """``t.grad += g`` as one atomic step (threads sharing a leaf lose no update); a new
    array each time (never written into an array the caller may hold), an ndarray even 0-d."""
    if not create_graph and not isinstance(g, np.ndarray):
        g = np.asarray(g)
    with _ACCUMULATE:
        if t.grad is None:
            t.grad = _own(g, shared) if not create_graph else g
        else:
            s = t.grad + g
            t.grad = s if isinstance(s, (np.ndarray, _tensor_class())) else np.asarray(s)


def _check_seed(seed, out_data) -> np.ndarray:
    """The gradient given to ``backward(grad)`` as an array of the output's dtype, refusing
    what would silently become something else (None, strings, objects; complex for a real
    output)."""
    try:
        a = np.asarray(seed)
    except (ValueError, TypeError) as e:
        raise DTypeError(f"backward: the gradient cannot be made into an array ({e})") from None
    if a.dtype.kind == "c" and out_data.dtype.kind == "c":
        return a.astype(out_data.dtype, copy=False)
    if a.dtype.kind not in "biuf":
        what = {"c": "complex", "U": "strings", "S": "bytes", "O": "objects (None or mixed "
                "entries)"}.get(a.dtype.kind, str(a.dtype))
        raise DTypeError(f"backward: the gradient holds {what} (dtype {a.dtype}, shape "
                         f"{a.shape}); give a real array of the output's shape {out_data.shape} "
                         f"and dtype {out_data.dtype}")
    return a.astype(out_data.dtype, copy=False)


def retain(node: Node, tensor) -> None:
    if node.retained is None:
        node.retained = []
    node.retained.append(weakref.ref(tensor))
