"""Per-function overhead of ``autograd.numpy``: a representative dozen numpy functions.

    python -m benchmarks.numpy_overhead [--n 1024] [--repeats N] [--quick]
        [--hips-dir DIR] [--json FILE]

For each function, on float64 inputs of about ``n`` elements (sum(f(x)) for the gradient):

- ``numpy``: numpy's own forward on arrays;
- ``arrays``: ``autograd.numpy``'s forward on the same arrays (numpy in, numpy out: the cost
  of the numpy-signature front door);
- ``tensor fwd``: the forward on tensors that require grad (records the graph);
- ``fwd+bwd``: ``autograd.grad(lambda x: np.sum(f(x)))`` -- forward, backward, gradient;
- ``HIPS fwd+bwd``: the same gradient with HIPS autograd, run in a subprocess whose
  ``sys.path`` starts at ``--hips-dir`` (e.g. ``pip install --target DIR autograd``), so its
  ``autograd`` never meets this one.  Left out (with a line saying why) when not given.

Medians of interleaved repeats (``benchmarks._timing``); ratios are against numpy's forward
and against HIPS's forward+backward, measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

from benchmarks import _common as C

#: name -> (the function of x, written against ``np`` = autograd.numpy or HIPS's; input
#: shape as a function of n).  The same source runs in both libraries.
FUNCS = {
    "exp": ("lambda x: np.exp(x)", "vec"),
    "tanh": ("lambda x: np.tanh(x)", "vec"),
    "log1p": ("lambda x: np.log1p(np.abs(x))", "vec"),
    "logaddexp": ("lambda x: np.logaddexp(x, 0.5 * x)", "vec"),
    "sum(axis=0)": ("lambda x: np.sum(x, axis=0)", "mat"),
    "std(axis=1)": ("lambda x: np.std(x, axis=1)", "mat"),
    "prod(axis=1)": ("lambda x: np.prod(x, axis=1)", "mat"),
    "cumsum": ("lambda x: np.cumsum(x, axis=1)", "mat"),
    "sort": ("lambda x: np.sort(x, axis=1)", "mat"),
    "concatenate": ("lambda x: np.concatenate([x, 2.0 * x], axis=0)", "mat"),
    "transpose+reshape": ("lambda x: np.reshape(np.transpose(x), (-1,))", "mat"),
    "dot (mat @ vec)": ("lambda x: np.dot(x, x[0])", "mat"),
    "einsum ij,kj->ik": ("lambda x: np.einsum('ij,kj->ik', x, x)", "mat"),
    "tensordot": ("lambda x: np.tensordot(x, x, axes=([1], [1]))", "mat"),
}


def _inputs(n: int):
    import numpy
    side = max(int(round(n ** 0.5)), 1)
    rng = numpy.random.default_rng(0)
    return {"vec": rng.uniform(-1.0, 1.0, n), "mat": rng.uniform(0.5, 1.5, (side, side))}


_HIPS_CODE = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    import autograd, autograd.numpy as np
    assert autograd.__file__.startswith(sys.argv[1]), autograd.__file__
    import numpy
    funcs, n, repeats = json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    side = max(int(round(n ** 0.5)), 1)
    rng = numpy.random.default_rng(0)
    xs = {"vec": rng.uniform(-1.0, 1.0, n), "mat": rng.uniform(0.5, 1.5, (side, side))}
    out = {}
    for name, (src, kind) in funcs.items():
        f = eval(src)
        g = autograd.grad(lambda x: np.sum(f(x)))
        x = xs[kind]
        try:
            g(x)
        except Exception as e:
            out[name] = {"error": type(e).__name__ + ": " + str(e)[:80]}
            continue
        loops = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(loops):
                g(x)
            if time.perf_counter() - t0 >= 0.01 or loops >= 1 << 16:
                break
            loops *= 2
        s = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(loops):
                g(x)
            s.append((time.perf_counter() - t0) / loops)
        s.sort()
        out[name] = {"median_s": s[len(s) // 2], "grad": g(x).tolist()}
    try:
        from importlib.metadata import version
        v = version("autograd")
    except Exception:
        v = "?"
    print(json.dumps({"version": v, "results": out}))
""")


