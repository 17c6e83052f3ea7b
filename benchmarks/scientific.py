"""Scientific workloads, forward + backward: this library beside PyTorch, HIPS autograd and
JAX where installed (each optional; a missing one is skipped with a line saying so).

    python -m benchmarks.scientific [--quick] [--repeats N] [--threads 2] [--peers ...]
        [--hips-path DIR]

Workloads (float64, the gradient of a scalar in every parameter):
- ``gp``: a Gaussian-process negative log marginal likelihood (RBF kernel matrix n x n,
  cholesky, solve; gradient in the log length-scale and log noise);
- ``spectral``: a spectral loss, the mean squared distance between the magnitude spectrum
  ``|rfft(x)|`` of a batch of signals and a target (gradient in the signals);
- ``student_t``: a Student-t negative log-likelihood of m points (gammaln; gradient in loc,
  log scale and log df).

HIPS autograd's PyPI package is also called ``autograd``: it is loaded from its own
directory (``pip install --target /tmp/hips_pkg autograd``; ``--hips-path`` or
``$HIPS_AUTOGRAD_PATH``, default ``/tmp/hips_pkg``) under a swapped ``sys.modules``, so both
run side by side in this process.  JAX runs ``jax.jit(jax.grad(f))`` with float64 enabled.
Every library's gradient is compared with this library's before timing (it exits on a
disagreement).
"""
from __future__ import annotations

import argparse
import math
import os
import sys

from benchmarks import _common as C

PEERS = ("autograd", "torch", "hips", "jax")
LABELS = {"autograd": "this library", "torch": "PyTorch eager", "hips": "HIPS autograd",
          "jax": "JAX jax.jit"}
WORKLOADS = ("gp", "spectral", "student_t")


def _data(n, m, batch, length):
    import numpy as np
    r = np.random.default_rng(0)
    x = np.sort(r.uniform(-3, 3, n))
    y = np.sin(x) + 0.1 * r.normal(size=n)
    t = r.standard_t(3.0, size=m) * 0.7 + 0.2
    sig = r.normal(size=(batch, length))
    target = np.abs(np.fft.rfft(r.normal(size=(batch, length)), axis=-1))
    return {"x": x, "y": y, "t": t, "target": target, "sig": sig}


def _workloads(np_, special, fft, eye, d):
    """The three losses written once against a numpy-like namespace ``np_`` (this library's
    autograd.numpy, HIPS's autograd.numpy or jax.numpy), its ``gammaln`` and ``rfft``."""
    x, y, t, target = d["x"], d["y"], d["t"], d["target"]
    d2 = (x[:, None] - x[None, :]) ** 2
    eye_n = eye(len(x))

    def gp(p):
        K = np_.exp(-0.5 * d2 / np_.exp(2 * p[0])) + (np_.exp(p[1]) + 1e-6) * eye_n
        L = np_.linalg.cholesky(K)
        return 0.5 * np_.dot(y, np_.linalg.solve(K, y)) + np_.sum(np_.log(np_.diagonal(L, 0, -1, -2)))

    def spectral(s):
        return np_.mean((np_.abs(fft.rfft(s, axis=-1)) - target) ** 2)

    def student_t(p):
        loc, scale, df = p[0], np_.exp(p[1]), np_.exp(p[2])
        z = (t - loc) / scale
        return -np_.sum(special.gammaln((df + 1) / 2) - special.gammaln(df / 2)
                        - 0.5 * np_.log(math.pi * df) - np_.log(scale)
                        - (df + 1) / 2 * np_.log1p(z * z / df))
    return {"gp": gp, "spectral": spectral, "student_t": student_t}


def _ours(d):
    import numpy as np
    import autograd as ag
    import autograd.numpy as anp
    from autograd.scipy import special
    fs = _workloads(anp, special, anp.fft, np.eye, d)
    return {k: ag.grad(f) for k, f in fs.items()}


def _torch(d):
    import torch
    X, Y, Tt, Tg = (torch.tensor(d[k], dtype=torch.float64) for k in ("x", "y", "t", "target"))
    d2 = (X[:, None] - X[None, :]) ** 2
    eye = torch.eye(len(X), dtype=torch.float64)

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

    def spectral(s):
        return torch.mean((torch.abs(torch.fft.rfft(s, dim=-1)) - Tg) ** 2)

    def st(p):
        loc, scale, df = p[0], torch.exp(p[1]), torch.exp(p[2])
        z = (Tt - loc) / scale
        return -(torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * torch.log(math.pi * df)
                 - torch.log(scale) - (df + 1) / 2 * torch.log1p(z * z / df)).sum()
    return {"gp": wrap(gp), "spectral": wrap(spectral), "student_t": wrap(st)}


