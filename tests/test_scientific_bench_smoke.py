"""benchmarks.scientific runs (quick) and its libraries agree on the gradients (it exits
otherwise)."""
import pytest

pytest.importorskip("scipy")


@pytest.mark.slow                       # imports PyTorch: ~30 s on a busy machine
def test_scientific_benchmark_quick(capsys):
    from benchmarks import scientific
    scientific.main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    for w in ("gp", "spectral", "student_t"):
        assert f"| {w} | this library |" in out


def test_hips_autograd_loads_beside_this_library():
    """HIPS autograd (pip install --target DIR autograd) runs in this process under its own
    modules, and this library's ``autograd`` is back in sys.modules afterwards."""
    import os
    import sys
    import numpy as np
    from benchmarks import scientific
    path = os.environ.get("HIPS_AUTOGRAD_PATH", "/tmp/hips_pkg")
    if not os.path.isfile(os.path.join(path, "autograd", "__init__.py")):
        pytest.skip(f"HIPS autograd not installed under {path}")
    import autograd
    import autograd.numpy  # noqa: F401
    h = scientific.load_hips(path)
    assert sys.modules["autograd"] is autograd and hasattr(autograd, "Tensor")
    g = h.grad(lambda x: h.np.sum(h.np.abs(h.np.fft.rfft(x)) ** 2))(np.arange(4.0))
    np.testing.assert_allclose(g, autograd.grad(
        lambda x: autograd.numpy.sum(autograd.numpy.abs(autograd.numpy.fft.rfft(x)) ** 2))(
            np.arange(4.0)))
