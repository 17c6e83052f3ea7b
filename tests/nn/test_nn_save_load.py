"""save_weights/load_weights round trip and the mismatch errors (all or nothing)."""
import os

import numpy as np
import pytest

import nn


def make(units=(6, 3), seed=0, dtype="float32"):
    nn.set_seed(seed)
    return nn.Sequential([nn.layers.Dense(units[0], activation="relu", input_dim=4, dtype=dtype),
                          nn.layers.Dense(units[1], dtype=dtype)])


def same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_round_trip(tmp_path):
    a, b = make(seed=0), make(seed=1)
    assert not same(a, b)
    path = tmp_path / "w.npz"
    a.save_weights(path)
    b.load_weights(path)
    assert same(a, b)
    x = np.random.default_rng(0).random((5, 4))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    # the file is a plain npz keyed by parameter names, readable without pickle
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["layers.0.bias", "layers.0.kernel", "layers.1.bias",
                                   "layers.1.kernel"]
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]  # no temporary file left


def test_loaded_weights_are_copies(tmp_path):
    a, b = make(seed=0), make(seed=1)
    b.load_state_dict(a.state_dict())
    a.layers[0].kernel.data[...] = 0.0
    assert not np.all(b.layers[0].kernel.data == 0.0)


@pytest.mark.parametrize("other, match", [
    (lambda: make(units=(7, 3)), r"'layers.0.kernel' has shape \(4, 6\)"),
    (lambda: make(dtype="float64"), r"'layers.0.kernel' has dtype float32"),
    (lambda: nn.Sequential([nn.layers.Dense(6, activation="relu", input_dim=4)]),
     r"'layers.1.kernel' is missing"),
    (lambda: nn.Sequential([nn.layers.Dense(6, input_dim=4), nn.layers.Dense(3, input_dim=6),
                            nn.layers.Dense(3, input_dim=3)]), r"'layers.2.kernel'"),
])
def test_mismatch_is_a_clear_error_and_model_unchanged(tmp_path, other, match):
    path = tmp_path / "w.npz"
    other().save_weights(path)
    model = make(seed=3)
    before = model.state_dict()
    with pytest.raises(ValueError, match=match) as info:
        model.load_weights(path)
    assert isinstance(info.value, nn.WeightsMismatchError)
    after = model.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before)


def test_unexpected_name_is_an_error(tmp_path):
    model = make()
    state = model.state_dict()
    state["layers.9.kernel"] = np.zeros((1, 1), dtype=np.float32)
    np.savez(tmp_path / "w.npz", **state)
    with pytest.raises(nn.WeightsMismatchError, match="layers.9.kernel"):
        model.load_weights(tmp_path / "w.npz")


def test_pickled_or_foreign_files_are_refused(tmp_path):
    model = make()
    before = model.state_dict()
    state = {k: v for k, v in before.items()}
    state["layers.0.kernel"] = np.array([object()], dtype=object)
    np.savez(tmp_path / "obj.npz", **state)
    with pytest.raises(nn.WeightsMismatchError, match="layers.0.kernel"):
        model.load_weights(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(nn.WeightsMismatchError, match="not a valid"):
        model.load_weights(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError):
        model.load_weights(tmp_path / "missing.npz")
    after = model.state_dict()
    assert all(np.array_equal(after[k], before[k]) for k in before)


def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    model = make()
    path = tmp_path / "w.npz"
    model.save_weights(path)
    old = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        make(seed=5).save_weights(path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["w.npz"]


def test_unbuilt_model_cannot_save(tmp_path):
    m = nn.Sequential([nn.layers.Dense(3)])
    with pytest.raises(ValueError, match="not built"):
        m.save_weights(tmp_path / "w.npz")
