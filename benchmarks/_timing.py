"""Timing helpers shared by the benchmark scripts: interleaved repeats, median and spread."""
from __future__ import annotations

import time


def measure(variants: dict, repeats: int = 15, min_time: float = 0.01) -> dict:
    """Per-call seconds of each ``variants[name]()`` as ``(median, q1, q3)``.

    Each variant is warmed up, then given a loop count that lasts about ``min_time``; the
    repeats are interleaved (A B C A B C ...) so load from other processes on a shared
    machine hits every variant alike.
    """
    loops = {}
    for name, f in variants.items():
        f()
        n = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            if time.perf_counter() - t0 >= min_time or n >= 1 << 20:
                break
            n *= 2
        loops[name] = n
    samples: dict = {name: [] for name in variants}
    for _ in range(repeats):
        for name, f in variants.items():
            n = loops[name]
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            samples[name].append((time.perf_counter() - t0) / n)
    out = {}
    for name, s in samples.items():
        s.sort()
        k = len(s)
        out[name] = (s[k // 2], s[k // 4], s[(3 * k) // 4])
    return out


def fmt(t: float) -> str:
    """Seconds as a short human string (ns, µs, ms, s)."""
    if t < 1e-6:
        return f"{t * 1e9:.0f} ns"
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def spread(m: tuple) -> str:
    """``median (q1-q3)``."""
    return f"{fmt(m[0])} ({fmt(m[1])}-{fmt(m[2])})"
