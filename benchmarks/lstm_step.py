"""One LSTM training step, this library beside PyTorch eager (and JAX when installed).

    python -m benchmarks.lstm_step [--threads 2] [--peers autograd,nn,torch,jax]
        [--kernels] [--repeats N] [--quick] [--json FILE] [--plot FILE.png]

The step (issue 13): batch 64, sequences of 28 steps of 28 features (an MNIST image read row
by row), LSTM(128), Dense(10) on the last hidden state, mean softmax-cross-entropy with integer
labels, backward through time, SGD lr 0.01; float32.  Every peer starts from the same
weights on the same batch; the losses of the first three steps must agree before anything is
timed; then the peers are timed interleaved in this one process (median, IQR, min-max).
``--kernels`` adds this library with ``AUTOGRAD_KERNELS`` forced to numpy and to numba.

Variants: ``autograd`` (the functional form: ``autograd.lstm`` (one node for the sequence),
a slice of the last state, ``autograd.dense``, ``softmax_cross_entropy``, the kernels' SGD),
``nn`` (``Sequential([LSTM(128), Dense(10)])``, a loss object, ``nn.optimizers.SGD``),
PyTorch eager (``torch.nn.LSTM`` (its fused whole-sequence op), ``F.linear``,
``F.cross_entropy``, ``torch.optim.SGD``), JAX (the step under ``jax.jit``, ``lax.scan``).
"""
from __future__ import annotations

import argparse
import sys
import time

from benchmarks import _common as C

BATCH, STEPS, FEATURES, UNITS, CLASSES = 64, 28, 28, 128, 10
LR = 0.01
PEERS = ("autograd", "nn", "torch", "jax")
LABELS = {"autograd": "autograd", "nn": "nn.Model + nn.optimizers.SGD", "torch": "PyTorch eager",
          "jax": "JAX jax.jit", "autograd-numpy": "autograd, kernels=numpy",
          "autograd-numba": "autograd, kernels=numba"}
AGREE_STEPS = 3
RTOL, ATOL = 1e-4, 1e-5
#: Target from the issue: this library / PyTorch eager.
TARGET_TORCH = 1.5


class Unavailable(Exception):
    """A peer that cannot run here (the message says why)."""


