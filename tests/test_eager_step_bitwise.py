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


# ----------------------------------------------------------------------------- dense_chain
# A Sequential of plain Dense layers runs as one ``dense_chain`` node; each layer called in
# turn records one ``dense`` node.  Both give the same loss and gradients, bit for bit.
ACTS = (None, "linear", "relu", "sigmoid", "tanh", "leaky_relu", "gelu")


def _stack(sizes, acts, dt, use_bias=True, seed=0):
    rng = np.random.default_rng(seed)
    layers = [nn.layers.Dense(o, activation=a, use_bias=use_bias, dtype=np.dtype(dt).name)
              for o, a in zip(sizes[1:], acts)]
    model = nn.Sequential(layers)
    model.build((None, sizes[0]))
    for layer in layers:
        layer.kernel.data = rng.standard_normal(layer.kernel.shape).astype(dt)
        if use_bias:
            layer.bias.data = (rng.standard_normal(layer.bias.shape) * 0.5).astype(dt)
    return model


def _loss_and_grads(model, x, y, per_layer, x_grad=False):
    model.zero_grad()
    xt = ag.Tensor(x, requires_grad=x_grad)
    if per_layer:
        h = xt
        for layer in model.layers:
            h = layer(h)
    else:
        h = model(xt)
    loss = ag.softmax_cross_entropy(h, y)
    loss.backward()
    grads = [None if p.grad is None else p.grad.copy() for p in model.parameters()]
    return h, loss.data, grads, (xt.grad if x_grad else None)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("acts", [("relu", "relu", None), ("sigmoid", "tanh", "linear"),
                                  ("leaky_relu", "gelu", "relu"), (None, "gelu")])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_chain_node_equals_the_per_layer_nodes_bitwise(dt, acts, use_bias):
    sizes = [5, 7, 6, 3][:len(acts) + 1]
    model = _stack(sizes, acts, dt, use_bias)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((9, sizes[0])).astype(dt)
    y = rng.integers(0, sizes[-1], 9)
    for x_grad in (False, True):
        h1, l1, g1, gx1 = _loss_and_grads(model, x, y, per_layer=False, x_grad=x_grad)
        h2, l2, g2, gx2 = _loss_and_grads(model, x, y, per_layer=True, x_grad=x_grad)
        assert h1._node.prim.name == "dense_chain" and h2._node.prim.name == "dense"
        np.testing.assert_array_equal(h1.data, h2.data)
        np.testing.assert_array_equal(l1, l2)
        for a, b in zip(g1, g2):
            assert a.dtype == b.dtype == dt
            np.testing.assert_array_equal(a, b)
        if x_grad:
            np.testing.assert_array_equal(gx1, gx2)


def test_dense_chain_frozen_layers_get_no_gradient_and_the_rest_match():
    model = _stack([4, 6, 5, 3], ("relu", "tanh", None), np.float64)
    model.layers[0].trainable = False
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    _, l1, g1, _ = _loss_and_grads(model, x, y, per_layer=False)
    _, l2, g2, _ = _loss_and_grads(model, x, y, per_layer=True)
    assert l1 == l2 and len(g1) == 4               # the frozen kernel and bias are not listed
    for a, b in zip(g1, g2):
        np.testing.assert_array_equal(a, b)
    assert model.layers[0].kernel.grad is None and model.layers[0].bias.grad is None


def _forward(model, x, per_layer):
    if not per_layer:
        return model(x)
    for layer in model.layers:
        x = layer(x)
    return x


def test_dense_chain_second_order_matches_the_per_layer_nodes():
    # grad of a function of the gradient: the chain's differentiable vjp (recorded with dense
    # ops) against the dense nodes' own
    model = _stack([3, 4, 2], ("tanh", "sigmoid"), np.float64)
    x = np.random.default_rng(3).standard_normal((5, 3))
    res = []
    for per_layer in (False, True):
        inner = ag.grad(lambda z: ag.sum(_forward(model, z, per_layer) ** 2))
        res.append(ag.grad(lambda z: ag.sum(inner(z) ** 2))(ag.Tensor(x)))
    assert model(ag.Tensor(x, requires_grad=True))._node.prim.name == "dense_chain"
    assert np.abs(res[0].data).max() > 0
    np.testing.assert_allclose(res[0].data, res[1].data, rtol=1e-12, atol=1e-14)


