"""Finite-difference gradient checks, public: ``gradcheck`` and ``gradgradcheck``.

How a check works, for an input ``x`` of n elements and an output ``y = fn(x)`` of m:

- numeric side: for each element ``x_j``, the central difference
  ``(fn(x + eps e_j) - fn(x - eps e_j)) / (2 eps)``, which is column j of the Jacobian
  (2n calls of ``fn``, the unavoidable cost);
- analytic side: one backward pass per *random projection* ``v`` (a fixed-seed normal array
  of the output's shape) gives ``J^T v`` for every input at once.

The two are compared as ``J^T v``: element j of the analytic vjp against the numeric column
j dotted with ``v``.  Two projections are checked.  A wrong Jacobian passes a random
projection only on a set of measure zero, so projections find the same bugs as a full
Jacobian while the analytic side costs two backward passes instead of m.  The difference
is taken *before* projecting, so an output element that does not depend on ``x_j`` adds
exactly zero to column j (no rounding noise from large unrelated outputs).

Complex values (HIPS autograd's and JAX's convention, see ``autograd.ops.complex``): a
complex output gets a complex projection ``v``, and the checked scalar is
``L = Re(sum(v * fn(x)))``; the backward seeded with ``v`` must give ``dL/dRe(x_j) -
i dL/dIm(x_j)`` for a complex input (the real and imaginary parts are perturbed
separately, 4 calls of ``fn`` per element) and ``dL/dx_j`` for a real one.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import numpy as np

from . import graph as _graph
from .errors import GradcheckError, GraphError, InvalidValueError
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "numeric_grad"]

_PROJECTIONS = 2


def _wide(dt: np.dtype, like: Any = np.float64) -> Any:
    """``like`` (float64 unless a check asks for another float dtype) for a float dtype,
    its complex counterpart (complex128 for float64) for a complex one."""
    like = np.dtype(like)
    return np.result_type(like, np.complex64) if dt.kind == "c" else like


def _as64(a: Any, dt: Any = np.float64) -> Any:
    """A float64 (or ``dt``) copy of a float Tensor/ndarray (complex: complex128, or dt's
    complex counterpart), same requires_grad; anything else as is."""
    if isinstance(a, Tensor):
        d = a._data
        if d.dtype.kind in "fc":
            t = Tensor(np.array(d, dtype=_wide(d.dtype, dt), order="C"), requires_grad=a._rg)
            t.name = a.name
            return t
        return a
    if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
        return np.array(a, dtype=_wide(a.dtype, dt), order="C")
    return a


def _out_data(out: Any) -> np.ndarray:
    """A float64 (complex128) *copy*: an output may share memory with the input being
    perturbed (a view, ``identity``, ``astype`` to the same dtype), and the next
    perturbation must not move it."""
    d = out._data if isinstance(out, Tensor) else out
    d = np.asarray(d)
    return np.array(d, dtype=_wide(d.dtype), copy=True)


def _project(col: np.ndarray, v: np.ndarray) -> float:
    """``Re(sum(v * col))``: the projected directional derivative (real for real values)."""
    if col.dtype.kind == "c" or v.dtype.kind == "c":
        return float(np.real(np.sum(v * col)))
    return float(col @ v)


def numeric_grad(fn: Callable, inputs: list, i: int, vs: Sequence[np.ndarray],
                 eps: float) -> list[np.ndarray]:
    """Central differences of ``<fn(*inputs), v>`` w.r.t. every element of ``inputs[i]``.

    inputs[i] : a Tensor holding a float64 (complex128) array that may be perturbed in
        place (it is restored).  vs : projections, each of fn's output shape (complex for a
        complex output).  Returns one array of ``inputs[i]``'s shape per projection: for a
        complex input, ``dL/dRe - i dL/dIm`` with ``L = Re(sum(v * fn))`` (the convention
        of ``autograd.ops.complex``).  ``fn`` runs under ``no_grad``.
    """
    data = inputs[i]._data
    cplx = data.dtype.kind == "c"
    nums = [np.zeros(data.shape, dtype=data.dtype) for _ in vs]
    flat = data.reshape(-1)  # a view: data is a contiguous float64/complex128 copy
    vflat = [np.asarray(v).reshape(-1) for v in vs]
    steps = (eps, 1j * eps) if cplx else (eps,)
    with _graph.no_grad():
        for j in range(flat.size):
            old = flat[j]
            for k, h in enumerate(steps):
                flat[j] = old + h
                fp = _out_data(fn(*inputs))
                flat[j] = old - h
                fm = _out_data(fn(*inputs))
                flat[j] = old
                col = ((fp - fm) / (2 * eps)).reshape(-1)  # column of the (real) Jacobian
                for num, v in zip(nums, vflat):
                    d = _project(col, v)
                    num.reshape(-1)[j] += d if k == 0 else -1j * d
    return nums


def _projection(rng: np.random.Generator, shape: tuple, dt: np.dtype) -> np.ndarray:
    """A random projection of an output: standard normal, complex for a complex output."""
    v = rng.standard_normal(shape)
    if dt.kind == "c":
        v = v + 1j * rng.standard_normal(shape)
    return v


def _label(xs: list, i: int, labels: Optional[dict]) -> str:
    if labels and i in labels:
        return labels[i]
    name = getattr(xs[i], "name", None)
    return f"input {i}" + (f" ({name!r})" if name else "")


def _check_args(what: str, fn: Any, eps: Any, atol: Any, rtol: Any, seed: Any) -> None:
    """Bad arguments are refused before anything runs (eps=0 would divide by zero)."""
    if not callable(fn):
        raise InvalidValueError(f"{what}: fn must be callable, got {type(fn).__name__}")
    for name, v, lo in (("eps", eps, "> 0"), ("atol", atol, ">= 0"), ("rtol", rtol, ">= 0")):
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        if ok:
            v = float(v)
            ok = math.isfinite(v) and (v > 0 if name == "eps" else v >= 0)
        if not ok:
            raise InvalidValueError(f"{what}: {name} must be a finite number {lo}, got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidValueError(f"{what}: seed must be a non-negative int, got {seed!r}")


def _as_dtype(what: str, fn: Any, dtype: Any) -> tuple[Any, np.dtype]:
    """The dtype the check computes in (float64 unless ``dtype`` says otherwise), and ``fn``
    itself, or, when ``dtype`` is given and ``fn`` is a module (an nn layer or model, anything
    with ``named_modules`` and ``named_weights``), a copy of it computing in that dtype: its
    float weights and its layers' ``dtype`` cast.  The caller's module is not touched."""
    if dtype is None:
        return fn, np.dtype(np.float64)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise InvalidValueError(f"{what}: dtype must be a float dtype such as 'float64', got "
                                f"{dtype!r}")
    if callable(getattr(fn, "named_modules", None)) and callable(getattr(fn, "named_weights",
                                                                         None)):
        import copy
        fn = copy.deepcopy(fn)
        for _, m in fn.named_modules():
            if isinstance(getattr(m, "dtype", None), np.dtype) and m.dtype.kind == "f":
                m.dtype = dt
        for _, w in fn.named_weights():
            if w.dtype.kind == "f":
                w.data = w.data.astype(dt)
    return fn, dt


def _own_precision_note(out: Any, dt: np.dtype) -> str:
    """When fn's output is of a lower precision than the check's inputs, fn computes in it
    itself: say so, since that, not the gradient, may be what fails the check."""
    odt = getattr(out, "dtype", None)
    if odt is None or np.dtype(odt).kind != "f" or np.dtype(odt).itemsize >= dt.itemsize:
        return ""
    odt = np.dtype(odt)
    return (f".  Note: fn returned {odt.name} although its float inputs were {dt.name} "
            f"copies, so fn computes in {odt.name} itself (a {odt.name} layer, weight or "
            f"constant, or an astype): its own precision (about {np.finfo(odt).eps:.0e} "
            f"relative) limits this check, not necessarily the gradient.  Make fn compute in "
            f"float64: pass a layer or model itself with dtype='float64' "
            f"(gradcheck(layer, x, dtype='float64') checks a float64 copy of it), or build "
            f"its layers with dtype='float64' and keep constants float64")


def _check(fn: Callable, xs: list, check: list, eps: float, atol: float, rtol: float,
           raise_exception: bool, seed: int, what: str, noun: str = "gradient",
           labels: Optional[dict] = None, dt: Any = np.float64) -> bool:
    from .ops.shape import identity

    _check_args(what, fn, eps, atol, rtol, seed)
    rng = np.random.default_rng(seed)
    with _graph.enable_grad():
        args = list(xs)
        marks = []
        for i in check:
            args[i] = identity(xs[i])  # non-leaf handle: backward(inputs=...) keeps .grad alone
            marks.append(args[i])
        out = fn(*args)
        if not isinstance(out, Tensor):
            raise GraphError(f"{what}: fn must return a Tensor, got {type(out).__name__}")
        note = _own_precision_note(out, np.dtype(dt))
        vs = [_projection(rng, out.shape, out.dtype) for _ in range(_PROJECTIONS)]
        analytic = []
        for v in vs:
            if out._rg and out.dtype.kind in "fc":
                gs = _graph.backward(out, v.astype(out.dtype), retain_graph=True, inputs=marks)
            else:  # the output does not depend on any checked input
                gs = [None] * len(marks)
            analytic.append([np.zeros(xs[i].shape, dtype=xs[i].dtype) if g is None else
                             np.asarray(getattr(g, "_data", g), dtype=xs[i].dtype)
                             for i, g in zip(check, gs)])
    for k, i in enumerate(check):
        nums = numeric_grad(fn, xs, i, vs, eps)
        for p, (n, a) in enumerate(zip(nums, (an[k] for an in analytic))):
            if a.shape != n.shape:
                msg = (f"{what}: the {noun} w.r.t. {_label(xs, i, labels)} has shape {a.shape}, "
                       f"expected {n.shape}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
            err = np.abs(a - n)
            bad = ~(err <= atol + rtol * np.abs(n))  # NaN anywhere counts as bad
            if bad.any():
                err = np.where(np.isnan(err), np.inf, err)
                flat = int(np.argmax(np.where(bad, err, -1.0)))
                j = tuple(int(t) for t in np.unravel_index(flat, n.shape)) if n.ndim else ()
                msg = (f"{what}: the {noun} w.r.t. {_label(xs, i, labels)} (shape {n.shape}) "
                       f"is wrong at index {j}: analytic {_num(a[j])!r}, numeric "
                       f"{_num(n[j])!r}; largest error {err.max():.3g} over {int(bad.sum())} "
                       f"bad element(s) (projection {p + 1} of {len(vs)}; atol={atol}, "
                       f"rtol={rtol}, eps={eps}){note}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def _num(x: Any) -> Any:
    return complex(x) if np.iscomplexobj(x) else float(x)


def _prepare(what: str, inputs: tuple, dt: Any = np.float64) -> tuple[list, list]:
    xs = [_as64(a, dt) for a in inputs]
    check = [i for i, a in enumerate(xs) if isinstance(a, Tensor) and a._rg]
    if not check:
        raise GraphError(f"{what}: no input requires grad; pass Tensor(..., requires_grad=True)")
    return xs, check


def gradcheck(fn: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0,
              dtype: Any = None) -> bool:
    """Check ``fn``'s analytic gradients against central finite differences, in float64.

    fn : callable taking ``*inputs`` and returning a Tensor of any shape.
    inputs : Tensors (every one with ``requires_grad=True`` is checked) and other arguments
        (arrays, scalars, static parameters), passed through unchanged.
    eps : finite-difference step.  atol, rtol : an element passes when
        ``|analytic - numeric| <= atol + rtol * |numeric|``; NaN never passes.
    seed : seed of the random projections (see the module docstring: a non-scalar output
        is checked through two random projections ``J^T v``, not a full Jacobian).

    **float32 inputs are checked in float64 copies**: every float Tensor or ndarray input is
    copied to float64 before the check, so ``fn`` computes in float64 (finite differences in
    float32 would be mostly rounding noise).  This checks the math of the gradient, not
    float32 rounding.  The caller's tensors are not modified and their ``.grad`` is left
    alone; float32 constants captured inside ``fn`` stay float32.  When ``fn`` still
    computes in float32 (its output is float32: a float32 layer's weights, a float32
    constant, an ``astype``), the failure message says that ``fn``'s own precision limits the
    check and how to make it compute in float64.

    dtype : None (the default: float inputs are copied to float64, ``fn`` is called as is),
        or a float dtype such as ``'float64'``: float inputs are copied to it and, when ``fn``
        is a layer or model (an ``nn.Module``), the check runs on a copy of it whose float
        weights and layers compute in that dtype, so ``gradcheck(layer, x, dtype='float64')``
        checks a float32 layer's gradient math in float64.  The caller's module is unchanged.

    Returns True.  On a mismatch raises :class:`GradcheckError` naming the input, the element
    index, the analytic and numeric values and the largest error; with
    ``raise_exception=False`` returns False instead.
    """
    fn, dt = _as_dtype("gradcheck", fn, dtype)
    xs, check = _prepare("gradcheck", inputs, dt)
    return _check(fn, xs, check, eps, atol, rtol, raise_exception, seed, "gradcheck", dt=dt)


def gradgradcheck(fn: Callable, *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0,
                  dtype: Any = None) -> bool:
    """Check second derivatives of ``fn`` against finite differences of its gradients.

    With ``v`` a random array of the output's shape, the first gradients
    ``g_i(x, v) = d<fn(x), v>/dx_i`` are computed with a recorded backward
    (``create_graph=True``) and the function ``(x, v) -> (g_1, g_2, ...)`` (flattened and
    joined) is gradchecked with respect to every checked input **and** to ``v``.  So both
    halves of the second-order graph are verified: how each vjp depends on the forward
    inputs (Hessian-vector products) and on its incoming gradient (a vjp must be
    differentiable in ``g`` too, or Hessian-vector products of compositions go wrong).

    Same arguments (``dtype`` included), tolerances, return value and errors as
    :func:`gradcheck`, and the same note: float32 inputs are checked in float64 copies.
    """
    from .ops.shape import identity, reshape, concatenate

    _check_args("gradgradcheck", fn, eps, atol, rtol, seed)
    fn, dt = _as_dtype("gradgradcheck", fn, dtype)
    xs, check = _prepare("gradgradcheck", inputs, dt)
    rng = np.random.default_rng(seed + 1)
    with _graph.enable_grad():
        out0 = fn(*xs)
    if not isinstance(out0, Tensor):
        raise GraphError(f"gradgradcheck: fn must return a Tensor, got {type(out0).__name__}")
    v = Tensor(_projection(rng, out0.shape, out0.dtype).astype(
        np.promote_types(dt, out0.dtype)), requires_grad=True)

    def first_grads(*args):
        *args, vt = args
        with _graph.enable_grad():
            marks = []
            for i in check:
                args[i] = identity(args[i])
                marks.append(args[i])
            out = fn(*args)
            seed_v = vt if out.dtype == vt.dtype else vt.astype(out.dtype)
            s = (out * seed_v).sum()
            gs = (_graph.backward(s, None, retain_graph=True, create_graph=True, inputs=marks)
                  if s._rg else [None] * len(marks))
            parts = [np.zeros(xs[i].size, dtype=xs[i].dtype) if g is None else reshape(g, (-1,))
                     for i, g in zip(check, gs)]
            res = concatenate(parts) if parts else np.zeros(0)
            return res if isinstance(res, Tensor) else Tensor(res)

    labels = {len(xs): "the output seed v (how the vjps depend on their incoming gradient)"}
    return _check(first_grads, xs + [v], check + [len(xs)], eps, atol, rtol,
                  raise_exception, seed + 2, "gradgradcheck", "second-order gradient", labels,
                  dt=dt)
