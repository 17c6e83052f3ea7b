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
import math
import os
import struct
import zlib
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


#: read_idx's default cap on the data it will allocate (MNIST's largest file is 47 MB).
IDX_MAX_BYTES = 1 << 30


def read_idx(path: Union[str, os.PathLike], max_bytes: int = IDX_MAX_BYTES) -> np.ndarray:
    """One IDX file (the MNIST format), gzipped (``.gz``) or not, as an ndarray.

    Header: two zero bytes, a type byte (0x08 uint8 ... 0x0E float64), the number of
    dimensions, then each dimension as a big-endian uint32; the data follows, big-endian.
    The file is untrusted: the header is checked (length, type, the data size in Python
    integers, against ``max_bytes`` and against the file's size, or a gzip's recorded size)
    before anything is allocated, and at most the header's bytes plus one are inflated.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
        isize = None
        if gz and size >= 18:
            f.seek(-4, os.SEEK_END)
            isize = struct.unpack("<I", f.read(4))[0]   # inflated size mod 2**32
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
                raise InvalidValueError(f"read_idx: {path} is not an IDX file (bad magic number "
                                        f"or a header shorter than 4 bytes)")
            ndim = head[3]
            raw = f.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise InvalidValueError(f"read_idx: {path}: the header declares {ndim} dimensions "
                                        f"but ends after {len(raw) // 4}")
            dims = struct.unpack(f">{ndim}I", raw)
            dtype = np.dtype(_IDX_TYPES[head[2]])
            offset = 4 + 4 * ndim
            nbytes = math.prod(dims) * dtype.itemsize          # Python ints: no wrap
            if nbytes > max_bytes:
                raise InvalidValueError(f"read_idx: {path}: the header {dims} of {dtype} asks for "
                                        f"{nbytes:,} bytes, more than max_bytes={max_bytes:,}")
            if not gz and size - offset != nbytes:
                raise InvalidValueError(f"read_idx: {path} holds {size - offset:,} data bytes, the "
                                        f"header {dims} of {dtype} asks for {nbytes:,}")
            if isize is not None and (offset + nbytes) % (1 << 32) != isize:
                raise InvalidValueError(f"read_idx: {path} inflates to {isize:,} bytes (mod 2**32),"
                                        f" the header {dims} of {dtype} asks for {nbytes:,} data "
                                        f"bytes after a {offset}-byte header")
            arr = np.empty(nbytes, dtype=np.uint8)
            got = f.readinto(memoryview(arr)) if nbytes else 0
            if got != nbytes or f.read(1):
                raise InvalidValueError(f"read_idx: {path}: the header {dims} of {dtype} asks for "
                                        f"{nbytes:,} data bytes, the file holds "
                                        f"{'fewer' if got != nbytes else 'more'}")
    except (OSError, EOFError, zlib.error) as e:
        if isinstance(e, (PermissionError, FileNotFoundError, IsADirectoryError)):
            raise
        raise InvalidValueError(f"read_idx: {path} is damaged ({type(e).__name__}: {e})") from None
    return arr.view(dtype).reshape(dims).astype(dtype.newbyteorder("="))


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
