"""Fused primitives: one graph node where a composition would make several.

- ``dense(x, kernel, bias=None, activation=None)``: ``act(x @ kernel + bias)``
- ``softmax_cross_entropy(logits, labels)``: mean cross-entropy of softmax(logits)
- ``sigmoid_binary_cross_entropy(logits, targets)``: mean binary cross-entropy of sigmoid(logits)

Each has a differentiable vjp written with library ops (so higher-order gradients work) and
a numpy-only first-order ``vjp_fast`` for the ordinary backward.  Inputs are validated here,
before any kernel sees them.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError, DTypeError, InvalidValueError
from ..registry import primitive
from ..graph import _as_grad
from .. import kernels as K
from ..kernels.twins import bias_act_np, dense_grad_z_np, xent_sparse_np
from ._util import data_of
from .elementwise import where, exp, tanh, sigmoid, relu, leaky_relu
from .activations import gelu, softmax, logsumexp
from .linalg import matmul
from .reduce import sum as _sum
from .shape import reshape, transpose

__all__ = ["dense", "dense_chain", "softmax_cross_entropy", "sigmoid_binary_cross_entropy", "ACTIVATIONS"]

#: Activations the fused ``dense`` knows, by name (None and 'linear' are the identity).
ACTIVATIONS = (None, "linear", "relu", "sigmoid", "tanh", "leaky_relu", "gelu")


# ----------------------------------------------------------------------------- dense
def _check_dense(x, kernel, bias, activation):
    if activation not in ACTIVATIONS:
        raise InvalidValueError(f"dense: unknown activation {activation!r}; one of {ACTIVATIONS}")
    if x.dtype.kind != "f" or kernel.dtype.kind != "f" or (bias is not None and bias.dtype.kind != "f"):
        for nm, a in (("x", x), ("kernel", kernel), ("bias", bias)):
            if a is not None and a.dtype.kind != "f":
                raise DTypeError(f"dense: {nm} must be float, got {a.dtype} (shape {a.shape})")
    ks = kernel.shape
    if len(ks) != 2:
        raise ShapeError(f"dense: kernel must be 2-d (in, units), got shape {ks}")
    xs = x.shape
    if not xs or xs[-1] != ks[0]:
        raise ShapeError(f"dense: shapes {xs} and {ks} are not aligned "
                         f"({xs[-1] if xs else '0-d'} != {ks[0]})")
    if bias is not None and bias.shape != (ks[1],):
        raise ShapeError(f"dense: bias shape {bias.shape} does not match kernel {ks}; "
                         f"expected ({ks[1]},)")


def _activate(z, activation, negative_slope):
    """Apply the activation to the pre-activation ``z`` in place where possible (numpy)."""
    if activation is None or activation == "linear":
        return z
    if activation == "relu":
        return np.maximum(z, 0, out=z)
    if activation == "sigmoid":
        return sigmoid.fwd(z)
    if activation == "tanh":
        return np.tanh(z, out=z)
    if activation == "leaky_relu":
        return leaky_relu.fwd(z, negative_slope)
    return gelu.fwd(z)


def _dense_ref(x, kernel, bias=None, activation=None, negative_slope=0.01):
    z = np.matmul(x, kernel)
    if bias is not None:
        z = z + bias
    return _activate(np.array(z), activation, negative_slope)


def _dense_kinks(x, kernel, bias=None, activation=None, negative_slope=0.01):
    """Distance of the pre-activation from relu/leaky_relu's kink at 0 (inf otherwise)."""
    if activation not in ("relu", "leaky_relu"):
        return np.inf
    return np.abs(_dense_ref(x, kernel, bias))


@primitive(library=True, name="dense", nin=3, reference=_dense_ref, domain=[None, None, None],
           kinks=_dense_kinks)
