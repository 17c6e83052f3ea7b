"""Run by tests/test_distributed.py under ``mpiexec -n 2``:  python distributed_worker.py CASE OUT

equiv     fit(distributed=True) for SGD and Adam, batch sizes 8 and 7 (last batches of 1 and 5
          samples, so one rank's shard is empty once), and a PyTorch-style loop; rank 0 then
          trains the same models in one process and writes both to OUT/equiv.npz + .json.
mismatch  rank 1 builds a wider layer, then passes other data; both ranks catch the error.
          Then a NaN in the data: both ranks raise NonFiniteLossError at the same batch.
abort_step    rank 1's loss raises at its third call, inside fit.
abort_before  rank 1 raises before it uses MPI at all, while rank 0 is already in fit.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

import nn
from nn import distributed as dist

SEED = 3


def data(n, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)
    return x, y


def model(width=8, opt="sgd"):
    m = nn.Sequential([nn.layers.Dense(width, activation="tanh", input_dim=5, dtype="float64"),
                       nn.layers.Dense(3, dtype="float64")])
    o = nn.optimizers.SGD(learning_rate=0.1, momentum=0.9) if opt == "sgd" \
        else nn.optimizers.Adam(0.01)
    m.compile(o, nn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


def equiv(out):
    r = dist.rank()
    x, y = data(33)
    vx, vy = data(11, seed=2)
    results, hist = {}, {}
    for opt in ("sgd", "adam"):
        for bs in (8, 7):
            key = f"{opt}_b{bs}"
            nn.set_seed(SEED + 100 * r)  # other ranks start elsewhere: the broadcast must fix it
            m = model(opt=opt)
            h = m.fit(x, y, batch_size=bs, epochs=3, validation_data=(vx, vy),
                      verbose=2 if key == "sgd_b8" else 0, distributed=True)
            w = m.state_dict()
            every = dist._comm().allgather(w)
            results[key + "_rankdiff"] = np.array(max(
                float(np.max(np.abs(e[k] - w[k]))) for e in every for k in w))
            m.save_weights(os.path.join(out, f"w_rank{r}.npz"))
            if r == 0:
                nn.set_seed(SEED)
                ref = model(opt=opt)
                href = ref.fit(x, y, batch_size=bs, epochs=3, validation_data=(vx, vy),
                               verbose=0)
                for k, v in w.items():
                    results[f"{key}_dist_{k}"] = v
                    results[f"{key}_ref_{k}"] = ref.state_dict()[k]
                hist[key] = {"dist": h.history, "ref": href.history}
    # PyTorch-style loop with the parts: broadcast, shard, seeded backward, allreduce
    nn.set_seed(SEED + 100 * r)
    m = model()
    m.build((None, 5))
    dist.broadcast_parameters(m)
    opt = nn.optimizers.SGD(m.parameters(), learning_rate=0.1)
    for b in range(0, len(x), 8):
        xb, yb = x[b:b + 8], y[b:b + 8]
        s = dist.shard(len(xb))
        opt.zero_grad()
        k = s.stop - s.start
        if k:
            loss = m.loss(yb[s], m(xb[s]))
            loss.backward(np.asarray(k / len(xb)))
        dist.allreduce_gradients(m, average=False)
        opt.step()
    if r == 0:
        nn.set_seed(SEED)
        ref = model()
        ref.build((None, 5))
        ropt = nn.optimizers.SGD(ref.parameters(), learning_rate=0.1)
        for b in range(0, len(x), 8):
            ropt.zero_grad()
            ref.loss(y[b:b + 8], ref(x[b:b + 8])).backward()
            ropt.step()
        for k, v in m.state_dict().items():
            results[f"loop_dist_{k}"] = v
            results[f"loop_ref_{k}"] = ref.state_dict()[k]
        np.savez(os.path.join(out, "equiv.npz"), **results)
        with open(os.path.join(out, "equiv.json"), "w") as f:
            json.dump(hist, f)


def mismatch(out):
    r = dist.rank()
    x, y = data(20)
    for what in ("model", "data"):
        nn.set_seed(SEED)
        m = model(width=9 if (what == "model" and r == 1) else 8)
        xr = x + 1.0 if (what == "data" and r == 1) else x
        try:
            m.fit(xr, y, batch_size=4, epochs=1, verbose=0, distributed=True)
        except dist.RankMismatchError as e:
            sys.stdout.write(f"MISMATCH {what} rank {r}: {e}|\n")  # one write: no interleaving
            sys.stdout.flush()
    # a NaN in one sample: both ranks see it in the reduced loss and raise the same error
    xn = x.copy()
    xn[13, 2] = np.nan
    nn.set_seed(SEED)
    m = model()
    before = m.state_dict()
    try:
        m.fit(xn, y, batch_size=4, epochs=1, verbose=0, shuffle=False, distributed=True)
    except nn.NonFiniteLossError as e:
        same = all(np.array_equal(v, m.state_dict()[k]) for k, v in before.items())
        sys.stdout.write(f"NONFINITE rank {r} changed={not same}: {e}|\n")
        sys.stdout.flush()


def abort_step(out):
    r = dist.rank()
    x, y = data(40)
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    calls = [0]

    def flaky(yt, yp):
        calls[0] += 1
        if r == 1 and calls[0] == 3:
            raise RuntimeError("boom in the loss on rank 1")
        return loss(yt, yp)

    m = model()
    m.compile("sgd", flaky)
    m.fit(x, y, batch_size=8, epochs=50, verbose=0, distributed=True)


def abort_before(out):
    x, y = data(40)
    # the launcher's rank, read without touching MPI: the hook armed by `import nn` must act
    if os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK")) == "1":
        raise FileNotFoundError("rank 1 could not read its data")
    m = model()
    m.fit(x, y, batch_size=8, epochs=50, verbose=0, distributed=True)


if __name__ == "__main__":
    globals()[sys.argv[1]](sys.argv[2])
