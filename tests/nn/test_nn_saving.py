"""Configs and whole-model files: get_config/from_config on every class, to_json,
model.save / nn.models.load_model, bad and tampered files, custom objects, safe mode."""
import inspect
import json
import os
import zipfile

import numpy as np
import pytest

import autograd as ag
import nn
from nn import config as C
from nn.errors import NotSerializableError, SerializationError

L = nn.layers


@nn.saving.register_serializable(package="tests")
def double(x):
    return x * 2.0


# ---------------------------------------------------------------- every class round-trips
BASES = (L.Layer, nn.losses.Loss, nn.metrics.Metric, nn.optimizers.Optimizer,
         nn.initializers.Initializer)

# constructor arguments for classes that need some (or worth trying with non-defaults)
EXAMPLES = {
    "Dense": [dict(units=3), dict(units=2, activation="tanh", use_bias=False, input_dim=4,
                                  kernel_initializer=nn.initializers.HeNormal(seed=3),
                                  name="d", dtype="float64")],
    "Activation": [dict(activation="relu")],
    "InputLayer": [dict(shape=(3, None), dtype="int64", name="ids")],
    "Concatenate": [dict(), dict(axis=1)],
    "Dot": [dict(axes=1), dict(axes=[1, 2], normalize=True)],
    "Lambda": [dict(function=double)],
    "SGD": [dict(), dict(learning_rate=0.1, momentum=0.9, nesterov=True)],
    "Adam": [dict(), dict(learning_rate=0.02, beta_1=0.8)],
    "BinaryCrossentropy": [dict(from_logits=True)],
    "Accuracy": [dict(loss=nn.losses.BinaryCrossentropy(from_logits=True))],
    "BinaryAccuracy": [dict(threshold=0.0, name="acc0")],
    "GlorotUniform": [dict(seed=7)],
    "Dropout": [dict(rate=0.3), dict(rate=0.5, noise_shape=[None, 1], seed=3)],
    "SpatialDropout2D": [dict(rate=0.2, data_format="channels_first")],
    "Embedding": [dict(input_dim=10, output_dim=3, mask_zero=True)],
    "SimpleRNN": [dict(units=3, return_sequences=True)],
    "LSTM": [dict(units=4, return_state=True, unit_forget_bias=False)],
    "GRU": [dict(units=2, go_backwards=True)],
    "Bidirectional": [dict(layer=L.LSTM(3, return_sequences=True), merge_mode="sum")]
    if hasattr(L, "Bidirectional") else [],
    "TimeDistributed": [dict(layer=L.Dense(2))] if hasattr(L, "TimeDistributed") else [],
    "Reshape": [dict(target_shape=[2, 3])],
    "Permute": [dict(dims=[2, 1])],
    "BatchNormalization": [dict(momentum=0.9, epsilon=1e-4, center=False)],
    "LayerNormalization": [dict(axis=[1, 2])],
    "Conv1D": [dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2)],
    "Conv2D": [dict(filters=3, kernel_size=[3, 2], strides=2, padding="same",
                    activation="relu", input_shape=[8, 8, 2])],
    "Conv2DTranspose": [dict(filters=2, kernel_size=3, strides=2, output_padding=1)],
    "DepthwiseConv2D": [dict(kernel_size=3, depth_multiplier=2)],
    "SeparableConv2D": [dict(filters=4, kernel_size=3, padding="same")],
    "ZeroPadding2D": [dict(padding=[[1, 0], [2, 1]])],
    "UpSampling2D": [dict(size=[2, 3])],
    "CosineDecay": [dict(initial_learning_rate=0.1, decay_steps=100, alpha=0.1)],
    "CosineDecayRestarts": [dict(initial_learning_rate=0.1, first_decay_steps=10)],
    "ExponentialDecay": [dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.9,
                              staircase=True)],
    "InverseTimeDecay": [dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)],
    "PiecewiseConstantDecay": [dict(boundaries=[10, 20], values=[0.1, 0.01, 0.001])],
    "PolynomialDecay": [dict(initial_learning_rate=0.1, decay_steps=10, power=2.0)],
    "L1L2": [dict(l1=0.01, l2=0.02)],
    "MaxNorm": [dict(max_value=3.0, axis=1)],
    "Nadam": [dict(learning_rate=0.01)],
}


ABSTRACT = {"Layer", "Loss", "Metric", "Optimizer", "Initializer", "Merge", "Regularizer",
            "Constraint", "LearningRateSchedule", "Configurable"}


