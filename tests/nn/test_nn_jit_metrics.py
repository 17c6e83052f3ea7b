"""jit_compile=True: metrics computed inside the compiled train and evaluate steps.

Every figure is compared with the same run under jit_compile=False (float64 to 1e-12,
float32 to 1e-5): fit's History (validation included), evaluate, train_on_batch and
test_on_batch.  A compiled metric must be in the program (``MetricPlan.active``, no
warning); one that cannot be traced stays eager with exactly one warning naming it.
"""
import warnings

import numpy as np
import pytest

import nn
from autograd import kernels as K
from autograd.errors import JitFallbackWarning
from nn import layers as L

N, BS = 50, 16                    # 3 batches of 16 and a last partial batch of 2
TOL = {"float64": dict(rtol=1e-12, atol=1e-14), "float32": dict(rtol=1e-5, atol=1e-7)}


def _data(kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, 4)).astype(dtype)
    labels = rng.integers(0, 3, N)
    if kind == "sparse":
        return x, labels
    if kind == "sparse_col":
        return x, labels.reshape(-1, 1)
    if kind == "onehot":
        return x, np.eye(3, dtype=dtype)[labels]
    return x, (labels == 0).astype(dtype).reshape(-1, 1)          # binary


# (targets, output units, activation, loss, metrics): every built-in name and class, and
# the losses used as metrics (the MSE/MAE-like ones)
CASES = {
    "sparse": ("sparse", 3, None, lambda: nn.losses.SparseCategoricalCrossentropy(
        from_logits=True), lambda: [
        "accuracy", "sparse_categorical_accuracy", nn.metrics.SparseCategoricalAccuracy(
            name="sca"), nn.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                 name="xent")]),
    "sparse_col": ("sparse_col", 3, "softmax", lambda: "sparse_categorical_crossentropy",
                   lambda: ["acc", nn.metrics.SparseCategoricalAccuracy,
                            nn.metrics.Accuracy(name="auto_acc")]),
    "onehot": ("onehot", 3, "softmax", lambda: "categorical_crossentropy", lambda: [
        "acc", "categorical_accuracy", nn.metrics.CategoricalAccuracy(name="ca"),
        nn.metrics.Accuracy, nn.losses.CategoricalCrossentropy(name="cce"),
        nn.losses.MeanSquaredError(name="mse"), nn.losses.MeanAbsoluteError(name="mae")]),
    "binary": ("binary", 1, None, lambda: nn.losses.BinaryCrossentropy(from_logits=True),
               lambda: ["accuracy", "binary_accuracy",
                        nn.metrics.BinaryAccuracy(threshold=0.0, name="logit_acc"),
                        nn.losses.BinaryCrossentropy(from_logits=True, name="bce"),
                        nn.losses.MeanSquaredError(name="mse")]),
    "binary_prob": ("binary", 1, "sigmoid", lambda: "mse", lambda: [
        nn.metrics.BinaryAccuracy, nn.losses.MeanAbsoluteError(name="mae")]),
}


def _model(units, activation, dtype):
    return nn.Sequential([L.Dense(8, activation="tanh", input_shape=(4,), dtype=dtype),
                          L.Dense(units, activation=activation, dtype=dtype)])


def _run(jc, case, dtype, metrics=None, lr=0.3):
    kind, units, act, loss, ms = CASES[case]
    x, y = _data(kind, dtype)
    xv, yv = _data(kind, dtype, seed=1)
    nn.set_seed(3)
    m = _model(units, act, dtype)
    m.compile(nn.optimizers.SGD(learning_rate=lr, momentum=0.5), loss(),
              metrics=metrics if metrics is not None else ms(), jit_compile=jc)
    h = m.fit(x, y, batch_size=BS, epochs=3, verbose=0, validation_data=(xv, yv))
    ev = m.evaluate(xv, yv, batch_size=BS, verbose=0, return_dict=True)
    tob = [m.train_on_batch(x[:BS], y[:BS], return_dict=True) for _ in range(4)]
    teb = [m.test_on_batch(xv[:BS], yv[:BS], return_dict=True) for _ in range(4)]
    return m, h.history, ev, tob, teb


def _same(a, b, tol):
    _, ha, ea, ta, tea = a
    _, hb, eb, tb, teb = b
    assert ha.keys() == hb.keys()
    for k in ha:
        np.testing.assert_allclose(hb[k], ha[k], err_msg=k, **tol)
    for da, db in [(ea, eb)] + list(zip(ta, tb)) + list(zip(tea, teb)):
        assert da.keys() == db.keys()
        for k in da:
            np.testing.assert_allclose(db[k], da[k], err_msg=k, **tol)


