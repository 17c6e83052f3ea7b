"""Input strategies of the FFT primitives (``autograd.ops.fft``) for the registry sweep:
1-3 dims of sides 1-5 (odd and even; 1-3 in 3 dims, the 2-d transforms on 2 dims), real or complex inputs where numpy takes complex, the
length argument (``n`` or ``s``) left out or drawn to pad or truncate, axes drawn (repeated
ones included for the n-d transforms), and every ``norm``."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ._testing_linalg import _entries
from .tensor import Tensor
from .testing import register_op_strategy, OpCase

_NORMS = (None, "backward", "ortho", "forward")


def _fft_cases(name: str):
    kind = name.rstrip("2n")
    takes_complex = kind != "rfft"

    @st.composite
    def cases(draw):
        nd = 2 if name.endswith("2") else draw(st.integers(1, 3))
        shape = [draw(st.integers(1, 5 if nd < 3 else 3)) for _ in range(nd)]
        kw = {"norm": draw(st.sampled_from(_NORMS))}
        if name == kind:                                   # 1-d: n and axis
            axis = draw(st.integers(-nd, nd - 1))
            kw["axis"] = axis
            if draw(st.booleans()):
                kw["n"] = draw(st.integers(1, 7))
            elif kind == "irfft":                          # default n = 2 (m - 1) >= 1
                shape[axis] = max(shape[axis], 2)
        else:
            k = 2 if name.endswith("2") else draw(st.integers(1, nd))
            axes = [draw(st.integers(-nd, nd - 1)) for _ in range(k)]
            if name.endswith("2") and draw(st.booleans()):
                axes = None if draw(st.booleans()) else [-2, -1]
            if axes is not None:
                kw["axes"] = tuple(axes)
            last = -1 if axes is None else axes[-1]
            if draw(st.booleans()):
                kw["s"] = tuple(draw(st.integers(1, 6)) for _ in range(k))
                if axes is None:                           # numpy warns on s without axes
                    kw["axes"] = tuple(range(-k, 0))
            elif kind == "irfft":
                shape[last] = max(shape[last], 2)
        x = _entries(draw, tuple(shape))
        if takes_complex and draw(st.booleans()):
            x = x + 1j * _entries(draw, tuple(shape))
        return OpCase((Tensor(x, requires_grad=True),), kw)
    return cases


for _name in ("fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn",
              "ifftn", "rfftn", "irfftn"):
    register_op_strategy(_name, _fft_cases(_name))
