"""benchmarks.scientific runs (quick) and its libraries agree on the gradients (it exits
otherwise)."""
import pytest

pytest.importorskip("scipy")


@pytest.mark.slow                       # imports PyTorch: ~30 s on a busy machine
def test_scientific_benchmark_quick(capsys):
    from benchmarks import scientific
    scientific.main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "| gp | this library |" in out and "| student_t | this library |" in out
