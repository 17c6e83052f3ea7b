"""Model.compile(jit_compile=True) for every layer: a small model per layer trains 6 steps
(2 traced, 4 replayed, shuffled) compiled and eagerly from the same weights and seed; the
History, the weights (moving statistics included) and predict agree (float64 to 1e-12,
float32 to 1e-5 relative) and no JitFallbackWarning is raised.  Dropout draws and
BatchNormalization's moving-statistics updates are program effects re-run at each replay."""
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.errors import JitFallbackWarning

L = nn.layers
F64 = "float64"


def seq(*layers):
    return lambda: nn.Sequential(list(layers))


def _merge(make):
    def build():
        a = nn.Input((5,), dtype=F64)
        h1 = L.Dense(4, activation="tanh", dtype=F64)(a)
        h2 = L.Dense(4, dtype=F64)(a)
        return nn.Model(a, L.Dense(2, dtype=F64)(make()([h1, h2])))
    return build


def _vec(n, rng):
    return rng.normal(size=(n, 5))


def _seq_in(n, rng):
    return rng.normal(size=(n, 6, 3))


def _img(n, rng):
    return rng.normal(size=(n, 6, 6, 2))


def _ids(n, rng):
    return rng.integers(0, 10, size=(n, 5))


def _masked_functional():
    ids = nn.Input((5,), dtype="int64")
    h = L.Embedding(10, 4, mask_zero=True, dtype=F64)(ids)
    return nn.Model(ids, L.Dense(2, dtype=F64)(L.SimpleRNN(3, dtype=F64)(h)))


