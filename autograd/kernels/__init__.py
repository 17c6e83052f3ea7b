"""Kernels behind the hot ops, and the one place that picks numba or numpy for a call.

``AUTOGRAD_KERNELS=numpy`` forces the numpy twins, ``numba`` forces numba (for float32 and
float64 data; other dtypes always take numpy), ``auto`` (the default) dispatches per call
from dtype, contiguity and size, with thresholds measured by ``benchmarks/kernels.py`` and
``benchmarks/mlp_step.py`` (figures beside each constant).  Nothing outside this package
imports numba, and numba is imported only when a numba kernel is first needed: with ``auto``
a small model never imports it at all.

Callers (ops/fused.py, ops/elementwise.py, ops/linalg.py, nn's optimizers) validate shapes
and dtypes before calling with messages in their own words.  Each entry point here checks
again, cheaply (shapes, dtypes, label range; no pass over float data), and raises the
library's errors (``ShapeError``, ``DTypeError``, ``InvalidValueError``) for anything a
kernel could not take: a numba kernel never sees data it would mis-type or read out of
bounds, whoever calls it.

Optimizer updates (in place; they record no graph):

- ``sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0)``
- ``adam_update(param, grad, m, v, step, lr, beta_1, beta_2, epsilon, weight_decay=0.0,
  decoupled=False)``
- ``rmsprop_update(param, grad, v, lr, rho, epsilon, weight_decay=0.0)``
- ``adagrad_update``, ``adadelta_update``, ``adamax_update``, ``nadam_update``,
  ``lion_update`` (arguments as their twins in ``optim.py``)

``param``, ``grad`` and the state arrays share shape and dtype; ``param`` and the state
arrays are updated in place.  Each has a numba form (from ``SGD_MIN``/``ADAM_MIN``
elements) that gives its numpy twin's bits; it runs only where that holds (``_exact``:
Python-number hyperparameters, a gradient of the parameter's dtype, no arrays sharing
memory; otherwise the twin runs), so the dispatcher's choice never changes a trained model.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import warnings

import numpy as np

from ..errors import ShapeError, DTypeError, InvalidValueError
from .optim import sgd_update_np, adam_update_np, rmsprop_update_np
from .optim import (adagrad_update_np, adadelta_update_np, adamax_update_np, nadam_update_np,
                    lion_update_np)
from .twins import (activation_np, activation_grad_np, bias_act_np, dense_grad_z_np, gemm_np,
                    xent_sparse_np, xent_dense_np, bce_np, subtract_scaled_np)

__all__ = ["MODE", "KINDS", "forced", "loaded", "activation", "activation_grad", "matmul",
           "bias_act", "dense_grad_z", "xent_sparse", "xent_dense", "bce",
           "sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update",
           "adamax_update", "nadam_update", "lion_update", "subtract_scaled"]

MODE = os.environ.get("AUTOGRAD_KERNELS", "auto").strip().lower()
if MODE not in ("auto", "numpy", "numba"):
    raise InvalidValueError(f"configuration: the environment variable AUTOGRAD_KERNELS must be "
                            f"auto, numpy or numba (or unset), got "
                            f"{os.environ.get('AUTOGRAD_KERNELS')!r}")

#: Activation names to kernel codes.
KINDS = {None: 0, "linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "leaky_relu": 4, "gelu": 5}

# ----------------------------------------------------------------------------- thresholds
# Sizes are element counts (for matmul: m*k*n multiply-adds).  In ``auto`` mode numba is used
# at or above the *_MIN constants.  Figures: ``python -m benchmarks.kernels --dtype float32``,
# 2 shared cores (AVX-512), medians of 15 interleaved repeats, numpy / numba per call.
# NEVER means numba lost at every measured size, so auto keeps numpy.
NEVER = 1 << 62
# A numba kernel is also worth its start-up only when the model is big enough: importing
# numba and loading the cached kernels costs ~0.45 s per process, so auto keeps numpy below
# SMALL elements even where numba wins per call (tiny and small configs then never import
# numba; see benchmarks/mlp_step.py for what that costs per step).
SMALL = 16384
# Forward: relu 128x256 11.0/6.2 us, 512x1024 177/140 us (64x128: 4.6/4.1 us, a wash).
# sigmoid, tanh, gelu lose at every size (numba's scalar tanh/exp vs numpy's SIMD ones:
# 128x256 sigmoid 28.8 us / 765 us), so numpy.
ACT_MIN = {0: NEVER, 1: SMALL, 2: NEVER, 3: NEVER, 4: SMALL, 5: NEVER}
# Backward g * act'(.): relu 32x16 9.0/5.1, 128x256 34/11.8, 512x1024 407/198 us; sigmoid
# 128x256 27.9/13.6; tanh 28.2/13.2.  gelu (tanh inside) loses: 128x256 148/939 us.
ACT_GRAD_MIN = {0: NEVER, 1: SMALL, 2: SMALL, 3: SMALL, 4: SMALL, 5: NEVER}
# Fused bias + activation after the GEMM: never clearly ahead of numpy's two in-place passes
# (relu 128x256 23.9/24.0 us, 512x1024 449/481 us; linear 13.8/17.9 us), so numpy.
BIAS_ACT_MIN = {0: NEVER, 1: NEVER, 2: NEVER, 3: NEVER, 4: NEVER, 5: NEVER}
# Dense backward dz = g act'(out) with the bias-gradient column sums in the same pass:
# relu 128x256 29.0/20.7 us, 512x1024 530/321 us; linear (a copy + sum) 15.8/21.3 us: numpy.
DENSE_GRAD_MIN = {0: NEVER, 1: SMALL, 2: SMALL, 3: SMALL, 4: SMALL, 5: NEVER}
# Parallel (prange) forms: the workqueue pool's launch costs ~35 us on this machine and the
# second core is shared, so they lost at every size (relu 512x1024 140 us serial vs 379 us
# parallel; gemm 128x784@784x256 2.85 vs 2.84 ms).  Never used in auto.
ACT_PAR_MIN = NEVER
BIAS_ACT_PAR_MIN = NEVER
# The numba GEMM (i-k-j, k-blocked) never beat BLAS through numpy, not even at 32x2@2x16
# (2.7 us numpy, 3.2 us numba); 128x784@784x256 0.35 ms vs 2.85 ms.  So BLAS at all sizes.
GEMM_MIN = NEVER
GEMM_MAX = 0
GEMM_PAR_MIN = NEVER
# Softmax-xent (integer labels), forward / gradient per row in one pass: 64x10 23.7/8.8 and
# 33.5/13.6 us; 128x10 26.4/11.3 and 40.0/20.1 us; 512x10 68.9/34.4 and 98.9/73.0 us.  With
# many classes exp dominates and numpy wins (512x1000 0.85 ms / 2.76 ms): numba only up to
# XENT_MAX_CLASSES classes.
XENT_MIN = 1024
XENT_MAX_CLASSES = 64
# Sigmoid-BCE: numba wins only at 32x2 (16.4/7.6 us) and loses from 64x10 on (19.0/25.9 us).
BCE_MIN = NEVER
# Optimizer updates, re-measured on the AMD EPYC host (2 cores, AVX-512) once the kernels
# computed in the array's dtype with numpy's division semantics (``_jit.py``: before, a
# zero-divisor test per element kept Adam's loop scalar, and it lost to numpy from 9610
# elements up to 1M): ``python -m benchmarks.kernels --only sgd_update,adam_update,
# rmsprop_update --dtype float32``, numpy / numba.  SGD: plain 9610 3.8/4.0 us, 16384 4.8/4.5
# us, 235146 45/26 us, 1.86M 496/216 us; with momentum 9610 6.6/5.4 us, 16384 8.4/6.6 us.
# Adam and RMSprop: numba wins at every size (Adam 288 10.0/5.4 us, 16384 34/13 us, 235146
# 375/123 us, 1.86M 13.4/1.1 ms; RMSprop 288 6.5/3.4 us, 16384 23.5/8.2 us).  So Adam starts
# at SMALL (numba's start-up); RMSprop shares ADAM_MIN, and so do Adagrad, Adadelta, Adamax,
# Nadam and Lion, whose kernels win at every size too (288 elements 1.4-2.2x, 16384
# 2.2-3.8x, 1.86M 5.3-6.7x numpy's time).  The check that numba gives the twin's bits
# (``_exact``: no arrays sharing memory) then added about 1 us a call, which moved plain
# SGD's crossover (the same command: 16384 4.8/5.7 us, 32768 6.9/6.7 us, 235146 43/27 us;
# momentum wins from 16384, 8.3/7.7 us, and shares the constant): SGD starts at 32768.
SGD_MIN = 32768
ADAM_MIN = SMALL
# p -= c * g in one pass (float32, 1 thread, CPU time, medians of 15): numpy's two passes /
# numba: 784x256 SUBTRACT_SCALED_FIGURES.
SUBTRACT_SCALED_MIN = SMALL
#: numba's threading layer for the parallel kernels (unless NUMBA_THREADING_LAYER is set).
THREADING_LAYER = "workqueue"

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_J = None
_warned = False
#: The temporary numba cache directory of this process, when no cache location was writable
#: (``_load``); removed at exit, and given to background builds (``background.py``).
TMP_CACHE: list = [None]


def loaded() -> bool:
    """Whether the numba kernels have been imported in this process."""
    return _J is not None


def _load():
    """Import numba and the kernels (first use only).  If no numba cache location is
    writable, numba refuses ``cache=True`` at decoration; then cache in a temp dir, warn once."""
    global _J, _warned
    if _J is not None:
        return _J
    _check_numba_env()
    import numba
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = THREADING_LAYER
    _guard_cache()
    try:
        from . import _jit
    except RuntimeError as e:
        if "cannot cache" not in str(e):
            raise
        sys.modules.pop(__name__ + "._jit", None)
        numba.config.CACHE_DIR = TMP_CACHE[0] = tempfile.mkdtemp(prefix="autograd-numba-cache-")
        import atexit
        import shutil
        atexit.register(shutil.rmtree, TMP_CACHE[0], True)   # this process's only: removed
        if not _warned:
            _warned = True
            warnings.warn(f"autograd.kernels: no writable numba cache directory ({e}); caching "
                          f"compiled kernels in {numba.config.CACHE_DIR} for this process "
                          f"(set NUMBA_CACHE_DIR to keep them)", RuntimeWarning, stacklevel=3)
        from . import _jit
    _J = _jit
    return _J


def _check_numba_env() -> None:
    """Numba's thread count from the environment must be a positive integer: a configuration
    error naming the variable, before numba's own import-time failure."""
    v = os.environ.get("NUMBA_NUM_THREADS")
    if v is None:
        return
    try:
        n = int(v.strip())
    except ValueError:
        n = 0
    if n < 1:
        raise InvalidValueError(f"configuration: NUMBA_NUM_THREADS must be a positive integer "
                                f"(or unset), got {v!r}")


