"""The issue's Keras example, as written, and small problems the library must learn."""
import numpy as np

import nn


def test_keras_example_runs_and_learns(capsys):
    nn.set_seed(1234)

    class Model(nn.Model):
        def __init__(self):
            super().__init__()
            self.dense1 = nn.layers.Dense(10, activation='relu')
            self.dense2 = nn.layers.Dense(1, activation='sigmoid')

        def call(self, inputs):
            x = self.dense1(inputs)
            return self.dense2(x)

    model = Model()
    loss_fn = nn.losses.BinaryCrossentropy()
    optimizer = nn.optimizers.Adam()
    X_train = np.random.rand(1000, 10)
    y_train = np.random.randint(0, 2, (1000, 1))
    model.compile(optimizer=optimizer, loss=loss_fn, metrics=['accuracy'])
    history = model.fit(X_train, y_train, epochs=10)

    h = history.history
    assert set(h) == {"loss", "accuracy"}
    assert len(h["loss"]) == len(h["accuracy"]) == 10
    assert h["loss"][-1] < h["loss"][0]
    assert all(0.0 <= a <= 1.0 for a in h["accuracy"])
    assert model.history is history and history.epoch == list(range(10))
    # the training loss is the loss of the data: it falls below log(2) (chance) as it fits
    assert h["loss"][-1] < np.log(2) + 0.01
    assert [n for n, _ in model.named_parameters()] == [
        "dense1.kernel", "dense1.bias", "dense2.kernel", "dense2.bias"]
    assert len(optimizer.params) == 4  # compile bound the lazily built parameters
    out = capsys.readouterr().out
    assert "Epoch 10/10" in out and "32/32" in out


def test_xor_learned_by_small_mlp():
    nn.set_seed(0)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential([nn.layers.Dense(8, activation="tanh", input_dim=2),
                           nn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=4, epochs=300, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < 0.1
    np.testing.assert_array_equal(model.predict(x)[:, 0] > 0.5, y == 1)


def test_moons_with_pytorch_style_loop():
    """The PyTorch way: forward, loss, zero_grad, backward, step, with no compile."""
    nn.set_seed(0)
    x, y = nn.datasets.make_moons(200, noise=0.1, seed=0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.layers.Dense(16, "relu", input_dim=2),
                           nn.layers.Dense(16, "relu", input_dim=16),
                           nn.layers.Dense(1, input_dim=16)]

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    net = Net()
    opt = nn.optimizers.SGD(net.parameters(), learning_rate=0.3, momentum=0.9)
    loss_fn = nn.losses.BinaryCrossentropy(from_logits=True)
    first = None
    for _ in range(150):
        loss = loss_fn(y.reshape(-1, 1), net(x))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 < first
    acc = nn.metrics.BinaryAccuracy(threshold=0.0)(y, net(x).data[:, 0])
    assert acc > 0.97
