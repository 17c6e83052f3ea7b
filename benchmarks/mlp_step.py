"""One MLP training step (forward Dense layers -> softmax-xent -> backward -> SGD), per config.

    python -m benchmarks.mlp_step [--config tiny,small,medium,large] [--threads 2]
                                  [--blas-env both|asis|unset] [--startup] [--quick]

Variants: numpy written by hand (no autograd, the no-overhead reference) and this library
with ``AUTOGRAD_KERNELS`` = numpy, numba and auto.  float32, ReLU hidden layers, integer
labels, plain SGD (lr 1e-3).  Median per step of interleaved repeats, with the interquartile
range.  ``--blas-env both`` runs the table twice in fresh processes: with the environment as
set and with ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` unset (that only).  ``--startup``
adds import time and the first step in a fresh process (cold and warm numba cache), measured
with ``PYTHONDONTWRITEBYTECODE`` unset, as users have it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CONFIGS = {
    "tiny": (32, [2, 16, 16, 2]),
    "small": (64, [64, 128, 10]),
    "medium": (128, [784, 256, 128, 10]),
    "large": (512, [784, 1024, 1024, 10]),
}
LR = 1e-3


def _args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny,small,medium,large")
    ap.add_argument("--threads", type=int, default=2, help="BLAS and numba threads")
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--blas-env", default="both", choices=["both", "asis", "unset"])
    ap.add_argument("--variants", default="hand,numpy,numba,auto")
    ap.add_argument("--par", action="store_true",
                    help="also a numba variant with every parallel kernel on (threading test)")
    ap.add_argument("--startup", action="store_true", help="import and first-step times")
    ap.add_argument("--quick", action="store_true", help="few repeats (smoke test)")
    return ap.parse_args(argv)


def _setup(batch, sizes, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(((rng.standard_normal((fan_in, fan_out)) * (2.0 / fan_in) ** 0.5)
                       .astype(np.float32), np.zeros(fan_out, np.float32)))
    return x, y, params


def hand_step(x, y, params):
    """The step in plain numpy: what this library should cost at most 1.3x of."""
    import numpy as np
    acts = [x]
    h = x
    last = len(params) - 1
    for i, (W, b) in enumerate(params):
        z = h @ W
        z += b
        if i < last:
            np.maximum(z, 0, out=z)
        acts.append(z)
        h = z
    n = h.shape[0]
    p = np.exp(h - h.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    g = p
    g[np.arange(n), y] -= 1.0
    g /= n
    for i in range(last, -1, -1):
        W, b = params[i]
        gW = acts[i].T @ g
        gb = g.sum(axis=0)
        if i:
            g = g @ W.T
            g *= acts[i] > 0
        W -= LR * gW
        b -= LR * gb
    return loss


def lib_step(ag, K, x, y, params):
    """The same step with this library: one dense node per layer, one xent node."""
    h = x
    last = len(params) - 1
    for i, (W, b) in enumerate(params):
        h = ag.dense(h, W, b, activation="relu" if i < last else None)
    loss = ag.softmax_cross_entropy(h, y)
    loss.backward()
    for W, b in params:
        K.sgd_update(W._data, W.grad, None, LR)
        K.sgd_update(b._data, b.grad, None, LR)
        W.grad = b.grad = None
    return loss


def table(a) -> None:
    import numpy as np
    import autograd as ag
    from autograd import kernels as K
    from benchmarks._timing import measure, fmt, spread
    reps = 3 if a.quick else a.repeats
    min_time = 0.002 if a.quick else 0.05
    variants_wanted = a.variants.split(",")
    print(f"\nthreads={a.threads}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
          f", OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}, numba layer="
          f"{K.THREADING_LAYER}; float32; median (q1-q3) of {reps} interleaved repeats\n")
    cols = [v for v in ("hand", "numpy", "numba", "par", "auto")
            if v in variants_wanted or (v == "par" and a.par)]
    head = {"hand": "numpy by hand", "numpy": "lib, kernels=numpy", "numba": "lib, kernels=numba",
            "par": "lib, numba + parallel", "auto": "lib, kernels=auto"}
    print("| config | " + " | ".join(head[c] for c in cols) + " | auto / hand |")
    print("|---" * (len(cols) + 2) + "|")
    for name in a.config.split(","):
        batch, sizes = CONFIGS[name]
        x, y, raw = _setup(batch, sizes)
        hand_params = [(W.copy(), b.copy()) for W, b in raw]
        tparams = [(ag.Tensor(W.copy(), requires_grad=True), ag.Tensor(b.copy(), requires_grad=True))
                   for W, b in raw]
        saved = {n: getattr(K, n) for n in ("ACT_PAR_MIN", "BIAS_ACT_PAR_MIN", "GEMM_PAR_MIN")}

        def lib(mode, par=False):
            def f():
                K.MODE = mode
                if par:
                    for n in saved:
                        setattr(K, n, 0)
                try:
                    return lib_step(ag, K, x, y, tparams)
                finally:
                    if par:
                        for n, v in saved.items():
                            setattr(K, n, v)
                    K.MODE = "auto"
            return f
        fns = {"hand": lambda: hand_step(x, y, hand_params), "numpy": lib("numpy"),
               "numba": lib("numba"), "par": lib("numba", True), "auto": lib("auto")}
        r = measure({c: fns[c] for c in cols}, reps, min_time)
        ratio = f"{r['auto'][0] / r['hand'][0]:.2f}x" if "auto" in r and "hand" in r else "-"
        print(f"| {name} (batch {batch}, {'-'.join(map(str, sizes))}) | "
              + " | ".join(spread(r[c]) for c in cols) + f" | {ratio} |")
        sys.stdout.flush()


_FIRST = """
import time; t0 = time.perf_counter()
import numpy as np
import autograd as ag
from autograd import kernels as K
t1 = time.perf_counter()
from benchmarks.mlp_step import _setup, lib_step, CONFIGS
b, s = CONFIGS[{cfg!r}]
x, y, raw = _setup(b, s)
ps = [(ag.Tensor(W, requires_grad=True), ag.Tensor(c, requires_grad=True)) for W, c in raw]
lib_step(ag, K, x, y, ps)
t2 = time.perf_counter()
import sys
print(t1 - t0, t2 - t1, 'numba' in sys.modules)
"""


def startup(a) -> None:
    """Fresh processes: import time and time to the end of the first step."""
    import statistics
    import tempfile
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    n = 2 if a.quick else 7

    def run(cmd, extra):
        e = dict(env)
        e.update(extra)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", cmd], env=e, cwd=root, capture_output=True,
                             text=True, check=True).stdout.split()
        return time.perf_counter() - t0, out

    print("\nStart-up (fresh `python -c` processes, PYTHONDONTWRITEBYTECODE unset; wall time from "
          f"spawn to exit, median of {n}):\n")
    print("| what | wall (process) | import autograd | first step | numba imported |")
    print("|---|---:|---:|---:|---|")
    bare = [run("pass", {})[0] for _ in range(n)]
    print(f"| `python -c pass` | {statistics.median(bare) * 1e3:.0f} ms | - | - | no |")
    imp = [run("import autograd", {})[0] for _ in range(n)]
    print(f"| `import autograd` | {statistics.median(imp) * 1e3:.0f} ms | - | - | no |")
    for cfg in ("small", "medium"):
        for mode in ("numpy", "auto", "numba"):
            cache = tempfile.mkdtemp(prefix="bench-numba-cache-")
            rows = []
            extra = {"AUTOGRAD_KERNELS": mode, "NUMBA_CACHE_DIR": cache}
            cold = run(_FIRST.format(cfg=cfg), extra)
            for _ in range(n):
                rows.append(run(_FIRST.format(cfg=cfg), extra))
            for label, rs in (("cold numba cache", [cold]), ("warm numba cache", rows)):
                if mode == "numpy" and label.startswith("cold"):
                    continue
                wall = statistics.median(r[0] for r in rs)
                ti = statistics.median(float(r[1][0]) for r in rs)
                ts = statistics.median(float(r[1][1]) for r in rs)
                lab = "" if mode == "numpy" else f", {label}"
                print(f"| {cfg}, first step, kernels={mode}{lab} | {wall * 1e3:.0f} ms | "
                      f"{ti * 1e3:.0f} ms | {ts * 1e3:.0f} ms | {rs[0][1][2] == 'True' and 'yes' or 'no'} |")
                sys.stdout.flush()


def main(argv=None) -> None:
    a = _args(argv)
    if a.blas_env == "both":
        argv = list(sys.argv[1:] if argv is None else argv)
        for which in ("asis", "unset"):
            env = dict(os.environ)
            if which == "unset":
                env.pop("OPENBLAS_CORETYPE", None)
                env.pop("OPENBLAS_L2_SIZE", None)
            sub = [x for x in argv if not x.startswith("--blas-env")] + ["--blas-env", which]
            if which == "unset":
                sub = [x for x in sub if x != "--startup"]
            print(f"\n### OPENBLAS env {'as set' if which == 'asis' else 'unset'}")
            sys.stdout.flush()
            subprocess.run([sys.executable, "-m", "benchmarks.mlp_step"] + sub, env=env, check=True,
                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        return
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[v] = str(a.threads)
    table(a)
    if a.startup:
        startup(a)


if __name__ == "__main__":
    main()