def _dense(x, kernel, bias, activation=None, negative_slope=0.01):
    _check_dense(x, kernel, bias, activation)
    kind = K.KINDS[activation]
    mode = K.MODE                               # _plain(x.size, ...), inline: one call less
    if (mode == "numpy" or mode == "auto" and x.size < K.BIAS_ACT_MIN[kind]) \
            and K.GEMM_MIN == K.NEVER:
        z = np.matmul(x, kernel)                # what the dispatcher picks here, minus its checks
        if kind == 1:                           # bias_act_np's relu, inline (small layers)
            if bias is not None:
                z += bias
            return np.maximum(z, _ZERO.get(z.dtype, 0), out=z)
        if kind == 0:                           # bias_act_np without activation, inline
            if bias is not None:
                z += bias
            return z
        bias_act_np(z, bias, bias is not None, kind, negative_slope)
        return z
    if x.ndim == 2 and x.dtype == kernel.dtype:
        z = K.matmul(x, kernel)                 # numba GEMM for small sizes, BLAS above
    else:
        z = np.matmul(x, kernel)
    return K.bias_act(z, bias, K.KINDS[activation], negative_slope)   # one pass: act(z + b)


#: 0 as a 0-d array of each float dtype: ``a > 0`` and ``maximum(a, 0)`` with it give the same
#: bits as with the Python 0 (0 is exact in every dtype) and skip numpy's scalar conversion
_ZERO = {np.dtype(t): np.zeros((), t) for t in (np.float16, np.float32, np.float64)}
for _z in _ZERO.values():
    _z.flags.writeable = False
del _z


def _mm(a, b):
    return K.matmul(a, b) if a.dtype == b.dtype else np.matmul(a, b)


def _plain(size, threshold) -> bool:
    """True where the dispatcher would pick numpy anyway (numpy forced, or auto below the
    measured threshold): the fused ops then call the numpy twins directly, skipping the
    dispatcher's argument checks (they validated their inputs already).  Small models spend
    most of their time in such per-call overhead."""
    mode = K.MODE
    return mode == "numpy" or (mode == "auto" and size < threshold)


def _dense_vjp_fast(g, out, x, kernel, bias, activation=None, negative_slope=0.01, needs=None,
                    own_g=False):
    """First order: dz = g act'(.) and db = sum_rows dz in one pass, then the GEMMs that
    are needed (dx = dz W^T only if x wants a gradient, dW = x^T dz only if W does).
    ``own_g``: ``g`` is a scratch array of the caller's (``dense_chain``'s gradient between
    two of its layers), which dz may overwrite instead of taking a new array."""
    kind = K.KINDS[activation]
    k_in, units = kernel.shape
    if kind == 5:                               # gelu's derivative needs the pre-activation
        a = np.matmul(x, kernel)
        if bias is not None:
            a = a + bias
    else:
        a = out
    want_b = bias is not None and (needs is None or needs[2])
    mm = _mm
    two = a.ndim == 2 and x.ndim == 2           # (batch, features): no reshapes needed
    mode = K.MODE                               # _plain(a.size, ...), inline: one call less
    if (mode == "numpy" or mode == "auto" and a.size < K.DENSE_GRAD_MIN[kind]) \
            and g.shape == a.shape and g.dtype == a.dtype and K.GEMM_MIN == K.NEVER:
        gb = None
        if two and kind == 0 and g.flags.c_contiguous:
            gz = g                              # no activation: dz = g, only read (no copy)
            if want_b:
                gb = np.add.reduce(gz, axis=0)
        elif two and kind == 1:                 # dense_grad_z_np's relu, inline
            gz = np.multiply(g, a > _ZERO.get(a.dtype, 0),
                             out=g if own_g and g.flags.c_contiguous else np.empty(a.shape,
                                                                                   a.dtype))
            if want_b:
                gb = np.add.reduce(gz, axis=0)
        elif two:
            gb = np.empty(units, a.dtype) if want_b else None
            gz = np.empty(a.shape, a.dtype)
            dense_grad_z_np(g, a, gz, gb, want_b, kind, negative_slope)
        else:
            gb = np.empty(units, a.dtype) if want_b else None
            rows = a.size // units if units else math.prod(a.shape[:-1])
            gz = np.empty((rows, units), a.dtype)
            dense_grad_z_np(g.reshape(rows, units), a.reshape(rows, units), gz, gb, want_b,
                            kind, negative_slope)
        mm = np.matmul
    else:
        gz, gb = K.dense_grad_z(g, a, kind, negative_slope, want_b)
    gx = gk = None
    if needs is None or needs[0]:
        gx = mm(gz, kernel.T)
        if not two:
            gx = gx.reshape(x.shape[:-1] + (k_in,))
    if needs is None or needs[1]:
        # rows given: -1 is ambiguous at size 0
        gk = mm(x.T if two else x.reshape(gz.shape[0], k_in).T, gz)
    return gx, gk, gb


