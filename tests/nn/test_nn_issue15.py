"""Each snippet of issue 15's opening list works now, or raises a clear error."""
import numpy as np
import pytest

import autograd as ag
import nn

RNG = np.random.default_rng(11)
X = RNG.standard_normal((24, 2)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64)


def compiled(opt=None):
    nn.set_seed(0)
    m = nn.Sequential([nn.layers.Dense(4, activation="relu", input_dim=2),
                       nn.layers.Dense(1, activation="sigmoid")])
    m.compile(opt or nn.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    return m


def test_fit_sample_weight_class_weight_generator_steps():
    m = compiled()
    m.fit(X, Y, sample_weight=np.linspace(0.5, 1.5, 24), verbose=0)
    m.fit(X, Y, class_weight={0: 1, 1: 5}, verbose=0)

    def generator():
        while True:
            yield X[:8], Y[:8]
    h = m.fit(generator(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2


def test_clipnorm_and_schedule_accepted():
    sched = nn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    m = compiled(nn.optimizers.Adam(learning_rate=sched, clipnorm=1.0))
    m.fit(X, Y, epochs=2, verbose=0)
    assert m.optimizer.learning_rate == pytest.approx(0.1 * 0.5 ** (m.optimizer.iterations / 10))


def test_the_four_callbacks_exist(tmp_path):
    m = compiled()
    m.fit(X, Y, epochs=2, validation_split=0.25, verbose=0, callbacks=[
        nn.callbacks.ModelCheckpoint(str(tmp_path / "w.npz"), save_weights_only=True),
        nn.callbacks.LearningRateScheduler(lambda epoch, lr: lr),
        nn.callbacks.ReduceLROnPlateau(patience=1),
        nn.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    assert (tmp_path / "w.npz").exists() and (tmp_path / "log.csv").exists()


def test_optimizer_on_unbuilt_model_raises_instead_of_training_nothing():
    model = nn.Sequential([nn.layers.Dense(4), nn.layers.Dense(1)])
    with pytest.raises(ValueError, match="not built.*input_dim"):
        nn.optimizers.SGD(model.parameters(), learning_rate=0.1)


def test_assigning_over_a_parameter_copies_or_raises():
    m = compiled()
    layer = m.layers[0]
    k = layer.kernel
    with pytest.raises(ag.InPlaceError):
        layer.kernel -= 0.1                     # outside no_grad
    assert layer.kernel is k
    before = k.data.copy()
    with ag.no_grad():
        layer.kernel -= 0.1
    assert layer.kernel is k and any(p is k for p in m.parameters())
    np.testing.assert_allclose(k.data, before - 0.1, rtol=1e-6)
    layer.kernel = np.zeros((2, 4))              # an array is copied into the weight
    assert layer.kernel is k and not k.data.any()
    assert "layers.0.kernel" in m.state_dict()
    with pytest.raises(ValueError, match="shape"):
        layer.kernel = np.zeros((3, 3))
    with pytest.raises(ag.InPlaceError, match="no_grad"):
        layer.kernel = layer.kernel * 2.0
    new = nn.Parameter(np.ones((2, 4), dtype=np.float32))
    layer.kernel = new                          # a new parameter replaces it, as in PyTorch
    assert layer.kernel is new


def test_lr_assignment_takes_effect_and_typos_raise():
    m = compiled(nn.optimizers.SGD(learning_rate=0.01))
    m.optimizer.lr = 0.5
    assert m.optimizer.learning_rate == 0.5 and m.optimizer.param_groups[0]["lr"] == 0.5
    with pytest.raises(TypeError, match="learning_rat.*learning_rate"):
        nn.optimizers.Adam(learning_rat=0.1)


def test_adam_on_float16_weights_stays_put():
    nn.set_seed(0)
    m = nn.Sequential([nn.layers.Dense(1, input_dim=2, dtype="float16")])
    m.compile(nn.optimizers.Adam(0.001), "mse")
    before = np.abs(m.layers[0].kernel.data).max()
    m.fit(X.astype(np.float16), X[:, :1].astype(np.float16), epochs=1, batch_size=24, verbose=0)
    after = np.abs(m.layers[0].kernel.data).max()
    assert abs(float(after) - float(before)) < 0.01       # one Adam step moves by ~lr


def test_frozen_layer_weight_assignment_copies():
    layer = nn.layers.Dense(2, input_dim=2)
    layer.trainable = False
    k = layer.kernel
    layer.kernel = np.ones((2, 2))
    assert layer.kernel is k and (k.data == 1).all()
