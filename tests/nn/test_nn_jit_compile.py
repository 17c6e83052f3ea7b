"""Model.compile(jit_compile=...): fit/evaluate/predict/train_on_batch equal eager (History
included) for every optimizer and the losses, a partial last batch, the fallback warning
naming a layer, and the argument check."""
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.errors import JitFallbackWarning
from nn import layers as L

OPTIMIZERS = ["sgd", "adam", "adamw", "adamax", "nadam", "rmsprop", "adagrad", "adadelta",
              "lion"]


def _data(n=50, classes=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, rng.integers(0, classes, n)


def _model(extra=()):
    return nn.Sequential([L.Dense(8, activation="relu", input_shape=(4,)), *extra,
                          L.Dense(3, activation="softmax")])


def _run(jc, opt, loss, y_of, extra=(), epochs=3):
    x, y = _data()
    nn.set_seed(7)
    m = _model(extra)
    m.compile(opt, loss, metrics=["accuracy"] if "sparse" in loss else None, jit_compile=jc)
    h = m.fit(x, y_of(y), batch_size=16, epochs=epochs, verbose=0, shuffle=True)
    return m, h.history, m.predict(x, verbose=0), [p.data.copy() for p in m.parameters()]


def _same(a, b, rtol=1e-5):
    assert a[1].keys() == b[1].keys()
    for k in a[1]:
        np.testing.assert_allclose(a[1][k], b[1][k], rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(a[2], b[2], rtol=rtol, atol=1e-7)
    for p, q in zip(a[3], b[3]):
        np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_fit_compiled_equals_eager_every_optimizer(opt):
    sparse = lambda y: y
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        jit = _run(True, opt, "sparse_categorical_crossentropy", sparse)
    _same(_run(False, opt, "sparse_categorical_crossentropy", sparse), jit)
    f = jit[0]._jit.train_fn
    assert f.trace_count == 2 and not f.fallbacks          # 50 = 3 x 16 + a batch of 2
    assert all(e.exe is not None for e in f.cache.d.values())


@pytest.mark.parametrize("loss", ["mse", "mae", "categorical_crossentropy",
                                  "binary_crossentropy"])
def test_fit_compiled_equals_eager_losses(loss):
    onehot = lambda y: np.eye(3, dtype=np.float32)[y]
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        jit = _run(True, "adam", loss, onehot)
    _same(_run(False, "adam", loss, onehot), jit)
    assert not jit[0]._jit.train_fn.fallbacks


def test_auto_equals_eager_and_decides():
    sparse = lambda y: y
    auto = _run("auto", "sgd", "sparse_categorical_crossentropy", sparse, epochs=6)
    _same(_run(False, "sgd", "sparse_categorical_crossentropy", sparse, epochs=6), auto)
    c = auto[0]._jit
    assert len(c.timing["jit"]) == 3 and len(c.timing["eager"]) == 3
    assert isinstance(c.use_jit, bool)


def test_dropout_compiles_and_equals_eager():
    # the mask is drawn at each replay from the nn generator (autograd.jit.random_draw)
    sparse = lambda y: y
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        jit = _run(True, "adam", "sparse_categorical_crossentropy", sparse,
                   extra=(L.Dropout(0.5),))
    assert not jit[0]._jit.train_fn.fallbacks and jit[0]._jit.train_off is None
    _same(_run(False, "adam", "sparse_categorical_crossentropy", sparse,
               extra=(L.Dropout(0.5),)), jit)


class GaussianNoise(L.Layer):
    """A random layer drawing with numpy itself (not through autograd.jit.random_draw)."""

    def __init__(self, stddev, **kw):
        super().__init__(**kw)
        self.stddev = stddev

    def call(self, x, training=None):
        if not (self.training if training is None else training):
            return x
        from nn import _random
        return x + ag.Tensor(_random.get_rng().normal(0, self.stddev, x.shape).astype(x.dtype))


def test_a_random_layer_not_drawing_through_jit_falls_back_with_one_warning_naming_it():
    sparse = lambda y: y
    with pytest.warns(JitFallbackWarning, match="GaussianNoise layer") as w:
        jit = _run(True, "adam", "sparse_categorical_crossentropy", sparse,
                   extra=(GaussianNoise(0.3, name="noise"),))
    assert len([x for x in w if issubclass(x.category, JitFallbackWarning)]) == 1
    assert "'noise'" in str(w[0].message)
    _same(_run(False, "adam", "sparse_categorical_crossentropy", sparse,
               extra=(GaussianNoise(0.3, name="noise"),)), jit)


@pytest.mark.codegen
def test_train_on_batch_and_predict_compiled():
    x, y = _data(32)
    outs = []
    for jc in (False, True):
        nn.set_seed(3)
        m = _model()
        m.compile("adam", "sparse_categorical_crossentropy", jit_compile=jc)
        logs = [m.train_on_batch(x, y) for _ in range(5)]
        outs.append((logs, m.predict(x, verbose=0), m.predict(x[:7], verbose=0)))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5)
    np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-5)


def test_jit_compile_is_checked():
    m = _model()
    with pytest.raises(ag.InvalidValueError, match="jit_compile"):
        m.compile("adam", "mse", jit_compile="yes")
    m.compile("adam", "mse", jit_compile=False)
    assert m._jit is None


@pytest.mark.codegen
def test_evaluate_compiled_equals_eager():
    x, y = _data()
    res = []
    for jc in (False, True):
        nn.set_seed(5)
        m = _model()
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jc)
        m.fit(x, y, batch_size=16, epochs=1, verbose=0)
        res.append([m.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
                    for _ in range(3)])
        if jc:
            f = m._jit.eval_fn      # forward, loss and metrics: one compiled evaluate step
            assert f.trace_count == 2 and not f.fallbacks       # 16 and the last 2
            assert all(e.exe is not None for e in f.cache.d.values())
    for a, b in zip(*res):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5)


def test_a_dropout_subclass_with_its_own_call_must_declare_its_draws():
    from nn.compiled import blocking_layer

    class MyDropout(L.Dropout):
        def call(self, x, training=None):
            return x

    class Declared(MyDropout):
        jit_draws = True

    class Spatial(L.SpatialDropout2D):      # call inherited from Dropout: declared there
        pass
    assert "MyDropout layer" in blocking_layer(nn.Sequential([MyDropout(0.5)]))
    assert blocking_layer(nn.Sequential([Declared(0.5), Spatial(0.5)])) is None
    assert blocking_layer(nn.Sequential([L.Dropout(0.5), L.BatchNormalization()])) is None
