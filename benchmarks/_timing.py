"""Timing helpers shared by the benchmark scripts: interleaved repeats, median and spread."""
from __future__ import annotations

import gc
import time


def measure_stats(variants: dict, repeats: int = 15, min_time: float = 0.01,
                  warmup: int = 1, collect: bool = False) -> dict:
    """Per-call seconds of each ``variants[name]()``: a dict per name with ``median_s``,
    ``q1_s``, ``q3_s``, ``min_s``, ``max_s``, ``repeats`` and ``loops`` (calls per repeat).

    Each variant is called ``warmup`` times, then given a loop count that lasts about
    ``min_time``; the repeats are interleaved (A B C A B C ...) so load from other processes
    on a shared machine hits every variant alike.

    ``collect=True`` runs a full ``gc.collect()``, untimed, before each timed repeat (the
    collector stays on while timing): each variant then pays for the collections its own
    allocations trigger, not for the cyclic garbage the variant timed before it left behind
    (interleaved, micrograd's cyclic graphs were collected during the next engine's step).
    """
    loops = {}
    for name, f in variants.items():
        for _ in range(warmup):
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
            if collect:
                gc.collect()
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: dict(summary(s), loops=loops[name]) for name, s in samples.items()}


def summary(s: list) -> dict:
    """Median, quartiles (nearest rank), min, max and count of a list of seconds."""
    s = sorted(s)
    k = len(s)
    return {"median_s": s[k // 2] if k % 2 else 0.5 * (s[k // 2 - 1] + s[k // 2]),
            "q1_s": s[k // 4], "q3_s": s[(3 * k) // 4 if k > 1 else 0], "min_s": s[0],
            "max_s": s[-1], "repeats": k}


def measure(variants: dict, repeats: int = 15, min_time: float = 0.01) -> dict:
    """Per-call seconds of each ``variants[name]()`` as ``(median, q1, q3)`` (see
    :func:`measure_stats`)."""
    r = measure_stats(variants, repeats, min_time)
    return {name: (d["median_s"], d["q1_s"], d["q3_s"]) for name, d in r.items()}


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
