"""Time and accuracy to train an MLP on the shipped digits to >= 97% held-out accuracy.

    python -m benchmarks.digits [--peers fit,hand,autograd,nn,torch,jax,mygrad,tinygrad]
        [--target 0.97] [--max-epochs 40] [--repeats N] [--quick] [--json FILE] [--plot FILE.png]

``nn.datasets.load_digits()`` scaled to [0, 1], split 80/20 with seed 0 (1438 train, 359
held out).  MLP 64-128-64-10 (ReLU, linear last layer, float32), mean softmax-cross-entropy,
SGD lr 0.05 momentum 0.9, batches of 32 in a fresh shuffled order each epoch (the same
orders for everyone: those of ``nn``'s generator after ``nn.set_seed(0)``, which is what
``fit`` draws).  After every epoch the held-out accuracy is measured; a run stops at the
first epoch that reaches the target.  Time is from building the peer's model (its JIT
compiles included) to that evaluation, held-out evaluations included.

``fit`` is ``nn.Model.compile`` + ``fit`` (the Keras path, with a callback that evaluates
and stops); the other variants are explicit loops over the same steps as ``mlp_step``.
"""
from __future__ import annotations

import argparse
import sys
import time

from benchmarks import _common as C

SIZES = [64, 128, 64, 10]
LR, MOMENTUM, BATCH, SEED = 0.05, 0.9, 32, 0
PEERS = ("fit", "hand", "autograd", "nn", "torch", "jax", "mygrad", "tinygrad")
AGREE_STEPS = 3
RTOL, ATOL = 1e-4, 1e-5


def load():
    import nn
    x, y = nn.datasets.load_digits()
    x = x / 16.0
    return nn.datasets.train_test_split(x, y, test_size=0.2, seed=SEED)


def _orders(n: int, epochs: int):
    import numpy as np
    rng = np.random.default_rng(SEED)        # what nn.set_seed(SEED) gives fit
    return [rng.permutation(n) for _ in range(epochs)]


def train_loop(peer: str, params, data, target: float, max_epochs: int) -> dict:
    """Explicit loop with one of the mlp peers; returns figures of the run."""
    from benchmarks import _peers
    xtr, xte, ytr, yte = data
    orders = _orders(len(xtr), max_epochs)
    t0 = time.perf_counter()
    r = _peers.make(peer, params, LR, MOMENTUM)
    first, epoch_t, acc = [], [], 0.0
    for e in range(max_epochs):
        te = time.perf_counter()
        order = orders[e]
        for s in range(0, len(order), BATCH):
            idx = order[s:s + BATCH]
            loss = r.step(r.prepare(xtr[idx], ytr[idx]))
            if len(first) < AGREE_STEPS:      # now: a JIT may reuse its output buffer
                first.append(C.scalar(loss))
        acc = float((r.predict(xte).argmax(1) == yte).mean())
        epoch_t.append(time.perf_counter() - te)
        if acc >= target:
            break
    return {"seconds": time.perf_counter() - t0, "epochs": len(epoch_t), "accuracy": acc,
            "epoch_s": epoch_t, "first_losses": first}