def dense_vjp_into(g, out, x, kernel, bias, activation, negative_slope, needs, bufs,
                   fold=None):
    """``_dense_vjp_fast`` for 2-d ``x`` and ``g`` of ``out``'s shape and dtype (not gelu),
    writing into preallocated arrays instead of allocating: ``bufs`` = (gz, gb, gx, gk),
    each None or a C-contiguous array of its result's shape and dtype (a jit program owns
    them: ``autograd.jit.codegen.dense_vjp_buffers``).  The same dispatch as the fast vjp
    (numpy or numba by size, the same BLAS calls with ``out=``), so the same values; where
    the vjp would use another GEMM (``AUTOGRAD_KERNELS=numba``), it allocates as the vjp.
    ``fold``: None, or ``fold(x, dz)`` run instead of the kernel gradient's GEMM (an update
    that consumes it in place, ``codegen.fold_updates``); the kernel gradient is then None."""
    kind = K.KINDS[activation]
    bz, bb, bx, bk = bufs
    a = out
    want_b = bias is not None and needs[2]
    if _plain(a.size, K.DENSE_GRAD_MIN[kind]) and K.GEMM_MIN == K.NEVER:
        gb = bb if want_b else None
        if kind == 0 and g.flags.c_contiguous:
            gz = g                              # no activation: dz = g, only read (no copy)
            if want_b:
                np.add.reduce(gz, axis=0, out=gb)
        elif kind == 1:
            gz = np.multiply(g, a > _ZERO.get(a.dtype, 0), out=bz)
            if want_b:
                np.add.reduce(gz, axis=0, out=gb)
        else:
            gz = bz
            dense_grad_z_np(g, a, gz, gb, want_b, kind, negative_slope)
        mm = np.matmul
    else:
        if K.loaded() and (K.MODE == "numba" or K.MODE == "auto" and
                           a.size >= K.DENSE_GRAD_MIN[kind]) and a.size \
                and a.dtype in K._FLOATS and g.dtype == a.dtype and g.flags.c_contiguous \
                and a.flags.c_contiguous and bz is not None and bb is not None:
            # the kernel the dispatcher picks here (numba: a.size is at or above its
            # threshold, or numba is forced), without its checks: shapes and dtypes fixed
            K._load().dense_grad_z(g, a, bz, bb, want_b, kind, float(negative_slope))
            gz, gb = bz, (bb if want_b else None)
        else:
            gz, gb = K.dense_grad_z(g, a, kind, negative_slope, want_b, gz=bz, gb=bb)
        mm = np.matmul if K.MODE != "numba" and K.GEMM_MIN == K.NEVER else None
    if mm is None:                              # the vjp's own GEMM (numba): allocate as it
        gx = _mm(gz, kernel.T) if needs[0] else None
    else:
        gx = mm(gz, kernel.T, out=bx) if needs[0] else None
    if not needs[1]:
        return gx, None, gb
    if fold is not None:                        # after dx: the update may write the kernel
        fold(x, gz)
        return gx, None, gb
    return gx, (_mm(x.T, gz) if mm is None else mm(x.T, gz, out=bk)), gb


