"""One MLP training step, this library beside its peers, per config.

    python -m benchmarks.mlp_step [--config tiny,small,medium,large] [--threads 2]
        [--peers hand,autograd,nn,torch,jax,mygrad,tinygrad] [--kernels] [--repeats N]
        [--quick] [--json FILE] [--plot FILE.png]

The step: forward through ReLU Dense layers (linear last layer), mean softmax-cross-entropy
with integer labels, backward, SGD with lr 0.01; float32.  Every peer starts from the same
weights on the same batch; the losses of the first three steps are checked to agree before
anything is timed.  Then the peers are timed interleaved (A B C A B C ...) in this one
process: median per step with the interquartile range and min-max.  ``--kernels`` adds this
library with ``AUTOGRAD_KERNELS`` forced to numpy and to numba.

Variants: numpy written by hand (the no-autograd reference), ``autograd`` (the functional
form: ``autograd.dense`` per layer, ``softmax_cross_entropy``, the kernels' SGD update),
``nn.Model + nn.optimizers.SGD`` (Sequential of Dense layers, a loss object,
``opt.zero_grad(); loss.backward(); opt.step()``), ``jit`` (the functional step under
``autograd.jit``), ``nn-jit`` (the Model compiled with ``jit_compile=True``,
``train_on_batch``), PyTorch eager (``F.linear``, ``F.relu``,
``F.cross_entropy``, ``torch.optim.SGD``), JAX (the whole step under ``jax.jit``), MyGrad,
tinygrad (the step under ``TinyJit``).  Peers that are not installed are skipped, with a line.
"""
from __future__ import annotations

import argparse
import sys
import time

from benchmarks import _common as C

CONFIGS = {
    "tiny": (32, [2, 16, 16, 2]),
    "small": (64, [64, 128, 10]),
    "medium": (128, [784, 256, 128, 10]),
    "large": (512, [784, 1024, 1024, 10]),
}
LR = 0.01
PEERS = ("hand", "autograd", "nn", "jit", "nn-jit", "torch", "jax", "mygrad", "tinygrad")
AGREE_STEPS = 3
BUDGET_S = 6.0                   # timed seconds per config, roughly (sets the repeats)
RTOL, ATOL = 1e-4, 1e-5          # float32, three steps
#: Targets from the issues: the first wave's, autograd / numpy-by-hand on every config and
#: autograd / PyTorch; issue 14's, the eager nn step and the ``jit`` step / numpy by hand,
#: and ``jit`` faster than JAX jit.
TARGET_HAND = 1.3
TARGET_TORCH = {"medium": 1.0, "large": 1.0}
TARGET_NN_HAND = {"tiny": 2.0, "small": 2.0}
TARGET_JIT_HAND = {"tiny": 0.7, "small": 0.8, "medium": 0.95, "large": 1.0}
TARGET_JIT_JAX = {"tiny": 1.0, "small": 1.0, "medium": 1.0}
#: (peer, the peer it is divided by, its bound per config, label, whose target)
TARGETS = (
    ("autograd", "hand", dict.fromkeys(CONFIGS, TARGET_HAND), "autograd / numpy by hand",
     "first wave"),
    ("autograd", "torch", TARGET_TORCH, "autograd / PyTorch eager", "first wave"),
    ("nn", "hand", TARGET_NN_HAND, "eager nn / numpy by hand", "issue 14"),
    ("jit", "hand", TARGET_JIT_HAND, "jit / numpy by hand", "issue 14"),
    ("jit", "jax", TARGET_JIT_JAX, "jit / JAX jit", "issue 14"),
)


