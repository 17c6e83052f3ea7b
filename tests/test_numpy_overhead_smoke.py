"""benchmarks/numpy_overhead runs on its smallest setting and prints its table (HIPS
autograd left out with a line saying why)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_numpy_overhead_quick_prints_a_table():
    env = dict(os.environ, AUTOGRAD_BENCH_HIPS_DIR="")
    r = subprocess.run([sys.executable, "-m", "benchmarks.numpy_overhead", "--quick"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("| ")]
    assert lines[0].startswith("| function | shape | numpy fwd")
    assert len(lines) == 1 + 14           # header + one row per function
    assert "HIPS autograd not run" in r.stdout
