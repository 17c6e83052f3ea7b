"""Per-step cost of the eager training step: Python calls (deterministic) and time.

    python -m benchmarks.step_profile [--config tiny,small] [--steps 200] [--root PATH]
        [--top N] [--time] [--ab ROOT_A,ROOT_B --rounds 5]

The step is mlp_step's (``benchmarks._peers``): ``autograd`` is the functional form (one
fused ``dense`` node per layer, ``softmax_cross_entropy``, the kernels' SGD update) and
``nn`` is ``nn.Sequential`` + a loss object + ``nn.optimizers.SGD``.

- Calls per step: the Python function calls cProfile counts over ``--steps`` steps (after
  warm-up), divided by the steps.  Unlike a timing this does not move with the machine's
  load, so it compares two versions of the code exactly.  ``--top N`` lists the functions
  with the most calls per step.
- ``--time``: median per-step time of numpy by hand, autograd and nn, interleaved in this
  one process (as mlp_step does), and each one's ratio to numpy by hand.
- ``--root PATH``: import ``autograd`` and ``nn`` from another checkout (e.g. an older
  commit's worktree) instead of this one, for before/after figures.
- ``--ab A,B``: run ``--time`` in fresh processes alternately with ``--root A`` and
  ``--root B``, ``--rounds`` times each, and print the median ratio of each side; with the
  load average before and after (shared machines: alternating spreads the load over both).
- ``--callgrind``: machine instructions per step, counted by valgrind's callgrind (one
  fresh process per config and variant, ``PYTHONHASHSEED=0``, one BLAS thread, counting only
  inside the ``--steps`` timed steps, after warm-up): deterministic, so load-independent, for
  before/after figures on a shared machine (``--root`` picks the checkout).  Under valgrind
  numpy runs without AVX-512, so SIMD-heavy work (float64 ``exp``) weighs more than on the
  CPU; the Python overhead, what the eager trims cut, counts as it runs.
- ``--pingpong A,B``: one worker process per checkout, both alive at once, taking turns
  in short chunks (``--chunk`` steps of one variant, then the other worker), ``--rounds``
  turns each; prints the median per-step wall time and CPU time (``time.process_time``:
  the time the process ran, which other processes' load changes much less than wall time)
  of hand, autograd and nn on each side, and B's change against A.  The fairest
  before/after comparison on a loaded machine.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys


def _import_root(root: str | None) -> None:
    if root is None:
        return
    root = os.path.abspath(root)
    for mod in [m for m in sys.modules if m.split(".")[0] in ("autograd", "nn")]:
        del sys.modules[mod]
    sys.path.insert(0, root)


def _runners(config: str):
    from benchmarks import _peers
    from benchmarks.mlp_step import CONFIGS, data
    batch, sizes = CONFIGS[config]
    x, y = data(batch, sizes)
    params = _peers.init_params(sizes)
    out = {}
    for p in ("hand", "autograd", "nn"):
        r = _peers.make(p, params, 0.01)
        b = r.prepare(x, y)
        out[p] = (lambda r=r, b=b: r.step(b))
    return out


def calls_per_step(step, steps: int, top: int = 0):
    import cProfile
    import pstats
    for _ in range(5):
        step()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(steps):
        step()
    pr.disable()
    st = pstats.Stats(pr)
    total = st.total_calls / steps
    rows = []
    if top:
        for (fn, line, name), (cc, nc, tt, ct, callers) in st.stats.items():
            rows.append((nc / steps, f"{os.path.relpath(fn) if fn != '~' else ''}:{line}({name})"))
        rows.sort(reverse=True)
    return total, rows[:top]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.step_profile",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny,small")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--root", default=None, help="import autograd and nn from this checkout")
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ab", default=None, help="ROOT_A,ROOT_B: alternate --time runs")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pingpong", default=None, help="ROOT_A,ROOT_B: workers taking turns")
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--callgrind", action="store_true",
                    help="instructions per step (valgrind callgrind), hand/autograd/nn")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cg-variant", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.cg_variant:
        return _cg_worker(a)
    if a.callgrind:
        return _callgrind(a)
    if a.worker:
        return _worker(a)
    if a.pingpong:
        return _pingpong(a)
    if a.ab:
        return _ab(a)
    from benchmarks import _common as C
    C.set_threads(a.threads)
    _import_root(a.root)
    import autograd
    print(f"# autograd from {os.path.dirname(os.path.dirname(autograd.__file__))}")
    for cfg in a.config.split(","):
        runners = _runners(cfg)
        for p in ("autograd", "nn"):
            total, rows = calls_per_step(runners[p], a.steps, a.top)
            print(f"{cfg:7s} {p:9s} calls/step {total:7.1f}")
            for n, where in rows:
                print(f"      {n:6.1f}  {where}")
        if a.time:
            from benchmarks._timing import measure_stats
            C.set_threads(a.threads)
            s = measure_stats(runners, a.repeats, 0.03)
            h = s["hand"]["median_s"]
            for p in ("hand", "autograd", "nn"):
                m = s[p]["median_s"]
                print(f"{cfg:7s} {p:9s} time/step {m * 1e6:8.1f} us  ratio {m / h:5.2f}x")
        sys.stdout.flush()


def _cg_worker(a) -> None:
    """Warm up, then ``--steps`` steps inside ``functools.reduce``: callgrind counts only
    there (``--toggle-collect=functools_reduce``)."""
    import functools
    _import_root(a.root)
    f = _runners(a.config)[a.cg_variant]
    for _ in range(20):
        f()
    functools.reduce(lambda acc, _: f(), range(a.steps), None)


def _callgrind(a) -> None:
    import shutil
    import tempfile
    vg = shutil.which("valgrind")
    if vg is None:
        print("# valgrind not found: install it (apt-get install valgrind) for --callgrind")
        return
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    root = os.path.abspath(a.root) if a.root else os.getcwd()
    print(f"# callgrind instructions per step ({a.steps} steps after 20 warm-up), "
          f"autograd from {root}")
    for cfg in a.config.split(","):
        counts = {}
        for p in ("hand", "autograd", "nn"):
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "callgrind.out")
                cmd = [vg, "--tool=callgrind", "--collect-atstart=no",
                       "--toggle-collect=functools_reduce", f"--callgrind-out-file={out}",
                       sys.executable, "-m", "benchmarks.step_profile", "--cg-variant", p,
                       "--config", cfg, "--steps", str(a.steps), "--root", root]
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
                total = None
                if os.path.exists(out):
                    with open(out) as fh:
                        for line in fh:
                            if line.startswith(("summary:", "totals:")):
                                total = int(line.split()[1])
                                break
            counts[p] = total / a.steps if total else None
            n = counts[p]
            ratio = (f"  ratio {n / counts['hand']:.2f}x" if n and counts.get("hand") else "")
            print(f"{cfg:7s} {p:9s} instructions/step {n or float('nan'):12,.0f}{ratio}")
            sys.stdout.flush()


def _worker(a) -> None:
    """Reads ``config variant steps`` lines, runs them, answers ``wall cpu`` seconds."""
    import time
    from benchmarks import _common as C
    C.set_threads(a.threads)
    _import_root(a.root)
    runners = {cfg: _runners(cfg) for cfg in a.config.split(",")}
    C.set_threads(a.threads)
    for r in runners.values():
        for f in r.values():
            for _ in range(20):
                f()
    print("ready", flush=True)
    for line in sys.stdin:
        cfg, p, n = line.split()
        f = runners[cfg][p]
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(int(n)):
            f()
        print(f"{time.perf_counter() - t0} {time.process_time() - c0}", flush=True)


def _pingpong(a) -> None:
    import statistics
    roots = a.pingpong.split(",")
    procs = []
    for root in roots:
        cmd = [sys.executable, "-m", "benchmarks.step_profile", "--worker", "--root", root,
               "--config", a.config, "--threads", str(a.threads)]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1))
    for pr in procs:
        assert pr.stdout.readline().strip() == "ready"
    print(f"# load before: {os.getloadavg()}")
    wall: dict = {}
    cpu: dict = {}
    variants = ("hand", "autograd", "nn")
    for k in range(a.rounds):
        for cfg in a.config.split(","):
            for p in variants:
                order = range(len(procs)) if k % 2 == 0 else reversed(range(len(procs)))
                for j in order:
                    procs[j].stdin.write(f"{cfg} {p} {a.chunk}\n")
                    procs[j].stdin.flush()
                    w, c = map(float, procs[j].stdout.readline().split())
                    wall.setdefault((cfg, p, j), []).append(w / a.chunk)
                    cpu.setdefault((cfg, p, j), []).append(c / a.chunk)
    for pr in procs:
        pr.stdin.close()
        pr.wait()
    print(f"# load after: {os.getloadavg()}")
    print(f"# {a.rounds} turns of {a.chunk} steps per variant and side; medians (us/step); "
          f"ratio = to numpy by hand on the same side")
    med = statistics.median
    for cfg in a.config.split(","):
        for p in variants:
            cells = []
            for j, root in enumerate(roots):
                wm, cm = med(wall[(cfg, p, j)]), med(cpu[(cfg, p, j)])
                rw = wm / med(wall[(cfg, "hand", j)])
                rc = cm / med(cpu[(cfg, "hand", j)])
                cells.append(f"{os.path.basename(root.rstrip('/'))}: wall {wm * 1e6:7.1f} ({rw:.2f}x) "
                             f"cpu {cm * 1e6:7.1f} ({rc:.2f}x)")
            cw = med(wall[(cfg, p, len(roots) - 1)]) / med(wall[(cfg, p, 0)]) - 1
            cc = med(cpu[(cfg, p, len(roots) - 1)]) / med(cpu[(cfg, p, 0)]) - 1
            print(f"{cfg:7s} {p:9s} " + " | ".join(cells) +
                  f" | change wall {100 * cw:+.1f}% cpu {100 * cc:+.1f}%")
    sys.stdout.flush()


def _ab(a) -> None:
    import statistics
    roots = a.ab.split(",")
    res: dict = {}
    print(f"# load before: {os.getloadavg()}")
    for k in range(a.rounds):
        for root in roots:
            cmd = [sys.executable, "-m", "benchmarks.step_profile", "--config", a.config,
                   "--steps", "20", "--root", root, "--time", "--repeats", str(a.repeats),
                   "--threads", str(a.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                f = line.split()
                if len(f) >= 6 and f[2] == "time/step":
                    res.setdefault((f[0], f[1], root), []).append(float(f[6].rstrip("x")))
                elif len(f) >= 4 and f[2] == "calls/step":
                    res.setdefault((f[0], f[1] + "-calls", root), [float(f[3])])
    print(f"# load after: {os.getloadavg()}")
    print(f"# {a.rounds} alternating rounds; median ratio to numpy by hand (all ratios)")
    for cfg in a.config.split(","):
        for p in ("autograd", "nn"):
            cells = []
            for root in roots:
                r = res.get((cfg, p, root), [])
                c = res.get((cfg, p + "-calls", root), [0])[0]
                cells.append(f"{root}: {statistics.median(r):.2f}x "
                             f"[{' '.join(f'{v:.2f}' for v in r)}] {c:.0f} calls")
            base = statistics.median(res[(cfg, p, roots[0])])
            new = statistics.median(res[(cfg, p, roots[-1])])
            print(f"{cfg:7s} {p:9s} " + " | ".join(cells) + f" | change {100 * (new / base - 1):+.1f}%")


if __name__ == "__main__":
    main()
