"""Compiling generated kernel source (``autograd/jit/codegen.py``) with numba, cached on disk.

Each kernel's source is written once to ``<cache>/<name>.py``, ``name`` a hash of the source,
and imported from there; its ``@njit(cache=True)`` then keeps the machine code beside it
(numba's ``__pycache__``), so a program compiled by an earlier process loads in
milliseconds.  The cache directory is ``$AUTOGRAD_JIT_CACHE`` if set, else
``$NUMBA_CACHE_DIR/autograd-jit``, else ``~/.cache/autograd/jit`` (``$XDG_CACHE_HOME``
honoured); if none is writable, a temporary directory for this process (one warning).

numba is imported here only when a kernel is first compiled (``import autograd`` never
imports it).  The numpy twin of a generated kernel is the replay of the instructions it
replaced (``info["body"]`` of the fused instruction); tests hold them equal.
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
import tempfile
import threading
import warnings

import numpy as np

from ..errors import InvalidValueError

__all__ = ["cache_dir", "fused_function", "segment_function", "segment_spec", "write_source",
           "import_generated", "labels_ok_np", "ENV"]

#: The environment variable that overrides the generated-code cache directory.
ENV = "AUTOGRAD_JIT_CACHE"
_LOCK = threading.Lock()
_LOADED: dict = {}
_DIR: list = []


def cache_dir() -> str:
    """The directory generated kernels are written to (created on first use)."""
    if _DIR:
        return _DIR[0]
    env = os.environ.get(ENV)
    if env is not None and not env.strip():
        raise InvalidValueError(f"configuration: {ENV} must name a directory (or be unset)")
    if env:
        d = env
    elif os.environ.get("NUMBA_CACHE_DIR"):
        d = os.path.join(os.environ["NUMBA_CACHE_DIR"], "autograd-jit")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "autograd", "jit")
    try:
        os.makedirs(d, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=d, delete=True)
        probe.close()
    except OSError as e:
        d2 = tempfile.mkdtemp(prefix="autograd-jit-")
        warnings.warn(f"autograd.jit: the code cache {d} is not writable ({e}); using {d2} "
                      f"for this process (set {ENV})", RuntimeWarning, stacklevel=3)
        d = d2
    _DIR.append(d)
    return d


def write_source(src: str, name: str) -> str:
    """Write generated module ``name`` to the code cache (if absent or different); its path.
    numba-free: a background build (``kernels.background``) imports it in a child process."""
    d = cache_dir()
    path = os.path.join(d, name + ".py")
    with _LOCK:
        ok = False
        if os.path.exists(path):
            with open(path) as f:
                ok = f.read() == src
        if not ok:                            # atomic: another process may be reading it
            fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(src)
            os.replace(tmp, path)
    return path


def import_generated(path: str, name: str):
    """Import the generated module at ``path`` under its module name (the same name in every
    process, so numba's cache entries written by one are found by another)."""
    spec = importlib.util.spec_from_file_location(f"autograd_jit_gen_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _module(src: str, name: str):
    """Import the generated module ``name`` (writing its file first if absent)."""
    mod = _LOADED.get(name)
    if mod is not None:
        return mod
    from . import _load
    _load()                                   # numba set up once (threading layer, cache)
    path = write_source(src, name)
    with _LOCK:
        mod = _LOADED.get(name)
        if mod is None:
            mod = _LOADED[name] = import_generated(path, name)
    return mod


def fused_function(src: str, name: str, kinds: list, shape: tuple, dtype, n_out: int):
    """The callable of a ``fused`` instruction: takes the kernel's array operands (in the
    order of ``kinds`` without the scalars), returns its ``n_out`` results of ``shape`` and
    ``dtype``: buffers it owns, overwritten by the next call."""
    kern = _module(src, name).kernel
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) if shape else 1
    flat = [np.empty(n, dtype) for _ in range(n_out)]
    outs = tuple(f.reshape(shape) for f in flat)
    plan = []                                 # per kernel operand: an array position or a scalar
    pos = 0
    for kd in kinds:
        if isinstance(kd, tuple) and kd[0] == "scalar":
            plan.append((False, dtype.type(kd[1])))
        else:
            plan.append((True, pos))
            pos += 1

    def fused(*arrays):
        args = [n]
        for is_arr, v in plan:
            if is_arr:
                a = arrays[v]
                if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
                    a = np.ascontiguousarray(a, dtype=dtype)
                args.append(a.reshape(-1))
            else:
                args.append(v)
        kern(*args, *flat)
        return outs
    fused.kernel = kern
    return fused


def labels_ok_np(labels, n_classes: int) -> bool:
    """The twin of ``_jit_codegen.labels_ok``: every label in [0, n_classes)."""
    return not labels.size or bool(labels.min() >= 0 and labels.max() < n_classes)


def _segment_args(slots: list, labels: dict, writes: frozenset, pick, ok):
    """The conversion of a segment's arguments to its kernel's operands: ``convert(vals)``
    returns (operands, write-backs).  Shared by the callable and by the background build's
    description of the kernel's types (``segment_spec``), so the two cannot drift."""
    from ..errors import InvalidValueError as _Bad
    conv = [(k, np.dtype(s.dtype), tuple(s.shape) == (), labels.get(k))
            for k, s in enumerate(slots)]

    def convert(vals):
        args = list(vals) if pick is None else [vals[p] for p in pick]
        back = None
        for k, dt, scalar, n_cls in conv:
            a = args[k]
            if k in writes:
                if type(a) is not np.ndarray or a.dtype != dt or not a.flags.c_contiguous:
                    c = np.ascontiguousarray(a, dtype=dt)
                    back = (back or []) + [(a, c)]
                    a = c
            elif n_cls is not None:
                if type(a) is not np.ndarray or a.dtype != np.int64 or not a.flags.c_contiguous:
                    a = np.ascontiguousarray(a, dtype=np.int64)
                if not ok(a, n_cls):
                    raise _Bad(f"softmax_cross_entropy: labels must be in [0, {n_cls}), got "
                               f"values in [{a.min()}, {a.max()}]")
            elif type(a) is not np.ndarray or a.dtype != dt or not a.flags.c_contiguous:
                a = np.ascontiguousarray(a, dtype=dt)
            args[k] = a.reshape(1) if scalar else a
        return args, back
    return convert


def segment_spec(src: str, name: str, slots: list, labels: dict, writes: tuple = (),
                 pick=None):
    """``vals -> background build spec`` of a segment's kernel for arguments like ``vals``
    (its source written to the code cache first); numba-free."""
    from .background import describe
    convert = _segment_args(slots, labels, frozenset(writes),
                            None if pick is None else tuple(pick), lambda a, n: True)

    def spec(vals):
        args, _ = convert(vals)
        return {"path": write_source(src, name), "name": name, "function": "segment",
                "args": [describe(a) for a in args]}
    return spec


def segment_function(src: str, name: str, slots: list, labels: dict, losses: list,
                     writes: tuple = (), targets: tuple = (), pick=None):
    """The callable of a whole-segment ``fused`` instruction (``codegen.fuse_segments``).

    ``slots``: the input slots (their trace-time shapes and dtypes); ``labels``: input
    position -> number of classes, checked before the kernel runs (a label out of range
    raises ``InvalidValueError``, as the primitive does, never reaching numba); ``losses``:
    per output, the dtype of a 0-d result returned as a scalar (made a 0-d array), else
    None; ``writes``: input positions the kernel updates in place (the memory of captured
    tensors, ``targets``: their versions are bumped after the kernel, as ``Tensor._inplace``
    does; an operand that is not a C-contiguous array of its dtype is updated through a
    copy written back); ``pick``: the positions of the kernel's operands among the
    callable's arguments (None: all of them, in order)."""
    from . import _jit_codegen
    kern = _module(src, name).segment
    convert = _segment_args(slots, labels, frozenset(writes),
                            None if pick is None else tuple(pick), _jit_codegen.labels_ok)
    big = {np.dtype(d): float(np.finfo(d).max) for d in losses if d is not None}
    loss_at = [(j, np.dtype(d)) for j, d in enumerate(losses) if d is not None]
    targets = tuple(targets)

    def segment(*vals):
        for t in targets:
            t._before_write()
        args, back = convert(vals)
        res = kern(*args)
        if back is not None:
            for a, c in back:
                np.copyto(a, c, casting="unsafe")
        for t in targets:
            t._bump()
        if not loss_at:
            return res
        res = list(res)
        for j, dt in loss_at:             # the float64 mean as a 0-d array of the dtype
            v = res[j]
            res[j] = np.array(v if abs(v) <= big[dt] or v != v else math.copysign(math.inf, v),
                              dtype=dt)
        return tuple(res)
    segment.kernel = kern
    return segment
