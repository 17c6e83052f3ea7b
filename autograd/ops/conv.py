"""Convolution and pooling primitives (channels_last by default, channels_first handled).

- ``conv1d``, ``conv2d``: cross-correlation (as Keras and PyTorch), with strides, padding
  ('valid', 'same', 'causal' for 1-d, or explicit), dilation and groups (depthwise when
  groups = channels).  Kernels are Keras-shaped: (kw, C // groups, filters) and
  (kh, kw, C // groups, filters).
- ``conv2d_transpose``: the adjoint of ``conv2d`` in its input (a decoder's upsampling);
  kernel (kh, kw, filters // groups, C) as Keras' Conv2DTranspose.
- ``conv2d_kernel_grad``: the adjoint of ``conv2d`` in its kernel (the kernel gradient),
  a primitive of its own so that gradients of gradients stay in the family.
- ``max_pool1d/2d``, ``avg_pool1d/2d``; ``global_{avg,max}_pool{1,2}d`` are reductions
  built on them.

The three convolutions are bilinear and closed under taking vjps: conv's input gradient is
a transposed conv, its kernel gradient ``conv2d_kernel_grad``, and so on round the family,
so every order of gradient is recorded with these same ops.  First-order backward uses a
fused fast path that computes only the gradients wanted.

Max pooling sends each output's gradient to ONE input: the first maximum of its window in
row-major order (NaN wins), as PyTorch does; tied inputs get nothing.  Average pooling
divides by the number of real elements in a window ('same' padding is not counted), as Keras.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, DTypeError, InvalidValueError
from ..registry import primitive
from .. import kernels as K
from ..kernels.conv import pool_counts
from ._util import data_of
from .reduce import sum as _sum, mean as _mean
from .shape import reshape, scatter_add

__all__ = ["conv1d", "conv2d", "conv2d_transpose", "conv2d_kernel_grad", "max_pool1d",
           "max_pool2d", "avg_pool1d", "avg_pool2d", "global_avg_pool1d", "global_avg_pool2d",
           "global_max_pool1d", "global_max_pool2d"]

_FORMATS = ("channels_last", "channels_first")


# ----------------------------------------------------------------------------- arguments
def _pair(op, name, v, n=2):
    """An int or a tuple of n positive ints as a tuple."""
    t = (v,) * n if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
    if not isinstance(t, (tuple, list)) or len(t) != n or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1 for a in t):
        raise InvalidValueError(f"{op}: {name} must be a positive int or a tuple of {n} positive "
                                f"ints, got {v!r}")
    return tuple(int(a) for a in t)


def _same_pads(size, k, s, d):
    """TF/Keras 'same': output ceil(size / s), the odd padding element at the end."""
    kd = d * (k - 1) + 1
    total = max((-(-size // s) - 1) * s + kd - size, 0)
    return (total // 2, total - total // 2)


def _pads(op, padding, spatial, ksize, strides, dilation):
    """``padding`` ('valid', 'same', int, (ph, pw) or ((top, bottom), (left, right))) as
    explicit ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        p = padding.lower()
        if p == "valid":
            return ((0, 0), (0, 0))
        if p == "same":
            return tuple(_same_pads(n, k, s, d) for n, k, s, d in zip(spatial, ksize, strides, dilation))
        raise InvalidValueError(f"{op}: padding must be 'valid', 'same' or explicit ints, got "
                                f"{padding!r}")
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        padding = (padding, padding)
    try:
        pads = tuple((int(p), int(p)) if isinstance(p, (int, np.integer)) else
                     (int(p[0]), int(p[1])) for p in padding)
        ok = len(pads) == 2 and len(padding) == 2 and all(
            len(p) == 2 for p in padding if not isinstance(p, (int, np.integer)))
    except (TypeError, ValueError, IndexError):
        ok = False
    if not ok or any(a < 0 for pr in pads for a in pr):
        raise InvalidValueError(f"{op}: padding must be 'valid', 'same', a non-negative int, "
                                f"(ph, pw) or ((top, bottom), (left, right)), got {padding!r}")
    return pads


def _check_format(op, data_format):
    if data_format not in _FORMATS:
        raise InvalidValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', "
                                f"got {data_format!r}")


def _float(op, **arrays):
    for name, a in arrays.items():
        if a is not None and a.dtype.kind != "f":
            raise DTypeError(f"{op}: {name} must be float, got {a.dtype} (shape {a.shape})")


def _nhwc(x, data_format):
    return x if data_format == "channels_last" else x.transpose(0, 2, 3, 1)


def _from_nhwc(y, data_format):
    return y if data_format == "channels_last" else np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def _out_size(size, k, s, d, p):
    return (size + p[0] + p[1] - d * (k - 1) - 1) // s + 1


