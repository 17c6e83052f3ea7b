"""benchmarks.scalar's workloads compute the same training run: the jitted tensor step (its
traced calls, its numpy replay and, once built, its generated code) gives the eager tensor
step's and numpy by hand's losses, step after step, in float64."""
from __future__ import annotations

import numpy as np


def test_tensor_jit_step_equals_the_eager_tensor_step_and_numpy_by_hand():
    from autograd.jit import codegen
    from benchmarks import scalar as S
    x, y, params = S.setup(20)
    eager, jitted, hand = (S.make_tensor(params, x, y), S.make_tensor_jit(params, x, y),
                           S.make_hand(params, x, y))
    n = codegen.HOT_CALLS + 1
    le = [eager() for _ in range(n)]
    lj = [jitted() for _ in range(n)]
    lh = [hand() for _ in range(n)]
    codegen.wait()                       # past the build: the generated code runs from here
    le += [eager() for _ in range(5)]
    lj += [jitted() for _ in range(5)]
    lh += [hand() for _ in range(5)]
    assert len(set(le)) > 10             # it trains: the losses move
    np.testing.assert_allclose(lj, le, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lh, le, rtol=1e-12, atol=1e-14)
