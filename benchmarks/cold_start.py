"""A fresh process to the end of its first training step (mlp_step's small config).

    python -m benchmarks.cold_start [--config small[,tiny,medium]] [--peers ...] [--runs N]
        [--quick] [--json FILE] [--plot FILE.png]

Each run is a new ``python -c`` process started the way a user starts one: bytecode caching
on (``PYTHONDONTWRITEBYTECODE`` is removed from the child's environment), the thread
variables of ``--threads``.  The time is from just before the spawn to the end of the first
step, read in the child with the same wall clock (``time.time``), so interpreter start,
imports, data, model build, any JIT and the step are in, interpreter exit is not.

This library runs with ``AUTOGRAD_KERNELS`` = auto (the default), numba and numpy.  "cold
numba cache" gives each run a new empty ``NUMBA_CACHE_DIR`` (numba compiles the kernels);
"warm" reuses one that a first run filled.  Peers (numpy by hand, PyTorch, JAX, MyGrad,
tinygrad) run the same first step from their own fresh process; their own caches are
as they find them (JAX keeps none by default; tinygrad keeps compiled kernels on disk).

The compiled steps (``jit``: the functional step under ``autograd.jit``; ``nn-jit``: an
``nn.Model`` with ``jit_compile=True`` through ``train_on_batch``) are timed to the end of
their first *compiled* call, which is their third step (the first two calls trace), so trace,
lowering and the first replay are all in; "cold" and "warm" are as above (the generated-code
cache lives under ``NUMBA_CACHE_DIR`` too).  The issue's bound: a fresh process with a warm
cache to the end of that call in at most 1 s for tiny and small, 2 s for medium.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import _common as C

PEERS = ("autograd", "jit", "nn-jit", "hand", "torch", "jax", "mygrad", "tinygrad")
TARGET_WARM = 0.5
#: Steps each compiled peer runs in its fresh process (its first replay is its third call).
JIT_STEPS = 3
#: The issue's bound on a compiled step's first call, warm cache, by config (seconds).
TARGET_JIT = {"tiny": 1.0, "small": 1.0, "medium": 2.0}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CHILD = """
import time, sys
t0 = time.time()
from benchmarks import _peers
from benchmarks.mlp_step import CONFIGS, data, LR
from benchmarks._common import scalar
b, s = CONFIGS[{cfg!r}]
x, y = data(b, s)
params = _peers.init_params(s)
t1 = time.time()
r = _peers.make({peer!r}, params, LR)
batch = r.prepare(x, y)
loss = scalar(r.step(batch))
for _ in range({steps} - 1):
    r.step(batch)
