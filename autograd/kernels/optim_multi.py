"""Multi-tensor optimizer kernels: one call for every parameter of a step (the compiled nn
train step's update, ``nn/compiled.py``), where the per-parameter kernels pay a Python call
and a dispatch each.  numpy twins (the reference, and the path when numba is not in use)
and the numba forms (``_jit_optim.py``, imported on first use).

Each kernel takes tuples of arrays of one float dtype (float32 or float64), C-contiguous,
parameter i's arrays of one shape, updated in place; the hyper-parameters are numbers.

* ``all_finite(gs)``: True when every element of every array is finite;
* ``sgd_update_all(ps, gs, vs, lr, momentum, nesterov, weight_decay)`` (``vs`` None when
  momentum is 0), ``adam_update_all(ps, gs, ms, vs, step, lr, beta_1, beta_2, epsilon,
  weight_decay, decoupled)``, ``rmsprop_update_all(ps, gs, vs, lr, rho, epsilon,
  weight_decay)``: ``kernels.sgd_update`` (``adam_update``, ``rmsprop_update``) on each i;
  True, or with ``check=True`` False and nothing changed when a gradient is not finite (the
  check of every gradient before any update, in the same call).

The numba forms are used at once under ``AUTOGRAD_KERNELS=numba``, never under
``AUTOGRAD_KERNELS=numpy``; otherwise (``auto``) a signature
(kernel, array count, dtype) runs the numpy twins for its first ``HOT_CALLS`` calls, then
its numba form is built in a child process (``kernels.background``;
``autograd.jit.codegen.wait()`` waits for it) and taken when ready.  Both forms give the same
numbers, bit for bit, in float32 and float64 (the numba loops round every hyperparameter and
every operation to the array's dtype, in the twins' order: ``_jit.py``).
"""
from __future__ import annotations

import numpy as np

from typing import Any

from .. import kernels as _K
from ..errors import DTypeError, ShapeError
from .optim import adam_update_np, rmsprop_update_np, sgd_update_np

__all__ = ["check_arrays", "all_finite", "sgd_update_all", "adam_update_all", "rmsprop_update_all",
           "all_finite_np", "sgd_update_all_np", "adam_update_all_np", "rmsprop_update_all_np"]

_JO = None


def _jo():
    """The numba kernels (imported on first use, after the package's numba set-up)."""
    global _JO
    if _JO is None:
        from . import _load
        _load()
        from . import _jit_optim
        _JO = _jit_optim
    return _JO


#: Calls of one kernel signature (kernel, array count, dtype) after which its numba form is
#: built in a child process when this process has not loaded the numba kernels: loading
#: or compiling it costs 1-6 s (2 shared cores, loaded), so, as ``autograd.jit.codegen``
#: does for its segments, a short run keeps the numpy twins and no call waits for numba.
HOT_CALLS = 50
_READY: set = set()
_CALLS: dict = {}


def _dummy(name: str, n: int, dt: Any) -> tuple:
    """Arguments of the types ``name`` is called with (n arrays per tuple), on scratch data."""
    t = lambda: tuple(np.zeros(1, dt) for _ in range(n))
    if name == "all_finite":
        return (t(),)
    if name == "sgd_plain_all":
        return (t(), t(), 0.0, 0.0, True)
    if name == "sgd_update_all":
        return (t(), t(), t(), 0.0, 0.0, False, 0.0, True)
    if name == "adam_update_all":
        return (t(), t(), t(), t(), 0.0, 0.9, 0.9, 1e-7, 0.0, False, 1.0, 1.0, True)
    return (t(), t(), t(), 0.0, 0.9, 1e-7, 0.0, True)


def _spec(key: tuple) -> dict:
    """The background build (``kernels.background``) of one signature's numba form."""
    from .background import describe
    name, n, dt = key
    return {"module": __name__.rsplit(".", 1)[0] + "._jit_optim", "function": name,
            "args": [describe(a) for a in _dummy(name, n, np.dtype(dt))]}


def _load_here(key: tuple) -> None:
    """Compile (or load from numba's cache) one signature's numba form in this process."""
    name, n, dt = key
    getattr(_jo(), name)(*_dummy(name, n, np.dtype(dt)))


