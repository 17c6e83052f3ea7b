"""The two benchmark scripts run, on tiny settings, and print their markdown tables."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_kernels_benchmark_runs():
    out = _run("benchmarks.kernels", "--quick", "--dtype", "float32", "--only", "xent_sparse,sgd_update")
    assert "| kernel | size | dtype | numpy | numba |" in out
    assert "| xent_sparse fwd | 32x2 | float32 |" in out and "| sgd_update | 288 | float32 |" in out


def test_mlp_step_benchmark_runs():
    out = _run("benchmarks.mlp_step", "--quick", "--config", "tiny", "--blas-env", "asis")
    assert "| config | numpy by hand |" in out
    assert "| tiny (batch 32, 2-16-16-2) |" in out
