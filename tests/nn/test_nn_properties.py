"""Property tests: Dense against numpy, and save/load round trips, over drawn architectures."""
import numpy as np
from hypothesis import given, strategies as st

import nn

ACTS = {None: lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.sampled_from(sorted(ACTS, key=str)),
       st.booleans(), st.sampled_from(["float32", "float64"]), st.integers(0, 2**16))
def test_dense_matches_numpy(batch, n_in, units, act, use_bias, dtype, seed):
    nn.set_seed(seed)
    layer = nn.layers.Dense(units, activation=act, use_bias=use_bias, dtype=dtype,
                            bias_initializer="glorot_uniform" if use_bias else "zeros")
    x = np.random.default_rng(seed).normal(size=(batch, n_in))
    out = layer(x)
    assert out.dtype == np.dtype(dtype) and out.shape == (batch, units)
    assert layer.kernel.shape == (n_in, units)
    assert (layer.bias is not None) == use_bias
    z = x.astype(dtype).astype(np.float64) @ layer.kernel.data.astype(np.float64)
    if use_bias:
        z = z + layer.bias.data
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out.data, ACTS[act](z), rtol=tol, atol=tol)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.integers(1, 4),
       st.integers(0, 2**16))
def test_state_round_trip(hidden, n_in, seed):
    def make(s):
        nn.set_seed(s)
        layers = [nn.layers.Dense(h, activation="relu") for h in hidden] + [nn.layers.Dense(2)]
        layers[0] = nn.layers.Dense(hidden[0], activation="relu", input_dim=n_in)
        return nn.Sequential(layers)

    a, b = make(seed), make(seed + 1)
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(seed).random((3, n_in))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert a.count_params() == sum(i * o + o for i, o in zip([n_in] + hidden, hidden + [2]))
