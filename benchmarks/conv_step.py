"""One float32 CNN training step, this library beside PyTorch eager (and JAX jit if installed).

    python -m benchmarks.conv_step [--workload digits_cnn,lenet] [--threads 2]
        [--peers autograd,nn,torch,jax] [--kernels] [--repeats N] [--quick] [--json FILE]

The step: forward, mean softmax cross-entropy on integer labels, backward, SGD (lr 0.01).
Every peer starts from the same weights on the same batch (PyTorch's layouts are the
transposes of Keras'), the losses of the first three steps are checked to agree, then the
peers are timed interleaved in this one process (median, quartiles, min-max).

Peers: ``autograd`` (the functional form: ``autograd.conv2d``, ``relu``, ``max_pool2d``,
``dense``, ``softmax_cross_entropy``, the kernels' SGD update), ``nn`` (``nn.Sequential`` of
Conv2D/MaxPooling2D/Flatten/Dense layers with ``nn.optimizers.SGD``), ``torch`` (PyTorch
eager, ``torch.optim.SGD``), ``jax`` (the whole step under ``jax.jit``).  Peers that are not
installed are skipped with a line.

``WORKLOADS`` lists the architectures; each entry is a ``Workload`` (batch, input shape,
layer spec, target vs PyTorch).  A workload that is not a plain conv stack (the LSTM one)
gives its own ``makers`` (peer name -> ``(params, lr) -> Runner``) and ``init``.

``--kernels`` instead times the convolution and pooling kernels alone, numba vs numpy (the
figures behind ``CONV_DIRECT_MAX`` and ``POOL_NUMBA_MIN`` in ``autograd/kernels/conv.py``).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from benchmarks import _common as C

LR = 0.01
PEERS = ("autograd", "nn", "torch", "jax")
AGREE_STEPS = 3
RTOL, ATOL = 2e-4, 1e-5
BUDGET_S = 6.0


@dataclass
class Workload:
    """One architecture.  ``layers``: ('conv', filters, k, padding, act) | ('pool', 2) |
    ('flatten',) | ('dense', units, act).  ``makers``/``init`` override the conv-stack
    defaults (for workloads of another shape, such as an LSTM)."""
    batch: int
    input_shape: tuple
    classes: int
    layers: list
    target: float
    text: str
    makers: Optional[dict] = None
    init: Optional[Callable] = None
    notes: list = field(default_factory=list)


WORKLOADS = {
    "digits_cnn": Workload(64, (8, 8, 1), 10, [
        ("conv", 16, 3, "same", "relu"), ("pool", 2), ("conv", 32, 3, "same", "relu"),
        ("pool", 2), ("flatten",), ("dense", 10, None)], 1.0,
        "8x8x1 -> Conv(16,3x3,same,relu) -> MaxPool2 -> Conv(32,3x3,same,relu) -> MaxPool2 -> "
        "Flatten -> Dense(10)"),
    "lenet": Workload(64, (28, 28, 1), 10, [
        ("conv", 32, 3, "valid", "relu"), ("pool", 2), ("conv", 64, 3, "valid", "relu"),
        ("pool", 2), ("flatten",), ("dense", 128, "relu"), ("dense", 10, None)], 1.2,
        "28x28x1 -> Conv(32,3x3,valid,relu) -> MaxPool2 -> Conv(64,3x3,valid,relu) -> MaxPool2 "
        "-> Flatten -> Dense(128,relu) -> Dense(10)"),
}


class Runner:
    """prepare(x, y) -> batch; step(batch) -> loss."""

    def __init__(self, prepare: Callable, step: Callable) -> None:
        self.prepare, self.step = prepare, step


class Unavailable(Exception):
    pass


def init_params(w: Workload, seed: int = 0) -> list:
    """Keras-layout float32 weights: conv (kh, kw, in, out) + bias, dense (in, out) + bias.
    Dense inputs after Flatten are in channels_last (H, W, C) order."""
    import numpy as np
    rng = np.random.default_rng(seed)
    h, wd, c = w.input_shape
    params, n_in = [], None
    for spec in w.layers:
        if spec[0] == "conv":
            _, f, k, pad, _ = spec
            lim = np.sqrt(6.0 / (k * k * (c + f)))
            params += [rng.uniform(-lim, lim, (k, k, c, f)).astype(np.float32),
                       (0.01 * rng.standard_normal(f)).astype(np.float32)]
            if pad == "valid":
                h, wd = h - k + 1, wd - k + 1
            c = f
        elif spec[0] == "pool":
            h, wd = h // spec[1], wd // spec[1]
        elif spec[0] == "flatten":
            n_in = h * wd * c
        else:
            units = spec[1]
            lim = np.sqrt(6.0 / (n_in + units))
            params += [rng.uniform(-lim, lim, (n_in, units)).astype(np.float32),
                       (0.01 * rng.standard_normal(units)).astype(np.float32)]
            n_in = units
    return params


def data(w: Workload, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((w.batch,) + w.input_shape).astype(np.float32)
    y = rng.integers(0, w.classes, w.batch).astype(np.int64)
    return x, y


# ----------------------------------------------------------------------------- peers
def make_autograd(w: Workload, params: list, lr: float) -> Runner:
    import numpy as np
    import autograd as ag
    from autograd import kernels as K
    ps = [ag.Tensor(p.copy(), requires_grad=True) for p in params]

    def step(batch):
        x, y = batch
        h, i = x, 0
        for spec in w.layers:
            if spec[0] == "conv":
                h = ag.conv2d(h, ps[i], ps[i + 1], padding=spec[3])
                h = ag.relu(h) if spec[4] == "relu" else h
                i += 2
            elif spec[0] == "pool":
                h = ag.max_pool2d(h, spec[1])
            elif spec[0] == "flatten":
                h = ag.reshape(h, (h.shape[0], -1))
            else:
                h = ag.dense(h, ps[i], ps[i + 1], activation=spec[2])
                i += 2
        loss = ag.softmax_cross_entropy(h, y)
        for p in ps:
            p.grad = None
        loss.backward()
        for p in ps:
            K.sgd_update(p.data, p.grad, None, lr)
        return loss.data
    return Runner(lambda x, y: (x, y), step)


def make_nn(w: Workload, params: list, lr: float) -> Runner:
    import nn
    from autograd import softmax_cross_entropy
    L = nn.layers
    layers = []
    for spec in w.layers:
        if spec[0] == "conv":
            layers.append(L.Conv2D(spec[1], spec[2], padding=spec[3], activation=spec[4]))
        elif spec[0] == "pool":
            layers.append(L.MaxPooling2D(spec[1]))
        elif spec[0] == "flatten":
            layers.append(L.Flatten())
        else:
            layers.append(L.Dense(spec[1], activation=spec[2]))
    model = nn.Sequential(layers)
    model.build((None,) + w.input_shape)
    weighted = [m for m in layers if getattr(m, "kernel", None) is not None]
    it = iter(params)
    for m in weighted:
        m.kernel.data[...] = next(it)
        m.bias.data[...] = next(it)
    opt = nn.optimizers.SGD(model.parameters(), learning_rate=lr)

    def step(batch):
        x, y = batch
        loss = softmax_cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.data
    return Runner(lambda x, y: (x, y), step)


def make_torch(w: Workload, params: list, lr: float) -> Runner:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        raise Unavailable("PyTorch eager skipped: torch is not installed") from None
    import numpy as np
    ts, it = [], iter(params)
    h, wd, c = w.input_shape
    for spec in w.layers:                       # Keras layouts -> PyTorch's
        if spec[0] == "conv":
            k, b = next(it), next(it)
            ts += [torch.tensor(k.transpose(3, 2, 0, 1).copy()), torch.tensor(b)]
            if spec[3] == "valid":
                h, wd = h - spec[2] + 1, wd - spec[2] + 1
            c = spec[1]
        elif spec[0] == "pool":
            h, wd = h // spec[1], wd // spec[1]
        elif spec[0] == "dense":
            k, b = next(it), next(it)
            if len(ts) and ts[-1].ndim == 1 and ts[-2].ndim == 4:     # first dense: NCHW rows
                k = k.reshape(h, wd, c, -1).transpose(2, 0, 1, 3).reshape(h * wd * c, -1)
            ts += [torch.tensor(np.ascontiguousarray(k.T)), torch.tensor(b)]
    for t in ts:
        t.requires_grad_(True)
    opt = torch.optim.SGD(ts, lr=lr)

    def step(batch):
        x, y = batch
        hh, i = x, 0
        for spec in w.layers:
            if spec[0] == "conv":
                hh = F.conv2d(hh, ts[i], ts[i + 1], padding=spec[3])
                hh = F.relu(hh) if spec[4] == "relu" else hh
                i += 2
            elif spec[0] == "pool":
                hh = F.max_pool2d(hh, spec[1])
            elif spec[0] == "flatten":
                hh = hh.flatten(1)
            else:
                hh = F.linear(hh, ts[i], ts[i + 1])
                hh = F.relu(hh) if spec[2] == "relu" else hh
                i += 2
        loss = F.cross_entropy(hh, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()
    return Runner(lambda x, y: (torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
                                torch.from_numpy(y)), step)


def make_jax(w: Workload, params: list, lr: float) -> Runner:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Unavailable("JAX jit skipped: jax is not installed") from None
    ps = [jnp.asarray(p) for p in params]

    def loss_fn(ps, x, y):
        h, i = x, 0
        for spec in w.layers:
            if spec[0] == "conv":
                h = jax.lax.conv_general_dilated(h, ps[i], (1, 1), spec[3].upper(),
                                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
                h = h + ps[i + 1]
                h = jax.nn.relu(h) if spec[4] == "relu" else h
                i += 2
            elif spec[0] == "pool":
                s = spec[1]
                h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, s, s, 1), (1, s, s, 1),
                                          "VALID")
            elif spec[0] == "flatten":
                h = h.reshape(h.shape[0], -1)
            else:
                h = h @ ps[i] + ps[i + 1]
                h = jax.nn.relu(h) if spec[2] == "relu" else h
                i += 2
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], 1))

    @jax.jit
    def jstep(ps, x, y):
        loss, g = jax.value_and_grad(loss_fn)(ps, x, y)
        return [p - lr * gi for p, gi in zip(ps, g)], loss

    state = {"ps": ps}

    def step(batch):
        state["ps"], loss = jstep(state["ps"], *batch)
        return loss.block_until_ready()
    return Runner(lambda x, y: (jnp.asarray(x), jnp.asarray(y)), step)


MAKERS = {"autograd": make_autograd, "nn": make_nn, "torch": make_torch, "jax": make_jax}
LABELS = {"autograd": "autograd (functional)", "nn": "nn.Sequential + SGD",
          "torch": "PyTorch eager", "jax": "JAX jit"}


# ----------------------------------------------------------------------------- running
def run_workload(name: str, peers: list, a, res: C.Results) -> bool:
    from benchmarks._timing import measure_stats
    w = WORKLOADS[name]
    group = f"{name} (batch {w.batch}, {w.text})"
    x, y = data(w)
    params = (w.init or init_params)(w)
    makers = dict(MAKERS, **(w.makers or {}))
    runners, batches, losses, last = {}, {}, {}, {}
    for p in peers:
        if p not in makers:
            continue
        try:
            runners[p] = makers[p](w, params, LR)
        except Unavailable as e:
            res.skip("conv_step", str(e))
            print(f"- {e}")
    C.set_threads(a.threads)
    for p, r in list(runners.items()):
        try:
            batches[p] = r.prepare(x, y)
            losses[p] = [C.scalar(r.step(batches[p])) for _ in range(AGREE_STEPS - 1)]
            t0 = time.perf_counter()
            losses[p].append(C.scalar(r.step(batches[p])))
            last[p] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - a peer that breaks is reported, not fatal
            msg = f"{LABELS.get(p, p)} skipped: failed on {name} ({type(e).__name__}: {e})"
            res.skip("conv_step", msg)
            print(f"- {msg}")
            runners.pop(p)
            losses.pop(p, None)
    ref = "torch" if "torch" in losses else next(iter(losses))
    ok, lines = C.check_agreement(losses, ref, RTOL, ATOL)
    print(f"\n{group}: loss of the first {AGREE_STEPS} steps (same weights, same batch; rtol "
          f"{RTOL}, atol {ATOL} vs {LABELS.get(ref, ref)}): {'all agree' if ok else 'DISAGREEMENT'}")
    for ln in lines:
        print(f"    {ln}")
    res.note("conv_step", f"{group}: loss agreement {'ok' if ok else 'FAILED'}")
    est = sum(last.values()) or 1e-3
    reps = a.repeats or (3 if a.quick else max(5, min(15, int(BUDGET_S / est))))
    stats = measure_stats({p: (lambda r=r, b=batches[p]: r.step(b)) for p, r in runners.items()},
                          reps, 0.002 if a.quick else 0.03)
    for p, s in stats.items():
        res.add("conv_step", dict(s, group=group, config=name, peer=LABELS.get(p, p), key=p,
                                  samples_per_s=w.batch / s["median_s"], first_losses=losses[p]))
    return ok


def targets(rows: list) -> list:
    out, by = [], {}
    for r in rows:
        by.setdefault(r["config"], {})[r["key"]] = r["median_s"]
    for cfg, t in by.items():
        w = WORKLOADS[cfg]
        for ours in ("autograd", "nn"):
            if ours in t and "torch" in t:
                q = t[ours] / t["torch"]
                out.append(f"{cfg}: {LABELS[ours]} / PyTorch eager = {q:.2f}x (target <= "
                           f"{w.target}x: {'met' if q <= w.target else 'MISSED'})")
    return out


def run(a, res: C.Results) -> None:
    peers = C.peer_list(a, PEERS)
    names = [n.strip() for n in a.workload.split(",") if n.strip()]
    for n in names:
        if n not in WORKLOADS:
            raise SystemExit(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")
    print(f"\n## conv_step: one CNN training step (float32, SGD lr {LR})\n")
    ok = all([run_workload(n, peers, a, res) for n in names])
    rows = res.workloads.get("conv_step", {}).get("rows", [])
    C.ratios(rows)
    print(f"\nthreads in use: {C.thread_report()}\n")
    print(C.timing_table(rows, "workload"))
    for line in targets(rows):
        print(f"- {line}")
        res.note("conv_step", line)
    print(f"\nloss agreement: {'ok' if ok else 'FAILED'}")
    sys.stdout.flush()


def kernels_table(a) -> None:
    """Convolution (direct numba loop vs im2col + BLAS) and pooling (numba vs numpy) kernels."""
    import numpy as np
    from autograd import kernels as K
    from benchmarks._timing import measure_stats
    C.set_threads(a.threads)
    rng = np.random.default_rng(0)
    reps = a.repeats or (3 if a.quick else 15)
    conv_cases = [(64, 8, 1, 16, 1), (64, 8, 4, 8, 1), (64, 4, 16, 32, 1), (64, 28, 1, 32, 0)]
    if a.quick:
        conv_cases = conv_cases[:1]
    print("\n| conv (N, HxWxC -> F, 3x3) | kh*kw*C*F | direct fwd/dx/dk µs | im2col fwd/dx/dk µs "
          "| direct / im2col |\n|---|---:|---:|---:|---:|")
    for n, hw, c, f, p in conv_cases:
        x = rng.random((n, hw, hw, c), dtype=np.float32)
        k = rng.random((3, 3, c, f), dtype=np.float32)
        geo = ((1, 1), (1, 1), ((p, p), (p, p)), 1)
        with K.forced("numpy"):
            g = np.ones_like(K.conv_forward(x, k, *geo))
        t = {}
        for mode in ("numba", "numpy"):
            def fwd(m=mode):
                with K.forced(m):
                    K.conv_forward(x, k, *geo)

            def dx(m=mode):
                with K.forced(m):
                    K.conv_input_grad(g, k, x.shape, *geo)

            def dk(m=mode):
                with K.forced(m):
                    K.conv_kernel_grad(x, g, k.shape, *geo)
            s = measure_stats({"f": fwd, "x": dx, "k": dk}, reps, 0.01)
            t[mode] = [s[q]["median_s"] * 1e6 for q in "fxk"]
        print(f"| {n}, {hw}x{hw}x{c} -> {f} | {9 * c * f} | {'/'.join(f'{v:.0f}' for v in t['numba'])}"
              f" | {'/'.join(f'{v:.0f}' for v in t['numpy'])} | {sum(t['numba']) / sum(t['numpy']):.2f}x |")
    print("\n| max pool 2x2 (N, H, W, C) | numba fwd/bwd µs | numpy fwd/bwd µs |\n|---|---:|---:|")
    for shape in [(64, 8, 8, 16), (64, 4, 4, 32)] + ([] if a.quick else [(64, 26, 26, 32)]):
        x = rng.random(shape, dtype=np.float32)
        geo = ((2, 2), (2, 2), ((0, 0), (0, 0)))
        t = {}
        for mode in ("numba", "numpy"):
            with K.forced(mode):
                y, arg = K.max_pool_forward(x, *geo)
            g = np.ones_like(y)

            def fw(m=mode):
                with K.forced(m):
                    K.max_pool_forward(x, *geo)

            def bw(m=mode, arg=arg):
                with K.forced(m):
                    K.max_pool_backward(g, arg, x.shape, *geo)
            s = measure_stats({"f": fw, "b": bw}, reps, 0.01)
            t[mode] = [s[q]["median_s"] * 1e6 for q in "fb"]
        print(f"| {shape} | {'/'.join(f'{v:.0f}' for v in t['numba'])} | "
              f"{'/'.join(f'{v:.0f}' for v in t['numpy'])} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m " + (__spec__.name if __spec__ else __name__).removesuffix(".__main__"),
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default=",".join(WORKLOADS))
    ap.add_argument("--kernels", action="store_true",
                    help="time the conv and pooling kernels alone, numba vs numpy")
    C.add_args(ap, ",".join(PEERS))
    a = ap.parse_args(argv)
    if a.kernels:
        C.set_threads(a.threads)
        C.print_header(C.header())
        kernels_table(a)
        return
    if a.quick and a.workload == ap.get_default("workload"):
        a.workload = "digits_cnn"
    C.standalone(run, a)


if __name__ == "__main__":
    main()
