"""A Dense model's gradient through each loss against central finite differences (float64)."""
import numpy as np
import pytest

import nn
from nn import losses


def fd_check(model, loss_fn, x, y, h=1e-6):
    for p in model.parameters():
        p.grad = None
    loss_fn(y, model(x)).backward()
    for name, p in model.named_parameters():
        analytic = p.grad.copy()
        numeric = np.zeros_like(p.data)
        flat = p.data.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            up = loss_fn(y, model(x)).item()
            flat[i] = old - h
            down = loss_fn(y, model(x)).item()
            flat[i] = old
            numeric.reshape(-1)[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def mlp(last_units, last_activation, hidden="tanh"):
    return nn.Sequential([
        nn.layers.Dense(5, activation=hidden, input_dim=3, dtype="float64",
                        bias_initializer=nn.initializers.GlorotUniform(seed=3)),
        nn.layers.Dense(last_units, activation=last_activation, dtype="float64")])


rng = np.random.default_rng(0)
X = rng.normal(size=(6, 3))
LABELS = np.array([0, 1, 2, 3, 1, 0])


@pytest.mark.parametrize("make, loss, y", [
    (lambda: mlp(2, None), losses.MeanSquaredError(), rng.normal(size=(6, 2))),
    (lambda: mlp(2, "gelu", hidden="leaky_relu"), losses.MeanAbsoluteError(),
     rng.normal(size=(6, 2))),
    (lambda: mlp(1, "sigmoid"), losses.BinaryCrossentropy(), (rng.random((6, 1)) > 0.5) * 1.0),
    (lambda: mlp(1, None), losses.BinaryCrossentropy(from_logits=True), rng.random((6, 1))),
    (lambda: mlp(4, "softmax", hidden="sigmoid"), losses.CategoricalCrossentropy(),
     np.eye(4)[LABELS]),
    (lambda: mlp(4, None, hidden="relu"), losses.CategoricalCrossentropy(from_logits=True),
     np.eye(4)[LABELS]),
    (lambda: mlp(4, "softmax"), losses.SparseCategoricalCrossentropy(), LABELS),
    (lambda: mlp(4, None), losses.SparseCategoricalCrossentropy(from_logits=True), LABELS),
])
def test_model_gradient_matches_finite_differences(make, loss, y):
    nn.set_seed(11)
    fd_check(make(), loss, X, y)
