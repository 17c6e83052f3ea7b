"""The numba tape interpreter.  Imported only by ``autograd.kernels._load_tape``.

One kernel for every scalar program (see ``tape.py`` for the instruction set): a loop over
the instruction rows with the opcode tested commonest first.  ``error_model="numpy"`` gives
IEEE inf/nan where Python would raise (division by zero, log of 0), as ``Value`` does.
"""
from __future__ import annotations

import math

import numba as nb

from .tape import OPS

(G_MUL, MUL, ADD, G_ADD, G_RELU, RELU, SUB, G_NEG, COPY, ZERO, DIV, G_DIVA, G_DIVB, POW,
 G_POW, NEG, TANH, G_TANH, EXP, G_EXP, LOG, G_LOG, SIGMOID, G_SIG) = OPS.values()


def _run_tape(code, b):
    """Run the instructions ``code`` (n, 5) int32 on the slots ``b`` float64, in place."""
    for i in range(code.shape[0]):
        op = code[i, 0]
        d = code[i, 1]
        x = code[i, 2]
        y = code[i, 3]
        if op == G_MUL:
            b[d] += b[y] * b[x]
        elif op == MUL:
            b[d] = b[x] * b[y]
        elif op == ADD:
            b[d] = b[x] + b[y]
        elif op == G_ADD:
            b[d] += b[x]
        elif op == G_RELU:
            b[d] += (1.0 if b[y] > 0.0 else 0.0) * b[x]
        elif op == RELU:
            a = b[x]
            b[d] = a if a > 0.0 or a != a else 0.0
        elif op == SUB:
            b[d] = b[x] - b[y]
        elif op == G_NEG:
            b[d] += -b[x]
        elif op == COPY:
            b[d] = b[x]
        elif op == ZERO:
            for k in range(x, y):
                b[k] = 0.0
        elif op == DIV:
            b[d] = b[x] / b[y]
        elif op == G_DIVA:
            b[d] += (1.0 / b[y]) * b[x]
        elif op == G_DIVB:
            b[d] += (-b[y] * (1.0 / b[code[i, 4]])) * b[x]
        elif op == POW:
            b[d] = b[x] ** b[y]
        elif op == G_POW:
            n = b[code[i, 4]]
            b[d] += (n * b[y] ** (n - 1.0) if n != 0.0 else 0.0) * b[x]
        elif op == NEG:
            b[d] = -b[x]
        elif op == TANH:
            b[d] = math.tanh(b[x])
        elif op == G_TANH:
            t = b[y]
            b[d] += (1.0 - t * t) * b[x]
        elif op == EXP:
            b[d] = math.exp(b[x])
        elif op == G_EXP:
            b[d] += b[y] * b[x]
        elif op == LOG:
            b[d] = math.log(b[x])
        elif op == G_LOG:
            b[d] += (1.0 / b[y]) * b[x]
        elif op == SIGMOID:
            b[d] = 0.5 * (1.0 + math.tanh(0.5 * b[x]))
        elif op == G_SIG:
            s = b[y]
            b[d] += (s * (1.0 - s)) * b[x]


run_tape = nb.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)(_run_tape)
