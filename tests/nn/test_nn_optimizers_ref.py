"""Every optimizer against its reference formula over 5 steps (torch.optim where the formulas
agree, hand-computed otherwise); schedules; clipping; groups, state_dict, copies; float16."""
import copy
import math
import pickle

import numpy as np
import pytest

import autograd as ag
import nn
from nn import optimizers as O
from nn.optimizers import schedules as S

RNG = np.random.default_rng(7)
W0 = RNG.standard_normal((3, 4))
GRADS = [RNG.standard_normal((3, 4)) for _ in range(5)]


def run_ours(opt_cls, **kw):
    p = nn.Parameter(W0.copy())
    opt = opt_cls([p], **kw)
    for g in GRADS:
        p.grad = g.copy()
        opt.step()
    return p.data


def run_torch(torch_cls, **kw):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.tensor(W0.copy()))
    opt = getattr(torch.optim, torch_cls)([p], **kw)
    for g in GRADS:
        p.grad = torch.tensor(g.copy())
        opt.step()
    return p.detach().numpy()


CASES = [
    (O.SGD, dict(learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
     "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (O.SGD, dict(learning_rate=0.1, momentum=0.5), "SGD", dict(lr=0.1, momentum=0.5)),
    (O.Adam, dict(learning_rate=0.01, epsilon=1e-8, weight_decay=0.1),
     "Adam", dict(lr=0.01, eps=1e-8, weight_decay=0.1)),
    (O.AdamW, dict(learning_rate=0.01, epsilon=1e-8, weight_decay=0.1),
     "AdamW", dict(lr=0.01, eps=1e-8, weight_decay=0.1)),
    (O.RMSprop, dict(learning_rate=0.01, rho=0.9, epsilon=1e-8, weight_decay=0.1),
     "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.1)),
    (O.Adagrad, dict(learning_rate=0.1, initial_accumulator_value=0.1, epsilon=1e-7,
                     weight_decay=0.05),
     "Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, eps=1e-7, weight_decay=0.05)),
    (O.Adadelta, dict(learning_rate=1.0, rho=0.9, epsilon=1e-6, weight_decay=0.05),
     "Adadelta", dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.05)),
    (O.Adamax, dict(learning_rate=0.02, epsilon=1e-8, weight_decay=0.05),
     "Adamax", dict(lr=0.02, eps=1e-8, weight_decay=0.05)),
    (O.Nadam, dict(learning_rate=0.02, epsilon=1e-8, weight_decay=0.05),
     "NAdam", dict(lr=0.02, eps=1e-8, weight_decay=0.05)),
]


@pytest.mark.parametrize("ours, kw, theirs, tkw", CASES, ids=[c[2] + str(i) for i, c in enumerate(CASES)])
def test_matches_torch_over_five_steps(ours, kw, theirs, tkw):
    # torch keeps NAdam's mu_product as a float32 scalar: agreement to ~1e-8 there
    rtol = 1e-7 if theirs == "NAdam" else 1e-10
    np.testing.assert_allclose(run_ours(ours, **kw), run_torch(theirs, **tkw), rtol=rtol,
                               atol=1e-12)


def test_lion_hand_computed():
    lr, b1, b2, wd = 0.01, 0.9, 0.99, 0.1
    w, m = W0.copy(), np.zeros_like(W0)
    for g in GRADS:
        w = w - lr * wd * w
        w = w - lr * np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
    np.testing.assert_allclose(run_ours(O.Lion, learning_rate=lr, weight_decay=wd), w,
                               rtol=1e-12)


def test_nadam_hand_computed_first_step():
    # one step from zero slots: mu1 = 0.9 (1 - 0.5 * 0.96**0.004), mu2 likewise with 0.008
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    g = GRADS[0]
    mu1 = b1 * (1 - 0.5 * 0.96 ** 0.004)
    mu2 = b1 * (1 - 0.5 * 0.96 ** 0.008)
    m, v = (1 - b1) * g, (1 - b2) * g * g
    vhat = v / (1 - b2)
    want = W0 - lr * ((1 - mu1) / (1 - mu1) * g + mu2 / (1 - mu1 * mu2) * m) / (np.sqrt(vhat) + eps)
    p = nn.Parameter(W0.copy())
    p.grad = g.copy()
    O.Nadam([p], learning_rate=lr).step()
    np.testing.assert_allclose(p.data, want, rtol=1e-12)


# ----------------------------------------------------------------------------- schedules
def test_schedules_hand_computed():
    e = S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert e(0) == pytest.approx(0.1) and e(10) == pytest.approx(0.05)
    assert e(5) == pytest.approx(0.1 * 0.5 ** 0.5)
    es = S.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert es(9) == pytest.approx(0.1) and es(10) == pytest.approx(0.05)
    pc = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [pc(s) for s in (0, 10, 11, 20, 21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    poly = S.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=2.0)
    assert poly(5) == pytest.approx(0.09 * 0.25 + 0.01) and poly(50) == pytest.approx(0.01)
    pcyc = S.PolynomialDecay(0.1, 10, end_learning_rate=0.0, cycle=True)
    assert pcyc(15) == pytest.approx(0.1 * (1 - 15 / 20))
    it = S.InverseTimeDecay(0.1, 10, 0.5)
    assert it(20) == pytest.approx(0.1 / 2.0)
    cd = S.CosineDecay(0.1, 100, alpha=0.1)
    assert cd(50) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1)) and cd(200) == pytest.approx(0.01)
    w = S.CosineDecay(0.0, 100, warmup_target=0.2, warmup_steps=10)
    assert w(5) == pytest.approx(0.1) and w(10) == pytest.approx(0.2)
    assert w(60) == pytest.approx(0.2 * 0.5) and w(110) == pytest.approx(0.0)


def test_cosine_restarts_matches_torch_warm_restarts():
    torch = pytest.importorskip("torch")
    lr0, t0, alpha = 0.1, 5, 0.1
    ours = S.CosineDecayRestarts(lr0, t0, t_mul=2.0, alpha=alpha)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr0)
    sch = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=t0, T_mult=2,
                                                               eta_min=alpha * lr0)
    for step in range(40):
        assert ours(step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9), step
        opt.step()
        sch.step()