class _MyDense(nn.layers.Dense):
    def call(self, x):
        return super().call(x) * 2.0


def _names(t):
    from autograd.graph import toposort
    return [n.prim.name for n in toposort(t._node)]


def test_dense_chain_falls_back_to_per_layer_nodes_where_a_layer_is_observable():
    rng = np.random.default_rng(4)
    x = ag.Tensor(rng.standard_normal((6, 3)).astype(np.float32))

    def model_of(*layers):
        m = nn.Sequential(list(layers))
        m.build((None, 3))
        return m

    plain = model_of(nn.layers.Dense(4, activation="relu"), nn.layers.Dense(2))
    assert _names(plain(x)) == ["dense_chain"]
    # a subclass overriding call: its call runs
    sub = model_of(nn.layers.Dense(4), _MyDense(2))
    assert "dense_chain" not in _names(sub(x))
    # a call set on the instance
    inst = model_of(nn.layers.Dense(4), nn.layers.Dense(2))
    inst.layers[1].call = lambda h: nn.layers.Dense.call(inst.layers[1], h) + 1.0
    assert "dense_chain" not in _names(inst(x))
    # an activity regularizer: its penalty is computed per layer, from the layer's output
    reg = model_of(nn.layers.Dense(4, activity_regularizer="l2"), nn.layers.Dense(2))
    assert "dense_chain" not in _names(reg(x))
    assert reg.layers[0].__dict__.get("_activity_loss") is not None
    # softmax (not a fused dense activation), a callable activation
    for act in ("softmax", ag.tanh):
        m = model_of(nn.layers.Dense(4, activation=act), nn.layers.Dense(2))
        assert "dense_chain" not in _names(m(x))
    # a layer of another dtype: the cast between the layers is recorded as before
    mixed = model_of(nn.layers.Dense(4), nn.layers.Dense(2, dtype="float64"))
    out = mixed(x)
    assert out.dtype == np.float64 and "dense_chain" not in _names(out)
    # inputs of another dtype, 3-d inputs, one layer
    assert "dense_chain" not in _names(plain(ag.Tensor(x.data.astype(np.float64))))
    m3 = nn.Sequential([nn.layers.Dense(4), nn.layers.Dense(2)])
    assert "dense_chain" not in _names(m3(ag.Tensor(np.ones((2, 5, 3), np.float32))))
    assert _names(model_of(nn.layers.Dense(2))(x)) == ["dense"]


def test_dense_chain_mismatched_input_raises_the_layer_s_error():
    m = nn.Sequential([nn.layers.Dense(4), nn.layers.Dense(2)])
    m.build((None, 3))
    with pytest.raises(ag.ShapeError, match="expected inputs with last dimension 3"):
        m(ag.Tensor(np.ones((2, 5), np.float32)))
    # a kernel replaced by one of another height: the per-layer check names the layer
    m.layers[1].kernel = nn.Parameter(np.ones((5, 2), np.float32))
    with pytest.raises(ag.ShapeError, match=m.layers[1].name):
        m(ag.Tensor(np.ones((2, 3), np.float32)))


def test_dense_chain_records_each_layer_s_shapes_and_guards_saved_weights():
    m = nn.Sequential([nn.layers.Dense(4, activation="relu"), nn.layers.Dense(2)])
    m.build((None, 3))
    x = ag.Tensor(np.ones((7, 3), np.float32))
    out = m(x)
    assert _names(out) == ["dense_chain"]
    assert [l.output_shape for l in m.layers] == [(None, 4), (None, 2)]
    assert [l.input_shape for l in m.layers] == [(None, 3), (None, 4)]
    loss = ag.sum(out)
    with ag.no_grad():
        m.layers[1].kernel += 1.0                 # changed in place after the forward
    with pytest.raises(ag.InPlaceError):
        loss.backward()


