"""Fuzzing (issue 7): constructors, every primitive in ``autograd.OPS`` and ``Model.fit`` on
arbitrary arrays -- NaN, inf, huge, tiny, empty, non-contiguous, Fortran-ordered, read-only.
Each call either raises one of the library's errors (an ``AutogradError``) or returns what the
numpy reference returns (NaN-aware), with the right shape; a backward pass then gives every
input a gradient of its own shape and dtype.

Runs alone, with the numba kernels exercised and bounds-checked::

    NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR="$(mktemp -d)" AUTOGRAD_KERNELS=numba \
        AUTOGRAD_HYPOTHESIS_PROFILE=ci python -m pytest tests/test_fuzz.py

The fresh cache directory matters: numba's on-disk cache does not key on NUMBA_BOUNDSCHECK, so
kernels cached by an ordinary run would be loaded unchecked (``test_bounds_checking_is_on``
fails then).
"""
import os

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn
from autograd import Tensor
from autograd import kernels as K

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's, on NaN/inf/overflow

FLOATS = [np.float32, np.float64]
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, 5e-324, 1e-30, 3e38, -3e38, 1e300, -1e300]


def _elements(dtype, limit=None):
    dt = np.dtype(dtype)
    if dt.kind == "f" and limit is not None:      # moderate values, NaN and inf
        return st.one_of(st.floats(-limit, limit, width=dt.itemsize * 8),
                         st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
    if dt.kind == "f":
        width = dt.itemsize * 8
        special = [v for v in SPECIAL if not np.isfinite(v) or v == 0
                   or np.finfo(dt).smallest_subnormal <= abs(v) <= np.finfo(dt).max]
        return st.one_of(st.floats(-10, 10, width=width),
                         st.floats(width=width, allow_nan=True, allow_infinity=True),
                         st.sampled_from(special))
    if dt.kind == "b":
        return st.booleans()
    return st.integers(-5, 5)


@st.composite
def wild(draw, shape=None, dtype=None, min_dims=0, max_dims=3, tame=False, limit=None):
    """An array of ``shape`` in a drawn layout: C, Fortran, strided view, reversed, read-only.
    ``tame``: finite values are small integers (sums of products are then exact in any
    order, so ops that sum in a different order from their reference still compare exactly),
    NaN, inf and -inf still drawn.  ``limit``: finite values bounded by it in magnitude."""
    if dtype is None:
        dtype = draw(st.sampled_from(FLOATS))
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=4))
    layout = draw(st.sampled_from(["C", "F", "strided", "reversed", "readonly"]))
    big = tuple(shape[:-1]) + (2 * shape[-1],) if (layout == "strided" and shape) else shape
    elements = (st.integers(-3, 3).map(float) | st.sampled_from([np.nan, np.inf, -np.inf, -0.0])
                if tame else _elements(dtype, limit))
    a = draw(hnp.arrays(dtype, big, elements=elements))
    if layout == "F":
        a = np.array(a, order="F")
    elif layout == "strided" and shape:
        a = a[..., ::2]
    elif layout == "reversed" and shape:
        a = a[::-1]
    elif layout == "readonly":
        a.setflags(write=False)
    assert a.shape == tuple(shape)
    return a


def _axis(draw, ndim, allow_none=True, allow_tuple=True):
    """Mostly valid axes, sometimes out of range (the op must say so)."""
    choices = [st.integers(-ndim - 1, ndim)]
    if allow_none:
        choices.append(st.none())
    if allow_tuple and ndim:
        choices.append(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                                unique=True).map(tuple))
    return draw(st.one_of(*choices))


# --------------------------------------------------------------------------- cases per op
UNARY = ["negative", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "relu",
         "gelu", "identity"]
BINARY = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum"]
REDUCE = ["sum", "mean", "max", "min", "var", "logsumexp"]
# autograd.numpy's elementwise functions
UNARY += ["tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
          "log2", "log10", "log1p", "expm1", "exp2", "reciprocal", "cbrt", "rad2deg", "deg2rad",
          "sinc", "sign", "floor", "ceil", "trunc", "fix", "rint"]