def _conv_geometry(op, x, kernel, strides, padding, dilation, groups, data_format):
    """Validate a conv2d call; (x as NHWC, stride, dilation, pads, groups, out spatial)."""
    _check_format(op, data_format)
    _float(op, x=x, kernel=kernel)
    if x.ndim != 4 or kernel.ndim != 4:
        raise ShapeError(f"{op}: x must be 4-d (batch, H, W, C) and kernel 4-d (kh, kw, C // groups, "
                         f"filters), got shapes {x.shape} and {kernel.shape}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise InvalidValueError(f"{op}: groups must be a positive int, got {groups!r}")
    xl = _nhwc(x, data_format)
    kh, kw, cg, cout = kernel.shape
    c = xl.shape[3]
    if cg * groups != c or cout % groups or kh == 0 or kw == 0:
        raise ShapeError(f"{op}: kernel {kernel.shape} does not fit x {x.shape} ({data_format}) "
                         f"with groups={groups}: need kernel[2] * groups == channels ({c}) and "
                         f"filters divisible by groups")
    stride = _pair(op, "strides", strides)
    dil = _pair(op, "dilation", dilation)
    pads = _pads(op, padding, xl.shape[1:3], (kh, kw), stride, dil)
    out = tuple(_out_size(n, k, s, d, p) for n, k, s, d, p in
                zip(xl.shape[1:3], (kh, kw), stride, dil, pads))
    if min(out) < 1:
        raise ShapeError(f"{op}: the (dilated) kernel {kernel.shape[:2]} with dilation {dil} does "
                         f"not fit the padded input {x.shape} ({data_format}, padding {padding!r})")
    return xl, stride, dil, pads, int(groups), out


def _check_bias(op, bias, filters):
    if bias is not None:
        _float(op, bias=bias)
        if bias.shape != (filters,):
            raise ShapeError(f"{op}: bias shape {bias.shape} does not match {filters} filters")


def _add_bias(y, bias):
    if bias is not None:
        y += bias.astype(y.dtype, copy=False)
    return y


def _bias_axes(data_format):
    return (0, 1, 2) if data_format == "channels_last" else (0, 2, 3)


def _residue(size, k, s, d, p):
    """Rows of the padded input past the last window (the transposed conv's output_padding)."""
    return (size + p[0] + p[1] - d * (k - 1) - 1) % s


# ----------------------------------------------------------------------------- conv2d
def _conv2d_ref(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1,
                data_format="channels_last"):
    """Reference: a sum of shifted slices, in float64 (no im2col, no GEMM)."""
    x = np.asarray(x, np.float64)
    xl, s, d, pads, g, (oh, ow) = _conv_geometry("conv2d", x, np.asarray(kernel), strides,
                                                padding, dilation, groups, data_format)
    kh, kw, cg, cout = kernel.shape
    xp = np.pad(xl, ((0, 0), pads[0], pads[1], (0, 0)))
    y = np.zeros((x.shape[0], oh, ow, cout))
    og = cout // g
    for i in range(kh):
        for j in range(kw):
            win = xp[:, i * d[0]:i * d[0] + s[0] * (oh - 1) + 1:s[0],
                     j * d[1]:j * d[1] + s[1] * (ow - 1) + 1:s[1]]
            for gi in range(g):
                y[..., gi * og:(gi + 1) * og] += win[..., gi * cg:(gi + 1) * cg] @ \
                    np.asarray(kernel, np.float64)[i, j, :, gi * og:(gi + 1) * og]
    if bias is not None:
        y += bias
    return _from_nhwc(y, data_format)


@primitive(library=True, name="conv2d", nin=3, domain=[None, None, None], reference=_conv2d_ref)
def _conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1,
           data_format="channels_last"):
    """2-d convolution (cross-correlation) of x with kernel, plus bias.

    x : shape-(N, H, W, C) (channels_first: (N, C, H, W)), float.
    kernel : shape-(kh, kw, C // groups, filters).  bias : shape-(filters,) or None.
    strides, dilation : int or (sh, sw).  padding : 'valid', 'same' (output ceil(H / s),
    TF's split), an int, (ph, pw) or ((top, bottom), (left, right)).  groups : channels are
    split into this many groups, each with filters // groups filters (depthwise: groups = C).
    Returns shape-(N, OH, OW, filters) (channels_first: (N, filters, OH, OW)).
    """
    xl, s, d, pads, g, _ = _conv_geometry("conv2d", x, kernel, strides, padding, dilation,
                                          groups, data_format)
    _check_bias("conv2d", bias, kernel.shape[3])
    k = kernel.astype(x.dtype, copy=False)
    return _from_nhwc(_add_bias(K.conv_forward(xl, k, s, d, pads, g), bias), data_format)


