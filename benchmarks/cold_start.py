"""A fresh process to the end of its first training step (mlp_step's small config).

    python -m benchmarks.cold_start [--config small[,tiny,medium]] [--peers ...] [--runs N]
        [--quick] [--json FILE] [--plot FILE.png]
    python -m benchmarks.cold_start --switch --config tiny   # the tiered build's hand-over

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


_SWITCH_CHILD = """
import gc, time
from benchmarks import _peers
from benchmarks.mlp_step import CONFIGS, data, LR
from autograd.jit import codegen
b, s = CONFIGS[{cfg!r}]
x, y = data(b, s)
r = _peers.make("jit", _peers.init_params(s), LR)
batch = r.prepare(x, y)
longest, at, switched, n, t_end = 0.0, -1, -1, 0, time.time() + {seconds}
while time.time() < t_end and (switched < 0 or n < switched + 200):
    t = time.perf_counter()
    r.step(batch)
    dt = time.perf_counter() - t
    if dt > longest:
        longest, at = dt, n
    n += 1
    if switched < 0 and n > codegen.HOT_CALLS and n % 50 == 0:
        ts = [o for o in gc.get_objects() if type(o) is codegen._Tiered]
        if ts and all(o.fn is not None or o.error is not None for o in ts):
            switched = n
print(n, switched, longest, at)
"""


def switch(a, res: C.Results) -> None:
    """``--switch``: the tiered build's hand-over in one fresh process (``jit`` peer): the
    step at which the generated code took over, and the longest step on the way there,
    with both code caches empty, then warm."""
    cfgs = [c.strip() for c in a.config.split(",") if c.strip()]
    print(f"\n## cold_start --switch: steps of the `jit` peer in a fresh process until its "
          f"generated code takes over (+200), at most {a.switch_seconds:.0f} s\n")
    print("| config | caches | steps run | compiled from step | longest step ms | at step |")
    print("|---|---|---:|---:|---:|---:|")
    for cfg in cfgs:
        d = tempfile.mkdtemp(prefix="bench-switch-")
        try:
            for cache in ("empty", "warm"):
                env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                           NUMBA_CACHE_DIR=os.path.join(d, "numba"),
                           AUTOGRAD_JIT_CACHE=os.path.join(d, "jit"))
                env.pop("AUTOGRAD_KERNELS", None)
                out = subprocess.run([sys.executable, "-c", _SWITCH_CHILD.format(
                    cfg=cfg, seconds=a.switch_seconds)], env=env, cwd=ROOT,
                    capture_output=True, text=True, timeout=a.switch_seconds + 600)
                if out.returncode != 0:
                    msg = f"cold_start --switch {cfg}: the child failed: {out.stderr[-300:]}"
                    res.skip("cold_start", msg)
                    print(f"- {msg}")
                    break
                n, sw, longest, at = out.stdout.split()[-4:]
                row = dict(group=cfg, caches=cache, steps=int(n), switched_at=int(sw),
                           longest_s=float(longest), longest_at=int(at))
                res.add("cold_start_switch", row)
                print(f"| {cfg} | {cache} | {int(n):,} | "
                      f"{int(sw):,} | {float(longest) * 1e3:,.0f} | {int(at):,} |"
                      if int(sw) >= 0 else
                      f"| {cfg} | {cache} | {int(n):,} | not within the time | "
                      f"{float(longest) * 1e3:,.0f} | {int(at):,} |")
        finally:
            shutil.rmtree(d, ignore_errors=True)
    sys.stdout.flush()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else __name__).removesuffix(".__main__"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--runs", type=int, default=None, help="processes per variant (3; 1 quick)")
    ap.add_argument("--switch", action="store_true",
                    help="instead: when the jit peer's generated code takes over in a fresh "
                         "process, and its longest step meanwhile (empty, then warm caches)")
    ap.add_argument("--switch-seconds", type=float, default=120.0,
                    help="--switch: the longest a process steps (default 120)")
    C.add_args(ap, ",".join(PEERS))
    args = ap.parse_args(argv)
    C.standalone(switch if args.switch else run, args)


if __name__ == "__main__":
    main()