REDUCE += ["prod"]
BINARY += ["arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "mod", "fmod"]
UNARY += ["real", "imag", "conj"]


FFT = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
       "rfftn", "irfftn"]


def _fft_case(draw, name):
    """Any shape (0-d and empty included), lengths 0-5 (0 must be refused), axes in and out
    of range, every norm and a wrong one."""
    x = draw(wild())
    kw = {"norm": draw(st.sampled_from([None, "backward", "ortho", "forward", "unitary"]))}
    if name.rstrip("2n") == name:
        kw["axis"] = draw(st.integers(-x.ndim - 1, x.ndim))
        kw["n"] = draw(st.none() | st.integers(0, 5))
    else:
        k = draw(st.integers(1, max(x.ndim, 1)))
        kw["axes"] = draw(st.none() | st.lists(st.integers(-x.ndim - 1, x.ndim), min_size=k,
                                               max_size=k).map(tuple))
        if kw["axes"] is not None and draw(st.booleans()):
            kw["s"] = tuple(draw(st.integers(0, 5)) for _ in range(k))
    return [x], kw


@st.composite
def case(draw, name):
    """(args, kwargs) for OPS[name]: arrays where the op takes tensors, static params drawn."""
    if name in FFT:
        return _fft_case(draw, name)
    if name in UNARY:
        return [draw(wild())], {}
    if name == "leaky_relu":
        return [draw(wild())], {"negative_slope": draw(st.floats(0, 1))}
    if name == "einsum":
        m, k, n = (draw(st.integers(0, 3)) for _ in range(3))
        dt = draw(st.sampled_from(FLOATS))
        subs, shapes = draw(st.sampled_from([("ij,jk->ik", [(m, k), (k, n)]),
                                             ("ii->i", [(m, m)]), ("ij,ij->", [(m, k), (m, k)]),
                                             ("ij,jk->ik", [(m, k), (k + 1, n)]),
                                             ("aij,ajk->aik", [(2, m, k), (1, k, n)])]))
        return [draw(wild(s, dt)) for s in shapes], {"subscripts": subs}
    if name in ("cumsum", "cumprod"):
        x = draw(wild())
        return [x], {"axis": _axis(draw, x.ndim, allow_tuple=False)}
    if name == "round":
        return [draw(wild())], {"decimals": draw(st.integers(-1, 3))}
    if name == "angle":
        return [draw(wild())], {"deg": draw(st.booleans())}
    if name == "nan_to_num":
        return [draw(wild())], {k: draw(st.none() | st.floats(-5, 5)) for k in ("posinf", "neginf")}
    if name == "clip":
        lo = draw(st.none() | st.floats(-5, 5))
        hi = draw(st.none() | st.floats(-5, 5))
        return [draw(wild())], {"a_min": lo, "a_max": hi}
    if name in BINARY or name == "where":
        n = 3 if name == "where" else 2
        if draw(st.integers(0, 9)) == 0:        # unrelated shapes: may not broadcast
            shapes = [draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
                      for _ in range(n)]
        else:
            shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_side=0,
                                                            max_side=3)).input_shapes
        dts = [draw(st.sampled_from(FLOATS + [np.int64])) for _ in range(n)]
        if name == "where":
            dts[0] = np.bool_
        return [draw(wild(s, d)) for s, d in zip(shapes, dts)], {}
    if name in REDUCE:
        x = draw(wild())
        kw = {"axis": _axis(draw, x.ndim), "keepdims": draw(st.booleans())}
        if name == "var":
            kw["ddof"] = draw(st.integers(0, 2))
        return [x], kw
    if name in ("softmax", "log_softmax"):
        x = draw(wild())
        return [x], {"axis": _axis(draw, x.ndim, allow_none=False, allow_tuple=False)}
    if name == "reshape":
        x = draw(wild())
        shape = draw(st.sampled_from([(-1,), x.shape[::-1], (x.size, 1), (x.size + 1,), (-1, 2)]))
        return [x], {"shape": shape}
    if name == "transpose":
        x = draw(wild())
        axes = draw(st.none() | st.permutations(range(x.ndim)).map(tuple)
                    | st.lists(st.integers(-3, 3), max_size=3).map(tuple))
        return [x], {"axes": axes}
    if name == "expand_dims":
        x = draw(wild())
        return [x], {"axis": _axis(draw, x.ndim + 1, allow_none=False)}
    if name == "squeeze":
        x = draw(wild())
        return [x], {"axis": _axis(draw, x.ndim)}
    if name == "broadcast_to":
        x = draw(wild(max_dims=2))
        shape = draw(st.sampled_from([x.shape, (2,) + x.shape, (3, 1) + x.shape, (5,)]))
        return [x], {"shape": shape}
    if name in ("getitem", "scatter_add"):
        x = draw(wild(min_dims=1))
        idx = draw(hnp.basic_indices(x.shape, allow_newaxis=True)
                   | st.lists(st.integers(-5, 5), min_size=1, max_size=4).map(np.array)
                   | hnp.arrays(np.bool_, x.shape[:1]))
        if name == "getitem":
            return [x], {"idx": idx}
        try:
            g_shape = np.zeros(x.shape)[idx].shape
        except IndexError:
            g_shape = x.shape
        return [draw(wild(g_shape))], {"idx": idx, "shape": x.shape}
    if name in ("concatenate", "stack"):
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
        k = draw(st.integers(1, 3))
        dt = draw(st.sampled_from(FLOATS))
        xs = [draw(wild(shape if draw(st.integers(0, 5)) else shape[::-1] + (1,), dt))
              for _ in range(k)]
        return xs, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}
    if name == "astype":
        return [draw(wild())], {"dtype": draw(st.sampled_from([np.float32, np.float64, np.int32]))}
    if name == "matmul":
        m, k, n = (draw(st.integers(0, 4)) for _ in range(3))
        k2 = k if draw(st.integers(0, 5)) else k + 1
        sa = draw(st.sampled_from([(m, k), (k,), (2, m, k)]))
        sb = draw(st.sampled_from([(k2, n), (k2,), (2, k2, n)]))
        dt = draw(st.sampled_from(FLOATS))
        return [draw(wild(sa, dt)), draw(wild(sb, draw(st.sampled_from([dt, np.float64]))))], {}
    if name == "dense":
        n, k, u = (draw(st.integers(0, 4)) for _ in range(3))
        dt = draw(st.sampled_from(FLOATS))
        x = draw(wild((n, k) if draw(st.integers(0, 5)) else (n, k + 1), dt))
        bias = draw(st.none() | wild((u,), dt))
        act = draw(st.sampled_from([None, "linear", "relu", "sigmoid", "tanh", "leaky_relu", "gelu"]))
        return [x, draw(wild((k, u), dt)), bias], {"activation": act}
    if name == "dense_chain":
        n, k = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        dt = draw(st.sampled_from(FLOATS))
        acts = [None, "linear", "relu", "sigmoid", "tanh", "leaky_relu", "gelu"]
        args, width = [draw(wild((n, k), dt))], k
        for _ in range(draw(st.integers(0, 3))):
            u = draw(st.integers(0, 4))
            kin = width if draw(st.integers(0, 5)) else width + 1
            args += [draw(wild((kin, u), dt)), draw(st.none() | wild((u,), dt))]
            width = u
        n_act = len(args) // 2 + (0 if draw(st.integers(0, 5)) else 1)
        return args, {"activations": tuple(draw(st.sampled_from(acts)) for _ in range(n_act))}
    if name == "softmax_cross_entropy":
        n, c = draw(st.integers(0, 4)), draw(st.integers(1, 4))
        logits = draw(wild((n, c)))
        if draw(st.booleans()):
            labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(-1 if draw(st.integers(0, 5)) == 0 else 0, c - 1)))
        else:
            labels = draw(wild((n, c), logits.dtype))
        return [logits, labels], {}
    if name == "sigmoid_binary_cross_entropy":
        logits = draw(wild())
        shape = logits.shape if draw(st.integers(0, 5)) else logits.shape + (1,)
        return [logits, draw(wild(shape, logits.dtype))], {}
    if name in CONV:
        return draw(_conv_case(name))
    if name in LAYER_CASES:
        return LAYER_CASES[name](draw)
    if name in LINALG_CASES:
        return LINALG_CASES[name](draw)
    raise AssertionError(f"no fuzz case for primitive {name!r}: add one to tests/test_fuzz.py")


