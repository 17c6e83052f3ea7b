"""Data-parallel training step on MPI: step time, scaling efficiency and Allreduce time.

    python -m benchmarks.distributed [--ranks 1,2] [--repeats 15] [--steps 20] [--rounds 3]
                                     [--batch 128] [--sizes 784,256,128,10] [--quick]

The medium config (batch 128, 784-256-128-10 MLP, float32, ReLU, logits +
sparse softmax cross-entropy, SGD): one step of ``fit(distributed=True)`` (shard, forward,
backward, one Allreduce of every gradient + loss, optimizer step) timed under
``mpiexec -n R`` for each R, against the plain one-process ``fit`` step.  Every process gets
OMP/OPENBLAS/MKL/NUMBA threads = 1, so R ranks use R cores and do not fight BLAS threads
(a plain process with 2 BLAS threads is shown for reference).  Strong scaling keeps the
global batch (each rank gets batch/R); weak scaling keeps batch per rank (global batch R*128).

Step time: per repeat, the mean of ``--steps`` steps on the slowest rank (the job moves at its
pace); the table gives the median and quartiles of the repeats, pooled over ``--rounds``
rounds that run the setups in turn (so load from other users hits each alike).  Allreduce
time is the time spent inside the step's Allreduce: the minimum over ranks is close to the
transfer itself, the maximum includes waiting for the slower rank; "compute" is the rest of
the step (shard forward/backward, packing, optimizer), on the slowest rank.  "Allreduce
alone" is the same buffer reduced with no compute in between.  On a loaded machine, ranks
that are descheduled in turn wait for each other inside the Allreduce, which shows as a
large minimum there while "Allreduce alone" stays small.

Since fit(distributed=True) polls its collectives (non-blocking ``Iallreduce`` + ``Test``,
so a rank that ended or a watchdog timeout can end the job), two more columns: the same
buffer reduced by a polled ``Iallreduce`` alone (beside the blocking ``Allreduce`` alone), and
the per-step stop flag (``DataParallel.agree_stop``: a polled one-byte ``Iallreduce``, MAX)
alone, which fit adds to every step so that a stop on one rank stops all.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--sizes", default="784,256,128,10")
    ap.add_argument("--repeats", type=int, default=15, help="repeats per round")
    ap.add_argument("--steps", type=int, default=20, help="steps per repeat")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="few repeats (smoke test)")
    ap.add_argument("--worker", choices=["plain", "mpi"], help=argparse.SUPPRESS)
    ap.add_argument("--weak", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


# ---------------------------------------------------------------------- in each process
def _model(sizes):
    import nn
    nn.set_seed(0)
    layers = [nn.layers.Dense(sizes[1], activation="relu", input_dim=sizes[0], dtype="float32")]
    layers += [nn.layers.Dense(s, activation="relu", dtype="float32") for s in sizes[2:-1]]
    layers += [nn.layers.Dense(sizes[-1], dtype="float32")]
    m = nn.Sequential(layers)
    m.compile(nn.optimizers.SGD(learning_rate=1e-3),
              nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.build((None, sizes[0]))
    m.optimizer.add_params(m.parameters())
    return m


def _data(batch, sizes):
    import numpy as np
    rng = np.random.default_rng(0)
    return (rng.standard_normal((batch, sizes[0])).astype(np.float32),
            rng.integers(0, sizes[-1], batch))


def _worker(a):
    sizes = [int(s) for s in a.sizes.split(",")]
    if a.worker == "plain":
        m = _model(sizes)
        x, y = _data(a.batch, sizes)
        for _ in range(5):
            m._train_step(x, y, m.optimizer)
        steps = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                m._train_step(x, y, m.optimizer)
            steps.append((time.perf_counter() - t0) / a.steps)
        print(json.dumps({"step": steps, "compute": steps}))
        return
    import numpy as np
    from mpi4py import MPI
    from nn import distributed as dist
    comm = MPI.COMM_WORLD
    batch = a.batch * comm.Get_size() if a.weak else a.batch
    m = _model(sizes)
    x, y = _data(batch, sizes)
    dp = dist.DataParallel(m, x, y, batch, 1, False)
    for _ in range(5):
        dp.train_step(x, y)
    rec = {"step": [], "compute": [], "comm_min": [], "comm_max": [], "alone": [],
           "polled": [], "flag": []}
    buf = np.zeros_like(dp.buf)
    for _ in range(a.repeats):
        comm.Barrier()
        c0, t0 = dp.comm_seconds, time.perf_counter()
        for _ in range(a.steps):
            dp.train_step(x, y)
        t = (time.perf_counter() - t0) / a.steps
        c = (dp.comm_seconds - c0) / a.steps
        comm.Barrier()
        t1 = time.perf_counter()
        for _ in range(a.steps):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        alone = (time.perf_counter() - t1) / a.steps
        comm.Barrier()
        t1 = time.perf_counter()
        for _ in range(a.steps):
            dist._wait(comm.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM), "benchmark")
        polled = (time.perf_counter() - t1) / a.steps
        comm.Barrier()
        t1 = time.perf_counter()
        for _ in range(a.steps):
            dp.agree_stop(False)
        flag = (time.perf_counter() - t1) / a.steps
        rec["polled"].append(comm.allreduce(polled, op=MPI.MAX))
        rec["flag"].append(comm.allreduce(flag, op=MPI.MAX))
        rec["step"].append(comm.allreduce(t, op=MPI.MAX))
        rec["compute"].append(comm.allreduce(t - c, op=MPI.MAX))
        rec["comm_min"].append(comm.allreduce(c, op=MPI.MIN))
        rec["comm_max"].append(comm.allreduce(c, op=MPI.MAX))
        rec["alone"].append(comm.allreduce(alone, op=MPI.MAX))
    if comm.Get_rank() == 0:
        rec["buffer_bytes"] = int(dp.buf.nbytes)
        print(json.dumps(rec))


# ---------------------------------------------------------------------- the driver
def _mpiexec():
    exe = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
    if exe is None:
        sys.exit("benchmarks.distributed: no mpiexec found; pip install -e '.[distributed]'")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    return [exe] + (["--allow-run-as-root", "--oversubscribe"] if "Open MPI" in out else [])


def _run(cmd, threads):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update({k: str(threads) for k in ONE_THREAD})
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"benchmarks.distributed: {' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _quart(s):
    s = sorted(s)
    k = len(s)
    return s[k // 2], s[k // 4], s[(3 * k) // 4]


def _ms(t):
    return f"{t * 1e3:.2f} ms"


def main(argv=None):
    a = _args(argv)
    if a.worker:
        return _worker(a)
    if a.quick:
        a.repeats, a.steps, a.rounds = 3, 3, 1
    ranks = [int(r) for r in a.ranks.split(",")]
    mpi = _mpiexec()
    common = ["--batch", str(a.batch), "--sizes", a.sizes, "--repeats", str(a.repeats),
              "--steps", str(a.steps)]
    me = [sys.executable, "-m", "benchmarks.distributed"]
    setups = [("plain", 1, False, 1), ("plain", 1, False, 2)]
    setups += [("mpi", r, weak, 1) for weak in (False, True) for r in ranks
               if not (weak and r == 1)]
    pooled: dict = {}
    for _ in range(a.rounds):
        for s in setups:
            kind, r, weak, threads = s
            cmd = me + ["--worker", "plain"] + common if kind == "plain" else \
                mpi + ["-n", str(r)] + me + ["--worker", "mpi"] + common + \
                (["--weak"] if weak else [])
            rec = _run(cmd, threads)
            dst = pooled.setdefault(s, {})
            for k, v in rec.items():
                dst.setdefault(k, []).extend(v if isinstance(v, list) else [v])
    base = _quart(pooled[("plain", 1, False, 1)]["step"])[0]
    sizes = a.sizes.replace(",", "-")
    print(f"### Data-parallel step, batch {a.batch}, {sizes}, float32 "
          f"({a.rounds} rounds x {a.repeats} repeats x {a.steps} steps)\n")
    print("| setup | ranks | global batch | per rank | step time, median (IQR) | samples/s "
          "| scaling efficiency | compute (step - Allreduce), slowest rank "
          "| Allreduce in step, min-max over ranks | Allreduce alone | Iallreduce alone, polled "
          "| stop flag per step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    nbytes = None
    for s in setups:
        kind, r, weak, threads = s
        rec = pooled[s]
        med, q1, q3 = _quart(rec["step"])
        gb = a.batch * r if weak else a.batch
        if kind == "plain":
            name = f"plain fit step, {threads} BLAS thread{'s' if threads > 1 else ''}, no MPI"
            eff = "1.00 (baseline)" if threads == 1 else f"{base / med:.2f} (speed-up)"
            comm = alone = polled = flag = "-"
        else:
            name = f"fit(distributed=True), {'weak' if weak else 'strong'} scaling"
            eff = f"{(base / med) if weak else base / (r * med):.2f}"
            comm = f"{_ms(_quart(rec['comm_min'])[0])} - {_ms(_quart(rec['comm_max'])[0])}"
            alone = _ms(_quart(rec["alone"])[0])
            polled = _ms(_quart(rec["polled"])[0])
            flag = f"{_quart(rec['flag'])[0] * 1e6:.0f} us"
            nbytes = rec["buffer_bytes"][0]
        print(f"| {name} | {r} | {gb} | {gb // r} | {_ms(med)} ({_ms(q1)}-{_ms(q3)}) "
              f"| {gb / med:,.0f} | {eff} | {_ms(_quart(rec['compute'])[0])} | {comm} "
              f"| {alone} | {polled} | {flag} |")
    print(f"\nEfficiency: strong = t(plain, 1 thread) / (ranks x t(ranks)); weak = t(plain, "
          f"batch {a.batch}) / t(ranks, {a.batch} per rank); 1.00 is perfect.  Every process "
          f"runs with OMP/OPENBLAS/MKL/NUMBA threads = 1 (except the 2-thread reference row).  "
          f"Allreduce buffer: {nbytes:,} bytes (every gradient + has-grad flags + loss) per "
          f"step." if nbytes else "")


if __name__ == "__main__":
    main()
