"""ONNX export: every layer and activation, Sequential, functional and subclassed models,
run by onnxruntime against predict (float32, 1e-5) and checked by onnx.checker.  Skips
cleanly without the onnx/onnxruntime packages (the optional extra ``.[onnx]``)."""
import sys

import numpy as np
import pytest

import autograd as ag
import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

L = nn.layers


def run_both(model, x, tmp_path, **kw):
    path = nn.onnx.export(model, tmp_path / "m.onnx", **kw)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = x if isinstance(x, dict) else {sess.get_inputs()[0].name: x}
    feeds = {k: np.asarray(v, dtype=np.float32) for k, v in feeds.items()}
    got = sess.run(None, feeds)
    want = model.predict(x)
    want = list(want.values()) if isinstance(want, dict) else (
        want if isinstance(want, list) else [want])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    return proto


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("activation", [None, "linear", "relu", "sigmoid", "tanh",
                                        "leaky_relu", "gelu", "softmax"])
def test_dense_every_activation(tmp_path, activation):
    nn.set_seed(0)
    m = nn.Sequential([L.Dense(5, activation=activation, input_dim=4),
                       L.Dense(3, activation=activation, use_bias=False)])
    run_both(m, rand(6, 4), tmp_path)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu", "gelu",
                                        "softmax", "linear"])
def test_activation_layer(tmp_path, activation):
    m = nn.Sequential([nn.Input((4,)), L.Activation(activation)])
    run_both(m, 3 * rand(5, 4), tmp_path)


def test_flatten_and_any_batch_size(tmp_path):
    m = nn.Sequential([nn.Input((2, 3)), L.Flatten(), L.Dense(2)])
    run_both(m, rand(1, 2, 3), tmp_path)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 3, 17):                         # the batch axis is symbolic
        x = rand(n, 2, 3, seed=n)
        np.testing.assert_allclose(sess.run(None, {"input": x})[0], m.predict(x), rtol=1e-5,
                                   atol=1e-5)


@pytest.mark.parametrize("cls", [L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum,
                                 L.Minimum, L.Concatenate, L.Dot])
def test_merge_layers(tmp_path, cls):
    a, b = nn.Input((4,), name="a"), nn.Input((4,), name="b")
    layer = cls(axes=1) if cls is L.Dot else cls()
    m = nn.Model([a, b], L.Dense(2, name="head")(layer([a, b])))
    run_both(m, {"a": rand(3, 4), "b": rand(3, 4, seed=1)}, tmp_path)


def test_dot_rank3_and_concatenate_middle_axis(tmp_path):
    a, b = nn.Input((3, 5), name="a"), nn.Input((4, 5), name="b")
    d = L.Dot(axes=2)([a, b])                                 # (batch, 3, 4)
    c = L.Concatenate(axis=1)([a, L.Dense(5)(b)])             # (batch, 7, 5)
    m = nn.Model([a, b], [L.Flatten()(d), c])
    run_both(m, {"a": rand(2, 3, 5), "b": rand(2, 4, 5, seed=2)}, tmp_path)


def test_lambda_layer_ops(tmp_path):
    def fn(x):
        y = ag.exp(-x * x) + ag.sqrt(ag.abs(x) + 1.0) - ag.log(ag.sigmoid(x) + 0.5)
        z = ag.mean(y, axis=-1, keepdims=True) - ag.max(y, axis=-1, keepdims=True)
        v = ag.var(y, axis=1, keepdims=True) + ag.sum(ag.clip(y, -1.0, 1.0), axis=1,
                                                       keepdims=True)
        t = ag.transpose(ag.expand_dims(y, 1), (0, 2, 1))
        return ag.concatenate([y / 2.0, z, v, ag.squeeze(t, 2), ag.maximum(y, 0.3),
                               ag.log_softmax(y, axis=-1), y[:, 1:3]], axis=1)

    m = nn.Sequential([nn.Input((4,)), L.Lambda(fn)])
    run_both(m, rand(5, 4), tmp_path)