# name -> (model builder (called after nn.set_seed), input maker)
CASES = {
    "Dense": (lambda: nn.Sequential([L.Dense(4, activation="tanh", input_shape=(5,), dtype=F64),
                                     L.Dense(2, dtype=F64)]), _vec),
    "Activation": (lambda: nn.Sequential([L.Dense(4, input_shape=(5,), dtype=F64),
                                          L.Activation("sigmoid", dtype=F64),
                                          L.Dense(2, dtype=F64)]), _vec),
    "Flatten": (lambda: nn.Sequential([L.Flatten(input_shape=(6, 3), dtype=F64),
                                       L.Dense(2, dtype=F64)]), _seq_in),
    "Conv1D": (lambda: nn.Sequential([L.Conv1D(3, 3, activation="relu", input_shape=(6, 3),
                                                dtype=F64), L.Flatten(dtype=F64),
                                       L.Dense(2, dtype=F64)]), _seq_in),
    "Conv2D": (lambda: nn.Sequential([L.Conv2D(3, 3, padding="same", input_shape=(6, 6, 2),
                                                dtype=F64), L.Flatten(dtype=F64),
                                       L.Dense(2, dtype=F64)]), _img),
    "Conv2DTranspose": (lambda: nn.Sequential([L.Conv2DTranspose(2, 3, strides=2,
                                                                 input_shape=(6, 6, 2), dtype=F64),
                                                L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]),
                        _img),
    "DepthwiseConv2D": (lambda: nn.Sequential([L.DepthwiseConv2D(3, input_shape=(6, 6, 2),
                                                                 dtype=F64),
                                                L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]),
                        _img),
    "SeparableConv2D": (lambda: nn.Sequential([L.SeparableConv2D(3, 3, input_shape=(6, 6, 2),
                                                                 dtype=F64),
                                                L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]),
                        _img),
    "MaxPooling1D": (lambda: nn.Sequential([L.Conv1D(3, 2, input_shape=(6, 3), dtype=F64),
                                            L.MaxPooling1D(2, dtype=F64), L.Flatten(dtype=F64),
                                            L.Dense(2, dtype=F64)]), _seq_in),
    "AveragePooling1D": (lambda: nn.Sequential([L.Conv1D(3, 2, input_shape=(6, 3), dtype=F64),
                                                L.AveragePooling1D(2, dtype=F64),
                                                L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]),
                         _seq_in),
    "MaxPooling2D": (lambda: nn.Sequential([L.Conv2D(3, 3, input_shape=(6, 6, 2), dtype=F64),
                                            L.MaxPooling2D(2, dtype=F64), L.Flatten(dtype=F64),
                                            L.Dense(2, dtype=F64)]), _img),
    "AveragePooling2D": (lambda: nn.Sequential([L.Conv2D(3, 3, input_shape=(6, 6, 2), dtype=F64),
                                                L.AveragePooling2D(2, dtype=F64),
                                                L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]),
                         _img),
    "GlobalAveragePooling1D": (lambda: nn.Sequential([L.Conv1D(3, 2, input_shape=(6, 3),
                                                               dtype=F64),
                                                      L.GlobalAveragePooling1D(dtype=F64),
                                                      L.Dense(2, dtype=F64)]), _seq_in),
    "GlobalMaxPooling1D": (lambda: nn.Sequential([L.Conv1D(3, 2, input_shape=(6, 3), dtype=F64),
                                                  L.GlobalMaxPooling1D(dtype=F64),
                                                  L.Dense(2, dtype=F64)]), _seq_in),
    "GlobalAveragePooling2D": (lambda: nn.Sequential([L.Conv2D(3, 3, input_shape=(6, 6, 2),
                                                               dtype=F64),
                                                      L.GlobalAveragePooling2D(dtype=F64),
                                                      L.Dense(2, dtype=F64)]), _img),
    "GlobalMaxPooling2D": (lambda: nn.Sequential([L.Conv2D(3, 3, input_shape=(6, 6, 2),
                                                           dtype=F64),
                                                  L.GlobalMaxPooling2D(dtype=F64),
                                                  L.Dense(2, dtype=F64)]), _img),
    "Reshape": (lambda: nn.Sequential([L.Reshape((9, 2), input_shape=(6, 3), dtype=F64),
                                       L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]), _seq_in),
    "Permute": (lambda: nn.Sequential([L.Permute((2, 1), input_shape=(6, 3), dtype=F64),
                                       L.Dense(2, dtype=F64), L.Flatten(dtype=F64),
                                       L.Dense(2, dtype=F64)]), _seq_in),
    "ZeroPadding2D": (lambda: nn.Sequential([L.ZeroPadding2D(1, input_shape=(6, 6, 2), dtype=F64),
                                             L.Conv2D(2, 3, dtype=F64), L.Flatten(dtype=F64),
                                             L.Dense(2, dtype=F64)]), _img),
    "UpSampling2D": (lambda: nn.Sequential([L.Conv2D(2, 3, input_shape=(6, 6, 2), dtype=F64),
                                            L.UpSampling2D(2, dtype=F64), L.Flatten(dtype=F64),
                                            L.Dense(2, dtype=F64)]), _img),
    "Embedding": (lambda: nn.Sequential([L.Embedding(10, 4, input_shape=(5,), dtype=F64),
                                         L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]), _ids),
    "Embedding-mask_zero-LSTM": (lambda: nn.Sequential([
        L.Embedding(10, 4, mask_zero=True, input_shape=(5,), dtype=F64),
        L.LSTM(3, return_sequences=True, dtype=F64), L.Flatten(dtype=F64),
        L.Dense(2, dtype=F64)]), _ids),
    "Embedding-mask_zero-Bidirectional": (lambda: nn.Sequential([
        L.Embedding(10, 4, mask_zero=True, input_shape=(5,), dtype=F64),
        L.Bidirectional(L.GRU(3, go_backwards=True, dtype=F64)), L.Dense(2, dtype=F64)]), _ids),
    "Embedding-mask_zero-functional": (_masked_functional, _ids),
    "LayerNormalization": (lambda: nn.Sequential([L.Dense(4, input_shape=(5,), dtype=F64),
                                                  L.LayerNormalization(dtype=F64),
                                                  L.Dense(2, dtype=F64)]), _vec),
    "BatchNormalization": (lambda: nn.Sequential([L.Dense(4, input_shape=(5,), dtype=F64),
                                                  L.BatchNormalization(momentum=0.8, dtype=F64),
                                                  L.Dense(2, dtype=F64)]), _vec),
    "BatchNormalization-conv": (lambda: nn.Sequential([
        L.Conv2D(3, 3, input_shape=(6, 6, 2), dtype=F64), L.BatchNormalization(dtype=F64),
        L.Conv2D(2, 3, dtype=F64), L.BatchNormalization(axis=1, momentum=0.5, dtype=F64),
        L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]), _img),
    "Dropout": (lambda: nn.Sequential([L.Dense(8, activation="relu", input_shape=(5,), dtype=F64),
                                       L.Dropout(0.5, dtype=F64), L.Dense(2, dtype=F64)]), _vec),
    "Dropout-seeded-noise_shape": (lambda: nn.Sequential([
        L.Conv1D(4, 2, input_shape=(6, 3), dtype=F64),
        L.Dropout(0.3, noise_shape=(None, 1, None), seed=11, dtype=F64),
        L.Dropout(0.2, dtype=F64), L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]), _seq_in),
    "SpatialDropout2D": (lambda: nn.Sequential([L.Conv2D(4, 3, input_shape=(6, 6, 2), dtype=F64),
                                                L.SpatialDropout2D(0.5, dtype=F64),
                                                L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]),
                         _img),
    "Dropout+BatchNormalization": (lambda: nn.Sequential([
        L.Dense(6, input_shape=(5,), dtype=F64), L.Dropout(0.4, dtype=F64),
        L.BatchNormalization(dtype=F64), L.Dropout(0.4, dtype=F64), L.Dense(2, dtype=F64)]),
        _vec),
    "Lambda": (lambda: nn.Sequential([L.Dense(4, input_shape=(5,), dtype=F64),
                                      L.Lambda(lambda t: ag.tanh(t) * 2.0, dtype=F64),
                                      L.Dense(2, dtype=F64)]), _vec),
    "SimpleRNN": (lambda: nn.Sequential([L.SimpleRNN(4, input_shape=(6, 3), dtype=F64),
                                         L.Dense(2, dtype=F64)]), _seq_in),
    "LSTM": (lambda: nn.Sequential([L.LSTM(4, return_sequences=True, input_shape=(6, 3),
                                           dtype=F64), L.Flatten(dtype=F64),
                                    L.Dense(2, dtype=F64)]), _seq_in),
    "GRU": (lambda: nn.Sequential([L.GRU(4, input_shape=(6, 3), dtype=F64),
                                   L.Dense(2, dtype=F64)]), _seq_in),
    "Bidirectional": (lambda: nn.Sequential([L.Bidirectional(L.LSTM(3, dtype=F64),
                                                             input_shape=(6, 3)),
                                             L.Dense(2, dtype=F64)]), _seq_in),
    "TimeDistributed": (lambda: nn.Sequential([L.TimeDistributed(L.Dense(3, dtype=F64),
                                                                 input_shape=(6, 3)),
                                               L.Flatten(dtype=F64), L.Dense(2, dtype=F64)]),
                        _seq_in),
}
for _m in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"):
    CASES[_m] = (_merge(lambda _m=_m: getattr(L, _m)(dtype=F64)), _vec)
