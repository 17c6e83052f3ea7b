"""autograd.numpy.fft's transforms: values equal to numpy's for every n/s/axes/norm, gradients
against finite differences (real and complex inputs, odd and even lengths, padding and
truncation, repeated axes), against PyTorch's (conjugated: PyTorch reports the conjugate of
HIPS's and JAX's convention), and second order.  The registry sweep draws them too."""
import numpy as np
import pytest

import autograd as ag
import autograd.numpy as anp
from autograd import Tensor, gradcheck, gradgradcheck

R = np.random.default_rng(7)
NORMS = [None, "backward", "ortho", "forward"]
ONE_D = ["fft", "ifft", "rfft", "irfft"]
N_D = ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn"]


def _x(shape, name):
    x = R.normal(size=shape)
    if name.startswith(("fft", "ifft", "irfft")):     # complex input where numpy takes it
        x = x + 1j * R.normal(size=shape)
    return x


def _t(x):
    return Tensor(x, requires_grad=True)


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("n", [None, 3, 4, 7, 8])
@pytest.mark.parametrize("norm", NORMS)
def test_one_d_values_match_numpy(name, n, norm):
    for shape, axis in (((5,), -1), ((6, 5), 0), ((2, 3, 4), 1)):
        x = _x(shape, name)
        got = getattr(anp.fft, name)(_t(x), n=n, axis=axis, norm=norm)
        want = getattr(np.fft, name)(x, n=n, axis=axis, norm=norm)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("s,axes", [(None, None), ((3, 4), (0, 2)), ((5, 2), (-1, 0)),
                                    ((4, 4), (1, 1)), (None, (2, 0))])
def test_n_d_values_match_numpy(name, s, axes):
    x = _x((4, 3, 5), name)
    kw = {} if axes is None else {"axes": axes}
    if s is not None:
        kw["s"] = s
    got = getattr(anp.fft, name)(_t(x), norm="ortho", **kw)
    want = getattr(np.fft, name)(x, norm="ortho", **kw)
    np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("length", [4, 5])
@pytest.mark.parametrize("n", [None, "smaller", "bigger"])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_one_d_gradients(name, length, n, norm):
    x = _x((3, length), name)
    nn = {None: None, "smaller": length - 2, "bigger": length + 3}[n]
    f = getattr(anp.fft, name)
    assert gradcheck(lambda a: f(a, n=nn, norm=norm), _t(x))
    assert gradcheck(lambda a: f(a, n=nn, axis=0, norm=norm), _t(x))


@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("s,axes", [(None, None), ((5, 3), (0, 2)), ((2, 6), (2, 1)),
                                    ((3, 5), (1, 1))])
def test_n_d_gradients(name, s, axes):
    x = _x((3, 4, 5), name) / 3
    kw = {} if axes is None else {"axes": axes}
    if s is not None:
        kw["s"] = s
    f = getattr(anp.fft, name)
    assert gradcheck(lambda a: f(a, **kw), _t(x))


@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "ifft2", "rfftn", "irfftn"])
def test_second_order(name):
    x = _x((3, 5), name) / 2
    f = getattr(anp.fft, name)
    assert gradgradcheck(lambda a: f(a, norm="ortho") ** 2, _t(x))


def test_real_input_gets_a_real_gradient_and_known_values():
    # sum |fft(x)|^2 = n sum x^2 (Parseval), so its gradient is 2 n x
    x = R.normal(size=6)
    g = ag.grad(lambda a: anp.sum(anp.abs(anp.fft.fft(a)) ** 2))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 12 * x, rtol=1e-12)
    # the real part of the DC term of rfft is sum(x): gradient ones
    g = ag.grad(lambda a: anp.real(anp.fft.rfft(a)[0]))(x)
    np.testing.assert_allclose(g, np.ones(6), rtol=1e-12)


def test_hips_convention_complex_gradient():
    # f(z) = |fft(z)_1|^2 with z complex: HIPS's / JAX's gradient is the conjugate of
    # df/dRe z + i df/dIm z, i.e. df/dRe z - i df/dIm z; check it against finite differences
    z = R.normal(size=4) + 1j * R.normal(size=4)

    def f(a):
        return anp.abs(anp.fft.fft(a)[1]) ** 2
    g = ag.grad(f)(z)
    eps = 1e-6
    for k in range(4):
        e = np.zeros(4)
        e[k] = eps
        dre = (f(z + e) - f(z - e)) / (2 * eps)
        dim = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        np.testing.assert_allclose(g[k], dre - 1j * dim, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,shape,kw", [
    ("fft", (3, 5), {"n": 7}), ("ifft", (4, 6), {"axis": 0, "norm": "ortho"}),
    ("rfft", (3, 7), {"n": 5}), ("irfft", (2, 5), {"n": 9}), ("irfft", (2, 5), {}),
    ("fft2", (3, 4), {"s": (5, 2)}), ("rfftn", (3, 4, 5), {"norm": "forward"}),
    ("irfftn", (3, 4, 4), {"s": (4, 3, 7), "axes": (0, 1, 2)}), ("irfft2", (4, 3), {"norm": "ortho"}),
])
def test_gradients_match_pytorch_conjugated(name, shape, kw):
    torch = pytest.importorskip("torch")
    x = _x(shape, name)
    w = R.normal(size=getattr(np.fft, name)(x, **kw).shape)

    def loss(a):
        y = getattr(anp.fft, name)(a, **kw)
        return anp.sum(anp.abs(y) ** 2 * w) if np.iscomplexobj(y.data if hasattr(y, "data")
                                                                else y) else anp.sum(y * w)
    ours = ag.grad(loss)(x)
    tx = torch.tensor(x, requires_grad=True)
    tkw = {("dim" if k in ("axis", "axes") else k): v for k, v in kw.items()}
    y = getattr(torch.fft, name)(tx, **tkw)
    tw = torch.tensor(w)
    (torch.sum(torch.abs(y) ** 2 * tw) if y.is_complex() else torch.sum(y * tw)).backward()
    np.testing.assert_allclose(ours, np.conj(tx.grad.numpy()), rtol=1e-9, atol=1e-10)


def test_numpy_dispatch_and_shifts_compose():
    x = R.normal(size=8)
    g = ag.grad(lambda a: anp.sum(anp.abs(np.fft.fftshift(np.fft.rfft(a))) ** 2))(x)
    np.testing.assert_allclose(
        g, ag.grad(lambda a: anp.sum(anp.abs(anp.fft.rfft(a)) ** 2))(x), rtol=1e-12)


def test_errors():
    with pytest.raises(ag.InvalidValueError, match="norm"):
        anp.fft.fft(_t(np.ones(4)), norm="unitary")
    with pytest.raises(ag.InvalidValueError, match="positive int"):
        anp.fft.fft(_t(np.ones(4)), n=0)
    with pytest.raises(ag.InvalidValueError, match="positive int"):
        anp.fft.irfft(_t(np.ones(1, dtype=complex)))          # default n = 2 (1 - 1) = 0
    with pytest.raises(ag.DTypeError, match="rfft: takes real input"):
        anp.fft.rfft(_t(np.ones(4) + 1j))
    with pytest.raises(ag.ShapeError, match="axis 2"):
        anp.fft.fft(_t(np.ones((2, 2))), axis=2)
    with pytest.raises(ag.ShapeError, match="different lengths"):
        anp.fft.fftn(_t(np.ones((2, 2))), s=(2, 2), axes=(0,))
    with pytest.raises(ag.ArgumentTypeError, match="hfft"):
        anp.fft.hfft(_t(np.ones(4)))
