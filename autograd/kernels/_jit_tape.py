"""The numba tape interpreter.  Imported only by ``autograd.kernels._load_tape``.

One kernel for every scalar program (see ``tape.py`` for the instruction set): a loop over
the scheduled groups, and in each a plain loop of one instruction kind.
``error_model="numpy"`` gives
IEEE inf/nan where Python would raise (division by zero, log of 0), as ``Value`` does.
"""
from __future__ import annotations

import math

import numba as nb

from .tape import OPS

(G_MUL, MULADD, MUL, ADD, G_ADD, G_RELU, RELU, SUB, G_NEG, COPY, ZERO, DIV, G_DIVA, G_DIVB, POW,
 G_POW, NEG, TANH, G_TANH, EXP, G_EXP, LOG, G_LOG, SIGMOID, G_SIG) = OPS.values()


def _run_tape(hdr, idx, b):
    """Run the instruction groups ``hdr`` (g, 3) int32 rows (code, first, end) of ``idx``
    (n, 4) int32 rows (d, x, y, z) on the slots ``b`` float64, in place.  The instructions
    of one group are independent (``Tape`` scheduled them): a plain loop each."""
    for gi in range(hdr.shape[0]):
        op = hdr[gi, 0]
        s = hdr[gi, 1]
        e = hdr[gi, 2]
        if op == G_MUL:
            for i in range(s, e):
                b[idx[i, 0]] += b[idx[i, 2]] * b[idx[i, 1]]
        elif op == MULADD:
            for i in range(s, e):
                b[idx[i, 0]] = b[idx[i, 1]] + b[idx[i, 2]] * b[idx[i, 3]]
        elif op == MUL:
            for i in range(s, e):
                b[idx[i, 0]] = b[idx[i, 1]] * b[idx[i, 2]]
        elif op == ADD:
            for i in range(s, e):
                b[idx[i, 0]] = b[idx[i, 1]] + b[idx[i, 2]]
        elif op == G_ADD:
            for i in range(s, e):
                b[idx[i, 0]] += b[idx[i, 1]]
        elif op == G_RELU:
            for i in range(s, e):
                b[idx[i, 0]] += (1.0 if b[idx[i, 2]] > 0.0 else 0.0) * b[idx[i, 1]]
        elif op == RELU:
            for i in range(s, e):
                a = b[idx[i, 1]]
                b[idx[i, 0]] = a if a > 0.0 or a != a else 0.0
        elif op == SUB:
            for i in range(s, e):
                b[idx[i, 0]] = b[idx[i, 1]] - b[idx[i, 2]]
        elif op == G_NEG:
            for i in range(s, e):
                b[idx[i, 0]] += -b[idx[i, 1]]
        elif op == COPY:
            for i in range(s, e):
                b[idx[i, 0]] = b[idx[i, 1]]
        elif op == ZERO:
            for i in range(s, e):
                for k in range(idx[i, 1], idx[i, 2]):
                    b[k] = 0.0
        elif op == DIV:
            for i in range(s, e):
                b[idx[i, 0]] = b[idx[i, 1]] / b[idx[i, 2]]
        elif op == G_DIVA:
            for i in range(s, e):
                b[idx[i, 0]] += (1.0 / b[idx[i, 2]]) * b[idx[i, 1]]
        elif op == G_DIVB:
            for i in range(s, e):
                b[idx[i, 0]] += (-b[idx[i, 2]] * (1.0 / b[idx[i, 3]])) * b[idx[i, 1]]
        elif op == POW:
            for i in range(s, e):
                b[idx[i, 0]] = b[idx[i, 1]] ** b[idx[i, 2]]
        elif op == G_POW:
            for i in range(s, e):
                n = b[idx[i, 3]]
                b[idx[i, 0]] += (n * b[idx[i, 2]] ** (n - 1.0) if n != 0.0 else 0.0) * b[idx[i, 1]]
        elif op == NEG:
            for i in range(s, e):
                b[idx[i, 0]] = -b[idx[i, 1]]
        elif op == TANH:
            for i in range(s, e):
                b[idx[i, 0]] = math.tanh(b[idx[i, 1]])
        elif op == G_TANH:
            for i in range(s, e):
                t = b[idx[i, 2]]
                b[idx[i, 0]] += (1.0 - t * t) * b[idx[i, 1]]
        elif op == EXP:
            for i in range(s, e):
                b[idx[i, 0]] = math.exp(b[idx[i, 1]])
        elif op == G_EXP:
            for i in range(s, e):
                b[idx[i, 0]] += b[idx[i, 2]] * b[idx[i, 1]]
        elif op == LOG:
            for i in range(s, e):
                b[idx[i, 0]] = math.log(b[idx[i, 1]])
        elif op == G_LOG:
            for i in range(s, e):
                b[idx[i, 0]] += (1.0 / b[idx[i, 2]]) * b[idx[i, 1]]
        elif op == SIGMOID:
            for i in range(s, e):
                b[idx[i, 0]] = 0.5 * (1.0 + math.tanh(0.5 * b[idx[i, 1]]))
        elif op == G_SIG:
            for i in range(s, e):
                sg = b[idx[i, 2]]
                b[idx[i, 0]] += (sg * (1.0 - sg)) * b[idx[i, 1]]


run_tape = nb.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)(_run_tape)