def library_classes():
    """Every class defined in an nn module that has get_config/from_config (models aside)."""
    import importlib
    import pkgutil
    seen = {}
    for info in pkgutil.walk_packages(nn.__path__, "nn."):
        if info.name in ("nn.demo",) or info.name.startswith("nn.data."):
            continue
        mod = importlib.import_module(info.name)
        for obj in vars(mod).values():
            if isinstance(obj, type) and obj.__module__ == mod.__name__ \
                    and hasattr(obj, "get_config") and hasattr(obj, "from_config") \
                    and not issubclass(obj, nn.Model) and not obj.__name__.startswith("_") \
                    and obj.__name__ not in ABSTRACT:
                seen[obj.__name__] = obj
    return seen


def norm(cfg):
    return json.loads(json.dumps(cfg))


def test_every_library_class_round_trips_its_config():
    classes = library_classes()
    assert {"Dense", "Add", "Dot", "SGD", "Adam", "MeanSquaredError", "Accuracy",
            "GlorotUniform", "Lambda", "InputLayer"} <= set(classes)
    for name, cls in sorted(classes.items()):
        examples = EXAMPLES.get(name)
        if examples is None:
            required = [p for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
                        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL,
                                                                    p.VAR_KEYWORD)]
            assert not required, f"{name} needs constructor arguments: add it to EXAMPLES"
            examples = [dict()]
        for kwargs in examples:
            obj = cls(**kwargs)
            cfg = obj.get_config()
            text = json.dumps(cfg)                       # JSON-ready
            again = cls.from_config(json.loads(text))
            assert type(again) is cls
            assert norm(again.get_config()) == norm(cfg), name
            for k, v in kwargs.items():                  # the config holds what was given
                if isinstance(v, (int, float, str, bool)) and k in cfg:
                    assert cfg[k] == v, (name, k)


def test_rebuilt_objects_behave_the_same():
    d = L.Dense(3, activation="tanh", input_dim=4)
    d2 = L.Dense.from_config(d.get_config())
    d2.set_weights(d.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 4))
    np.testing.assert_array_equal(d(x).data, d2(x).data)
    opt = nn.optimizers.Adam(0.05)
    opt.learning_rate = 0.001                        # callbacks change it: the config follows
    assert nn.optimizers.Adam.from_config(opt.get_config()).learning_rate == 0.001
    frozen = L.Dense(2, input_dim=2)
    frozen.trainable = False
    assert L.Dense.from_config(frozen.get_config()).trainable is False


def test_unknown_config_keys_and_unwritable_values_are_clear():
    with pytest.raises(SerializationError, match="unknown config key 'colour'"):
        L.Dense.from_config({"units": 2, "colour": "red"})
    with pytest.raises(NotSerializableError, match="register"):
        L.Dense(2, activation=lambda x: x).get_config()


# ---------------------------------------------------------------- model configs
def functional():
    nn.set_seed(0)
    a, b = nn.Input((3,), name="a"), nn.Input((2,), name="b")
    shared = L.Dense(4, activation="tanh", name="shared")
    h = L.Concatenate(name="cat")([shared(a), L.Dense(4, name="hb")(b)])
    h2 = L.Add(name="add")([shared(L.Dense(3, name="back")(h)), L.Dense(4, name="skip")(h)])
    return nn.Model({"a": a, "b": b}, {"o1": L.Dense(1, name="o1")(h2),
                                       "o2": L.Dense(3, name="o2")(h2)}, name="fn")


def test_to_json_round_trip_sequential_and_functional():
    seq = nn.Sequential([nn.Input((4,), name="x"), L.Dense(3, activation="relu"), L.Dense(1)],
                        name="seq")
    for m in (seq, functional()):
        text = m.to_json()
        m2 = nn.models.model_from_json(text)
        assert type(m2) is type(m) and m2.to_json() == text
        assert [tuple(w.shape) for w in m2.weights] == [tuple(w.shape) for w in m.weights]
    m = functional()
    m2 = nn.models.model_from_json(m.to_json())
    m2.set_weights(m.get_weights())
    x = {"a": np.ones((2, 3)), "b": np.ones((2, 2))}
    for k in ("o1", "o2"):
        np.testing.assert_array_equal(m.predict(x)[k], m2.predict(x)[k])
    assert len(m2.get_layer("shared").weights) == 2          # still shared