def load_hips(path):
    """HIPS autograd from ``path`` (a ``pip install --target`` directory) as a namespace
    (grad, numpy, scipy.special), with this library's ``autograd`` modules put back in
    ``sys.modules`` afterwards.  ImportError when it is not there."""
    import types
    if not os.path.isfile(os.path.join(path, "autograd", "__init__.py")):
        raise ImportError(f"no HIPS autograd under {path} (pip install --target {path} "
                          f"autograd)")
    ours = {k: v for k, v in sys.modules.items() if k == "autograd" or k.startswith("autograd.")}
    for k in ours:
        del sys.modules[k]
    sys.path.insert(0, path)
    try:
        import autograd as hips
        import autograd.numpy as hnp
        import autograd.numpy.fft  # noqa: F401
        import autograd.numpy.linalg  # noqa: F401
        import autograd.scipy.special as hspecial
        if not hasattr(hips, "grad") or hasattr(hips, "Tensor"):
            raise ImportError(f"{path}/autograd is not HIPS autograd")
        ns = types.SimpleNamespace(grad=hips.grad, np=hnp, special=hspecial,
                                   version=getattr(hips, "__version__", "?"))
    finally:
        sys.path.remove(path)
        for k in [k for k in sys.modules if k == "autograd" or k.startswith("autograd.")]:
            del sys.modules[k]
        sys.modules.update(ours)
    return ns


def _hips(d, path):
    import numpy as np
    h = load_hips(path)
    print(f"- HIPS autograd {h.version}, loaded from {path} beside this library")
    fs = _workloads(h.np, h.special, h.np.fft, np.eye, d)
    return {k: h.grad(f) for k, f in fs.items()}


def _jax(d):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import jax.scipy.special as jspecial
    import numpy as np
    fs = _workloads(jnp, jspecial, jnp.fft, lambda n: jnp.eye(n), d)

    def wrap(f):
        g = jax.jit(jax.grad(f))

        def call(p):
            return np.asarray(g(p).block_until_ready())
        return call
    return {k: wrap(f) for k, f in fs.items()}


def run(a, res: C.Results) -> None:
    import numpy as np
    from benchmarks._timing import measure_stats
    peers = C.peer_list(a, PEERS)
    n, m, batch, length = (20, 200, 4, 64) if a.quick else (200, 10000, 32, 1024)
    repeats = a.repeats or (3 if a.quick else 11)
    d = _data(n, m, batch, length)
    hips_path = getattr(a, "hips_path", None) or os.environ.get("HIPS_AUTOGRAD_PATH",
                                                                 "/tmp/hips_pkg")
    print(f"\n## scientific: forward + backward, float64 (GP n={n}; spectral |rfft| of "
          f"{batch} x {length}; Student-t m={m})\n")
    makers = {"autograd": lambda: _ours(d), "torch": lambda: _torch(d),
              "hips": lambda: _hips(d, hips_path), "jax": lambda: _jax(d)}
    libs = {}
    for p in peers:
        try:
            libs[p] = makers[p]()
        except ImportError as e:
            msg = f"{LABELS[p]} skipped: not installed ({e})"
            res.skip("scientific", msg)
            print(f"- {msg}")
    if "autograd" not in libs:
        print("- scientific: not run (this library's autograd.scipy needs scipy: pip install "
              "scipy)")
        return
    C.set_threads(a.threads)
    params = {"gp": np.array([0.1, -2.0]), "spectral": d["sig"],
              "student_t": np.array([0.1, -0.2, 1.0])}
    ref_lib = "autograd"
    rows = []
    for w in WORKLOADS:
        p = params[w]
        ref = libs[ref_lib][w](p)
        for lib, fs in libs.items():
            got = fs[w](p)
            if not np.allclose(got, ref, rtol=1e-6, atol=1e-9):
                raise SystemExit(f"{w}: {LABELS[lib]}'s gradient differs from "
                                 f"{LABELS[ref_lib]}'s (max |diff| "
                                 f"{np.max(np.abs(np.asarray(got) - ref)):.2e})")
        stats = measure_stats({lib: (lambda f=fs[w]: f(p)) for lib, fs in libs.items()},
                              repeats=repeats, min_time=0.005 if a.quick else 0.05)
        for lib, s in stats.items():
            rows.append(dict(s, group=w, peer=LABELS[lib], key=lib))
    for r in rows:
        base = next(x["median_s"] for x in rows if x["group"] == r["group"]
                    and x["key"] == ref_lib)
        r["vs_this"] = r["median_s"] / base
        res.add("scientific", r)
    C.ratios(rows)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"threads in use: {C.thread_report()}; medians of {repeats} interleaved repeats; "
          f"load average {tuple(round(v, 2) for v in load) if load else '?'}; gradients "
          f"agree (rtol 1e-6)\n")
    print(C.timing_table(rows, "workload",
                         (("vs this library", lambda r: C.fmt_x(r.get("vs_this"))),)))
    sys.stdout.flush()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scientific",
                                 description=__doc__.splitlines()[0])
    C.add_args(ap, ",".join(PEERS))
    ap.add_argument("--hips-path", default=None,
                    help="directory holding HIPS autograd (pip install --target DIR autograd); "
                         "default $HIPS_AUTOGRAD_PATH or /tmp/hips_pkg")
    C.standalone(run, ap.parse_args(argv))


if __name__ == "__main__":
    main()
