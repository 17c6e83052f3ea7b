"""Where elementwise fusion (autograd/jit/codegen.py) pays against the numpy replay.

    python -m benchmarks.jit_codegen [--dtype float32] [--repeats 41]

One chain ``relu(x * a + b) * c + x`` (4 elementwise calls, ``b`` a bias row), traced by
``autograd.jit``; each program lowered twice, with the fusion backend forced on and with none
(the numpy replay), and the two executables timed interleaved in this process (median per
call, the executables only: no jit call overhead).  The crossover sets ``FUSE_MIN_SIZE``.
"""
from __future__ import annotations

import argparse
import os
import time

SHAPES = [(32, 16), (64, 64), (64, 128), (128, 256), (256, 512), (512, 1024)]


def chain(x, a, b, c):
    import autograd as ag
    return ag.relu(x * a + b) * c + x


def run(dtype: str, repeats: int) -> list:
    import warnings
    import numpy as np
    import autograd as ag
    from autograd.jit import codegen
    rng = np.random.default_rng(0)
    rows = []
    for shape in SHAPES:
        args = [rng.standard_normal(s).astype(dtype) for s in (shape, shape, shape[-1:], shape)]
        f = ag.jit(chain, validate=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f(*args)
        e = next(iter(f.cache.d.values()))
        prog = e.exe.program
        body = prog
        for ins in prog.instrs:             # the unfused program behind a fused one
            if ins.op == "fused":
                body = None
        if body is None:
            from autograd.jit.program import Program
            body = Program()
            body.slots, body.inputs, body.outputs = prog.slots, prog.inputs, prog.outputs
            body.out_spec, body.out_kinds = prog.out_spec, prog.out_kinds
            body.instrs = [b for ins in prog.instrs
                           for b in (ins.info["body"] if ins.op == "fused" else [ins])]
        replay = body.lower(backend=lambda p: p)
        fused = body.lower(backend=lambda p: codegen.fuse_elementwise(p, min_size=0))
        arrays = args
        r1, r2 = fused.run(arrays)[0], replay.run(arrays)[0]
        np.testing.assert_allclose(r1, r2, rtol=1e-5 if dtype == "float32" else 1e-12)
        ta, tb = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            replay.run(arrays)
            ta.append(time.perf_counter() - t)
            t = time.perf_counter()
            fused.run(arrays)
            tb.append(time.perf_counter() - t)
        ta.sort()
        tb.sort()
        rows.append((shape, ta[repeats // 2], tb[repeats // 2]))
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeats", type=int, default=41)
    a = ap.parse_args(argv)
    rows = run(a.dtype, a.repeats)
    print(f"load average {os.getloadavg()[0]:.2f}; {a.dtype}; median of {a.repeats}\n")
    print("| shape | elements | numpy replay µs | fused µs | replay / fused |")
    print("|---|---:|---:|---:|---:|")
    for shape, r, f in rows:
        n = shape[0] * shape[1]
        print(f"| {shape[0]}x{shape[1]} | {n} | {r * 1e6:.1f} | {f * 1e6:.1f} | {r / f:.2f}x |")


if __name__ == "__main__":
    main()
