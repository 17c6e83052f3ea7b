"""Callbacks: Keras's hooks and logs, ModelCheckpoint, LearningRateScheduler,
ReduceLROnPlateau, CSVLogger, LambdaCallback, BackupAndRestore, EarlyStopping."""
import csv
import os

import numpy as np
import pytest

import nn
from nn import callbacks as C

RNG = np.random.default_rng(5)
X = RNG.standard_normal((32, 3)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64)


def model(opt=None):
    nn.set_seed(1)
    m = nn.Sequential([nn.layers.Dense(5, activation="tanh", input_dim=3), nn.layers.Dense(2)])
    m.build((None, 3))
    m.compile(opt or nn.optimizers.Adam(0.05),
              nn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return m


class Recorder(C.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            calls = object.__getattribute__(self, "calls")

            def hook(*args):
                assert object.__getattribute__(self, "model") is not None
                calls.append((name,) + tuple(a if not isinstance(a, dict) else sorted(a)
                                             for a in args))
            return hook
        return object.__getattribute__(self, name)


def test_hooks_in_keras_order_with_keras_logs():
    m = model()
    r = Recorder()
    m.fit(X, Y, batch_size=16, epochs=1, validation_data=(X, Y), callbacks=[r], verbose=0)
    names = [c[0] for c in r.calls]
    assert names == ["on_train_begin", "on_epoch_begin",
                     "on_train_batch_begin", "on_train_batch_end",
                     "on_train_batch_begin", "on_train_batch_end",
                     "on_test_begin", "on_test_batch_begin", "on_test_batch_end",
                     "on_test_batch_begin", "on_test_batch_end", "on_test_end",
                     "on_epoch_end", "on_train_end"]
    assert r.calls[3] == ("on_train_batch_end", 0, ["accuracy", "loss"])
    assert r.calls[12] == ("on_epoch_end", 0, ["accuracy", "loss", "val_accuracy", "val_loss"])
    r2 = Recorder()
    m.evaluate(X, Y, batch_size=32, callbacks=[r2], verbose=0)
    assert [c[0] for c in r2.calls] == ["on_test_begin", "on_test_batch_begin",
                                        "on_test_batch_end", "on_test_end"]
    r3 = Recorder()
    m.predict(X, batch_size=32, callbacks=[r3])
    assert [c[0] for c in r3.calls] == ["on_predict_begin", "on_predict_batch_begin",
                                        "on_predict_batch_end", "on_predict_end"]
    assert r3.calls[2] == ("on_predict_batch_end", 0, ["outputs"])


def test_old_style_batch_hooks_still_called():
    seen = []

    class Old(C.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)
    model().fit(X, Y, batch_size=16, epochs=1, callbacks=[Old()], verbose=0)
    assert seen == [0, 1]


def test_model_checkpoint_formats_saves_best_and_is_atomic(tmp_path):
    m = model()
    path = str(tmp_path / "w-{epoch:02d}-{loss:.3f}.weights.npz")
    ck = C.ModelCheckpoint(path, monitor="loss", save_weights_only=True)
    h = m.fit(X, Y, epochs=3, callbacks=[ck], verbose=0)
    files = sorted(os.listdir(tmp_path))
    assert files == [f"w-{e + 1:02d}-{v:.3f}.weights.npz" for e, v in
                     enumerate(h.history["loss"])]
    twin = model()
    twin.load_weights(str(tmp_path / files[-1]))
    for a, b in zip(m.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    # save_best_only in 'max' mode on a falling loss: only epoch 1 is written
    best = tmp_path / "best"
    best.mkdir()
    ck = C.ModelCheckpoint(str(best / "b-{epoch}.npz"), monitor="loss", mode="max",
                           save_best_only=True, save_weights_only=True)
    model().fit(X, Y, epochs=3, callbacks=[ck], verbose=0)
    assert os.listdir(best) == ["b-1.npz"]
    # save_freq in batches
    freq = tmp_path / "freq"
    freq.mkdir()
    ck = C.ModelCheckpoint(str(freq / "e{epoch}-b{batch}.npz"), save_weights_only=True,
                           save_freq=3)
    model().fit(X, Y, batch_size=8, epochs=2, callbacks=[ck], verbose=0)   # 8 batches
    assert sorted(os.listdir(freq)) == ["e1-b3.npz", "e2-b2.npz"]
    with pytest.raises(ValueError, match="cannot format"):
        model().fit(X, Y, epochs=1, verbose=0, callbacks=[
            C.ModelCheckpoint(str(tmp_path / "{val_loss}.npz"), save_weights_only=True)])


def test_learning_rate_scheduler_sets_and_logs():
    m = model(nn.optimizers.SGD(learning_rate=0.1))
    sched = C.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    h = m.fit(X, Y, epochs=3, callbacks=[sched], verbose=0)
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    one_arg = C.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    h = m.fit(X, Y, epochs=2, callbacks=[one_arg], verbose=0)
    assert h.history["learning_rate"] == pytest.approx([0.01, 0.02])
    with pytest.raises(ValueError, match="returned -1"):
        m.fit(X, Y, epochs=1, verbose=0, callbacks=[C.LearningRateScheduler(lambda e: -1.0)])


class _Opt:
    def __init__(self, lr):
        self.defaults = {"lr": lr}
        self.learning_rate = lr


class _Model:
    def __init__(self, lr):
        self.optimizer = _Opt(lr)


def test_reduce_lr_on_plateau_hand_traced():
    cb = C.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1,
                             min_delta=0.0, min_lr=0.2)
    cb.set_model(_Model(1.0))
    cb.on_train_begin()
    values = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    lrs = []
    for e, v in enumerate(values):
        logs = {"val_loss": v}
        cb.on_epoch_end(e, logs)
        lrs.append(cb.model.optimizer.learning_rate)
        assert logs["learning_rate"] == (lrs[-2] if e else 1.0)
    # Keras's rule: best 0.9 at epoch 1; waits 1, 2 at epochs 2, 3 -> 0.5 at epoch 3 and a
    # cooldown of 1, used up at epoch 4 (which then already counts as wait 1); wait 2 at 5
    # -> 0.25; epoch 6 wait 1, epoch 7 wait 2 -> max(0.125, min_lr 0.2); epoch 8 wait 1
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]
    with pytest.raises(ValueError, match="factor"):
        C.ReduceLROnPlateau(factor=1.0)
    m = model(nn.optimizers.SGD(learning_rate=0.1))
    h = m.fit(X, Y, epochs=3, verbose=0,
              callbacks=[C.ReduceLROnPlateau(monitor="loss", mode="max", patience=0)])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.01])


