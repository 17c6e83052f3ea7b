"""Convolution, pooling and image reshaping layers: Keras' shapes and parameter counts,
forwards equal to PyTorch's for the same weights (skipped without torch) and to numpy
references written here from the definitions, lazy build, errors, save/load."""
import numpy as np
import pytest

import autograd as ag
import nn

L = nn.layers
RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _run(layer, x):
    return layer(x).data


# ----------------------------------------------------------------------------- numpy references
def ref_conv(x, k, b, stride=(1, 1), pads=((0, 0), (0, 0)), dil=(1, 1), groups=1):
    """The definition, one output element at a time (channels_last, Keras kernel layout)."""
    x = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    n, h, w, c = x.shape
    kh, kw, cg, cout = k.shape
    og = cout // groups
    oh = (h - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, oh, ow, cout))
    for p in range(oh):
        for q in range(ow):
            for o in range(cout):
                gi = o // og
                for i in range(kh):
                    for j in range(kw):
                        y[:, p, q, o] += x[:, p * stride[0] + i * dil[0], q * stride[1] + j * dil[1],
                                           gi * cg:(gi + 1) * cg] @ k[i, j, :, o]
    return y + (0 if b is None else b)


def ref_conv_transpose(x, k, b, stride, crop=((0, 0), (0, 0)), extra=(0, 0)):
    """Each input pixel scatters pixel * kernel into the output (kernel (kh, kw, out, in))."""
    n, h, w, c = x.shape
    kh, kw, f, _ = k.shape
    y = np.zeros((n, (h - 1) * stride[0] + kh + extra[0], (w - 1) * stride[1] + kw + extra[1], f))
    for p in range(h):
        for q in range(w):
            for i in range(kh):
                for j in range(kw):
                    y[:, p * stride[0] + i, q * stride[1] + j] += x[:, p, q] @ k[i, j].T
    y = y[:, crop[0][0]:y.shape[1] - crop[0][1], crop[1][0]:y.shape[2] - crop[1][1]]
    return y + b


def test_conv2d_layer_equals_reference():
    x = _x(2, 7, 6, 4)
    layer = L.Conv2D(6, (3, 2), strides=(2, 1), padding="same", dilation_rate=1, groups=2)
    y = _run(layer, x)
    # 'same', stride 2, H 7, k 3: out 4, total pad 2 -> (1, 1); W 6, k 2, stride 1: (0, 1)
    want = ref_conv(x, layer.kernel.data, layer.bias.data, (2, 1), ((1, 1), (0, 1)), groups=2)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_conv1d_causal_equals_reference():
    x = _x(2, 9, 3)
    layer = L.Conv1D(5, 3, padding="causal", dilation_rate=2, activation="relu")
    y = _run(layer, x)
    want = ref_conv(x[:, None], layer.kernel.data[None], layer.bias.data, pads=((0, 0), (4, 0)),
                    dil=(1, 2))[:, 0]
    np.testing.assert_allclose(y, np.maximum(want, 0), rtol=1e-5, atol=1e-5)