def data(batch: int, sizes: list, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return x, y


def _forced(mode: str):
    """This library with AUTOGRAD_KERNELS forced to ``mode`` (set around each call)."""
    from benchmarks import _peers

    def maker(params, lr, momentum=0.0):
        from autograd import kernels as K
        r = _peers.make("autograd", params, lr, momentum)
        inner = r.step

        def step(batch):
            K.MODE = mode
            try:
                return inner(batch)
            finally:
                K.MODE = "auto"
        return _peers.Runner(r.prepare, step, r.predict)
    return maker


def run_config(name: str, peers: list, a, res: C.Results, workload: str = "mlp_step") -> bool:
    """Agreement check then interleaved timing of one config; rows go to ``res``.
    Returns whether every peer's losses agreed."""
    from benchmarks import _peers
    from benchmarks._timing import measure_stats
    batch, sizes = CONFIGS[name]
    group = f"{name} (batch {batch}, {'-'.join(map(str, sizes))})"
    x, y = data(batch, sizes)
    params = _peers.init_params(sizes)
    makers = {p: (lambda prm, lr, p=p: _peers.make(p, prm, lr)) for p in peers}
    labels = dict(_peers.PEERS)
    if getattr(a, "kernels", False):
        for mode in ("numpy", "numba"):
            makers[f"autograd-{mode}"] = _forced(mode)
            labels[f"autograd-{mode}"] = f"autograd, kernels={mode}"
    runners, batches = {}, {}
    for p, mk in makers.items():
        try:
            runners[p] = mk(params, LR)
        except _peers.Unavailable as e:
            res.skip(workload, str(e))
            print(f"- {e}")
    C.set_threads(a.threads)        # peers loaded: apply the limit to them too
    losses, last = {}, {}
    for p, r in list(runners.items()):
        try:
            batches[p] = r.prepare(x, y)
            losses[p] = [C.scalar(r.step(batches[p])) for _ in range(AGREE_STEPS - 1)]
            t0 = time.perf_counter()
            losses[p].append(C.scalar(r.step(batches[p])))
            last[p] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - a peer that breaks is reported, not fatal
            msg = f"{labels[p]} skipped: failed on {name} ({type(e).__name__}: {e})"
            res.skip(workload, msg)
            print(f"- {msg}")
            del runners[p]
            losses.pop(p, None)
    ref = "hand" if "hand" in losses else next(iter(losses))
    ok, lines = C.check_agreement(losses, ref, RTOL, ATOL)
    print(f"\n{group}: loss of the first {AGREE_STEPS} steps (same weights, same batch; "
          f"rtol {RTOL}, atol {ATOL} vs {labels[ref]}): {'all agree' if ok else 'DISAGREEMENT'}")
    for ln in lines:
        print(f"    {labels.get(ln.split(':')[0], ln.split(':')[0])}:{ln.split(':', 1)[1]}")
    res.note(workload, f"{group}: loss agreement {'ok' if ok else 'FAILED'}: " + "; ".join(lines))
    # compiled peers: past the calls after which generated code is built (in the background),
    # and that build finished, so the timing is the steady state (first calls: cold_start)
    if any(p.startswith(("jit", "nn-jit")) for p in runners):
        from autograd.jit import codegen
        for p, r in runners.items():
            if p.startswith(("jit", "nn-jit")):
                for _ in range(codegen.HOT_CALLS + 1):
                    r.step(batches[p])
        codegen.wait()
    # repeats: 15, fewer where one round of every peer is slow (large), at least 5
    est = sum(last.values()) or 1e-3
    reps = a.repeats or (3 if a.quick else max(5, min(15, int(BUDGET_S / est))))
    print(f"    timing: median of {reps} interleaved repeats")
    min_time = 0.002 if a.quick else 0.03
    stats = measure_stats({p: (lambda r=r, b=batches[p]: r.step(b)) for p, r in runners.items()},
                          reps, min_time)
    bad = {ln.split(":")[0] for ln in lines if "DISAGREES" in ln}
    for p, s in stats.items():
        res.add(workload, dict(s, group=group, config=name, peer=labels[p], key=p,
                               samples_per_s=batch / s["median_s"], agrees=p not in bad,
                               first_losses=losses[p]))
    sys.stdout.flush()
    return ok


def targets(rows: list) -> list:
    """Lines saying whether the issue's targets were met, with the figures."""
    out = []
    by = {}
    for r in rows:
        by.setdefault(r["config"], {})[r["key"]] = r["median_s"]
    for cfg, t in by.items():
        for peer, base, bounds, what, src in TARGETS:
            if peer in t and base in t and cfg in bounds:
                q, bound = t[peer] / t[base], bounds[cfg]
                out.append(f"{cfg}: {what} = {q:.2f}x (target <= {bound}x, {src}: "
                           f"{'met' if q <= bound else 'MISSED'})")
    return out


def run(a, res: C.Results) -> None:
    peers = C.peer_list(a, PEERS)
    configs = [c.strip() for c in a.config.split(",")]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown config {c!r}; choose from {', '.join(CONFIGS)}")
    print(f"\n## mlp_step: one training step (float32, SGD lr {LR})\n")
    ok = all([run_config(c, peers, a, res) for c in configs])
    rows = res.workloads.get("mlp_step", {}).get("rows", [])
    C.ratios(rows)
    print(f"\nthreads in use: {C.thread_report()}\n")
    hand = {r["group"]: r["median_s"] for r in rows if r["key"] == "hand"}
    extra = (("vs numpy by hand",
              lambda r: C.fmt_x(r["median_s"] / hand[r["group"]]) if r["group"] in hand else "-"),)
    print(C.timing_table(rows, "config", extra))
    for line in targets(rows):
        print(f"- {line}")
        res.note("mlp_step", line)
    print(f"\nloss agreement: {'ok' if ok else 'FAILED'}")
    sys.stdout.flush()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else __name__).removesuffix(".__main__"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny,small,medium,large")
    ap.add_argument("--kernels", action="store_true",
                    help="also this library with AUTOGRAD_KERNELS forced to numpy and to numba")
    C.add_args(ap, ",".join(PEERS))
    a = ap.parse_args(argv)
    if a.quick and a.config == ap.get_default("config"):
        a.config = "tiny"
    C.standalone(run, a)


if __name__ == "__main__":
    main()
