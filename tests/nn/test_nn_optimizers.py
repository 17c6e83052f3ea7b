"""Each optimizer's first steps against the update written out by hand."""
import numpy as np
import pytest

import autograd as ag
import nn
from nn import optimizers


def param(values, grad):
    p = ag.Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    p.grad = np.array(grad, dtype=np.float64)
    return p


def steps(opt, p, grads):
    out = []
    for g in grads:
        p.grad = np.array(g, dtype=np.float64)
        opt.step()
        out.append(p.data.copy())
    return out


def test_sgd_plain():
    p = param([1.0, -2.0], [0.5, 0.25])
    opt = optimizers.SGD([p], learning_rate=0.1)
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 - 0.025], rtol=0, atol=1e-15)


def test_sgd_momentum_pytorch_form():
    # v1 = g1 = 1;  p1 = 1 - 0.1*1 = 0.9
    # v2 = 0.9*1 + 2 = 2.9;  p2 = 0.9 - 0.1*2.9 = 0.61
    p = param([1.0], [0.0])
    got = steps(optimizers.SGD([p], learning_rate=0.1, momentum=0.9), p, [[1.0], [2.0]])
    np.testing.assert_allclose(np.ravel(got), [0.9, 0.61], rtol=1e-14)


def test_sgd_nesterov():
    # v1 = 1;  p1 = 1 - 0.1*(1 + 0.9*1) = 0.81
    # v2 = 0.9 + 2 = 2.9;  p2 = 0.81 - 0.1*(2 + 0.9*2.9) = 0.81 - 0.461 = 0.349
    p = param([1.0], [0.0])
    got = steps(optimizers.SGD([p], learning_rate=0.1, momentum=0.9, nesterov=True), p,
                [[1.0], [2.0]])
    np.testing.assert_allclose(np.ravel(got), [0.81, 0.349], rtol=1e-14)


def test_sgd_weight_decay():
    # g = 1 + 0.5*2 = 2;  p = 2 - 0.1*2 = 1.8
    p = param([2.0], [1.0])
    optimizers.SGD([p], learning_rate=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, [1.8], rtol=1e-15)


def test_adam_first_two_steps():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    p = param([1.0, 1.0], [0.0, 0.0])
    got = steps(optimizers.Adam([p], learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps), p,
                [[0.5, -2.0], [1.0, -2.0]])
    # step 1: m = 0.1 g, v = 0.001 g^2; m_hat = g, v_hat = g^2: p -= lr g / (|g| + eps)
    p1 = np.array([1.0 - lr * 0.5 / (0.5 + eps), 1.0 + lr * 2.0 / (2.0 + eps)])
    np.testing.assert_allclose(got[0], p1, rtol=1e-14)
    # step 2, first entry: m = 0.9*0.05 + 0.1*1 = 0.145; v = 0.999*0.00025 + 0.001*1 = 0.00124975
    m_hat = 0.145 / (1 - 0.81)
    v_hat = 0.00124975 / (1 - 0.998001)
    want0 = p1[0] - lr * m_hat / (np.sqrt(v_hat) + eps)
    # second entry: constant gradient -2: m_hat = -2, v_hat = 4
    want1 = p1[1] + lr * 2.0 / (2.0 + eps)
    np.testing.assert_allclose(got[1], [want0, want1], rtol=1e-12)


def test_adam_defaults_match_issue():
    opt = optimizers.Adam()
    assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon, opt.weight_decay) == \
        (0.001, 0.9, 0.999, 1e-7, 0.0)
    sgd = optimizers.SGD()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov, sgd.weight_decay) == (0.01, 0.0, False, 0.0)


def test_adam_l2_weight_decay():
    # g = 1 + 0.1*3 = 1.3; first step: p -= lr * g/(|g| + eps)
    p = param([3.0], [1.0])
    optimizers.Adam([p], learning_rate=0.01, weight_decay=0.1).step()
    np.testing.assert_allclose(p.data, [3.0 - 0.01 * 1.3 / (1.3 + 1e-7)], rtol=1e-14)