def test_functional_two_inputs_two_outputs_shared_layer(tmp_path):
    nn.set_seed(2)
    a, b = nn.Input((3,), name="a"), nn.Input((3,), name="b")
    shared = L.Dense(4, activation="tanh")
    h = L.Add()([shared(a), shared(b)])
    m = nn.Model({"a": a, "b": b}, {"score": L.Dense(1, activation="sigmoid")(h),
                                    "cls": L.Dense(3, activation="softmax")(h)})
    proto = run_both(m, {"a": rand(4, 3), "b": rand(4, 3, seed=5)}, tmp_path)
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["score", "cls"]


def test_subclassed_model_traced_once(tmp_path):
    class Net(nn.Model):
        def __init__(self):
            super().__init__()
            self.a = L.Dense(6, activation="relu")
            self.b = L.Dense(2)

        def call(self, x):
            h = self.a(x)
            return ag.softmax(self.b(h) * 2.0 + ag.mean(h, axis=1, keepdims=True), axis=-1)

    nn.set_seed(3)
    net = Net()
    net(np.ones((1, 4), dtype=np.float32))
    run_both(net, rand(5, 4), tmp_path)
    fresh = Net()
    fresh.build((None, 4))
    run_both(fresh, rand(2, 4), tmp_path, input_shape=(None, 4))


def test_frozen_weights_and_model_export_method(tmp_path):
    m = nn.Sequential([L.Dense(3, input_dim=2, activation="relu"), L.Dense(1)])
    m.layers[0].trainable = False               # a constant in the trace: still exported
    m.export(str(tmp_path / "m.onnx"), format="onnx", opset=18)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = rand(4, 2)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], m.predict(x), rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ag.InvalidValueError, match="format"):
        m.export(str(tmp_path / "m.tf"), format="tf")


def test_clear_errors(tmp_path, monkeypatch):
    lazy = nn.Sequential([L.Dense(2)])
    with pytest.raises(nn.onnx.OnnxExportError, match="input_shape"):
        nn.onnx.export(lazy, tmp_path / "x.onnx")
    with pytest.raises(nn.onnx.OnnxExportError, match="opset"):
        nn.onnx.export(lazy, tmp_path / "x.onnx", input_shape=(None, 2), opset=9)
    odd = nn.Sequential([nn.Input((3,)), L.Lambda(lambda x: ag.cos(x) ** 2.0 + ag.where(
        x.data > 0, x, -x))])                      # the mask is data, outside the graph
    with pytest.raises(nn.onnx.OnnxExportError, match="outside the graph"):
        nn.onnx.export(odd, tmp_path / "x.onnx")
    fine = nn.Sequential([nn.Input((3,)), L.Lambda(lambda x: ag.cos(x) ** 2.0 + ag.where(
        np.array([True, False, True]), x, -x))])   # a true constant is fine
    run_both(fine, rand(2, 3), tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match="pip install onnx"):
        nn.onnx.export(fine, tmp_path / "y.onnx")


