"""Every loss against its formula written out in numpy (float64), and the logits and
probability paths against each other."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import autograd as ag
import nn
from nn import losses

EPS = 1e-7


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


shapes = st.tuples(st.integers(1, 6), st.integers(1, 5))
finite = st.floats(-5, 5, allow_nan=False, width=64)


@st.composite
def pairs(draw, low=-5.0, high=5.0):
    shape = draw(shapes)
    a = draw(arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False)))
    b = draw(arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False)))
    return a, b


@given(pairs())
def test_mse_and_mae(p):
    t, y = p
    np.testing.assert_allclose(losses.MeanSquaredError()(t, ag.Tensor(y)).item(),
                               np.sum((y - t) ** 2) / y.size, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(losses.MeanAbsoluteError()(t, ag.Tensor(y)).item(),
                               np.sum(np.abs(y - t)) / y.size, rtol=1e-12, atol=1e-12)


@given(pairs(0.0, 1.0), st.data())
def test_binary_crossentropy_probabilities(p, data):
    _, prob = p
    t = data.draw(arrays(np.int64, prob.shape, elements=st.integers(0, 1)))
    q = np.minimum(np.maximum(prob, EPS), 1 - EPS)
    want = -np.sum(t * np.log(q) + (1 - t) * np.log(1 - q)) / q.size
    got = losses.BinaryCrossentropy()(t, ag.Tensor(prob)).item()
    np.testing.assert_allclose(got, want, rtol=1e-10)


@given(pairs(-30.0, 30.0), st.data())
def test_binary_crossentropy_logits(p, data):
    _, z = p
    t = data.draw(arrays(np.float64, z.shape, elements=st.floats(0, 1)))
    # -(t log s(z) + (1-t) log(1-s(z))) with log s(z) = -log(1+e^-z), log(1-s(z)) = -z - log(1+e^-z)
    log_s = -np.logaddexp(0.0, -z)
    log_1ms = -np.logaddexp(0.0, z)
    want = -np.sum(t * log_s + (1 - t) * log_1ms) / z.size
    got = losses.BinaryCrossentropy(from_logits=True)(t, ag.Tensor(z)).item()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@given(pairs(-4.0, 4.0), st.data())
def test_binary_paths_agree(p, data):
    _, z = p
    t = data.draw(arrays(np.int64, z.shape, elements=st.integers(0, 1)))
    a = losses.BinaryCrossentropy(from_logits=True)(t, ag.Tensor(z)).item()
    b = losses.BinaryCrossentropy()(t, ag.Tensor(sigmoid(z))).item()
    np.testing.assert_allclose(a, b, rtol=1e-9)


def _onehot(labels, c):
    out = np.zeros((len(labels), c))
    out[np.arange(len(labels)), labels] = 1.0
    return out


@st.composite
def logits_labels(draw, low=-5.0, high=5.0):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 5))
    z = draw(arrays(np.float64, (n, c), elements=st.floats(low, high, allow_nan=False)))
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return z, labels


@given(logits_labels(-50.0, 50.0))
def test_categorical_and_sparse_logits(zl):
    z, labels = zl
    m = z.max(axis=1)
    lse = m + np.log(np.sum(np.exp(z - m[:, None]), axis=1))
    want = np.mean(lse - z[np.arange(len(z)), labels])
    t = _onehot(labels, z.shape[1])
    got_c = losses.CategoricalCrossentropy(from_logits=True)(t, ag.Tensor(z)).item()
    got_s = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, ag.Tensor(z)).item()
    np.testing.assert_allclose(got_c, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_s, want, rtol=1e-10, atol=1e-12)


@given(logits_labels(0.0, 1.0))
def test_categorical_and_sparse_probabilities(zl):
    raw, labels = zl
    raw = raw + 1e-3  # positive scores; the loss rescales rows to sum to 1 (as Keras)
    q = np.clip(raw / raw.sum(axis=1, keepdims=True), EPS, 1 - EPS)
    want = -np.mean(np.log(q[np.arange(len(q)), labels]))
    t = _onehot(labels, raw.shape[1])
    np.testing.assert_allclose(losses.CategoricalCrossentropy()(t, ag.Tensor(raw)).item(), want,
                               rtol=1e-10)
    np.testing.assert_allclose(
        losses.SparseCategoricalCrossentropy()(labels, ag.Tensor(raw)).item(), want, rtol=1e-10)


@given(logits_labels(-4.0, 4.0))
def test_categorical_paths_agree(zl):
    z, labels = zl
    a = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, ag.Tensor(z)).item()
    b = losses.SparseCategoricalCrossentropy()(labels, ag.Tensor(softmax(z))).item()
    c = losses.CategoricalCrossentropy()(_onehot(labels, z.shape[1]), ag.Tensor(softmax(z))).item()
    np.testing.assert_allclose(a, b, rtol=1e-9)
    np.testing.assert_allclose(a, c, rtol=1e-9)


def test_probabilities_are_clipped_like_keras():
    # p = 0 for the true class: log(1e-7), not -inf
    got = losses.BinaryCrossentropy()(np.array([[1.0]]), ag.Tensor(np.array([[0.0]]))).item()
    assert got == pytest.approx(-np.log(EPS))
    got = losses.SparseCategoricalCrossentropy()([0], ag.Tensor(np.array([[0.0, 1.0]]))).item()
    assert got == pytest.approx(-np.log(EPS))


def test_logits_path_is_stable_for_huge_logits():
    z = ag.Tensor(np.array([[1000.0, -1000.0]]))
    assert losses.SparseCategoricalCrossentropy(from_logits=True)([1], z).item() == pytest.approx(2000.0)
    assert losses.BinaryCrossentropy(from_logits=True)([[0.0, 1.0]], z).item() == pytest.approx(1000.0)


def test_by_name_and_shapes():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get("sparse_categorical_crossentropy"),
                      losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("mae"), losses.MeanAbsoluteError)
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("hinge-ish")
    # (N,) targets are accepted for (N, 1) outputs; other mismatches are a ShapeError
    y = ag.Tensor(np.array([[0.2], [0.4]]))
    assert losses.MeanSquaredError()([0.0, 1.0], y).item() == pytest.approx((0.04 + 0.36) / 2)
    with pytest.raises(ag.ShapeError):
        losses.MeanSquaredError()(np.zeros((2, 3)), y)


def test_sparse_labels_checked():
    z = ag.Tensor(np.zeros((3, 4)))
    for bad in ([0, 1, 4], [0, -1, 2], [0.5, 1, 2]):
        with pytest.raises(ValueError, match="labels"):
            losses.SparseCategoricalCrossentropy(from_logits=True)(bad, z)
    # whole-number floats and (N, 1) labels are fine
    losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([[0.0], [3.0], [1.0]]), z)


def test_loss_gradient_flows_float32():
    z = ag.Tensor(np.array([[0.5, -0.5], [2.0, 0.0]], dtype=np.float32), requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)([0, 1], z)
    assert loss.dtype == np.float32
    loss.backward()
    p = softmax(z.data.astype(np.float64))
    np.testing.assert_allclose(z.grad, (p - _onehot([0, 1], 2)) / 2, rtol=1e-5)
