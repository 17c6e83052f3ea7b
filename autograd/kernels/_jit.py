"""The numba kernels.  Imported only by ``autograd.kernels._load`` (never by ``import autograd``).

Every kernel is a plain function ``_name`` jitted at module level as ``name`` with
``cache=True`` (numba compiles on first call, per signature).  Kernels take C-contiguous
arrays of one float dtype (float32 or float64): the dispatcher validates, converts and
flattens before calling, so each kernel compiles for at most two signatures.  Elementwise
kernels take 1-d arrays (a C-contiguous array flattened is a view); the ``_par`` forms split
the loop over numba's thread pool (``prange``) and are used above measured sizes only.

Activation codes (``kind``): 0 identity, 1 relu, 2 sigmoid, 3 tanh, 4 leaky_relu, 5 gelu.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

_C = math.sqrt(2.0 / math.pi)
_A = 0.044715

# error_model="numpy": a float division by zero gives inf/NaN, as in the numpy twins, instead
# of numba's default Python model, which tests every divisor and raises ZeroDivisionError;
# that branch keeps a loop from being vectorized (Adam's update ran one element at a time)
_jit = nb.njit(cache=True, fastmath=False, nogil=True, error_model="numpy")
_pjit = nb.njit(cache=True, fastmath=False, nogil=True, parallel=True, error_model="numpy")


# ----------------------------------------------------------------------------- activations
def _act(x, y, kind, slope, lo, hi):
    """y[i] = act(x[i]) for i in [lo, hi); y may be x (in place)."""
    if kind == 1:
        for i in range(lo, hi):
            v = x[i]
            y[i] = v if v > 0 or v != v else 0.0     # NaN stays NaN; -inf gives 0 (np.maximum)
    elif kind == 2:
        for i in range(lo, hi):
            y[i] = 0.5 * (1.0 + math.tanh(0.5 * x[i]))
    elif kind == 3:
        for i in range(lo, hi):
            y[i] = math.tanh(x[i])
    elif kind == 4:
        for i in range(lo, hi):
            v = x[i]
            y[i] = v if v > 0 else v * slope
    elif kind == 5:
        for i in range(lo, hi):
            v = x[i]
            y[i] = 0.5 * v * (1.0 + math.tanh(_C * (v + _A * v * v * v)))
    else:
        for i in range(lo, hi):
            y[i] = x[i]


def _act_grad(g, a, gx, kind, slope, lo, hi):
    """gx = g * act'(.): ``a`` is the input x for relu, leaky_relu and gelu, the output y
    for sigmoid (y (1 - y)) and tanh (1 - y^2)."""
    if kind == 1:
        for i in range(lo, hi):
            gx[i] = g[i] if a[i] > 0 else 0.0 * g[i]
    elif kind == 2:
        for i in range(lo, hi):
            y = a[i]
            gx[i] = g[i] * (y * (1.0 - y))
    elif kind == 3:
        for i in range(lo, hi):
            y = a[i]
            gx[i] = g[i] * (1.0 - y * y)
    elif kind == 4:
        for i in range(lo, hi):
            gx[i] = g[i] if a[i] > 0 else g[i] * slope
    elif kind == 5:
        for i in range(lo, hi):
            v = a[i]
            if v > 10.0:                        # the slope is 0 or 1 beyond (no inf * 0);
                v = 10.0                        # NaN stays NaN
            elif v < -10.0:
                v = -10.0
            v2 = v * v
            t = math.tanh((v + v2 * v * _A) * _C)
            gx[i] = g[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * (_C * (1.0 + 3.0 * _A * v2)))
    else:
        for i in range(lo, hi):
            gx[i] = g[i]


_act_j = _jit(_act)
_act_grad_j = _jit(_act_grad)


def _activation(x, y, kind, slope):
    _act_j(x, y, kind, slope, 0, x.size)


def _activation_par(x, y, kind, slope):
    n = x.size
    nch = nb.get_num_threads() * 4
    step = (n + nch - 1) // nch
    for c in nb.prange(nch):
        _act_j(x, y, kind, slope, c * step, min(n, (c + 1) * step))


def _activation_grad(g, a, gx, kind, slope):
    _act_grad_j(g, a, gx, kind, slope, 0, g.size)


def _activation_grad_par(g, a, gx, kind, slope):
    n = g.size
    nch = nb.get_num_threads() * 4
    step = (n + nch - 1) // nch
    for c in nb.prange(nch):
        _act_grad_j(g, a, gx, kind, slope, c * step, min(n, (c + 1) * step))


# The two chunked prange forms call another jitted function from a parallel loop, which
# numba cannot cache ("uses dynamic globals": it warned at every first call); they are
# compiled per process without trying (never used in auto: ACT_PAR_MIN, only by
# benchmarks/kernels.py and the tests).
_pjit_nocache = nb.njit(cache=False, fastmath=False, nogil=True, parallel=True,
                         error_model="numpy")

activation = _jit(_activation)
activation_par = _pjit_nocache(_activation_par)
activation_grad = _jit(_activation_grad)
activation_grad_par = _pjit_nocache(_activation_grad_par)


# ----------------------------------------------------------------------------- dense
def _bias_act(z, b, has_bias, kind, slope):
    """In place on z (rows, units): z = act(z + b), one pass, row by row."""
    for r in range(z.shape[0]):
        row = z[r]
        if has_bias:
            for j in range(row.size):
                row[j] += b[j]
        _act_j(row, row, kind, slope, 0, row.size)


def _bias_act_par(z, b, has_bias, kind, slope):
    for r in nb.prange(z.shape[0]):
        row = z[r]
        if has_bias:
            for j in range(row.size):
                row[j] += b[j]
        _act_j(row, row, kind, slope, 0, row.size)


def _dense_grad_z(g, a, gz, gb, want_gb, kind, slope):
    """gz = g * act'(a) (a: the output, or the pre-activation for gelu) and, if want_gb,
    gb = column sums of gz, in one pass over the rows."""
    if want_gb:
        for j in range(gb.size):
            gb[j] = 0.0
    for r in range(g.shape[0]):
        _act_grad_j(g[r], a[r], gz[r], kind, slope, 0, g.shape[1])
        if want_gb:
            row = gz[r]
            for j in range(row.size):
                gb[j] += row[j]


bias_act = _jit(_bias_act)
bias_act_par = _pjit(_bias_act_par)
dense_grad_z = _jit(_dense_grad_z)


# ----------------------------------------------------------------------------- matmul
def _matmul(a, b, c, lo, hi):
    """c[lo:hi] = a[lo:hi] @ b; i-k-j order, k blocked so a block of b stays in cache."""
    k_dim = a.shape[1]
    n = b.shape[1]
    kb = 256
    for i in range(lo, hi):
        for j in range(n):
            c[i, j] = 0.0
    for k0 in range(0, k_dim, kb):
        k1 = min(k_dim, k0 + kb)
        for i in range(lo, hi):
            ci = c[i]
            for k in range(k0, k1):
                aik = a[i, k]
                bk = b[k]
                for j in range(n):
                    ci[j] += aik * bk[j]


_matmul_j = _jit(_matmul)


def _gemm(a, b, c):
    _matmul_j(a, b, c, 0, a.shape[0])


def _gemm_par(a, b, c):
    """c = a @ b, rows split over the thread pool."""
    m, k_dim = a.shape
    n = b.shape[1]
    for i in nb.prange(m):
        ci = c[i]
        for j in range(n):
            ci[j] = 0.0
        for k in range(k_dim):
            aik = a[i, k]
            bk = b[k]
            for j in range(n):
                ci[j] += aik * bk[j]


gemm = _jit(_gemm)
gemm_par = _pjit(_gemm_par)


# ----------------------------------------------------------------------------- softmax-xent
def _xent_sparse(z, labels, gl, scale, want_grad):
    """Sum over rows of logsumexp(z_r) - z_r[label_r]; with want_grad also
    gl = (softmax(z) - onehot) * scale.  Stable: each row shifted by its max."""
    total = 0.0
    for r in range(z.shape[0]):
        row = z[r]
        m = np.float64(row[0])      # float64 from here on: z - max overflows float32 near 3e38
        for j in range(1, row.size):
            if row[j] > m:
                m = np.float64(row[j])
        s = 0.0
        for j in range(row.size):
            s += math.exp(row[j] - m)
        lse = math.log(s)
        total += lse - (row[labels[r]] - m)
        if want_grad:
            out = gl[r]
            inv = scale / s
            for j in range(row.size):
                out[j] = math.exp(row[j] - m) * inv
            out[labels[r]] -= scale
    return total


def _xent_dense(z, t, gl, gt, scale, want_grad, want_gt):
    """Sum over rows of lse(z_r) sum_c t_rc - sum_c t_rc (z_rc - max); with want_grad
    gl = (softmax(z) sum(t) - t) scale and, if want_gt, gt = (lse - z) scale."""
    total = 0.0
    for r in range(z.shape[0]):
        row = z[r]
        tr = t[r]
        m = row[0]
        for j in range(1, row.size):
            if row[j] > m:
                m = row[j]
        s = 0.0
        tsum = 0.0
        tz = 0.0
        for j in range(row.size):
            s += math.exp(row[j] - m)
            tsum += tr[j]
            tz += tr[j] * (row[j] - m)
        lse = math.log(s)
        total += lse * tsum - tz
        if want_grad:
            out = gl[r]
            k = tsum / s
            for j in range(row.size):
                out[j] = (math.exp(row[j] - m) * k - tr[j]) * scale
            if want_gt:
                o2 = gt[r]
                for j in range(row.size):
                    o2[j] = (lse - (row[j] - m)) * scale
    return total


def _bce(z, t, gz, gt, scale, want_grad, want_gt):
    """Sum of max(z,0) - z t + log1p(exp(-|z|)); with want_grad gz = (sigmoid(z) - t) scale
    and, if want_gt, gt = -z scale."""
    total = 0.0
    for i in range(z.size):
        v = np.float64(z[i])        # float64: |z| (1 + |t|) overflows float32 near 3e38
        total += max(v, 0.0) - v * t[i] + math.log1p(math.exp(-abs(v)))
        if want_grad:
            gz[i] = (0.5 * (1.0 + math.tanh(0.5 * v)) - t[i]) * scale
            if want_gt:
                gt[i] = -v * scale
    return total


xent_sparse = _jit(_xent_sparse)
xent_dense = _jit(_xent_dense)
bce = _jit(_bce)


# ----------------------------------------------------------------------------- optimizers
# The updates compute in the parameter's dtype: every hyperparameter is first rounded to it
# (numpy's reading of a Python float beside a float32 array, NEP 50) and every operation
# rounds to it, in the numpy twin's order (``optim.py``), so a kernel gives the twin's bits
# and the dispatcher's choice never changes a trained model.  (float32 lanes also hold
# twice as many elements as float64 ones.)


def _sgd_update(p, g, v, lr, momentum, nesterov, weight_decay):
    """In place, 1-d: g' = g + wd p;  v = mu v + g';  p -= lr (g' + mu v if nesterov else v)."""
    t = p.dtype.type
    lr_, mu, wd = t(lr), t(momentum), t(weight_decay)
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0.0:
            gi = gi + wd * p[i]
        if momentum != 0.0:
            vi = v[i] * mu + gi
            v[i] = vi
            if nesterov:
                gi = gi + mu * vi
            else:
                gi = vi
        p[i] = p[i] - lr_ * gi


def _adam_update(p, g, m, v, lr, beta_1, beta_2, epsilon, weight_decay, decoupled, bc1, bc2):
    """In place, 1-d: Adam / AdamW (see optim.adam_update_np); bc1, bc2 = 1 - beta^step."""
    t = p.dtype.type
    lr_, b1, b2, c1, c2 = t(lr), t(beta_1), t(beta_2), t(1.0 - beta_1), t(1.0 - beta_2)
    eps, wd, lwd, d1, d2 = t(epsilon), t(weight_decay), t(lr * weight_decay), t(bc1), t(bc2)
    for i in range(p.size):
        pi = p[i]
        gi = g[i]
        if weight_decay != 0.0:
            if decoupled:
                pi = pi - lwd * pi
            else:
                gi = gi + wd * pi
        mi = m[i] * b1 + c1 * gi
        vi = v[i] * b2 + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] = pi - lr_ * (mi / d1) / (np.sqrt(vi / d2) + eps)