def _conv2d_vjp(g, out, x, kernel, bias, strides=1, padding="valid", dilation=1, groups=1,
                data_format="channels_last"):
    # y = conv(x, k) + b:  dx = conv_transpose(g, k);  dk = kernel_grad(x, g);  db = sum g
    xs = data_of(x)
    xl, s, d, pads, gr, _ = _conv_geometry("conv2d", xs, data_of(kernel), strides, padding,
                                           dilation, groups, data_format)
    ks = data_of(kernel).shape
    op = tuple(_residue(n, k, st, dl, p) for n, k, st, dl, p in
               zip(xl.shape[1:3], ks[:2], s, d, pads))
    gx = conv2d_transpose(g, kernel, None, strides=s, padding=pads, output_padding=op,
                          dilation=d, groups=gr, data_format=data_format)
    gk = conv2d_kernel_grad(x, g, kernel_shape=ks, strides=s, padding=pads, dilation=d,
                            groups=gr, data_format=data_format)
    gb = _sum(g, axis=_bias_axes(data_format)) if bias is not None else None
    return gx, gk, gb


def _conv2d_fast(g, out, x, kernel, bias, strides=1, padding="valid", dilation=1, groups=1,
                 data_format="channels_last", needs=None):
    """First order on ndarrays: only the gradients wanted, straight to the kernels."""
    xl, s, d, pads, gr, _ = _conv_geometry("conv2d", x, kernel, strides, padding, dilation,
                                           groups, data_format)
    gl = _nhwc(g, data_format).astype(x.dtype, copy=False)
    k = kernel.astype(x.dtype, copy=False)
    gx = gk = gb = None
    if needs is None or needs[0]:
        gx = _from_nhwc(K.conv_input_grad(gl, k, xl.shape, s, d, pads, gr), data_format)
    if needs is None or needs[1]:
        gk = K.conv_kernel_grad(xl, gl, kernel.shape, s, d, pads, gr)
    if bias is not None and (needs is None or needs[2]):
        gb = gl.sum(axis=(0, 1, 2))
    return gx, gk, gb


_conv2d.defvjp(_conv2d_vjp)
_conv2d.defvjp_fast(_conv2d_fast, needs=True)


