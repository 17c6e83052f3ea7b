"""The eager ``nn`` training step per optimizer: the dispatcher's kernels beside numpy's.

    python -m benchmarks.optim_step [--config medium,large] [--optimizers sgd,momentum,adam,rmsprop]
        [--peers auto,numpy,torch] [--threads 2] [--repeats N] [--quick] [--json FILE]

The model, data and weights of ``benchmarks.mlp_step`` (a float32 ReLU MLP, mean
softmax-cross-entropy with integer labels), built as ``nn.Sequential`` of Dense layers and
trained eagerly: ``opt.zero_grad(); loss(y, model(x)).backward(); opt.step()``.  Per config
and optimizer, the variants are this library with the kernels ``auto`` picks (numba from
``kernels.SGD_MIN``/``ADAM_MIN`` elements), this library with ``AUTOGRAD_KERNELS`` forced to
numpy (the twins), and PyTorch eager with the same optimizer and hyperparameters
(``torch.optim``, skipped when torch is absent).  Two rows each: the whole step, and
``opt.step()`` alone (the gradients of one backward, stepped again and again).  This
library's two variants are timed interleaved; PyTorch after them, apart (its OpenMP threads
spin after a step and slow whatever runs next on two cores).

Before timing, ``auto`` and numpy-forced train three steps from the same weights and the
weights must be the same bits (the numba updates round as the numpy twins do); the output
says whether they are, and PyTorch's losses of those steps are checked to agree (float32,
rtol 1e-4, as ``mlp_step``; Adam's and RMSprop's first updates are nearly sign(g) lr, so
float32 rounding grows quickly over later steps, in every library).
Optimizers: SGD lr 0.01 (``sgd``), with momentum 0.9 (``momentum``), Adam lr 1e-3 (epsilon
1e-7), RMSprop lr 1e-3 (rho 0.9, epsilon 1e-7).
"""
from __future__ import annotations

import argparse
import hashlib

from benchmarks import _common as C
from benchmarks.mlp_step import CONFIGS, data

PEERS = ("auto", "numpy", "torch")
LABELS = {"auto": "nn, kernels=auto", "numpy": "nn, kernels=numpy", "torch": "PyTorch eager"}
AGREE_STEPS = 3
RTOL, ATOL = 1e-4, 1e-5          # float32, as benchmarks.mlp_step
BUDGET_S = 2.0                    # timed seconds per variant and row, roughly


#: Per optimizer, the same settings in both libraries: (nn.optimizers class, its
#: arguments), (torch.optim class, its arguments).
SETTINGS = {
    "sgd": (("SGD", dict(learning_rate=0.01)), ("SGD", dict(lr=0.01))),
    "momentum": (("SGD", dict(learning_rate=0.01, momentum=0.9)),
                 ("SGD", dict(lr=0.01, momentum=0.9))),
    "adam": (("Adam", dict(learning_rate=1e-3, epsilon=1e-7)),
             ("Adam", dict(lr=1e-3, eps=1e-7))),
    "rmsprop": (("RMSprop", dict(learning_rate=1e-3, rho=0.9, epsilon=1e-7)),
                ("RMSprop", dict(lr=1e-3, alpha=0.9, eps=1e-7))),
}


def _nn_opt(kind: str, params: list):
    import nn
    name, kw = SETTINGS[kind][0]
    return getattr(nn.optimizers, name)(params, **kw)


def _torch_opt(kind: str, params: list):
    import torch
    name, kw = SETTINGS[kind][1]
    return getattr(torch.optim, name)(params, **kw)


class _NN:
    """This library's eager step, with the kernels mode set around each call."""

    def __init__(self, mode: str, kind: str, params: list, x, y) -> None:
        import nn
        from benchmarks import _peers
        self.mode, self.x, self.y = mode, x, y
        self.model = _peers.build_nn_model(params)
        self.opt = _nn_opt(kind, self.model.parameters())
        self.loss_fn = nn.losses.SparseCategoricalCrossentropy(from_logits=True)

    def _with_mode(self, f):
        from autograd import kernels as K
        prev, K.MODE = K.MODE, self.mode
        try:
            return f()
        finally:
            K.MODE = prev

    def step(self):
        def f():
            self.opt.zero_grad()
            loss = self.loss_fn(self.y, self.model(self.x))
            loss.backward()
            self.opt.step()
            return loss
        return self._with_mode(f)

    def update(self):
        return self._with_mode(self.opt.step)

    def digest(self) -> str:
        return hashlib.sha256(b"".join(p.data.tobytes() for p in self.model.parameters())
                              ).hexdigest()[:16]


