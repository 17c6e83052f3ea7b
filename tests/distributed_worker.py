"""Run by tests/test_distributed.py under ``mpiexec -n 2``:  python distributed_worker.py CASE OUT

equiv     fit(distributed=True) for SGD and Adam, batch sizes 8 and 7 (last batches of 1 and 5
          samples, so one rank's shard is empty once), and a PyTorch-style loop; rank 0 then
          trains the same models in one process and writes both to OUT/equiv.npz + .json.
jit_equiv the equiv fits (SGD, Adam; batch sizes 8 and 7) with jit_compile=True and eagerly,
          both on 2 ranks; counts the compiled shard steps; then a model with Dropout under
          True and "auto" (trains eagerly); rank 0 writes OUT/jit.npz + .json.
mismatch  rank 1 builds a wider layer, then passes other data; both ranks catch the error.
          Then a NaN in the data: both ranks raise NonFiniteLossError at the same batch.
abort_step    rank 1's loss raises at its third call, inside fit.
abort_before  rank 1 raises before it uses MPI at all, while rank 0 is already in fit.

No hangs (each must end the whole job; the test bounds it with a timeout):
leave_exc     rank 1's callback raises at epoch 2, batch 2; its script catches it and returns.
exit_fit      rank 1's callback calls sys.exit(0) at epoch 2, batch 2.
return_before rank 1 fails reading its data, catches it and returns, never using MPI.
return_midway after one fit together, rank 1 returns while rank 0 starts a second fit.
loop_leave    a PyTorch-style loop with the parts: rank 1 stops after 2 steps and returns.
start_epoch   a callback moves rank 1's first epoch (as a backup found on rank 1 only would).
start_error   rank 1 passes batch_size=0: both ranks raise (a RankMismatchError on rank 0), both
              catch it and then train together.
stop_root     EarlyStopping(restore_best_weights=True) on rank 0 alone.
stop_one      model.stop_training = True on rank 1 alone, after batch 3 of epoch 1.
watchdog      rank 1 sleeps in a callback at epoch 1, batch 3; AUTOGRAD_DIST_TIMEOUT is set.
watchdog_set  nn.distributed.set_timeout(1.5); rank 1 sleeps at the end of epoch 1.
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


def jit_equiv(out):
    import warnings
    from autograd.errors import JitFallbackWarning
    from nn import compiled
    warnings.simplefilter("error", JitFallbackWarning)   # the compiled step must not fall back
    calls = []
    call = compiled.Compiled.call
    compiled.Compiled.call = lambda self, f, *a: calls.append(1) or call(self, f, *a)
    r = dist.rank()
    x, y = data(33)
    vx, vy = data(11, seed=2)
    results, hist = {}, {}
    for opt in ("sgd", "adam"):
        for bs in (8, 7):
            key = f"{opt}_b{bs}"
            runs = {}
            for jc in (True, False):
                nn.set_seed(SEED + 100 * r)
                m = model(opt=opt)
                m.compile(m.optimizer, m.loss, metrics=["accuracy"], jit_compile=jc)
                before = len(calls)
                h = m.fit(x, y, batch_size=bs, epochs=3, validation_data=(vx, vy), verbose=0,
                          distributed=True)
                results[f"{key}_{jc}_calls"] = np.array(dist._comm().allgather(
                    len(calls) - before))
                w = m.state_dict()
                every = dist._comm().allgather(w)
                results[f"{key}_{jc}_rankdiff"] = np.array(max(
                    float(np.max(np.abs(e[k] - w[k]))) for e in every for k in w))
                for k, v in w.items():
                    results[f"{key}_{jc}_w_{k}"] = v
                runs[str(jc)] = h.history
            hist[key] = runs
    # Dropout + BatchNormalization: the compiled shard step draws the masks and updates the
    # moving statistics at each replay, exactly as the eager step (no fallback warning)
    for mode in (True, "auto", False):
        nn.set_seed(SEED)
        m = nn.Sequential([nn.layers.Dense(8, input_dim=5, dtype="float64"),
                           nn.layers.Dropout(0.3, dtype="float64"),
                           nn.layers.BatchNormalization(dtype="float64"),
                           nn.layers.Dense(3, dtype="float64")])
        m.compile("sgd", nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=mode)
        before = len(calls)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = m.fit(x, y, batch_size=8, epochs=2, verbose=0, distributed=True)
        results[f"dropout_{mode}_calls"] = np.array(len(calls) - before)
        hist[f"dropout_{mode}"] = [str(w.message) for w in caught
                                   if issubclass(w.category, JitFallbackWarning)]
        hist[f"dropout_{mode}_loss"] = h.history["loss"]
        for k, v in m.state_dict().items():
            results[f"dropout_{mode}_w_{k}"] = v
    if r == 0:
        np.savez(os.path.join(out, "jit.npz"), **results)
        with open(os.path.join(out, "jit.json"), "w") as f:
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


def _say(line):
    sys.stdout.write(line + "|\n")          # one write per line: the ranks' lines do not mix
    sys.stdout.flush()


def _on_rank(r, **hooks):
    return [nn.callbacks.LambdaCallback(**hooks)] if dist.rank() == r else []


def _crc(m):
    import zlib
    return f"{zlib.crc32(b''.join(v.tobytes() for v in m.state_dict().values())):08x}"


def leave_exc(out):
    x, y = data(40)

    def fail(b, logs):
        if m._epoch == 1 and b == 1:
            raise ValueError("callback failed on rank 1")
    m = model()
    try:
        m.fit(x, y, batch_size=8, epochs=50, verbose=0, distributed=True,
              callbacks=_on_rank(1, on_train_batch_begin=fail))
    except ValueError:
        return                              # a script that carries on as if nothing happened
    _say(f"FINISHED rank {dist.rank()}")


def exit_fit(out):
    x, y = data(40)

    def leave(b, logs):
        if m._epoch == 1 and b == 1:
            sys.exit(0)
    m = model()
    m.fit(x, y, batch_size=8, epochs=50, verbose=0, distributed=True,
          callbacks=_on_rank(1, on_train_batch_begin=leave))
    _say(f"FINISHED rank {dist.rank()}")


def return_before(out):
    if os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK")) == "1":
        try:
            raise FileNotFoundError("rank 1 could not read its data")
        except FileNotFoundError:
            return                          # quietly: the job must still end
    x, y = data(40)
    m = model()
    m.fit(x, y, batch_size=8, epochs=50, verbose=0, distributed=True)
    _say(f"FINISHED rank {dist.rank()}")


def return_midway(out):
    x, y = data(40)
    m = model()
    m.fit(x, y, batch_size=8, epochs=1, verbose=0, distributed=True)
    _say(f"FIRST FIT DONE rank {dist.rank()}")
    if dist.rank() == 1:
        return
    m.fit(x, y, batch_size=8, epochs=50, verbose=0, distributed=True)
    _say(f"FINISHED rank {dist.rank()}")


def loop_leave(out):
    x, y = data(64)
    m = model()
    m.build((None, 5))
    dist.broadcast_parameters(m)
    opt = nn.optimizers.SGD(m.parameters(), learning_rate=0.1)
    for step, b in enumerate(range(0, len(x), 8)):
        if dist.rank() == 1 and step == 2:
            return                          # leaves the loop, and the script, early
        s = dist.shard(8)
        opt.zero_grad()
        m.loss(y[b:b + 8][s], m(x[b:b + 8][s])).backward(np.asarray(0.5))
        dist.allreduce_gradients(m, average=False)
        opt.step()
    _say(f"FINISHED rank {dist.rank()}")


def start_epoch(out):
    r = dist.rank()
    x, y = data(40)
    m = model()

    class Resume(nn.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if r == 1:
                self.model._initial_epoch = 2
    try:
        m.fit(x, y, batch_size=8, epochs=5, verbose=0, distributed=True, callbacks=[Resume()])
    except dist.RankMismatchError as e:
        _say(f"EPOCH rank {r} {e}")
    h = m.fit(x, y, batch_size=8, epochs=2, verbose=0, distributed=True)
    _say(f"AFTER rank {r} epochs={len(h.epoch)} w={_crc(m)}")


def start_error(out):
    r = dist.rank()
    x, y = data(40)
    m = model()
    try:
        m.fit(x, y, batch_size=0 if r == 1 else 8, epochs=2, verbose=0, distributed=True)
    except ValueError as e:
        _say(f"START rank {r} {type(e).__name__}: {e}")
    h = m.fit(x, y, batch_size=8, epochs=2, verbose=0, distributed=True)
    _say(f"AFTER rank {r} epochs={len(h.epoch)} w={_crc(m)}")


def stop_root(out):
    r = dist.rank()
    x, y = data(40)
    m = model()
    seen = {}

    def keep(epoch, logs):
        seen[epoch] = _crc(m)
    cbs = [nn.callbacks.LambdaCallback(on_epoch_end=keep)]
    if r == 0:   # no improvement can beat min_delta: stops after epoch 2, restores epoch 1
        cbs.append(nn.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=1e9,
                                              restore_best_weights=True))
    h = m.fit(x, y, batch_size=8, epochs=20, verbose=0, distributed=True, callbacks=cbs)
    _say(f"STOP rank {r} epochs={len(h.epoch)} stop={m.stop_training} w={_crc(m)} "
         f"epoch1={seen[0]}")


def stop_one(out):
    r = dist.rank()
    x, y = data(40)
    m = model()
    steps = []

    def stop(b, logs):
        if m._epoch == 0 and b == 2:
            m.stop_training = True
    cbs = [nn.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(b))]
    h = m.fit(x, y, batch_size=8, epochs=20, verbose=0, distributed=True,
              callbacks=cbs + _on_rank(1, on_train_batch_end=stop))
    _say(f"STOP rank {r} epochs={len(h.epoch)} steps={len(steps)} w={_crc(m)}")


def _sleep_on_rank_1(hook, epoch, batch=None):
    import time

    def nap(*args):
        if m._epoch == epoch and (batch is None or args[0] == batch):
            time.sleep(60)
    x, y = data(40)
    m = model()
    m.fit(x, y, batch_size=8, epochs=50, verbose=0, distributed=True,
          callbacks=_on_rank(1, **{hook: nap}))
    _say(f"FINISHED rank {dist.rank()}")


def watchdog(out):
    _sleep_on_rank_1("on_train_batch_begin", 0, 2)


def watchdog_set(out):
    dist.set_timeout(1.5)
    _sleep_on_rank_1("on_epoch_end", 0)


if __name__ == "__main__":
    globals()[sys.argv[1]](sys.argv[2])
