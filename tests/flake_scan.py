"""Run the test suite N times under different hypothesis seeds and count the failures.

An overnight-style scan for tests that depend on chance (issue 17)::

    python tests/flake_scan.py --runs 20                  # the whole default suite
    python tests/flake_scan.py --runs 5 tests/test_fuzz.py -- -k wild_arrays

Each run uses the ``scan`` hypothesis profile (random, 60 examples, no example database, so
no run replays another's failure) and ``--hypothesis-seed=<start + i>``.  Prints one line per
run and then a table: each failing test id with the number of runs it failed in.  Exit status
1 when any run failed (0 otherwise), so it can gate a nightly job.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def run_once(seed: int, paths: list[str], extra: list[str], timeout: float,
             log_dir: str | None = None) -> tuple[str, list[str], float]:
    """One pytest run; returns (status, failing test ids, seconds).  With ``log_dir``, a
    failing run's output (the tracebacks) is kept there as ``seed-<seed>.txt``."""
    env = dict(os.environ, AUTOGRAD_HYPOTHESIS_PROFILE="scan")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--hypothesis-seed={seed}", *paths, *extra]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", [f"<run timed out after {timeout:.0f} s>"], time.perf_counter() - t0
    dt = time.perf_counter() - t0
    failed = FAILED.findall(p.stdout)
    if p.returncode in (0, 5):
        return "ok", [], dt
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
        with open(os.path.join(log_dir, f"seed-{seed}.txt"), "w") as fh:
            fh.write(p.stdout + p.stderr)
    return "failed", failed or [f"<pytest exit {p.returncode}>"], dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="number of runs (default 20)")
    ap.add_argument("--start-seed", type=int, default=1, help="seed of the first run")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per run")
    ap.add_argument("--log-dir", default=None,
                    help="write each failing run's pytest output to DIR/seed-N.txt")
    ap.add_argument("paths", nargs="*", help="test paths (default: the suite's testpaths)")
    args, extra = ap.parse_known_args(argv)
    extra = [e for e in extra if e != "--"]
    counts: collections.Counter = collections.Counter()
    bad_runs = 0
    for i in range(args.runs):
        seed = args.start_seed + i
        status, failed, dt = run_once(seed, args.paths, extra, args.timeout, args.log_dir)
        bad_runs += status != "ok"
        counts.update(set(failed))
        print(f"run {i + 1}/{args.runs} seed={seed}: {status} in {dt:.0f} s"
              + (f" ({len(failed)} failing)" if failed else ""), flush=True)
        for test in failed:         # named as they happen: a long scan can be read mid-way
            print(f"    {test}", flush=True)
    print(f"\n{bad_runs} of {args.runs} runs failed")
    for test, n in counts.most_common():
        print(f"{n:4d}  {test}")
    return 1 if bad_runs else 0


if __name__ == "__main__":
    sys.exit(main())
