"""benchmarks.lstm_step and benchmarks.seq_kernels run on their smallest settings, PyTorch
hidden (the LSTM step must then skip it with a line and agree with itself)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SITE = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "jax", "jaxlib", "threadpoolctl"):
            raise ImportError(f"No module named {name!r} (hidden by the smoke test)")
        return None
sys.meta_path.insert(0, _Hide())
"""


def _run(tmp_path, *args):
    (tmp_path / "sitecustomize.py").write_text(_SITE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(tmp_path), ROOT)))
    r = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_lstm_step_runs_and_skips_missing_peers(tmp_path):
    js = tmp_path / "l.json"
    out = _run(tmp_path, "benchmarks.lstm_step", "--quick", "--repeats", "1", "--threads", "1",
               "--json", str(js))
    assert "PyTorch eager skipped" in out and "JAX jax.jit skipped" in out
    assert "loss agreement: ok" in out
    keys = {r["key"] for r in json.loads(js.read_text())["workloads"]["lstm_step"]["rows"]}
    assert keys == {"autograd", "nn"}


def test_seq_kernels_benchmark_runs(tmp_path):
    out = _run(tmp_path, "benchmarks.seq_kernels", "--quick", "--repeats", "1", "--threads", "1")
    assert "| layer_norm_fwd | 16x32 |" in out and "| gru step bwd | 32x64 |" in out