CONV = ["conv1d", "conv2d", "conv2d_transpose", "conv2d_kernel_grad", "max_pool1d",
        "max_pool2d", "avg_pool1d", "avg_pool2d"]


@st.composite
def _conv_case(draw, name):
    """Convolution and pooling: small consistent shapes (empty sides included) with drawn
    parameters, one of them made invalid one time in four; tame values (see ``wild``)."""
    dims = 1 if name.endswith("1d") else 2
    dt = draw(st.sampled_from(FLOATS))
    bad = draw(st.sampled_from([None, None, None, "x", "pad", "strides", "fmt", "k", "g"]))
    fmt = "nchw" if bad == "fmt" else draw(st.sampled_from(["channels_last", "channels_first"]))
    ks = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    groups = draw(st.sampled_from([1, 2]))
    cg, og = draw(st.integers(0, 2)), draw(st.integers(1, 2))
    c = groups * cg
    sp = tuple(k + draw(st.integers(0, 2)) for k in ks)
    n = draw(st.integers(0, 2))
    xs = (n,) + sp + (c,) if fmt != "channels_first" else (n, c) + sp
    if bad == "x":
        xs = xs[:-1]
    x = draw(wild(xs, dt, tame=True))
    pads = ["valid", "same"] + (["causal", 1, (1, 0)] if name == "conv1d" else
                                [] if "pool" in name else [1, (1, 0), ((0, 1), (1, 0))])
    pad = draw(st.sampled_from(["full", -1, (1, 2, 3)] if bad == "pad" else pads))
    strides = draw(st.sampled_from([0, (1, 2, 3), -1] if bad == "strides" else
                                   [1, 2] + ([(1, 2)] if dims == 2 else [])))
    if "pool" in name:
        return [x], {"pool_size": ks if dims == 2 or draw(st.booleans()) else ks[0],
                     "strides": None if draw(st.booleans()) else strides,
                     "padding": pad, "data_format": fmt}
    kshape = ks + (cg, groups * og)
    if name == "conv2d_transpose":
        kshape = ks + (og, c)
    if bad == "k":
        kshape = kshape[:-1] + (kshape[-1] + 1,)
    k = draw(wild(kshape, dt, tame=True))
    kw = {"strides": strides, "padding": pad, "dilation": draw(st.sampled_from([1, 2])),
          "groups": 0 if bad == "g" else groups, "data_format": fmt}
    if name == "conv2d_kernel_grad":
        from autograd.ops.conv import _conv_geometry
        try:
            out = _conv_geometry("conv2d", np.zeros(xs), np.zeros(kshape), **kw)[-1]
        except ag.AutogradError:
            out = (1, 1)
        gs = (n,) + out + (kshape[-1],)
        g = draw(wild(gs if fmt != "channels_first" else (n, gs[-1]) + out, dt, tame=True))
        return [x, g], dict(kw, kernel_shape=k.shape)
    bias = draw(st.none() | wild((kshape[-1] if name != "conv2d_transpose" else og * groups,),
                                 dt, tame=True))
    if name == "conv2d_transpose":
        kw["output_padding"] = draw(st.sampled_from([None, None, 0, 1, (1, 0), 5]))
    return [x, k, bias], kw