_CACHE_GUARDED = False


def _guard_cache() -> None:
    """A damaged numba cache entry for one of our kernels (a truncated or corrupt index or
    data file) gives one RuntimeWarning and a recompile, never an UnpicklingError with a
    numba traceback.  Wraps numba's ``IndexDataCacheFile.load`` for files of this package's
    ``_jit`` module only; the damaged index is removed so the fresh compile is saved."""
    global _CACHE_GUARDED
    if _CACHE_GUARDED:
        return
    try:
        from numba.core import caching
        cls = caching.IndexDataCacheFile
        orig = cls.load
    except (ImportError, AttributeError):   # another numba layout: its own behaviour
        return
    warned = []

    def load(self, key):
        try:
            return orig(self, key)
        except Exception as e:  # noqa: BLE001 - any damage in our cache files: recompile
            index = getattr(self, "_index_path", "")
            if not os.path.basename(index).startswith("_jit."):
                raise
            if not warned:
                warned.append(index)
                warnings.warn(f"autograd.kernels: the numba cache entry {index} is damaged "
                              f"({type(e).__name__}: {e}); recompiling", RuntimeWarning,
                              stacklevel=2)
            with contextlib.suppress(OSError):
                os.unlink(index)
            return None

    cls.load = load
    _CACHE_GUARDED = True


