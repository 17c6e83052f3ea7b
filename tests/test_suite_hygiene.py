"""The suite cannot fail CI by chance (issue 17): the ``ci`` profile draws the same examples
every run and never replays a failure stored by an earlier run."""
import os
import subprocess
import sys

from hypothesis import settings


def test_ci_profile_is_derandomized_without_an_example_database():
    ci = settings.get_profile("ci")
    assert ci.derandomize is True
    assert ci.database is None


def test_ci_script_exports_the_ci_profile():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, ".ci", "run")) as f:
        assert "export AUTOGRAD_HYPOTHESIS_PROFILE=ci" in f.read()


def test_flake_scan_counts_failures_per_test(tmp_path):
    """The scan script runs pytest under seeds and reports a failing test in every run."""
    t = tmp_path / "test_flaky_probe.py"
    t.write_text("def test_always_fails():\n    assert False\n\ndef test_ok():\n    pass\n")
    root = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run([sys.executable, os.path.join(root, "flake_scan.py"), "--runs", "2",
                        str(t), "--", "--rootdir", str(tmp_path), "-c", os.devnull],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "2 of 2 runs failed" in p.stdout
    assert "   2  " in p.stdout and "test_always_fails" in p.stdout