def _strict(*args, **kw):
    """_run with every JitFallbackWarning an error (nothing may fall back)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        return _run(*args, **kw)


#: the cases that also build generated code (each other case replays with numpy: every case
#: traces its own train and evaluate programs, whose first numba builds cost 15-60 s each
#: case on a cold code cache; tests/conftest.py)
CODEGEN_CASES = {("sparse", "float32"), ("binary", "float64")}


@pytest.mark.parametrize("case, dtype", [
    pytest.param(c, d, marks=[pytest.mark.codegen] if (c, d) in CODEGEN_CASES else [])
    for c in sorted(CASES) for d in ("float64", "float32")])
def test_builtin_metrics_compiled_equal_eager(case, dtype):
    jit = _strict(True, case, dtype)
    eager = _run(False, case, dtype)
    _same(eager, jit, TOL[dtype])
    m = jit[0]
    c = m._jit
    # every metric is computed in the programs, none silently dropped or left eager
    assert c.mplan is not None and c.mplan.active == list(range(len(m.metrics)))
    for f in (c.train_fn, c.eval_fn):
        assert not f.fallbacks and f.trace_count == 2           # batches of 16 and of 2
        assert all(e.exe is not None for e in f.cache.d.values())   # replayed
    x, y = _data(CASES[case][0], dtype)
    prog = c.train_fn.program(x[:BS], y[:BS])
    assert len(prog.out_kinds) == 2 + len(m.metrics)            # loss, output, each metric
    assert set(jit[1]) == {"loss", "val_loss"} | {n for k in m.metrics for n in (
        nn.metrics.metric_name(k), "val_" + nn.metrics.metric_name(k))}


@pytest.fixture
def numpy_replay():
    """The programs replayed with numpy (no generated numba code, and the library's kernels in
    numpy): these tests are about which values the metrics read, not about code generation,
    which the builtin-metrics test covers."""
    with K.forced("numpy"):
        yield


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_metrics_are_the_pre_update_output(dtype, numpy_replay):
    # train_on_batch reports the metrics of the output before the step; with this learning
    # rate the output after the step is far from it, so a compiled metric read after the
    # update (or recomputed from the updated weights) would fail the equality above
    jit = _strict(True, "onehot", dtype, lr=0.8)
    eager = _run(False, "onehot", dtype, lr=0.8)
    _same(eager, jit, TOL[dtype])
    m = jit[0]
    x, y = _data("onehot", dtype)
    before = m.train_on_batch(x[:BS], y[:BS], return_dict=True)
    after = m.test_on_batch(x[:BS], y[:BS], return_dict=True)
    assert abs(before["mse"] - after["mse"]) > 1e3 * TOL[dtype]["rtol"] * abs(before["mse"])


def _two_outputs(dtype):
    nn.set_seed(5)
    inp = nn.Input((4,))
    h = L.Dense(8, activation="tanh", dtype=dtype)(inp)
    digit = L.Dense(3, name="digit", dtype=dtype)(h)
    even = L.Dense(1, activation="sigmoid", name="even", dtype=dtype)(h)
    return nn.Model(inp, [digit, even])


@pytest.mark.parametrize("as_dict", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_multi_output_metrics_compiled_equal_eager(dtype, as_dict, numpy_replay):
    x, labels = _data("sparse", dtype)
    even = (labels % 2 == 0).astype(dtype).reshape(-1, 1)
    y = {"digit": labels, "even": even} if as_dict else (labels, even)
    res = []
    for jc in (False, True):
        m = _two_outputs(dtype)
        m.compile("adam", {"digit": nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                           "even": "binary_crossentropy"},
                  metrics={"digit": ["accuracy"],
                           "even": ["accuracy", nn.losses.MeanAbsoluteError(name="mae")]},
                  jit_compile=jc)
        with warnings.catch_warnings():
            warnings.simplefilter("error", JitFallbackWarning)
            h = m.fit(x, y, batch_size=BS, epochs=3, verbose=0)
            ev = m.evaluate(x, y, batch_size=BS, verbose=0, return_dict=True)
            tb = m.test_on_batch(x[:BS], {k: v[:BS] for k, v in y.items()} if as_dict
                                 else tuple(v[:BS] for v in y), return_dict=True)
        res.append((m, h.history, ev, [], [tb]))
    _same(res[0], res[1], TOL[dtype])
    m = res[1][0]
    names = [nn.metrics.metric_name(k) for k in m.metrics]
    assert names == ["digit_loss", "even_loss", "digit_accuracy", "even_accuracy", "even_mae"]
    assert m._jit.mplan.active == [0, 1, 2, 3, 4]
    f = m._jit.train_fn
    assert f.trace_count == 2 and not f.fallbacks           # the train step compiled
    assert all(e.exe is not None for e in f.cache.d.values())


def test_traceable_user_callable_compiles_without_warning():
    calls = []

    def mean_gap(y_true, y_pred):           # numpy functions on tensors dispatch to ops
        calls.append(1)
        return np.mean(np.abs(y_true - y_pred))

    jit = _strict(True, "onehot", "float64", metrics=["accuracy", mean_gap])
    n_jit = len(calls)
    eager = _run(False, "onehot", "float64", metrics=["accuracy", mean_gap])
    _same(eager, jit, TOL["float64"])
    assert jit[0]._jit.mplan.active == [0, 1]
    # called at trace time only: far fewer calls than the eager run's one per batch
    assert n_jit < (len(calls) - n_jit) / 2


def test_untraceable_callable_one_warning_and_eager_values():
    def rounded(y_true, y_pred):            # reads the values into numpy: not traceable
        p = np.asarray(y_pred)
        return float(np.mean(np.argmax(p, -1) == np.argmax(np.asarray(y_true), -1)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jit = _run(True, "onehot", "float64", metrics=["accuracy", rounded])
    eager = _run(False, "onehot", "float64", metrics=["accuracy", rounded])
    _same(eager, jit, TOL["float64"])
    msgs = [str(w.message) for w in caught if issubclass(w.category, JitFallbackWarning)]
    assert len(msgs) == 1 and "'rounded'" in msgs[0], msgs
    assert jit[0]._jit.mplan.active == [0]
    # the eager metric equals the compiled accuracy it duplicates
    np.testing.assert_allclose(jit[1]["rounded"], jit[1]["accuracy"], rtol=1e-12)


class Count(nn.metrics.Metric):
    """A metric with Python state: how many batches it has seen."""

    name = "count"

    def __init__(self):
        self.n = 0

    def __call__(self, y_true, y_pred):
        self.n += 1
        return float(self.n)


class Misses(nn.metrics.SparseCategoricalAccuracy):
    """Overrides __call__ (not ``traced``): the parent's traced formula must not be used."""

    def __init__(self):
        super().__init__(name="misses")

    def __call__(self, y_true, y_pred):
        return 1.0 - super().__call__(y_true, y_pred)


