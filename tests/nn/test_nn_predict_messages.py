"""predict's shapes at the edges (zero rows, one sample, no batch axis) and error messages that
point at the real cause (a call() returning None, NaN in the data, a list of arrays)."""
from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import nn


def _seq(dtype="float32"):
    nn.set_seed(0)
    return nn.Sequential([nn.layers.Dense(4, activation="relu", input_dim=3, dtype=dtype),
                          nn.layers.Dense(2, dtype=dtype)])


def _functional(outputs=2):
    nn.set_seed(0)
    inp = nn.Input((3,))
    h = nn.layers.Dense(4, activation="tanh")(inp)
    outs = [nn.layers.Dense(2)(h), nn.layers.Dense(1)(h)]
    return nn.Model(inp, outs if outputs == 2 else outs[0])


# ---------------------------------------------------------------------- predict's shapes
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xdtype", [np.float64, np.float32, np.int64])
def test_predict_of_zero_rows_is_0_by_outputs_in_the_dtype_of_a_prediction(dtype, xdtype):
    m = _seq(dtype)
    one = m.predict(np.ones((1, 3), xdtype))
    none = m.predict(np.zeros((0, 3), xdtype))
    assert none.shape == (0, 2) and one.shape == (1, 2)
    assert none.dtype == one.dtype == np.dtype(dtype)
    assert m.predict_on_batch(np.zeros((0, 3), xdtype)).shape == (0, 2)


def test_predict_of_zero_rows_on_functional_models_one_and_several_outputs():
    single = _functional(outputs=1)
    out = single.predict(np.zeros((0, 3)))
    assert out.shape == (0, 2) and out.dtype == single.predict(np.ones((1, 3))).dtype
    multi = _functional()
    outs, ref = multi.predict(np.zeros((0, 3))), multi.predict(np.ones((2, 3)))
    assert type(outs) is type(ref) and len(outs) == len(ref) == 2
    assert [o.shape for o in outs] == [(0, 2), (0, 1)]
    assert [o.dtype for o in outs] == [r.dtype for r in ref]


def test_predict_of_zero_rows_on_a_two_input_model():
    a, b = nn.Input((3,)), nn.Input((2,))
    m = nn.Model([a, b], nn.layers.Dense(2)(nn.layers.Concatenate()([a, b])))
    out = m.predict([np.zeros((0, 3)), np.zeros((0, 2))])
    assert out.shape == (0, 2) and out.dtype == m.predict([np.ones((1, 3)), np.ones((1, 2))]).dtype


def test_predict_on_data_that_yields_no_batch_is_0_by_outputs():
    def nothing():
        return
        yield

    m = _seq()
    out = m.predict(nothing())
    assert out.shape == (0, 2) and out.dtype == m.predict(np.ones((1, 3))).dtype
    outs = _functional().predict(nothing())
    assert [o.shape for o in outs] == [(0, 2), (0, 1)]
    lazy = nn.Sequential([nn.layers.Dense(2)])       # never called: no input shape yet
    with pytest.raises(ag.InvalidValueError, match=r"predict: the data yielded no batch"):
        lazy.predict(nothing())


def test_predict_of_zero_rows_keeps_the_training_flag_and_does_not_step():
    m = _seq()
    before = m.state_dict()
    m.train()
    m.predict(np.zeros((0, 3)))
    assert m.training is True
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("rows", [0, 1, 2])
def test_a_wrong_width_names_expected_and_got_for_any_number_of_rows(rows):
    m = _seq()
    with pytest.raises(ag.ShapeError, match=rf"predict: .*last dimension 3, got shape "
                                            rf"\({max(rows, 1)}, 5\)") as e:
        m.predict(np.zeros((rows, 5)))
    if rows == 0:
        assert "x of shape (0, 5) does not fit the model" in str(e.value)
    f = _functional()
    with pytest.raises(ag.ShapeError, match=r"predict: .*expects shape \(None, 3\), got "
                                            r"\(\d, 5\)"):
        f.predict(np.zeros((rows, 5)))


def test_a_failed_call_does_not_record_the_wrong_input_shape():
    m = _seq()
    with pytest.raises(ag.ShapeError):
        m.predict(np.zeros((1, 5)))
    with pytest.raises(ag.ShapeError, match=r"shape \(samples, 3\)"):
        m.predict(np.zeros(3))


