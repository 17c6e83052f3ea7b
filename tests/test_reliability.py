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