def test_dense_chain_is_not_recorded_while_jit_traces():
    # the compiler sees (and generates code for) the layers' own dense nodes
    m = nn.Sequential([nn.layers.Dense(4, activation="relu"), nn.layers.Dense(2)])
    m.build((None, 3))
    seen = []

    @ag.jit
    def f(x):
        out = m(x)
        seen.append(_names(out) if out._node is not None else None)
        return out

    f(ag.Tensor(np.ones((2, 3), np.float32)))     # the first call traces (no code built)
    assert seen == [["dense", "dense"]]
    assert _names(m(ag.Tensor(np.ones((2, 3), np.float32)))) == ["dense_chain"]


def test_sgd_plain_step_is_written_by_step_and_a_subclass_update_still_runs():
    # Optimizer.step writes SGD's plain ``p -= lr * g`` itself once a parameter has state;
    # the numbers are _update's, and a subclass overriding _update keeps its own
    p = nn.Parameter(np.arange(6, dtype=np.float32).reshape(2, 3))
    g = np.full((2, 3), 0.3, np.float32)
    want = p.data.copy()
    opt = nn.optimizers.SGD([p], learning_rate=0.1)
    for _ in range(3):
        p.grad = g.copy()
        opt.step()
        want -= 0.1 * g
        np.testing.assert_array_equal(p.data, want)
    assert opt.iterations == 3 and p._version >= 3

    calls = []

    class Logged(nn.optimizers.SGD):
        def _update(self, data, grad, st, h):
            calls.append(data.shape)
            super()._update(data, grad, st, h)

    q = nn.Parameter(np.ones(4, np.float64))
    opt = Logged([q], learning_rate=0.5)
    for _ in range(2):
        q.grad = np.ones(4)
        opt.step()
    assert calls == [(4,), (4,)]
    np.testing.assert_array_equal(q.data, np.zeros(4))


def test_named_modules_lists_what_the_weight_walk_finds_in_its_order():
    # Module.named_modules scans only what can hold a module; it must name the same
    # modules, in the same order, as the general walk (weights and modules) filtered
    from nn.module import Module, _walk
    inner = nn.Sequential([nn.layers.Dense(3), nn.layers.Dense(2)])
    shared = nn.layers.Dense(4)

    class Holder(Module):
        def __init__(self):
            super().__init__()
            self.blocks = [shared, (inner, {"x": nn.layers.Dense(5), 7: shared})]
            self.table = {"a": nn.layers.Dense(6), "b": [nn.layers.Dense(7)]}
            self.again = inner                      # seen once, at its first path
            self.frozen = nn.layers.Dense(8)
            self.frozen.trainable = False
            self.number, self.text, self.array = 3, "abc", np.ones(3)

        def call(self, x):
            return x

    m = Holder()
    want = [(n, v) for n, v in _walk(m, "", set()) if isinstance(v, Module)]
    got = list(m.named_modules())
    assert [n for n, _ in got] == [n for n, _ in want]
    assert all(a is b for (_, a), (_, b) in zip(got, want))
    assert len(got) == 9 and got[0] == ("", m)
    assert "blocks.1.1.7" not in [n for n, _ in got]    # shared: listed once, at blocks.0


