"""Bad input is a clear ValueError before any training step; a NaN/inf loss stops training
and leaves the weights of the last finite step."""
import numpy as np
import pytest

import autograd as ag
import nn


def model_and_weights(units=3, loss=None, input_dim=4):
    nn.set_seed(0)
    model = nn.Sequential([nn.layers.Dense(5, activation="relu", input_dim=input_dim),
                           nn.layers.Dense(units)])
    model.compile(nn.optimizers.SGD(learning_rate=0.1),
                  loss or nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model, model.state_dict()


def unchanged(model, before):
    after = model.state_dict()
    return all(np.array_equal(after[k], before[k]) for k in before)


X = np.random.default_rng(0).random((10, 4))
Y = np.arange(10) % 3


@pytest.mark.parametrize("x, y, match", [
    (X, Y[:9], "different numbers of samples"),
    (X[:, :3], Y, "last dimension 4"),
    (X, np.where(Y == 2, 3, Y), r"labels must be in \[0, 3\)"),
    (X, Y - 1, r"labels must be in \[0, 3\)"),
    (X, Y + 0.5, "whole numbers"),
    (X.astype(str), Y, "numeric"),
    (X, np.array(["a"] * 10), "numeric"),
    ([[1, 2], [3]], Y[:2], "numeric"),
    (X[:, 0], Y, "samples, features"),
])
def test_bad_input_is_a_value_error_before_any_step(x, y, match):
    model, before = model_and_weights()
    with pytest.raises(ValueError, match=match) as info:
        model.fit(x, y, epochs=1, verbose=0)
    assert isinstance(info.value, ag.AutogradError)
    assert unchanged(model, before)


def test_out_of_range_label_late_in_the_data_is_caught_before_the_first_step():
    model, before = model_and_weights()
    y = Y.copy()
    y[-1] = 7  # not in the first batch
    with pytest.raises(ValueError, match="labels"):
        model.fit(X, y, batch_size=2, epochs=1, verbose=0)
    assert unchanged(model, before)


def test_wrong_target_width_is_caught():
    model, before = model_and_weights(units=2, loss=nn.losses.CategoricalCrossentropy(True))
    with pytest.raises(ValueError, match="does not match"):
        model.fit(X, np.eye(3)[Y], epochs=1, verbose=0)
    assert unchanged(model, before)


def test_bad_arguments():
    model, _ = model_and_weights()
    for kw in ({"batch_size": 0}, {"epochs": -1}, {"validation_split": 1.0},
               {"validation_data": (X,)}, {"verbose": 3}):
        with pytest.raises(ValueError):
            model.fit(X, Y, **kw)
    with pytest.raises(ValueError, match="validation"):
        model.fit(X, Y, validation_data=(X, Y + 5), verbose=0)
    fresh = nn.Sequential([nn.layers.Dense(2)])
    with pytest.raises(nn.NotCompiledError):
        fresh.fit(X, Y)


def test_nan_loss_stops_with_clear_error_and_keeps_last_finite_weights():
    model, _ = model_and_weights(units=1, loss="mse")
    y = np.ones((10, 1))
    y[6] = np.nan  # batch 4 (size 2, no shuffle) has a NaN target
    seen = []

    class Snap(nn.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            if np.isfinite(logs["loss"]):
                seen.append(self.model.state_dict())

    with pytest.raises(nn.NonFiniteLossError, match="epoch 1, batch 4") as info:
        model.fit(X, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[Snap()])
    assert isinstance(info.value, FloatingPointError)
    assert len(seen) == 3
    final = model.state_dict()
    for k in final:
        np.testing.assert_array_equal(final[k], seen[-1][k])
        assert np.isfinite(final[k]).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverging_training_stops_before_weights_become_non_finite():
    model, _ = model_and_weights(units=1, loss="mse")
    model.compile(nn.optimizers.SGD(learning_rate=1e6), "mse")
    with pytest.raises(nn.NonFiniteLossError):
        model.fit(X * 1e3, np.ones((10, 1)) * 1e3, batch_size=2, epochs=50, verbose=0)
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_terminate_on_nan_stops_quietly(capsys):
    model, _ = model_and_weights(units=1, loss="mse")
    y = np.ones((10, 1))
    y[6] = np.inf
    h = model.fit(X, y, batch_size=2, epochs=3, shuffle=False, verbose=0,
                  callbacks=[nn.callbacks.TerminateOnNaN()])
    assert len(h.history["loss"]) == 1  # the partial first epoch (batches 1-3)
    assert "invalid loss" in capsys.readouterr().out
    assert all(np.isfinite(v).all() for v in model.state_dict().values())


def test_evaluate_and_predict_check_input():
    model, _ = model_and_weights()
    with pytest.raises(ValueError, match="different numbers"):
        model.evaluate(X, Y[:3], verbose=0)
    with pytest.raises(ValueError, match="numeric"):
        model.predict(np.array([["x"]]))


def test_loss_that_is_not_a_scalar_is_refused():
    # per-sample losses (first axis = the batch) are reduced as Keras does (their mean);
    # anything else is refused before any step
    model, before = model_and_weights(units=1)
    model.compile("sgd", lambda y_true, y_pred: ag.sum(y_pred - y_true)[None] * np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        model.fit(X, np.ones((10, 1)), verbose=0)
    assert unchanged(model, before)
    model.compile("sgd", lambda y_true, y_pred: (y_pred - y_true) ** 2)
    per_sample = model.evaluate(X, np.ones((10, 1)), verbose=0)
    model.compile("sgd", "mse")
    assert per_sample == pytest.approx(model.evaluate(X, np.ones((10, 1)), verbose=0))