def _rmsprop_update(p, g, v, lr, rho, epsilon, weight_decay):
    """In place, 1-d: g' = g + wd p;  v = rho v + (1 - rho) g'^2;  p -= lr g' / (sqrt(v) + eps)."""
    t = p.dtype.type
    lr_, r, c, eps, wd = t(lr), t(rho), t(1.0 - rho), t(epsilon), t(weight_decay)
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0.0:
            gi = gi + wd * p[i]
        vi = v[i] * r + c * (gi * gi)
        v[i] = vi
        p[i] = p[i] - lr_ * gi / (np.sqrt(vi) + eps)


def _adagrad_update(p, g, acc, lr, epsilon, weight_decay):
    """In place, 1-d: g' = g + wd p;  acc += g'^2;  p -= lr g' / (sqrt(acc) + eps)."""
    t = p.dtype.type
    lr_, eps, wd = t(lr), t(epsilon), t(weight_decay)
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0.0:
            gi = gi + wd * p[i]
        ai = acc[i] + gi * gi
        acc[i] = ai
        p[i] = p[i] - lr_ * gi / (np.sqrt(ai) + eps)


def _adadelta_update(p, g, v, u, lr, rho, epsilon, weight_decay):
    """In place, 1-d: g' = g + wd p;  v = rho v + (1 - rho) g'^2;
    d = sqrt(u + eps) / sqrt(v + eps) g';  u = rho u + (1 - rho) d^2;  p -= lr d."""
    t = p.dtype.type
    lr_, r, c, eps, wd = t(lr), t(rho), t(1.0 - rho), t(epsilon), t(weight_decay)
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0.0:
            gi = gi + wd * p[i]
        vi = v[i] * r + c * (gi * gi)
        v[i] = vi
        d = np.sqrt(u[i] + eps) / np.sqrt(vi + eps) * gi
        u[i] = u[i] * r + c * (d * d)
        p[i] = p[i] - lr_ * d