class ConvProbe(L.Layer):
    """A convolution layer made here from the conv primitives (whatever conv layers the
    library grows, they record these primitives)."""

    def __init__(self, dims, filters=3, kernel=3, pool=None, name=None, dtype="float32", **kw):
        super().__init__(name=name, dtype=dtype)
        self.dims, self.filters, self.k, self.pool, self.kw = dims, filters, kernel, pool, kw

    def build(self, shape):
        first = self.kw.get("data_format") == "channels_first"
        cin = shape[1] if first else shape[-1]
        g = self.kw.get("groups", 1)
        rng = np.random.default_rng(0)
        self.kernel = nn.Parameter(rng.normal(size=(self.k,) * self.dims + (cin // g, self.filters))
                                   .astype(np.float32))
        self.bias = nn.Parameter(rng.normal(size=self.filters).astype(np.float32))

    def call(self, x):
        conv = ag.conv2d if self.dims == 2 else ag.conv1d
        y = conv(x, self.kernel, self.bias, **self.kw)
        if self.pool:
            kind, size, pad = self.pool
            fn = getattr(ag, f"{kind}_pool{self.dims}d")
            y = fn(y, pool_size=size, padding=pad,
                   data_format=self.kw.get("data_format", "channels_last"))
        return y


@pytest.mark.parametrize("kw, pool", [
    (dict(), None), (dict(padding="same"), ("max", 2, "valid")),
    (dict(strides=2, padding="same"), ("avg", 2, "same")),
    (dict(dilation=2), ("avg", 3, "valid")), (dict(padding=((1, 0), (2, 1))), ("max", 3, "same")),
    (dict(groups=2), None), (dict(data_format="channels_first", padding="same"), ("max", 2, "valid")),
])
def test_conv2d_and_pooling(tmp_path, kw, pool):
    first = kw.get("data_format") == "channels_first"
    x = nn.Input((4, 7, 9) if first else (7, 9, 4))
    m = nn.Model(x, ConvProbe(2, filters=4, pool=pool, **kw)(x))
    run_both(m, rand(2, *x.shape[1:]), tmp_path)


@pytest.mark.parametrize("kw, pool", [
    (dict(), None), (dict(padding="causal", dilation=2), ("max", 2, "valid")),
    (dict(padding="same", strides=2), ("avg", 2, "same")), (dict(padding=(2, 1)), None),
])
def test_conv1d_and_pooling(tmp_path, kw, pool):
    x = nn.Input((11, 3))
    m = nn.Model(x, ConvProbe(1, pool=pool, **kw)(x))
    run_both(m, rand(2, 11, 3), tmp_path)


class DeconvProbe(L.Layer):
    """A transposed convolution from the conv2d_transpose primitive."""

    def __init__(self, filters=3, kernel=3, name=None, dtype="float32", **kw):
        super().__init__(name=name, dtype=dtype)
        self.filters, self.k, self.kw = filters, kernel, kw

    def build(self, shape):
        first = self.kw.get("data_format") == "channels_first"
        cin = shape[1] if first else shape[-1]
        g = self.kw.get("groups", 1)
        rng = np.random.default_rng(1)
        self.kernel = nn.Parameter(rng.normal(size=(self.k, self.k, self.filters // g, cin))
                                   .astype(np.float32))
        self.bias = nn.Parameter(rng.normal(size=self.filters).astype(np.float32))

    def call(self, x):
        return ag.conv2d_transpose(x, self.kernel, self.bias, **self.kw)


@pytest.mark.parametrize("kw", [
    dict(), dict(strides=2), dict(strides=2, padding="same"),
    dict(strides=2, padding="same", output_padding=1), dict(strides=3, output_padding=(2, 1)),
    dict(dilation=2), dict(padding=((1, 0), (2, 1)), strides=2), dict(groups=2),
    dict(strides=2, data_format="channels_first"),
])
def test_conv2d_transpose(tmp_path, kw):
    first = kw.get("data_format") == "channels_first"
    x = nn.Input((4, 5, 6) if first else (5, 6, 4))
    m = nn.Model(x, DeconvProbe(filters=4, **kw)(x))
    run_both(m, rand(2, *x.shape[1:]), tmp_path)


def test_unmapped_forms_are_named(tmp_path):
    x = nn.Input((3,))
    m = nn.Model(x, L.Lambda(lambda t: ag.transpose(ag.scatter_add(
        ag.transpose(t), np.array([0, 2, 1]), (3, t.shape[0]))))(x))
    with pytest.raises(nn.onnx.OnnxExportError, match="scatter_add at index arrays"):
        nn.onnx.export(m, tmp_path / "c.onnx")
    import autograd.numpy as anp
    m2 = nn.Model(x, L.Lambda(lambda t: anp.cumsum(t, axis=1))(x))
    with pytest.raises(nn.onnx.OnnxExportError, match="primitive 'cumsum' has no ONNX form"):
        nn.onnx.export(m2, tmp_path / "d.onnx")


def test_readme_onnx_block_runs(tmp_path, monkeypatch, capsys):
    """The README's ONNX lines run as pasted after the tour (block tagged ``python onnx``)."""
    import os
    import re
    import warnings
    readme = open(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                               "README.md")).read()
    before = readme.split("```python onnx\n")[0]        # the tour up to the ONNX lines
    tour = re.findall(r"```python\n(.*?)```", before, re.S)
    onnx_blocks = re.findall(r"```python onnx\n(.*?)```", readme, re.S)
    assert len(onnx_blocks) == 1 and len(onnx_blocks[0].strip().splitlines()) == 5
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__readme__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in tour:
            exec(compile(block, "README", "exec"), ns)
        exec(compile(onnx_blocks[0], "README onnx", "exec"), ns)
    assert capsys.readouterr().out.strip().endswith("True")


# layers with an export test above (a new layer fails here until it has one)
EXPORT_TESTED = {"Dense", "Activation", "Flatten", "Add", "Subtract", "Multiply", "Average",
                 "Maximum", "Minimum", "Concatenate", "Dot", "Lambda", "BatchNormalization",
                 "LayerNormalization", "Dropout", "SpatialDropout2D", "Embedding", "SimpleRNN",
                 "LSTM", "GRU", "Bidirectional", "TimeDistributed", "Reshape", "Permute",
                 "Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
                 "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
                 "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
                 "GlobalMaxPooling2D", "ZeroPadding2D", "UpSampling2D"}


def test_every_layer_has_an_export_test():
    layers = {n for n in nn.layers.__all__ if isinstance(getattr(nn.layers, n), type)
              and issubclass(getattr(nn.layers, n), L.Layer) and n not in ("Layer", "Merge")}
    assert layers - EXPORT_TESTED == set(), "add an ONNX export test for these layers"


def test_reshapes_that_merge_the_batch_and_reversed_slices(tmp_path):
    def fn(x):                       # (N, T, F) -> (N*T, F) -> dense-like -> (N, T, F), reversed
        n, t, f = x.shape
        y = ag.reshape(x, (n * t, f)) * 2.0
        return ag.reshape(y, (n, t, f))[:, ::-1, :]

    m = nn.Sequential([nn.Input((4, 3)), L.Lambda(fn)])
    run_both(m, rand(2, 4, 3), tmp_path)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = rand(5, 4, 3, seed=9)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], m.predict(x), rtol=1e-6)


# ---------------------------------------------------------------- normalization, dropout,
# embedding, recurrent and reshaping layers (inference form)
def trained(m, x, y):
    m.compile("adam", "mse")
    m.fit(x, y, epochs=2, batch_size=4, verbose=0)      # moving statistics move off 0/1
    return m


def test_batch_and_layer_normalization_dropout(tmp_path):
    nn.set_seed(4)
    m = nn.Sequential([nn.Input((6,)), L.Dense(8), L.BatchNormalization(), L.Dropout(0.5),
                       L.Dense(5, activation="relu"), L.LayerNormalization(),
                       L.Dense(2)])
    trained(m, rand(16, 6), rand(16, 2))
    run_both(m, rand(5, 6, seed=3), tmp_path)


def test_conv_batchnorm_and_spatial_dropout(tmp_path):
    x = nn.Input((6, 6, 2))
    h = ConvProbe(2, filters=4, padding="same")(x)
    h = L.BatchNormalization(axis=-1)(h)
    h = L.SpatialDropout2D(0.3)(h)
    m = nn.Model(x, L.LayerNormalization(axis=[1, 2, 3])(h))
    trained(m, rand(8, 6, 6, 2), rand(8, 6, 6, 4))
    run_both(m, rand(3, 6, 6, 2), tmp_path)


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("seqs", [False, True])
def test_recurrent_layers_over_embeddings(tmp_path, cls, seqs):
    nn.set_seed(5)
    ids = nn.Input((7,), dtype="int64", name="ids")
    h = L.Embedding(20, 4)(ids)
    out = getattr(L, cls)(5, return_sequences=seqs)(h)
    m = nn.Model(ids, out)
    x = np.random.default_rng(1).integers(0, 20, (3, 7))
    path = nn.onnx.export(m, tmp_path / "r.onnx")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"ids": x})[0], m.predict(x), rtol=1e-5,
                               atol=1e-5)
    onnx.checker.check_model(onnx.load(path), full_check=True)


