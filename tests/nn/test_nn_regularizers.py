"""nn.regularizers and nn.constraints: values by hand, in layers, in the loss and the step."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn import constraints as K, regularizers as R

W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])


def test_penalties_hand_computed():
    t = ag.Tensor(W)
    assert float(R.L1(0.1)(t).data) == pytest.approx(0.1 * 7.5)
    assert float(R.L2(0.1)(t).data) == pytest.approx(0.1 * 15.25)
    assert float(R.L1L2(0.1, 0.2)(t).data) == pytest.approx(0.75 + 0.2 * 15.25)
    for mode, v in (("rows", W), ("columns", W.T)):
        u = v / np.linalg.norm(v, axis=1, keepdims=True)
        g = u @ u.T
        n = len(g)
        want = 0.3 * 0.5 * np.abs(g - np.diag(np.diag(g))).sum() / (n * (n - 1) / 2)
        assert float(R.OrthogonalRegularizer(0.3, mode)(t).data) == pytest.approx(want)
    with pytest.raises(ValueError, match="2-d"):
        R.OrthogonalRegularizer()(ag.Tensor(np.ones(3)))
    with pytest.raises(TypeError, match="l2"):
        R.L2("0.1")


def test_constraints_hand_computed():
    n0 = np.sqrt((W ** 2).sum(0, keepdims=True))
    np.testing.assert_allclose(K.MaxNorm(2.0)(W), W * np.minimum(n0, 2.0) / (1e-7 + n0))
    np.testing.assert_allclose(K.UnitNorm()(W), W / (1e-7 + n0))
    np.testing.assert_allclose(K.NonNeg()(W), np.maximum(W, 0))
    want = W * (0.5 * np.clip(n0, 1.5, 2.5) + 0.5 * n0) / (1e-7 + n0)
    np.testing.assert_allclose(K.MinMaxNorm(1.5, 2.5, rate=0.5)(W), want)
    n1 = np.sqrt((W ** 2).sum(1, keepdims=True))
    np.testing.assert_allclose(K.MaxNorm(1.0, axis=1)(W), W * np.minimum(n1, 1.0) / (1e-7 + n1))


def test_configs_round_trip():
    for obj in (R.L1(0.2), R.L2(0.3), R.L1L2(0.1, 0.4), R.OrthogonalRegularizer(0.5, "columns"),
                K.MaxNorm(3.0, axis=1), K.MinMaxNorm(0.5, 2.0, 0.7), K.NonNeg(), K.UnitNorm(1)):
        back = type(obj).from_config(obj.get_config())
        assert back.get_config() == obj.get_config()
        mod = R if isinstance(obj, R.Regularizer) else K
        assert mod.get(R.serialize(obj)).get_config() == obj.get_config()
    assert isinstance(R.get("l2"), R.L2) and isinstance(K.get("non_neg"), K.NonNeg)
    with pytest.raises(ValueError, match="unknown regularizer"):
        R.get("l3")


def net(**kw):
    nn.set_seed(0)
    m = nn.Sequential([nn.layers.Dense(2, input_dim=3, **kw)])
    m.compile(nn.optimizers.SGD(learning_rate=0.1), "mse")
    return m


def test_penalties_in_model_losses_loss_and_gradient():
    x = np.random.default_rng(0).standard_normal((4, 3))
    y = np.zeros((4, 2))
    m = net(kernel_regularizer=R.L2(0.5), bias_regularizer=R.L1(0.25),
            bias_initializer="ones")
    k0, b0 = m.layers[0].kernel.data.copy(), m.layers[0].bias.data.copy()
    assert len(m.losses) == 2
    pen = 0.5 * (k0 ** 2).sum() + 0.25 * np.abs(b0).sum()
    assert sum(float(p.data) for p in m.losses) == pytest.approx(pen, rel=1e-6)
    xf = x.astype(np.float32)
    out = xf @ k0 + b0
    mse = (out ** 2).mean()
    got = m.train_on_batch(x, y)
    assert got == pytest.approx(mse + pen, rel=1e-5)        # reported as Keras: with penalties
    gk = 2 * xf.T @ out / out.size + 2 * 0.5 * k0
    gb = 2 * out.sum(0) / out.size + 0.25 * np.sign(b0)
    np.testing.assert_allclose(m.layers[0].kernel.data, k0 - 0.1 * gk, rtol=1e-5)
    np.testing.assert_allclose(m.layers[0].bias.data, b0 - 0.1 * gb, rtol=1e-5)
    assert m.evaluate(x, y, verbose=0) == pytest.approx(
        float(m.loss(y, m(x)).data) + sum(float(p.data) for p in m.losses), rel=1e-6)


def test_activity_regularizer_penalises_the_output():
    x = np.ones((2, 3))
    m = net(activity_regularizer=R.L1(0.1))
    out = m(x)
    assert len(m.losses) == 1
    assert float(m.losses[0].data) == pytest.approx(0.1 * np.abs(out.data).sum(), rel=1e-6)


def test_constraints_applied_after_each_step():
    x = np.random.default_rng(1).standard_normal((32, 3))
    y = -np.abs(np.random.default_rng(2).standard_normal((32, 2))) * 5
    m = net(kernel_constraint=K.NonNeg(), bias_constraint=K.MaxNorm(0.5))
    m.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert (m.layers[0].kernel.data >= 0).all()
    assert np.linalg.norm(m.layers[0].bias.data) <= 0.5 + 1e-6
    m = net(kernel_constraint="unit_norm")
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(m.layers[0].kernel.data, axis=0), 1.0, rtol=1e-5)


def test_add_weight_for_new_layers():
    class Scale(nn.layers.Layer):
        def build(self, input_shape):
            self.add_weight("w", (input_shape[-1],), "ones", regularizer="l2",
                            constraint=K.NonNeg())

        def call(self, x):
            return x * self.w
    m = nn.Sequential([Scale()])
    m.compile("sgd", "mse")
    m.fit(np.ones((4, 2)), np.full((4, 2), -3.0), verbose=0, epochs=5)
    layer = m.layers[0]
    assert len(m.losses) == 1 and (layer.w.data >= 0).all()
    assert [n for n, _ in m.named_parameters()] == ["layers.0.w"]


@pytest.mark.parametrize("make, x, n_pen, constrained", [
    (lambda: nn.layers.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer="l1",
                              activity_regularizer="l1", kernel_constraint=K.NonNeg()),
     np.ones((2, 5, 5, 1)), 3, ["kernel"]),
    (lambda: nn.layers.Conv1D(2, 3, kernel_regularizer="l2", bias_constraint=K.MaxNorm(1.0)),
     np.ones((2, 6, 1)), 1, ["bias"]),
    (lambda: nn.layers.DepthwiseConv2D(3, depthwise_regularizer="l2",
                                       depthwise_constraint=K.UnitNorm()),
     np.ones((1, 5, 5, 2)), 1, ["kernel"]),
    (lambda: nn.layers.SeparableConv2D(2, 3, depthwise_regularizer="l2",
                                       pointwise_regularizer="l1",
                                       pointwise_constraint=K.NonNeg()),
     np.ones((1, 5, 5, 2)), 2, ["pointwise_kernel"]),
    (lambda: nn.layers.Conv2DTranspose(2, 3, kernel_regularizer="l2"), np.ones((1, 4, 4, 2)),
     1, []),
    (lambda: nn.layers.Embedding(5, 3, embeddings_regularizer="l2",
                                 embeddings_constraint=K.UnitNorm(axis=1)),
     np.array([[0, 1], [2, 3]]), 1, ["embeddings"]),
    (lambda: nn.layers.BatchNormalization(gamma_regularizer="l2", beta_regularizer="l1",
                                          gamma_constraint=K.NonNeg()),
     np.ones((4, 3)), 2, ["gamma"]),
    (lambda: nn.layers.LayerNormalization(gamma_regularizer="l2", beta_constraint=K.NonNeg()),
     np.ones((4, 3)), 1, ["beta"]),
    (lambda: nn.layers.LSTM(3, kernel_regularizer="l2", recurrent_regularizer="l2",
                            bias_regularizer="l1", recurrent_constraint=K.MaxNorm(1.0)),
     np.ones((2, 4, 3)), 3, ["recurrent_kernel"]),
    (lambda: nn.layers.GRU(3, kernel_regularizer="l1"), np.ones((2, 4, 3)), 1, []),
    (lambda: nn.layers.SimpleRNN(3, bias_regularizer="l2", kernel_constraint=K.NonNeg()),
     np.ones((2, 4, 3)), 1, ["kernel"]),
])
def test_every_layer_with_weights_takes_regularizers_and_constraints(make, x, n_pen,
                                                                     constrained):
    layer = make()
    layer(x)
    assert len(layer.losses) == n_pen
    assert sorted(layer.__dict__.get("_constraints", {})) == constrained
    model = nn.Sequential([layer])
    model.build(x.shape)
    before = len(model.losses)
    assert before == n_pen
