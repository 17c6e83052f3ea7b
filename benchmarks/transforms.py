"""What the transforms and numpy's protocols cost.

    python -m benchmarks.transforms

1. Forward mode: ``make_jvp`` (the double-vjp trick) against ``make_vjp`` on the same
   function (an MLP-like chain), time per product, median of interleaved repeats.
2. ``checkpoint``: peak traced memory (tracemalloc) of grad through a deep chain of
   elementwise blocks, with and without checkpointing each block, and the time ratio.
3. numpy's protocols: ``np.exp(t)`` / ``np.sum(t)`` / ``np.dot(t, t)`` on a tensor against
   the library call (``autograd.exp(t)``) and raw numpy on the array; per-call microseconds.
"""
from __future__ import annotations

import os
import statistics
import time
import tracemalloc

import numpy as np

import autograd as ag


def _median_us(fns: dict, repeats: int = 30, inner: int = 20) -> dict:
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():           # interleaved: A B C A B C ...
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            times[k].append((time.perf_counter() - t0) / inner * 1e6)
    return {k: statistics.median(v) for k, v in times.items()}


def forward_mode() -> None:
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((64, 64)) / 8 for _ in range(4)]

    def f(x):
        for W in Ws:
            x = ag.tanh(ag.matmul(W, x))
        return x
    x, v = rng.standard_normal(64), rng.standard_normal(64)
    vjp_fn, _ = ag.make_vjp(f)(x)
    jvp_fn = ag.make_jvp(f)(x)
    np.testing.assert_allclose(jvp_fn(v)[1], ag.jacobian(f)(x) @ v, atol=1e-10)
    m = _median_us({"make_vjp(f)(x) + vjp(v)": lambda: ag.make_vjp(f)(x)[0](v),
                    "make_jvp(f)(x)(v)": lambda: ag.make_jvp(f)(x)(v)}, repeats=15, inner=5)
    print("| forward mode (4 x tanh(W x), 64 wide) | median µs | vs vjp |")
    base = m["make_vjp(f)(x) + vjp(v)"]
    for k, t in m.items():
        print(f"| {k} | {t:,.0f} | {t / base:.2f}x |")


def checkpointing(depth: int = 64, n: int = 20_000) -> None:
    def block(a):
        return ag.tanh(ag.sin(a) * 1.1 + 0.1)
    ck = ag.checkpoint(block)

    def plain(x):
        for _ in range(depth):
            x = block(x)
        return ag.sum(x)

    def check(x):
        for _ in range(depth):
            x = ck(x)
        return ag.sum(x)
    x = np.random.default_rng(1).standard_normal(n)
    np.testing.assert_allclose(ag.grad(check)(x), ag.grad(plain)(x), atol=1e-12)
    rows = []
    for name, f in (("plain", plain), ("checkpoint per block", check)):
        tracemalloc.start()
        t0 = time.perf_counter()
        ag.grad(f)(x)
        dt = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append((name, peak / 2 ** 20, dt * 1e3))
    print(f"\n| checkpoint: grad through {depth} blocks of tanh(sin(x)*1.1+0.1), x of {n:,} "
          f"float64 | peak MiB (tracemalloc) | ms |")
    for name, mib, ms in rows:
        print(f"| {name} | {mib:.1f} | {ms:.0f} |")


def protocols() -> None:
    a = np.random.default_rng(2).standard_normal(100)
    t = ag.Tensor(a, requires_grad=True)
    m = _median_us({
        "np.exp(array)": lambda: np.exp(a),
        "ag.exp(tensor)": lambda: ag.exp(t),
        "np.exp(tensor)": lambda: np.exp(t),
        "np.sum(array)": lambda: np.sum(a),
        "ag.sum(tensor)": lambda: ag.sum(t),
        "np.sum(tensor)": lambda: np.sum(t),
        "np.dot(array, array)": lambda: np.dot(a, a),
        "np.dot(tensor, tensor)": lambda: np.dot(t, t),
    })
    print("\n| numpy protocols, 100 float64, requires_grad | median µs per call |")
    for k, v in m.items():
        print(f"| {k} | {v:.2f} |")


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared)\n")
    forward_mode()
    checkpointing()
    protocols()


if __name__ == "__main__":
    main()
