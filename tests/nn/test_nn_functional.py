"""The functional API: nn.Input, layer graphs, nn.Model(inputs, outputs), merge layers,
per-output compile/fit, and the summary's "Connected to" column."""
import numpy as np
import pytest

import autograd as ag
import nn

L = nn.layers


def two_input_model():
    nn.set_seed(1)
    a = nn.Input((3,), name="a")
    b = nn.Input((2,), name="b")
    ha = L.Dense(4, activation="tanh", name="ha")(a)
    hb = L.Dense(4, activation="relu", name="hb")(b)
    h = L.Concatenate(name="cat")([ha, hb])
    out1 = L.Dense(1, name="out1")(h)
    out2 = L.Dense(3, activation="softmax", name="out2")(h)
    return nn.Model([a, b], [out1, out2], name="two")


def np_dense(layer, x, act=None):
    z = x @ layer.kernel.data + layer.bias.data
    return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), None: lambda v: v}[act](z)


def test_two_inputs_two_outputs_match_a_hand_computation():
    m = two_input_model()
    assert isinstance(m, nn.Model) and isinstance(m, nn.Functional)
    assert [t.shape for t in m.inputs] == [(None, 3), (None, 2)]
    assert m.output_names == ["out1", "out2"]
    assert [l.name for l in m.layers] == ["a", "b", "ha", "hb", "cat", "out1", "out2"]
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    p1, p2 = m.predict([xa, xb])
    g = m.get_layer
    h = np.concatenate([np_dense(g("ha"), xa, "tanh"), np_dense(g("hb"), xb, "relu")], axis=1)
    z = np_dense(g("out2"), h)
    e = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(p1, np_dense(g("out1"), h), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p2, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    d1 = m.predict({"a": xa, "b": xb})
    np.testing.assert_array_equal(d1[0], p1)


def test_dict_inputs_and_outputs():
    a, b = nn.Input((2,), name="left"), nn.Input((2,), name="right")
    s = L.Add()([a, b])
    m = nn.Model({"left": a, "right": b}, {"sum": L.Dense(1, name="d")(s), "raw": s})
    assert m.output_names == ["sum", "raw"] and m.input_names == ["left", "right"]
    out = m.predict({"left": np.ones((3, 2)), "right": np.ones((3, 2))})
    assert set(out) == {"sum", "raw"} and out["raw"].shape == (3, 2)
    np.testing.assert_array_equal(out["raw"], 2 * np.ones((3, 2)))
    with pytest.raises(ag.InvalidValueError, match="right"):
        m.predict({"left": np.ones((3, 2))})


def test_shared_layer_shares_weights_and_gets_both_gradients():
    a, b = nn.Input((3,)), nn.Input((3,))
    shared = L.Dense(2, name="shared")
    m = nn.Model([a, b], L.Add()([shared(a), shared(b)]))
    assert len(m.weights) == 2 and m.count_params() == 8
    xa = ag.Tensor(np.ones((1, 3)))
    xb = ag.Tensor(2 * np.ones((1, 3)))
    ag.sum(m([xa, xb])).backward()
    # d/dK sum((xa + xb) K + 2 b) = (xa + xb)^T 1: both calls reached the one kernel
    np.testing.assert_allclose(shared.kernel.grad, np.full((3, 2), 3.0))
    np.testing.assert_allclose(shared.bias.grad, np.full(2, 2.0))


def test_nested_model_as_a_layer():
    inner = nn.Sequential([nn.Input((4,)), L.Dense(3, name="inner_dense")], name="inner")
    x = nn.Input((4,))
    m = nn.Model(x, L.Dense(1)(inner(x)))
    assert m.predict(np.ones((2, 4))).shape == (2, 1)
    assert m.count_params() == 4 * 3 + 3 + 3 + 1


@pytest.mark.parametrize("cls, ref", [
    (L.Add, lambda x, y: x + y), (L.Subtract, lambda x, y: x - y),
    (L.Multiply, lambda x, y: x * y), (L.Average, lambda x, y: (x + y) / 2),
    (L.Maximum, np.maximum), (L.Minimum, np.minimum),
    (L.Concatenate, lambda x, y: np.concatenate([x, y], -1)),
    (L.Dot, lambda x, y: (x * y).sum(1, keepdims=True)),
])
def test_merge_layers_forward_and_gradients(cls, ref):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    layer = cls(dtype="float64") if cls not in (L.Dot,) else cls(axes=1, dtype="float64")
    np.testing.assert_allclose(layer([x, y]).data, ref(x, y), rtol=1e-12)
    tx, ty = ag.Tensor(x, requires_grad=True), ag.Tensor(y, requires_grad=True)
    assert ag.gradcheck(lambda u, v: layer([u, v]), tx, ty)


def test_dot_rank3_and_normalize_and_three_way_merges():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 4, 5))
    np.testing.assert_allclose(L.Dot(axes=2, dtype="float64")([x, y]).data,
                               np.einsum("bnm,bkm->bnk", x, y), rtol=1e-12)
    u, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 6))
    np.testing.assert_allclose(L.Dot(axes=(1, 1), dtype="float64")([u, v]).data,
                               np.einsum("bmn,bmk->bnk", u, v), rtol=1e-12)
    p, q = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    cos = (p * q).sum(1) / np.linalg.norm(p, axis=1) / np.linalg.norm(q, axis=1)
    np.testing.assert_allclose(L.Dot(1, normalize=True, dtype="float64")([p, q]).data[:, 0],
                               cos, rtol=1e-9)
    z = rng.normal(size=(3, 4))
    np.testing.assert_allclose(L.Maximum(dtype="float64")([p, q, z]).data,
                               np.maximum(np.maximum(p, q), z))
    np.testing.assert_allclose(L.Average(dtype="float64")([p, q, z]).data, (p + q + z) / 3)