def _adamax_update(p, g, m, u, lr_bc, beta_1, beta_2, epsilon, weight_decay):
    """In place, 1-d: g' = g + wd p;  m = b1 m + (1 - b1) g';  u = max(b2 u, |g'| + eps);
    p -= lr_bc m / u, with lr_bc = lr / (1 - b1^step); u keeps a NaN (np.maximum's)."""
    t = p.dtype.type
    k, b1, c1, b2, eps, wd = t(lr_bc), t(beta_1), t(1.0 - beta_1), t(beta_2), t(epsilon), \
        t(weight_decay)
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0.0:
            gi = gi + wd * p[i]
        mi = m[i] * b1 + c1 * gi
        m[i] = mi
        a = b2 * u[i]
        b = np.abs(gi) + eps
        ui = a if a >= b or a != a else b
        u[i] = ui
        p[i] = p[i] - k * mi / ui


def _nadam_update(p, g, m, v, k_g, k_m, beta_1, beta_2, epsilon, weight_decay, bc2):
    """In place, 1-d: g' = g + wd p;  m, v as Adam's;  den = sqrt(v / bc2) + eps;
    p -= k_g g' / den;  p -= k_m m / den (two roundings, as the twin), with
    k_g = lr (1 - mu_t) / (1 - mu_prod), k_m = lr mu_next / (1 - mu_prod mu_next)."""
    t = p.dtype.type
    kg, km, b1, c1, b2, c2 = t(k_g), t(k_m), t(beta_1), t(1.0 - beta_1), t(beta_2), \
        t(1.0 - beta_2)
    eps, wd, d2 = t(epsilon), t(weight_decay), t(bc2)
    for i in range(p.size):
        gi = g[i]
        if weight_decay != 0.0:
            gi = gi + wd * p[i]
        mi = m[i] * b1 + c1 * gi
        vi = v[i] * b2 + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        den = np.sqrt(vi / d2) + eps
        pi = p[i] - kg * gi / den
        p[i] = pi - km * mi / den