def _dense_vjp(g, out, x, kernel, bias, activation=None, negative_slope=0.01):
    # a = act(z), z = x W + b:  dz = act'(z) da;  dx = dz W^T;  dW = x^T dz;  db = sum_rows dz
    if activation in (None, "linear"):
        gz = g
    elif activation == "relu":
        gz = g * (data_of(out) > 0)
    elif activation == "sigmoid":
        gz = g * out * (1.0 - out)
    elif activation == "tanh":
        gz = g * (1.0 - out * out)
    elif activation == "leaky_relu":
        gz = g * np.where(data_of(out) > 0, 1.0, negative_slope).astype(data_of(out).dtype)
    else:
        z = matmul(x, kernel)
        if bias is not None:
            z = z + bias
        gz = gelu.vjp(g, None, z)
    k_in, units = kernel.shape
    rows = math.prod(data_of(x).shape[:-1])      # not -1: ambiguous when the size is 0
    gz2 = reshape(gz, (rows, units))
    gx = matmul(gz, transpose(kernel))
    gk = matmul(transpose(reshape(x, (rows, k_in))), gz2)
    gb = _sum(gz2, axis=0) if bias is not None else None
    return gx, gk, gb


_dense.defvjp(_dense_vjp)
_dense.defvjp_fast(_dense_vjp_fast, needs=True)


def dense(x, kernel, bias=None, activation=None, negative_slope=0.01):
    """``act(x @ kernel + bias)`` as one graph node (a Dense layer).

    x : shape-(..., in), float.  kernel : shape-(in, units).  bias : shape-(units,) or None.
    activation : None/'linear', 'relu', 'sigmoid', 'tanh', 'leaky_relu' (``negative_slope``),
    'gelu' (tanh form).  Returns shape-(..., units).
    """
    return _dense(x, kernel, bias, activation=activation, negative_slope=negative_slope)


# ----------------------------------------------------------------------------- dense chain
def _chain_layers(op, wb, activations):
    """The number of layers of a chain call, its kernel/bias list and activations checked."""
    n = len(activations) if type(activations) is tuple else -1
    if n < 1 or len(wb) != 2 * n:
        raise InvalidValueError(f"{op}: give x, then a kernel and a bias (or None) per layer, "
                                f"and activations= as a tuple with one entry per layer; got "
                                f"{len(wb)} arrays after x and activations={activations!r}")
    return n


def _chain_ref(x, *wb, activations=(), negative_slope=0.01):
    n = _chain_layers("dense_chain", wb, activations)
    for i in range(n):
        x = _dense_ref(x, wb[2 * i], wb[2 * i + 1], activations[i], negative_slope)
    return x


def _chain_kinks(x, *wb, activations=(), negative_slope=0.01):
    """Distances of every relu/leaky_relu layer's pre-activation from 0 (inf if none)."""
    n = _chain_layers("dense_chain", wb, activations)
    ds = [np.inf]
    for i in range(n):
        k, b = wb[2 * i], wb[2 * i + 1]
        if activations[i] in ("relu", "leaky_relu"):
            ds.append(np.min(np.abs(_dense_ref(x, k, b)), initial=np.inf))
        x = _dense_ref(x, k, b, activations[i], negative_slope)
    return np.asarray(ds)


@primitive(library=True, name="dense_chain", nin=-1, reference=_chain_ref, domain=[None],
           kinks=_chain_kinks, aux=True)