def test_lstm_states_bidirectional_and_time_distributed(tmp_path):
    nn.set_seed(6)
    x = nn.Input((5, 3))
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x)
    b = L.Bidirectional(L.GRU(3, return_sequences=True))(seq)
    td = L.TimeDistributed(L.Dense(2))(b)
    m = nn.Model(x, [L.Flatten()(td), h, c])
    run_both(m, rand(2, 5, 3), tmp_path)


def test_reshape_and_permute(tmp_path):
    m = nn.Sequential([nn.Input((12,)), L.Reshape((3, 4)), L.Permute((2, 1)),
                       L.Flatten(), L.Dense(2)])
    run_both(m, rand(4, 12), tmp_path)


# ---------------------------------------------------------------- convolution and pooling layers
@pytest.mark.parametrize("make", [
    lambda: [L.Conv2D(4, 3, padding="same", activation="relu"), L.MaxPooling2D(),
             L.Conv2D(3, (2, 3), strides=2, dilation_rate=1), L.GlobalAveragePooling2D()],
    lambda: [L.Conv2D(4, 3, dilation_rate=2, groups=2), L.AveragePooling2D(padding="same"),
             L.GlobalMaxPooling2D()],
    lambda: [L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
             L.SeparableConv2D(5, 3, activation="tanh"), L.Flatten()],
    lambda: [L.Conv2DTranspose(3, 3, strides=2, padding="same"), L.UpSampling2D((2, 1)),
             L.Conv2DTranspose(2, 2, strides=2, output_padding=1)],
    lambda: [L.ZeroPadding2D(((1, 0), (2, 1))), L.Conv2D(2, 3)],
    lambda: [L.Conv2D(3, 3, data_format="channels_first"), L.MaxPooling2D(
        data_format="channels_first"), L.GlobalAveragePooling2D(data_format="channels_first")],
])
def test_conv2d_layers(tmp_path, make):
    nn.set_seed(8)
    layers = make()
    first = getattr(layers[0], "data_format", None) == "channels_first"
    m = nn.Sequential([nn.Input((4, 8, 8) if first else (8, 8, 4))] + layers)
    run_both(m, rand(2, *((4, 8, 8) if first else (8, 8, 4))), tmp_path)