def test_csv_logger_rows_and_append(tmp_path):
    path = tmp_path / "log.csv"
    m = model()
    h = m.fit(X, Y, epochs=2, callbacks=[C.CSVLogger(path)], verbose=0)
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1]
    assert float(rows[2][2]) == pytest.approx(h.history["loss"][1])
    m.fit(X, Y, epochs=1, callbacks=[C.CSVLogger(path, append=True)], verbose=0)
    rows = list(csv.reader(open(path)))
    assert len(rows) == 4 and rows.count(rows[0]) == 1


def test_lambda_callback():
    ends = []
    m = model()
    m.fit(X, Y, epochs=2, verbose=0,
          callbacks=[C.LambdaCallback(on_epoch_end=lambda e, logs: ends.append(e),
                                      on_train_end=lambda logs: ends.append("end"))])
    assert ends == [0, 1, "end"]
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_ends'"):
        C.LambdaCallback(on_epoch_ends=print)


class Crash(Exception):
    pass


class CrashAt(C.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Crash


@pytest.mark.parametrize("opt", ["adam", "sgd_momentum"])
def test_backup_and_restore_resumes_at_the_same_epoch(tmp_path, opt):
    def make_opt():
        return nn.optimizers.Adam(0.05) if opt == "adam" else \
            nn.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    ref = model(make_opt())
    ref.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0)
    m = model(make_opt())
    backup = C.BackupAndRestore(tmp_path / "bk")
    with pytest.raises(Crash):
        m.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0,
              callbacks=[backup, CrashAt(2)])
    assert os.path.exists(tmp_path / "bk" / "backup.npz")
    fresh = model(make_opt())                   # a new process would start like this
    h = fresh.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0,
                  callbacks=[C.BackupAndRestore(tmp_path / "bk")])
    assert h.epoch == [2, 3]
    assert fresh.optimizer.iterations == ref.optimizer.iterations
    for a, b in zip(ref.parameters(), fresh.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6)
    assert not os.path.exists(tmp_path / "bk" / "backup.npz")     # done: deleted


def test_early_stopping_start_from_epoch_and_baseline():
    m = model()
    # 'max' on a falling loss never improves after the first watched epoch
    es = C.EarlyStopping(monitor="loss", mode="max", patience=1, start_from_epoch=3)
    h = m.fit(X, Y, epochs=10, callbacks=[es], verbose=0)
    assert es.best_epoch == 3 and es.stopped_epoch == 4 and len(h.history["loss"]) == 5
    # a baseline never reached: the first epoch's "improvement" does not reset the wait
    # (Keras's rule), so it stops one epoch earlier than without
    es = C.EarlyStopping(monitor="loss", mode="max", patience=2, baseline=100.0)
    model().fit(X, Y, epochs=10, callbacks=[es], verbose=0)
    plain = C.EarlyStopping(monitor="loss", mode="max", patience=2)
    model().fit(X, Y, epochs=10, callbacks=[plain], verbose=0)
    assert (es.stopped_epoch, plain.stopped_epoch) == (1, 2)


def test_progbar_logger_unknown_length(capsys):
    m = model()
    m.fit(iter([(X[:16], Y[:16]), (X[16:], Y[16:])]), epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "2/Unknown" in out


def test_model_checkpoint_whole_model_when_save_exists(tmp_path):
    m = model()
    if not callable(getattr(m, "save", None)):
        pytest.skip("whole-model saving is not available")
    from nn.saving import load_model
    path = tmp_path / "m-{epoch}.keras"
    m.fit(X, Y, epochs=2, verbose=0, callbacks=[C.ModelCheckpoint(str(path))])
    assert sorted(os.listdir(tmp_path)) == ["m-1.keras", "m-2.keras"]     # no temp files left
    back = load_model(str(tmp_path / "m-2.keras"))
    np.testing.assert_allclose(back.predict(X), m.predict(X), rtol=1e-6)
