"""Hostile and damaged files (issue 17): a weights file is untrusted input.  load_weights
bounds its work before validating (zip directory and .npy headers first), damage gives the
library's error, names are data, permissions are kept; read_idx checks headers before it
inflates or allocates."""
import gzip
import io
import os
import struct
import time
import zipfile

import numpy as np
import pytest

import autograd as ag
import nn
from nn import safe_io


def make(seed=0):
    nn.set_seed(seed)
    return nn.Sequential([nn.layers.Dense(6, activation="relu", input_dim=4),
                          nn.layers.Dense(3, input_dim=6)])


def weights(m):
    return {k: v.tobytes() for k, v in m.state_dict().items()}


def _npy(shape, dtype="<f4", data=b""):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + data


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _good_members(model):
    buf = io.BytesIO()
    safe_io.write_npz(buf, model.state_dict())
    with zipfile.ZipFile(buf) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_a_zip_bomb_is_refused_from_its_directory_in_milliseconds(tmp_path):
    model = make()
    members = _good_members(model)
    members["layers.0.kernel.npy"] = _npy((4, 6)) + bytes(60_000_000)   # inflates to 60 MB
    _zip(tmp_path / "bomb.npz", members, zipfile.ZIP_DEFLATED)
    assert os.path.getsize(tmp_path / "bomb.npz") < 1_000_000
    before = weights(model)
    t0 = time.perf_counter()
    with pytest.raises(nn.WeightsMismatchError, match=r"layers.0.kernel.*declares 60,000,1\d\d bytes"):
        model.load_weights(tmp_path / "bomb.npz")
    assert time.perf_counter() - t0 < 0.5
    assert weights(model) == before