def test_conv1d_layers(tmp_path):
    nn.set_seed(9)
    m = nn.Sequential([nn.Input((12, 3)), L.Conv1D(4, 3, padding="causal", dilation_rate=2),
                       L.MaxPooling1D(2), L.Conv1D(2, 2, strides=2, padding="same"),
                       L.AveragePooling1D(2, padding="same"), L.GlobalMaxPooling1D()])
    run_both(m, rand(3, 12, 3), tmp_path)
    m2 = nn.Sequential([nn.Input((10, 2)), L.Conv1D(3, 3), L.GlobalAveragePooling1D()])
    run_both(m2, rand(2, 10, 2), tmp_path)


@pytest.mark.parametrize("fn, lo, hi", [
    ("arccos", -0.9, 0.9), ("arcsin", -0.9, 0.9), ("arctan", -3, 3), ("arctanh", -0.9, 0.9),
    ("arccosh", 1.1, 4), ("arcsinh", -3, 3), ("ceil", -3, 3), ("floor", -3, 3),
    ("cosh", -2, 2), ("sinh", -2, 2), ("tan", -1, 1), ("sign", -2, 2), ("rint", -3, 3),
    ("reciprocal", 0.5, 3), ("expm1", -2, 2), ("log1p", -0.5, 3), ("log2", 0.1, 4),
    ("log10", 0.1, 4), ("exp2", -2, 2), ("deg2rad", -180, 180), ("rad2deg", -3, 3),
    ("trunc", -3, 3), ("fix", -3, 3),
])
def test_numpy_namespace_elementwise(tmp_path, fn, lo, hi):
    import autograd.numpy as anp
    f = getattr(anp, fn)
    m = nn.Sequential([nn.Input((6,)), L.Lambda(lambda t: f(t) * 1.0)])
    x = np.random.default_rng(0).uniform(lo, hi, (4, 6)).astype(np.float32)
    run_both(m, x, tmp_path)


def test_numpy_namespace_hypot_and_prod(tmp_path):
    import autograd.numpy as anp
    m = nn.Sequential([nn.Input((3, 4)), L.Lambda(
        lambda t: anp.hypot(t, t * 0.5) + anp.prod(t, axis=1, keepdims=True))])
    run_both(m, rand(2, 3, 4), tmp_path)


def test_a_step_mask_is_refused(tmp_path):
    # Embedding(mask_zero=True) hands the recurrent layer a tensor mask (positionally)
    ids = nn.Input((5,), dtype="int64")
    m = nn.Model(ids, L.LSTM(3)(L.Embedding(10, 4, mask_zero=True)(ids)))
    with pytest.raises(nn.onnx.OnnxExportError, match="step mask"):
        nn.onnx.export(m, tmp_path / "m.onnx")