class _Torch:
    def __init__(self, kind: str, params: list, x, y) -> None:
        import torch
        layers = []
        for i, (W, b) in enumerate(params):
            lin = torch.nn.Linear(*W.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(params) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.opt = _torch_opt(kind, self.model.parameters())
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.F = torch.nn.functional

    def step(self):
        self.opt.zero_grad()
        loss = self.F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def update(self):
        self.opt.step()


OPTIMIZERS = tuple(SETTINGS)


def run(a, res: C.Results) -> None:
    from benchmarks._timing import measure_stats
    peers = C.peer_list(a, PEERS)
    kinds = [k.strip() for k in a.optimizers.split(",") if k.strip()]
    bad = [k for k in kinds if k not in OPTIMIZERS]
    if bad:
        raise SystemExit(f"unknown optimizer(s) {bad}; choose from {', '.join(OPTIMIZERS)}")
    configs = [c.strip() for c in a.config.split(",") if c.strip()]
    bad = [c for c in configs if c not in CONFIGS]
    if bad:
        raise SystemExit(f"unknown config(s) {bad}; choose from {', '.join(CONFIGS)}")
    print("\n## optim_step: the eager nn training step per optimizer (float32)\n")
    reps = a.repeats or (3 if a.quick else 11)
    budget = 0.05 if a.quick else BUDGET_S
    from benchmarks import _peers
    all_same = True
    for cfg in configs:
        batch, sizes = CONFIGS[cfg]
        x, y = data(batch, sizes)
        params = _peers.init_params(sizes)
        for kind in kinds:
            group = f"{cfg} (batch {batch}, {'-'.join(map(str, sizes))}), {kind}"
            runners = {}
            for p in peers:
                try:
                    runners[p] = _Torch(kind, params, x, y) if p == "torch" else \
                        _NN(p, kind, params, x, y)
                except ImportError as e:
                    msg = f"{LABELS[p]} skipped: {e}"
                    res.skip("optim_step", msg)
                    print(f"- {msg}")
            C.set_threads(a.threads)
            losses = {p: [C.scalar(r.step()) for _ in range(AGREE_STEPS)]
                      for p, r in runners.items()}
            notes = []
            if "auto" in runners and "numpy" in runners:
                same = runners["auto"].digest() == runners["numpy"].digest()
                all_same &= same
                notes.append(f"weights after {AGREE_STEPS} steps, auto vs numpy: "
                             f"{'the same bits' if same else 'DIFFERENT'}")
            ref = next((p for p in ("numpy", "auto") if p in losses), None)
            if ref is not None and len(losses) > 1:
                ok, lines = C.check_agreement(losses, ref, RTOL, ATOL)
                notes.append(f"losses of the first {AGREE_STEPS} steps (rtol {RTOL}): "
                             + ", ".join(f"{LABELS[ln.split(':')[0]]}:{ln.split(':', 1)[1]}"
                                         for ln in lines))
            print(f"{group}: " + "; ".join(notes))
            res.note("optim_step", f"{group}: " + "; ".join(notes))
            for what, attr in (("step", "step"), ("opt.step", "update")):
                # this library's variants interleaved; PyTorch after them, on its own: its
                # OpenMP threads keep spinning after its step and slowed whichever variant
                # ran next (auto's medium SGD step read 1.09x numpy's beside it, 0.95x alone)
                stats = {}
                for batch_ in ([p for p in runners if p != "torch"], ["torch"]):
                    batch_ = [p for p in batch_ if p in runners]
                    if batch_:
                        stats.update(measure_stats({p: getattr(runners[p], attr)
                                                    for p in batch_}, repeats=reps,
                                                   min_time=budget / max(reps, 1) / 4))
                for p in runners:
                    res.add("optim_step", dict(stats[p], group=f"{group}: {what}",
                                               peer=LABELS[p], key=p))
    rows = res.workloads.get("optim_step", {}).get("rows", [])
    C.ratios(rows)
    numpy_t = {r["group"]: r["median_s"] for r in rows if r["key"] == "numpy"}
    extra = (("vs kernels=numpy", lambda r: C.fmt_x(r["median_s"] / numpy_t[r["group"]])
              if r["group"] in numpy_t else "-"),)
    print(f"\nthreads in use: {C.thread_report()}\n")
    print(C.timing_table(rows, "config, optimizer: timed", extra=extra))
    print(f"\nauto and numpy-forced weights: {'the same bits' if all_same else 'DIFFERENT'}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.optim_step",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="medium,large")
    ap.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    C.add_args(ap, ",".join(PEERS))
    a = ap.parse_args(argv)
    if a.quick and a.config == ap.get_default("config"):
        a.config = "tiny"
    if a.quick and a.optimizers == ap.get_default("optimizers"):
        a.optimizers = "adam"
    C.standalone(run, a)


if __name__ == "__main__":
    main()