def test_dense_chain_hand_computed_value_and_gradients():
    # x = [1, 2]; layer 1: z = x K1 + b1 = [1.5, -1.5], relu -> h = [1.5, 0];
    # layer 2: out = h K2 + b2 = 1.5 * 2 + 0 * 3 + 1 = 4
    from autograd.ops import dense_chain
    x = ag.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    k1 = ag.Tensor(np.array([[1.0, 0.0], [0.0, -1.0]]), requires_grad=True)
    b1 = ag.Tensor(np.array([0.5, 0.5]), requires_grad=True)
    k2 = ag.Tensor(np.array([[2.0], [3.0]]), requires_grad=True)
    b2 = ag.Tensor(np.array([1.0]), requires_grad=True)
    out = dense_chain(x, k1, b1, k2, b2, activations=("relu", None))
    np.testing.assert_array_equal(out.data, [[4.0]])
    out.backward(np.ones((1, 1)))
    # d/dh = K2^T = [2, 3], through relu' = [1, 0] -> dz = [2, 0]
    np.testing.assert_array_equal(k2.grad, [[1.5], [0.0]])
    np.testing.assert_array_equal(b2.grad, [1.0])
    np.testing.assert_array_equal(k1.grad, [[2.0, 0.0], [4.0, 0.0]])
    np.testing.assert_array_equal(b1.grad, [2.0, 0.0])
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0]])
    with pytest.raises(ag.InvalidValueError, match="one entry per layer"):
        dense_chain(x, k1, b1, k2, b2, activations=("relu",))
    with pytest.raises(ag.ShapeError, match="dense"):
        dense_chain(x, k2, b2, k1, b1, activations=(None, None))


def test_dense_chain_falls_back_when_a_weight_is_used_twice():
    # a layer repeated (or a kernel shared): the per-layer nodes accumulate its gradients
    # in their own order, which the chain's single node would not reproduce for 3 uses
    d = nn.layers.Dense(3, activation="tanh", dtype="float64")
    m = nn.Sequential([d, d, d])
    m.build((None, 3))
    x = ag.Tensor(np.random.default_rng(5).standard_normal((4, 3)))
    out = m(x)
    assert _names(out) == ["dense", "dense", "dense"]
    ag.sum(out).backward()
    want_k = d.kernel.grad.copy()
    d.kernel.grad = d.bias.grad = None
    h = x
    for layer in (d, d, d):
        h = layer(h)
    ag.sum(h).backward()
    np.testing.assert_array_equal(d.kernel.grad, want_k)


# ----------------------------------------------------------------------------- issue 14, eager3
# The backward's scheduling without a heap while one node is pending, the leaves of a node
# stored under one lock acquisition, the chain vjp's reuse of its own gradient arrays, the
# inlined Module.__call__ in Model.__call__ and the inline Ctrl-C hold in Optimizer.step.
def _counting_square():
    """A user primitive x -> x**2 that counts its vjp calls (each node must run once)."""
    calls = []

    @ag.primitive(name="eager3_square")
    def sq(x):
        return x * x

    @sq.defvjp
    def _(g, out, x):
        calls.append(1)
        return 2.0 * x * g
    return sq, calls


def test_backward_order_with_chains_branches_and_rejoins_is_exact():
    # a chain (a -> b -> c), then a fork (d = sq(c) used twice, once after one more node),
    # then a join: every node runs once, after all its consumers; the gradient is analytic
    sq, calls = _counting_square()
    x = ag.Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    a = sq(x)                 # x^2
    b = sq(a)                 # x^4
    d = sq(b)                 # x^8
    e = sq(d)                 # x^16
    f = ag.sum(d * 3.0 + e)   # 3 x^8 + x^16: d reaches f along two paths of two lengths
    f.backward()
    xv = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(x.grad, 24.0 * xv ** 7 + 16.0 * xv ** 15, rtol=1e-12)
    assert len(calls) == 4    # one vjp call per sq node: d waited for both of its consumers


def test_backward_seed_array_and_shared_gradients_are_never_a_leaf_s_grad():
    # one node handing the same array (its incoming gradient) to two leaves: each leaf gets
    # an array of its own, neither is the caller's seed, and a later step does not alias
    a = ag.Tensor(np.ones(3), requires_grad=True)
    b = ag.Tensor(np.ones(3), requires_grad=True)
    out = a + b
    seed = np.array([1.0, 2.0, 3.0])
    out.backward(seed)
    assert a.grad is not seed and b.grad is not seed and a.grad is not b.grad
    np.testing.assert_array_equal(a.grad, seed)
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, seed)       # not shared
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])
    # the same leaf twice in one node (x * x): both contributions summed
    x = ag.Tensor(np.array([1.5, -2.0]), requires_grad=True)
    (x * x).backward(np.ones(2))
    np.testing.assert_array_equal(x.grad, [3.0, -4.0])