@contextlib.contextmanager
def forced(mode: str):
    """``with forced('numba'):`` override ``MODE`` (tests and benchmarks)."""
    global MODE
    if mode not in ("auto", "numpy", "numba"):
        raise InvalidValueError(f"mode must be auto, numpy or numba, got {mode!r}")
    prev, MODE = MODE, mode
    try:
        yield
    finally:
        MODE = prev


def _numba(size: int, threshold: int, dtype) -> bool:
    """Whether this call goes to numba."""
    if MODE == "numpy" or dtype not in _FLOATS:
        return False
    return MODE == "numba" or size >= threshold


def _c(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype)


# ----------------------------------------------------------------------------- validation
def _arr(op: str, name: str, a, kinds: str = "f"):
    """``a`` must be an ndarray of one of the dtype kinds (default float)."""
    if not isinstance(a, np.ndarray):
        raise DTypeError(f"kernels.{op}: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind not in kinds:
        want = {"f": "float", "iu": "integer"}.get(kinds, "numeric")
        raise DTypeError(f"kernels.{op}: {name} must be {want}, got {a.dtype} (shape {a.shape})")


def _same(op: str, a, b, na: str, nb: str):
    if a.shape != b.shape:
        raise ShapeError(f"kernels.{op}: {nb} of shape {b.shape} does not match {na} of shape "
                         f"{a.shape} (dtypes {a.dtype} and {b.dtype})")


def _kind(op: str, kind):
    if kind not in _CODES:
        raise InvalidValueError(f"kernels.{op}: unknown activation code {kind!r}; one of "
                                f"{sorted(_CODES)}")


def _writable(op: str, name: str, a):
    _arr(op, name, a)
    if not a.flags.writeable:
        raise InvalidValueError(f"kernels.{op}: {name} (shape {a.shape}, dtype {a.dtype}) is "
                                f"read-only; it is updated in place")


def _logits(op: str, z):
    _arr(op, "logits", z)
    if z.ndim != 2:
        raise ShapeError(f"kernels.{op}: logits must be 2-d (batch, classes), got shape {z.shape}")


_CODES = frozenset(KINDS.values())


# ----------------------------------------------------------------------------- activations
def activation(x, kind: int, slope: float = 0.01):
    """act(x) as a new array (x: float array, any layout)."""
    _arr("activation", "x", x)
    _kind("activation", kind)
    if _numba(x.size, ACT_MIN[kind], x.dtype):
        xc = _c(x, x.dtype)
        y = np.empty_like(xc)
        if xc.size:
            J = _load()
            f = J.activation_par if xc.size >= ACT_PAR_MIN else J.activation
            f(xc.reshape(-1), y.reshape(-1), kind, float(slope))
        return y.reshape(x.shape)       # ascontiguousarray makes a 0-d array 1-d
    y = np.empty(x.shape, x.dtype)
    activation_np(x, y, kind, slope)
    return y


def activation_grad(g, a, kind: int, slope: float = 0.01):
    """g * act'(.), ``a`` the input (relu, leaky_relu, gelu) or output (sigmoid, tanh)."""
    _arr("activation_grad", "g", g)
    _arr("activation_grad", "a", a)
    _kind("activation_grad", kind)
    try:
        np.broadcast_shapes(g.shape, a.shape)
    except ValueError:
        raise ShapeError(f"kernels.activation_grad: shapes {g.shape} and {a.shape} do not "
                         f"broadcast (dtypes {g.dtype} and {a.dtype})") from None
    dt = np.result_type(g.dtype, a.dtype)
    if g.shape == a.shape and _numba(a.size, ACT_GRAD_MIN[kind], dt):
        gc, ac = _c(g, dt), _c(a, dt)
        gx = np.empty_like(ac)
        if ac.size:
            J = _load()
            f = J.activation_grad_par if ac.size >= ACT_PAR_MIN else J.activation_grad
            f(gc.reshape(-1), ac.reshape(-1), gx.reshape(-1), kind, float(slope))
        return gx.reshape(a.shape)      # ascontiguousarray makes a 0-d array 1-d
    gx = np.empty(np.broadcast_shapes(g.shape, a.shape), dt)
    activation_grad_np(g, a, gx, kind, slope)
    return gx


# ----------------------------------------------------------------------------- matmul
def matmul(a, b):
    """a @ b for 2-d float arrays of one dtype: numba GEMM for small sizes, BLAS above."""
    _arr("matmul", "a", a, "biuf")
    _arr("matmul", "b", b, "biuf")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ShapeError(f"kernels.matmul: shapes {a.shape} and {b.shape} are not aligned 2-d "
                         f"matrices (dtypes {a.dtype} and {b.dtype})")
    m, k = a.shape
    n = b.shape[1]
    work = m * k * n
    if a.dtype == b.dtype and (MODE == "numba" or GEMM_MIN <= work <= GEMM_MAX) \
            and _numba(work, 0, a.dtype):
        c = np.empty((m, n), a.dtype)
        if c.size:
            J = _load()
            f = J.gemm_par if work >= GEMM_PAR_MIN else J.gemm
            f(_c(a, a.dtype), _c(b, a.dtype), c)
        return c
    return np.matmul(a, b)


# ----------------------------------------------------------------------------- dense
def bias_act(z, bias, kind: int, slope: float = 0.01):
    """In place on the C-contiguous float z (..., units): z = act(z + bias); returns z."""
    _writable("bias_act", "z", z)
    _kind("bias_act", kind)
    if bias is not None:
        _arr("bias_act", "bias", bias)
        if z.ndim == 0 or bias.shape != (z.shape[-1],):
            raise ShapeError(f"kernels.bias_act: bias of shape {bias.shape} does not fit z of "
                             f"shape {z.shape} (dtypes {z.dtype} and {bias.dtype})")
    units = z.shape[-1] if z.ndim else 1
    has_bias = bias is not None
    if z.flags.c_contiguous and _numba(z.size, BIAS_ACT_MIN[kind], z.dtype) and z.size:
        b = _c(bias, z.dtype) if has_bias else np.empty(0, z.dtype)
        J = _load()
        f = J.bias_act_par if z.size >= BIAS_ACT_PAR_MIN else J.bias_act
        f(z.reshape(-1, units), b, has_bias, kind, float(slope))
        return z
    bias_act_np(z, bias, has_bias, kind, slope)
    return z


def dense_grad_z(g, a, kind: int, slope: float, want_gb: bool, gz=None, gb=None):
    """(gz, gb): gz = g * act'(a) shaped (rows, units), gb its column sums (or None).
    ``a`` is the layer's output (the pre-activation for gelu).  ``gz``, ``gb``: optional
    C-contiguous arrays to write into (shapes (rows, units) and (units,), a's dtype; a jit
    program's buffers), else allocated."""
    _arr("dense_grad_z", "g", g)
    _arr("dense_grad_z", "a", a)
    _kind("dense_grad_z", kind)
    _same("dense_grad_z", a, g, "a", "g")
    if a.ndim == 0:
        raise ShapeError(f"kernels.dense_grad_z: a must have a units axis, got shape {a.shape}")
    units = a.shape[-1]
    rows = a.size // units if units else math.prod(a.shape[:-1])
    dt = a.dtype
    if g.dtype == dt and _numba(a.size, DENSE_GRAD_MIN[kind], dt) and a.size:
        g2, a2 = _c(g, dt).reshape(rows, units), _c(a, dt).reshape(rows, units)
        gz = np.empty_like(g2) if gz is None else gz.reshape(rows, units)
        gb = np.empty(units, dt) if gb is None else gb
        _load().dense_grad_z(g2, a2, gz, gb, want_gb, kind, float(slope))
        return gz, (gb if want_gb else None)
    g2, a2 = g.reshape(rows, units), a.reshape(rows, units)
    zdt = dt if g.dtype == dt else np.result_type(g.dtype, dt)
    gz = np.empty(g2.shape, zdt) if gz is None or gz.dtype != zdt else gz.reshape(rows, units)
    gb = (np.empty(units, gz.dtype) if gb is None or gb.dtype != gz.dtype else gb) \
        if want_gb else None
    dense_grad_z_np(g2, a2, gz, gb, want_gb, kind, slope)
    return gz, gb


# ----------------------------------------------------------------------------- losses
def xent_sparse(z, labels, scale: float, want_grad: bool):
    """(sum of per-row losses, gradient or None) for logits z (N, C), integer labels (N,)."""
    _logits("xent_sparse", z)
    _arr("xent_sparse", "labels", labels, "iu")
    if labels.shape != z.shape[:1]:
        raise ShapeError(f"kernels.xent_sparse: labels of shape {labels.shape} do not match "
                         f"logits {z.shape}; expected ({z.shape[0]},)")
    if labels.size and (labels.min() < 0 or labels.max() >= z.shape[1]):
        raise InvalidValueError(f"kernels.xent_sparse: labels must be in [0, {z.shape[1]}), got "
                                f"values in [{labels.min()}, {labels.max()}]")
    if _numba(z.size, XENT_MIN, z.dtype) and 0 < z.shape[1] and (
            MODE == "numba" or z.shape[1] <= XENT_MAX_CLASSES):
        zc = _c(z, z.dtype)
        lab = np.ascontiguousarray(labels, dtype=np.int64)
        gl = np.empty_like(zc) if want_grad else np.empty((0, 0), z.dtype)
        total = _load().xent_sparse(zc, lab, gl, float(scale), want_grad)
        return total, (gl if want_grad else None)
    gl = np.empty(z.shape, z.dtype) if want_grad else None
    return xent_sparse_np(z, labels, gl, scale, want_grad), gl


def xent_dense(z, t, scale: float, want_grad: bool, want_gt: bool):
    """(sum, grad wrt logits or None, grad wrt targets or None) for float targets t (N, C)."""
    _logits("xent_dense", z)
    _arr("xent_dense", "targets", t)
    _same("xent_dense", z, t, "logits", "targets")
    dt = np.result_type(z.dtype, t.dtype)
    if _numba(z.size, XENT_MIN, dt) and 0 < z.shape[1] and (
            MODE == "numba" or z.shape[1] <= XENT_MAX_CLASSES):
        zc, tc = _c(z, dt), _c(t, dt)
        gl = np.empty_like(zc) if want_grad else np.empty((0, 0), dt)
        gt = np.empty_like(zc) if want_gt else np.empty((0, 0), dt)
        total = _load().xent_dense(zc, tc, gl, gt, float(scale), want_grad, want_gt)
    else:
        gl = np.empty(z.shape, dt) if want_grad else None
        gt = np.empty(z.shape, dt) if want_gt else None
        total = xent_dense_np(z, t, gl, gt, scale, want_grad, want_gt)
    return total, (gl if want_grad else None), (gt if want_gt else None)


def bce(z, t, scale: float, want_grad: bool, want_gt: bool):
    """(sum, grad wrt logits or None, grad wrt targets or None); t already of z's dtype."""
    _arr("bce", "logits", z)
    _arr("bce", "targets", t)
    _same("bce", z, t, "logits", "targets")
    dt = z.dtype
    if t.dtype == dt and _numba(z.size, BCE_MIN, dt):
        zc, tc = _c(z, dt).reshape(-1), _c(t, dt).reshape(-1)
        gz = np.empty_like(zc) if want_grad else np.empty(0, dt)
        gt = np.empty_like(zc) if want_gt else np.empty(0, dt)
        total = _load().bce(zc, tc, gz, gt, float(scale), want_grad, want_gt)
        gz = gz.reshape(z.shape) if want_grad else None
        gt = gt.reshape(z.shape) if want_gt else None
    else:
        gz = np.empty(z.shape, dt) if want_grad else None
        gt = np.empty(z.shape, dt) if want_gt else None
        total = bce_np(z, t, gz, gt, scale, want_grad, want_gt)
    return total, (gz if want_grad else None), (gt if want_gt else None)


# ----------------------------------------------------------------------------- optimizers
_PYFLOATS = frozenset((float,))
_BIG = 1 << 53                          # a step count float() takes exactly


def _common_update(param, grad, threshold: int, hyper: tuple, *state) -> bool:
    """Whether an update's arguments are the common case, checked in one pass: exact float
    ndarrays of one shape, ``param`` and ``grad`` of one float32/float64 dtype, every array
    writeable, hyperparameters Python floats (an int as large as 10**400 would fail in the
    middle of an update, not before it), and numpy's twin the dispatcher's pick (``param``
    below ``threshold`` elements, or numpy forced).  What ``_check_update`` passes; anything
    else goes through it, which raises naming the op and the argument."""
    if not (type(param) is np.ndarray and type(grad) is np.ndarray
            and param.dtype is grad.dtype and param.dtype in _FLOATS
            and param.shape == grad.shape and param.flags.writeable
            and (MODE == "numpy" or (MODE == "auto" and param.size < threshold))
            and _PYFLOATS.issuperset(map(type, hyper))):
        return False
    shape = param.shape
    for s in state:
        if type(s) is not np.ndarray or s.dtype.kind != "f" or s.shape != shape \
                or not s.flags.writeable:
            return False
    return True


def _check_update(op: str, param, grad, hyper, **state):
    for h in hyper:
        try:
            float(h)
        except (TypeError, ValueError):
            raise InvalidValueError(f"kernels.{op}: hyperparameters must be numbers, got "
                                    f"{h!r}") from None
    _writable(op, "param", param)
    _arr(op, "grad", grad, "biuf")
    _same(op, param, grad, "param", "grad")
    for name, s in state.items():
        _writable(op, name, s)
        _same(op, param, s, "param", name)


def _inplace_ok(p, *state):
    """numba updates in place only C-contiguous arrays of one dtype."""
    if not p.flags.c_contiguous or not p.flags.writeable:
        return False
    for s in state:
        if s is not None and (s.dtype != p.dtype or not s.flags.c_contiguous or s.shape != p.shape):
            return False
    return True


_PYNUMS = frozenset((float, int))


def _exact(param, grad, hyper, *state) -> bool:
    """Whether a numba update gives its numpy twin's bits here: a gradient of the parameter's
    dtype, Python-number hyperparameters (numpy reads them in the array's dtype, NEP 50, as
    the kernels do), and no two of the arrays sharing memory.  A numpy scalar (np.float64
    beside float32 arrays) or a gradient of another dtype makes the twin compute in the wider
    dtype, and an array passed twice (the parameter as its own gradient) is read by the twin
    after some of its whole-array writes, by a kernel element by element: then the twin
    runs."""
    if grad.dtype != param.dtype or not _PYNUMS.issuperset(map(type, hyper)):
        return False
    arrays = [param, grad]
    arrays += [s for s in state if s is not None]
    # distinct arrays that each own their memory (no base) cannot overlap: the common case,
    # one identity test each; otherwise numpy's overlap test, pair by pair
    ids = set()
    for a in arrays:
        if a.base is not None or id(a) in ids:
            break
        ids.add(id(a))
    else:
        return True
    for i in range(1, len(arrays)):
        for j in range(i):
            if np.may_share_memory(arrays[i], arrays[j]):
                return False
    return True


def _numba_update(threshold: int, param, grad, hyper, *state) -> bool:
    """Whether an update runs its numba kernel on these (checked) arguments: numba's pick for
    the size, arrays it updates in place, and the twin's bits (``_exact``)."""
    return _numba(param.size, threshold, param.dtype) and _inplace_ok(param, *state) \
        and _exact(param, grad, hyper, *state)


def sgd_update(param, grad, velocity, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """In place: PyTorch's SGD (see ``optim.sgd_update_np``)."""
    if type(lr) is float and type(momentum) is float and type(weight_decay) is float \
            and not momentum and type(param) is np.ndarray and type(grad) is np.ndarray \
            and param.dtype is grad.dtype and param.shape == grad.shape \
            and (MODE == "numpy" or (MODE == "auto" and param.size < SGD_MIN)) \
            and param.dtype in _FLOATS and param.flags.writeable:
        # the common plain step, checked in one expression (what _check_update would pass)
        sgd_update_np(param, grad, None, lr, 0.0, nesterov, weight_decay)
        return
    if momentum and _common_update(param, grad, SGD_MIN, (lr, momentum, weight_decay),
                                   velocity):
        sgd_update_np(param, grad, velocity, lr, momentum, nesterov, weight_decay)
        return
    _check_update("sgd_update", param, grad, (lr, momentum, weight_decay),
                  **({"velocity": velocity} if momentum else {}))
    if _numba_update(SGD_MIN, param, grad, (lr, momentum, weight_decay),
                     velocity if momentum else None):
        v = velocity.reshape(-1) if momentum else param.reshape(-1)
        _load().sgd_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1), v, float(lr),
                           float(momentum), bool(nesterov), float(weight_decay))
        return
    sgd_update_np(param, grad, velocity, lr, momentum, nesterov, weight_decay)