def hips(dir_: str, n: int, repeats: int) -> dict:
    """HIPS autograd's fwd+bwd medians (and gradients), from a subprocess rooted at dir_."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-I", "-c", _HIPS_CODE, os.path.abspath(dir_),
                        json.dumps(FUNCS), str(n), str(repeats)],
                       capture_output=True, text=True, cwd=os.path.abspath(dir_), env=env,
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[-500:])
    return json.loads(r.stdout)


def run(n: int, repeats: int, hips_dir: str | None) -> dict:
    import numpy
    import autograd as ag
    import autograd.numpy as anp
    from benchmarks._timing import measure_stats

    xs = _inputs(n)
    rows, ours_grads = [], {}
    for name, (src, kind) in FUNCS.items():
        f_ours = eval(src, {"np": anp})
        f_np = eval(src, {"np": numpy})
        x = xs[kind]
        t = ag.Tensor(x, requires_grad=True)
        g = ag.grad(lambda v: anp.sum(f_ours(v)))
        ours_grads[name] = numpy.asarray(g(x))
        r = measure_stats({"numpy": lambda: f_np(x), "arrays": lambda: f_ours(x),
                           "tensor fwd": lambda: f_ours(t), "fwd+bwd": lambda: g(x)},
                          repeats=repeats)
        rows.append({"function": name, "shape": list(x.shape),
                     **{k: v["median_s"] for k, v in r.items()}})
    note = None
    if hips_dir:
        try:
            h = hips(hips_dir, n, repeats)
            for row in rows:
                res = h["results"][row["function"]]
                if "error" in res:
                    row["HIPS error"] = res["error"]
                    continue
                row["HIPS fwd+bwd"] = res["median_s"]
                ok = numpy.allclose(res["grad"], ours_grads[row["function"]], rtol=1e-9, atol=1e-12)
                row["same gradient"] = bool(ok)
            note = f"HIPS autograd {h['version']} from {hips_dir}"
        except Exception as e:  # noqa: BLE001 - report why and go on without it
            note = f"HIPS autograd not run: {type(e).__name__}: {str(e)[-300:]}"
    else:
        note = "HIPS autograd not run: give --hips-dir DIR (pip install --target DIR autograd)"
    return {"n": n, "rows": rows, "hips": note}


def print_table(res: dict) -> None:
    has_hips = any("HIPS fwd+bwd" in r for r in res["rows"])
    head = ["function", "shape", "numpy fwd", "arrays", "tensor fwd", "x numpy", "fwd+bwd"]
    if has_hips:
        head += ["HIPS fwd+bwd", "x HIPS", "same grad"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in res["rows"]:
        cells = [r["function"], "x".join(map(str, r["shape"])), C.fmt_us(r["numpy"]),
                 C.fmt_us(r["arrays"]), C.fmt_us(r["tensor fwd"]),
                 C.fmt_x(r["tensor fwd"] / r["numpy"]), C.fmt_us(r["fwd+bwd"])]
        if has_hips:
            hb = r.get("HIPS fwd+bwd")
            cells += [C.fmt_us(hb) if hb else "n/a: " + r.get("HIPS error", "?").split(":")[0],
                      C.fmt_x(r["fwd+bwd"] / hb) if hb else "-",
                      ("yes" if r.get("same gradient") else "NO") if hb else "-"]
        print("| " + " | ".join(cells) + " |")
    print(f"\n{res['hips']}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.numpy_overhead",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024, help="elements per input (default 1024)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="3 repeats, n=64 (smoke test)")
    ap.add_argument("--hips-dir", default=os.environ.get("AUTOGRAD_BENCH_HIPS_DIR"),
                    help="a pip --target directory holding HIPS autograd")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    C.set_threads(a.threads)
    n, repeats = (64, 3) if a.quick else (a.n, a.repeats)
    h = C.header()
    C.print_header(h)
    res = run(n, repeats, a.hips_dir)
    print_table(res)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"header": h, **res}, fh, indent=1)


if __name__ == "__main__":
    main()
