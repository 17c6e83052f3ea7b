"""Input strategies for the convolution and pooling primitives (``autograd.ops.conv``),
registered with ``register_op_strategy`` when ``autograd.testing`` is imported.

Sizes stay tiny (sides <= 5, channels <= 4) so the registry sweep's second-order checks are
cheap; every padding form, strides, dilation, groups and both data formats are drawn.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from hypothesis import assume, strategies as st

from .errors import AutogradError
from .testing import OpCase, domain_tensors, register_op_strategy, _some_const


def _fmt(draw: Callable) -> str:
    return draw(st.sampled_from(("channels_last", "channels_first")))


def _layout(shape: tuple, fmt: str) -> tuple:
    """An NHWC (or NWC) shape in ``fmt``'s layout."""
    return shape if fmt == "channels_last" else (shape[0], shape[-1]) + shape[1:-1]


def _padding2d(draw: Callable) -> Any:
    return draw(st.sampled_from(("valid", "same")) | st.integers(0, 1)
                | st.tuples(st.integers(0, 1), st.integers(0, 1))
                | st.tuples(st.tuples(st.integers(0, 1), st.integers(0, 1)),
                            st.tuples(st.integers(0, 1), st.integers(0, 1))))


@st.composite
def _conv_case(draw, dims: int):
    name = f"conv{dims}d"
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ks = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    strides = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    sp = tuple(d * (k - 1) + 1 + draw(st.integers(0, 2)) for k, d in zip(ks, dil))
    fmt = _fmt(draw)
    x = draw(domain_tensors(name, 0, _layout((draw(st.integers(1, 2)),) + sp + (groups * cg,), fmt)))
    kernel = draw(domain_tensors(name, 1, ks + (cg, groups * og)))
    bias = draw(st.none() | domain_tensors(name, 2, (groups * og,)))
    x, kernel = _some_const(draw, [x, kernel])
    if dims == 1:
        padding = draw(st.sampled_from(("valid", "same", "causal")) | st.integers(0, 1)
                       | st.tuples(st.integers(0, 1), st.integers(0, 1)))
        kw = dict(strides=strides[0], padding=padding, dilation=dil[0])
    else:
        kw = dict(strides=strides, padding=_padding2d(draw), dilation=dil)
    return OpCase((x, kernel, bias), dict(kw, groups=groups, data_format=fmt))


register_op_strategy("conv1d", lambda: _conv_case(1))
register_op_strategy("conv2d", lambda: _conv_case(2))


@register_op_strategy("conv2d_transpose")
@st.composite
def _conv_transpose_cases(draw):
    from .ops.conv import _transpose_geometry
    groups = draw(st.integers(1, 2))
    cg, fg = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ks = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(("valid", "same")) | st.integers(0, 1)
                   | st.tuples(st.tuples(st.integers(0, 1), st.integers(0, 1)),
                               st.tuples(st.integers(0, 1), st.integers(0, 1))))
    outp = draw(st.none() | st.tuples(st.integers(0, strides[0] - 1), st.integers(0, strides[1] - 1)))
    fmt = _fmt(draw)
    xs = _layout((draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                  groups * cg), fmt)
    ksh = ks + (fg, groups * cg)
    try:
        _transpose_geometry("conv2d_transpose", np.zeros(xs), np.zeros(ksh), strides, padding,
                            outp, dil, groups, fmt)
    except AutogradError:
        assume(False)
    x = draw(domain_tensors("conv2d_transpose", 0, xs))
    kernel = draw(domain_tensors("conv2d_transpose", 1, ksh))
    bias = draw(st.none() | domain_tensors("conv2d_transpose", 2, (groups * fg,)))
    x, kernel = _some_const(draw, [x, kernel])
    return OpCase((x, kernel, bias), dict(strides=strides, padding=padding, output_padding=outp,
                                          dilation=dil, groups=groups, data_format=fmt))


@register_op_strategy("conv2d_kernel_grad")
@st.composite
def _kernel_grad_cases(draw):
    from .ops.conv import _conv_geometry
    case = draw(_conv_case(2))
    x, kernel, _ = case.datas()
    _, _, _, _, _, out = _conv_geometry("conv2d", x, kernel, **case.kwargs)
    fmt = case.kwargs["data_format"]
    xt = draw(domain_tensors("conv2d_kernel_grad", 0, x.shape))
    g = draw(domain_tensors("conv2d_kernel_grad", 1,
                            _layout((x.shape[0],) + out + (kernel.shape[3],), fmt)))
    return OpCase(_some_const(draw, [xt, g]), dict(case.kwargs, kernel_shape=kernel.shape))


@st.composite
def _pool_case(draw, name: str, dims: int):
    pool = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    strides = draw(st.none() | st.tuples(*[st.integers(1, 3)] * dims))
    sp = tuple(p + draw(st.integers(0, 2)) for p in pool)
    fmt = _fmt(draw)
    x = draw(domain_tensors(name, 0, _layout((draw(st.integers(1, 2)),) + sp
                                             + (draw(st.integers(1, 2)),), fmt)))
    one = draw(st.booleans())      # an int where a 1-tuple would do
    return OpCase((x,), dict(pool_size=pool[0] if one and dims == 1 else pool,
                             strides=strides, padding=draw(st.sampled_from(("valid", "same"))),
                             data_format=fmt))


for _d in (1, 2):
    for _k in ("max", "avg"):
        register_op_strategy(f"{_k}_pool{_d}d", (lambda n, d: lambda: _pool_case(n, d))(f"{_k}_pool{_d}d", _d))