def test_depthwise_and_separable_equal_reference():
    x = _x(2, 6, 6, 3)
    d = L.DepthwiseConv2D(3, depth_multiplier=2, use_bias=True, bias_initializer="ones")
    y = _run(d, x)
    k = d.kernel.data                                       # (3, 3, C, m)
    want = np.concatenate([ref_conv(x[..., c:c + 1], k[:, :, c:c + 1, :], None) for c in range(3)],
                          axis=-1) + 1.0                    # channel c*m + j from input c
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    s = L.SeparableConv2D(4, 3, depth_multiplier=2)
    y = _run(s, x)
    k = s.depthwise_kernel.data
    h = np.concatenate([ref_conv(x[..., c:c + 1], k[:, :, c:c + 1, :], None) for c in range(3)], -1)
    want = h @ s.pointwise_kernel.data[0, 0] + s.bias.data
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding, output_padding, want_hw, crop, extra", [
    ("valid", None, (9, 11), ((0, 0), (0, 0)), (0, 0)),
    ("same", None, (8, 10), ((0, 1), (0, 1)), (0, 0)),
    # Keras (and TF) align 'same' as the gradient of a 'same' conv of the output's size: the
    # padding's odd element at the end, whatever output_padding (PyTorch's padding=1 differs)
    ("same", 1, (8, 10), ((0, 1), (0, 1)), (0, 0)),
])
def test_conv2d_transpose_equals_reference(padding, output_padding, want_hw, crop, extra):
    x = _x(2, 4, 5, 3)
    layer = L.Conv2DTranspose(5, 3, strides=2, padding=padding, output_padding=output_padding,
                              bias_initializer="ones")
    y = _run(layer, x)
    assert y.shape == (2,) + want_hw + (5,)
    want = ref_conv_transpose(x, layer.kernel.data, layer.bias.data, (2, 2), crop, extra)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_pooling_zero_padding_and_upsampling_equal_reference():
    x = _x(2, 5, 4, 3)
    y = _run(L.MaxPooling2D(), x)
    np.testing.assert_array_equal(y, x[:, :4].reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))
    y = _run(L.AveragePooling2D(pool_size=(1, 2)), x)
    np.testing.assert_allclose(y, x.reshape(2, 5, 2, 2, 3).mean(axis=3), rtol=1e-6)
    np.testing.assert_allclose(_run(L.GlobalAveragePooling2D(), x), x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(_run(L.GlobalMaxPooling2D(keepdims=True), x),
                                  x.max(axis=(1, 2), keepdims=True))
    x1 = _x(2, 7, 3)
    np.testing.assert_array_equal(_run(L.MaxPooling1D(3, strides=2), x1),
                                  np.stack([x1[:, i:i + 3].max(1) for i in (0, 2, 4)], 1))
    np.testing.assert_allclose(_run(L.AveragePooling1D(padding="same"), x1)[:, -1], x1[:, 6],
                               rtol=1e-6)                   # the last window holds one step
    np.testing.assert_array_equal(_run(L.GlobalMaxPooling1D(), x1), x1.max(1))
    np.testing.assert_allclose(_run(L.GlobalAveragePooling1D(), x1), x1.mean(1), rtol=1e-6)
    np.testing.assert_array_equal(_run(L.ZeroPadding2D(((1, 0), (2, 1))), x),
                                  np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))))
    np.testing.assert_array_equal(_run(L.UpSampling2D((2, 3)), x),
                                  x.repeat(2, axis=1).repeat(3, axis=2))