@pytest.mark.parametrize("act", ["relu", None, "tanh"])
def test_dense_chain_backward_leaves_the_callers_gradient_untouched(act):
    # the chain writes dz into gradients it made itself (between its layers), never into the
    # gradient it is given
    rng = np.random.default_rng(3)
    x = ag.Tensor(rng.standard_normal((5, 4)), requires_grad=True)
    ws = [ag.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(4, 6), (6,), (6, 3), (3,)]]
    out = ag.ops.fused.dense_chain(x, *ws, activations=(act, act))
    seed = rng.standard_normal(out.shape)
    keep = seed.copy()
    out.backward(seed)
    np.testing.assert_array_equal(seed, keep)
    # and the gradients equal the per-layer nodes'
    x2 = ag.Tensor(x.data.copy(), requires_grad=True)
    ws2 = [ag.Tensor(w.data.copy(), requires_grad=True) for w in ws]
    h = ag.dense(ag.dense(x2, ws2[0], ws2[1], activation=act), ws2[2], ws2[3], activation=act)
    h.backward(keep)
    for t, t2 in zip([x] + ws, [x2] + ws2):
        np.testing.assert_array_equal(t.grad, t2.grad)


def test_model_call_inlines_module_call_only_where_super_would_reach_it():
    seen = []

    class Mixin(nn.Module):
        def __call__(self, *a, **k):           # a __call__ between Model and Module
            seen.append("mixin")
            return super().__call__(*a, **k)

    class M(nn.Model, Mixin):
        def __init__(self):
            super().__init__()
            self.d = nn.layers.Dense(3, input_dim=2)

        def call(self, x):
            return self.d(x)

    m = M()
    out = m(np.ones((4, 2), np.float32))
    assert seen == ["mixin"] and out.shape == (4, 3)
    assert m._output_shape == (None, 3) and m._input_shape == (None, 2)

    class Bad(nn.Model):
        def call(self, x):
            return None
    with pytest.raises(ag.AutogradError, match="returned None"):
        Bad()(np.ones((2, 2), np.float32))
    s = nn.Sequential([nn.layers.Dense(3, input_dim=2)])
    with pytest.raises(ag.AutogradError, match="batch axis"):
        s(np.ones((), np.float32))
    with pytest.raises(ag.AutogradError, match="numeric"):
        s(np.array([["a", "b"]]))


def test_primitive_refuses_an_unsupported_ndarray_operand_beside_a_tensor():
    t = ag.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ag.DTypeError, match="multiply: unsupported dtype"):
        ag.multiply(t, np.array(["a", "b"]))
    with pytest.raises(ag.DTypeError, match="unsupported dtype"):
        ag.multiply(t, np.array([np.datetime64("2020-01-01")] * 2))


def test_sgd_step_holds_ctrl_c_until_every_parameter_is_updated():
    import signal
    got = []
    ps = [ag.Tensor(np.ones(3), requires_grad=True) for _ in range(3)]

    class Probe(nn.optimizers.SGD):          # its own _update: called per parameter
        def _update(self, data, grad, st, h):
            if data is ps[1]._data:
                signal.raise_signal(signal.SIGINT)
                assert got == []             # held while the step runs
            super()._update(data, grad, st, h)

    def handler(signum, frame):
        got.append([p.data.copy() for p in ps])
    opt = Probe(ps, learning_rate=0.5)
    for p in ps:
        p.grad = np.full(3, 2.0)
    old = signal.signal(signal.SIGINT, handler)
    try:
        opt.step()
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, old)
    assert len(got) == 1                     # delivered once, after the whole update
    for d in got[0]:
        np.testing.assert_array_equal(d, np.zeros(3))
