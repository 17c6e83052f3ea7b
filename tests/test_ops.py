"""Every primitive on hand-picked shapes: forward against numpy, gradient against central
finite differences computed here (float64), independently of autograd.gradcheck."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

rng = np.random.default_rng(1234)


def U(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def away(*shape, gap=0.2):
    """Values in [-2, 2] at least ``gap`` from 0 (for ops with a kink at 0)."""
    v = U(*shape)
    return np.where(np.abs(v) < gap, np.sign(v + 1e-12) * gap + v, v)


def fd_check(fn, arrays, eps=1e-6, atol=1e-6, rtol=1e-5):
    """Compare d<fn(x), v>/dx from backward with central differences, for every input."""
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*ts)
    v = rng.standard_normal(out.shape)
    out.backward(v)
    for k, a in enumerate(arrays):
        num = np.zeros_like(a)
        for j in np.ndindex(a.shape):
            plus = [x.copy() for x in arrays]; plus[k][j] += eps
            minus = [x.copy() for x in arrays]; minus[k][j] -= eps
            with ag.no_grad():
                fp = np.sum(fn(*map(Tensor, plus)).data * v)
                fm = np.sum(fn(*map(Tensor, minus)).data * v)
            num[j] = (fp - fm) / (2 * eps)
        assert ts[k].grad.shape == a.shape
        np.testing.assert_allclose(ts[k].grad, num, atol=atol, rtol=rtol, err_msg=f"input {k}")


CASES = {
    # name: (function of tensors, input arrays, numpy reference of the same function)
    "add_broadcast": (lambda a, b: a + b, [U(3, 1), U(4)], np.add),
    "subtract_0d": (lambda a, b: a - b, [U(), U(2, 3)], np.subtract),
    "multiply_size1": (lambda a, b: a * b, [U(2, 1, 3), U(1, 4, 1)], np.multiply),
    "divide": (lambda a, b: a / b, [U(3, 4), U(4, lo=0.5, hi=2)], np.divide),
    "negative": (lambda a: -a, [U(2, 2)], np.negative),
    "power_tensor_exponent": (lambda a, b: a ** b, [U(3, lo=0.5), U(2, 1)], np.power),
    "power_const": (lambda a: a ** 3, [U(4)], lambda a: a ** 3),
    "exp": (ag.exp, [U(2, 3)], np.exp),
    "log": (ag.log, [U(5, lo=0.3)], np.log),
    "sqrt": (ag.sqrt, [U(5, lo=0.3)], np.sqrt),
    "abs": (ag.abs, [away(6)], np.abs),
    "sin": (ag.sin, [U(3)], np.sin),
    "cos": (ag.cos, [U(3)], np.cos),
    "tanh": (ag.tanh, [U(3, 2)], np.tanh),
    "sigmoid": (ag.sigmoid, [U(4)], lambda x: 1 / (1 + np.exp(-x))),
    "relu": (ag.relu, [away(7)], lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: ag.leaky_relu(x, negative_slope=0.2), [away(7)],
                   lambda x: np.where(x > 0, x, 0.2 * x)),
    "clip": (lambda x: ag.clip(x, -1.0, 1.0), [np.array([-1.7, -0.5, 0.2, 0.9, 1.5])],
             lambda x: np.clip(x, -1, 1)),
    "maximum": (ag.maximum, [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.0, 1.0])], np.maximum),
    "minimum": (ag.minimum, [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.0, 1.0])], np.minimum),
    "where": (lambda a, b: ag.where(np.array([True, False, True]), a, b), [U(2, 3), U(3)],
              lambda a, b: np.where(np.array([True, False, True]), a, b)),
    "sum_all": (lambda x: x.sum(), [U(2, 3)], np.sum),
    "sum_neg_axis_keepdims": (lambda x: x.sum(axis=-1, keepdims=True), [U(2, 3)],
                              lambda x: x.sum(axis=-1, keepdims=True)),
    "sum_tuple_axis": (lambda x: x.sum(axis=(0, 2)), [U(2, 3, 4)], lambda x: x.sum(axis=(0, 2))),
    "sum_0d": (lambda x: x.sum(), [U()], np.sum),
    "mean": (lambda x: x.mean(axis=1), [U(3, 4)], lambda x: x.mean(axis=1)),
    "mean_keepdims": (lambda x: x.mean(axis=(-1, 0), keepdims=True), [U(2, 3)],
                      lambda x: x.mean(axis=(-1, 0), keepdims=True)),
    "max_axis": (lambda x: x.max(axis=0), [U(3, 4)], lambda x: x.max(axis=0)),
    "min_all": (lambda x: x.min(), [U(3, 4)], np.min),
    "max_size1_axis": (lambda x: x.max(axis=1, keepdims=True), [U(3, 1)],
                       lambda x: x.max(axis=1, keepdims=True)),
    "var": (lambda x: x.var(axis=0), [U(4, 3)], lambda x: x.var(axis=0)),
    "var_ddof": (lambda x: ag.var(x, axis=-1, ddof=1), [U(2, 5)], lambda x: x.var(axis=-1, ddof=1)),
    "reshape": (lambda x: x.reshape(3, -1), [U(2, 3, 2)], lambda x: x.reshape(3, -1)),
    "transpose_axes": (lambda x: x.transpose(1, 2, 0), [U(2, 3, 4)], lambda x: x.transpose(1, 2, 0)),
    "T": (lambda x: x.T, [U(2, 3)], lambda x: x.T),
    "expand_dims": (lambda x: ag.expand_dims(x, (0, -1)), [U(3)], lambda x: np.expand_dims(x, (0, -1))),
    "squeeze": (lambda x: ag.squeeze(x, 1), [U(3, 1, 2)], lambda x: np.squeeze(x, 1)),
    "broadcast_to": (lambda x: ag.broadcast_to(x, (2, 3, 4)), [U(3, 1)],
                     lambda x: np.broadcast_to(x, (2, 3, 4))),
    "getitem_basic": (lambda x: x[1:, None, ..., ::2], [U(3, 4)], lambda x: x[1:, None, ..., ::2]),
    "getitem_int": (lambda x: x[-1, 2], [U(3, 4)], lambda x: x[-1, 2]),
    "getitem_repeated_fancy": (lambda x: x[np.array([0, 0, 2, 0])], [U(3, 2)],
                               lambda x: x[np.array([0, 0, 2, 0])]),
    "getitem_fancy_2d": (lambda x: x[np.array([1, 1]), np.array([0, 0])], [U(2, 3)],
                         lambda x: x[np.array([1, 1]), np.array([0, 0])]),
    "getitem_mask": (lambda x: x[np.array([True, False, True])], [U(3, 2)],
                     lambda x: x[np.array([True, False, True])]),
    "concatenate": (lambda a, b: ag.concatenate([a, b], axis=-1), [U(2, 3), U(2, 1)],
                    lambda a, b: np.concatenate([a, b], axis=-1)),
    "stack": (lambda a, b: ag.stack([a, b], axis=1), [U(2, 3), U(2, 3)],
              lambda a, b: np.stack([a, b], axis=1)),
    "matmul_2d": (ag.matmul, [U(3, 4), U(4, 2)], np.matmul),
    "matmul_vec_mat": (ag.matmul, [U(4), U(4, 3)], np.matmul),
    "matmul_mat_vec": (ag.matmul, [U(2, 4), U(4)], np.matmul),
    "matmul_vec_vec": (ag.matmul, [U(4), U(4)], np.matmul),
    "matmul_batched_broadcast": (ag.matmul, [U(2, 1, 3, 4), U(5, 4, 2)], np.matmul),
    "matmul_vec_batched": (ag.matmul, [U(4), U(2, 4, 3)], np.matmul),
    "softmax": (lambda x: ag.softmax(x), [U(3, 4)],
                lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    "softmax_axis0": (lambda x: ag.softmax(x, axis=0), [U(3, 4)],
                      lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True)),
    "log_softmax": (lambda x: ag.log_softmax(x), [U(2, 5)],
                    lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
    "logsumexp_all": (lambda x: ag.logsumexp(x), [U(2, 3)], lambda x: np.log(np.exp(x).sum())),
    "logsumexp_axis_keepdims": (lambda x: ag.logsumexp(x, axis=0, keepdims=True), [U(2, 3)],
                                lambda x: np.log(np.exp(x).sum(0, keepdims=True))),
    "gelu": (ag.gelu, [U(6)],
             lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
}


# Issue 13's primitives (normalization, dropout, embedding, recurrent), against numpy written
# here: two-pass statistics, the gate equations (Keras layouts).
def _bn_train_np(x, g, b):
    mu = x.mean(0)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(0) + 1e-3) * g + b


def _ln_np(x, g, b):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-3) * g + b


def _sg(v):
    return 1 / (1 + np.exp(-v))


def _lstm_np(x, h, c, k, r, b):
    u, out = r.shape[0], []
    for t in range(x.shape[1]):
        z = x[:, t] @ k + h @ r + b
        c = _sg(z[:, u:2 * u]) * c + _sg(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
        h = _sg(z[:, 3 * u:]) * np.tanh(c)
        out.append(np.concatenate([h, c], 1))
    return np.stack(out, 1)


def _gru_np(x, h, k, r, b):
    u, out = r.shape[0], []
    for t in range(x.shape[1]):
        xw, rh = x[:, t] @ k + b[0], h @ r + b[1]
        z, rr = _sg(xw[:, :u] + rh[:, :u]), _sg(xw[:, u:2 * u] + rh[:, u:2 * u])
        hh = np.tanh(xw[:, 2 * u:] + rr * rh[:, 2 * u:])
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.stack(out, 1)


def _rnn_np(x, h, k, r, b):
    out = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ k + h @ r + b)
        out.append(h)
    return np.stack(out, 1)


KEEP = np.array([[2.0, 0.0, 2.0], [0.0, 2.0, 2.0]])
IDS = np.array([[0, 2, 2], [3, 0, 1]])
MASK = np.array([[True, False, True], [True, True, False]])
CASES.update({
    "batch_norm_training": (lambda x, g, b: ag.batch_norm(x, g, b, None, None, training=True),
                            [U(6, 3), U(3), U(3)], _bn_train_np),
    "batch_norm_inference_axis1": (
        lambda x, g, b, m, v: ag.batch_norm(x, g, b, m, v, axis=1),
        [U(4, 3, 2), U(3), U(3), U(3), U(3, lo=0.5, hi=2.0)],
        lambda x, g, b, m, v: (x - m[:, None]) / np.sqrt(v[:, None] + 1e-3) * g[:, None]
        + b[:, None]),
    "layer_norm": (ag.layer_norm, [U(3, 5), U(5), U(5)], _ln_np),
    "dropout_mask": (lambda x: ag.OPS["dropout"](x, keep=KEEP), [U(2, 3)], lambda x: x * KEEP),
    "embedding_repeated_ids": (lambda t: ag.embedding(IDS, t), [U(4, 2)], lambda t: t[IDS]),
    "lstm": (ag.lstm, [U(2, 3, 2), U(2, 2), U(2, 2), U(2, 8), U(2, 8), U(8)], _lstm_np),
    "lstm_cell": (ag.lstm_cell, [U(2, 2), U(2, 2), U(2, 2), U(2, 8), U(2, 8), U(8)],
                  lambda x, *a: _lstm_np(x[:, None], *a)[:, 0]),
    "gru": (ag.gru, [U(2, 3, 2), U(2, 2), U(2, 6), U(2, 6), U(2, 6)], _gru_np),
    "gru_cell": (ag.gru_cell, [U(2, 2), U(2, 2), U(2, 6), U(2, 6), U(2, 6)],
                 lambda x, *a: _gru_np(x[:, None], *a)[:, 0]),
    "simple_rnn": (ag.simple_rnn, [U(2, 3, 2), U(2, 2), U(2, 2), U(2, 2), U(2)], _rnn_np),
    "rnn_cell": (ag.rnn_cell, [U(2, 2), U(2, 2), U(2, 2), U(2, 2), U(2)],
                 lambda x, *a: _rnn_np(x[:, None], *a)[:, 0]),
    "simple_rnn_masked": (lambda x, h, k, r, b: ag.simple_rnn(x, h, k, r, b, mask=MASK),
                          [U(2, 3, 2), U(2, 2), U(2, 2), U(2, 2), U(2)],
                          lambda x, h, k, r, b: np.stack([_rnn_np(x[i:i + 1, MASK[i]], h[i:i + 1],
                                                                  k, r, b)[0, np.cumsum(MASK[i]) - 1]
                                                          for i in range(2)])),
})
SEQ_COVERED = {"batch_norm", "layer_norm", "dropout", "embedding", "lstm", "lstm_cell", "gru",
               "gru_cell", "simple_rnn", "rnn_cell"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_numpy_and_gradient_matches_finite_differences(name):
    fn, arrays, ref = CASES[name]
    out = fn(*map(Tensor, arrays))
    np.testing.assert_allclose(out.data, ref(*arrays), rtol=1e-12, atol=1e-12)
    fd_check(fn, arrays)


def test_every_library_primitive_has_a_hand_picked_case():
    covered = {"add", "subtract", "multiply", "divide", "negative", "power", "exp", "log", "sqrt",
               "abs", "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "clip", "maximum",
               "minimum", "where", "sum", "mean", "max", "min", "var", "reshape", "transpose",
               "expand_dims", "squeeze", "broadcast_to", "getitem", "concatenate", "stack",
               "matmul", "softmax", "log_softmax", "logsumexp", "gelu",
               # covered in their own tests below / in test_fused.py:
               "scatter_add", "astype", "identity", "dense", "softmax_cross_entropy",
               "sigmoid_binary_cross_entropy",
               "dense_chain",     # hand-computed in tests/test_eager_step_bitwise.py
               # autograd.numpy's: hand-picked in tests/test_numpy_ops.py
               "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
               "arctanh", "log2", "log10", "log1p", "expm1", "exp2", "reciprocal", "cbrt",
               "rad2deg", "deg2rad", "sinc", "sign", "floor", "ceil", "trunc", "fix", "rint",
               "round", "nan_to_num", "arctan2", "hypot", "logaddexp", "logaddexp2", "fmax",
               "fmin", "mod", "fmod", "prod", "cumsum", "cumprod", "einsum",
               # linalg: hand-derived values and PyTorch's gradients in tests/test_decomp.py
               "inv", "pinv", "solve", "det", "slogdet_logabsdet", "norm", "cholesky",
               "eigh_packed", "eig_packed", "svd_packed", "svdvals", "qr_packed",
               "lstsq_solution",
               # complex helpers: hand-derived values in tests/test_complex.py
               "real", "imag", "conj", "angle",
               # FFT: numpy's values, Parseval and PyTorch's gradients in tests/test_fft.py
               "fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn",
               "ifftn", "rfftn", "irfftn"}
    covered |= SEQ_COVERED
    covered |= {"conv1d", "conv2d", "conv2d_transpose", "conv2d_kernel_grad", "max_pool1d",
                "max_pool2d", "avg_pool1d", "avg_pool2d"}     # test_conv_and_pool_gradients
    lib = {n for n, p in ag.OPS.items() if p.library}
    assert lib <= covered, f"primitives without a hand-picked test: {sorted(lib - covered)}"


def test_scatter_add_astype_identity():
    fd_check(lambda g: ag.scatter_add(g, np.array([0, 2, 0]), (4,)), [U(3)])
    z = ag.scatter_add(Tensor(np.ones(3)), np.array([0, 2, 0]), (4,))
    np.testing.assert_array_equal(z.data, [2, 0, 1, 0])
    fd_check(lambda x: ag.identity(x) * 2, [U(3)])
    x = Tensor(np.ones(2), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2, 2])


@pytest.mark.parametrize("fn", [ag.softmax, ag.log_softmax, lambda x: ag.logsumexp(x, axis=-1)])
def test_softmax_family_is_stable_at_1000(fn):
    x = Tensor(np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]]), requires_grad=True)
    out = fn(x)
    assert np.all(np.isfinite(out.data))
    out.backward(np.ones(out.shape))
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(ag.logsumexp(Tensor([1000.0, 1000.0])).item(), 1000 + np.log(2))


def test_max_ties_split_the_gradient():
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0, 0.5, 0.5])


def test_relu_gradient_at_zero_is_zero():
    x = Tensor([0.0], requires_grad=True)
    ag.relu(x).sum().backward()
    assert x.grad[0] == 0.0


def test_ops_accept_plain_arrays_and_return_arrays():
    # the same functions run on ndarrays (this is how vjps are written)
    out = ag.exp(np.array([0.0, 1.0]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, np.exp([0.0, 1.0]))


def test_conv_and_pool_gradients():
    """conv1d/conv2d/conv2d_transpose/conv2d_kernel_grad and the pools, by central differences
    (forwards against the definition are in test_kernels_conv.py)."""
    fd_check(lambda x, k, b: ag.conv2d(x, k, b, strides=(2, 1), padding="same", groups=2),
             [U(2, 5, 4, 4), U(3, 2, 2, 4), U(4)])
    fd_check(lambda x, k: ag.conv1d(x, k, padding="causal", dilation=2), [U(2, 6, 3), U(2, 3, 2)])
    fd_check(lambda x, k: ag.conv2d_transpose(x, k, strides=2, padding="same"),
             [U(1, 3, 2, 2), U(3, 3, 3, 2)])
    fd_check(lambda x, g: ag.conv2d_kernel_grad(x, g, kernel_shape=(2, 2, 2, 3)),
             [U(1, 4, 3, 2), U(1, 3, 2, 3)])
    x = np.arange(2 * 5 * 4 * 3, dtype=float).reshape(2, 5, 4, 3)
    x = rng.permutation(x.ravel()).reshape(x.shape) / 10.0       # distinct: no ties
    fd_check(lambda x: ag.max_pool2d(x, (2, 3), strides=1, padding="same"), [x])
    fd_check(lambda x: ag.avg_pool2d(x, 2, padding="same"), [x])
    fd_check(lambda x: ag.max_pool1d(x, 3, strides=2), [x[0]])
    fd_check(lambda x: ag.avg_pool1d(x, 2, padding="same"), [x[0]])
