"""The eager nn training step gives the numbers it gave before its per-node trims.

mlp_step's tiny and small MLPs (``nn.Sequential`` of Dense relu layers, a linear last
layer, ``SparseCategoricalCrossentropy(from_logits=True)``, ``nn.optimizers.SGD``) run three
steps, and every loss and every weight after them is compared with the same step written
here in numpy, operation by operation, as the library computed it before the trims:

* forward: ``z = x @ W; z += b; relu in place``;
* loss: float64 log-sum-exp over the rows of a float64 copy of the logits, the mean of
  ``lse - z[label]`` rounded to the logits' dtype; its gradient ``e * (1/n / s)`` stored in
  the logits' dtype, then ``1/n`` subtracted at the labels;
* backward: ``gz = g * (a > 0)``; ``gb = add.reduce(gz, axis=0)``; ``gx = gz @ W^T``;
  ``gW = x^T @ gz``;
* SGD: ``p -= lr * g``, or with momentum ``v *= mu; v += g; p -= lr * v``.

float32 and float64 are compared bitwise (``assert_array_equal``): the trims change how many
Python calls a step makes, not the arithmetic or its order.
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import nn

CONFIGS = {"tiny": (32, [2, 16, 16, 2]), "small": (64, [64, 128, 10])}


def _problem(config, dt, seed=0):
    batch, sizes = CONFIGS[config]
    rng = np.random.default_rng(seed)
    params = [((rng.standard_normal((i, o)) * (2.0 / i) ** 0.5).astype(dt),
               (rng.standard_normal(o) * 0.1).astype(dt))
              for i, o in zip(sizes[:-1], sizes[1:])]
    x = rng.standard_normal((batch, sizes[0])).astype(dt)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return params, x, y


def _reference_step(ps, vel, x, y, lr, mu):
    """One step in numpy, the formulas of the library's eager step before the trims."""
    last = len(ps) - 1
    acts = [x]
    h = x
    for i, (W, b) in enumerate(ps):
        z = np.matmul(h, W)
        z += b
        if i < last:
            np.maximum(z, 0, out=z)
        acts.append(z)
        h = z
    z = acts[-1]
    n = z.shape[0]
    scale = 1.0 / n
    z64 = z.astype(np.float64)
    zs = z64 - z64.max(axis=1, keepdims=True)
    e = np.exp(zs)
    s = e.sum(axis=1, keepdims=True)
    lse = np.log(s)
    rows = np.arange(n)
    loss = np.asarray(float((lse[:, 0] - zs[rows, y]).sum()) / n, dtype=z.dtype)
    g = np.empty(z.shape, z.dtype)
    np.multiply(e, scale / s, out=g)
    g[rows, y] -= scale
    grads = [None] * len(ps)
    for i in range(last, -1, -1):
        W, b = ps[i]
        a = acts[i + 1]
        gz = g * (a > 0) if i < last else g.copy()
        gb = np.add.reduce(gz, axis=0)
        gW = np.matmul(acts[i].T, gz)
        if i:
            g = np.matmul(gz, W.T)
        grads[i] = (gW, gb)
    for (W, b), (gW, gb), (vW, vb) in zip(ps, grads, vel):
        for p, gp, v in ((W, gW, vW), (b, gb, vb)):
            if mu:
                v *= mu
                v += gp
                p -= lr * v
            else:
                p -= lr * gp
    return loss


@pytest.mark.parametrize("config", ["tiny", "small"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_three_nn_steps_equal_the_numpy_formulas_bitwise(config, dt, momentum):
    params, x, y = _problem(config, dt)
    lr = 0.05
    sizes = CONFIGS[config][1]
    model = nn.Sequential([nn.layers.Dense(o, activation="relu" if k < len(params) - 1 else None,
                                           dtype=np.dtype(dt).name)
                           for k, o in enumerate(sizes[1:])])
    model.build((None, sizes[0]))
    for layer, (W, b) in zip(model.layers, params):
        layer.kernel.data = W.copy()
        layer.bias.data = b.copy()
    loss_fn = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = nn.optimizers.SGD(model.parameters(), learning_rate=lr, momentum=momentum)
    ref = [(W.copy(), b.copy()) for W, b in params]
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    for _ in range(3):
        opt.zero_grad()
        loss = loss_fn(y, model(x))
        loss.backward()
        opt.step()
        want = _reference_step(ref, vel, x, y, lr, momentum)
        assert loss.dtype == want.dtype
        np.testing.assert_array_equal(loss.data, want)
    for layer, (W, b) in zip(model.layers, ref):
        assert layer.kernel.data.dtype == dt
        np.testing.assert_array_equal(layer.kernel.data, W)
        np.testing.assert_array_equal(layer.bias.data, b)


@pytest.mark.parametrize("config", ["tiny", "small"])
def test_three_functional_steps_equal_the_numpy_formulas_bitwise(config):
    # mlp_step's "autograd" peer: dense nodes, softmax_cross_entropy, kernels.sgd_update
    from autograd import kernels as K
    params, x, y = _problem(config, np.float32, seed=1)
    lr = 0.05
    ps = [(ag.Tensor(W.copy(), requires_grad=True), ag.Tensor(b.copy(), requires_grad=True))
          for W, b in params]
    ref = [(W.copy(), b.copy()) for W, b in params]
    vel = [(None, None)] * len(params)
    for _ in range(3):
        h = x
        for i, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if i < len(ps) - 1 else None)
        loss = ag.softmax_cross_entropy(h, y)
        loss.backward()
        for t in (t for wb in ps for t in wb):
            K.sgd_update(t._data, t.grad, None, lr)
            t.grad = None
        want = _reference_step(ref, vel, x, y, lr, 0.0)
        np.testing.assert_array_equal(loss.data, want)
    for (W, b), (rW, rb) in zip(ps, ref):
        np.testing.assert_array_equal(W.data, rW)
        np.testing.assert_array_equal(b.data, rb)