def subtract_scaled(param, grad, c: float):
    """In place: ``param -= c * grad`` with the product rounded to param's dtype first, as
    numpy's two passes do (the same bits); one pass with numba (a jit program's SGD update of
    a large parameter, ``autograd.jit.codegen.fuse_updates``).  param, grad: one float dtype,
    one shape; c a Python float."""
    _writable("subtract_scaled", "param", param)
    _arr("subtract_scaled", "grad", grad)
    _same("subtract_scaled", param, grad, "param", "grad")
    if param.dtype == grad.dtype and param.flags.c_contiguous and grad.flags.c_contiguous \
            and _numba(param.size, SUBTRACT_SCALED_MIN, param.dtype) and param.size \
            and not np.may_share_memory(param, grad):
        _load().subtract_scaled(param.reshape(-1), grad.reshape(-1), param.dtype.type(c))
        return
    subtract_scaled_np(param, grad, c)


def adam_update(param, grad, m, v, step, lr, beta_1, beta_2, epsilon, weight_decay=0.0,
                decoupled=False):
    """In place: Adam / AdamW (see ``optim.adam_update_np``)."""
    if type(step) is int and 0 < step < _BIG and _common_update(
            param, grad, ADAM_MIN, (lr, beta_1, beta_2, epsilon, weight_decay), m, v):
        adam_update_np(param, grad, m, v, step, lr, beta_1, beta_2, epsilon, weight_decay,
                       decoupled)
        return
    _check_update("adam_update", param, grad, (step, lr, beta_1, beta_2, epsilon, weight_decay),
                  m=m, v=v)
    if _numba_update(ADAM_MIN, param, grad, (lr, beta_1, beta_2, epsilon, weight_decay), m, v):
        _load().adam_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1), m.reshape(-1),
                            v.reshape(-1), float(lr), float(beta_1), float(beta_2),
                            float(epsilon), float(weight_decay), bool(decoupled),
                            1.0 - float(beta_1) ** step, 1.0 - float(beta_2) ** step)
        return
    adam_update_np(param, grad, m, v, step, lr, beta_1, beta_2, epsilon, weight_decay, decoupled)


