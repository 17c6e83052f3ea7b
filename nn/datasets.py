"""Small data: the 8x8 digits shipped with the package, an MNIST IDX reader, toy generators.

``load_digits()`` reads ``nn/data/digits.csv.gz``: the test set of the UCI "Optical
Recognition of Handwritten Digits" data (E. Alpaydin, C. Kaynak, 1998; UCI Machine Learning
Repository, https://doi.org/10.24432/C50P49), licensed CC BY 4.0.  1797 images of 8x8
pixels, each pixel a count 0..16, labels 0..9.  The file is the copy distributed with
scikit-learn (``sklearn/datasets/data/digits.csv.gz``): one row per image, 64 pixel values
then the label.  See ``nn/data/README.md``.
"""
from __future__ import annotations

import gzip
import os
from typing import Optional, Union

import numpy as np

from . import _random
from autograd.errors import InvalidValueError

__all__ = ["load_digits", "load_mnist", "read_idx", "make_moons", "make_blobs",
           "train_test_split"]

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 digits: x float32 shape-(1797, 64) with the original 0..16 values (scale them,
    e.g. ``x / 16``), y int64 shape-(1797,) in 0..9.  No download: the file ships with nn."""
    raw = np.loadtxt(os.path.join(_DATA, "digits.csv.gz"), delimiter=",", dtype=np.int64)
    return raw[:, :64].astype(np.float32), raw[:, 64].astype(np.int64)


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Union[str, os.PathLike]) -> np.ndarray:
    """One IDX file (the MNIST format), gzipped (``.gz``) or not, as an ndarray.

    Header: two zero bytes, a type byte (0x08 uint8 ... 0x0E float64), the number of
    dimensions, then each dimension as a big-endian uint32; the data follows, big-endian.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise InvalidValueError(f"read_idx: {path} is not an IDX file (bad magic number)")
    ndim = data[3]
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if dims else 1
    if len(data) - offset != count * dtype.itemsize:
        raise InvalidValueError(f"read_idx: {path} holds {len(data) - offset} data bytes, the header "
                         f"{dims} of {dtype} asks for {count * dtype.itemsize}")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


_MNIST = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
          "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def load_mnist(path: Union[str, os.PathLike]):
    """MNIST from the four standard IDX files in the folder ``path`` (each may be gzipped,
    ``name`` or ``name.gz``; also ``train-images.idx3-ubyte`` spellings).

    Returns ``((x_train, y_train), (x_test, y_test))``: x uint8 shape-(N, 28, 28), y uint8
    shape-(N,), as Keras's ``mnist.load_data``.  Nothing is downloaded.
    """
    path = os.fspath(path)
    out = {}
    for key, stem in _MNIST.items():
        candidates = [stem, stem + ".gz", stem.replace("-idx", ".idx"),
                      stem.replace("-idx", ".idx") + ".gz"]
        found = next((os.path.join(path, c) for c in candidates
                      if os.path.exists(os.path.join(path, c))), None)
        if found is None:
            raise FileNotFoundError(f"load_mnist: {stem}[.gz] not found in {path}")
        out[key] = read_idx(found)
    for split in ("train", "test"):
        if len(out["x_" + split]) != len(out["y_" + split]):
            raise InvalidValueError(f"load_mnist: {split} images and labels differ in number")
    return (out["x_train"], out["y_train"]), (out["x_test"], out["y_test"])


def _rng(seed: Optional[int]) -> np.random.Generator:
    return np.random.default_rng(seed) if seed is not None else _random.get_rng()


def make_moons(n: int = 100, noise: float = 0.0, seed: Optional[int] = None):
    """Two interleaving half circles: x float32 shape-(n, 2), y int64 shape-(n,) in {0, 1}.

    Class 0 lies on (cos t, sin t), class 1 on (1 - cos t, 1/2 - sin t), t in [0, pi]; then
    Gaussian noise of std ``noise``.  ``seed`` (or the nn generator when None).
    """
    if n < 1:
        raise InvalidValueError(f"make_moons: n must be >= 1, got {n}")
    rng = _rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n1)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    if noise:
        x = x + rng.normal(0.0, noise, x.shape)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order]


def make_blobs(n: int = 100, centers: Union[int, np.ndarray] = 3, n_features: int = 2,
               cluster_std: float = 1.0, seed: Optional[int] = None):
    """Gaussian blobs: x float32 shape-(n, n_features), y int64 shape-(n,) the blob index.

    centers : a number of centers drawn uniformly in [-10, 10]^n_features, or an array
    shape-(k, n_features).  Samples are split as evenly as possible between the centers.
    """
    if n < 1:
        raise InvalidValueError(f"make_blobs: n must be >= 1, got {n}")
    rng = _rng(seed)
    if np.isscalar(centers):
        c = rng.uniform(-10.0, 10.0, (int(centers), n_features))
    else:
        c = np.asarray(centers, dtype=np.float64)
        if c.ndim != 2:
            raise InvalidValueError(f"make_blobs: centers must be an int or shape-(k, d), got {c.shape}")
    k = len(c)
    y = np.arange(n) % k
    rng.shuffle(y)
    x = c[y] + rng.normal(0.0, cluster_std, (n, c.shape[1]))
    return x.astype(np.float32), y.astype(np.int64)


def train_test_split(x: np.ndarray, y: np.ndarray, test_size: float = 0.2,
                     seed: Optional[int] = None):
    """A shuffled split: ``(x_train, x_test, y_train, y_test)``, the test part
    ``round(test_size * n)`` samples."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise InvalidValueError(f"train_test_split: x and y lengths differ ({len(x)} and {len(y)})")
    if not 0.0 < test_size < 1.0:
        raise InvalidValueError(f"train_test_split: test_size must be in (0, 1), got {test_size}")
    order = _rng(seed).permutation(len(x))
    k = int(round(test_size * len(x)))
    test, train = order[:k], order[k:]
    return x[train], x[test], y[train], y[test]
