"""History.plot (matplotlib optional) and Model.summary with trainable / frozen counts."""
import sys

import numpy as np
import pytest

import nn


def _history():
    nn.set_seed(0)
    x, y = nn.datasets.make_blobs(120, centers=3, seed=0) if hasattr(nn.datasets, "make_blobs") else (None, None)
    model = nn.Sequential([nn.layers.Dense(8, activation="relu"), nn.layers.Dense(3)])
    model.compile(optimizer="adam", loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model.fit(x.astype(np.float32), y, epochs=4, verbose=0, validation_split=0.25)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    h = _history()
    out = tmp_path / "curve.png"
    fig = h.plot(out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert len(fig.axes) == 2 and {a.get_title() for a in fig.axes} == {"loss", "accuracy"}
    assert len(fig.axes[0].lines) == 2       # training and validation


def test_plot_without_matplotlib_says_how_to_get_it(monkeypatch):
    h = _history()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        h.plot("x.png")


def test_summary_counts_trainable_and_frozen(capsys):
    m = nn.Sequential([nn.layers.Dense(5, input_dim=3), nn.layers.Dense(2, activation="relu")])
    m.layers[0].trainable = False
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 5)" in text and "(None, 2)" in text
    assert "Total params: 32 " in text           # 3*5+5 + 5*2+2
    assert "Trainable params: 12 " in text
    assert "Non-trainable params: 20 " in text
    k = m.layers[0].kernel
    assert not k.requires_grad and any(w is k for w in m.weights)
    assert not any(p is k for p in m.parameters())
    assert set(m.state_dict()) == {"layers.0.kernel", "layers.0.bias", "layers.1.kernel", "layers.1.bias"}


def test_frozen_layer_is_not_updated_by_fit():
    nn.set_seed(1)
    m = nn.Sequential([nn.layers.Dense(4, activation="relu", input_dim=3), nn.layers.Dense(1)])
    m.layers[0].trainable = False
    m.compile(optimizer="sgd", loss="mse")
    m.predict(np.zeros((1, 3)))                   # builds the lazy second layer
    k0, k1 = m.layers[0].kernel.data.copy(), m.layers[1].kernel.data.copy()
    m.fit(np.random.rand(32, 3), np.random.rand(32, 1), epochs=2, verbose=0)
    np.testing.assert_array_equal(m.layers[0].kernel.data, k0)
    assert not np.array_equal(m.layers[1].kernel.data, k1)