# Layers' primitives (issue 13).  Values stay moderate (plus NaN and inf): normalization and
# recurrences amplify float32 rounding against the float64 references on huge values.
def _dropout_case(draw):
    x = draw(wild())
    keep = draw(hnp.arrays(np.bool_, tuple(1 if draw(st.booleans()) else s for s in x.shape)))
    return [x], {"keep": keep / 0.75}


def _norm_vec(draw, c, dt):
    return draw(st.none() | wild(c if isinstance(c, tuple) else (c,), dt, limit=4))


def _batch_norm_case(draw):
    x = draw(wild(min_dims=1, limit=10))
    axis = draw(st.integers(-x.ndim - 1, x.ndim - 1))
    c = x.shape[axis] if -x.ndim <= axis < x.ndim else 1
    gamma, beta = _norm_vec(draw, c, x.dtype), _norm_vec(draw, c, x.dtype)
    training = draw(st.booleans())
    mean = None if training else draw(wild((c,), x.dtype, limit=4))
    var = None if training else np.abs(draw(wild((c,), x.dtype, limit=4)))
    return [x, gamma, beta, mean, var], {"axis": axis, "training": training}


def _layer_norm_case(draw):
    x = draw(wild(min_dims=1, limit=10))
    axis = _axis(draw, x.ndim, allow_none=False)
    try:
        ax = sorted({a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,))})
    except ZeroDivisionError:
        ax = []
    shape = tuple(x.shape[a] for a in ax)
    return [x, _norm_vec(draw, shape, x.dtype), _norm_vec(draw, shape, x.dtype)], {"axis": axis}


