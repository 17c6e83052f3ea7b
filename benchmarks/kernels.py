"""Per kernel, size and dtype: numpy twin vs numba (serial and parallel), and the auto pick.

    python -m benchmarks.kernels [--quick] [--threads 2] [--dtype float32,float64]

Times are per call through the dispatcher (layout conversion included), median of
interleaved repeats with the interquartile range.  The thresholds in
``autograd/kernels/__init__.py`` come from this table.
"""
from __future__ import annotations

import argparse
import os
import sys


def _args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few sizes, few repeats (smoke test)")
    ap.add_argument("--threads", type=int, default=2, help="numba and BLAS threads")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--dtype", default="float32,float64")
    ap.add_argument("--only", default="", help="comma-separated kernel names")
    return ap.parse_args(argv)


def main(argv=None) -> list:
    """Print the table; return its rows (for ``python -m benchmarks --json``)."""
    a = _args(argv)
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(v, str(a.threads))
    import numpy as np
    from autograd import kernels as K
    from benchmarks._timing import measure, fmt

    rng = np.random.default_rng(0)
    big = 1 << 62
    quick = a.quick
    reps = 3 if quick else a.repeats
    min_time = 0.002 if quick else 0.01

    def par(on):
        for n in ("ACT_PAR_MIN", "BIAS_ACT_PAR_MIN", "GEMM_PAR_MIN"):
            setattr(K, n, 0 if on else big)

    saved = {n: getattr(K, n) for n in ("ACT_PAR_MIN", "BIAS_ACT_PAR_MIN", "GEMM_PAR_MIN")}

    def row_sizes(full, small):
        return small if quick else full

    act_sizes = row_sizes([(32, 16), (64, 128), (128, 256), (512, 1024)], [(32, 16)])
    gemm_shapes = row_sizes([(32, 2, 16), (32, 16, 16), (32, 16, 2), (64, 64, 128), (64, 128, 10),
                             (128, 784, 256), (128, 256, 128), (128, 128, 10), (512, 784, 1024)],
                            [(32, 16, 16)])
    xent_sizes = row_sizes([(32, 2), (64, 10), (128, 10), (512, 10), (512, 1000)], [(32, 2)])
    opt_sizes = row_sizes([288, 9610, 16384, 32768, 235146, 1863690], [288])

    def cases(dt):
        """(kernel, size label, size, has_parallel, callable)."""
        for shp in act_sizes:
            x = rng.standard_normal(shp).astype(dt)
            g = rng.standard_normal(shp).astype(dt)
            b = rng.standard_normal(shp[1]).astype(dt)
            for name, kind in (("relu", 1), ("sigmoid", 2), ("tanh", 3), ("gelu", 5)):
                yield f"act {name}", f"{shp[0]}x{shp[1]}", x.size, True, \
                    (lambda x=x, kind=kind: K.activation(x, kind))
                yield f"act_grad {name}", f"{shp[0]}x{shp[1]}", x.size, True, \
                    (lambda x=x, g=g, kind=kind: K.activation_grad(g, x, kind))
            for name, kind in (("linear", 0), ("relu", 1)):
                yield f"bias_act {name}", f"{shp[0]}x{shp[1]}", x.size, True, \
                    (lambda x=x, b=b, kind=kind: K.bias_act(x.copy(), b, kind))
                yield f"dense_grad_z {name}", f"{shp[0]}x{shp[1]}", x.size, False, \
                    (lambda x=x, g=g, kind=kind: K.dense_grad_z(g, x, kind, 0.01, True))
        for m, k, n in gemm_shapes:
            A = rng.standard_normal((m, k)).astype(dt)
            B = rng.standard_normal((k, n)).astype(dt)
            yield "gemm", f"{m}x{k}@{k}x{n}", m * k * n, True, (lambda A=A, B=B: K.matmul(A, B))
        for nr, c in xent_sizes:
            z = rng.standard_normal((nr, c)).astype(dt)
            lab = rng.integers(0, c, nr)
            yield "xent_sparse fwd", f"{nr}x{c}", z.size, False, \
                (lambda z=z, lab=lab: K.xent_sparse(z, lab, 0.0, False))
            yield "xent_sparse grad", f"{nr}x{c}", z.size, False, \
                (lambda z=z, lab=lab: K.xent_sparse(z, lab, 0.1, True))
            t = (rng.random((nr, c)) > 0.5).astype(dt)
            yield "bce fwd+grad", f"{nr}x{c}", z.size, False, \
                (lambda z=z, t=t: K.bce(z, t, 0.1, True, False))
        for n in opt_sizes:
            p = rng.standard_normal(n).astype(dt)
            gr = rng.standard_normal(n).astype(dt)
            v = np.zeros(n, dt)
            v2 = np.zeros(n, dt)
            m_ = np.zeros(n, dt)
            v3 = np.zeros(n, dt)                # RMSprop's own: non-negative
            yield "sgd_update", f"{n}", n, False, (lambda p=p, gr=gr: K.sgd_update(p, gr, None, 1e-9))
            yield "sgd_update momentum", f"{n}", n, False, \
                (lambda p=p, gr=gr, v=v: K.sgd_update(p, gr, v, 1e-9, 0.9))
            yield "adam_update", f"{n}", n, False, \
                (lambda p=p, gr=gr, v=v2, m_=m_: K.adam_update(p, gr, m_, v, 1, 1e-9, 0.9, 0.999, 1e-8))
            yield "rmsprop_update", f"{n}", n, False, \
                (lambda p=p, gr=gr, v=v3: K.rmsprop_update(p, gr, v, 1e-9, 0.9, 1e-7))
            s1, s2 = np.zeros(n, dt), np.zeros(n, dt)   # their own state: non-negative
            yield "adagrad_update", f"{n}", n, False, \
                (lambda p=p, gr=gr, a=s2: K.adagrad_update(p, gr, a, 1e-9, 1e-7))
            yield "adadelta_update", f"{n}", n, False, \
                (lambda p=p, gr=gr, v=s2, u=s1: K.adadelta_update(p, gr, v, u, 1e-9, 0.95, 1e-7))
            yield "adamax_update", f"{n}", n, False, \
                (lambda p=p, gr=gr, m_=m_, u=s2: K.adamax_update(p, gr, m_, u, 1, 1e-9, 0.9,
                                                                  0.999, 1e-7))
            yield "nadam_update", f"{n}", n, False, \
                (lambda p=p, gr=gr, m_=m_, v=v2: K.nadam_update(p, gr, m_, v, 1, 0.88, 0.88,
                                                                 0.88, 1e-9, 0.9, 0.999, 1e-7))
            yield "lion_update", f"{n}", n, False, \
                (lambda p=p, gr=gr, m_=m_: K.lion_update(p, gr, m_, 1e-9, 0.9, 0.99))

    only = set(filter(None, a.only.split(",")))
    print(f"threads={a.threads} layer={K.THREADING_LAYER} "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"median (q1-q3) of {reps} interleaved repeats\n")
    rows = []
    print("| kernel | size | dtype | numpy | numba | numba parallel | best speedup | auto picks |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for dts in a.dtype.split(","):
        dt = np.dtype(dts)
        for kern, label, size, has_par, f in cases(dt):
            if only and kern.split()[0] not in only:
                continue

            def run(mode, p, f=f):
                def g():
                    K.MODE = mode
                    par(p)
                    return f()
                return g
            variants = {"numpy": run("numpy", False), "numba": run("numba", False)}
            if has_par:
                variants["par"] = run("numba", True)
            r = measure(variants, reps, min_time)
            K.MODE = "auto"
            for n, v in saved.items():
                setattr(K, n, v)
            best_nb = min(r["numba"][0], r["par"][0] if has_par else 1e9)
            pick = _pick(K, kern, size, dt, label)
            print(f"| {kern} | {label} | {dt.name} | {fmt(r['numpy'][0])} | {fmt(r['numba'][0])} | "
                  f"{fmt(r['par'][0]) if has_par else '-'} | {r['numpy'][0] / best_nb:.2f}x | {pick} |")
            sys.stdout.flush()
            rows.append({"kernel": kern, "size": label, "dtype": dt.name, "numpy_s": r["numpy"][0],
                         "numba_s": r["numba"][0], "numba_parallel_s": r["par"][0] if has_par else None,
                         "auto_picks": pick})
    return rows


def _pick(K, kern, size, dt, label=''):
    """What ``auto`` does for this call (mirrors the dispatcher's tests)."""
    if dt.name not in ("float32", "float64"):
        return "numpy"
    name = kern.split()[0]
    kind = K.KINDS.get(kern.split()[-1], 0) if len(kern.split()) > 1 else 0
    if name == "gemm":
        if not K.GEMM_MIN <= size <= K.GEMM_MAX:
            return "numpy (BLAS)"
        return "numba parallel" if size >= K.GEMM_PAR_MIN else "numba"
    table = {"act": (K.ACT_MIN.get(kind), K.ACT_PAR_MIN),
             "act_grad": (K.ACT_GRAD_MIN.get(kind), K.ACT_PAR_MIN),
             "bias_act": (K.BIAS_ACT_MIN.get(kind), K.BIAS_ACT_PAR_MIN),
             "dense_grad_z": (K.DENSE_GRAD_MIN.get(kind), None),
             "xent_sparse": (K.XENT_MIN, None), "bce": (K.BCE_MIN, None),
             "sgd_update": (K.SGD_MIN, None), "adam_update": (K.ADAM_MIN, None),
             "rmsprop_update": (K.ADAM_MIN, None), "adagrad_update": (K.ADAM_MIN, None),
             "adadelta_update": (K.ADAM_MIN, None), "adamax_update": (K.ADAM_MIN, None),
             "nadam_update": (K.ADAM_MIN, None), "lion_update": (K.ADAM_MIN, None)}
    lo, plo = table[name]
    if name == "xent_sparse" and int(label.split('x')[-1]) > K.XENT_MAX_CLASSES:
        return "numpy"
    if size < lo:
        return "numpy"
    return "numba parallel" if plo is not None and size >= plo else "numba"


if __name__ == "__main__":
    main()