def dense_chain(x, *wb, activations=(), negative_slope=0.01, want_aux=False):
    """``dense(... dense(dense(x, k1, b1, a1), k2, b2, a2) ...)`` as one graph node.

    x : shape-(..., in), float.  wb : kernel_1, bias_1, kernel_2, bias_2, ... (a bias may
    be None).  activations : tuple, one of ``ACTIVATIONS`` per layer.  Returns shape-(...,
    units_last).  Each layer runs ``dense``'s forward, and the backward runs ``dense``'s
    vjp layer after layer (last first): the same numbers, bit for bit, as a chain of
    ``dense`` nodes, with one node's Python cost (nn's Sequential of plain Dense layers).
    The intermediate outputs are kept for the backward (``aux``), as the nodes keep theirs.
    """
    n = _chain_layers("dense_chain", wb, activations)
    fwd = _dense.fwd
    hs = [] if want_aux else None
    for i in range(n):
        x = fwd(x, wb[2 * i], wb[2 * i + 1], activations[i], negative_slope)
        if want_aux and i < n - 1:
            hs.append(x)
    return x, hs


def _chain_vjp_fast(g, out, x, *wb, activations=(), negative_slope=0.01, needs=None,
                    aux=None):
    # layer by layer, last first: dense's fast vjp; a layer's input gets a gradient where
    # anything before it wants one (as the chain of nodes would have recorded it)
    n = len(activations)
    if needs is None:
        needs = [True] * (1 + 2 * n)
    want = [needs[0]]
    for i in range(1, n):
        want.append(want[-1] or needs[2 * i - 1] or needs[2 * i])
    hs = [x] + aux + [out] if aux is not None else None
    if hs is None:                              # no kept outputs: recompute them
        hs = [x]
        for i in range(n - 1):
            hs.append(_dense.fwd(hs[-1], wb[2 * i], wb[2 * i + 1], activations[i],
                                 negative_slope))
        hs.append(out)
    gs = [None] * (1 + 2 * n)
    vjp = _dense_vjp_fast
    own = False                                 # g is the caller's; below, the chain's own
    for i in range(n - 1, -1, -1):
        j = 2 * i + 1
        nk, nb = needs[j], needs[j + 1]
        if not (want[i] or nk or nb):
            break                               # nothing at or below this layer wants one
        gx, gs[j], gs[j + 1] = vjp(g, hs[i + 1], hs[i], wb[j - 1], wb[j], activations[i],
                                   negative_slope, needs=(want[i], nk, nb), own_g=own)
        own = True
        if gx is None:
            break
        h = hs[i]
        if gx.shape != h.shape or gx.dtype != h.dtype:
            gx = _as_grad(gx, h.shape, h.dtype)  # what the backward does between two nodes
        g = gx
    else:
        gs[0] = g
    return gs


def _chain_vjp(g, out, x, *wb, activations=(), negative_slope=0.01):
    # differentiable: the intermediate outputs recomputed with dense, then dense's vjp per layer
    n = len(activations)
    hs = [x]
    for i in range(n - 1):
        hs.append(dense(hs[-1], wb[2 * i], wb[2 * i + 1], activations[i], negative_slope))
    hs.append(out)
    gs = [None] * (1 + 2 * n)
    for i in range(n - 1, -1, -1):
        j = 2 * i + 1
        g, gs[j], gs[j + 1] = _dense_vjp(g, hs[i + 1], hs[i], wb[j - 1], wb[j],
                                         activations[i], negative_slope)
    gs[0] = g
    return gs


dense_chain.defvjp(_chain_vjp)
dense_chain.defvjp_fast(_chain_vjp_fast, needs=True)


# ----------------------------------------------------------------------------- softmax-xent
def _check_logits(op, logits):
    if logits.dtype.kind != "f":
        raise DTypeError(f"{op}: logits must be float, got {logits.dtype} (shape {logits.shape})")