@pytest.mark.parametrize("metric", [Count, Misses])
def test_stateful_or_overriding_metric_stays_eager_with_one_warning(metric):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jit = _run(True, "sparse", "float32", metrics=["accuracy", metric()])
    eager = _run(False, "sparse", "float32", metrics=["accuracy", metric()])
    _same(eager, jit, TOL["float32"])
    msgs = [str(w.message) for w in caught if issubclass(w.category, JitFallbackWarning)]
    assert len(msgs) == 1 and repr(metric().name) in msgs[0], msgs
    assert jit[0]._jit.mplan.active == [0]
    if metric is Count:         # every batch counted once, as in the eager run
        assert jit[0].metrics[1].n == eager[0].metrics[1].n > 12


def test_traced_keeps_an_overridden_call():
    assert nn.metrics.traced(nn.metrics.SparseCategoricalAccuracy()).__name__ == "traced"
    assert nn.metrics.traced(Misses()).__name__ != "traced"


@pytest.mark.parametrize("weights", ["sample_weight", "class_weight"])
def test_weighted_fit_and_evaluate_equal_eager(weights):
    x, y = _data("sparse", "float64")
    sw = np.random.default_rng(2).uniform(0.5, 2.0, N)
    res = []
    for jc in (False, True):
        nn.set_seed(3)
        m = _model(3, None, "float64")
        m.compile("adam", nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", nn.losses.SparseCategoricalCrossentropy(
                      from_logits=True, name="xent")], jit_compile=jc)
        kw = {"sample_weight": sw} if weights == "sample_weight" else \
            {"class_weight": {0: 2.0, 1: 0.5}}
        h = m.fit(x, y, batch_size=BS, epochs=2, verbose=0, **kw)
        ev = m.evaluate(x, y, batch_size=BS, verbose=0, sample_weight=sw, return_dict=True)
        tob = [m.train_on_batch(x[:BS], y[:BS], sample_weight=sw[:BS], return_dict=True)]
        res.append((m, h.history, ev, tob, []))
    _same(res[0], res[1], TOL["float64"])