CASES["Dot"] = (_merge(lambda: L.Dot(axes=1, dtype=F64)), _vec)

def _fit(make, x, y, jc, opt="adam"):
    nn.set_seed(7)
    m = make()
    m.compile(opt, "mse", jit_compile=jc)
    h = m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=True)
    return m, h.history, m.predict(x, verbose=0), {k: v.copy() for k, v in m.state_dict().items()}


def _check(name, make, inputs, rtol, opt="adam"):
    rng = np.random.default_rng(1)
    x = inputs(24, rng)
    y = rng.normal(size=(24, 2))
    eager = _fit(make, x, y, False, opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        jit = _fit(make, x, y, True, opt)
    m = jit[0]
    f = m._jit.train_fn
    assert f is not None and not f.fallbacks and m._jit.train_off is None, name
    assert f.trace_count == 1 and all(e.exe is not None for e in f.cache.d.values()), name
    assert eager[1].keys() == jit[1].keys()
    for k in eager[1]:
        assert len(eager[1][k]) == 2
        np.testing.assert_allclose(jit[1][k], eager[1][k], rtol=rtol, atol=0, err_msg=k)
    np.testing.assert_allclose(jit[2], eager[2], rtol=rtol, atol=rtol * 1e-2)
    assert eager[3].keys() == jit[3].keys()
    for k in eager[3]:
        np.testing.assert_allclose(jit[3][k], eager[3][k], rtol=rtol, atol=rtol * 1e-2,
                                   err_msg=k)
    return m


@pytest.mark.parametrize("name", list(CASES))
def test_every_layer_compiles_and_trains_as_eager(name):
    make, inputs = CASES[name]
    _check(name, make, inputs, 1e-12)


@pytest.mark.parametrize("name", ["Dropout", "BatchNormalization"])
def test_float32_dropout_and_batchnorm(name):
    def make():
        mid = L.Dropout(0.5) if name == "Dropout" else L.BatchNormalization()
        return nn.Sequential([L.Dense(8, activation="relu", input_shape=(5,)), mid, L.Dense(2)])
    _check(name, make, lambda n, rng: rng.normal(size=(n, 5)).astype(np.float32), 1e-5,
           opt="sgd")


def test_the_dropout_draw_is_in_the_program_not_a_constant():
    make, inputs = CASES["Dropout+BatchNormalization"]
    m = _check("Dropout+BatchNormalization", make, inputs, 1e-12)
    prog = next(iter(m._jit.train_fn.cache.d.values())).exe.program
    draws = [i for i in prog.instrs if i.info.get("effect") == "draw"]
    muts = [i for i in prog.instrs if i.info.get("effect") == "mutates"]
    assert len(draws) == 2 and len(muts) == 1
    bn = m.layers[2]
    slots = {id(prog.slots[s].tensor) for s in muts[0].info["mutates"]}
    assert slots == {id(bn.moving_mean), id(bn.moving_variance)}
    # (a frozen mask would have failed the equality with eager over the 4 replays)
    mm = bn.moving_mean.data.copy()
    m.train_on_batch(inputs(8, np.random.default_rng(2)), np.zeros((8, 2)))
    assert not np.array_equal(mm, bn.moving_mean.data)      # updated by the replay


def test_set_seed_between_fits_reseeds_the_compiled_draws():
    # the program looks the nn generator up at each replay: nn.set_seed after compiling
    # gives the same masks as the eager step after the same set_seed
    make, inputs = CASES["Dropout"]
    rng = np.random.default_rng(3)
    x, y = inputs(24, rng), rng.normal(size=(24, 2))
    runs = []
    for jc in (False, True):
        m, *_ = _fit(make, x, y, jc)
        nn.set_seed(99)
        h = m.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs.append((h.history["loss"], m.get_weights()))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-12)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_a_lambda_reading_numpy_falls_back_with_a_warning():
    # a layer jit cannot follow (its function reads the values into numpy) trains eagerly,
    # warned, and still equals the eager run
    def make():
        return nn.Sequential([L.Dense(4, input_shape=(5,), dtype=F64),
                              L.Lambda(lambda t: t * float(np.asarray(t.data).std() > -1),
                                       dtype=F64),
                              L.Dense(2, dtype=F64)])
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(24, 5)), rng.normal(size=(24, 2))
    eager = _fit(make, x, y, False)
    with pytest.warns(JitFallbackWarning, match="numpy") as w:
        jit = _fit(make, x, y, True)
    msgs = [str(x.message) for x in w if issubclass(x.category, JitFallbackWarning)]
    assert len(msgs) == 1 and "in Lambda layer 'lambda" in msgs[0], msgs
    np.testing.assert_allclose(jit[1]["loss"], eager[1]["loss"], rtol=1e-12)
    np.testing.assert_allclose(jit[2], eager[2], rtol=1e-12)


def test_auto_switching_between_compiled_and_eager_steps_keeps_the_draws_in_step():
    # "auto" times compiled and eager steps alternately: both consume the generator and
    # advance the moving statistics alike, so the run equals an all-eager one
    make, inputs = CASES["Dropout+BatchNormalization"]
    rng = np.random.default_rng(5)
    x, y = inputs(40, rng), rng.normal(size=(40, 2))
    runs = []
    for jc in (False, "auto"):
        nn.set_seed(7)
        m = make()
        m.compile("adam", "mse", jit_compile=jc)
        h = m.fit(x, y, batch_size=4, epochs=2, verbose=0)
        runs.append((h.history["loss"], m.state_dict(), m))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-12)
    for k, v in runs[0][1].items():
        np.testing.assert_allclose(runs[1][1][k], v, rtol=1e-12, atol=1e-14, err_msg=k)
    c = runs[1][2]._jit
    assert len(c.timing["jit"]) == 3 and len(c.timing["eager"]) == 3 and c.train_off is None