def _embedding_case(draw):
    v = draw(st.integers(0, 4))
    ids = draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2, min_side=0,
                                                     max_side=3), elements=st.integers(-1, v)))
    return [ids, draw(wild((v, draw(st.integers(0, 3)))))], {}


def _rnn_fuzz(gates, cell, cell_state):
    def make(draw):
        n, t, f, u = (draw(st.integers(0, 3)) for _ in range(4))
        dt = draw(st.sampled_from(FLOATS))
        x = draw(wild((n, f) if cell else (n, t, f), dt, limit=4))
        states = [draw(st.none() | wild((n, u), dt, limit=4))
                  for _ in range(2 if cell_state else 1)]
        k_in = f if draw(st.integers(0, 5)) else f + 1
        kernel = draw(wild((k_in, gates * u), dt, limit=4))
        rk = draw(wild((u, gates * u), dt, limit=4))
        bias = draw(st.none() | wild((2, gates * u) if gates == 3 else (gates * u,), dt, limit=4))
        return [x] + states + [kernel, rk, bias], {}
    return make


LAYER_CASES = {"dropout": _dropout_case, "batch_norm": _batch_norm_case,
               "layer_norm": _layer_norm_case, "embedding": _embedding_case,
               "lstm": _rnn_fuzz(4, False, True), "gru": _rnn_fuzz(3, False, False),
               "simple_rnn": _rnn_fuzz(1, False, False), "lstm_cell": _rnn_fuzz(4, True, True),
               "gru_cell": _rnn_fuzz(3, True, False), "rnn_cell": _rnn_fuzz(1, True, False)}
# float32 normalization against a float64 reference: (x - mean) / sqrt(var + eps) amplifies
# rounding by up to 1 / sqrt(eps); recurrences compound it over steps.
LAYER_TOL = {np.dtype(np.float32): (2e-3, 2e-3), np.dtype(np.float64): (1e-8, 1e-10)}


# --------------------------------------------------------------------------- linalg cases
def _mat_shape(draw, square=True):
    """Mostly (batch..., m, n) with m == n when ``square``; sometimes a shape numpy refuses."""
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=2))
    m = draw(st.integers(0, 3))
    n = m if square and draw(st.integers(0, 6)) else draw(st.integers(0, 3))
    return draw(st.sampled_from([batch + (m, n), batch + (m, n), (m,)]))


def _mat(draw, square=True):
    return [draw(wild(_mat_shape(draw, square)))], {}


def _solve_case(draw):
    a = draw(wild(_mat_shape(draw)))
    n = a.shape[-1]
    dt = a.dtype
    b = draw(st.sampled_from([(n,), (n, 2), (2, n, 1), (n + 1,)]))
    return [a, draw(wild(b, dt))], {}


def _lstsq_case(draw):
    m, n = draw(st.integers(0, 4)), draw(st.integers(0, 3))
    dt = draw(st.sampled_from(FLOATS))
    b = draw(st.sampled_from([(m,), (m, 2), (m + 1,)]))
    return [draw(wild((m, n), dt)), draw(wild(b, dt))], {}