# ----------------------------------------------------------------------------- transpose
def _transpose_geometry(op, x, kernel, strides, padding, output_padding, dilation, groups,
                        data_format):
    """(x as NHWC, stride, dilation, pads, groups, out spatial) of a transposed conv: the
    conv with these parameters maps an output-shaped array back to x's shape."""
    _check_format(op, data_format)
    _float(op, x=x, kernel=kernel)
    if x.ndim != 4 or kernel.ndim != 4:
        raise ShapeError(f"{op}: x must be 4-d and kernel 4-d (kh, kw, filters // groups, C), "
                         f"got shapes {x.shape} and {kernel.shape}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise InvalidValueError(f"{op}: groups must be a positive int, got {groups!r}")
    xl = _nhwc(x, data_format)
    kh, kw, fg, c = kernel.shape
    if c != xl.shape[3] or c % groups or kh == 0 or kw == 0:
        raise ShapeError(f"{op}: kernel {kernel.shape} does not fit x {x.shape} ({data_format}) "
                         f"with groups={groups}: need kernel[3] == channels ({xl.shape[3]}), "
                         f"divisible by groups")
    s = _pair(op, "strides", strides)
    d = _pair(op, "dilation", dilation)
    kd = tuple(dl * (k - 1) + 1 for dl, k in zip(d, (kh, kw)))
    if output_padding is None:
        outp = None
    else:
        outp = tuple(int(a) for a in ((output_padding,) * 2 if isinstance(
            output_padding, (int, np.integer)) else output_padding))
        if len(outp) != 2 or any(not 0 <= a < max(st, dl) for a, st, dl in zip(outp, s, d)):
            raise InvalidValueError(f"{op}: output_padding must be ints in [0, max(stride, "
                                    f"dilation)), got {output_padding!r} for strides {s}")
    if isinstance(padding, str) and padding.lower() in ("valid", "same"):
        same = padding.lower() == "same"
        if outp is None:                      # Keras' deconv_output_length
            out = tuple(n * st if same else n * st + max(k - st, 0)
                        for n, st, k in zip(xl.shape[1:3], s, kd))
        else:
            out = tuple((n - 1) * st + k - 2 * ((k // 2) if same else 0) + a
                        for n, st, k, a in zip(xl.shape[1:3], s, kd, outp))
        pads = tuple(_same_pads(o, k, st, dl) if same else (0, 0)
                     for o, k, st, dl in zip(out, (kh, kw), s, d))
    else:
        pads = _pads(op, padding, None, (kh, kw), s, d)
        outp = outp or (0, 0)
        out = tuple((n - 1) * st + k - p[0] - p[1] + a
                    for n, st, k, p, a in zip(xl.shape[1:3], s, kd, pads, outp))
    back = tuple(_out_size(o, k, st, dl, p) if o > 0 else -1 for o, k, st, dl, p in
                 zip(out, (kh, kw), s, d, pads))
    if min(out) < 1 or back != xl.shape[1:3]:
        raise ShapeError(f"{op}: padding {padding!r} and output_padding {output_padding!r} give "
                         f"an output of spatial shape {out}, which a conv with strides {s} does "
                         f"not map back to the input's {xl.shape[1:3]}")
    return xl, s, d, pads, int(groups), out


def _conv2d_transpose_ref(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                          dilation=1, groups=1, data_format="channels_last"):
    """Reference: scatter each input pixel times the kernel into the output, float64."""
    x = np.asarray(x, np.float64)
    xl, s, d, pads, g, out = _transpose_geometry("conv2d_transpose", x, np.asarray(kernel),
                                                 strides, padding, output_padding, dilation,
                                                 groups, data_format)
    kh, kw, fg, c = kernel.shape
    cg = c // g
    kern = np.asarray(kernel, np.float64)
    yp = np.zeros((x.shape[0], out[0] + pads[0][0] + pads[0][1] + s[0],
                   out[1] + pads[1][0] + pads[1][1] + s[1], fg * g))
    for gi in range(g):
        xg = xl[..., gi * cg:(gi + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                contrib = xg @ kern[i, j, :, gi * cg:(gi + 1) * cg].T
                yp[:, i * d[0]:i * d[0] + s[0] * xl.shape[1]:s[0],
                   j * d[1]:j * d[1] + s[1] * xl.shape[2]:s[1], gi * fg:(gi + 1) * fg] += contrib
    y = yp[:, pads[0][0]:pads[0][0] + out[0], pads[1][0]:pads[1][0] + out[1]]
    if bias is not None:
        y = y + bias
    return _from_nhwc(y, data_format)


@primitive(library=True, name="conv2d_transpose", nin=3, domain=[None, None, None],
           reference=_conv2d_transpose_ref)
def _conv2d_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation=1, groups=1, data_format="channels_last"):
    """Transposed 2-d convolution: the adjoint in x of ``conv2d`` with the same parameters.

    x : shape-(N, H, W, C).  kernel : shape-(kh, kw, filters // groups, C).  bias :
    shape-(filters,) or None.  Output size (Keras): 'valid' H s + max(kh - s, 0), 'same'
    H s; with output_padding a (Keras) or explicit padding p (PyTorch):
    (H - 1) s + d (kh - 1) + 1 - (p_top + p_bottom) + a.
    Returns shape-(N, OH, OW, filters) (channels_first: (N, filters, OH, OW)).
    """
    xl, s, d, pads, g, out = _transpose_geometry("conv2d_transpose", x, kernel, strides, padding,
                                                 output_padding, dilation, groups, data_format)
    kh, kw, fg, _ = kernel.shape
    _check_bias("conv2d_transpose", bias, fg * g)
    y = K.conv_input_grad(xl, kernel.astype(x.dtype, copy=False), (x.shape[0],) + out + (fg * g,),
                          s, d, pads, g)
    return _from_nhwc(_add_bias(y, bias), data_format)


def _conv2d_transpose_vjp(g, out, x, kernel, bias, strides=1, padding="valid",
                          output_padding=None, dilation=1, groups=1, data_format="channels_last"):
    # y = conv(., k)^T x + b:  dx = conv(g, k);  dk = kernel_grad(g, x);  db = sum g
    _, s, d, pads, gr, _ = _transpose_geometry("conv2d_transpose", data_of(x), data_of(kernel),
                                               strides, padding, output_padding, dilation,
                                               groups, data_format)
    gx = conv2d(g, kernel, None, strides=s, padding=pads, dilation=d, groups=gr,
                data_format=data_format)
    gk = conv2d_kernel_grad(g, x, kernel_shape=data_of(kernel).shape, strides=s, padding=pads,
                            dilation=d, groups=gr, data_format=data_format)
    gb = _sum(g, axis=_bias_axes(data_format)) if bias is not None else None
    return gx, gk, gb


_conv2d_transpose.defvjp(_conv2d_transpose_vjp)


# ----------------------------------------------------------------------------- kernel grad
def _kgrad_geometry(x, g, kernel_shape, strides, padding, dilation, groups, data_format):
    op = "conv2d_kernel_grad"
    ks = tuple(int(a) for a in kernel_shape)
    dummy = np.broadcast_to(np.zeros((), x.dtype), ks)   # shape only, no memory
    xl, s, d, pads, gr, out = _conv_geometry(op, x, dummy, strides, padding, dilation, groups,
                                             data_format)
    _float(op, g=g)
    gl = _nhwc(g, data_format) if g.ndim == 4 else g
    if gl.shape != (x.shape[0],) + out + (ks[3],):
        raise ShapeError(f"{op}: g of shape {g.shape} does not match the conv output "
                         f"{(x.shape[0],) + out + (ks[3],)} ({data_format}) of x {x.shape}")
    return xl, gl, ks, s, d, pads, gr


def _kgrad_ref(x, g, kernel_shape, strides=1, padding="valid", dilation=1, groups=1,
               data_format="channels_last"):
    """Reference: sum over the batch and positions of shifted x slices times g, float64."""
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    xl, gl, ks, s, d, pads, gr = _kgrad_geometry(x, g, kernel_shape, strides, padding, dilation,
                                                 groups, data_format)
    kh, kw, cg, cout = ks
    og = cout // gr
    xp = np.pad(xl, ((0, 0), pads[0], pads[1], (0, 0)))
    oh, ow = gl.shape[1:3]
    out = np.zeros(ks)
    for i in range(kh):
        for j in range(kw):
            win = xp[:, i * d[0]:i * d[0] + s[0] * (oh - 1) + 1:s[0],
                     j * d[1]:j * d[1] + s[1] * (ow - 1) + 1:s[1]]
            for gi in range(gr):
                out[i, j, :, gi * og:(gi + 1) * og] = np.einsum(
                    "nhwc,nhwo->co", win[..., gi * cg:(gi + 1) * cg], gl[..., gi * og:(gi + 1) * og])
    return out


@primitive(library=True, name="conv2d_kernel_grad", nin=2, domain=[None, None],
           reference=_kgrad_ref)
def conv2d_kernel_grad(x, g, kernel_shape, strides=1, padding="valid", dilation=1, groups=1,
                       data_format="channels_last"):
    """The gradient of ``sum(conv2d(x, k) * g)`` in k: the adjoint of conv2d in its kernel.

    x : shape-(N, H, W, C).  g : the conv's output shape (N, OH, OW, filters).
    kernel_shape : (kh, kw, C // groups, filters).  Returns shape ``kernel_shape``.
    """
    xl, gl, ks, s, d, pads, gr = _kgrad_geometry(x, g, kernel_shape, strides, padding, dilation,
                                                 groups, data_format)
    dt = np.result_type(x.dtype, g.dtype)
    return K.conv_kernel_grad(xl.astype(dt, copy=False), gl.astype(dt, copy=False), ks, s, d,
                              pads, gr)


def _kgrad_vjp(g, out, x, gy, kernel_shape, strides=1, padding="valid", dilation=1, groups=1,
               data_format="channels_last"):
    # K = kgrad(x, gy) with <K, H> = <conv(x, H), gy>:  dx = conv_transpose(gy, H);  dgy = conv(x, H)
    xl, _, ks, s, d, pads, gr = _kgrad_geometry(data_of(x), data_of(gy), kernel_shape, strides,
                                                padding, dilation, groups, data_format)
    op = tuple(_residue(n, k, st, dl, p) for n, k, st, dl, p in
               zip(xl.shape[1:3], ks[:2], s, d, pads))
    gx = conv2d_transpose(gy, g, None, strides=s, padding=pads, output_padding=op, dilation=d,
                          groups=gr, data_format=data_format)
    ggy = conv2d(x, g, None, strides=s, padding=pads, dilation=d, groups=gr,
                 data_format=data_format)
    return gx, ggy


conv2d_kernel_grad.defvjp(_kgrad_vjp)


# ----------------------------------------------------------------------------- conv1d
def _conv1d_args(op, x, kernel, strides, padding, dilation, data_format):
    """conv1d's arguments as conv2d's (H = 1): x 4-d, kernel 4-d, strides, padding, dilation."""
    _check_format(op, data_format)
    if x.ndim != 3 or kernel.ndim != 3:
        raise ShapeError(f"{op}: x must be 3-d (batch, steps, C) and kernel 3-d (kw, C // groups, "
                         f"filters), got shapes {x.shape} and {kernel.shape}")
    s = _pair(op, "strides", strides, 1)[0]
    d = _pair(op, "dilation", dilation, 1)[0]
    if isinstance(padding, str) and padding.lower() == "causal":
        p2 = ((0, 0), (d * (kernel.shape[0] - 1), 0))
    elif isinstance(padding, str):
        p2 = padding
    elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p2 = ((0, 0), (int(padding), int(padding)))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        p2 = ((0, 0), tuple(padding))
    else:
        raise InvalidValueError(f"{op}: padding must be 'valid', 'same', 'causal', an int or "
                                f"(left, right), got {padding!r}")
    ax = 1 if data_format == "channels_last" else 2
    return (np.expand_dims(x, ax), kernel[None], (1, s), p2, (1, d), ax)


def _conv1d_ref(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1,
                data_format="channels_last"):
    x4, k4, s, p, d, ax = _conv1d_args("conv1d", np.asarray(x), np.asarray(kernel), strides,
                                       padding, dilation, data_format)
    return _conv2d_ref(x4, k4, bias, s, p, d, groups, data_format).squeeze(ax)


@primitive(library=True, name="conv1d", nin=3, domain=[None, None, None], reference=_conv1d_ref)
def _conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1,
           data_format="channels_last"):
    """1-d convolution: x shape-(N, steps, C) (channels_first (N, C, steps)), kernel
    shape-(kw, C // groups, filters), bias (filters,) or None; padding 'valid', 'same',
    'causal' (left-padded by dilation (kw - 1): output t sees inputs <= t), an int or
    (left, right).  Returns (N, out_steps, filters) (channels_first (N, filters, out_steps))."""
    x4, k4, s, p, d, ax = _conv1d_args("conv1d", x, kernel, strides, padding, dilation,
                                       data_format)
    return np.squeeze(_conv2d.fwd(x4, k4, bias, s, p, d, groups, data_format), ax)


def _conv1d_vjp(g, out, x, kernel, bias, strides=1, padding="valid", dilation=1, groups=1,
                data_format="channels_last"):
    # conv2d's vjp on the H = 1 views, reshaped back
    xs, ks = data_of(x), data_of(kernel)
    x4, k4, s, p, d, ax = _conv1d_args("conv1d", xs, ks, strides, padding, dilation, data_format)
    g4 = reshape(g, data_of(g).shape[:ax] + (1,) + data_of(g).shape[ax:])
    gx, gk, gb = _conv2d_vjp(g4, None, reshape(x, x4.shape), reshape(kernel, k4.shape), bias,
                             s, p, d, groups, data_format)
    return reshape(gx, xs.shape), reshape(gk, ks.shape), gb


def _conv1d_fast(g, out, x, kernel, bias, strides=1, padding="valid", dilation=1, groups=1,
                 data_format="channels_last", needs=None):
    x4, k4, s, p, d, ax = _conv1d_args("conv1d", x, kernel, strides, padding, dilation,
                                       data_format)
    gx, gk, gb = _conv2d_fast(np.expand_dims(g, ax), None, x4, k4, bias, s, p, d, groups,
                              data_format, needs=needs)
    return (None if gx is None else gx.reshape(x.shape),
            None if gk is None else gk.reshape(kernel.shape), gb)


_conv1d.defvjp(_conv1d_vjp)
_conv1d.defvjp_fast(_conv1d_fast, needs=True)


# ----------------------------------------------------------------------------- pooling
def _pool_geometry(op, x, pool_size, strides, padding, data_format, dims):
    """(x as NHWC, pool, stride, pads); 1-d pools are 2-d ones with H = 1."""
    _check_format(op, data_format)
    _float(op, x=x)
    if x.ndim != dims + 2:
        raise ShapeError(f"{op}: x must be {dims + 2}-d, got shape {x.shape}")
    pool = _pair(op, "pool_size", pool_size, dims)
    stride = pool if strides is None else _pair(op, "strides", strides, dims)
    if not (isinstance(padding, str) and padding.lower() in ("valid", "same")):
        raise InvalidValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    if dims == 1:
        x = np.expand_dims(x, 1 if data_format == "channels_last" else 2)
        pool, stride = (1,) + pool, (1,) + stride
    xl = _nhwc(x, data_format)
    pads = _pads(op, padding, xl.shape[1:3], pool, stride, (1, 1))
    out = tuple(_out_size(n, k, s, 1, p) for n, k, s, p in zip(xl.shape[1:3], pool, stride, pads))
    if min(out) < 1:
        raise ShapeError(f"{op}: pool_size {pool_size!r} does not fit x of shape {x.shape} "
                         f"({data_format}, padding {padding!r})")
    return xl, pool, stride, pads


def _unpool(y, x, data_format, dims):
    """A pooled NHWC result back to x's layout and rank."""
    y = _from_nhwc(y, data_format)
    return np.squeeze(y, 1 if data_format == "channels_last" else 2) if dims == 1 else y


def _windows(x, pool_size, strides, padding, data_format, dims, op):
    """(pool_h * pool_w, N, OH, OW, C) window values of x (padding as NaN), float64."""
    xl, pool, s, pads = _pool_geometry(op, np.asarray(x, np.float64), pool_size, strides,
                                       padding, data_format, dims)
    xp = np.pad(xl, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=np.nan)
    oh = _out_size(xl.shape[1], pool[0], s[0], 1, pads[0])
    ow = _out_size(xl.shape[2], pool[1], s[1], 1, pads[1])
    return np.stack([xp[:, i:i + s[0] * (oh - 1) + 1:s[0], j:j + s[1] * (ow - 1) + 1:s[1]]
                     for i in range(pool[0]) for j in range(pool[1])])


def _pool_ref(kind, dims):
    def ref(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
        w = _windows(x, pool_size, strides, padding, data_format, dims, f"{kind}_pool{dims}d")
        with np.errstate(all="ignore"):
            pad = _windows(np.zeros(np.shape(x)), pool_size, strides, padding, data_format,
                           dims, "ref")
            real = ~np.isnan(pad)
            if kind == "max":
                y = np.max(np.where(real, w, -np.inf), axis=0)
            else:
                y = np.sum(np.where(real, w, 0.0), axis=0) / real.sum(axis=0)
        return _unpool(y, x, data_format, dims)
    return ref


def _max_kinks(dims):
    def kinks(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
        """Smallest gap between a window's largest and second largest real value."""
        w = _windows(x, pool_size, strides, padding, data_format, dims, "max_pool")
        if w.shape[0] < 2 or w.size == 0:
            return np.inf
        w = np.sort(np.where(np.isnan(w), -np.inf, w), axis=0)
        gap = w[-1] - w[-2]
        return float(np.min(np.where(np.isfinite(gap), gap, np.inf)))
    return kinks


def _max_pool_fwd(op, dims, x, pool_size, strides, padding, data_format):
    xl, pool, s, pads = _pool_geometry(op, x, pool_size, strides, padding, data_format, dims)
    y, arg = K.max_pool_forward(xl, pool, s, pads)
    return _unpool(y, x, data_format, dims), (arg, xl.shape, pool, s, pads)


def _max_pool_vjp(op, dims):
    def vjp(g, out, x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
        # dx[argmax of window] += g: a scatter of g (linear in g, piecewise constant in x)
        xs = data_of(x)
        _, (arg, xshape, pool, s, pads) = _max_pool_fwd(op, dims, xs, pool_size, strides,
                                                        padding, data_format)
        n, oh, ow, c = arg.shape
        ih = np.arange(oh)[:, None, None] * s[0] - pads[0][0] + arg // pool[1]
        iw = np.arange(ow)[None, :, None] * s[1] - pads[1][0] + arg % pool[1]
        valid = (ih >= 0) & (ih < xshape[1]) & (iw >= 0) & (iw < xshape[2])
        pos = np.arange(xs.size).reshape(xs.shape)          # flat positions in x's layout
        if dims == 1:
            pos = np.expand_dims(pos, 1 if data_format == "channels_last" else 2)
        pos = _nhwc(pos, data_format)
        idx = pos[np.arange(n)[:, None, None, None], np.clip(ih, 0, xshape[1] - 1),
                  np.clip(iw, 0, xshape[2] - 1), np.arange(c)]
        idx = _unpool(idx, xs, data_format, dims)
        gg = g if valid.all() else g * _unpool(valid, xs, data_format, dims)
        gx = scatter_add(reshape(gg, (-1,)), idx.reshape(-1), (xs.size,))
        return reshape(gx, xs.shape)
    return vjp


def _max_pool_fast(op, dims):
    def fast(g, out, x, pool_size=2, strides=None, padding="valid", data_format="channels_last",
             aux=None):
        arg, xshape, pool, s, pads = aux
        gl = _nhwc(np.expand_dims(g, 1 if data_format == "channels_last" else 2)
                   if dims == 1 else g, data_format).astype(x.dtype, copy=False)
        gx = K.max_pool_backward(gl, arg, xshape, pool, s, pads)
        return _unpool(gx, x, data_format, dims)
    return fast


def _avg_pool_vjp(op, dims):
    def vjp(g, out, x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
        # dx = conv_transpose(g / count, ones) depthwise: each output spreads g / count evenly
        xs = data_of(x)
        xl, pool, s, pads = _pool_geometry(op, xs, pool_size, strides, padding, data_format, dims)
        cnt = pool_counts(xl.shape, pool, s, pads).astype(xs.dtype)
        c = xl.shape[3]
        if data_format == "channels_first":
            cnt = cnt.transpose(2, 0, 1)
        if dims == 1:
            cnt = cnt[0] if data_format == "channels_last" else cnt[:, 0]
        gs = g / cnt
        op_ = tuple(_residue(n, k, st, 1, p) for n, k, st, p in zip(xl.shape[1:3], pool, s, pads))
        ones = np.ones(pool + (1, c), xs.dtype)
        if dims == 1:
            ax = 1 if data_format == "channels_last" else 2
            gs = reshape(gs, data_of(gs).shape[:ax] + (1,) + data_of(gs).shape[ax:])
        gx = conv2d_transpose(gs, ones, None, strides=s, padding=pads, output_padding=op_,
                              groups=c, data_format=data_format)
        return reshape(gx, xs.shape) if dims == 1 else gx
    return vjp


def _avg_pool_fast(op, dims):
    def fast(g, out, x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
        xl, pool, s, pads = _pool_geometry(op, x, pool_size, strides, padding, data_format, dims)
        gl = _nhwc(np.expand_dims(g, 1 if data_format == "channels_last" else 2)
                   if dims == 1 else g, data_format).astype(x.dtype, copy=False)
        return _unpool(K.avg_pool_backward(gl, xl.shape, pool, s, pads), x, data_format, dims)
    return fast


def _make_pools(dims):
    mname, aname = f"max_pool{dims}d", f"avg_pool{dims}d"

    def mfwd(x, pool_size=2, strides=None, padding="valid", data_format="channels_last",
             want_aux=False):
        y, aux = _max_pool_fwd(mname, dims, x, pool_size, strides, padding, data_format)
        return y, (aux if want_aux else None)

    def afwd(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
        xl, pool, s, pads = _pool_geometry(aname, x, pool_size, strides, padding, data_format,
                                           dims)
        return _unpool(K.avg_pool_forward(xl, pool, s, pads), x, data_format, dims)

    mp = primitive(mfwd, library=True, name=mname, nin=1, domain=[None], aux=True,
                   reference=_pool_ref("max", dims), kinks=_max_kinks(dims))
    mp.defvjp(_max_pool_vjp(mname, dims))
    mp.defvjp_fast(_max_pool_fast(mname, dims))
    ap = primitive(afwd, library=True, name=aname, nin=1, domain=[None],
                   reference=_pool_ref("avg", dims))
    ap.defvjp(_avg_pool_vjp(aname, dims))
    ap.defvjp_fast(_avg_pool_fast(aname, dims))
    return mp, ap


_max_pool1d, _avg_pool1d = _make_pools(1)
_max_pool2d, _avg_pool2d = _make_pools(2)


def max_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Max over windows.  x : shape-(N, H, W, C) (channels_first (N, C, H, W)), float.
    pool_size, strides : int or pair (strides None: pool_size).  padding 'valid' or 'same'.
    The gradient goes to one input per window: its first maximum in row-major order."""
    return _max_pool2d(x, pool_size=pool_size, strides=strides, padding=padding,
                       data_format=data_format)


def max_pool1d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Max over windows of x shape-(N, steps, C) (channels_first (N, C, steps)); as max_pool2d."""
    return _max_pool1d(x, pool_size=pool_size, strides=strides, padding=padding,
                       data_format=data_format)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Mean over windows (real elements only with 'same').  Arguments as ``max_pool2d``."""
    return _avg_pool2d(x, pool_size=pool_size, strides=strides, padding=padding,
                       data_format=data_format)


def avg_pool1d(x, pool_size=2, strides=None, padding="valid", data_format="channels_last"):
    """Mean over windows of x shape-(N, steps, C); arguments as ``max_pool1d``."""
    return _avg_pool1d(x, pool_size=pool_size, strides=strides, padding=padding,
                       data_format=data_format)


def _spatial(op, x, dims, data_format):
    _check_format(op, data_format)
    shape = data_of(x).shape
    if len(shape) != dims + 2:
        raise ShapeError(f"{op}: x must be {dims + 2}-d, got shape {shape}")
    return tuple(range(1, dims + 1)) if data_format == "channels_last" else \
        tuple(range(2, dims + 2))


def global_avg_pool2d(x, data_format="channels_last", keepdims=False):
    """Mean over H and W: (N, H, W, C) -> (N, C) (keepdims: (N, 1, 1, C))."""
    return _mean(x, axis=_spatial("global_avg_pool2d", x, 2, data_format), keepdims=keepdims)


def global_avg_pool1d(x, data_format="channels_last", keepdims=False):
    """Mean over steps: (N, steps, C) -> (N, C)."""
    return _mean(x, axis=_spatial("global_avg_pool1d", x, 1, data_format), keepdims=keepdims)


def _global_max(op, x, dims, data_format, keepdims):
    axes = _spatial(op, x, dims, data_format)
    shape = data_of(x).shape
    y = (_max_pool2d if dims == 2 else _max_pool1d)(
        x, pool_size=tuple(shape[a] for a in axes), data_format=data_format)
    if keepdims:
        return y
    n, c = shape[0], shape[-1] if data_format == "channels_last" else shape[1]
    return reshape(y, (n, c))


def global_max_pool2d(x, data_format="channels_last", keepdims=False):
    """Max over H and W: (N, H, W, C) -> (N, C); the gradient goes to one (the first) maximum."""
    return _global_max("global_max_pool2d", x, 2, data_format, keepdims)


def global_max_pool1d(x, data_format="channels_last", keepdims=False):
    """Max over steps: (N, steps, C) -> (N, C); the gradient goes to one (the first) maximum."""
    return _global_max("global_max_pool1d", x, 1, data_format, keepdims)


# ----------------------------------------------------------------------------- public doors
def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1,
           data_format="channels_last"):
    """2-d convolution; see the ``conv2d`` primitive (``autograd.OPS['conv2d']``) for shapes."""
    return _conv2d(x, kernel, bias, strides=strides, padding=padding, dilation=dilation,
                   groups=groups, data_format=data_format)


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1,
           data_format="channels_last"):
    """1-d convolution; see the ``conv1d`` primitive for shapes and 'causal' padding."""
    return _conv1d(x, kernel, bias, strides=strides, padding=padding, dilation=dilation,
                   groups=groups, data_format=data_format)


def conv2d_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation=1, groups=1, data_format="channels_last"):
    """Transposed 2-d convolution; see the ``conv2d_transpose`` primitive for shapes."""
    return _conv2d_transpose(x, kernel, bias, strides=strides, padding=padding,
                             output_padding=output_padding, dilation=dilation, groups=groups,
                             data_format=data_format)


conv2d.__doc__ = _conv2d.__doc__
conv1d.__doc__ = _conv1d.__doc__
conv2d_transpose.__doc__ = _conv2d_transpose.__doc__