def test_adamw_decoupled():
    # p = 3 - 0.01*0.1*3 = 2.997, then the plain Adam step on g = 1: 2.997 - 0.01*1/(1+eps)
    p = param([3.0], [1.0])
    optimizers.AdamW([p], learning_rate=0.01, weight_decay=0.1).step()
    np.testing.assert_allclose(p.data, [2.997 - 0.01 / (1.0 + 1e-7)], rtol=1e-14)


def test_rmsprop_two_steps():
    # v1 = 0.1*4 = 0.4; p1 = 1 - 0.01*2/(sqrt(0.4)+eps)
    # v2 = 0.9*0.4 + 0.1*1 = 0.46; p2 = p1 - 0.01*1/(sqrt(0.46)+eps)
    eps = 1e-7
    p = param([1.0], [0.0])
    got = steps(optimizers.RMSprop([p], learning_rate=0.01, rho=0.9, epsilon=eps), p, [[2.0], [1.0]])
    p1 = 1 - 0.01 * 2 / (np.sqrt(0.4) + eps)
    p2 = p1 - 0.01 * 1 / (np.sqrt(0.46) + eps)
    np.testing.assert_allclose(np.ravel(got), [p1, p2], rtol=1e-13)


def test_step_is_in_place_records_nothing_and_bumps_version():
    p = param([1.0, 2.0], [1.0, 1.0])
    before = p.data
    v = p._version
    optimizers.SGD([p], learning_rate=0.5).step()
    assert p.data is before  # updated in place
    assert p._version == v + 1
    assert p.is_leaf and p.requires_grad


def test_in_place_guard_sees_the_update():
    """A graph built before a step must not give a silently wrong gradient after it."""
    p = param([1.0], [0.0])
    y = (p * p).sum()
    p.grad = np.array([1.0])
    optimizers.SGD([p], learning_rate=0.1).step()
    with pytest.raises(ag.InPlaceError):
        y.backward()


def test_params_without_grad_are_skipped_and_zero_grad():
    a, b = param([1.0], [1.0]), param([5.0], [1.0])
    b.grad = None
    opt = optimizers.SGD([a, b], learning_rate=1.0)
    opt.step()
    assert a.data[0] == 0.0 and b.data[0] == 5.0
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_float32_parameters_stay_float32():
    p = ag.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    p.grad = np.full(3, 0.5, dtype=np.float32)
    for opt in (optimizers.SGD([p], momentum=0.9), optimizers.Adam([p]), optimizers.AdamW([p]),
                optimizers.RMSprop([p])):
        opt.step()
        assert p.data.dtype == np.float32


def test_by_name_and_bad_arguments():
    for name, cls in (("sgd", optimizers.SGD), ("adam", optimizers.Adam),
                      ("adamw", optimizers.AdamW), ("rmsprop", optimizers.RMSprop)):
        assert type(optimizers.get(name)) is cls
    with pytest.raises(ValueError):
        optimizers.get("adagrad-ish")
    with pytest.raises(ValueError):
        optimizers.SGD(learning_rate=-1)
    with pytest.raises(ValueError):
        optimizers.Adam(beta_1=1.0)
    with pytest.raises(ValueError):
        optimizers.SGD(nesterov=True)


def test_pytorch_style_linear_regression():
    nn.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    w = np.array([[1.0], [-2.0], [0.5]])
    y = x @ w + 0.3
    layer = nn.layers.Dense(1, input_dim=3, dtype="float64")
    opt = optimizers.SGD(layer.parameters(), learning_rate=0.1)
    mse = nn.losses.MeanSquaredError()
    for _ in range(200):
        opt.zero_grad()
        loss = mse(y, layer(x))
        loss.backward()
        opt.step()
    np.testing.assert_allclose(layer.kernel.data, w, atol=1e-6)
    np.testing.assert_allclose(layer.bias.data, [0.3], atol=1e-6)
