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


def test_the_readme_table_is_in_the_format_the_command_prints(capsys):
    """The README's overhead table can be replaced by the command's output as it is: same
    header (with HIPS's columns), same functions in the same order."""
    from benchmarks.numpy_overhead import FUNCS, print_table
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read().splitlines()
    start = next(i for i, ln in enumerate(readme) if ln.startswith("| function | shape | numpy fwd"))
    table = []
    for ln in readme[start:]:
        if not ln.startswith("|"):
            break
        table.append(ln)
    row = {"function": "exp", "shape": [4], "numpy": 1e-6, "arrays": 2e-6, "tensor fwd": 3e-6,
           "fwd+bwd": 4e-5, "HIPS fwd+bwd": 5e-5, "same gradient": True}
    print_table({"rows": [row], "hips": "HIPS autograd"})
    printed = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("|")]
    assert table[:2] == printed[:2]
    assert [ln.split(" | ")[0][2:] for ln in table[2:]] == list(FUNCS)
    assert printed[2] == "| exp | 4 | 1.0 | 2.0 | 3.0 | 3.00x | 40.0 | 50.0 | 0.80x | yes |"
    assert all(len(ln.split("|")) == len(table[0].split("|")) for ln in table)