def test_merge_layer_errors_are_clear():
    with pytest.raises(ag.ShapeError, match=r"one shape.*\(2, 3\).*\(2, 4\)"):
        L.Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ag.InvalidValueError, match="exactly 2"):
        L.Subtract()([np.ones((2, 3))] * 3)
    with pytest.raises(ag.InvalidValueError, match="at least 2"):
        L.Add()([np.ones((2, 3))])
    with pytest.raises(ag.ArgumentTypeError, match="list"):
        L.Add()(np.ones((2, 3)))
    with pytest.raises(ag.ShapeError, match="axis"):
        L.Concatenate(axis=0)([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ag.ShapeError, match="do not match"):
        L.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])
    a, b = nn.Input((3,)), nn.Input((4,))
    with pytest.raises(ag.ShapeError):
        L.Add()([a, b])                     # caught while the graph is recorded


def test_graph_errors():
    a, b = nn.Input((3,), name="ga"), nn.Input((3,), name="gb")
    out = L.Add()([a, b])
    with pytest.raises(ag.InvalidValueError, match="'gb', which is not in inputs"):
        nn.Model(a, out)
    with pytest.raises(ag.ArgumentTypeError, match="symbolic"):
        nn.Model(a, np.ones(3))
    m = nn.Model([a, b], out)
    with pytest.raises(ag.ShapeError, match=r"'ga' expects shape \(None, 3\), got \(2, 5\)"):
        m.predict([np.ones((2, 5)), np.ones((2, 3))])
    with pytest.raises(ag.InvalidValueError, match="expected 2 inputs"):
        m([np.ones((2, 3))] * 3)
    with pytest.raises(ag.ArgumentTypeError, match="mixes symbolic"):
        L.Add()([a, np.ones((1, 3))])
    with pytest.raises(ag.InvalidValueError, match="unique"):
        x = nn.Input((2,))
        nn.Model(x, L.Dense(1, name="same")(L.Dense(2, name="same")(x)))