def _norm_case(draw):
    x = draw(wild())
    ords = [None, 2, 1, -1, 0, 3, 0.5, np.inf, -np.inf, "fro", "nuc", -2]
    axis = draw(st.none() | st.integers(-3, 3)
                | st.lists(st.integers(-3, 3), min_size=2, max_size=2).map(tuple))
    return [x], {"ord": draw(st.sampled_from(ords)), "axis": axis,
                 "keepdims": draw(st.booleans())}


LINALG_CASES = {
    "inv": _mat, "det": _mat, "slogdet_logabsdet": _mat, "cholesky": _mat,
    "eigh_packed": _mat, "eig_packed": _mat,
    "svd_packed": lambda d: _mat(d, False), "svdvals": lambda d: _mat(d, False),
    "qr_packed": lambda d: _mat(d, False), "pinv": lambda d: _mat(d, False),
    "solve": _solve_case, "lstsq_solution": _lstsq_case, "norm": _norm_case,
}


def _tensor(a):
    return Tensor(a, requires_grad=a.dtype.kind == "f")


def _tol(arrays):
    f32 = any(getattr(a, "dtype", None) == np.float32 for a in arrays)
    return (2e-4, 1e-5) if f32 else (1e-9, 1e-12)


def _same(out, ref, rtol, atol, what):
    """``out`` equals ``ref`` NaN-aware: the same shape; where ``ref`` (in ``out``'s dtype) is
    finite, ``out`` is finite and close; where it is NaN or overflows, ``out`` is NaN or inf
    too (float32 arithmetic may overflow in a different intermediate than the float64
    reference and so give NaN for inf; an inf of the other sign is still an error)."""
    out, ref = np.asarray(out), np.asarray(ref)
    assert out.shape == ref.shape, f"{what}: shape {out.shape}, numpy gives {ref.shape}"
    if out.dtype.kind != "f" or ref.dtype.kind != "f":
        np.testing.assert_array_equal(out, ref, err_msg=what)
        return
    with np.errstate(all="ignore"):
        r = ref.astype(out.dtype).astype(np.float64)
    o = out.astype(np.float64)
    fin = np.isfinite(r)
    assert np.all(np.isfinite(o[fin])), f"{what}: non-finite where numpy is finite"
    assert not np.any(np.isfinite(o[~fin])), f"{what}: finite where numpy is NaN or inf"
    both_inf = np.isinf(o) & np.isinf(r)
    assert np.array_equal(o[both_inf], r[both_inf]), f"{what}: inf of the other sign"
    if np.ndim(atol):                       # an elementwise bound
        atol = np.broadcast_to(atol, o.shape)[fin]
        err, lim = np.abs(o[fin] - r[fin]), rtol * np.abs(r[fin]) + atol
        bad = ~(err <= lim)
        assert not bad.any(), (f"{what}: {o[fin][bad]} against {r[fin][bad]}: |diff| "
                               f"{err[bad]} above rtol {rtol} * |ref| + atol {atol[bad]}")
        return
    np.testing.assert_allclose(o[fin], r[fin], rtol=rtol, atol=atol, err_msg=what)


LIBRARY_OPS = sorted(n for n, p in ag.OPS.items() if p.library)


def test_every_library_primitive_has_a_fuzz_case():
    for name in LIBRARY_OPS:
        case(name)          # raises (on draw) for an unknown op; building is enough here
    assert set(LIBRARY_OPS) >= set(UNARY + BINARY + REDUCE)