@pytest.mark.parametrize("make", [_seq, _functional])
def test_a_1d_input_says_the_model_expects_a_batch_and_how_to_add_the_axis(make):
    m = make()
    for call in (m.predict, m.predict_on_batch):
        with pytest.raises(ag.ShapeError) as e:
            call(np.zeros(3))
        msg = str(e.value)
        assert "the model expects a batch, shape (samples, 3)" in msg
        assert "got a 1-D array of shape (3,)" in msg
        assert "x[None, :]" in msg and "x.reshape(1, -1)" in msg
    # the suggested fix works
    x = np.arange(3.0)
    assert m.predict(x[None, :]) is not None


def test_a_1d_input_to_a_one_feature_model_also_suggests_a_column():
    m = nn.Sequential([nn.layers.Dense(2, input_dim=1)])
    with pytest.raises(ag.ShapeError, match=r"for 7 samples of one feature: x.reshape\(-1, 1\)"):
        m.predict(np.zeros(7))


# ---------------------------------------------------------------------- messages
class _NoReturnModel(nn.Model):
    def __init__(self):
        super().__init__()
        self.d = nn.layers.Dense(2, input_dim=3)

    def call(self, x):
        self.d(x)                                   # forgot the return


class _NoReturnLayer(nn.Module):
    def call(self, x):
        x * 2


@pytest.mark.parametrize("build", [
    lambda: _NoReturnModel(),
    lambda: nn.Sequential([nn.layers.Dense(2, input_dim=3), _NoReturnLayer()]),
    lambda: nn.Sequential([_NoReturnLayer(), nn.layers.Dense(2)]),
])
def test_a_call_that_returns_none_says_so(build):
    m = build()
    m.compile("sgd", "mse")
    x, y = np.ones((8, 3)), np.ones((8, 2))
    with pytest.raises(ag.AutogradError, match=r"\.call\(\) returned None; it must return its "
                                               r"output") as e:
        m.fit(x, y, verbose=0)
    assert "numeric" not in str(e.value)
    with pytest.raises(ag.AutogradError, match=r"returned None"):
        m.predict(x)


@pytest.mark.parametrize("where,expect", [
    ("x", r"because the data holds NaN or inf: the inputs x hold NaN \(1 value in this batch, "
          r"the first at \[1, 2\] of the batch\)"),
    ("y", r"the targets y hold inf \(1 value in this batch, the first at \[3, 0\]"),
])
def test_nan_in_the_data_says_the_data_holds_it(where, expect):
    m = _seq("float64")
    m.compile("sgd", "mse")
    x, y = np.ones((12, 3)), np.ones((12, 2))
    if where == "x":
        x[5, 2] = np.nan                            # batch 2 (of 4), its row 1
    else:
        y[7, 0] = np.inf
    with pytest.raises(nn.NonFiniteLossError, match=expect) as e:
        m.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    assert "learning rate" not in str(e.value)
    assert "batch 2" in str(e.value)
    if where == "x":
        with pytest.raises(nn.NonFiniteLossError, match=r"the inputs x hold NaN"):
            m.train_on_batch(x[4:8], y[4:8])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_nan_loss_from_clean_data_still_suggests_the_learning_rate():
    m = _seq("float64")
    m.compile(nn.optimizers.SGD(learning_rate=1e30), "mse")
    x, y = np.ones((16, 3)), np.full((16, 2), 1e3)
    with pytest.raises(nn.NonFiniteLossError, match=r"lower learning rate") as e:
        m.fit(x, y, batch_size=4, epochs=20, shuffle=False, verbose=0)
    assert "data holds" not in str(e.value)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
@pytest.mark.parametrize("seq", [list, tuple])
def test_a_list_of_arrays_for_a_one_input_model_says_so(method, seq):
    m = _seq()
    m.compile("sgd", "mse")
    x, y = np.ones((8, 3)), np.ones((8, 2))
    args = (seq([x, x]),) + ((y,) if method != "predict" else ())
    with pytest.raises(ag.InvalidValueError, match=rf"{method}: x is a {seq.__name__} of 2 "
                                                   rf"arrays \(shapes \(8, 3\), \(8, 3\)\), but "
                                                   rf"the model takes one input"):
        getattr(m, method)(*args, verbose=0)


def test_a_list_of_1d_rows_is_still_a_batch():
    m = _seq()
    rows = [np.arange(3.0), np.ones(3)]
    np.testing.assert_allclose(m.predict(rows), m.predict(np.stack(rows)))