def _finish(key: tuple, timeout=None) -> None:
    """``codegen.wait()``'s step for one build: wait for its child, then load the compiled
    form here, so the next call runs it without numba's set-up."""
    job = _JOBS.get(key)
    if job is None or not job.wait(timeout):
        return
    try:
        _PRE.result(timeout)
    except Exception as e:   # noqa: BLE001 - numba did not import: the twins stay
        ERRORS[key] = e
        del _JOBS[key]
        return
    del _JOBS[key]
    if job.state == "done":
        _load_here(key)
        _READY.add(key)
    else:
        ERRORS[key] = job.error


#: Builds that failed: signature -> the reason (their numpy twins stay in use).
ERRORS: dict = {}
_JOBS: dict = {}
_PRE = None


def _use_numba(name: str, arrays: tuple) -> bool:
    """Whether to call the numba form of ``name`` on these arrays now: never under
    ``AUTOGRAD_KERNELS=numpy``, at once under ``numba``, else once its build in a child
    process (started after ``HOT_CALLS`` calls, ``kernels.background``) is done: no call
    waits for a compile, and numba's compiler never runs in a thread of this process."""
    global _PRE
    mode = _K.MODE
    if mode == "numpy":
        return False
    if mode == "numba":
        return True
    key = (name, len(arrays), arrays[0].dtype.char)
    if key in _READY:
        return True
    job = _JOBS.get(key)
    if job is not None:
        if not (job.poll() and _PRE.done()):
            return False
        del _JOBS[key]
        if _PRE.error is not None:
            ERRORS[key] = _PRE.error
            return False
        if job.state != "done":
            ERRORS[key] = job.error
            return False
        _READY.add(key)              # this call loads it from numba's cache
        return True
    c = _CALLS.get(key, 0) + 1
    _CALLS[key] = c
    if c == HOT_CALLS:
        from . import background
        from ..jit.codegen import _PENDING          # codegen.wait() waits for it too
        job = background.submit(_spec(key))
        if job.state == "failed":                   # no child process here: build in place
            _READY.add(key)
            return True
        _JOBS[key] = job
        if _PRE is None:                 # numba and the module imported meanwhile, once
            _PRE = background.Preload(_jo)
        _PENDING.append(lambda timeout, key=key: _finish(key, timeout))
    return False


def _check(op: str, first: tuple, *others) -> None:
    """One float dtype, C-contiguous arrays, matching shapes across the tuples (named in
    the error), before any kernel sees them."""
    if not isinstance(first, tuple) or not first:
        raise ShapeError(f"kernels.{op}: expected a non-empty tuple of arrays, got "
                         f"{type(first).__name__}")
    dt = first[0].dtype if isinstance(first[0], np.ndarray) else None
    if dt is None or dt not in (np.float32, np.float64):
        raise DTypeError(f"kernels.{op}: arrays must be float32 or float64 ndarrays, got "
                         f"{getattr(first[0], 'dtype', type(first[0]).__name__)}")
    for t in (first, *others):
        if not isinstance(t, tuple) or len(t) != len(first):
            raise ShapeError(f"kernels.{op}: every argument holds {len(first)} arrays, got "
                             f"{len(t) if isinstance(t, tuple) else type(t).__name__}")
        for i, a in enumerate(t):
            if not isinstance(a, np.ndarray):
                raise DTypeError(f"kernels.{op}: item {i} is a {type(a).__name__}, expected an "
                                 f"ndarray of {dt}")
            if a.dtype != dt:
                raise DTypeError(f"kernels.{op}: array {i} is {a.dtype}, expected {dt}")
            if a.shape != first[i].shape:
                raise ShapeError(f"kernels.{op}: array {i} has shape {a.shape}, expected "
                                 f"{first[i].shape}")
            if not a.flags.c_contiguous:
                raise ShapeError(f"kernels.{op}: array {i} (shape {a.shape}) is not "
                                 f"C-contiguous")


def _flat(t: tuple) -> tuple:
    return tuple(a.reshape(-1) for a in t)


def _writable(op: str, t: tuple) -> None:
    for i, a in enumerate(t):
        if not a.flags.writeable:
            raise ShapeError(f"kernels.{op}: array {i} (shape {a.shape}) is read-only")


# ----------------------------------------------------------------------------- numpy twins
def all_finite_np(gs):
    return all(bool(np.isfinite(g).all()) for g in gs)


def sgd_update_all_np(ps, gs, vs, lr, momentum, nesterov, weight_decay, check=False):
    if check and not all_finite_np(gs):
        return False
    for k in range(len(ps)):
        sgd_update_np(ps[k], gs[k], vs[k] if momentum else None, lr, momentum, nesterov,
                      weight_decay)
    return True