def test_a_lying_directory_cannot_make_the_reader_inflate_more(tmp_path):
    """The directory says 224 bytes, the stream inflates to 20 MB: reading stops at the
    declared size and the CRC check fails."""
    model = make()
    members = _good_members(model)
    path = tmp_path / "liar.npz"
    members["layers.0.kernel.npy"] = _npy((4, 6)) + bytes(20_000_000)
    _zip(path, members, zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    real = 128 + 20_000_000
    want = 128 + 4 * 6 * 4
    n = 0
    for fmt_at in range(len(raw) - 4):              # patch every copy of the declared size
        if raw[fmt_at:fmt_at + 4] == struct.pack("<I", real):
            raw[fmt_at:fmt_at + 4] = struct.pack("<I", want)
            n += 1
    assert n == 2                                   # local header and central directory
    path.write_bytes(bytes(raw))
    t0 = time.perf_counter()
    with pytest.raises(nn.WeightsMismatchError):
        model.load_weights(path)
    assert time.perf_counter() - t0 < 0.5


def test_a_header_declaring_a_huge_array_is_refused_without_allocating(tmp_path):
    model = make()
    members = _good_members(model)
    members["layers.0.kernel.npy"] = _npy((2_000_000, 2_000_000))
    _zip(tmp_path / "huge.npz", members)
    t0 = time.perf_counter()
    with pytest.raises(nn.WeightsMismatchError, match="layers.0.kernel"):
        model.load_weights(tmp_path / "huge.npz")
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_random_byte_flips_give_the_library_error_or_the_same_weights(tmp_path, compression):
    src = make(seed=4)
    members = _good_members(src)
    path = tmp_path / "good.npz"
    _zip(path, members, compression)
    raw = path.read_bytes()
    rng = np.random.default_rng(0)
    model = make(seed=3)
    refused = 0
    for k in range(120):
        bad = bytearray(raw)
        for at in rng.integers(0, len(raw), size=int(rng.integers(1, 4))):
            bad[at] ^= int(rng.integers(1, 256))
        p = tmp_path / f"flip{k}.npz"
        p.write_bytes(bytes(bad))
        before = weights(model)
        try:
            model.load_weights(p)
        except nn.WeightsMismatchError:
            refused += 1
            assert weights(model) == before
        else:                                      # a flip in a field nobody checks
            assert weights(model) == weights(src)
            model = make(seed=3)
    assert refused > 60


def test_an_unreadable_file_raises_permission_error(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    make().save_weights(path)
    real_open = open

    def no_access(p, *a, **k):
        if os.fspath(p) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(p))
        return real_open(p, *a, **k)
    monkeypatch.setattr("builtins.open", no_access)
    with pytest.raises(PermissionError):
        make().load_weights(path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_a_mode_000_file_raises_permission_error(tmp_path):
    path = tmp_path / "w.npz"
    make().save_weights(path)
    os.chmod(path, 0)
    with pytest.raises(PermissionError):
        make().load_weights(path)


class Odd(nn.Model):
    def __init__(self):
        super().__init__()
        self.file = ag.Tensor(np.arange(3.0), requires_grad=True)
        self.allow_pickle = ag.Tensor(np.ones(2), requires_grad=True)

    def call(self, x):
        return x * self.file.sum() + self.allow_pickle.sum()


def test_weight_names_are_data_not_keyword_arguments(tmp_path):
    a = Odd()
    assert sorted(dict(a.named_weights())) == ["allow_pickle", "file"]
    a.save_weights(tmp_path / "w.npz")
    b = Odd()
    b.file.data = np.zeros(3)
    b.allow_pickle.data = np.zeros(2)
    b.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(b.file.data, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(b.allow_pickle.data, [1.0, 1.0])
    with np.load(tmp_path / "w.npz") as f:           # still an ordinary .npz
        assert sorted(f.files) == ["allow_pickle", "file"]


def test_save_keeps_the_existing_mode_and_uses_the_umask_for_new_files(tmp_path):
    path = tmp_path / "w.npz"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    make().save_weights(path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    old = os.umask(0o027)
    try:
        make().save_weights(tmp_path / "new.npz")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "new.npz").st_mode & 0o777 == 0o640
    old = os.umask(0o022)
    try:
        make().save_weights(tmp_path / "new2.npz")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "new2.npz").st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- read_idx
def _idx(dims, type_byte=0x08, data=None, ndim=None):
    head = bytes([0, 0, type_byte, len(dims) if ndim is None else ndim])
    head += b"".join(struct.pack(">I", d) for d in dims)
    if data is None:
        data = bytes(int(np.prod(dims)) if dims else 1)
    return head + data


@pytest.mark.parametrize("content, words", [
    (b"\x00\x00\x08", "header"),                                   # shorter than the magic
    (_idx((3, 4), ndim=3, data=b""), "header"),                     # dims cut short
    (_idx((2**32 - 1,) * 4, data=b"\x00" * 16), "bytes"),           # product wraps int64
    (_idx((2**31, 2**31), data=b"\x00" * 16), "bytes"),
    (_idx((3, 4), data=bytes(11)), "bytes"),
    (_idx((3, 4), data=bytes(13)), "bytes"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_checks_the_header_before_allocating(tmp_path, content, words, gz):
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    path.write_bytes(gzip.compress(content) if gz else content)
    t0 = time.perf_counter()
    with pytest.raises(ag.InvalidValueError, match=words):
        nn.datasets.read_idx(path)
    assert time.perf_counter() - t0 < 0.5


def test_read_idx_refuses_a_gzip_bomb_without_inflating_it(tmp_path):
    """A small header followed by 100 MB of zeros (0.1 MB gzipped): refused after reading
    the header's bytes plus one."""
    path = tmp_path / "bomb.idx.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(_idx((10,), data=bytes(10)))
        zeros = bytes(10_000_000)
        for _ in range(10):
            f.write(zeros)
    t0 = time.perf_counter()
    with pytest.raises(ag.InvalidValueError, match="bytes"):
        nn.datasets.read_idx(path)
    assert time.perf_counter() - t0 < 0.5


def test_read_idx_refuses_a_header_beyond_max_bytes(tmp_path):
    path = tmp_path / "big.idx"
    path.write_bytes(_idx((1000, 1000), data=b""))
    with pytest.raises(ag.InvalidValueError, match="max_bytes"):
        nn.datasets.read_idx(path, max_bytes=10_000)


def test_read_idx_still_reads_good_files(tmp_path):
    a = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    for gz in (False, True):
        content = _idx((2, 3, 4), 0x0C, a.tobytes())
        path = tmp_path / f"ok{gz}"
        path.write_bytes(gzip.compress(content) if gz else content)
        np.testing.assert_array_equal(nn.datasets.read_idx(path), a)


# --------------------------------------------------------------------------- huge allocations
def _phys():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


@pytest.mark.skipif(_phys() > 60 * 2**30, reason="an 80 GB array might fit on this machine")
def test_a_huge_outer_product_is_the_library_s_memory_error():
    x = ag.Tensor(np.ones(100_000), requires_grad=True)
    with pytest.raises(ag.AllocationError, match=r"multiply: .*\(100000, 100000\).*80,000,000,000 bytes") as info:
        x[:, None] * x[None, :]
    assert isinstance(info.value, MemoryError)


def test_a_huge_dense_layer_is_refused_before_allocating():
    t0 = time.perf_counter()
    with pytest.raises(ag.AllocationError, match=r"Dense 'dense\w*' kernel.*\(1000000, 1000000\).*4,000,000,000,000 bytes") as info:
        nn.layers.Dense(10**6, input_dim=10**6)
    assert isinstance(info.value, MemoryError) and time.perf_counter() - t0 < 1