def _labels(op, logits, labels):
    """Integer labels checked against the logits: shape (N,) for logits (N, C), in [0, C)."""
    if logits.dtype.kind != "f":
        _check_logits(op, logits)
    ls = logits.shape
    if len(ls) != 2:
        raise ShapeError(f"{op}: logits must be 2-d (batch, classes), got shape {ls}")
    kind = labels.dtype.kind
    if kind == "i" or kind == "u":
        if labels.shape != ls[:1]:
            raise ShapeError(f"{op}: integer labels of shape {labels.shape} do not match logits "
                             f"{ls}; expected ({ls[0]},)")
        if labels.size and not _labels_below(labels, ls[1]):
            lo, hi = labels.min(), labels.max()
            raise InvalidValueError(f"{op}: labels must be in [0, {ls[1]}), got values in "
                                    f"[{lo}, {hi}]")
        return True
    if kind != "f":
        raise DTypeError(f"{op}: labels must be integer class indices or float targets, got "
                         f"{labels.dtype}")
    if labels.shape != ls:
        raise ShapeError(f"{op}: float targets of shape {labels.shape} do not match logits {ls}")
    return False


def _labels_below(labels, c) -> bool:
    """All integer labels in [0, c), in one reduction: seen as unsigned, a negative label is
    larger than any c (two's complement), so the maximum alone decides."""
    u = _UNSIGNED.get(labels.dtype.char)
    if u is not None and labels.flags.c_contiguous:
        return int(np.maximum.reduce(labels.view(u), axis=None)) < c
    return labels.min() >= 0 and labels.max() < c


_UNSIGNED = {np.dtype(t).char: np.dtype("u%d" % np.dtype(t).itemsize)
             for t in (np.int8, np.int16, np.int32, np.int64, np.intp, np.uint8, np.uint16,
                       np.uint32, np.uint64)}


def _xent_ref(logits, labels):
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape[0] == 0:
        return 0.0                              # an empty batch: the op divides by max(N, 1)
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))   # no cancellation at huge logits
    if np.asarray(labels).dtype.kind in "iu":
        return -np.mean(logp[np.arange(len(labels)), labels])
    return -np.mean(np.sum(labels * logp, axis=1))


@primitive(library=True, reference=_xent_ref, differentiable=(0, 1), aux=True,
           domain=[None, None])
def softmax_cross_entropy(logits, labels, want_aux=False):
    """Mean over the batch of ``-sum_c t_c log softmax(logits)_c``.

    logits : shape-(N, C), float.
    labels : shape-(N,) integer class indices in [0, C), or shape-(N, C) float targets
             (one-hot or probabilities; these may require grad).
    Returns a 0-d array.  Stable for logits of any size (log-sum-exp).
    When recorded, the gradient for a seed of 1 is computed in the same pass per row and
    kept for the backward (``aux``), so the softmax is computed once per step.
    """
    sparse = _labels("softmax_cross_entropy", logits, labels)
    n = max(logits.shape[0], 1)
    if sparse:
        mode = K.MODE                           # _plain(logits.size, ...), inline
        if mode == "numpy" or mode == "auto" and logits.size < K.XENT_MIN:
            gl = np.empty(logits.shape, logits.dtype) if want_aux else None
            total = xent_sparse_np(logits, labels, gl, 1.0 / n, want_aux)
        else:
            total, gl = K.xent_sparse(logits, labels, 1.0 / n, want_aux)
        return _round(total / n, logits.dtype), gl
    total, gl, gt = K.xent_dense(logits, labels, 1.0 / n, want_aux, want_aux)
    return _round(total / n, np.result_type(logits, labels)), (gl, gt)


def _round(mean, dt):
    """The float64 mean loss as a 0-d array of ``dt``: inf when it exceeds dt's range (the
    float32 edge; the gradient stays finite), without numpy's overflow warning."""
    top = _TOP.get(dt)
    if top is None:
        top = _TOP[dt] = float(np.finfo(dt).max)
    if -top <= mean <= top:                     # in range (NaN and overflow go below)
        return np.asarray(mean, dtype=dt)
    with np.errstate(over="ignore"):
        return np.asarray(mean, dtype=dt)


_TOP: dict = {}         # dtype -> its largest finite value, as a python float