def test_channels_first_layers_agree_with_channels_last():
    x = _x(2, 6, 5, 4)
    a = L.Conv2D(3, 3, padding="same")
    ya = _run(a, x)
    b = L.Conv2D(3, 3, padding="same", data_format="channels_first")
    b(x.transpose(0, 3, 1, 2))
    b.kernel.data[...] = a.kernel.data
    yb = _run(b, x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(yb.transpose(0, 2, 3, 1), ya, rtol=1e-5, atol=1e-6)
    for lay in (L.MaxPooling2D, L.AveragePooling2D, L.UpSampling2D, L.ZeroPadding2D):
        np.testing.assert_allclose(_run(lay(data_format="channels_first"), x.transpose(0, 3, 1, 2)),
                                   _run(lay(), x).transpose(0, 3, 1, 2), rtol=1e-6)


# ----------------------------------------------------------------------------- Keras' summary
def test_summary_shapes_and_counts_equal_keras():
    """Keras 3 prints these shapes and counts for the same architecture (counts by Keras'
    formulas: conv kh*kw*in*filters + filters, depthwise kh*kw*in*m + in*m, separable
    kh*kw*in*m + in*m*filters + filters, transpose kh*kw*filters*in + filters)."""
    model = nn.Sequential([
        L.Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        L.MaxPooling2D(), L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(),
        L.ZeroPadding2D(1), L.DepthwiseConv2D(3, depth_multiplier=2),
        L.SeparableConv2D(8, 3, padding="same"), L.Conv2DTranspose(4, 3, strides=2),
        L.UpSampling2D(), L.AveragePooling2D(), L.GlobalAveragePooling2D(), L.Dense(10)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    want = [("Conv2D", "(None, 8, 8, 16)", "160"), ("MaxPooling2D", "(None, 4, 4, 16)", "0"),
            ("Conv2D", "(None, 4, 4, 32)", "4,640"), ("MaxPooling2D", "(None, 2, 2, 32)", "0"),
            ("ZeroPadding2D", "(None, 4, 4, 32)", "0"),
            ("DepthwiseConv2D", "(None, 2, 2, 64)", "640"),
            ("SeparableConv2D", "(None, 2, 2, 8)", "1,096"),
            ("Conv2DTranspose", "(None, 5, 5, 4)", "292"),
            ("UpSampling2D", "(None, 10, 10, 4)", "0"), ("AveragePooling2D", "(None, 5, 5, 4)", "0"),
            ("GlobalAveragePooling2D", "(None, 4)", "0"), ("Dense", "(None, 10)", "50")]
    rows = [ln for ln in lines if ln.split(" (")[0] and "(" in ln and ")" in ln
            and not ln.startswith(("Model", "Layer", "Total", "Trainable", "Non-"))]
    assert len(rows) == len(want), text
    for row, (cls, shape, count) in zip(rows, want):
        assert f"({cls})" in row and shape in row and row.rstrip().endswith(count), row
    assert "Total params: 6,878" in text
    assert model.layers[0].name.startswith("conv2d")        # Keras' snake case


def test_conv1d_summary():
    model = nn.Sequential([L.Conv1D(8, 3, padding="causal", input_shape=(10, 4)),
                           L.MaxPooling1D(), L.GlobalMaxPooling1D()])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 10, 8)" in text and "104" in text and "(None, 5, 8)" in text
    assert "(None, 8)" in text


# ----------------------------------------------------------------------------- errors, training
def test_bad_arguments_and_inputs_raise_library_errors():
    with pytest.raises(ag.InvalidValueError, match="filters"):
        L.Conv2D(0, 3)
    with pytest.raises(ag.InvalidValueError, match="padding"):
        L.Conv2D(4, 3, padding="causal")
    with pytest.raises(ag.InvalidValueError, match="kernel_size"):
        L.Conv2D(4, (3, 3, 3))
    with pytest.raises(ag.InvalidValueError, match="interpolation"):
        L.UpSampling2D(interpolation="bilinear")
    layer = L.Conv2D(4, 3)
    layer(_x(1, 5, 5, 2))
    with pytest.raises(ag.ShapeError, match="2 input channels"):
        layer(_x(1, 5, 5, 3))
    with pytest.raises(ag.ShapeError, match="4 dims"):
        L.Conv2D(4, 3)(_x(5, 5, 2))
    with pytest.raises(ag.ShapeError):
        L.Conv2D(4, 7)(_x(1, 5, 5, 2))                      # kernel larger than the input


def test_cnn_trains_and_round_trips_weights(tmp_path):
    nn.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 6, 1)).astype(np.float32)
    y = (x[:, :3].sum(axis=(1, 2, 3)) > x[:, 3:].sum(axis=(1, 2, 3))).astype(np.int64)
    model = nn.Sequential([L.Conv2D(4, 3, padding="same", activation="relu"),
                           L.MaxPooling2D(), L.Flatten(), L.Dense(2)])
    model.compile(nn.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert h.history["loss"][-1] < 0.6 * h.history["loss"][0]
    model.save_weights(tmp_path / "w.npz")
    other = nn.Sequential([L.Conv2D(4, 3, padding="same", activation="relu"),
                           L.MaxPooling2D(), L.Flatten(), L.Dense(2)])
    other(x[:1])
    other.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


# ----------------------------------------------------------------------------- PyTorch
def _torch():
    return pytest.importorskip("torch")


def _nchw(a):
    return _torch().from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def _oihw(k):
    return _torch().from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))