def rmsprop_update(param, grad, v, lr, rho, epsilon, weight_decay=0.0):
    """In place: RMSprop (see ``optim.rmsprop_update_np``)."""
    _check_update("rmsprop_update", param, grad, (lr, rho, epsilon, weight_decay), v=v)
    if _numba_update(ADAM_MIN, param, grad, (lr, rho, epsilon, weight_decay), v):
        _load().rmsprop_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1), v.reshape(-1),
                               float(lr), float(rho), float(epsilon), float(weight_decay))
        return
    rmsprop_update_np(param, grad, v, lr, rho, epsilon, weight_decay)


# The other optimizers: numba from ADAM_MIN elements, as Adam (each divides or takes a square
# root per element; the kernels give the twins' bits, see _jit.py)
def adagrad_update(param, grad, acc, lr, epsilon, weight_decay=0.0):
    """In place: Adagrad (see ``optim.adagrad_update_np``)."""
    hyper = (lr, epsilon, weight_decay)
    _check_update("adagrad_update", param, grad, hyper, acc=acc)
    if _numba_update(ADAM_MIN, param, grad, hyper, acc):
        _load().adagrad_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1),
                               acc.reshape(-1), float(lr), float(epsilon), float(weight_decay))
        return
    adagrad_update_np(param, grad, acc, lr, epsilon, weight_decay)


