"""Keras's weights API: weights properties, get/set_weights, count_params, get_layer,
input_shape= on every layer, Sequential add/pop/build and nn.Input first."""
import warnings

import numpy as np
import pytest

import autograd as ag
import nn


def small():
    nn.set_seed(0)
    return nn.Sequential([nn.layers.Dense(3, activation="tanh", input_dim=4, name="h"),
                          nn.layers.Dense(2, name="o")])


def test_weights_are_properties_and_old_call_warns():
    m = small()
    m.build((None, 4))
    ws = m.weights
    assert [tuple(w.shape) for w in ws] == [(4, 3), (3,), (3, 2), (2,)]
    assert all(isinstance(w, ag.Tensor) for w in ws)
    with pytest.warns(DeprecationWarning, match="property"):
        old = m.weights()
    assert [id(w) for w in old] == [id(w) for w in ws]
    m.get_layer("h").trainable = False
    assert [tuple(w.shape) for w in m.trainable_weights] == [(3, 2), (2,)]
    assert [tuple(w.shape) for w in m.non_trainable_weights] == [(4, 3), (3,)]


def test_get_set_weights_round_trip_and_shape_errors_name_the_weight():
    m = small()
    ws = m.get_weights()                    # builds the lazy second layer from input_dim
    assert [w.shape for w in ws] == [(4, 3), (3,), (3, 2), (2,)]
    ws[0][0, 0] += 1.0                      # copies: the model does not change
    assert m.get_weights()[0][0, 0] != ws[0][0, 0]
    new = [np.full(w.shape, i, dtype=np.float64) for i, w in enumerate(ws)]
    m.set_weights(new)
    got = m.get_weights()
    assert all(np.array_equal(g, n) and g.dtype == np.float32 for g, n in zip(got, new))
    before = m.get_weights()
    bad = list(new)
    bad[2] = np.zeros((2, 3))
    with pytest.raises(nn.WeightsMismatchError, match=r"layers\.1\.kernel.*\(3, 2\).*\(2, 3\)"):
        m.set_weights(bad)
    with pytest.raises(nn.WeightsMismatchError, match="4 weights"):
        m.set_weights(new[:3])
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))  # all or nothing


def test_count_params_and_get_layer():
    m = small()
    m.build((None, 4))
    assert m.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    assert m.get_layer("o") is m.layers[1] and m.get_layer(index=0) is m.layers[0]
    assert m.get_layer(index=-1) is m.layers[1]
    with pytest.raises(ag.InvalidValueError, match="no layer named 'x'"):
        m.get_layer("x")
    with pytest.raises(ag.IndexOutOfRangeError):
        m.get_layer(index=5)
    with pytest.raises(ag.InvalidValueError, match="exactly one"):
        m.get_layer()


def test_input_shape_keyword_builds_every_layer_and_shapes_are_reported():
    d = nn.layers.Dense(5, input_shape=(7,))
    assert d.built and d.kernel.shape == (7, 5)
    assert d.input_shape == (None, 7) and d.output_shape == (None, 5)
    f = nn.layers.Flatten(input_shape=(2, 3))
    assert f.input_shape == (None, 2, 3) and f.output_shape == (None, 6)
    a = nn.layers.Activation("relu", input_dim=4)
    assert a.input_shape == (None, 4)
    lazy = nn.layers.Dense(2)
    with pytest.raises(nn.errors.NotBuiltError):
        lazy.input_shape
    assert not hasattr(lazy, "input_shape")          # an AttributeError, as Keras
    with pytest.raises(ag.InvalidValueError, match="input_shape"):
        nn.layers.Dense(2, input_shape=(0,))


def test_sequential_with_input_first_add_pop_and_build():
    m = nn.Sequential([nn.Input((4,)), nn.layers.Dense(3)])
    assert m.layers[0].built                          # built as it was added
    m.add(nn.layers.Dense(2))
    assert m.layers[1].kernel.shape == (3, 2)
    assert m.predict(np.ones((5, 4))).shape == (5, 2)
    popped = m.pop()
    assert popped.units == 2 and len(m.layers) == 1
    assert m.predict(np.ones((5, 4))).shape == (5, 3)
    with pytest.raises(ag.InvalidValueError, match="first"):
        m.add(nn.Input((3,)))
    lazy = nn.Sequential([nn.layers.Dense(3), nn.layers.Dense(1)])
    lazy.build((None, 6))
    assert lazy.layers[0].kernel.shape == (6, 3) and lazy.count_params() == 6 * 3 + 3 + 4
    assert nn.Sequential([nn.layers.Dense(3, input_shape=(2,))]).count_params() == 9


def test_no_warning_from_library_paths():
    m = small()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.compile("sgd", "mse")
        m.fit(np.ones((4, 4)), np.ones((4, 2)), epochs=1, verbose=0)
        m.summary(print_fn=lambda s: None)
        m.save_weights