def data(seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    return x, y


def init_params(seed: int = 0) -> dict:
    """Keras layouts: kernel (F, 4U), recurrent_kernel (U, 4U), bias (4U,) (forget gate 1),
    dense W (U, 10), b (10,)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    g = 4 * UNITS
    lim = np.sqrt(6.0 / (FEATURES + g))
    bias = np.zeros(g, np.float32)
    bias[UNITS:2 * UNITS] = 1.0
    q, _ = np.linalg.qr(rng.standard_normal((g, UNITS)))
    lim_d = np.sqrt(6.0 / (UNITS + CLASSES))
    return {"kernel": rng.uniform(-lim, lim, (FEATURES, g)).astype(np.float32),
            "recurrent_kernel": q.T.astype(np.float32), "bias": bias,
            "W": rng.uniform(-lim_d, lim_d, (UNITS, CLASSES)).astype(np.float32),
            "b": np.zeros(CLASSES, np.float32)}


# ----------------------------------------------------------------------------- peers
def _autograd(p, mode=None):
    import numpy as np
    import autograd as ag
    from autograd import kernels as K
    ws = {k: ag.Tensor(v.copy(), requires_grad=True) for k, v in p.items()}
    order = [ws[k] for k in ("kernel", "recurrent_kernel", "bias", "W", "b")]

    def step(batch):
        x, y = batch
        prev = K.MODE
        if mode:
            K.MODE = mode
        try:
            for w in order:
                w.grad = None
            seq = ag.lstm(x, None, None, ws["kernel"], ws["recurrent_kernel"], ws["bias"])
            logits = ag.dense(seq[:, -1, :UNITS], ws["W"], ws["b"])
            loss = ag.softmax_cross_entropy(logits, y)
            loss.backward()
            for w in order:
                K.sgd_update(w.data, w.grad, None, LR)
            return loss.data
        finally:
            K.MODE = prev
    return (lambda x, y: (x, y)), step


def _nn(p):
    import nn
    model = nn.Sequential([nn.layers.LSTM(UNITS), nn.layers.Dense(CLASSES)])
    model.build((None, STEPS, FEATURES))
    lstm, dense = model.layers
    lstm.kernel.data, lstm.recurrent_kernel.data, lstm.bias.data = \
        p["kernel"].copy(), p["recurrent_kernel"].copy(), p["bias"].copy()
    dense.kernel.data, dense.bias.data = p["W"].copy(), p["b"].copy()
    loss_fn = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = nn.optimizers.SGD(learning_rate=LR)
    opt.add_params(model.parameters())
    model.train()

    def step(batch):
        x, y = batch
        opt.zero_grad()
        loss = loss_fn(y, model(x))
        loss.backward()
        opt.step()
        return loss.data
    return (lambda x, y: (x, y)), step


def _torch(p):
    try:
        import torch
    except ImportError as e:
        raise Unavailable(f"PyTorch eager skipped: torch is not installed ({e})") from None
    import torch.nn.functional as F
    lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(p["kernel"].T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(p["recurrent_kernel"].T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(p["bias"]))
        lstm.bias_hh_l0.zero_()
    # Keras' one bias is PyTorch's bias_ih + bias_hh: train one of them, or SGD would move
    # the sum twice as fast
    lstm.bias_hh_l0.requires_grad_(False)
    W = torch.from_numpy(p["W"].T.copy()).requires_grad_()
    b = torch.from_numpy(p["b"].copy()).requires_grad_()
    opt = torch.optim.SGD([q for q in lstm.parameters() if q.requires_grad] + [W, b], lr=LR)

    def step(batch):
        x, y = batch
        opt.zero_grad()
        out, _ = lstm(x)
        loss = F.cross_entropy(F.linear(out[:, -1], W, b), y)
        loss.backward()
        opt.step()
        return loss.detach()
    return (lambda x, y: (torch.from_numpy(x), torch.from_numpy(y))), step


def _jax(p):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        raise Unavailable(f"JAX jax.jit skipped: jax is not installed (pip install jax jaxlib) "
                          f"[{e}]") from None
    params = {k: jnp.asarray(v) for k, v in p.items()}

    def loss_fn(ps, x, y):
        def cell(carry, xt):
            h, c = carry
            z = xt @ ps["kernel"] + h @ ps["recurrent_kernel"] + ps["bias"]
            i, f, g, o = jnp.split(z, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), None
        zeros = jnp.zeros((x.shape[0], UNITS), x.dtype)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
        logits = h @ ps["W"] + ps["b"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    @jax.jit
    def jstep(ps, x, y):
        loss, g = jax.value_and_grad(loss_fn)(ps, x, y)
        return jax.tree_util.tree_map(lambda a, b: a - LR * b, ps, g), loss
    state = {"p": params}

    def step(batch):
        state["p"], loss = jstep(state["p"], *batch)
        return loss.block_until_ready()
    return (lambda x, y: (jnp.asarray(x), jnp.asarray(y))), step


MAKERS = {"autograd": _autograd, "nn": _nn, "torch": _torch, "jax": _jax,
          "autograd-numpy": lambda p: _autograd(p, "numpy"),
          "autograd-numba": lambda p: _autograd(p, "numba")}


def run(a, res: C.Results) -> None:
    from benchmarks._timing import measure_stats
    workload = "lstm_step"
    peers = C.peer_list(a, PEERS)
    if getattr(a, "kernels", False):
        peers += ["autograd-numpy", "autograd-numba"]
    group = f"batch {BATCH}, {STEPS} steps x {FEATURES}, LSTM({UNITS}) + Dense({CLASSES})"
    print(f"\n## lstm_step: one LSTM training step (float32, SGD lr {LR})\n")
    x, y = data()
    p = init_params()
    steps, batches = {}, {}
    for name in peers:
        try:
            prepare, steps[name] = MAKERS[name](p)
            batches[name] = prepare(x, y)
        except Unavailable as e:
            res.skip(workload, str(e))
            print(f"- {e}")
            steps.pop(name, None)
    C.set_threads(a.threads)
    losses, last = {}, {}
    for name, f in steps.items():
        losses[name] = [C.scalar(f(batches[name])) for _ in range(AGREE_STEPS - 1)]
        t0 = time.perf_counter()
        losses[name].append(C.scalar(f(batches[name])))
        last[name] = time.perf_counter() - t0
    ref = "torch" if "torch" in losses else next(iter(losses))
    ok, lines = C.check_agreement(losses, ref, RTOL, ATOL)
    print(f"{group}: loss of the first {AGREE_STEPS} steps (same weights, same batch; rtol "
          f"{RTOL}, atol {ATOL} vs {LABELS[ref]}): {'all agree' if ok else 'DISAGREEMENT'}")
    for ln in lines:
        print(f"    {ln}")
    res.note(workload, f"{group}: loss agreement {'ok' if ok else 'FAILED'}: " + "; ".join(lines))
    est = sum(last.values()) or 1e-3
    reps = a.repeats or (3 if a.quick else max(5, min(15, int(6.0 / est))))
    print(f"    timing: median of {reps} interleaved repeats")
    stats = measure_stats({n: (lambda f=f, b=batches[n]: f(b)) for n, f in steps.items()},
                          reps, 0.002 if a.quick else 0.05)
    bad = {ln.split(":")[0] for ln in lines if "DISAGREES" in ln}
    for n, s in stats.items():
        res.add(workload, dict(s, group=group, config="lstm", peer=LABELS[n], key=n,
                               samples_per_s=BATCH / s["median_s"], agrees=n not in bad,
                               first_losses=losses[n]))
    rows = res.workloads[workload]["rows"]
    C.ratios(rows)
    print(f"\nthreads in use: {C.thread_report()}\n")
    print(C.timing_table(rows, "workload", unit="ms"))
    t = {r["key"]: r["median_s"] for r in rows}
    if "autograd" in t and "torch" in t:
        q = t["autograd"] / t["torch"]
        line = (f"lstm: autograd / PyTorch eager = {q:.2f}x (target <= {TARGET_TORCH}x: "
                f"{'met' if q <= TARGET_TORCH else 'MISSED'})")
        print(f"- {line}")
        res.note(workload, line)
    print(f"\nloss agreement: {'ok' if ok else 'FAILED'}")
    sys.stdout.flush()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else __name__).removesuffix(".__main__"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", action="store_true",
                    help="also this library with AUTOGRAD_KERNELS forced to numpy and to numba")
    C.add_args(ap, ",".join(PEERS))
    a = ap.parse_args(argv)
    C.standalone(run, a)


if __name__ == "__main__":
    main()