@pytest.mark.parametrize("name", LIBRARY_OPS)
@given(data=st.data())
def test_primitive_on_wild_arrays_raises_a_library_error_or_matches_numpy(name, data):
    op = ag.OPS[name]
    args, kw = data.draw(case(name), label="case")
    nin = len(args) if op.nin < 0 else op.nin
    pos = list(args) + [kw.pop(k) for k in ("idx", "shape") if name == "scatter_add" and k in kw]
    if name in ("getitem", "reshape", "transpose", "expand_dims", "broadcast_to", "astype"):
        key = {"getitem": "idx", "reshape": "shape", "transpose": "axes", "expand_dims": "axis",
               "broadcast_to": "shape", "astype": "dtype"}[name]
        pos.append(kw.pop(key))
    tensors = [_tensor(a) if i < nin and isinstance(a, np.ndarray) else a for i, a in enumerate(pos)]
    datas = [np.array(a) if isinstance(a, np.ndarray) else a for a in pos]   # copies, before
    try:
        with np.errstate(all="ignore"):
            out = op(*tensors, **kw)
    except ag.AutogradError:
        return
    if op.reference is not None:
        with np.errstate(all="ignore"):
            ref = op.reference(*datas, **kw)
        rtol, atol = _tol(datas)
        if name in LAYER_CASES:
            rtol, atol = LAYER_TOL[out.dtype]
        _same(out.data, ref, rtol, atol, name)
    for a, orig in zip(pos, datas):     # inputs (read-only ones included) are left unchanged
        if isinstance(a, np.ndarray):
            _same(a, orig, 0, 0, f"{name} input")
    if out.requires_grad and out.dtype.kind == "f":
        with np.errstate(all="ignore"):
            out.backward(np.ones(out.shape, out.dtype))
        for t in tensors[:nin]:
            if isinstance(t, Tensor) and t.requires_grad and t.grad is not None:
                assert t.grad.shape == t.shape and t.grad.dtype == t.dtype, name


# --------------------------------------------------------------------------- constructors
ODD = st.one_of(
    wild(),
    hnp.arrays(st.sampled_from([np.complex128, np.dtype("U3"), np.dtype("M8[s]"), np.float16,
                                np.int64, np.bool_]), hnp.array_shapes(min_dims=0, max_side=3)),
    st.lists(st.floats(allow_nan=True), max_size=4),
    st.lists(st.lists(st.integers(-3, 3), max_size=3), max_size=3),   # ragged, often
    st.floats(allow_nan=True), st.integers(-2**70, 2**70), st.booleans(), st.complex_numbers(),
    st.text(max_size=3), st.none(), st.just(object()), st.just({"a": 1}),
)


@given(x=ODD, requires_grad=st.booleans())
def test_constructor_on_anything_raises_a_library_error_or_holds_numpy_s_array(x, requires_grad):
    try:
        t = Tensor(x, requires_grad=requires_grad)
    except ag.AutogradError:
        return
    ref = np.asarray(x)
    _same(t.data, ref, 0, 0, "Tensor")
    assert t.dtype == ref.dtype and t.dtype.kind in "biufc"
    assert not requires_grad or t.dtype.kind in "fc"