def test_subclassed_models_say_to_save_weights_unless_they_have_get_config(tmp_path):
    class Net(nn.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x)

    net = Net()
    net(np.ones((1, 3)))
    with pytest.raises(NotSerializableError, match="save_weights"):
        net.save(tmp_path / "n.keras")

    @nn.saving.register_serializable(package="tests")
    class Wide(nn.Model):
        def __init__(self, units=3, name=None):
            super().__init__(name=name)
            self.units = units
            self.d = L.Dense(units)

        def call(self, x):
            return self.d(x)

        def get_config(self):
            return {"units": self.units, "name": self.name}

    w = Wide(5)
    w.compile("sgd", "mse")
    w.fit(np.ones((4, 3)), np.ones((4, 5)), verbose=0)
    w.save(tmp_path / "w.keras")
    w2 = nn.models.load_model(tmp_path / "w.keras")
    assert type(w2) is Wide and w2.units == 5
    np.testing.assert_array_equal(w.predict(np.ones((2, 3))), w2.predict(np.ones((2, 3))))


# ---------------------------------------------------------------- whole-model files
def data(n=48):
    rng = np.random.default_rng(5)
    x = {"a": rng.normal(size=(n, 3)), "b": rng.normal(size=(n, 2))}
    y = {"o1": rng.normal(size=(n, 1)), "o2": rng.integers(0, 3, n)}
    return x, y


def compiled():
    m = functional()
    m.compile(optimizer=nn.optimizers.Adam(0.01),
              loss={"o1": "mse", "o2": nn.losses.SparseCategoricalCrossentropy(from_logits=True)},
              loss_weights={"o1": 1.0, "o2": 0.5}, metrics={"o2": ["accuracy"]})
    return m


def test_save_load_predicts_bitwise_and_keeps_compile(tmp_path):
    m = compiled()
    x, y = data()
    m.fit(x, y, epochs=1, verbose=0)
    m.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.npz",
                                         "optimizer.npz"]
        assert json.loads(zf.read("metadata.json"))["format_version"] == 1
    m2 = nn.models.load_model(tmp_path / "m.keras")
    p, p2 = m.predict(x), m2.predict(x)
    for k in p:
        assert p[k].dtype == p2[k].dtype and np.array_equal(p[k], p2[k])
    assert m2.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)
    assert nn.models.load_model(tmp_path / "m.keras", compile=False).optimizer is None
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


@pytest.mark.parametrize("opt", ["adam", "sgd_momentum", "rmsprop"])
def test_train_3_save_load_train_2_equals_train_5(tmp_path, opt):
    x, y = data()

    def make():
        m = functional()
        o = {"adam": nn.optimizers.Adam(0.01),
             "sgd_momentum": nn.optimizers.SGD(0.05, momentum=0.9),
             "rmsprop": nn.optimizers.RMSprop(0.01)}[opt]
        m.compile(o, loss={"o1": "mse", "o2": nn.losses.SparseCategoricalCrossentropy(
            from_logits=True)})
        return m

    nn.set_seed(11)
    straight = make()
    straight.fit(x, y, epochs=5, batch_size=8, verbose=0)
    nn.set_seed(11)
    first = make()
    h1 = first.fit(x, y, epochs=3, batch_size=8, verbose=0)
    first.save(tmp_path / "mid.keras")
    resumed = nn.models.load_model(tmp_path / "mid.keras")
    h2 = resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == straight.optimizer.iterations
    assert h1.history["loss"] + h2.history["loss"] == straight.history.history["loss"]


def rewrite(path, out, member, fn):
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    items[member] = fn(items[member])
    with zipfile.ZipFile(out, "w") as zf:
        for n, b in items.items():
            zf.writestr(n, b)
    return out


def edit_config(fn):
    def go(blob):
        cfg = json.loads(blob)
        fn(cfg)
        return json.dumps(cfg).encode()
    return go


@pytest.fixture
def saved(tmp_path):
    m = nn.Sequential([nn.Input((4,)), L.Dense(3, activation="relu", name="h"),
                       L.Dense(2, name="o")])
    m.compile("adam", "mse")
    m.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
    m.save(tmp_path / "ok.keras")
    return tmp_path / "ok.keras"


def layer_cfg(cfg, i):
    return cfg["model"]["config"]["layers"][i]["config"]


