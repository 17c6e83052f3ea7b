"""A damaged numba cache (issue 17): one warning and a recompile, never an UnpicklingError
with a numba traceback.  Two fresh processes (populate, then damage and reload): slow."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = """
import warnings, numpy as np
from autograd import kernels as K
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    with K.forced("numba"):
        out = K.activation(np.array([-1.0, 2.0, 3.0]), 1)
print("OUT", out.tolist())
print("WARNINGS", sum("damaged" in str(x.message) for x in w))
"""


@pytest.mark.slow
@pytest.mark.parametrize("damage", [b"", b"garbage\\x80\\x04"])
def test_a_damaged_cache_index_warns_once_and_recompiles(tmp_path, damage):
    pytest.importorskip("numba")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)

    def run():
        p = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-2000:]
        return p.stdout

    first = run()
    assert "OUT [0.0, 2.0, 3.0]" in first and "WARNINGS 0" in first
    index = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs if f.endswith(".nbi")]
    assert index
    for f in index:
        with open(f, "wb") as fh:
            fh.write(damage.decode("unicode_escape").encode("latin-1"))
    second = run()
    assert "OUT [0.0, 2.0, 3.0]" in second and "WARNINGS 1" in second, second
    third = run()                          # the recompiled kernel was cached again
    assert "OUT [0.0, 2.0, 3.0]" in third and "WARNINGS 0" in third, third