def _lion_update(p, g, m, lr, beta_1, beta_2, weight_decay):
    """In place, 1-d: p -= lr wd p;  p -= lr sign(b1 m + (1 - b1) g);  m = b2 m + (1 - b2) g."""
    t = p.dtype.type
    lr_, lwd, b1, c1, b2, c2 = t(lr), t(lr * weight_decay), t(beta_1), t(1.0 - beta_1), \
        t(beta_2), t(1.0 - beta_2)
    one, zero = t(1.0), t(0.0)
    for i in range(p.size):
        pi = p[i]
        if weight_decay != 0.0:
            pi = pi - lwd * pi
        mi = m[i]
        gi = g[i]
        c = mi * b1 + c1 * gi
        s = one if c > zero else (-one if c < zero else (zero if c == zero else c))
        p[i] = pi - lr_ * s
        m[i] = mi * b2 + c2 * gi


def _subtract_scaled(p, g, c):
    """In place, 1-d, one dtype (c a scalar of p's dtype): p = p - c g, each product
    rounded to the dtype before the subtraction, as numpy's ``p -= c * g`` rounds."""
    for i in range(p.size):
        p[i] = p[i] - c * g[i]


sgd_update = _jit(_sgd_update)
subtract_scaled = _jit(_subtract_scaled)
adam_update = _jit(_adam_update)
rmsprop_update = _jit(_rmsprop_update)
adagrad_update = _jit(_adagrad_update)
adadelta_update = _jit(_adadelta_update)
adamax_update = _jit(_adamax_update)
nadam_update = _jit(_nadam_update)
lion_update = _jit(_lion_update)
