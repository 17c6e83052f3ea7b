"""The compiled train step (``jit_compile=True``) holds the whole step: forward, loss,
backward and the update.  For every optimizer (and its variants: momentum, Nesterov, weight
decay, clipping, a learning-rate schedule, constraints) N compiled steps leave the same
weights and optimizer state as N eager ones (float64 to 1e-12); a non-finite loss or
gradient on a replayed step applies nothing, with the eager step's error; a replay leaves
the model's training flag alone."""
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.errors import JitFallbackWarning
from nn import layers as L
from nn.errors import NonFiniteLossError
from nn.optimizers import schedules

STEPS = 7       # two traced calls, then replays


def _opt_cases():
    O = nn.optimizers
    sched = lambda: schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    return {
        "sgd": lambda: O.SGD(learning_rate=0.05),
        "sgd-momentum": lambda: O.SGD(learning_rate=0.05, momentum=0.9),
        "sgd-nesterov-wd": lambda: O.SGD(learning_rate=0.05, momentum=0.9, nesterov=True,
                                         weight_decay=0.01),
        "sgd-schedule": lambda: O.SGD(learning_rate=sched(), momentum=0.5),
        "adam": lambda: O.Adam(learning_rate=0.01),
        "adam-wd-schedule": lambda: O.Adam(learning_rate=sched(), weight_decay=0.01),
        "adamw": lambda: O.AdamW(learning_rate=0.01),
        "adamax": lambda: O.Adamax(learning_rate=0.01),
        "nadam": lambda: O.Nadam(learning_rate=0.01),
        "rmsprop": lambda: O.RMSprop(learning_rate=0.01, weight_decay=0.001),
        "adagrad": lambda: O.Adagrad(learning_rate=0.05),
        "adadelta": lambda: O.Adadelta(learning_rate=1.0),
        "lion": lambda: O.Lion(learning_rate=0.003, weight_decay=0.01),
        "adam-clipnorm": lambda: O.Adam(learning_rate=0.01, clipnorm=0.05),
        "sgd-clipvalue": lambda: O.SGD(learning_rate=0.05, clipvalue=0.01),
        "rmsprop-global-clipnorm": lambda: O.RMSprop(learning_rate=0.01, global_clipnorm=0.1),
    }


CASES = _opt_cases()


