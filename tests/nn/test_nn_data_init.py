"""Datasets (shipped digits, IDX reader, generators) and initializers."""
import gzip

import numpy as np
import pytest

import nn
from nn import datasets, initializers


def test_load_digits():
    x, y = datasets.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and np.all(x == np.round(x))
    assert set(np.unique(y)) == set(range(10))
    assert 170 <= np.bincount(y).min()


def write_idx(path, arr, code, gz):
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    body = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    (gzip.open if gz else open)(path, "wb").write(body)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_reads_idx(tmp_path, gz):
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, 5, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3, dtype=np.uint8)}
    for name, a in arrays.items():
        write_idx(tmp_path / (name + (".gz" if gz else "")), a, 0x08, gz)
    (xt, yt), (xs, ys) = datasets.load_mnist(tmp_path)
    np.testing.assert_array_equal(xt, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ys, arrays["t10k-labels-idx1-ubyte"])
    assert xt.dtype == np.uint8 and xs.shape == (3, 28, 28)


def test_read_idx_other_types_and_errors(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    write_idx(tmp_path / "f", a, 0x0D, False)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "f"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03")
    with pytest.raises(ValueError, match="IDX"):
        datasets.read_idx(tmp_path / "bad")
    with pytest.raises(FileNotFoundError):
        datasets.load_mnist(tmp_path)


def test_make_moons_and_blobs():
    x, y = datasets.make_moons(101, noise=0.05, seed=3)
    assert x.shape == (101, 2) and x.dtype == np.float32 and set(y) == {0, 1}
    x2, y2 = datasets.make_moons(101, noise=0.05, seed=3)
    np.testing.assert_array_equal(x, x2)
    xc, yc = datasets.make_moons(50, noise=0.0, seed=0)
    c0 = xc[yc == 0]  # noiseless class 0 lies on the unit upper half circle
    np.testing.assert_allclose(np.hypot(c0[:, 0], c0[:, 1]), 1.0, rtol=1e-6)
    xb, yb = datasets.make_blobs(90, centers=np.array([[0, 0], [10, 10], [-10, 10]]),
                                 cluster_std=0.5, seed=1)
    assert np.bincount(yb).tolist() == [30, 30, 30]
    np.testing.assert_allclose(xb[yb == 1].mean(0), [10, 10], atol=0.3)


def test_initializers_bounds_and_statistics():
    nn.set_seed(0)
    fan_in, fan_out = 200, 300
    w = initializers.glorot_uniform((fan_in, fan_out))
    lim = np.sqrt(6 / (fan_in + fan_out))
    assert w.dtype == np.float32 and np.abs(w).max() <= lim
    assert w.std() == pytest.approx(lim / np.sqrt(3), rel=0.02)
    w = initializers.he_uniform((fan_in, fan_out))
    assert np.abs(w).max() <= np.sqrt(6 / fan_in)
    for init, var in ((initializers.glorot_normal, 2 / (fan_in + fan_out)),
                      (initializers.he_normal, 2 / fan_in)):
        w = init((fan_in, fan_out), dtype="float64")
        assert w.var() == pytest.approx(var, rel=0.03)
        assert np.abs(w).max() <= 2 * np.sqrt(var) / 0.87962566103423978 + 1e-12
    np.testing.assert_array_equal(initializers.zeros((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.ones(4, dtype="float64"), np.ones(4))
    assert isinstance(initializers.get("he_normal"), initializers.HeNormal)
    with pytest.raises(ValueError):
        initializers.get("orthogonal-ish")