def test_schedule_drives_the_step_and_configs_round_trip():
    sched = S.PiecewiseConstantDecay([1], [0.5, 0.1])
    p = nn.Parameter(np.zeros(1))
    opt = O.SGD([p], learning_rate=sched)
    seen = []
    for _ in range(3):
        before = p.data.copy()
        p.grad = np.ones(1)
        seen.append(opt.learning_rate)
        opt.step()
        assert before - p.data == pytest.approx(seen[-1])
    assert seen == [0.5, 0.5, 0.1]        # steps 0, 1 -> 0.5; step 2 -> 0.1
    cfg = opt.get_config()
    back = O.SGD.from_config(cfg)
    assert isinstance(back.defaults["lr"], S.PiecewiseConstantDecay)
    assert back.defaults["lr"].get_config() == sched.get_config()
    assert O.get({"class_name": "Adam", "config": O.Adam(0.02, beta_1=0.8).get_config()}).beta_1 == 0.8
    p2 = nn.Parameter(np.zeros(1))
    o2 = O.SGD([p2], learning_rate=lambda step: 0.1 * (step + 1))
    for _ in range(2):
        p2.grad = np.ones(1)
        o2.step()
    assert p2.data[0] == pytest.approx(-0.3)


# ----------------------------------------------------------------------------- settings
def test_learning_rate_settable_and_lr_alias_both_ways():
    p = nn.Parameter(np.zeros(1))
    opt = O.Adam([p], lr=0.2)
    assert opt.learning_rate == 0.2
    opt.lr = 0.5
    assert opt.learning_rate == 0.5 and opt.param_groups[0]["lr"] == 0.5
    opt.learning_rate = 0.25
    assert opt.lr == 0.25
    model = nn.Sequential([nn.layers.Dense(1, input_dim=1, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    model.optimizer.lr = 0.5
    model.fit(np.ones((1, 1)), np.ones((1, 1)), batch_size=1, verbose=0)
    # one SGD step on mse: grad of (w + b - 1)^2 at 0 is -2 for both; lr 0.5 -> 1.0
    assert model.layers[0].kernel.data[0, 0] == pytest.approx(1.0)


def test_bad_settings_raise_naming_the_parameter():
    p = nn.Parameter(np.zeros(1))
    with pytest.raises(TypeError, match="learning_rat.*valid ones.*learning_rate"):
        O.Adam([p], learning_rat=0.1)
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="learning_rate"):
            O.SGD([p], learning_rate=bad)
    with pytest.raises(TypeError, match="learning_rate"):
        O.SGD([p], learning_rate="fast")
    with pytest.raises(TypeError, match="beta_1"):
        O.Adam([p], beta_1="0.9")
    with pytest.raises(TypeError, match="nesterov"):
        O.SGD([p], momentum=0.9, nesterov="yes")
    with pytest.raises(ValueError, match="momentum"):
        O.SGD([p], momentum=-0.1)
    opt = O.SGD([p])
    with pytest.raises(ValueError, match="learning_rate"):
        opt.lr = -0.5
    with pytest.raises(TypeError, match="learning_rate or lr"):
        O.SGD([p], learning_rate=0.3, lr=0.1)
    with pytest.raises(ValueError, match="at most one"):
        O.SGD([p], clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="empty"):
        O.SGD([])


def test_unbuilt_model_parameters_raise_and_compile_still_works():
    model = nn.Sequential([nn.layers.Dense(4), nn.layers.Dense(1)])
    with pytest.raises(ValueError, match="not built.*call the model once|input_dim"):
        O.Adam(model.parameters())
    with pytest.raises(ValueError, match="not built"):
        O.Adam(model)
    model.compile(optimizer=O.SGD(learning_rate=0.1), loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 3))
    h = model.fit(x, x[:, :1], epochs=3, verbose=0)
    assert len(model.optimizer.params) == 4 and h.history["loss"][-1] < h.history["loss"][0]
    O.Adam(model.parameters())            # built now: fine


# ----------------------------------------------------------------------------- clipping
def test_clipping_modes():
    g = np.array([3.0, 4.0])              # norm 5
    for kw, want in ((dict(clipnorm=1.0), g / 5), (dict(clipvalue=3.5), np.array([3.0, 3.5])),
                     (dict(clipnorm=10.0), g)):
        p = nn.Parameter(np.zeros(2))
        p.grad = g.copy()
        O.SGD([p], learning_rate=1.0, **kw).step()
        np.testing.assert_allclose(-p.data, want)
        np.testing.assert_array_equal(p.grad, g)   # the gradient itself is left alone
    a, b = nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = np.array([3.0]), np.array([4.0])
    O.SGD([a, b], learning_rate=1.0, global_clipnorm=1.0).step()
    np.testing.assert_allclose([-a.data[0], -b.data[0]], [0.6, 0.8])


def test_clip_grad_helpers_match_torch():
    torch = pytest.importorskip("torch")
    gs = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]
    for norm_type in (2.0, 1.0, math.inf):
        ours = [nn.Parameter(np.zeros_like(g)) for g in gs]
        theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in gs]
        for o, t, g in zip(ours, theirs, gs):
            o.grad, t.grad = g.copy(), torch.tensor(g)
        n1 = nn.utils.clip_grad_norm_(ours, 0.5, norm_type)
        n2 = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
        assert n1 == pytest.approx(float(n2))
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-12)
    o = nn.Parameter(np.zeros(4))
    o.grad = np.array([-2.0, -0.1, 0.3, 5.0])
    nn.utils.clip_grad_value_([o], 0.25)
    np.testing.assert_array_equal(o.grad, [-0.25, -0.1, 0.25, 0.25])