def adadelta_update(param, grad, v, u, lr, rho, epsilon, weight_decay=0.0):
    """In place: Adadelta (see ``optim.adadelta_update_np``)."""
    hyper = (lr, rho, epsilon, weight_decay)
    _check_update("adadelta_update", param, grad, hyper, v=v, u=u)
    if _numba_update(ADAM_MIN, param, grad, hyper, v, u):
        _load().adadelta_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1),
                                v.reshape(-1), u.reshape(-1), float(lr), float(rho),
                                float(epsilon), float(weight_decay))
        return
    adadelta_update_np(param, grad, v, u, lr, rho, epsilon, weight_decay)


def adamax_update(param, grad, m, u, step, lr, beta_1, beta_2, epsilon, weight_decay=0.0):
    """In place: Adamax (see ``optim.adamax_update_np``)."""
    hyper = (step, lr, beta_1, beta_2, epsilon, weight_decay)
    _check_update("adamax_update", param, grad, hyper, m=m, u=u)
    if _numba_update(ADAM_MIN, param, grad, hyper, m, u):
        # the twin's scalar, in its order: lr / (1 - b1^t) in Python floats
        _load().adamax_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1),
                              m.reshape(-1), u.reshape(-1),
                              float(lr / (1.0 - beta_1 ** step)), float(beta_1),
                              float(beta_2), float(epsilon), float(weight_decay))
        return
    adamax_update_np(param, grad, m, u, step, lr, beta_1, beta_2, epsilon, weight_decay)