def _data(n=32, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(dtype), rng.integers(0, 3, n)


def _model(dtype="float64", constraint=None):
    return nn.Sequential([
        L.Dense(8, activation="tanh", input_shape=(4,), dtype=dtype,
                kernel_constraint=constraint),
        L.Dense(3, dtype=dtype)])


def _steps(jc, make_opt, dtype="float64", constraint=None, steps=STEPS):
    nn.set_seed(11)
    m = _model(dtype, constraint)
    opt = make_opt()
    m.compile(opt, nn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"], jit_compile=jc)
    logs = []
    for k in range(steps):
        x, y = _data(dtype=dtype, seed=k % 3)
        logs.append(m.train_on_batch(x, y, return_dict=True))
    return m, opt, logs


def _same_state(a, b, rtol):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa["iterations"] == sb["iterations"]
    assert sa["state"].keys() == sb["state"].keys()
    for i in sa["state"]:
        assert sa["state"][i].keys() == sb["state"][i].keys()
        for k, v in sa["state"][i].items():
            w = sb["state"][i][k]
            if isinstance(v, np.ndarray):
                np.testing.assert_allclose(w, v, rtol=rtol, atol=rtol * 1e-3, err_msg=k)
            else:
                assert w == pytest.approx(v, rel=rtol), k


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_steps_equal_eager_weights_and_state(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        mj, oj, lj = _steps(True, CASES[case])
    me, oe, le = _steps(False, CASES[case])
    f = mj._jit.train_fn
    assert not f.fallbacks and f.trace_count == 1
    assert all(e.exe is not None for e in f.cache.d.values())      # replayed, not eager
    for p, q in zip(mj.parameters(), me.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)
    _same_state(oj, oe, 1e-12)
    assert oj.iterations == STEPS
    for a, b in zip(lj, le):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-12)


@pytest.mark.codegen
@pytest.mark.parametrize("case", ["adam", "sgd-momentum", "lion"])
def test_compiled_steps_equal_eager_float32(case):
    mj, oj, _ = _steps(True, CASES[case], dtype="float32")
    me, oe, _ = _steps(False, CASES[case], dtype="float32")
    for p, q in zip(mj.parameters(), me.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-7)
    _same_state(oj, oe, 1e-5)


def test_schedule_advances_under_jit():
    """The learning rate is read from the schedule at every replayed step, not frozen at
    the trace: the weights follow eager's, and a frozen rate would not."""
    mj, oj, _ = _steps(True, CASES["sgd-schedule"], steps=9)
    me, oe, _ = _steps(False, CASES["sgd-schedule"], steps=9)
    assert oj.iterations == oe.iterations == 9
    assert oj.learning_rate == pytest.approx(0.05 * 0.5 ** (9 / 2), rel=1e-12)
    for p, q in zip(mj.parameters(), me.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)
    # a rate frozen at its traced value moves the weights elsewhere
    mf, of, _ = _steps(False, lambda: nn.optimizers.SGD(learning_rate=0.05 * 0.5 ** 0.5,
                                                       momentum=0.5), steps=9)
    assert not all(np.allclose(p.data, q.data, rtol=1e-6)
                   for p, q in zip(mj.parameters(), mf.parameters()))


def test_constraints_apply_under_jit():
    c = nn.constraints.MaxNorm(0.3)
    mj, oj, _ = _steps(True, CASES["sgd"], constraint=c)
    me, oe, _ = _steps(False, CASES["sgd"], constraint=c)
    assert not mj._jit.train_fn.fallbacks
    k = mj.layers[0].kernel.data
    assert np.sqrt((k ** 2).sum(axis=0)).max() <= 0.3 + 1e-12
    for p, q in zip(mj.parameters(), me.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)


def _snapshot(m, opt):
    return [p.data.copy() for p in m.parameters()], opt.state_dict()


def _unchanged(m, opt, snap):
    for p, w in zip(m.parameters(), snap[0]):
        np.testing.assert_array_equal(p.data, w)
    s = opt.state_dict()
    assert s["iterations"] == snap[1]["iterations"]
    for i, st in snap[1]["state"].items():
        for k, v in st.items():
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(s["state"][i][k], v)
            else:
                assert s["state"][i][k] == v


@pytest.mark.parametrize("jc", [False, True])
def test_nonfinite_loss_skips_the_update(jc):
    m, opt, _ = _steps(jc, CASES["adam"], steps=4)      # replaying from the third call
    snap = _snapshot(m, opt)
    x, y = _data()
    x[3, 1] = np.nan
    with np.errstate(all="ignore"), pytest.raises(NonFiniteLossError,
                                                  match="loss or a gradient became nan.*"
                                                        "data holds NaN"):
        m.train_on_batch(x, y)
    _unchanged(m, opt, snap)
    if jc:
        assert m._jit.train_fn.trace_count == 1 and not m._jit.train_fn.fallbacks
    # training goes on from the same weights, as eager's does
    x, y = _data()
    m.train_on_batch(x, y)
    assert opt.iterations == 5


def _grad_trap(yt, yp):
    """A loss whose value is finite but whose gradient is NaN where the targets are 0:
    sqrt(|yp| * t) at t = 0 has the value 0 and the derivative inf * 0."""
    t = yt if isinstance(yt, ag.Tensor) else ag.Tensor(yt)
    return ag.mean((yp - t) ** 2) + 0.01 * ag.mean(ag.sqrt(ag.abs(yp) * (t * t)))


@pytest.mark.parametrize("jc", [False, True])
def test_nonfinite_gradient_skips_the_update(jc):
    nn.set_seed(5)
    m = nn.Sequential([L.Dense(2, input_shape=(4,), dtype="float64")])
    opt = nn.optimizers.Adam(learning_rate=0.01)
    m.compile(opt, _grad_trap, jit_compile=jc)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 4))
    y = rng.normal(size=(16, 2)) + 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        for _ in range(4):
            m.train_on_batch(x, y)
    snap = _snapshot(m, opt)
    y0 = y.copy()
    y0[0, 0] = 0.0
    with np.errstate(all="ignore"), pytest.raises(NonFiniteLossError,
                                                  match="loss or a gradient became nan"):
        m.train_on_batch(x, y0)
    _unchanged(m, opt, snap)
    if jc:
        f = m._jit.train_fn
        assert f.trace_count == 1 and not f.fallbacks
        assert all(e.exe is not None for e in f.cache.d.values())


def test_nonfinite_fit_stops_like_eager():
    msgs, weights = [], []
    for jc in (False, True):
        nn.set_seed(2)
        m = _model()
        m.compile("sgd", nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jc)
        x, y = _data(64)
        x[50] = np.inf               # the 4th batch of 16
        with np.errstate(all="ignore"), pytest.raises(NonFiniteLossError) as e:
            m.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        msgs.append(str(e.value))
        weights.append([p.data.copy() for p in m.parameters()])
        assert m.optimizer.iterations == 3
    assert msgs[0] == msgs[1]
    for p, q in zip(*weights):
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-14)