def adam_update_all_np(ps, gs, ms, vs, step, lr, beta_1, beta_2, epsilon, weight_decay,
                       decoupled, check=False):
    if check and not all_finite_np(gs):
        return False
    for k in range(len(ps)):
        adam_update_np(ps[k], gs[k], ms[k], vs[k], step, lr, beta_1, beta_2, epsilon,
                       weight_decay, decoupled)
    return True


def rmsprop_update_all_np(ps, gs, vs, lr, rho, epsilon, weight_decay, check=False):
    if check and not all_finite_np(gs):
        return False
    for k in range(len(ps)):
        rmsprop_update_np(ps[k], gs[k], vs[k], lr, rho, epsilon, weight_decay)
    return True


# ----------------------------------------------------------------------------- dispatch
# ``check=True``: nothing is updated (False is returned) unless every gradient is finite.
# ``checked=True``: the caller has passed these very tuples through ``check_arrays`` (and
# keeps them: a compiled step checks once and calls at each step) and every array is 1-d;
# the per-call checks (a few attribute reads per array) are skipped.

def check_arrays(op: str, first: tuple, *others, writable: tuple = ()) -> None:
    """The checks of the kernels, for a caller that then calls with ``checked=True``."""
    _check(op, first, *others)
    _writable(op, writable)


def all_finite(gs: tuple, *, checked: bool = False) -> bool:
    """Whether every element of every array of ``gs`` is finite."""
    if not checked:
        _check("all_finite", gs)
    if _use_numba("all_finite", gs):
        return bool(_jo().all_finite(gs if checked else _flat(gs)))
    return all_finite_np(gs)


def sgd_update_all(ps, gs, vs, lr, momentum=0.0, nesterov=False, weight_decay=0.0, *,
                   check: bool = False, checked: bool = False) -> bool:
    """In place: ``kernels.sgd_update`` on each parameter (``vs`` None when momentum is 0)."""
    if not checked:
        _check("sgd_update_all", ps, gs, *(() if not momentum else (vs,)))
        _writable("sgd_update_all", ps if not momentum else ps + vs)
        ps, gs, vs = _flat(ps), _flat(gs), _flat(vs) if momentum else None
    if _use_numba("sgd_update_all" if momentum else "sgd_plain_all", ps):
        if not momentum:            # no velocity: two tuples to type at the call, not three
            return bool(_jo().sgd_plain_all(ps, gs, float(lr), float(weight_decay),
                                            bool(check)))
        return bool(_jo().sgd_update_all(ps, gs, vs, float(lr), float(momentum),
                                         bool(nesterov), float(weight_decay), bool(check)))
    return sgd_update_all_np(ps, gs, vs, lr, momentum, nesterov, weight_decay, check)


def adam_update_all(ps, gs, ms, vs, step, lr, beta_1, beta_2, epsilon, weight_decay=0.0,
                    decoupled=False, *, check: bool = False, checked: bool = False) -> bool:
    """In place: ``kernels.adam_update`` on each parameter, one step count ``step``."""
    if not checked:
        _check("adam_update_all", ps, gs, ms, vs)
        _writable("adam_update_all", ps + ms + vs)
        ps, gs, ms, vs = _flat(ps), _flat(gs), _flat(ms), _flat(vs)
    if _use_numba("adam_update_all", ps):
        return bool(_jo().adam_update_all(ps, gs, ms, vs, float(lr), float(beta_1),
                                          float(beta_2), float(epsilon), float(weight_decay),
                                          bool(decoupled), 1.0 - float(beta_1) ** step,
                                          1.0 - float(beta_2) ** step, bool(check)))
    return adam_update_all_np(ps, gs, ms, vs, step, lr, beta_1, beta_2, epsilon, weight_decay,
                              decoupled, check)


def rmsprop_update_all(ps, gs, vs, lr, rho, epsilon, weight_decay=0.0, *,
                       check: bool = False, checked: bool = False) -> bool:
    """In place: ``kernels.rmsprop_update`` on each parameter."""
    if not checked:
        _check("rmsprop_update_all", ps, gs, vs)
        _writable("rmsprop_update_all", ps + vs)
        ps, gs, vs = _flat(ps), _flat(gs), _flat(vs)
    if _use_numba("rmsprop_update_all", ps):
        return bool(_jo().rmsprop_update_all(ps, gs, vs, float(lr), float(rho), float(epsilon),
                                             float(weight_decay), bool(check)))
    return rmsprop_update_all_np(ps, gs, vs, lr, rho, epsilon, weight_decay, check)
