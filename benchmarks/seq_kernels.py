"""Normalization and recurrent kernels: numpy twin vs numba, per call (the thresholds in
``autograd/kernels/norm.py`` and ``rnn.py`` come from this table).

    python -m benchmarks.seq_kernels [--dtype float32] [--threads 2] [--repeats 9] [--quick]

Layer norm and batch norm forward and backward on (M, D) arrays; one LSTM and one GRU step
(forward, backward) on (N, U) states.  Medians of interleaved repeats, microseconds.
"""
from __future__ import annotations

import argparse

from benchmarks import _common as C

NORM_SIZES = [(16, 32), (64, 128), (256, 128), (1024, 128), (4096, 64)]
RNN_SIZES = [(8, 16), (32, 64), (64, 128), (256, 256)]


def rows(dtype: str, repeats: int, quick: bool) -> list:
    import numpy as np
    from autograd import kernels as K
    from autograd.kernels import norm as KN, rnn as KR
    from benchmarks._timing import measure
    dt = np.dtype(dtype)
    rng = np.random.default_rng(0)
    out = []

    def both(name, shape, fn):
        res = {}
        for mode in ("numpy", "numba"):
            def call(mode=mode):
                with K.forced(mode):
                    fn()
            call()                                   # compile / warm
            res[mode] = call
        t = measure(res, repeats, 0.002 if quick else 0.02)
        out.append({"kernel": name, "shape": "x".join(map(str, shape)),
                    "numpy_us": t["numpy"][0] * 1e6, "numba_us": t["numba"][0] * 1e6})
        r = out[-1]
        print(f"| {name} | {r['shape']} | {r['numpy_us']:.1f} | {r['numba_us']:.1f} | "
              f"{r['numpy_us'] / r['numba_us']:.2f}x |", flush=True)

    print("| kernel | shape | numpy µs | numba µs | numpy / numba |\n|---|---|---:|---:|---:|")
    for m, d in NORM_SIZES[:2] if quick else NORM_SIZES:
        x = rng.standard_normal((m, d)).astype(dt)
        g = rng.standard_normal((m, d)).astype(dt)
        gam, bet = np.ones(d, dt), np.zeros(d, dt)
        _, mu, inv = KN.layer_norm_fwd_np(x, gam, bet, 1e-3)
        both("layer_norm_fwd", (m, d), lambda: KN.layer_norm_fwd(x, gam, bet, 1e-3))
        both("layer_norm_bwd", (m, d), lambda: KN.layer_norm_bwd(g, x, mu, inv, gam, True))
        _, bmu, binv = KN.batch_norm_fwd_np(x, gam, bet, 1e-3)
        both("batch_norm_fwd", (m, d), lambda: KN.batch_norm_fwd(x, gam, bet, 1e-3))
        both("batch_norm_bwd", (m, d), lambda: KN.batch_norm_bwd(g, x, bmu, binv, gam))
    for n, u in RNN_SIZES[:2] if quick else RNN_SIZES:
        xw = rng.standard_normal((1, n, 4 * u)).astype(dt)
        rk = (rng.standard_normal((u, 4 * u)) * 0.1).astype(dt)
        h0, c0 = np.zeros((n, u), dt), np.zeros((n, u), dt)
        st = KR.lstm_fwd(xw, h0, c0, rk)
        ds = rng.standard_normal((1, n, 2 * u)).astype(dt)
        both("lstm step fwd", (n, u), lambda: KR.lstm_fwd(xw, h0, c0, rk))
        both("lstm step bwd", (n, u), lambda: KR.lstm_bwd(ds, st[0], st[1], st[2], h0, c0, rk))
        xw3 = xw[:, :, :3 * u].copy()
        rk3 = rk[:, :3 * u].copy()
        gs = KR.gru_fwd(xw3, h0, rk3, None)
        both("gru step fwd", (n, u), lambda: KR.gru_fwd(xw3, h0, rk3, None))
        both("gru step bwd", (n, u), lambda: KR.gru_bwd(ds[:, :, :u].copy(), gs[0], gs[1], h0, rk3))
    return out


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    C.set_threads(a.threads)
    h = C.header()
    print(f"# seq_kernels ({a.dtype}), {h['date']}, load average {h['load_average']}\n")
    return rows(a.dtype, a.repeats, a.quick)


if __name__ == "__main__":
    main()