def test_fit_history_equal_eager_float64():
    hs, ws = [], []
    for jc in (False, True):
        nn.set_seed(4)
        m = _model()
        m.compile(nn.optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.02, 3, 0.7)),
                  nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=jc)
        x, y = _data(70)
        hs.append(m.fit(x, y, batch_size=16, epochs=4, verbose=0, shuffle=True,
                        validation_split=0.2).history)
        ws.append([p.data.copy() for p in m.parameters()])
    assert hs[0].keys() == hs[1].keys()
    for k in hs[0]:
        np.testing.assert_allclose(hs[1][k], hs[0][k], rtol=1e-12)
    for p, q in zip(*ws):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_replay_leaves_the_training_flag_alone():
    m, opt, _ = _steps(True, CASES["sgd"], steps=3)
    m.eval()
    x, y = _data()
    m.train_on_batch(x, y)
    assert all(not sub.training for _, sub in m.named_modules())
    m.train()
    m.train_on_batch(x, y)
    assert all(sub.training for _, sub in m.named_modules())


@pytest.mark.parametrize("case", ["adam", "sgd-momentum", "rmsprop"])
def test_weights_and_state_replaced_between_replays_are_used(case):
    """New parameter arrays (``p.data = ...``) and a loaded optimizer state between replayed
    steps are what the next compiled step updates, as in eager training."""
    runs = []
    for jc in (False, True):
        m, opt, _ = _steps(jc, CASES[case], steps=4)
        saved = opt.state_dict()
        x, y = _data(seed=5)
        m.train_on_batch(x, y)
        for p in m.parameters():
            p.data = p.data * 0.5               # fresh arrays
        opt.load_state_dict(saved)              # fresh state dicts and slot arrays
        for _ in range(3):
            m.train_on_batch(x, y)
        runs.append(([p.data.copy() for p in m.parameters()], opt))
    for p, q in zip(runs[0][0], runs[1][0]):
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-14)
    _same_state(runs[1][1], runs[0][1], 1e-12)


def test_compiled_signature_still_refuses_bad_batches():
    m, opt, _ = _steps(True, CASES["sgd"], steps=3)
    x, y = _data()
    with pytest.raises(ag.ShapeError, match="different numbers of samples"):
        m.train_on_batch(x, y[:-1])
    with pytest.raises(ag.InvalidValueError, match="y is missing"):
        m.train_on_batch(x)
    assert opt.iterations == 3


@pytest.mark.codegen
def test_large_model_keeps_per_parameter_kernels_and_equals_eager():
    from nn import compiled
    outs = []
    for jc in (False, True):
        nn.set_seed(8)
        m = nn.Sequential([L.Dense(compiled.MULTI_MAX // 16 + 1, activation="tanh",
                                   input_shape=(16,), dtype="float64"),
                           L.Dense(3, dtype="float64")])
        m.compile(nn.optimizers.Adam(learning_rate=0.01),
                  nn.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jc)
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(8, 16)), rng.integers(0, 3, 8)
        for _ in range(4):
            m.train_on_batch(x, y)
        outs.append([p.data.copy() for p in m.parameters()])
        if jc:
            assert m._jit.multi is not None and not m._jit.multi.keep   # not taken
    for p, q in zip(*outs):
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-14)


def test_replay_in_eval_mode_still_trains_with_dropout_like_eager():
    """A replay skips the switch to training mode; the program was traced in it, so its
    Dropout draws as eager train_on_batch (which switches) does: same weights."""
    outs = []
    for jc in (False, True):
        nn.set_seed(9)
        m = nn.Sequential([L.Dense(8, activation="relu", input_shape=(4,), dtype="float64"),
                           L.Dropout(0.5), L.Dense(3, dtype="float64")])
        m.compile(nn.optimizers.SGD(learning_rate=0.1),
                  nn.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jc)
        x, y = _data()
        m.eval()
        logs = [m.train_on_batch(x, y) for _ in range(6)]
        assert not m.training
        outs.append((logs, [p.data.copy() for p in m.parameters()]))
        if jc:
            f = m._jit.train_fn
            assert f is not None and not f.fallbacks
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=1e-12)
    for p, q in zip(outs[0][1], outs[1][1]):
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-14)


@pytest.mark.codegen
def test_a_parameter_given_another_dtype_retraces_the_compiled_step():
    """Weights replaced by float64 arrays after the step was compiled (float32 buffers):
    the compiled step is traced again and keeps giving eager's numbers, no fallback."""
    import warnings
    from autograd.errors import JitFallbackWarning

    def build(jit):
        m = nn.Sequential([nn.layers.Dense(8, activation="relu", input_dim=4), nn.layers.Dense(3)])
        m.compile(nn.optimizers.SGD(learning_rate=0.1),
                  nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=jit)
        return m
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    a, b = build(True), build(False)
    b.set_weights(a.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitFallbackWarning)
        for k in range(9):
            if k == 5:
                for m in (a, b):
                    for p in m.parameters():
                        p.data = p.data.astype(np.float64)
            la, lb = a.train_on_batch(x, y), b.train_on_batch(x, y)
            np.testing.assert_allclose(la, lb, rtol=1e-12, atol=0)
    f = a._jit.train_fn
    assert f.trace_count == 2 and not f.fallbacks
    for u, v in zip(a.get_weights(), b.get_weights()):
        assert u.dtype == v.dtype == np.float64
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)
