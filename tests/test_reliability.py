"""Reliability of the autograd side (issue 7): the kernel entry points refuse bad data with
the library's errors whoever calls them, grad mode and training are per thread, and numba
works without a writable cache."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import autograd as ag
from autograd import kernels as K

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
f64 = np.ones


def _ro(shape):
    a = np.ones(shape)
    a.setflags(write=False)
    return a


# (call, error class, words the message must hold).  Several of these were accepted by the
# numba path before (it read past the end of an array) or were numba/numpy tracebacks.
KERNEL_MISUSE = [
    (lambda: K.activation(np.ones(3, np.int64), 1), ag.DTypeError, r"kernels.activation: x must be float, got int64"),
    (lambda: K.activation([1.0], 1), ag.DTypeError, "must be a numpy array, got list"),
    (lambda: K.activation(f64(3), 9), ag.InvalidValueError, "unknown activation code 9"),
    (lambda: K.activation_grad(f64(3), f64(4), 1), ag.ShapeError, r"\(3,\) and \(4,\)"),
    (lambda: K.matmul(f64((3, 4)), f64((5, 2))), ag.ShapeError, r"kernels.matmul: shapes \(3, 4\) and \(5, 2\)"),
    (lambda: K.matmul(f64(3), f64(3)), ag.ShapeError, "2-d"),
    (lambda: K.matmul(np.array([["a"]]), f64((1, 1))), ag.DTypeError, "<U1"),
    (lambda: K.bias_act(f64((2, 3)), f64(4), 1), ag.ShapeError, r"bias of shape \(4,\) does not fit z of shape \(2, 3\)"),
    (lambda: K.bias_act(np.ones((2, 3), np.int64), f64(3), 1), ag.DTypeError, "int64"),
    (lambda: K.bias_act(_ro((2, 3)), None, 1), ag.InvalidValueError, "read-only"),
    (lambda: K.dense_grad_z(f64((2, 3)), f64((2, 4)), 1, 0.01, True), ag.ShapeError, r"\(2, 3\).*\(2, 4\)"),
    (lambda: K.xent_sparse(f64((2, 3)), np.array([0, 5]), 1.0, True), ag.InvalidValueError, r"\[0, 3\)"),
    (lambda: K.xent_sparse(f64((2, 3)), np.array([-1, 0]), 1.0, True), ag.InvalidValueError, r"\[-1, 0\]"),
    (lambda: K.xent_sparse(f64((2, 3)), np.array([0.0, 1.0]), 1.0, True), ag.DTypeError, "integer, got float64"),
    (lambda: K.xent_sparse(f64(3), np.array([0]), 1.0, True), ag.ShapeError, "2-d"),
    (lambda: K.xent_sparse(f64((2, 3)), np.array([0, 1, 2]), 1.0, True), ag.ShapeError, r"\(3,\)"),
    (lambda: K.xent_dense(f64((2, 3)), f64((2, 4)), 1.0, True, True), ag.ShapeError, r"\(2, 4\)"),
    (lambda: K.bce(f64((2, 3)), f64(3), 1.0, True, True), ag.ShapeError, r"kernels.bce: targets of shape \(3,\)"),
    (lambda: K.bce(np.ones(3, np.int64), np.ones(3, np.int64), 1.0, True, True), ag.DTypeError, "int64"),
    (lambda: K.sgd_update(f64(4), f64(3), None, 0.1), ag.ShapeError, r"grad of shape \(3,\) does not match param of shape \(4,\)"),
    (lambda: K.sgd_update(np.ones(4, np.int64), f64(4), None, 0.1), ag.DTypeError, "int64"),
    (lambda: K.sgd_update(_ro(4), f64(4), None, 0.1), ag.InvalidValueError, "read-only"),
    (lambda: K.sgd_update(f64(4), f64(4), None, 0.1, momentum=0.9), ag.DTypeError, "velocity"),
    (lambda: K.adam_update(f64(4), f64(4), f64(3), f64(4), 1, 0.1, .9, .999, 1e-7), ag.ShapeError, r"m of shape \(3,\)"),
    (lambda: K.adam_update(f64(4), f64(5), f64(4), f64(4), 1, 0.1, .9, .999, 1e-7), ag.ShapeError, r"grad of shape \(5,\)"),
    (lambda: K.adam_update(f64(4), f64(4), f64(4), f64(4), 1, "a", .9, .999, 1e-7), ag.InvalidValueError, "'a'"),
    (lambda: K.rmsprop_update(f64(4), f64(5), f64(4), 0.1, .9, 1e-7), ag.ShapeError, r"grad of shape \(5,\)"),
]


@pytest.mark.parametrize("mode", ["numba", "numpy"])
@pytest.mark.parametrize("call, exc, words", KERNEL_MISUSE)
def test_kernel_entry_points_refuse_bad_data_with_library_errors(mode, call, exc, words):
    with K.forced(mode):
        with pytest.raises(exc, match=words) as info:
            call()
    e = info.value
    assert isinstance(e, ag.AutogradError) and str(e).startswith("kernels.")
    builtin = {ag.ShapeError: ValueError, ag.DTypeError: TypeError,
               ag.InvalidValueError: ValueError}[exc]
    assert isinstance(e, builtin)


@pytest.mark.parametrize("mode", ["numba", "numpy"])
@pytest.mark.parametrize("op", ["relu", "sigmoid", "tanh", "gelu", "leaky_relu"])
def test_activations_keep_a_0d_shape_on_both_kernel_paths(mode, op):
    # The numba path returned shape (1,) for a 0-d input (np.ascontiguousarray is >= 1-d).
    with K.forced(mode):
        x = ag.Tensor(np.float32(0.5), requires_grad=True)
        y = getattr(ag, op)(x)
        y.backward()
    assert y.shape == () and x.grad.shape == ()
    np.testing.assert_allclose(y.data, ag.OPS[op].reference(np.float32(0.5)), rtol=1e-6)


@pytest.mark.parametrize("mode", ["numba", "numpy"])
def test_relu_of_minus_inf_is_zero_and_nan_stays_nan(mode):
    # The numba relu computed 0 * x for x <= 0, which is NaN at -inf (np.maximum gives 0).
    x = np.array([-np.inf, np.nan, -1.0, 0.0, 2.0, np.inf], np.float32)
    with K.forced(mode):
        y = ag.relu(ag.Tensor(x)).data
    np.testing.assert_array_equal(y, np.maximum(x, 0))


@pytest.mark.parametrize("x_shape, k_shape", [((0, 0), (0, 2)), ((2, 0), (0, 3)), ((3, 2, 0), (0, 1))])
def test_dense_backward_with_no_input_features(x_shape, k_shape):
    # Was: ValueError 'cannot reshape array of size 0 into shape (0)' out of backward.
    x = ag.Tensor(np.zeros(x_shape), requires_grad=True)
    k = ag.Tensor(np.zeros(k_shape), requires_grad=True)
    b = ag.Tensor(np.ones(k_shape[1]), requires_grad=True)
    out = ag.dense(x, k, b, activation="tanh")
    out.backward(np.ones(out.shape))
    assert x.grad.shape == x_shape and k.grad.shape == k_shape and b.grad.shape == b.shape


def test_var_backward_with_ddof_at_least_n_is_nan_like_forward():
    # Was: ZeroDivisionError out of the vjp.
    x = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        v = ag.var(x, ddof=2)
        v.backward()
    assert np.isinf(v.data) or np.isnan(v.data)
    assert x.grad.shape == (2,) and not np.all(np.isfinite(x.grad))


# --------------------------------------------------------------------------- numba cache
_KERNELS = ("import warnings, numpy as np\n"
            "warnings.simplefilter('always')\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    import autograd as ag\n"
            "    from autograd import kernels as K\n"
            "    p = np.ones(4); K.sgd_update(p, np.ones(4), None, 0.5)\n"
            "    y = ag.relu(ag.Tensor(np.array([-1.0, 2.0]))).data\n"
            "print(K.loaded(), p.tolist(), y.tolist(),"
            " sum('numba cache' in str(x.message) for x in w))\n")


def _run_numba(code, cwd, **env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "PYTHON"))}
    e.update(env, AUTOGRAD_KERNELS="numba", PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(cwd))
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          cwd=str(cwd), timeout=300)


def test_numba_without_any_writable_cache_location_works_and_says_so_once(tmp_path):
    # Really unwritable, even for root: every cache location lies under a regular file.
    import shutil
    shutil.copytree(os.path.join(ROOT, "autograd"), tmp_path / "autograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "autograd" / "kernels" / "__pycache__").write_text("a file, not a folder")
    (tmp_path / "blocker").write_text("")
    blocked = str(tmp_path / "blocker")
    r = _run_numba(_KERNELS, tmp_path, NUMBA_CACHE_DIR=blocked + "/numba",
                   HOME=blocked + "/home", XDG_CACHE_HOME=blocked + "/xdg")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "[0.5,", "0.5,", "0.5,", "0.5]", "[0.0,", "2.0]", "1"]


def test_numba_with_a_missing_cache_dir_creates_it_and_says_nothing(tmp_path):
    cache = tmp_path / "not" / "yet" / "there"
    r = _run_numba(_KERNELS, ROOT, NUMBA_CACHE_DIR=str(cache))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "0" and r.stdout.split()[0] == "True"
    assert any(cache.rglob("*.nbi"))


# --------------------------------------------------------------------------- error audit
def test_no_bare_builtin_errors_are_raised_by_the_library():
    """Every raise in autograd/ and nn/ uses a library error (an AutogradError that is also
    the builtin), so ``except ag.AutogradError`` catches everything the library says."""
    import re
    bare = re.compile(r"raise (ValueError|TypeError|IndexError|KeyError|RuntimeError|"
                      r"FloatingPointError|AssertionError)\(")
    found = []
    for pkg in ("autograd", "nn"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, pkg)):
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(dirpath, f)
                    with open(path) as fh:
                        for i, line in enumerate(fh, 1):
                            if bare.search(line):
                                found.append(f"{os.path.relpath(path, ROOT)}:{i}")
    assert not found, found


@pytest.mark.parametrize("call, builtin", [
    (lambda: len(ag.Tensor(1.0)), TypeError),
    (lambda: [1, 2][ag.Tensor(0.5)], TypeError),
    (lambda: ag.dense(np.ones((1, 2)), ag.Tensor(np.ones((2, 2))), activation="swish"), ValueError),
])
def test_misuse_of_the_tensor_api_is_a_library_error(call, builtin):
    with pytest.raises(ag.AutogradError) as info:
        call()
    assert isinstance(info.value, builtin)


def test_nn_argument_errors_are_library_errors():
    import nn
    for call in (lambda: nn.layers.Dense(0), lambda: nn.optimizers.SGD(learning_rate=-1),
                 lambda: nn.optimizers.get("nope"), lambda: nn.losses.get("nope"),
                 lambda: nn.metrics.get("nope"), lambda: nn.set_seed(-1),
                 lambda: nn.callbacks.EarlyStopping(patience=-1),
                 lambda: nn.datasets.make_moons(0)):
        with pytest.raises(ag.AutogradError) as info:
            call()
        assert isinstance(info.value, ValueError)
    with pytest.raises(ag.ArgumentTypeError):
        nn.optimizers.SGD([np.ones(3)])


# --------------------------------------------------------------------------- anomaly, off
def test_anomaly_checks_never_run_when_off(monkeypatch):
    """Off (the default), no primitive call or backward step scans its arrays for NaN/inf or
    looks up the caller's frame: the only cost is one attribute test."""
    from autograd import graph, registry

    def boom(*a, **k):
        raise AssertionError("an anomaly check ran while detect_anomaly was off")
    for mod in (graph, registry):
        monkeypatch.setattr(mod, "check_finite", boom)
        monkeypatch.setattr(mod, "user_frame", boom)
    w = ag.Tensor(np.ones((3, 2)), requires_grad=True)
    loss = ag.softmax_cross_entropy(ag.dense(np.ones((4, 3)), w, activation="relu"),
                                    np.array([0, 1, 0, 1]))
    loss = loss + ag.log(ag.Tensor(np.zeros(1))).sum() * 0.0      # a NaN passes silently
    loss.backward()
    assert np.isnan(loss.data) and w.grad is not None
    with pytest.raises(ag.AnomalyError), ag.detect_anomaly():
        monkeypatch.undo()
        ag.log(ag.Tensor(np.zeros(1)))