def train_fit(params, data, target: float, max_epochs: int) -> dict:
    """The Keras path: compile + fit with a callback that evaluates and stops."""
    import numpy as np
    import nn
    from benchmarks._peers import build_nn_model
    xtr, xte, ytr, yte = data
    t0 = time.perf_counter()
    model = build_nn_model(params)
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=LR, momentum=MOMENTUM),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    out = {"first": [], "epoch_s": [], "accuracy": 0.0}

    class Probe(nn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_batch_end(self, batch, logs=None):
            if len(out["first"]) < AGREE_STEPS:     # logs hold running means: undo them
                mean = logs["loss"]
                k = batch + 1
                out["first"].append(mean * k - sum(out["first"][:batch]))

        def on_epoch_end(self, epoch, logs=None):
            pred = model.predict(xte, batch_size=len(xte))
            out["accuracy"] = float((np.argmax(pred, 1) == yte).mean())
            out["epoch_s"].append(time.perf_counter() - self.t)
            if out["accuracy"] >= target:
                self.model.stop_training = True

    nn.set_seed(SEED)
    model.fit(xtr, ytr, batch_size=BATCH, epochs=max_epochs, verbose=0, callbacks=[Probe()])
    return {"seconds": time.perf_counter() - t0, "epochs": len(out["epoch_s"]),
            "accuracy": out["accuracy"], "epoch_s": out["epoch_s"], "first_losses": out["first"]}


LABELS = {"fit": "nn.Model.fit (compile + fit)"}


def run(a, res: C.Results) -> None:
    import statistics
    from benchmarks import _peers
    from benchmarks._timing import summary
    peers = C.peer_list(a, PEERS)
    labels = dict(_peers.PEERS, **LABELS)
    data = load()
    max_epochs = a.max_epochs or (2 if a.quick else 40)
    target = a.target
    params = _peers.init_params(SIZES, seed=SEED)
    print(f"\n## digits: MLP {'-'.join(map(str, SIZES))} to >= {target:.0%} held-out accuracy "
          f"({len(data[0])} train / {len(data[1])} held out; SGD lr {LR} momentum {MOMENTUM}, "
          f"batch {BATCH}; at most {max_epochs} epochs)\n")

    def once(p, epochs=max_epochs):
        if p == "fit":
            return train_fit(params, data, target, epochs)
        return train_loop(p, params, data, target, epochs)

    runs: dict = {}
    for p in peers:                       # warm-up: one epoch (imports, numba, caches)
        try:
            runs[p] = [once(p, 1)]
        except _peers.Unavailable as e:
            res.skip("digits", str(e))
            print(f"- {e}")
    C.set_threads(a.threads)
    reps = a.repeats or (1 if a.quick else 3)
    for _ in range(reps):                 # interleaved
        for p in runs:
            runs[p].append(once(p))
    losses = {p: rs[-1]["first_losses"] for p, rs in runs.items()}
    ref = "hand" if "hand" in losses else next(iter(losses))
    ok, lines = C.check_agreement(losses, ref, RTOL, ATOL)
    print(f"loss of the first {AGREE_STEPS} steps (same weights, same batches; rtol {RTOL}, "
          f"atol {ATOL} vs {labels[ref]}): {'all agree' if ok else 'DISAGREEMENT'}")
    for ln in lines:
        print(f"    {labels[ln.split(':')[0]]}:{ln.split(':', 1)[1]}")
    res.note("digits", f"loss agreement {'ok' if ok else 'FAILED'}: " + "; ".join(lines))
    rows = []
    group = f">= {target:.0%}"
    for p, rs in runs.items():
        timed = rs[1:]
        s = summary([r["seconds"] for r in timed])
        steady = [t for r in timed for t in r["epoch_s"][1:]] or [timed[-1]["epoch_s"][0]]
        last = timed[-1]
        reached = all(r["accuracy"] >= target for r in timed)
        row = dict(s, group=group, peer=labels[p], key=p, epochs=last["epochs"],
                   accuracy=last["accuracy"], reached=reached,
                   epoch_s=statistics.median(steady),
                   samples_per_s=len(data[0]) * last["epochs"] / s["median_s"],
                   first_losses=losses[p])
        rows.append(row)
        res.add("digits", row)
    C.ratios(rows)
    extra = (("epochs", lambda r: str(r["epochs"])),
             ("held-out acc", lambda r: f"{r['accuracy']:.2%}" + ("" if r["reached"] else " (not reached)")),
             ("ms/epoch after the first", lambda r: f"{r['epoch_s'] * 1e3:.1f}"))
    print(f"\nthreads in use: {C.thread_report()}; median of {reps} runs after a one-epoch warm-up; "
          f"time = build + train + one held-out evaluation per epoch\n")
    print(C.timing_table(rows, "target", extra, unit="ms").replace("median ms", "median ms to target"))
    print(f"\nloss agreement: {'ok' if ok else 'FAILED'}")
    sys.stdout.flush()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else __name__).removesuffix(".__main__"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--target", type=float, default=0.97)
    ap.add_argument("--max-epochs", type=int, default=None, help="default 40 (2 with --quick)")
    C.add_args(ap, ",".join(PEERS))
    C.standalone(run, ap.parse_args(argv))


if __name__ == "__main__":
    main()