# --------------------------------------------------------------------------- fit
@given(data=st.data())
def test_fit_on_wild_arrays_raises_a_library_error_or_takes_the_numpy_step(data):
    """One full-batch SGD step of a linear Dense under MSE, against the step by hand:
    W -= lr * x^T (2 (xW + b - y) / (n u)),  b -= lr * sum_rows(2 (xW + b - y) / (n u))."""
    n = data.draw(st.integers(0, 5), label="n")
    f, u = data.draw(st.integers(1, 3), label="f"), data.draw(st.integers(1, 2), label="u")
    dt = data.draw(st.sampled_from(FLOATS), label="dtype")
    x = data.draw(wild((n, f), data.draw(st.sampled_from(FLOATS + [np.int64, np.bool_]))), label="x")
    y = data.draw(wild((n, u) if data.draw(st.integers(0, 5)) else (n, u + 1)), label="y")
    nn.set_seed(0)
    model = nn.Sequential([nn.layers.Dense(u, input_dim=f, dtype=np.dtype(dt).name)])
    lr = 0.01
    model.compile(nn.optimizers.SGD(learning_rate=lr), "mse")
    w0 = {k: v.copy() for k, v in model.state_dict().items()}
    x_before, y_before = x.copy(), y.copy()
    try:
        with np.errstate(all="ignore"):
            model.fit(x, y, batch_size=max(n, 1), epochs=1, shuffle=False, verbose=0)
    except ag.AutogradError:
        w = model.state_dict()   # refused or stopped: the weights are the last finite ones
        assert all(np.array_equal(w[k], w0[k]) for k in w)
        return
    finally:
        _same(x, x_before, 0, 0, "x"), _same(y, y_before, 0, 0, "y")
    kernel, bias = w0["layers.0.kernel"].astype(np.float64), w0["layers.0.bias"].astype(np.float64)
    xf, yf = x.astype(dt).astype(np.float64), y.astype(dt).astype(np.float64)
    with np.errstate(all="ignore"):
        d = 2 * (xf @ kernel + bias - yf) / (n * u)
        want = {"layers.0.kernel": kernel - lr * xf.T @ d, "layers.0.bias": bias - lr * d.sum(0)}
        # the rounding the step may carry in dt, elementwise: a dot product's forward error is
        # at most (terms) * eps * sum |terms|, and the residual xW + b - y is rounded before
        # it; where the terms cancel (x = [2, -2] and y = 2**20 + 1 in float32: an update of
        # ~0.07 out of terms of ~4e6, seed 18 of the scan) that is far above rtol * |result|
        eps = float(np.finfo(dt).eps)
        ad = 2 * (np.abs(xf) @ np.abs(kernel) + np.abs(bias) + np.abs(yf)) / (n * u)
        slack = {"layers.0.kernel": 2 * (n + f + 2) * eps * (lr * np.abs(xf).T @ ad
                                                            + np.abs(kernel)),
                 "layers.0.bias": 2 * (n + f + 2) * eps * (lr * ad.sum(0) + np.abs(bias))}
    w = model.state_dict()
    for k in w:
        assert np.all(np.isfinite(w[k])), k
        _same(w[k], want[k], 2e-3 if dt == np.float32 else 1e-9, 1e-5 + slack[k], k)


def test_fit_step_whose_float32_terms_cancel_is_the_float32_step():
    """The scan's seed-18 example of the test above: x = [2, -2], y = 2**20 + 1 (float32).
    The update's terms (~4e6) cancel to ~0.08, so float32 rounding moves the weight by 2e-3
    from the float64 step (over rtol 2e-3 * |w|), while the library takes exactly the float32
    step by hand: the test's elementwise rounding bound, not a looser rtol, covers it."""
    x = np.array([[2], [-2]])
    y = np.full((2, 1), 2.0 ** 20 + 1, np.float32)
    nn.set_seed(0)
    model = nn.Sequential([nn.layers.Dense(1, input_dim=1, dtype="float32")])
    model.compile(nn.optimizers.SGD(learning_rate=0.01), "mse")
    W, b = (model.state_dict()[k].copy() for k in ("layers.0.kernel", "layers.0.bias"))
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    x32 = x.astype(np.float32)
    d = (2 * (x32 @ W + b - y) / np.float32(2)).astype(np.float32)
    np.testing.assert_allclose(model.state_dict()["layers.0.kernel"],
                               W - np.float32(0.01) * (x32.T @ d), rtol=1e-6)
    x64, W64 = x.astype(np.float64), W.astype(np.float64)
    w64 = W64 - 0.01 * x64.T @ (2 * (x64 @ W64 + b - y.astype(np.float64)) / 2)
    assert abs(model.state_dict()["layers.0.kernel"] - w64).max() > 2e-3 * abs(w64).max() + 1e-5


@pytest.mark.skipif(os.environ.get("NUMBA_BOUNDSCHECK") != "1",
                    reason="only in the bounds-checked run (NUMBA_BOUNDSCHECK=1)")
def test_bounds_checking_is_on():
    """The kernels this run uses were compiled with bounds checks (not loaded from a cache
    an unchecked run wrote): a kernel called behind the dispatcher's back with a label out of
    range raises IndexError instead of reading past the row."""
    J = K._load()
    z = np.zeros((2, 3))
    with pytest.raises(IndexError):
        J.xent_sparse(z, np.array([0, 7]), np.empty_like(z), 1.0, True)