t2 = time.time()
print(t0, t1, t2, loss, 'numba' in sys.modules)
"""


def _run(peer: str, cfg: str, extra: dict) -> tuple:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    t = time.time()
    steps = JIT_STEPS if peer in ("jit", "nn-jit") else 1
    out = subprocess.run([sys.executable, "-c", _CHILD.format(cfg=cfg, peer=peer, steps=steps)],
                         env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    t0, t1, t2, loss, numba = out.stdout.split()[-5:]
    return float(t2) - t, float(t0) - t, float(t1) - float(t0), float(t2) - float(t1), \
        float(loss), numba == "True"


def run(a, res: C.Results) -> None:
    peers = C.peer_list(a, PEERS)
    n = a.runs or (1 if a.quick else 3)
    for cfg in [c.strip() for c in a.config.split(",") if c.strip()]:
        _run_config(a, res, cfg, peers, n)


def _run_config(a, res: C.Results, cfg: str, peers: list, n: int) -> None:
    from benchmarks import _peers
    from benchmarks._timing import summary
    print(f"\n## cold_start: fresh process to the end of the first step ({cfg} config), "
          f"median of {n} runs\n")
    rows, losses = [], {}
    bare = []
    for _ in range(n):
        t = time.time()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.time() - t)
    base = summary(bare)
    print(f"(`python -c pass` alone, to exit: {base['median_s'] * 1e3:.0f} ms)")
    variants = []
    for p in peers:
        if p == "autograd":
            for mode in (("auto", "numpy") if a.quick else ("auto", "numba", "numpy")):
                caches = ("cold", "warm") if mode != "numpy" else ("warm",)
                for cache in caches:
                    variants.append((p, mode, cache))
        elif p in ("jit", "nn-jit"):
            for cache in (("warm",) if a.quick else ("cold", "warm")):
                variants.append((p, "auto", cache))
        else:
            variants.append((p, None, None))
    for p, mode, cache in variants:
        if p in ("jit", "nn-jit"):
            label = f"{_peers.PEERS[p]}, {cache} cache, to step {JIT_STEPS} (first compiled)"
        else:
            label = _peers.PEERS[p] + (f", kernels={mode}" if mode else "") + \
                (f", {cache} numba cache" if cache and mode != "numpy" else "")
        got = []
        try:
            if mode is None:
                got = [_run(p, cfg, {}) for _ in range(n)]
            elif cache == "cold":
                for _ in range(n):              # a fresh empty cache each: numba compiles
                    d = tempfile.mkdtemp(prefix="bench-numba-cold-")
                    try:
                        got.append(_run(p, cfg, {"AUTOGRAD_KERNELS": mode, "NUMBA_CACHE_DIR": d}))
                    finally:
                        shutil.rmtree(d, ignore_errors=True)
            else:
                d = tempfile.mkdtemp(prefix="bench-numba-warm-")
                try:
                    _run(p, cfg, {"AUTOGRAD_KERNELS": mode, "NUMBA_CACHE_DIR": d})   # fills it
                    got = [_run(p, cfg, {"AUTOGRAD_KERNELS": mode, "NUMBA_CACHE_DIR": d})
                           for _ in range(n)]
                finally:
                    shutil.rmtree(d, ignore_errors=True)
        except RuntimeError as e:
            msg = str(e).split("Unavailable: ", 1)[1] if "Unavailable: " in str(e) \
                else f"{_peers.PEERS[p]} skipped: its fresh process failed ({e})"
            res.skip("cold_start", msg)
            print(f"- {msg}")
            continue
        s = summary([g[0] for g in got])
        losses[label] = [got[0][4]]
        rows.append(dict(s, group=cfg, peer=label, key=p, mode=mode, cache=cache,
                         start_s=statistics.median(g[1] for g in got),
                         import_s=statistics.median(g[2] for g in got),
                         step_s=statistics.median(g[3] for g in got),
                         numba_loaded=got[0][5]))
    ref = next((k for k in losses if k.startswith("numpy by hand")), next(iter(losses)))
    ok, lines = C.check_agreement(losses, ref, 1e-4, 1e-5)
    print(f"first-step loss (vs {ref}): {'all agree' if ok else 'DISAGREEMENT'}")
    for ln in lines:
        print(f"    {ln}")
    res.note("cold_start", f"loss agreement {'ok' if ok else 'FAILED'}: " + "; ".join(lines))
    C.ratios(rows)
    for r in rows:
        res.add("cold_start", r)
    extra = (("to interpreter", lambda r: f"{r['start_s'] * 1e3:.0f}"),
             ("numpy + data", lambda r: f"{r['import_s'] * 1e3:.0f}"),
             ("import peer + build + step", lambda r: f"{r['step_s'] * 1e3:.0f}"),
             ("numba loaded", lambda r: "yes" if r["numba_loaded"] else "no"))
    print()
    print(C.timing_table(rows, "config", extra, unit="ms"))
    for r in rows:
        target = TARGET_WARM if r["key"] == "autograd" and r["mode"] != "numpy" else \
            TARGET_JIT.get(cfg) if r["key"] in ("jit", "nn-jit") else None
        if target is not None and r["cache"] == "warm":
            q = r["median_s"]
            line = (f"{cfg}: {r['peer']}: {q:.2f} s (target warm cache <= {target} s: "
                    f"{'met' if q <= target else 'MISSED'})")
            print(f"- {line}")
            res.note("cold_start", line)
    print(f"\nloss agreement: {'ok' if ok else 'FAILED'}")
    sys.stdout.flush()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else __name__).removesuffix(".__main__"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--runs", type=int, default=None, help="processes per variant (3; 1 quick)")
    C.add_args(ap, ",".join(PEERS))
    C.standalone(run, ap.parse_args(argv))


if __name__ == "__main__":
    main()