def _xent_fast(g, out, logits, labels, needs=None, aux=None):
    # d/dz = (softmax(z) sum(t) - t) / n;  d/dt = (lse - z) / n, computed by the forward (aux)
    if labels.dtype.kind in "iu":
        return aux * g, None
    gl, gt = aux
    return gl * g, (gt * g if needs is None or needs[1] else None)


def _xent_vjp(g, out, logits, labels):
    n = max(logits.shape[0], 1)
    scale = g * (1.0 / n)
    p = softmax(logits, axis=1)
    lab = data_of(labels)
    if lab.dtype.kind in "iu":
        onehot = np.zeros(data_of(logits).shape, dtype=data_of(logits).dtype)
        onehot[np.arange(onehot.shape[0]), lab] = 1.0
        return (p - onehot) * scale, None
    total = _sum(labels, axis=1, keepdims=True)
    gl = (p * total - labels) * scale
    lse = logsumexp(logits, axis=1, keepdims=True)
    gt = (lse - logits) * scale
    return gl, gt


softmax_cross_entropy.defvjp(_xent_vjp)
softmax_cross_entropy.defvjp_fast(_xent_fast, needs=True)


# ----------------------------------------------------------------------------- sigmoid-BCE
def _bce_check(logits, targets):
    op = "sigmoid_binary_cross_entropy"
    _check_logits(op, logits)
    if targets.dtype.kind not in "biuf":
        raise DTypeError(f"{op}: targets must be numeric, got {targets.dtype}")
    if targets.shape != logits.shape:
        raise ShapeError(f"{op}: targets of shape {targets.shape} do not match logits {logits.shape}")


def _bce_ref(logits, targets):
    z = np.asarray(logits, dtype=np.float64)
    if z.size == 0:
        return 0.0                              # an empty batch: the op divides by max(n, 1)
    return np.mean(np.maximum(z, 0) - z * targets + np.log1p(np.exp(-np.abs(z))))


@primitive(library=True, reference=_bce_ref, domain=[None, None])
def sigmoid_binary_cross_entropy(logits, targets):
    """Mean of ``-(t log s(z) + (1 - t) log(1 - s(z)))``, s = sigmoid, computed as
    ``max(z, 0) - z t + log(1 + exp(-|z|))`` (exact and stable for any z).

    logits, targets : same shape; targets in [0, 1] (float targets may require grad).
    Returns a 0-d array.
    """
    _bce_check(logits, targets)
    dt = np.result_type(logits.dtype, targets.dtype) if targets.dtype.kind == "f" else logits.dtype
    total, _, _ = K.bce(logits.astype(dt, copy=False), targets.astype(dt, copy=False), 0.0,
                        False, False)
    return _round(total / logits.size if logits.size else 0.0, dt)


def _bce_fast(g, out, logits, targets, needs=None):
    # d/dz = (sigmoid(z) - t) / n,  d/dt = -z / n  (one pass)
    dt = np.result_type(logits.dtype, targets.dtype) if targets.dtype.kind == "f" else logits.dtype
    scale = float(g) / max(logits.size, 1)
    want_t = targets.dtype.kind == "f" and (needs is None or needs[1])
    _, gz, gt = K.bce(logits.astype(dt, copy=False), targets.astype(dt, copy=False), scale,
                      True, want_t)
    return gz, gt


def _bce_vjp(g, out, logits, targets):
    # d/dz = (s(z) - t) / n,  d/dt = -z / n
    n = max(data_of(logits).size, 1)
    scale = g * (1.0 / n)
    gt = -(logits * scale) if data_of(targets).dtype.kind == "f" else None  # int targets: none
    return (sigmoid(logits) - targets) * scale, gt


sigmoid_binary_cross_entropy.defvjp(_bce_vjp)
sigmoid_binary_cross_entropy.defvjp_fast(_bce_fast, needs=True)
