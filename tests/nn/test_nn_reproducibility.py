"""A seed makes model creation and fit bit-for-bit reproducible."""
import numpy as np

import nn


def train(seed):
    nn.set_seed(seed)
    x, y = nn.datasets.make_moons(64, noise=0.2)
    model = nn.Sequential([nn.layers.Dense(8, activation="relu"),
                           nn.layers.Dense(8, activation="gelu", kernel_initializer="he_normal"),
                           nn.layers.Dense(1)])
    model.compile(nn.optimizers.Adam(0.01), nn.losses.BinaryCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    h = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
    return model.state_dict(), h.history


def test_same_seed_bit_identical_after_fit():
    (wa, ha), (wb, hb) = train(7), train(7)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert wa[k].tobytes() == wb[k].tobytes()
    assert ha == hb


def test_different_seed_differs():
    (wa, _), (wb, _) = train(7), train(8)
    assert any(not np.array_equal(wa[k], wb[k]) for k in wa)


def test_initializer_seed_argument():
    a = nn.initializers.glorot_uniform((3, 4), seed=5)
    b = nn.initializers.GlorotUniform(seed=5)((3, 4))
    np.testing.assert_array_equal(a, b)
    nn.set_seed(1)
    c = nn.layers.Dense(4, input_dim=3, kernel_initializer=nn.initializers.GlorotUniform(seed=5))
    np.testing.assert_array_equal(c.kernel.data, a)