@pytest.mark.parametrize("case, match", [
    ("truncated", "not a model file|unreadable|wrong length"),
    ("not_zip", "not a model file"),
    ("version", "format version 99"),
    ("format", "not an autograd-nn model file"),
    ("unknown_class", "unknown class 'Fancy'"),
    ("unknown_key", "unknown config key 'evil'"),
    ("huge_units", "far larger than the weights|tampered"),
    ("huge_input", "far larger than the weights|tampered"),
    ("bad_value", "units must be a positive int"),
    ("weights_shape", "weight 'layers.0.kernel' is"),
    ("object_array", "not a plain numeric dtype"),
    ("extra_member", "unexpected member"),
    ("module_name", "unknown class 'os.system'"),
    ("deep_json", "nests too deeply"),
    ("duplicate", "lists a member twice"),
])
def test_bad_files_raise_clear_errors(saved, tmp_path, case, match):
    bad = tmp_path / "bad.keras"
    blob = saved.read_bytes()
    if case == "truncated":
        bad.write_bytes(blob[: len(blob) * 2 // 3])
    elif case == "not_zip":
        bad.write_bytes(b"hello, not a zip" * 10)
    elif case == "version":
        rewrite(saved, bad, "metadata.json", edit_config(lambda c: c.update(format_version=99)))
    elif case == "format":
        rewrite(saved, bad, "metadata.json", edit_config(lambda c: c.update(format="x")))
    elif case == "unknown_class":
        rewrite(saved, bad, "config.json", edit_config(
            lambda c: c["model"]["config"]["layers"][0].update(class_name="Fancy")))
    elif case == "module_name":
        rewrite(saved, bad, "config.json", edit_config(
            lambda c: c["model"]["config"]["layers"][0].update(class_name="os.system")))
    elif case == "unknown_key":
        rewrite(saved, bad, "config.json", edit_config(lambda c: layer_cfg(c, 0).update(evil=1)))
    elif case == "huge_units":
        rewrite(saved, bad, "config.json", edit_config(
            lambda c: layer_cfg(c, 0).update(units=10**9, input_dim=10**9)))
    elif case == "huge_input":
        rewrite(saved, bad, "config.json", edit_config(
            lambda c: c["model"]["config"]["input"].update(shape=[10**6, 10**6])))
    elif case == "bad_value":
        rewrite(saved, bad, "config.json", edit_config(lambda c: layer_cfg(c, 1).update(units=-3)))
    elif case == "weights_shape":
        rewrite(saved, bad, "config.json", edit_config(lambda c: layer_cfg(c, 0).update(units=5)))
    elif case == "object_array":
        import io
        buf = io.BytesIO()
        np.savez(buf, **{"layers.0.kernel": np.array([object()], dtype=object)})
        rewrite(saved, bad, "model.weights.npz", lambda _: buf.getvalue())
    elif case == "deep_json":
        rewrite(saved, bad, "config.json", lambda _: b"[" * 200000 + b"]" * 200000)
    elif case == "duplicate":
        import warnings
        rewrite(saved, bad, "config.json", lambda b: b)
        with warnings.catch_warnings(), zipfile.ZipFile(bad, "a") as zf:
            warnings.simplefilter("ignore")            # zipfile warns about the duplicate
            zf.writestr("config.json", b"{}")
    elif case == "extra_member":
        rewrite(saved, bad, "config.json", lambda b: b)
        with zipfile.ZipFile(bad, "a") as zf:
            zf.writestr("payload.py", "import os")
    with pytest.raises(SerializationError, match=match):
        nn.models.load_model(bad)


def test_custom_objects_and_registration(tmp_path):
    class Scale(L.Layer):
        def __init__(self, factor=2.0, name=None, dtype="float32"):
            super().__init__(name=name, dtype=dtype)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    def my_loss(y_true, y_pred):
        return ag.mean((y_pred - y_true) ** 2) * 3.0

    m = nn.Sequential([nn.Input((2,)), Scale(3.0), L.Dense(1, activation=double)])
    with pytest.raises(NotSerializableError, match="my_loss"):
        m.compile("sgd", my_loss)
        m.save(tmp_path / "c.keras")
    nn.saving.register_serializable(package="tests")(my_loss)
    m.compile("sgd", my_loss)
    m.save(tmp_path / "c.keras")
    with pytest.raises(SerializationError, match="unknown class 'Scale'.*custom_objects"):
        nn.models.load_model(tmp_path / "c.keras")
    m2 = nn.models.load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale})
    assert m2.layers[0].factor == 3.0 and m2.loss is my_loss
    x = np.ones((3, 2))
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))


