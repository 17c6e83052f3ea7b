"""Issue 13's non-convolution layers: forward against PyTorch for the same weights (float32,
1e-5; skipped cleanly without torch) and against numpy references; training vs inference;
batch norm's moving statistics; masks, states and directions of the recurrent layers;
parameter counts as Keras reports them (its formulas, written out here)."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

import autograd as ag
import nn
from nn import layers as L

RNG = np.random.default_rng(0)
TOL = dict(rtol=1e-5, atol=1e-5)


def _x(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def _out(layer, x, **kw):
    return np.asarray(layer(x, **kw).data)


# --------------------------------------------------------------------------- numpy references
def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _lstm_np(x, k, r, b, h=None, c=None):
    n, t, _ = x.shape
    u = r.shape[0]
    h = np.zeros((n, u)) if h is None else h
    c = np.zeros((n, u)) if c is None else c
    hs = []
    for s in range(t):
        z = x[:, s] @ k + h @ r + b
        i, f, g, o = _sig(z[:, :u]), _sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), _sig(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), h, c


def _gru_np(x, k, r, b):
    n, t, _ = x.shape
    u = r.shape[0]
    h = np.zeros((n, u))
    hs = []
    for s in range(t):
        xw, rh = x[:, s] @ k + b[0], h @ r + b[1]
        z = _sig(xw[:, :u] + rh[:, :u])
        rr = _sig(xw[:, u:2 * u] + rh[:, u:2 * u])
        hh = np.tanh(xw[:, 2 * u:] + rr * rh[:, 2 * u:])
        h = z * h + (1 - z) * hh
        hs.append(h)
    return np.stack(hs, 1)


def test_lstm_matches_numpy_reference_with_states_and_sequences():
    x = _x(3, 5, 4)
    layer = L.LSTM(6, return_sequences=True, return_state=True)
    seq, h, c = (np.asarray(t.data) for t in layer(x))
    want_seq, want_h, want_c = _lstm_np(x.astype(np.float64), layer.kernel.data,
                                        layer.recurrent_kernel.data, layer.bias.data)
    np.testing.assert_allclose(seq, want_seq, **TOL)
    np.testing.assert_allclose(h, want_h, **TOL)
    np.testing.assert_allclose(c, want_c, **TOL)


def test_lstm_initial_state_and_go_backwards():
    x = _x(2, 4, 3)
    h0, c0 = _x(2, 5), _x(2, 5)
    layer = L.LSTM(5, go_backwards=True, return_sequences=True)
    out = _out(layer, x, initial_state=[h0, c0])
    want, _, _ = _lstm_np(x[:, ::-1].astype(np.float64), layer.kernel.data,
                          layer.recurrent_kernel.data, layer.bias.data, h0, c0)
    np.testing.assert_allclose(out, want, **TOL)   # Keras: outputs stay in reversed order


def test_gru_and_simple_rnn_match_numpy_references():
    x = _x(3, 4, 2)
    gru = L.GRU(5, return_sequences=True)
    np.testing.assert_allclose(_out(gru, x), _gru_np(x.astype(np.float64), gru.kernel.data,
                                                     gru.recurrent_kernel.data, gru.bias.data), **TOL)
    rnn = L.SimpleRNN(4)
    out = _out(rnn, x)
    h = np.zeros((3, 4))
    for s in range(4):
        h = np.tanh(x[:, s] @ rnn.kernel.data + h @ rnn.recurrent_kernel.data + rnn.bias.data)
    np.testing.assert_allclose(out, h, **TOL)


def test_masked_steps_keep_the_state():
    ids = np.array([[3, 5, 0, 0], [0, 2, 7, 1]])
    emb = L.Embedding(10, 3, mask_zero=True)
    lstm = L.LSTM(4)
    model = nn.Sequential([emb, lstm])
    out = np.asarray(model(ids).data)
    e = emb.embeddings.data[ids].astype(np.float64)
    k, r, b = lstm.kernel.data, lstm.recurrent_kernel.data, lstm.bias.data
    _, h_a, _ = _lstm_np(e[:1, :2], k, r, b)                 # row 0: the two leading ids only
    _, h_b, _ = _lstm_np(e[1:, 1:], k, r, b)                 # row 1: skip the leading 0
    np.testing.assert_allclose(out[0], h_a[0], **TOL)
    np.testing.assert_allclose(out[1], h_b[0], **TOL)


def test_masked_lstm_gradients_match_finite_differences():
    x = ag.Tensor(RNG.normal(size=(2, 3, 2)), requires_grad=True)
    k, r, b = (ag.Tensor(RNG.normal(size=s), requires_grad=True) for s in ((2, 8), (2, 8), (8,)))
    mask = np.array([[True, False, True], [False, True, True]])
    assert ag.gradcheck(lambda *a: ag.lstm(a[0], None, None, *a[1:], mask=mask), x, k, r, b)


def test_batch_norm_training_vs_inference_and_moving_stats():
    x = _x(16, 3) * 2 + 5
    bn = L.BatchNormalization(momentum=0.9)
    out = _out(bn, x, training=True)
    mu, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(out, (x - mu) / np.sqrt(var + 1e-3), **TOL)
    np.testing.assert_allclose(bn.moving_mean.data, 0.1 * mu, **TOL)
    np.testing.assert_allclose(bn.moving_variance.data, 0.9 + 0.1 * var, rtol=1e-5)
    before = bn.moving_mean.data.copy()
    inf = _out(bn, x, training=False)           # inference: moving stats, no update
    np.testing.assert_array_equal(bn.moving_mean.data, before)
    np.testing.assert_allclose(inf, (x - before) / np.sqrt(bn.moving_variance.data + 1e-3),
                               **TOL)


def test_fit_updates_moving_stats_and_evaluate_does_not():
    nn.set_seed(0)
    x, y = _x(64, 4) + 3, RNG.integers(0, 2, 64)
    model = nn.Sequential([L.Dense(8, input_dim=4), L.BatchNormalization(), L.Dropout(0.5),
                           L.Dense(2)])
    model.compile("adam", nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    bn = model.layers[1]
    model.build((None, 4))
    np.testing.assert_array_equal(bn.moving_mean.data, 0.0)     # build is not a step
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    moved = bn.moving_mean.data.copy()
    assert np.all(moved != 0.0)
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    np.testing.assert_array_equal(bn.moving_mean.data, moved)
    p1, p2 = model.predict(x), model.predict(x)             # inference: no dropout
    np.testing.assert_array_equal(p1, p2)


def test_batch_norm_stats_are_saved_and_loaded_and_non_trainable():
    model = nn.Sequential([L.Dense(3, input_dim=2), L.BatchNormalization()])
    model.build((None, 2))
    bn = model.layers[1]
    bn(_x(8, 3), training=True)
    names = [n for n, _ in model.named_parameters()]
    assert "layers.1.moving_mean" not in names and "layers.1.gamma" in names
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.npz")
        model.save_weights(path)
        other = nn.Sequential([L.Dense(3, input_dim=2), L.BatchNormalization()])
        other.build((None, 2))
        other.load_weights(path)
    np.testing.assert_array_equal(other.layers[1].moving_variance.data, bn.moving_variance.data)
    model.trainable = False
    model.trainable = True                                      # stats stay non-trainable
    assert len(model.parameters()) == 4


def test_train_and_eval_switch_sets_the_default():
    d = L.Dropout(0.5, seed=1)
    x = np.ones((50, 20), np.float32)
    d.eval()
    np.testing.assert_array_equal(_out(d, x), x)
    d.train()
    y = _out(d, x)
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    np.testing.assert_array_equal(_out(d, x, training=False), x)   # the argument wins


def test_dropout_gradient_uses_the_same_mask():
    x = ag.Tensor(np.ones((6, 7)), requires_grad=True)
    y = ag.dropout(x, 0.4, seed=3)
    (y * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)          # d(x keep)/dx = keep = y at x = 1
    assert ag.dropout(x, 0.4, training=False) is x
    assert ag.dropout(x, 0.0) is x


def test_spatial_dropout_drops_whole_channels():
    d = L.SpatialDropout2D(0.5, seed=0)
    y = _out(d, np.ones((4, 3, 3, 8), np.float32), training=True)
    per_channel = y.reshape(4, 9, 8)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))


def test_embedding_repeated_ids_accumulate():
    table = ag.Tensor(RNG.normal(size=(5, 3)), requires_grad=True)
    ids = np.array([[1, 1, 4], [1, 0, 4]])
    ag.embedding(ids, table).sum().backward()
    np.testing.assert_array_equal(table.grad[:, 0], [1, 3, 0, 0, 2])
    with pytest.raises(ag.IndexOutOfRangeError):
        ag.embedding(np.array([5]), table)


def test_layer_norm_reshape_permute_time_distributed_lambda():
    x = _x(2, 3, 4)
    ln = L.LayerNormalization()
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(_out(ln, x), (x - mu) / np.sqrt(var + 1e-3), **TOL)
    np.testing.assert_array_equal(_out(L.Reshape((4, -1)), x), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(_out(L.Permute((2, 1)), x), x.transpose(0, 2, 1))
    td = L.TimeDistributed(L.Dense(5))
    out = _out(td, x)
    np.testing.assert_allclose(out, x @ td.layer.kernel.data + td.layer.bias.data, **TOL)
    np.testing.assert_allclose(_out(L.Lambda(lambda t: t * 2.0), x), 2 * x)
    with pytest.raises(ag.GraphError):
        L.Lambda(lambda t: np.asarray(t.data))(ag.Tensor(x, requires_grad=True))


def test_bidirectional_concat_and_sum():
    x = _x(2, 4, 3)
    bi = L.Bidirectional(L.LSTM(3, return_sequences=True))
    out = _out(bi, x)
    f, b = bi.forward_layer, bi.backward_layer
    want_f, _, _ = _lstm_np(x.astype(np.float64), f.kernel.data, f.recurrent_kernel.data, f.bias.data)
    want_b, _, _ = _lstm_np(x[:, ::-1].astype(np.float64), b.kernel.data, b.recurrent_kernel.data,
                            b.bias.data)
    np.testing.assert_allclose(out, np.concatenate([want_f, want_b[:, ::-1]], -1), **TOL)
    assert not np.array_equal(f.kernel.data, b.kernel.data)   # separate weights


def test_param_counts_equal_keras():
    u, v, d, c = 5, 11, 4, 6
    model = nn.Sequential([L.Embedding(v, d), L.LSTM(u, return_sequences=True),
                           L.GRU(u, return_sequences=True), L.Bidirectional(L.SimpleRNN(u)),
                           L.BatchNormalization(), L.LayerNormalization(), L.Dense(c)])
    model.build((None, 9))
    counts = [m.count_params() for m in model.layers]
    # Keras: Embedding v d; LSTM 4 u (f + u + 1); GRU (reset_after) 3 u (f + u + 2);
    # Bidirectional 2x SimpleRNN u (f + u + 1); BatchNorm 4 c (2 c non-trainable); LayerNorm 2 c
    assert counts == [v * d, 4 * u * (d + u + 1), 3 * u * (u + u + 2), 2 * u * (u + u + 1),
                      4 * 2 * u, 2 * 2 * u, (2 * u + 1) * c]
    lines = []
    model.summary(print_fn=lines.append)
    assert f"Non-trainable params: {2 * 2 * u}" in "\n".join(lines)


def test_unsupported_options_raise_instead_of_being_ignored():
    for make in (lambda: L.LSTM(3, dropout=0.2), lambda: L.GRU(3, reset_after=False),
                 lambda: L.SimpleRNN(3, activation="relu"), lambda: L.LSTM(3, stateful=True)):
        with pytest.raises(ag.InvalidValueError):
            make()


def test_unknown_layer_lists_the_new_ones():
    with pytest.raises(AttributeError) as e:
        L.Conv9D
    assert "LSTM" in str(e.value) and "BatchNormalization" in str(e.value)


# --------------------------------------------------------------------------- PyTorch
def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _t(a, torch):
    return torch.tensor(np.ascontiguousarray(a))


def test_lstm_gru_rnn_match_pytorch():
    torch = _torch()
    x = _x(3, 6, 4)
    u = 5
    with torch.no_grad():
        lstm = L.LSTM(u, return_sequences=True)
        ours = _out(lstm, x)
        ref = torch.nn.LSTM(4, u, batch_first=True)
        ref.weight_ih_l0.copy_(_t(lstm.kernel.data.T, torch))
        ref.weight_hh_l0.copy_(_t(lstm.recurrent_kernel.data.T, torch))
        ref.bias_ih_l0.copy_(_t(lstm.bias.data, torch))
        ref.bias_hh_l0.zero_()
        np.testing.assert_allclose(ours, ref(_t(x, torch))[0].numpy(), **TOL)

        gru = L.GRU(u, return_sequences=True)
        ours = _out(gru, x)
        perm = np.r_[u:2 * u, 0:u, 2 * u:3 * u]          # Keras z, r, h -> PyTorch r, z, n
        ref = torch.nn.GRU(4, u, batch_first=True)
        ref.weight_ih_l0.copy_(_t(gru.kernel.data[:, perm].T, torch))
        ref.weight_hh_l0.copy_(_t(gru.recurrent_kernel.data[:, perm].T, torch))
        ref.bias_ih_l0.copy_(_t(gru.bias.data[0, perm] + 0.1, torch))
        ref.bias_hh_l0.copy_(_t(gru.bias.data[1, perm] - 0.2, torch))
        gru.bias.data = gru.bias.data + np.array([[0.1], [-0.2]], np.float32)
        np.testing.assert_allclose(_out(gru, x), ref(_t(x, torch))[0].numpy(), **TOL)

        rnn = L.SimpleRNN(u, return_sequences=True)
        ours = _out(rnn, x)
        ref = torch.nn.RNN(4, u, batch_first=True)
        ref.weight_ih_l0.copy_(_t(rnn.kernel.data.T, torch))
        ref.weight_hh_l0.copy_(_t(rnn.recurrent_kernel.data.T, torch))
        ref.bias_ih_l0.copy_(_t(rnn.bias.data, torch))
        ref.bias_hh_l0.zero_()
        np.testing.assert_allclose(ours, ref(_t(x, torch))[0].numpy(), **TOL)


def test_bidirectional_lstm_matches_pytorch():
    torch = _torch()
    x = _x(2, 5, 3)
    bi = L.Bidirectional(L.LSTM(4, return_sequences=True))
    ours = _out(bi, x)
    with torch.no_grad():
        ref = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)
        for sfx, lay in (("", bi.forward_layer), ("_reverse", bi.backward_layer)):
            getattr(ref, "weight_ih_l0" + sfx).copy_(_t(lay.kernel.data.T, torch))
            getattr(ref, "weight_hh_l0" + sfx).copy_(_t(lay.recurrent_kernel.data.T, torch))
            getattr(ref, "bias_ih_l0" + sfx).copy_(_t(lay.bias.data, torch))
            getattr(ref, "bias_hh_l0" + sfx).zero_()
        np.testing.assert_allclose(ours, ref(_t(x, torch))[0].numpy(), **TOL)


def test_norm_layers_and_embedding_match_pytorch():
    torch = _torch()
    x = _x(8, 6) * 3 + 1
    with torch.no_grad():
        bn = L.BatchNormalization()
        bn(x, training=False)
        bn.gamma.data, bn.beta.data = _x(6), _x(6)
        ref = torch.nn.BatchNorm1d(6, eps=1e-3, momentum=0.01)
        ref.weight.copy_(_t(bn.gamma.data, torch))
        ref.bias.copy_(_t(bn.beta.data, torch))
        ref.train()
        np.testing.assert_allclose(_out(bn, x, training=True), ref(_t(x, torch)).numpy(), **TOL)
        # PyTorch's momentum is 1 - Keras'; its running mean matches (its variance is unbiased)
        np.testing.assert_allclose(bn.moving_mean.data, ref.running_mean.numpy(), **TOL)
        ref.eval()
        ref.running_var.copy_(_t(bn.moving_variance.data, torch))
        np.testing.assert_allclose(_out(bn, x, training=False), ref(_t(x, torch)).numpy(), **TOL)

        img = _x(2, 4, 4, 3)                      # channels_last vs PyTorch's channels_first
        bn2 = L.BatchNormalization()
        ref2 = torch.nn.BatchNorm2d(3, eps=1e-3).train()
        np.testing.assert_allclose(_out(bn2, img, training=True),
                                   ref2(_t(img.transpose(0, 3, 1, 2), torch)).numpy()
                                   .transpose(0, 2, 3, 1), **TOL)

        seq = _x(2, 3, 6)
        ln = L.LayerNormalization()
        ln(seq)
        ln.gamma.data, ln.beta.data = _x(6), _x(6)
        ref = torch.nn.LayerNorm(6, eps=1e-3)
        ref.weight.copy_(_t(ln.gamma.data, torch))
        ref.bias.copy_(_t(ln.beta.data, torch))
        np.testing.assert_allclose(_out(ln, seq), ref(_t(seq, torch)).numpy(), **TOL)

        emb = L.Embedding(9, 4)
        ids = RNG.integers(0, 9, (3, 5))
        ref = torch.nn.Embedding(9, 4)
        ref.weight.copy_(_t(emb.embeddings.data, torch))
        np.testing.assert_allclose(_out(emb, ids), ref(torch.tensor(ids)).numpy(), **TOL)


def test_reshaping_and_time_distributed_match_pytorch():
    torch = _torch()
    x = _x(2, 3, 4)
    with torch.no_grad():
        tx = _t(x, torch)
        np.testing.assert_array_equal(_out(L.Permute((2, 1)), x), tx.permute(0, 2, 1).numpy())
        np.testing.assert_array_equal(_out(L.Reshape((-1,)), x), tx.reshape(2, -1).numpy())
        td = L.TimeDistributed(L.Dense(5))
        out = _out(td, x)
        lin = torch.nn.Linear(4, 5)
        lin.weight.copy_(_t(td.layer.kernel.data.T, torch))
        lin.bias.copy_(_t(td.layer.bias.data, torch))
        np.testing.assert_allclose(out, lin(tx).numpy(), **TOL)
        np.testing.assert_array_equal(_out(L.Dropout(0.5), x, training=False),
                                      torch.nn.functional.dropout(tx, 0.5, training=False).numpy())