def test_per_output_losses_weights_metrics_and_history_names():
    m = two_input_model()
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(40, 3)), "b": rng.normal(size=(40, 2))}
    y = {"out1": rng.normal(size=(40, 1)), "out2": rng.integers(0, 3, 40)}
    m.compile(optimizer=nn.optimizers.SGD(0.05),
              loss={"out1": "mse", "out2": "sparse_categorical_crossentropy"},
              loss_weights={"out1": 2.0, "out2": 0.5}, metrics={"out2": ["accuracy"]})
    # the total loss is the weighted sum of the per-output losses
    logs = m.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "out1_loss", "out2_loss", "out2_accuracy"]
    assert logs["loss"] == pytest.approx(2.0 * logs["out1_loss"] + 0.5 * logs["out2_loss"],
                                         rel=1e-5)
    p1, p2 = m.predict(x)
    assert logs["out1_loss"] == pytest.approx(np.mean((p1 - y["out1"]) ** 2), rel=1e-5)
    assert logs["out2_accuracy"] == pytest.approx(np.mean(p2.argmax(1) == y["out2"]))
    h = m.fit([x["a"], x["b"]], [y["out1"], y["out2"]], epochs=3, batch_size=8, verbose=0,
              validation_split=0.25)
    assert set(h.history) == {"loss", "out1_loss", "out2_loss", "out2_accuracy", "val_loss",
                              "val_out1_loss", "val_out2_loss", "val_out2_accuracy"}
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_list_losses_and_flat_metrics_apply_per_output():
    m = two_input_model()
    m.compile("adam", loss=["mse", "sparse_categorical_crossentropy"], metrics=["accuracy"])
    x = [np.ones((6, 3)), np.ones((6, 2))]
    y = [np.zeros((6, 1)), np.zeros(6, dtype=int)]
    h = m.fit(x, y, epochs=1, verbose=0)
    assert list(h.history) == ["loss", "out1_loss", "out2_loss", "out1_accuracy",
                               "out2_accuracy"]
    with pytest.raises(ag.InvalidValueError, match="3 losses for 2 outputs"):
        m.compile("adam", loss=["mse"] * 3)
    with pytest.raises(ag.InvalidValueError, match="'nope'"):
        m.compile("adam", loss={"nope": "mse"})
    with pytest.raises(ag.ShapeError, match="different numbers of samples"):
        m.fit(x, [np.zeros((5, 1)), np.zeros(6)], verbose=0)


def test_summary_has_connected_to_column():
    m = two_input_model()
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in lines[2]
    cat = next(l for l in lines if l.startswith("cat (Concatenate)"))
    assert cat.rstrip().endswith("ha, hb") and "(None, 8)" in cat
    assert next(l for l in lines if l.startswith("a (InputLayer)")).split()[-1] == "0"
    assert f"Total params: {m.count_params()}" in text


def test_plot_model_writes_the_layer_graph(tmp_path, monkeypatch):
    m = two_input_model()
    src = nn.utils.model_to_dot(m)
    for name in ("ha", "hb", "cat", "out1", "out2"):
        assert f"{name}\\|" in src or f"{name}|" in src
    ids = {l.name: f"l{i}" for i, l in enumerate(m.layers)}
    for a, b in [("a", "ha"), ("b", "hb"), ("ha", "cat"), ("hb", "cat"), ("cat", "out1"),
                 ("cat", "out2")]:
        assert f"{ids[a]} -> {ids[b]};" in src
    assert src.count("->") == 6
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.warns(UserWarning, match="Graphviz"):
        out = nn.utils.plot_model(m, tmp_path / "m.png")
    assert out.endswith("m.dot") and open(out).read() == src
    with pytest.raises(ag.InvalidValueError, match="suffix"):
        nn.utils.plot_model(m, tmp_path / "m.jpg")


def test_training_flag_and_masks_flow_through_the_graph():
    seen = []

    class Probe(L.Layer):
        supports_masking = True

        def call(self, x, training=None, mask=None):
            seen.append((training, None if mask is None else np.asarray(mask).tolist()))
            return x

    class Masker(L.Layer):
        def call(self, x):
            return x

        def compute_mask(self, x, mask=None):
            return np.asarray(getattr(x, "data", x))[:, :, 0] != 0

    x = nn.Input((2, 1))
    m = nn.Model(x, Probe()(Probe()(Masker()(x))))
    seen.clear()
    m(np.array([[[1.0], [0.0]]]), training=True)
    assert seen == [(True, [[True, False]]), (True, [[True, False]])]
    with pytest.raises(ag.InvalidValueError, match="mask"):
        m(np.ones((1, 2, 1)), mask=np.ones((1, 2)))


def test_layers_with_their_own_call_still_record_nodes():
    class Ids(L.Layer):                       # reads raw data in __call__, as Embedding does
        def __call__(self, inputs, *args, **kwargs):
            ids = np.asarray(getattr(inputs, "data", inputs)).astype(np.int64)
            return nn.Module.__call__(self, ids)

        def call(self, ids):
            return ag.Tensor(np.eye(4, dtype=np.float32)[ids])

    x = nn.Input((3,), dtype="int64")
    m = nn.Model(x, L.Flatten()(Ids()(x)))
    assert m.outputs[0].shape == (None, 12)
    np.testing.assert_array_equal(m.predict(np.array([[0, 1, 3]]))[0],
                                  np.eye(4)[[0, 1, 3]].ravel())

