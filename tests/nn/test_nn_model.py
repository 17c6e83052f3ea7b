"""Model: fit/evaluate/predict figures, validation, callbacks, progress output, summary."""
import io

import numpy as np
import pytest

import autograd as ag
import nn
from nn.progress import Progbar


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def blobs_model(lr=0.05, **compile_kw):
    nn.set_seed(0)
    model = nn.Sequential([nn.layers.Dense(8, activation="relu", input_dim=2),
                           nn.layers.Dense(3)])
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=lr),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], **compile_kw)
    return model


def data(n=50):
    return nn.datasets.make_blobs(n, centers=3, seed=1)


def test_epoch_figures_are_batch_size_weighted_means():
    """With learning rate 0 the weights never move, so the epoch's weighted mean over batches
    of sizes 16, 16, 16, 2 is the loss and accuracy of the whole data set."""
    x, y = data(50)
    model = blobs_model(lr=0.0)
    h = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    z = model.predict(x).astype(np.float64)
    want_loss = np.mean(-np.log(softmax(z)[np.arange(50), y]))
    want_acc = np.mean(z.argmax(1) == y)
    np.testing.assert_allclose(h.history["loss"], [want_loss] * 2, rtol=1e-5)
    np.testing.assert_allclose(h.history["accuracy"], [want_acc] * 2, rtol=1e-12)
    loss, acc = model.evaluate(x, y, batch_size=7, verbose=0)
    assert loss == pytest.approx(want_loss, rel=1e-5) and acc == pytest.approx(want_acc)


