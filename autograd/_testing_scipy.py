"""Input strategies of ``autograd.scipy.special``'s primitives, for the registry sweep.
Registered when both ``autograd.testing`` and ``autograd.scipy`` are imported (either order).
Value ranges keep the functions where finite differences resolve them (away from poles and
from the ends of their domains)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .testing import register_op_strategy, _elementwise, OpCase, domain_tensors, \
    broadcastable_shapes, _shape, _SIDE


def _r(lo, hi):
    return dict(min_value=lo, max_value=hi)


_UNARY = {
    "gamma": _r(0.1, 5.0), "gammaln": _r(0.1, 10.0), "digamma": _r(0.2, 10.0),
    "rgamma": _r(0.1, 5.0), "erf": _r(-3.0, 3.0), "erfc": _r(-3.0, 3.0),
    "erfinv": _r(-0.9, 0.9), "erfcinv": _r(0.1, 1.9), "ndtr": _r(-5.0, 5.0),
    "log_ndtr": _r(-10.0, 5.0), "ndtri": _r(0.02, 0.98), "expit": _r(-10.0, 10.0),
    "logit": _r(0.05, 0.95), "entr": _r(0.05, 5.0),
}
for _n, _kw in _UNARY.items():
    register_op_strategy(_n, _elementwise(_n, 1, _kw))
register_op_strategy("beta", _elementwise("beta", 2, _r(0.3, 4.0), _r(0.3, 4.0)))
register_op_strategy("betaln", _elementwise("betaln", 2, _r(0.2, 6.0), _r(0.2, 6.0)))
register_op_strategy("xlogy", _elementwise("xlogy", 2, _r(-3.0, 3.0), _r(0.1, 5.0)))
register_op_strategy("xlog1py", _elementwise("xlog1py", 2, _r(-3.0, 3.0), _r(-0.9, 5.0)))


def _ordered(name, orders, lo, hi):
    @st.composite
    def cases(draw):
        x = draw(domain_tensors(name, 0, _shape(), **_r(lo, hi)))
        return OpCase((x,), {("n" if name == "polygamma" else "v"): draw(st.sampled_from(orders))})
    return cases


register_op_strategy("polygamma", _ordered("polygamma", (0, 1, 2), 0.3, 6.0))
register_op_strategy("iv", _ordered("iv", (0, 1, 2, 0.5, 1.5), 0.1, 5.0))
register_op_strategy("ive", _ordered("ive", (0, 1, 2, 0.5), 0.1, 5.0))
register_op_strategy("jv", _ordered("jv", (0, 1, 2, 3), -10.0, 10.0))
register_op_strategy("yv", _ordered("yv", (0, 1, 2), 0.5, 10.0))


def _x_only(name, a_range, x_range, nparams):
    """Shape parameters as constant arrays, x a tensor (the gradient is in x only)."""
    @st.composite
    def cases(draw):
        shps = draw(broadcastable_shapes(nparams + 1, max_side=_SIDE))
        consts = [draw(domain_tensors(name, i, s, requires_grad=False, **_r(*a_range)))._data
                  for i, s in enumerate(shps[:-1])]
        x = draw(domain_tensors(name, nparams, shps[-1], **_r(*x_range)))
        return OpCase(tuple(consts) + (x,))
    return cases


register_op_strategy("betainc", _x_only("betainc", (0.8, 5.0), (0.05, 0.95), 2))
register_op_strategy("gammainc", _x_only("gammainc", (0.8, 5.0), (0.1, 8.0), 1))
register_op_strategy("gammaincc", _x_only("gammaincc", (0.8, 5.0), (0.1, 8.0), 1))


# ------------------------------------------------------------------ autograd.scipy.linalg
from ._testing_linalg import matrices, _entries  # noqa: E402
from .tensor import Tensor  # noqa: E402


@register_op_strategy("solve_triangular")
@st.composite
def _solve_triangular_cases(draw):
    a = draw(matrices("well_conditioned", batch=()))        # its triangles are well conditioned
    n = a.shape[0]
    shape = (n,) if draw(st.booleans()) else (n, draw(st.integers(1, 3)))
    b = Tensor(_entries(draw, shape) * 3, requires_grad=True)
    kw = {"trans": draw(st.sampled_from((0, 1, "N", "T"))), "lower": draw(st.booleans()),
          "unit_diagonal": draw(st.booleans())}
    from .testing import _some_const
    return OpCase(_some_const(draw, [a, b]), kw)


@register_op_strategy("solve_sylvester")
@st.composite
def _solve_sylvester_cases(draw):
    a = draw(matrices("spd", batch=()))                     # spectra of a and -b disjoint
    b = draw(matrices("spd", batch=()))
    q = Tensor(_entries(draw, (a.shape[0], b.shape[0])) * 3, requires_grad=True)
    from .testing import _some_const
    return OpCase(_some_const(draw, [a, b, q]))


# complex draws: small imaginary parts keep sqrtm's spectrum off 0 and a, -b disjoint
from .testing import IMAG_RANGES  # noqa: E402
IMAG_RANGES.update({"sqrtm": (-0.3, 0.3), "solve_sylvester": (-0.3, 0.3)})


@register_op_strategy("sqrtm")
@st.composite
def _sqrtm_cases(draw):
    return OpCase((draw(matrices("spd", batch=())),))


@register_op_strategy("solve_banded")
@st.composite
def _solve_banded_cases(draw):
    l, u, n = draw(st.integers(0, 2)), draw(st.integers(0, 2)), draw(st.integers(1, 4))
    ab = _entries(draw, (l + u + 1, n))
    ab[u] += 4.0 * np.where(ab[u] < 0, -1.0, 1.0)          # a dominant diagonal
    shape = (n,) if draw(st.booleans()) else (n, draw(st.integers(1, 3)))
    b = Tensor(_entries(draw, shape) * 3, requires_grad=True)
    from .testing import _some_const
    return OpCase(_some_const(draw, [Tensor(ab, requires_grad=True), b]), {"l": l, "u": u})


@register_op_strategy("expm")
@st.composite
def _expm_cases(draw):
    n = draw(st.integers(1, 3))
    return OpCase((draw(matrices("general", n=n, m=n, batch=())),))


# ------------------------------------------------------------------ autograd.scipy.signal
@register_op_strategy("convolve")
@st.composite
def _convolve_cases(draw):
    nd = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(("full", "valid", "same")))
    sa = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    if mode == "valid":          # one at least as large as the other in every dim
        sb = tuple(draw(st.integers(1, n)) for n in sa)
        if draw(st.booleans()):
            sa, sb = sb, sa
    else:
        sb = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    a = Tensor(_entries(draw, sa) * 3, requires_grad=True)
    b = Tensor(_entries(draw, sb) * 3, requires_grad=True)
    from .testing import _some_const
    return OpCase(_some_const(draw, [a, b]), {"mode": mode})


# ------------------------------------------------------------------ autograd.scipy.integrate
from hypothesis.extra import numpy as hnp  # noqa: E402
from .ops.elementwise import sin, sqrt, tanh  # noqa: E402
from .ops.reduce import mean  # noqa: E402
from .ops.linalg import matmul  # noqa: E402


def _ode_decay(y, t, k):                       # linear in y, forced in t
    return -k * y + sin(t)


def _ode_coupled(y, t, a, b):                  # nonlinear, coupled through the mean
    return -sqrt(t) - y + a - mean((y + b) ** 2)


def _ode_matrix(y, t, m):                      # a 2-d parameter
    return tanh(matmul(m, y)) - 0.5 * y


#: each one-time-step solve is an adjoint solve backward, each second-order one a nested
#: adjoint solve: tolerances tight enough for finite differences (eps 1e-6) to resolve it.
#: A central difference carries the solver's absolute error divided by eps: with atol 1e-10
#: a solution near zero (y0 = 0 under a matrix field, found by the dev profile) gave a
#: numeric gradient off by 1e-4 (5.8e-5 against atol 1e-5); atol 1e-13 leaves ~1e-7.
_ODE_TOL = {"rtol": 1e-10, "atol": 1e-13}


@register_op_strategy("odeint")
@st.composite
def _odeint_cases(draw):
    which = draw(st.sampled_from(("decay", "coupled", "matrix")))
    d = draw(st.integers(1, 3))
    y0 = _entries(draw, (d,) if which != "decay" or draw(st.booleans()) else ())
    n = draw(st.integers(1, 3))
    steps = draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.05, 0.2, width=64)))
    t = 0.1 + np.cumsum(steps)
    if draw(st.booleans()) and which != "coupled":
        t = t[::-1]
    if which == "decay":
        args, func = [draw(st.floats(-1.0, 1.0))], _ode_decay
    elif which == "coupled":
        args, func = [_entries(draw, (d,)), _entries(draw, (d,))], _ode_coupled
    else:
        args, func = [_entries(draw, (d, d))], _ode_matrix
    ts = [Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in [y0, t] + args]
    from .testing import _some_const
    return OpCase(_some_const(draw, ts), dict(func=func, **_ODE_TOL))
