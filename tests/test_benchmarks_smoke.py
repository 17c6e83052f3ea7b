"""The benchmark suite runs on its smallest settings with only the hard dependencies.

Peers (PyTorch, JAX, MyGrad, tinygrad, micrograd) and the optional helpers (threadpoolctl,
matplotlib) are hidden from the child processes by a ``sitecustomize`` that refuses to
import them, so these tests see what a machine with numpy, numba, pytest and hypothesis
sees, whatever this one has installed: every workload must still print its table, skip
each peer with a line, and pass its loss-agreement check.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HIDDEN = ("torch", "jax", "jaxlib", "mygrad", "tinygrad", "micrograd", "threadpoolctl",
          "matplotlib")

_SITE = f"""
import sys
_HIDDEN = {HIDDEN!r}
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _HIDDEN:
            raise ImportError(f"No module named {{name!r}} (hidden by the smoke test)")
        return None
sys.meta_path.insert(0, _Hide())
"""


@pytest.fixture(scope="module")
def hard_deps_only(tmp_path_factory):
    d = tmp_path_factory.mktemp("hide_peers")
    (d / "sitecustomize.py").write_text(_SITE)
    return str(d)


def _run(*args, hide=None, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (hide, ROOT) if p)
    r = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_suite_runs_every_workload_with_hard_deps_only(hard_deps_only, tmp_path):
    js, png = tmp_path / "out.json", tmp_path / "out.png"
    out = _run("benchmarks", "--quick", "--json", str(js), "--plot", str(png), hide=hard_deps_only,
               timeout=300)
    # the header
    for key in ("- machine:", "- BLAS:", "- threads: --threads 2", "- versions:",
                "OPENBLAS_CORETYPE=", "- command: `python -m benchmarks --quick"):
        assert key in out, key
    assert "threadpoolctl" in out.split("- not installed:")[1].splitlines()[0]
    # one table per workload
    for title in ("## mlp_step", "## scalar", "## digits", "## cold_start", "## kernels",
                  "## conv_step", "## lstm_step", "## scientific"):
        assert title in out, title
    assert "| tiny (batch 32, 2-16-16-2) | autograd |" in out
    assert "| tiny (batch 32, 2-16-16-2) | nn.Model + nn.optimizers.SGD |" in out
    assert "| 20 points | autograd.Value (scalars) |" in out
    assert "| 20 points | autograd.jit of the Tensor step |" in out
    assert "| >= 97% | nn.Model.fit (compile + fit) |" in out
    assert "| small | autograd, kernels=auto, warm numba cache |" in out
    # the compiled steps' first call, a fresh process to the end of their first replay
    assert "| small | autograd, step under autograd.jit, warm cache, to step 3 (first compiled) |" in out
    assert "| small | nn.Model, jit_compile=True (train_on_batch), warm cache, to step 3 (first " \
        "compiled) |" in out
    assert "small: autograd, step under autograd.jit, warm cache, to step 3 (first compiled): " in out
    assert "| xent_sparse fwd | 32x2 | float32 |" in out
    # every agreement check ran and passed
    assert out.count("loss agreement: ok") == 6 and "DISAGREE" not in out
    # absent peers are skipped with a line, not an error
    for line in ("PyTorch eager skipped: `torch` is not installed", "JAX jax.jit skipped",
                 "MyGrad skipped", "tinygrad TinyJit skipped", "micrograd skipped"):
        assert line in out, line
    assert "targets against micrograd not checked" in out
    assert "matplotlib is not installed" in out and not png.exists()
    data = json.loads(js.read_text())
    assert set(data["workloads"]) == {"mlp_step", "scalar", "digits", "cold_start", "kernels",
                                      "conv_step", "lstm_step", "scientific"}
    assert data["header"]["threads"] == 2 and "OPENBLAS_CORETYPE" in data["header"]["env"]
    row = next(r for r in data["workloads"]["mlp_step"]["rows"] if r["key"] == "autograd")
    assert row["min_s"] <= row["median_s"] <= row["max_s"] and row["agrees"]


def test_workload_runs_alone(hard_deps_only, tmp_path):
    js = tmp_path / "m.json"
    out = _run("benchmarks.mlp_step", "--quick", "--config", "tiny", "--peers", "hand,autograd,torch",
               "--threads", "1", "--json", str(js), hide=hard_deps_only)
    assert "| config | peer | median µs | IQR µs | min-max µs | samples/s | vs PyTorch |" in out
    assert "PyTorch eager skipped" in out and "loss agreement: ok" in out
    assert "--threads 1" in out
    assert {r["key"] for r in json.loads(js.read_text())["workloads"]["mlp_step"]["rows"]} == \
        {"hand", "autograd"}


def test_conv_step_runs_alone_and_its_kernel_table(hard_deps_only):
    out = _run("benchmarks.conv_step", "--quick", "--peers", "autograd,nn,torch,jax",
               hide=hard_deps_only)
    assert "| digits_cnn (batch 64, 8x8x1 -> Conv(16,3x3,same,relu)" in out
    assert "| nn.Sequential + SGD |" in out and "loss agreement: ok" in out
    assert "PyTorch eager skipped: torch is not installed" in out and "JAX jit skipped" in out
    out = _run("benchmarks.conv_step", "--kernels", "--quick", hide=hard_deps_only)
    assert "| conv (N, HxWxC -> F, 3x3) |" in out and "| max pool 2x2 (N, H, W, C) |" in out


def test_optim_step_runs_and_checks_the_kernels_bits(hard_deps_only):
    # medium: its 784x256 kernel is above SGD_MIN/ADAM_MIN, so auto runs the numba updates
    # and the bit-for-bit check against the numpy twins is not trivial
    out = _run("benchmarks.optim_step", "--quick", "--config", "medium", "--optimizers",
               "adam,momentum", hide=hard_deps_only)
    assert "| config, optimizer: timed | peer | median µs |" in out
    assert "| medium (batch 128, 784-256-128-10), adam: opt.step | nn, kernels=auto |" in out
    assert "PyTorch eager skipped" in out
    assert out.count("weights after 3 steps, auto vs numpy: the same bits") == 2
    assert "auto and numpy-forced weights: the same bits" in out


def test_kernels_benchmark_runs():
    out = _run("benchmarks.kernels", "--quick", "--dtype", "float32", "--only", "xent_sparse,sgd_update")
    assert "| kernel | size | dtype | numpy | numba |" in out
    assert "| xent_sparse fwd | 32x2 | float32 |" in out and "| sgd_update | 288 | float32 |" in out


def test_agreement_check_flags_a_different_computation():
    from benchmarks._common import check_agreement
    ok, lines = check_agreement({"a": [1.0, 0.9], "b": [1.0 + 1e-7, 0.9], "c": [0.9, 0.8]},
                                "a", 1e-4, 1e-5)
    assert not ok
    assert "agrees" in lines[1] and "DISAGREES" in lines[2]


def test_summary_statistics():
    from benchmarks._timing import summary
    s = summary([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s["median_s"], s["min_s"], s["max_s"], s["q1_s"], s["q3_s"], s["repeats"]) == \
        (3.0, 1.0, 5.0, 2.0, 4.0, 5)
    assert summary([1.0, 2.0])["median_s"] == 1.5


@pytest.mark.slow
def test_cold_start_switch_reports_the_hand_over(hard_deps_only):
    """``cold_start --switch``: the tiny jit step's generated code takes over after
    HOT_CALLS steps (a child process builds it), with empty and then warm caches."""
    from autograd.jit import codegen
    out = _run("benchmarks.cold_start", "--switch", "--config", "tiny", "--switch-seconds",
               "400", hide=hard_deps_only, timeout=1200)
    rows = [ln for ln in out.splitlines() if ln.startswith("| tiny |")]
    assert [r.split("|")[2].strip() for r in rows] == ["empty", "warm"], out[-2000:]
    for r in rows:
        cells = [c.strip().replace(",", "") for c in r.split("|")[1:-1]]
        steps, switched, longest_ms = int(cells[2]), int(cells[3]), float(cells[4])
        assert codegen.HOT_CALLS < switched < steps and longest_ms > 0, r