# ----------------------------------------------------------------------------- PyTorch habits
def test_param_groups_have_their_own_learning_rate_and_decay():
    torch = pytest.importorskip("torch")
    a, b = nn.Parameter(W0.copy()), nn.Parameter(W0[0].copy())
    opt = O.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 0.1}],
                learning_rate=0.1, momentum=0.9)
    ta, tb = torch.nn.Parameter(torch.tensor(W0.copy())), torch.nn.Parameter(torch.tensor(W0[0].copy()))
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.5, "weight_decay": 0.1}],
                           lr=0.1, momentum=0.9)
    for g in GRADS:
        a.grad, b.grad = g.copy(), g[0].copy()
        ta.grad, tb.grad = torch.tensor(g), torch.tensor(g[0])
        opt.step()
        topt.step()
    np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="unknown setting 'lrr'"):
        opt.add_param_group({"params": [nn.Parameter(np.zeros(1))], "lrr": 1.0})


def test_zero_grad_modes():
    p = nn.Parameter(np.ones(2))
    p.grad = np.ones(2)
    opt = O.SGD([p])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_state_dict_round_trip_continues_identically():
    def make():
        p = nn.Parameter(W0.copy())
        return p, O.Adam([p], learning_rate=0.01)
    p1, o1 = make()
    for g in GRADS[:3]:
        p1.grad = g.copy()
        o1.step()
    sd = o1.state_dict()
    p2, o2 = make()
    p2.data = p1.data.copy()
    o2.load_state_dict(sd)
    assert o2.iterations == 3
    for g in GRADS[3:]:
        p1.grad, p2.grad = g.copy(), g.copy()
        o1.step()
        o2.step()
    np.testing.assert_array_equal(p1.data, p2.data)
    bad = o1.state_dict()
    bad["state"][0]["m"] = np.zeros(3)
    with pytest.raises(ValueError, match="slot 'm'"):
        o2.load_state_dict(bad)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copy_of_model_and_optimizer_keeps_state(how):
    model = nn.Sequential([nn.layers.Dense(3, input_dim=2), nn.layers.Dense(1)])
    model.compile(optimizer=O.Adam(0.01), loss="mse")
    x = np.random.default_rng(1).standard_normal((8, 2)).astype(np.float32)
    y = x[:, :1] * 2
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    twin = copy.deepcopy(model) if how == "deepcopy" else pickle.loads(pickle.dumps(model))
    opt2 = twin.optimizer
    assert len(opt2.state) == 4
    for p in twin.parameters():
        assert p in opt2.state and opt2.state[p]["t"] == 4
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    twin.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_float16_adam_does_not_blow_up():
    w = np.array([0.38, -0.2, 0.1], dtype=np.float16)
    p = nn.Parameter(w.copy())
    opt = O.Adam([p], learning_rate=0.001)
    p.grad = np.array([1e-4, -3e-3, 0.5], dtype=np.float16)
    opt.step()
    assert p.dtype == np.float16
    assert opt.state[p]["m"].dtype == np.float32
    # each coordinate moves by lr (Adam's first step is lr * sign(g)), computed in float32
    np.testing.assert_allclose(p.data.astype(np.float32), w.astype(np.float32) - 0.001 *
                               np.sign([1e-4, -3e-3, 0.5]), atol=2e-4)


@pytest.mark.parametrize("cls", [O.SGD, O.RMSprop, O.Adagrad, O.Adadelta, O.Adam, O.AdamW,
                                 O.Adamax, O.Nadam, O.Lion])
def test_every_optimizer_config_round_trips_and_rejects_typos(cls):
    opt = cls(learning_rate=0.02, global_clipnorm=2.0)
    cfg = opt.get_config()
    back = cls.from_config(cfg)
    assert back.get_config() == cfg and cfg["learning_rate"] == 0.02
    assert O.get(cls.__name__.lower()).__class__ is cls
    with pytest.raises(TypeError, match="valid ones"):
        cls(learning_rate=0.1, epsilonn=1.0)
    p = nn.Parameter(W0.copy())
    p.grad = GRADS[0].copy()
    cls([p], learning_rate=0.01).step()       # one step moves the weights, finitely
    assert np.isfinite(p.data).all() and not np.array_equal(p.data, W0)
