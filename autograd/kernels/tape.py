"""The scalar tape: one fixed interpreter that runs a recorded scalar program on a float buffer.

``autograd.jit`` of a function of :class:`~autograd.Value` s records the Value graph it runs
(forward, ``backward``, in-place parameter updates) into an instruction array and executes it
with ``run_tape``: one numba kernel for every program (``cache=True``, compiled once per
machine, no per-program compile and no generated source), or ``run_tape_np``, its pure-Python
twin (the reference in tests, and the path under ``AUTOGRAD_KERNELS=numpy``).

A program is ``code``, int32 of shape (n, 5), one instruction per row ``(op, d, x, y, z)``,
on ``buf``, a float64 vector of slots (constants, inputs, results, gradients).  Forward ops
write ``buf[d] = f(buf[x], buf[y])``; gradient ops accumulate ``buf[d] += f'(...) * buf[x]``
with ``x`` the incoming gradient ``g``.  The numbers are those of ``Value``'s float fast path,
edge cases included (IEEE inf/nan where Python raises: division by zero, log of 0, overflow).

Codes (forward; ``a = buf[x]``, ``b = buf[y]``):
  COPY a | ADD a+b | SUB a-b | MUL a*b | MULADD a + b*buf[z] | DIV a/b | POW a**b |
  NEG -a | RELU | TANH | EXP |
  LOG | SIGMOID | ZERO (buf[x:y] = 0)
Gradients (``g = buf[x]``; ``buf[d] +=``):
  G_ADD g | G_NEG -g | G_MUL buf[y]*g | G_DIVA (1/buf[y])*g | G_DIVB (-buf[y]*(1/buf[z]))*g
  (y the quotient, z the divisor) | G_POW n a**(n-1) g (y = a, z = n; 0 where n == 0) |
  G_RELU (buf[y] > 0) g | G_TANH (1-t^2) g (y = t) | G_EXP e g (y = e) | G_LOG (1/buf[y]) g |
  G_SIG s(1-s) g (y = s)
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import DTypeError, IndexOutOfRangeError, ShapeError

__all__ = ["OPS", "Tape", "run_tape", "run_tape_np"]

#: Instruction codes by name (the order is the kernel's test order: commonest first).
OPS = {name: i for i, name in enumerate((
    "G_MUL", "MULADD", "MUL", "ADD", "G_ADD", "G_RELU", "RELU", "SUB", "G_NEG", "COPY", "ZERO",
    "DIV", "G_DIVA", "G_DIVB", "POW", "G_POW", "NEG", "TANH", "G_TANH", "EXP", "G_EXP",
    "LOG", "G_LOG", "SIGMOID", "G_SIG"))}
_N_OPS = len(OPS)


# which fields of (op, d, x, y, z) an instruction reads; accumulating ops also read d
_READS = {"G_MUL": (2, 3), "MULADD": (2, 3, 4), "MUL": (2, 3), "ADD": (2, 3), "G_ADD": (2,),
          "G_RELU": (2, 3),
          "RELU": (2,), "SUB": (2, 3), "G_NEG": (2,), "COPY": (2,), "ZERO": (),
          "DIV": (2, 3), "G_DIVA": (2, 3), "G_DIVB": (2, 3, 4), "POW": (2, 3),
          "G_POW": (2, 3, 4), "NEG": (2,), "TANH": (2,), "G_TANH": (2, 3), "EXP": (2,),
          "G_EXP": (2, 3), "LOG": (2,), "G_LOG": (2, 3), "SIGMOID": (2,), "G_SIG": (2, 3)}


class Tape:
    """A validated, scheduled program for a buffer of ``nslots`` float64 slots.

    ``code`` (n, 5) int32 is checked once here (codes, every slot index, ZERO ranges), so
    the kernel indexes ``buf`` unchecked and ``run_tape`` only checks the buffer.  Then the
    instructions are *scheduled*: each gets the earliest level after everything it depends
    on (a read of a slot after its write, a write after the reads and the write before it;
    accumulations into one slot stay in order), and they run level by level, grouped by
    code, so the kernel runs long loops of one instruction kind instead of testing the code
    of each.  Every slot sees the same operations in the same order: results are those of
    the program order, to the bit.

    ``hdr`` (groups, 3) int32: (code, first, end) rows into ``idx`` (n, 4) int32: (d, x, y, z);
    ``code`` keeps the scheduled rows (the twin runs them one by one).
    """

    __slots__ = ("code", "hdr", "idx", "nslots")

    def __init__(self, code, nslots: int) -> None:
        code = np.ascontiguousarray(code, dtype=np.int32).reshape(-1, 5)
        nslots = int(nslots)
        if code.size:
            ops = code[:, 0]
            if ops.min() < 0 or ops.max() >= _N_OPS:
                raise IndexOutOfRangeError(f"kernels.tape: instruction codes must be in "
                                           f"[0, {_N_OPS}), got [{ops.min()}, {ops.max()}]")
            idx = code[:, 1:]
            if idx.min() < 0 or idx.max() >= nslots:
                raise IndexOutOfRangeError(f"kernels.tape: slot indices must be in [0, {nslots}),"
                                           f" got [{idx.min()}, {idx.max()}]")
            z = code[ops == OPS["ZERO"]]
            if z.size and ((z[:, 2] > z[:, 3]).any() or z[:, 3].max() > nslots):
                raise IndexOutOfRangeError(f"kernels.tape: a ZERO range lies outside the "
                                           f"{nslots} slots")
            order, lev = _schedule(code, nslots)
            code = code[order]
            key = lev * _N_OPS + code[:, 0]
            first = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1])
            end = np.concatenate([first[1:], [len(code)]])
            hdr = np.stack([code[first, 0], first, end], axis=1)
        else:
            hdr = np.zeros((0, 3), np.int32)
        self.code = code
        self.hdr = np.ascontiguousarray(hdr, dtype=np.int32)
        self.idx = np.ascontiguousarray(code[:, 1:], dtype=np.int32)
        for a in (self.code, self.hdr, self.idx):
            a.flags.writeable = False
        self.nslots = nslots


def _schedule(code, nslots: int):
    """(order, levels in that order): ``code`` run level by level, one code after another
    within a level, program order among equals."""
    names = list(OPS)
    reads = [_READS[n] for n in names]
    acc = [n.startswith("G_") for n in names]
    zero = OPS["ZERO"]
    lw = [0] * nslots            # level of the last write of each slot
    lr = [0] * nslots            # highest level that read it since
    lev = []
    for row in code.tolist():
        op, d = row[0], row[1]
        if op == zero:
            x, y = row[2], row[3]
            if y > x:
                L = 1 + max(max(lw[x:y]), max(lr[x:y]))
                lw[x:y] = [L] * (y - x)
            else:
                L = 1
            lev.append(L)
            continue
        L = max(lw[d], lr[d]) + 1
        for f in reads[op]:
            s = lw[row[f]] + 1
            if s > L:
                L = s
        for f in reads[op]:
            s = row[f]
            if lr[s] < L:
                lr[s] = L
        if acc[op] and lr[d] < L:
            lr[d] = L
        lw[d] = L
        lev.append(L)
    lev = np.array(lev, dtype=np.int64)
    order = np.lexsort((np.arange(len(lev)), code[:, 0], lev))
    return order, lev[order]


def _check(tape, buf) -> None:
    if not isinstance(tape, Tape):
        raise DTypeError(f"kernels.run_tape: tape must be a kernels.tape.Tape, got "
                         f"{type(tape).__name__}")
    if not isinstance(buf, np.ndarray) or buf.dtype != np.float64 or buf.ndim != 1 \
            or not buf.flags.c_contiguous or not buf.flags.writeable:
        raise DTypeError(f"kernels.run_tape: buf must be a writable C-contiguous float64 vector,"
                         f" got {getattr(buf, 'dtype', type(buf).__name__)} of shape "
                         f"{np.shape(buf)}")
    if buf.shape[0] != tape.nslots:
        raise ShapeError(f"kernels.run_tape: buf has {buf.shape[0]} slots, the tape needs "
                         f"{tape.nslots}")


def run_tape(tape: Tape, buf: np.ndarray) -> None:
    """Run ``tape`` on ``buf`` (float64, ``tape.nslots`` long) in place: the numba kernel,
    or the Python twin under ``AUTOGRAD_KERNELS=numpy``."""
    from . import MODE, _load_tape
    _check(tape, buf)
    if MODE == "numpy":
        run_tape_np(tape, buf)
        return
    _load_tape().run_tape(tape.hdr, tape.idx, buf)


# ----------------------------------------------------------------------------- the twin
def _ieee_div(a: float, b: float) -> float:
    """a / b with IEEE results where b is +-0 (the sign of zero counts)."""
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _pow(a: float, n: float) -> float:
    try:
        v = a ** n
    except (ArithmeticError, ValueError):
        return float(np.power(np.float64(a), np.float64(n)))
    if type(v) is complex:
        return math.nan
    return v


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def _log(a: float) -> float:
    if a > 0.0:
        return math.log(a)
    return -math.inf if a == 0.0 else math.nan


def run_tape_np(tape: Tape, buf: np.ndarray) -> None:
    """The twin of the numba kernel: the same instructions, one at a time, on Python floats."""
    _check(tape, buf)
    b = buf.tolist()
    o = OPS
    (G_MUL, MULADD, MUL, ADD, G_ADD, G_RELU, RELU, SUB, G_NEG, COPY, ZERO, DIV, G_DIVA, G_DIVB, POW,
     G_POW, NEG, TANH, G_TANH, EXP, G_EXP, LOG, G_LOG, SIGMOID, G_SIG) = o.values()
    for op, d, x, y, z in tape.code.tolist():
        if op == G_MUL:
            b[d] += b[y] * b[x]
        elif op == MULADD:
            b[d] = b[x] + b[y] * b[z]
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
            for i in range(x, y):
                b[i] = 0.0
        elif op == DIV:
            b[d] = _ieee_div(b[x], b[y])
        elif op == G_DIVA:
            b[d] += _ieee_div(1.0, b[y]) * b[x]
        elif op == G_DIVB:
            b[d] += (-b[y] * _ieee_div(1.0, b[z])) * b[x]
        elif op == POW:
            b[d] = _pow(b[x], b[y])
        elif op == G_POW:
            n = b[z]
            b[d] += (n * _pow(b[y], n - 1.0) if n != 0.0 else 0.0) * b[x]
        elif op == NEG:
            b[d] = -b[x]
        elif op == TANH:
            b[d] = math.tanh(b[x])
        elif op == G_TANH:
            t = b[y]
            b[d] += (1.0 - t * t) * b[x]
        elif op == EXP:
            b[d] = _exp(b[x])
        elif op == G_EXP:
            b[d] += b[y] * b[x]
        elif op == LOG:
            b[d] = _log(b[x])
        elif op == G_LOG:
            b[d] += _ieee_div(1.0, b[y]) * b[x]
        elif op == SIGMOID:
            b[d] = 0.5 * (1.0 + math.tanh(0.5 * b[x]))
        else:                                   # G_SIG
            s = b[y]
            b[d] += (s * (1.0 - s)) * b[x]
    buf[:] = b
