"""fit/evaluate/predict with Keras's signatures: datasets and generators, sample and class
weights, losses' reductions, *_on_batch, and nn.data.Dataset."""
import threading
import time

import numpy as np
import pytest

import autograd as ag
import nn
from nn.data import Dataset

RNG = np.random.default_rng(3)
X = RNG.standard_normal((40, 3)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def model(lr=0.05, loss=None, opt=None):
    nn.set_seed(0)
    m = nn.Sequential([nn.layers.Dense(6, activation="tanh", input_dim=3), nn.layers.Dense(2)])
    m.build((None, 3))
    m.compile(opt or nn.optimizers.SGD(learning_rate=lr),
              loss or nn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


# ----------------------------------------------------------------------------- nn.data
def test_dataset_slices_batches_and_structures():
    ds = Dataset.from_tensor_slices((X[:5], Y[:5]))
    assert ds.cardinality() == 5 and len(ds) == 5
    xb, yb = next(iter(ds.batch(2)))
    np.testing.assert_array_equal(xb, X[:2])
    np.testing.assert_array_equal(yb, Y[:2])
    assert [len(b[0]) for b in ds.batch(2)] == [2, 2, 1]
    assert [len(b[0]) for b in ds.batch(2, drop_remainder=True)] == [2, 2]
    assert len(ds.batch(2)) == 3 and len(ds.batch(2, drop_remainder=True)) == 2
    d = next(iter(Dataset.from_tensor_slices({"a": X[:4], "b": Y[:4]}).batch(4)))
    assert set(d) == {"a", "b"} and d["a"].shape == (4, 3)
    with pytest.raises(ValueError, match="different numbers"):
        Dataset.from_tensor_slices((X[:3], Y[:4]))


def test_dataset_map_repeat_take():
    ds = Dataset.from_tensor_slices(np.arange(4)).map(lambda v: v * 10)
    assert [int(v) for v in ds] == [0, 10, 20, 30]
    pairs = Dataset.from_tensor_slices((np.arange(3), np.arange(3))).map(lambda a, b: a + b)
    assert [int(v) for v in pairs] == [0, 2, 4]
    rep = Dataset.from_tensor_slices(np.arange(3)).repeat()
    assert rep.cardinality() == nn.data.INFINITE
    assert [int(v) for v in rep.take(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert rep.take(7).cardinality() == 7
    assert Dataset.from_tensor_slices(np.arange(3)).repeat(2).cardinality() == 6
    with pytest.raises(TypeError, match="infinite"):
        len(rep)


def test_shuffle_is_a_seeded_permutation_each_pass():
    base = Dataset.from_tensor_slices(np.arange(50))
    a = [int(v) for v in base.shuffle(50, seed=1)]
    b = [int(v) for v in base.shuffle(50, seed=1)]
    assert a == b and sorted(a) == list(range(50)) and a != list(range(50))
    ds = base.shuffle(50, seed=1)
    p1, p2 = [int(v) for v in ds], [int(v) for v in ds]
    assert p1 != p2 and sorted(p2) == list(range(50))          # reshuffled each pass
    fixed = base.shuffle(50, seed=1, reshuffle_each_iteration=False)
    assert [int(v) for v in fixed] == [int(v) for v in fixed]
    # a small buffer only moves elements forward by less than its size... at most
    small = [int(v) for v in base.shuffle(3, seed=0)]
    assert sorted(small) == list(range(50))
    assert all(v <= i + 2 for i, v in enumerate(small))


def test_prefetch_runs_on_a_thread_propagates_errors_and_stops():
    seen_threads = set()

    def slow(v):
        seen_threads.add(threading.current_thread().name)
        return v

    ds = Dataset.from_tensor_slices(np.arange(6)).map(slow).prefetch(2)
    assert [int(v) for v in ds] == list(range(6))
    assert seen_threads == {"nn.data.prefetch"}

    def boom(v):
        if v == 2:
            raise ArithmeticError("bad element")
        return v
    with pytest.raises(ArithmeticError, match="bad element"):
        list(Dataset.from_tensor_slices(np.arange(5)).map(boom).prefetch(1))
    it = iter(Dataset.from_tensor_slices(np.arange(3)).repeat().prefetch(1))
    next(it)
    it.close()                          # what a `break` does
    deadline = time.time() + 2
    while any(t.name == "nn.data.prefetch" for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "nn.data.prefetch" for t in threading.enumerate())


def test_fit_on_dataset_equals_fit_on_arrays():
    a, b = model(), model()
    ha = a.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    hb = b.fit(Dataset.from_tensor_slices((X, Y)).batch(8).prefetch(2), epochs=3, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-6)
    assert b.evaluate(Dataset.from_tensor_slices((X, Y)).batch(8), verbose=0) == \
        pytest.approx(a.evaluate(X, Y, verbose=0), rel=1e-6)
    np.testing.assert_allclose(b.predict(Dataset.from_tensor_slices(X).batch(16)),
                               a.predict(X), rtol=1e-6)


def test_generators_and_steps_per_epoch():
    def gen():
        i = 0
        while True:
            sl = slice(i % 40, i % 40 + 8)
            yield X[sl], Y[sl]
            i += 8
    m = model()
    h = m.fit(gen(), steps_per_epoch=5, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    with pytest.raises(ValueError, match="infinite.*steps_per_epoch"):
        m.fit(Dataset.from_tensor_slices((X, Y)).batch(8).repeat(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="read only once.*steps_per_epoch"):
        m.fit(iter([(X, Y)]), epochs=2, verbose=0)
    with pytest.raises(ValueError, match="ran out after"):
        m.fit(iter([(X, Y)] * 3), steps_per_epoch=2, epochs=2, verbose=0)
    m.fit(iter([(X[:20], Y[:20]), (X[20:], Y[20:])]), epochs=1, verbose=0)   # one pass
    with pytest.raises(ValueError, match="batch_size must be None"):
        m.fit(Dataset.from_tensor_slices((X, Y)).batch(8), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=r"\(x, y\)"):
        m.fit(iter([X]), epochs=1, verbose=0)
    # a re-iterable that is not a Dataset (a DataLoader-like object) is read afresh each epoch
    class Loader:
        def __iter__(self):
            return iter([(X[:20], Y[:20]), (X[20:], Y[20:])])
    h = m.fit(Loader(), epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3
    # steps_per_epoch on arrays: the reading goes on across epochs
    seen = []
    cb = nn.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    m.fit(X, Y, batch_size=16, steps_per_epoch=2, epochs=3, verbose=0, callbacks=[cb])
    assert seen == [0, 1] * 3


def test_fit_arguments_checked():
    m = model()
    with pytest.raises(TypeError, match="unknown keyword argument 'epoch'.*valid ones.*epochs"):
        m.fit(X, Y, epoch=3)
    with pytest.raises(TypeError, match="unknown keyword.*steps"):
        m.evaluate(X, Y, step=1)
    with pytest.raises(ValueError, match="validation_freq"):
        m.fit(X, Y, validation_freq=0, verbose=0)
    with pytest.raises(ValueError, match="sample_weight holds 3"):
        m.fit(X, Y, sample_weight=np.ones(3), verbose=0)


def test_initial_epoch_and_validation_freq():
    m = model()
    logs = []
    cb = nn.callbacks.LambdaCallback(on_epoch_end=lambda e, l: logs.append((e, sorted(l))))
    h = m.fit(X, Y, epochs=5, initial_epoch=2, validation_data=(X, Y), validation_freq=2,
              verbose=0, callbacks=[cb])
    assert h.epoch == [2, 3, 4]
    assert [e for e, keys in logs if "val_loss" in keys] == [3]        # epochs 2, 4 (1-based)
    h = m.fit(X, Y, epochs=3, validation_data=(X, Y), validation_freq=[1, 3], verbose=0)
    assert len(h.history["val_loss"]) == 2


# ----------------------------------------------------------------------------- weights
def test_loss_reductions_and_sample_weight_hand_computed():
    z = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    t = np.array([0, 0, 1])
    per = np.log(np.exp(z).sum(1)) - z[np.arange(3), t]
    w = np.array([1.0, 2.0, 0.5])
    f = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(f(t, ag.Tensor(z)).data) == pytest.approx(per.mean())
    assert float(f(t, ag.Tensor(z), sample_weight=w).data) == pytest.approx((per * w).sum() / 3)
    s = nn.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    assert float(s(t, ag.Tensor(z), sample_weight=w).data) == pytest.approx((per * w).sum())
    n = nn.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    np.testing.assert_allclose(n(t, ag.Tensor(z)).data, per)
    mse = nn.losses.MeanSquaredError(reduction="none")
    np.testing.assert_allclose(mse(np.zeros((3, 2)), ag.Tensor(z)).data, (z ** 2).mean(1))
    with pytest.raises(ValueError, match="reduction"):
        nn.losses.MeanSquaredError(reduction="mean")


@pytest.mark.parametrize("name", ["bce", "cce", "sparse", "mse", "mae"])
def test_per_sample_losses_match_torch(name):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    z = RNG.standard_normal((5, 3))
    t_cls = RNG.integers(0, 3, 5)
    t_bin = RNG.integers(0, 2, (5, 3)).astype(float)
    zt = torch.tensor(z)
    for logits in (True, False):
        if name == "bce":
            ours = nn.losses.BinaryCrossentropy(from_logits=logits, reduction="none")
            p = z if logits else 1 / (1 + np.exp(-z))
            got = ours(t_bin, ag.Tensor(p)).data
            want = F.binary_cross_entropy_with_logits(zt, torch.tensor(t_bin), reduction="none").mean(1)
        elif name in ("cce", "sparse"):
            p = z if logits else np.exp(z) / np.exp(z).sum(1, keepdims=True)
            if name == "cce":
                ours = nn.losses.CategoricalCrossentropy(from_logits=logits, reduction="none")
                got = ours(np.eye(3)[t_cls], ag.Tensor(p)).data
            else:
                ours = nn.losses.SparseCategoricalCrossentropy(from_logits=logits, reduction="none")
                got = ours(t_cls, ag.Tensor(p)).data
            want = F.cross_entropy(zt, torch.tensor(t_cls), reduction="none")
        else:
            cls = nn.losses.MeanSquaredError if name == "mse" else nn.losses.MeanAbsoluteError
            got = cls(reduction="none")(t_bin, ag.Tensor(z)).data
            fn = F.mse_loss if name == "mse" else F.l1_loss
            want = fn(zt, torch.tensor(t_bin), reduction="none").mean(1)
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)


def test_class_weight_to_sample_weights_as_keras():
    cw = {0: 1.0, 1: 5.0, 2: 0.5}
    f = nn.training.class_weight_to_sample_weights
    np.testing.assert_array_equal(f(np.array([0, 1, 2, 1]), cw), [1.0, 5.0, 0.5, 5.0])
    np.testing.assert_array_equal(f(np.array([[1], [0]]), cw), [5.0, 1.0])
    np.testing.assert_array_equal(f(np.eye(3)[[2, 0, 1]], cw), [0.5, 1.0, 5.0])
    np.testing.assert_array_equal(f(np.array([[0.2], [0.9]]), {1: 3.0}), [1.0, 3.0])  # rounded
    np.testing.assert_array_equal(f(np.array([3, 0]), {0: 2.0}), [1.0, 2.0])   # missing: 1


def test_fit_with_weights_steps_on_the_weighted_loss():
    # one full-batch SGD step with class weights equals one with the same sample weights,
    # and equals a step on the hand-weighted loss
    cw = {0: 1.0, 1: 5.0}
    sw = np.where(Y == 1, 5.0, 1.0)
    a, b, c = model(), model(), model()
    a.fit(X, Y, batch_size=40, epochs=1, class_weight=cw, shuffle=False, verbose=0)
    b.fit(X, Y, batch_size=40, epochs=1, sample_weight=sw, shuffle=False, verbose=0)
    loss = c.loss(Y, c(X), sample_weight=sw)
    assert float(loss.data) == pytest.approx(b.history.history["loss"][0], rel=1e-6)
    loss.backward()
    c.optimizer.add_params(c.parameters())
    c.optimizer.step()
    for p, q, r in zip(a.parameters(), b.parameters(), c.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-6)
        np.testing.assert_allclose(q.data, r.data, rtol=1e-6)
    ev = b.evaluate(X, Y, sample_weight=sw, verbose=0, return_dict=True)
    assert ev["loss"] == pytest.approx(float(b.loss(Y, b(X), sample_weight=sw).data), rel=1e-6)


def test_on_batch_methods():
    m = model()
    before = float(m.loss(Y, m(X)).data)
    out = m.train_on_batch(X, Y)
    assert out[0] == pytest.approx(before, rel=1e-6) and len(out) == 2
    after = m.test_on_batch(X, Y, return_dict=True)
    assert set(after) == {"loss", "accuracy"} and after["loss"] < before
    np.testing.assert_allclose(m.predict_on_batch(X), m(X).data)
    fresh = nn.Sequential([nn.layers.Dense(2)])      # unbuilt: the first step builds and binds
    fresh.compile("sgd", "mse")
    fresh.train_on_batch(X, np.zeros((40, 2)))
    assert len(fresh.optimizer.params) == 2


def test_custom_loss_function_with_sample_weight():
    def per_sample(y_true, y_pred):
        d = y_pred - y_true
        return ag.mean(d * d, axis=-1)

    def scalar(y_true, y_pred):
        d = y_pred - y_true
        return ag.mean(d * d)
    yy = X[:, :1] * 2
    for fn, ok in ((per_sample, True), (scalar, False)):
        m = nn.Sequential([nn.layers.Dense(1, input_dim=3)])
        m.compile("sgd", fn)
        if ok:
            m.fit(X, yy, sample_weight=np.ones(40), verbose=0)
        else:
            with pytest.raises(ValueError, match="per-sample"):
                m.fit(X, yy, sample_weight=np.ones(40), verbose=0)


def test_loss_configs_round_trip():
    for loss in (nn.losses.MeanSquaredError(reduction="sum"),
                 nn.losses.BinaryCrossentropy(from_logits=True, reduction="none"),
                 nn.losses.SparseCategoricalCrossentropy(from_logits=True)):
        back = type(loss).from_config(loss.get_config())
        assert back.get_config() == loss.get_config()


def test_a_source_that_stops_yielding_raises_instead_of_spinning():
    class Shared:                       # re-iterable in name only: one shared iterator
        def __init__(self):
            self.it = iter([(X[:8], Y[:8])] * 2)

        def __iter__(self):
            return self.it
    m = model()
    with pytest.raises(ValueError, match="ran out after"):
        m.fit(Shared(), steps_per_epoch=3, epochs=1, verbose=0)