def test_evaluate_returns_loss_alone_without_metrics():
    x, y = data(20)
    model = nn.Sequential([nn.layers.Dense(3, input_dim=2)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss"}


def test_validation_split_takes_last_fraction_before_shuffling():
    x, y = data(40)
    a = blobs_model()
    ha = a.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    b = blobs_model()
    hb = b.fit(x[:30], y[:30], epochs=3, batch_size=8, validation_data=(x[30:], y[30:]),
               verbose=0)
    assert set(ha.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for k in ha.history:
        np.testing.assert_array_equal(ha.history[k], hb.history[k])
    # val figures are those of evaluate on that part
    loss, acc = b.evaluate(x[30:], y[30:], verbose=0)
    assert hb.history["val_loss"][-1] == pytest.approx(loss)
    assert hb.history["val_accuracy"][-1] == pytest.approx(acc)


def test_predict_records_no_graph_and_returns_ndarray():
    x, y = data(10)
    model = blobs_model()
    out = model.predict(x, batch_size=3)
    assert isinstance(out, np.ndarray) and out.shape == (10, 3) and out.dtype == np.float32
    assert all(p.grad is None for p in model.parameters())
    t = model(x)  # a direct call records a graph as usual
    assert t.requires_grad


def test_accuracy_resolution():
    m = nn.metrics
    # binary: one output unit
    acc = m.get("accuracy")
    assert acc(np.array([[1], [0]]), np.array([[0.7], [0.6]])) == 0.5
    assert isinstance(acc.resolved, m.BinaryAccuracy)
    # sparse: integer labels without a class axis
    acc = m.get("accuracy")
    assert acc(np.array([2, 0]), np.array([[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]])) == 0.5
    assert isinstance(acc.resolved, m.SparseCategoricalAccuracy)
    # categorical: one-hot labels
    acc = m.get("accuracy")
    assert acc(np.eye(3)[[2, 1]], np.array([[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]])) == 1.0
    assert isinstance(acc.resolved, m.CategoricalAccuracy)
    # logits with a from_logits binary loss: threshold 0
    acc = m.get("accuracy", loss=nn.losses.BinaryCrossentropy(from_logits=True))
    assert acc(np.array([[1], [0]]), np.array([[0.2], [-0.1]])) == 1.0


def test_callbacks_hooks_and_stop_training_after_current_step():
    calls = []

    class Spy(nn.callbacks.Callback):
        def on_train_begin(self, logs=None): calls.append("train_begin")
        def on_epoch_begin(self, epoch, logs=None): calls.append(f"epoch_begin{epoch}")
        def on_batch_begin(self, batch, logs=None): calls.append(f"batch_begin{batch}")
        def on_epoch_end(self, epoch, logs=None): calls.append(f"epoch_end{epoch}")
        def on_train_end(self, logs=None): calls.append("train_end")

        def on_batch_end(self, batch, logs=None):
            calls.append(f"batch_end{batch}")
            assert self.model is model and "loss" in logs and "accuracy" in logs
            if batch == 1:
                self.model.stop_training = True

    x, y = data(40)
    model = blobs_model()
    h = model.fit(x, y, batch_size=10, epochs=5, verbose=0, callbacks=[Spy()])
    assert calls == ["train_begin", "epoch_begin0", "batch_begin0", "batch_end0",
                     "batch_begin1", "batch_end1", "epoch_end0", "train_end"]
    assert len(h.history["loss"]) == 1


def test_early_stopping_restores_best_weights():
    x, y = data(40)
    model = blobs_model(lr=0.05)
    snapshots = []

    class Snap(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.state_dict())

    # monitor 'loss' in 'max' mode: the best epoch is the first (loss falls), so it stops
    # after patience epochs without improvement (Keras's rule) and restores epoch 0's weights
    es = nn.callbacks.EarlyStopping(monitor="loss", mode="max", patience=2,
                                    restore_best_weights=True)
    h = model.fit(x, y, epochs=20, batch_size=8, verbose=0, callbacks=[Snap(), es])
    assert len(h.history["loss"]) == 3 and es.best_epoch == 0 and es.stopped_epoch == 2
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, snapshots[0][k])
    before = model.state_dict()
    with pytest.raises(ValueError, match="monitor"):  # no validation data: before any step
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[nn.callbacks.EarlyStopping(monitor="val_loss")])
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_verbose_modes(capsys):
    x, y = data(40)
    model = blobs_model()
    model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, batch_size=10, epochs=2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "loss:" in lines[0]
    model.fit(x, y, batch_size=10, epochs=2, verbose=1)  # stdout is not a tty here
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.strip().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("4/4 [") and "accuracy:" in lines[1]
    assert len(lines) == 4


def test_live_progress_bar_redraws_in_place():
    s = io.StringIO()
    bar = Progbar(3, stream=s, live=True, interval=0.0)
    for i in range(1, 3):
        bar.update(i, {"loss": 1.0 / i})
    bar.finish(3, {"loss": 0.25})
    out = s.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n") and out.count("\n") == 1
    assert "3/3 [==============================]" in out and "loss: 0.2500" in out


def test_summary_lists_layers_shapes_and_counts():
    model = nn.Sequential([nn.layers.Dense(16, activation="relu", input_dim=4, name="hidden"),
                           nn.layers.Dense(3, activation="softmax", name="out")], name="net")
    lines = []
    model.summary(print_fn=lines.append)  # builds from input_dim: no call needed
    text = "\n".join(lines)
    assert 'Model: "net"' in text
    assert "hidden (Dense)" in text and "(None, 16)" in text and "80" in text
    assert "out (Dense)" in text and "(None, 3)" in text and "51" in text
    assert "Total params: 131" in text


def test_summary_of_unbuilt_subclassed_model_is_a_clear_error():
    class M(nn.Model):
        def __init__(self):
            super().__init__()
            self.d = nn.layers.Dense(2)

        def call(self, x):
            return self.d(x)

    m = M()
    with pytest.raises(ValueError, match="not built"):
        m.summary()
    m.build((None, 5))
    lines = []
    m.summary(print_fn=lines.append)
    assert any("d (Dense)" in ln and "(None, 2)" in ln and "12" in ln for ln in lines)


def test_float64_end_to_end():
    x, y = data(20)
    model = nn.Sequential([nn.layers.Dense(4, activation="tanh", dtype="float64"),
                           nn.layers.Dense(3, dtype="float64")])
    model.compile("adam", nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, verbose=0)
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.predict(x).dtype == np.float64
    # and float32 by default, with float64 inputs cast
    layer = nn.layers.Dense(2)
    assert layer(np.ones((1, 3))).dtype == np.float32


def test_activations_by_name_and_callable():
    x = np.linspace(-2, 2, 12).reshape(4, 3)
    for act, f in [("relu", lambda z: np.maximum(z, 0)), ("tanh", np.tanh),
                   ("sigmoid", lambda z: 1 / (1 + np.exp(-z))), ("linear", lambda z: z),
                   (None, lambda z: z), ("softmax", softmax),
                   ("leaky_relu", lambda z: np.where(z > 0, z, 0.01 * z)),
                   (lambda t: t * 2.0, lambda z: 2 * z)]:
        layer = nn.layers.Dense(5, activation=act, input_dim=3, dtype="float64")
        z = x @ layer.kernel.data + layer.bias.data
        np.testing.assert_allclose(layer(x).data, f(z), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="activation"):
        nn.layers.Dense(2, activation="swishy")


def test_dense_is_one_graph_node():
    layer = nn.layers.Dense(3, activation="relu", input_dim=2)
    out = layer(np.ones((4, 2), dtype=np.float32))
    assert out.op == "dense"
    assert layer.kernel.shape == (2, 3) and layer.bias.shape == (3,)
    layer.kernel.data = np.zeros((2, 3), dtype=np.float32)  # .data is assignable
    np.testing.assert_array_equal(layer(np.ones((1, 2))).data, [[0, 0, 0]])