def test_lambda_refuses_in_safe_mode(tmp_path):
    m = nn.Sequential([nn.Input((3,)), L.Lambda(lambda x: x * 2.0 + 1.0), L.Dense(1)])
    m.save(tmp_path / "l.keras")
    with pytest.raises(SerializationError, match="safe_mode=False"):
        nn.models.load_model(tmp_path / "l.keras")
    with pytest.raises(SerializationError, match="safe_mode=False"):
        nn.models.model_from_json(m.to_json())
    m2 = nn.models.load_model(tmp_path / "l.keras", safe_mode=False)
    np.testing.assert_array_equal(m.predict(np.ones((2, 3))), m2.predict(np.ones((2, 3))))
    reg = nn.Sequential([nn.Input((3,)), L.Lambda(double)])   # registered: no code in the file
    np.testing.assert_array_equal(nn.models.model_from_json(reg.to_json()).predict(np.ones((1, 3))),
                                  2 * np.ones((1, 3)))


def test_nothing_in_the_library_evaluates_or_unpickles():
    import nn.saving, nn.config, nn.layers.lambda_layer
    for mod in (nn.saving, nn.config):
        src = inspect.getsource(mod)
        for word in ("eval(", "exec(", "import pickle", "pickle.", "__import__",
                     "allow_pickle=True"):
            assert word not in src, (mod.__name__, word)


def test_big_inputs_few_weights_and_lazy_sequential_load(tmp_path):
    big = nn.Sequential([nn.Input((400, 400)), L.Lambda(double), L.Dense(1)])
    big.save(tmp_path / "big.keras")                 # 401 weights, 160,000 inputs a sample
    again = nn.models.load_model(tmp_path / "big.keras")
    x = np.random.default_rng(0).normal(size=(2, 400, 400))
    np.testing.assert_array_equal(big.predict(x), again.predict(x))
    lazy = nn.Sequential([L.Dense(3, activation="relu"), L.Dense(1)])   # built by fit
    lazy.compile("sgd", "mse")
    lazy.fit(np.ones((4, 5)), np.ones(4), verbose=0)
    lazy.save(tmp_path / "lazy.keras")
    back = nn.models.load_model(tmp_path / "lazy.keras")
    assert back.layers[0].kernel.shape == (5, 3)
    np.testing.assert_array_equal(lazy.predict(np.ones((2, 5))), back.predict(np.ones((2, 5))))


def test_sequence_model_with_dropout_and_moving_stats_resumes_exactly(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(1, 30, (32, 6))
    y = rng.normal(size=(32, 1))

    def make():
        ids = nn.Input((6,), dtype="int64", name="ids")
        h = L.Embedding(30, 5)(ids)
        h = L.Bidirectional(L.LSTM(4, return_sequences=True))(h)
        h = L.TimeDistributed(L.Dense(3))(h)
        h = L.BatchNormalization()(L.Flatten()(h))
        m = nn.Model(ids, L.Dense(1)(L.Dropout(0.3)(h)))
        m.compile(nn.optimizers.Adam(0.01), "mse")
        return m

    nn.set_seed(21)
    straight = make()
    straight.fit(x, y, epochs=5, batch_size=8, verbose=0)
    nn.set_seed(21)
    first = make()
    first.fit(x, y, epochs=3, batch_size=8, verbose=0)
    first.save(tmp_path / "seq.keras")
    again = nn.models.load_model(tmp_path / "seq.keras")
    np.testing.assert_array_equal(first.predict(x), again.predict(x))
    again.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(straight.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_schedule_and_regularizer_survive_save_load(tmp_path):
    x = np.random.default_rng(3).normal(size=(16, 3))
    y = np.random.default_rng(4).normal(size=(16, 2))
    nn.set_seed(5)
    kw = {"kernel_regularizer": "l2"} if "kernel_regularizer" in inspect.signature(
        L.Dense.__init__).parameters else {}
    m = nn.Sequential([nn.Input((3,)), L.Dense(2, **kw)])
    sched = nn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5)
    m.compile(nn.optimizers.Adam(learning_rate=sched), "mse")
    m.fit(x, y, epochs=2, batch_size=4, verbose=0)
    m.save(tmp_path / "s.keras")
    again = nn.models.load_model(tmp_path / "s.keras")
    assert isinstance(again.optimizer.defaults["lr"], type(sched))
    assert again.optimizer.defaults["lr"].get_config() == sched.get_config()
    m.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    again.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_npz_members_are_named_by_data_not_by_keyword():
    # np.savez(**arrays) would take `file` as its own argument and `allow_pickle` as an option
    import io
    from nn import saving
    arrays = {"file": np.arange(3.0), "allow_pickle": np.ones((2, 2), np.float32)}
    with np.load(io.BytesIO(saving._npz_bytes(arrays)), allow_pickle=False) as z:
        assert sorted(z.files) == ["allow_pickle", "file"]
        np.testing.assert_array_equal(z["file"], [0.0, 1.0, 2.0])
        assert z["allow_pickle"].dtype == np.float32