def nadam_update(param, grad, m, v, step, mu_t, mu_next, mu_prod, lr, beta_1, beta_2, epsilon,
                 weight_decay=0.0):
    """In place: Nadam (see ``optim.nadam_update_np``)."""
    hyper = (step, mu_t, mu_next, mu_prod, lr, beta_1, beta_2, epsilon, weight_decay)
    _check_update("nadam_update", param, grad, hyper, m=m, v=v)
    if _numba_update(ADAM_MIN, param, grad, hyper, m, v):
        # the twin's scalars, in its order (Python floats)
        k_g = lr * ((1.0 - mu_t) / (1.0 - mu_prod))
        k_m = lr * (mu_next / (1.0 - mu_prod * mu_next))
        _load().nadam_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1),
                             m.reshape(-1), v.reshape(-1), float(k_g), float(k_m),
                             float(beta_1), float(beta_2), float(epsilon),
                             float(weight_decay), float(1.0 - beta_2 ** step))
        return
    nadam_update_np(param, grad, m, v, step, mu_t, mu_next, mu_prod, lr, beta_1, beta_2,
                    epsilon, weight_decay)


def lion_update(param, grad, m, lr, beta_1, beta_2, weight_decay=0.0):
    """In place: Lion (see ``optim.lion_update_np``)."""
    hyper = (lr, beta_1, beta_2, weight_decay)
    _check_update("lion_update", param, grad, hyper, m=m)
    if _numba_update(ADAM_MIN, param, grad, hyper, m):
        _load().lion_update(param.reshape(-1), _c(grad, param.dtype).reshape(-1), m.reshape(-1),
                            float(lr), float(beta_1), float(beta_2), float(weight_decay))
        return
    lion_update_np(param, grad, m, lr, beta_1, beta_2, weight_decay)


# ----------------------------------------------------------------------------- conv, pooling
_JC = None


def _load_conv():
    """Import the numba convolution/pooling kernels (first use only)."""
    global _JC
    if _JC is None:
        _load()                     # numba set up (threading layer, cache fallback)
        from . import _jit_conv
        _JC = _jit_conv
    return _JC


_JT = None


def _load_tape():
    """Import the numba tape interpreter (first use only; ``autograd.jit`` of Values)."""
    global _JT
    if _JT is None:
        _load()                     # numba set up (threading layer, cache fallback)
        from . import _jit_tape
        _JT = _jit_tape
    return _JT


from .conv import (conv_forward, conv_input_grad, conv_kernel_grad,  # noqa: E402
                   max_pool_forward, max_pool_backward, avg_pool_forward, avg_pool_backward)

__all__ += ["conv_forward", "conv_input_grad", "conv_kernel_grad", "max_pool_forward",
            "max_pool_backward", "avg_pool_forward", "avg_pool_backward"]

# Families with their own modules (numpy twins, dispatch; numba forms imported on first use).
from . import norm, rnn  # noqa: E402,F401