def _back(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def test_conv_layers_match_torch():
    torch = _torch()
    F = torch.nn.functional
    x = _x(2, 9, 8, 4)
    c = L.Conv2D(6, 3, strides=2, padding="valid", dilation_rate=1, groups=2, activation="relu")
    np.testing.assert_allclose(_run(c, x), _back(F.relu(F.conv2d(
        _nchw(x), _oihw(c.kernel.data), torch.from_numpy(c.bias.data), stride=2, groups=2))),
        rtol=1e-5, atol=1e-5)
    c = L.Conv2D(5, 3, padding="same", dilation_rate=2, bias_initializer="ones")
    np.testing.assert_allclose(_run(c, x), _back(F.conv2d(
        _nchw(x), _oihw(c.kernel.data), torch.from_numpy(c.bias.data), padding="same",
        dilation=2)), rtol=1e-5, atol=1e-5)
    d = L.DepthwiseConv2D(3, depth_multiplier=2, bias_initializer="ones")
    d(x)
    kd = d.kernel.data                                           # (3, 3, 4, 2)
    wt = torch.from_numpy(np.ascontiguousarray(kd.reshape(3, 3, 1, 8).transpose(3, 2, 0, 1)))
    np.testing.assert_allclose(_run(d, x), _back(F.conv2d(_nchw(x), wt, torch.from_numpy(
        d.bias.data), groups=4)), rtol=1e-5, atol=1e-5)
    s = L.SeparableConv2D(7, 3, padding="same", depth_multiplier=1)
    s(x)
    dw = torch.from_numpy(np.ascontiguousarray(s.depthwise_kernel.data.reshape(3, 3, 1, 4)
                                               .transpose(3, 2, 0, 1)))
    h = F.conv2d(_nchw(x), dw, padding="same", groups=4)
    np.testing.assert_allclose(_run(s, x), _back(F.conv2d(h, _oihw(s.pointwise_kernel.data),
                                                          torch.from_numpy(s.bias.data))),
                               rtol=1e-5, atol=1e-5)
    t = L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1)
    t(x)
    full = _back(F.conv_transpose2d(       # Keras' 'same': the full output's first 2H x 2W
        _nchw(x), torch.from_numpy(np.ascontiguousarray(t.kernel.data.transpose(3, 2, 0, 1))),
        torch.from_numpy(t.bias.data), stride=2))
    np.testing.assert_allclose(_run(t, x), full[:, :18, :16], rtol=1e-5, atol=1e-5)
    t = L.Conv2DTranspose(3, (3, 2), strides=(2, 3), padding="valid")
    t(x)
    np.testing.assert_allclose(_run(t, x), _back(F.conv_transpose2d(
        _nchw(x), torch.from_numpy(np.ascontiguousarray(t.kernel.data.transpose(3, 2, 0, 1))),
        torch.from_numpy(t.bias.data), stride=(2, 3), output_padding=(0, 1))),
        rtol=1e-5, atol=1e-5)               # Keras' 'valid': H s + max(k - s, 0)
    x1 = _x(2, 11, 3)
    c1 = L.Conv1D(4, 3, strides=2, padding="valid", dilation_rate=1)
    np.testing.assert_allclose(_run(c1, x1), F.conv1d(
        torch.from_numpy(np.ascontiguousarray(x1.transpose(0, 2, 1))),
        torch.from_numpy(np.ascontiguousarray(c1.kernel.data.transpose(2, 1, 0))),
        torch.from_numpy(c1.bias.data), stride=2).numpy().transpose(0, 2, 1), rtol=1e-5, atol=1e-5)


def test_pooling_and_reshaping_layers_match_torch():
    torch = _torch()
    F = torch.nn.functional
    x = _x(2, 8, 6, 3)
    xt = _nchw(x)
    np.testing.assert_allclose(_run(L.MaxPooling2D((3, 2), strides=(2, 1)), x),
                               _back(F.max_pool2d(xt, (3, 2), (2, 1))), rtol=1e-6)
    np.testing.assert_allclose(_run(L.AveragePooling2D(2), x), _back(F.avg_pool2d(xt, 2)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_run(L.GlobalAveragePooling2D(), x),
                               F.adaptive_avg_pool2d(xt, 1).numpy()[:, :, 0, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_run(L.GlobalMaxPooling2D(), x),
                               F.adaptive_max_pool2d(xt, 1).numpy()[:, :, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(_run(L.ZeroPadding2D(((1, 2), (0, 1))), x),
                               _back(F.pad(xt, (0, 1, 1, 2))), rtol=0)
    np.testing.assert_allclose(_run(L.UpSampling2D(2), x),
                               _back(F.interpolate(xt, scale_factor=2, mode="nearest")), rtol=0)
    x1 = _x(2, 9, 3)
    x1t = torch.from_numpy(np.ascontiguousarray(x1.transpose(0, 2, 1)))
    np.testing.assert_allclose(_run(L.MaxPooling1D(2), x1),
                               F.max_pool1d(x1t, 2).numpy().transpose(0, 2, 1), rtol=1e-6)
    np.testing.assert_allclose(_run(L.AveragePooling1D(3, strides=2), x1),
                               F.avg_pool1d(x1t, 3, 2).numpy().transpose(0, 2, 1), rtol=1e-5, atol=1e-6)
